//! `/v1` routes: API keys — `/v1/api-keys` (the key's own organization) and
//! `/v1/organizations/{org_id}/api-keys` (an organization within reach).

use super::schema::{array, boolean, nullable, object, one_of, require, string, timestamp};
use super::{body, Caller, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use quorate_app::mgmt::{api_key_json, Access, BearerPrincipal, MgmtResult, NewApiKey, Target};
use quorate_app::App;
use serde_json::{json, Value};

macro_rules! route {
    ($method:ident, $path:expr, $scope:expr, $summary:expr, $req:expr, $resp:expr, $status:expr, $list:expr) => {
        V1Route {
            method: Method::$method,
            path: $path,
            scope: Some($scope),
            publishable: false,
            summary: $summary,
            request: $req,
            response: $resp,
            status: $status,
            list: $list,
            sessions: false,
        }
    };
}

pub(super) static ROUTES: &[V1Route] = &[
    route!(
        GET,
        "/v1/api-keys",
        "api_keys:read",
        "The keys of the key's organization (never their secrets)",
        None,
        key_schema,
        200,
        true
    ),
    route!(
        POST,
        "/v1/api-keys",
        "api_keys:manage",
        "Creates a key; the secret is in data.revealed_key, once",
        Some(create_schema),
        created_schema,
        201,
        false
    ),
    route!(
        DELETE,
        "/v1/api-keys/{key_id}",
        "api_keys:manage",
        "Revokes a key at once; answers the key with revoked: true",
        None,
        revoked_schema,
        200,
        false
    ),
    route!(
        GET,
        "/v1/organizations/{org_id}/api-keys",
        "api_keys:read",
        "The organization's keys",
        None,
        key_schema,
        200,
        true
    ),
    route!(
        POST,
        "/v1/organizations/{org_id}/api-keys",
        "api_keys:manage",
        "Creates a key in the organization; the secret is in data.revealed_key, once",
        Some(create_schema),
        created_schema,
        201,
        false
    ),
    route!(
        DELETE,
        "/v1/organizations/{org_id}/api-keys/{key_id}",
        "api_keys:manage",
        "Revokes a key of the organization",
        None,
        revoked_schema,
        200,
        false
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/api-keys", get(list_own).post(create_own))
        .route("/v1/api-keys/{key_id}", delete(revoke_own))
        .route(
            "/v1/organizations/{org_id}/api-keys",
            get(list_in).post(create_in),
        )
        .route(
            "/v1/organizations/{org_id}/api-keys/{key_id}",
            delete(revoke_in),
        )
}

pub(crate) fn key_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "name",
            "type",
            "environment",
            "key_prefix",
            "scopes",
            "allowed_origins",
            "is_active",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["api_key"])),
            ("organization_id", string()),
            ("name", string()),
            ("type", one_of(&["secret", "publishable"])),
            ("environment", one_of(&["live", "test"])),
            ("key_prefix", string()),
            ("scopes", array(string())),
            ("allowed_origins", array(string())),
            ("project_id", nullable(string())),
            ("created_by_user_id", string()),
            ("source", string()),
            ("is_active", boolean()),
            ("created_at", timestamp()),
            ("last_used_at", nullable(timestamp())),
            ("expires_at", nullable(timestamp())),
            ("revoked_at", nullable(timestamp())),
            ("revealed_key", string()),
            ("revoked", boolean()),
        ],
    )
}

fn created_schema() -> Value {
    require(key_schema(), "revealed_key")
}

fn revoked_schema() -> Value {
    require(key_schema(), "revoked")
}

fn create_schema() -> Value {
    object(
        &["name"],
        &[
            ("name", string()),
            ("type", one_of(&["secret", "publishable"])),
            ("environment", one_of(&["live", "test"])),
            ("scopes", array(string())),
            ("allowed_origins", array(string())),
            ("expires_at", timestamp()),
        ],
    )
}

/// The organization a request names (the key's own for `/v1/api-keys`), within reach.
async fn org_of(
    app: &App,
    p: &BearerPrincipal,
    org_id: Option<&str>,
    access: Access,
) -> MgmtResult<Target> {
    app.v1_reach(p, org_id.unwrap_or(&p.organization.id), access)
        .await
}

async fn list(state: &AppState, caller: &Caller, org_id: Option<&str>) -> MgmtResult<Reply> {
    let p = caller.p()?;
    let t = org_of(&state.app, p, org_id, Access::Read).await?;
    let keys = state.app.v1_list_api_keys(&t).await?;
    let data: Vec<Value> = keys.iter().map(api_key_json).collect();
    let n = data.len() as u32;
    Reply::list(
        n,
        quorate_app::mgmt::PageOut {
            items: data,
            next: None,
        },
    )
}

async fn create(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    bytes: &[u8],
) -> MgmtResult<Reply> {
    let p = caller.p()?;
    let t = org_of(&state.app, p, org_id, Access::Write).await?;
    let req: NewApiKey = body(bytes)?;
    let (record, secret) = state.app.v1_create_api_key(p, &t, req).await?;
    let mut data = api_key_json(&record);
    data["revealed_key"] = json!(secret.expose());
    Reply::created(data)
}

async fn revoke(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    key_id: &str,
) -> MgmtResult<Reply> {
    let p = caller.p()?;
    let t = org_of(&state.app, p, org_id, Access::Write).await?;
    let record = state.app.v1_revoke_api_key(&t, key_id).await?;
    let mut data = api_key_json(&record);
    data["revoked"] = json!(true);
    Reply::ok(data)
}

async fn list_own(caller: Caller, State(state): State<AppState>) -> Response {
    caller.reply(list(&state, &caller, None).await)
}

async fn list_in(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
) -> Response {
    caller.reply(list(&state, &caller, Some(&org_id)).await)
}

async fn create_own(caller: Caller, State(state): State<AppState>, bytes: Bytes) -> Response {
    caller.reply(create(&state, &caller, None, &bytes).await)
}

async fn create_in(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    caller.reply(create(&state, &caller, Some(&org_id), &bytes).await)
}

async fn revoke_own(
    caller: Caller,
    State(state): State<AppState>,
    Path(key_id): Path<String>,
) -> Response {
    caller.reply(revoke(&state, &caller, None, &key_id).await)
}

async fn revoke_in(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, key_id)): Path<(String, String)>,
) -> Response {
    caller.reply(revoke(&state, &caller, Some(&org_id), &key_id).await)
}
