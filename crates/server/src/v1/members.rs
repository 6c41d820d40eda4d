//! `/v1` routes: members — `/v1/organizations/{org_id}/members` (alias
//! `/v1/orgs/{org_id}/members`), role changes and removal (a `DELETE_USERS` activity).

use super::schema::{boolean, nullable, object, one_of, require, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch};
use axum::Router;
use quorate_app::mgmt::{MgmtResult, PageReq};
use serde_json::Value;

pub(super) static ROUTES: &[V1Route] = &[
    route!(
        GET,
        "/v1/organizations/{org_id}/members",
        "members:read",
        "The organization's members (live users) with their roles; filter with ?role=owner|admin|member",
        None,
        member_schema,
        200,
        true
    ),
    route!(
        GET,
        "/v1/orgs/{org_id}/members",
        "members:read",
        "Alias of GET /v1/organizations/{org_id}/members",
        None,
        member_schema,
        200,
        true
    ),
    route!(
        PATCH,
        "/v1/organizations/{org_id}/members/{user_id}",
        "members:manage",
        "Changes a member's role (owner granted and taken by owners only; the last owner stays)",
        Some(patch_schema),
        member_schema,
        200,
        false
    ),
    route!(
        DELETE,
        "/v1/organizations/{org_id}/members/{user_id}",
        "members:manage",
        "Removes a member through a DELETE_USERS activity (policies apply; 202 while it awaits consensus)",
        None,
        removed_schema,
        200,
        false
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations/{org_id}/members", get(list))
        .route("/v1/orgs/{org_id}/members", get(list))
        .route(
            "/v1/organizations/{org_id}/members/{user_id}",
            patch(update).delete(remove),
        )
}

pub(crate) fn member_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "organization_id",
            "user_id",
            "name",
            "email",
            "role",
            "is_root_user",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["member"])),
            ("organization_id", string()),
            ("user_id", string()),
            ("name", string()),
            ("email", nullable(string())),
            ("role", one_of(&["owner", "admin", "member"])),
            ("is_root_user", boolean()),
            ("created_at", timestamp()),
            ("removed", boolean()),
            ("activity_id", string()),
            (
                "activity_status",
                one_of(&["completed", "consensus_needed"]),
            ),
        ],
    )
}

fn removed_schema() -> Value {
    let s = require(member_schema(), "removed");
    let s = require(s, "activity_id");
    require(s, "activity_status")
}

fn patch_schema() -> Value {
    object(
        &["role"],
        &[("role", one_of(&["owner", "admin", "member"]))],
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchMember {
    role: String,
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
                .v1_list_members(p, &org_id, q.get("role").map(String::as_str), &page)
                .await?;
            Reply::list(page.limit, out)
        }
        .await,
    )
}

async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, user_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    caller.reply(
        async {
            let p = caller.p()?;
            let req: PatchMember = body(&bytes)?;
            let m = state
                .app
                .v1_update_member(p, &org_id, &user_id, &req.role)
                .await?;
            Reply::ok(m)
        }
        .await,
    )
}

async fn remove(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, user_id)): Path<(String, String)>,
) -> Response {
    caller.reply(
        async {
            let p = caller.p()?;
            let (data, done) = state.app.v1_remove_member(p, &org_id, &user_id).await?;
            accepted_unless(done, data)
        }
        .await,
    )
}

/// `200` when the activity completed, `202` while it awaits consensus.
pub(super) fn accepted_unless(done: bool, data: Value) -> MgmtResult<Reply> {
    if done {
        Reply::ok(data)
    } else {
        Ok(Reply {
            status: StatusCode::ACCEPTED,
            data,
            pagination: None,
        })
    }
}
