//! `/v1` routes: organizations.

use super::schema::{nullable, object, one_of, string, timestamp};
use super::{Caller, Reply, V1Route};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use quorate_app::mgmt::rfc3339;
use quorate_domain::Organization;
use serde_json::{json, Value};

pub(super) static ROUTES: &[V1Route] = &[
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
        .route("/v1/organizations/{org_id}", get(organization))
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
