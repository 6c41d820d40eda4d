//! `/v1` routes: invites — an organization's (`/v1/organizations/{org_id}/invites`, alias
//! `/v1/orgs/{org_id}/invites`) and the current user's (`/v1/invites`, `…/accept`).

use super::members::{accepted_unless, member_schema};
use super::schema::{integer, nullable, object, one_of, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use quorate_app::mgmt::PageReq;
use serde_json::Value;

pub(super) static ROUTES: &[V1Route] = &[
    route!(
        GET,
        "/v1/organizations/{org_id}/invites",
        "invites:read",
        "The organization's invites; ?status=pending (default), accepted, revoked, expired or all",
        None,
        invite_schema,
        200,
        true
    ),
    route!(
        GET,
        "/v1/orgs/{org_id}/invites",
        "invites:read",
        "Alias of GET /v1/organizations/{org_id}/invites",
        None,
        invite_schema,
        200,
        true
    ),
    route!(
        POST,
        "/v1/organizations/{org_id}/invites",
        "invites:manage",
        "Invites an email to join the organization with a role",
        Some(create_schema),
        invite_schema,
        201,
        false
    ),
    route!(
        DELETE,
        "/v1/organizations/{org_id}/invites/{invite_id}",
        "invites:manage",
        "Revokes a pending invite",
        None,
        invite_schema,
        200,
        false
    ),
    route!(
        GET,
        "/v1/invites",
        "invites:read",
        "Pending invites, in every organization, for the current user's email",
        None,
        invite_schema,
        200,
        true
    ),
    route!(
        POST,
        "/v1/invites/{invite_id}/accept",
        "invites:accept",
        "Accepts an invite for the current user's email: creates their user in the organization (a CREATE_USERS activity as the inviter)",
        None,
        member_schema,
        201,
        false
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations/{org_id}/invites", get(list).post(create))
        .route("/v1/orgs/{org_id}/invites", get(list))
        .route(
            "/v1/organizations/{org_id}/invites/{invite_id}",
            delete(revoke),
        )
        .route("/v1/invites", get(mine))
        .route("/v1/invites/{invite_id}/accept", post(accept))
}

fn invite_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "organization_id",
            "email",
            "role",
            "status",
            "invited_by_user_id",
            "expires_at",
            "accepted_at",
            "revoked_at",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["invite"])),
            ("organization_id", string()),
            ("email", string()),
            ("role", one_of(&["owner", "admin", "member"])),
            (
                "status",
                one_of(&["pending", "accepted", "revoked", "expired"]),
            ),
            ("invited_by_user_id", string()),
            ("expires_at", timestamp()),
            ("accepted_at", nullable(timestamp())),
            ("revoked_at", nullable(timestamp())),
            ("created_at", timestamp()),
            ("activity_id", string()),
            ("activity_status", one_of(&["consensus_needed"])),
        ],
    )
}

fn create_schema() -> Value {
    object(
        &["email"],
        &[
            ("email", string()),
            ("role", one_of(&["owner", "admin", "member"])),
            ("expires_in_seconds", integer()),
        ],
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewInvite {
    email: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    expires_in_seconds: Option<i64>,
}

async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    axum::extract::Query(q): Query,
) -> Response {
    caller.reply(
        async {
            let page = PageReq::from_query(&q)?;
            let p = caller.p()?;
            let out = state
                .app
                .v1_list_invites(p, &org_id, q.get("status").map(String::as_str), &page)
                .await?;
            Reply::list(page.limit, out)
        }
        .await,
    )
}

async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    caller.reply(
        async {
            let p = caller.p()?;
            let req: NewInvite = body(&bytes)?;
            let invite = state
                .app
                .v1_create_invite(
                    p,
                    &org_id,
                    &req.email,
                    req.role.as_deref(),
                    req.expires_in_seconds,
                )
                .await?;
            Reply::created(invite)
        }
        .await,
    )
}

async fn revoke(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, invite_id)): Path<(String, String)>,
) -> Response {
    caller.reply(
        async {
            let p = caller.p()?;
            Reply::ok(state.app.v1_revoke_invite(p, &org_id, &invite_id).await?)
        }
        .await,
    )
}

async fn mine(
    caller: Caller,
    State(state): State<AppState>,
    axum::extract::Query(q): Query,
) -> Response {
    caller.reply(
        async {
            let page = PageReq::from_query(&q)?;
            let p = caller.p()?;
            let out = state.app.v1_my_invites(p, &page).await?;
            Reply::list(page.limit, out)
        }
        .await,
    )
}

async fn accept(
    caller: Caller,
    State(state): State<AppState>,
    Path(invite_id): Path<String>,
) -> Response {
    caller.reply(
        async {
            let p = caller.p()?;
            let (data, done) = state.app.v1_accept_invite(p, &invite_id).await?;
            if done {
                Ok(Reply {
                    status: StatusCode::CREATED,
                    data,
                    pagination: None,
                })
            } else {
                accepted_unless(false, data)
            }
        }
        .await,
    )
}
