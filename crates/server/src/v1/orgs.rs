//! `/v1` routes: organizations.

use super::schema::{nullable, object, one_of, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use quorate_app::mgmt::rfc3339;
use quorate_app::mgmt::{Created, PageReq};
use quorate_domain::Organization;
use serde_json::{json, Value};

pub(super) static ROUTES: &[V1Route] = &[
    V1Route {
        method: Method::POST,
        path: "/v1/organizations",
        scope: Some("organizations:create"),
        publishable: false,
        summary: "Creates a sub-organization of the key's organization (through a CREATE_SUB_ORGANIZATION activity: the organization's policies apply; 202 with the activity while approvals are pending)",
        request: Some(create_schema),
        response: organization_schema,
        status: 201,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::GET,
        path: "/v1/organizations",
        scope: Some("organizations:read"),
        publishable: false,
        summary: "The key's organization and its sub-organizations, with the acting user's role",
        request: None,
        response: listed_schema,
        status: 200,
        list: true,
        sessions: false,
    },
    V1Route {
        method: Method::PATCH,
        path: "/v1/organizations/{org_id}",
        scope: Some("organizations:update"),
        publishable: false,
        summary: "Renames an organization or changes its status (active | suspended: every credential of a suspended organization and its sub-organizations stops); a key cannot change its own organization's status",
        request: Some(patch_schema),
        response: organization_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::GET,
        path: "/v1/organizations/{org_id}",
        scope: Some("organizations:read"),
        publishable: false,
        summary: "The organization: the key's own or one of its sub-organizations (else 404)",
        request: None,
        response: organization_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::GET,
        path: "/v1/organizations/{org_id}/public",
        scope: None,
        publishable: true,
        summary: "An organization's public facts; no authentication",
        request: None,
        response: public_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::GET,
        path: "/v1/orgs/{org_id}/public",
        scope: None,
        publishable: true,
        summary: "Alias of /v1/organizations/{org_id}/public",
        request: None,
        response: public_schema,
        status: 200,
        list: false,
        sessions: false,
    },
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations", get(list).post(create))
        .route("/v1/organizations/{org_id}", get(organization).patch(patch))
        .route("/v1/organizations/{org_id}/public", get(public))
        .route("/v1/orgs/{org_id}/public", get(public))
}

pub(crate) fn organization_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "name",
            "slug",
            "status",
            "parent_organization_id",
            "created_at",
            "updated_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["organization"])),
            ("name", string()),
            ("slug", nullable(string())),
            ("status", one_of(&["active", "suspended"])),
            ("parent_organization_id", nullable(string())),
            ("created_at", timestamp()),
            ("updated_at", timestamp()),
        ],
    )
}

fn create_schema() -> Value {
    object(
        &["name", "slug"],
        &[
            ("name", string()),
            ("slug", string()),
            ("idempotency_key", string()),
        ],
    )
}

fn patch_schema() -> Value {
    object(
        &[],
        &[
            ("name", string()),
            ("status", one_of(&["active", "suspended"])),
        ],
    )
}

fn listed_schema() -> Value {
    let mut s = organization_schema();
    s["properties"]["role"] = one_of(&["owner", "admin", "member", "viewer"]);
    super::schema::require(s, "role")
}

fn public_schema() -> Value {
    object(
        &["id", "object", "name", "slug"],
        &[
            ("id", string()),
            ("object", one_of(&["organization_public"])),
            ("name", string()),
            ("slug", nullable(string())),
        ],
    )
}

pub(crate) fn organization_json(org: &Organization) -> Value {
    json!({
        "id": org.id,
        "object": "organization",
        "name": org.name,
        "slug": org.v1.slug,
        "status": if org.v1.suspended { "suspended" } else { "active" },
        "parent_organization_id": org.parent_id,
        "created_at": rfc3339(org.created_at),
        "updated_at": rfc3339(org.updated_at),
    })
}

/// `GET /v1/organizations/{orgId}`.
async fn organization(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
) -> Response {
    let result = async {
        let org = state.app.v1_organization(caller.p()?, &org_id).await?;
        Reply::ok(organization_json(&org))
    }
    .await;
    caller.reply(result)
}

/// `POST /v1/organizations`.
async fn create(caller: Caller, State(state): State<AppState>, bytes: Bytes) -> Response {
    let result = async {
        let req = body(&bytes)?;
        match state.app.v1_create_organization(caller.p()?, req).await? {
            Created::Organization(org) => Reply::created(organization_json(&org)),
            Created::Pending(activity) => Reply::accepted(&activity),
        }
    }
    .await;
    caller.reply(result)
}

/// `GET /v1/organizations`.
async fn list(caller: Caller, State(state): State<AppState>, q: Query) -> Response {
    let result = async {
        let page = PageReq::from_query(&q)?;
        let orgs = state.app.v1_list_organizations(caller.p()?, &page).await?;
        Reply::list(
            page.limit,
            orgs.map(|l| {
                let mut v = organization_json(&l.org);
                v["role"] = json!(l.role);
                v
            }),
        )
    }
    .await;
    caller.reply(result)
}

/// `PATCH /v1/organizations/{orgId}`.
async fn patch(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let req = body(&bytes)?;
        let org = state
            .app
            .v1_patch_organization(caller.p()?, &org_id, req)
            .await?;
        Reply::ok(organization_json(&org))
    }
    .await;
    caller.reply(result)
}

/// `GET /v1/organizations/{orgId}/public`: what anyone may know about an organization.
async fn public(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
) -> Response {
    let result = async {
        let org = state.app.organization_public(&org_id).await?;
        Reply::ok(
            json!({"id": org.id, "object": "organization_public", "name": org.name, "slug": org.v1.slug}),
        )
    }
    .await;
    caller.reply(result)
}
