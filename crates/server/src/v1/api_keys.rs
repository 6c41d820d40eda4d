//! `/v1` routes: API keys — `/v1/api-keys` (the key's own organization) and
//! `/v1/organizations/{org_id}/api-keys` (an organization within reach) — and projects.

use super::schema::{
    array, boolean, integer, nullable, object, one_of, require, string, timestamp,
};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use quorate_app::mgmt::audit::status_filter;
use quorate_app::mgmt::{api_key_json, Access, MgmtResult, PageReq, Target};
use quorate_store::mgmt::audit::{ApiRequest, RequestFilter};
use quorate_store::mgmt::keys::{KeyFilter, Project};
use serde_json::{json, Value};

const OWN: &str = "/v1/api-keys";
const IN: &str = "/v1/organizations/{org_id}/api-keys";

pub(super) static ROUTES: &[V1Route] = &[
    route!(GET, "/v1/api-keys", "api_keys:read", "The keys of the key's organization, oldest first (never their secrets); filters status, type, project_id", None, key_schema, 200, true),
    route!(POST, "/v1/api-keys", "api_keys:manage", "Creates a key; the secret is in data.revealed_key, once", Some(create_schema), created_schema, 201, false),
    route!(GET, "/v1/api-keys/requests", "api_keys:read", "The request audit log of the key's organization, newest first; filters key_id, status (429 or 4xx), from, to (RFC 3339)", None, request_schema, 200, true),
    route!(GET, "/v1/api-keys/{key_id}", "api_keys:read", "One key", None, key_schema, 200, false),
    route!(PATCH, "/v1/api-keys/{key_id}", "api_keys:manage", "Changes name, allowed_origins (publishable) or scopes (secret)", Some(patch_schema), key_schema, 200, false),
    route!(DELETE, "/v1/api-keys/{key_id}", "api_keys:manage", "Revokes a key at once; answers the key with revoked: true", None, revoked_schema, 200, false),
    route!(POST, "/v1/api-keys/{key_id}/rotations", "api_keys:manage", "Replaces a key: the new one (revealed_key, once) and previous_key, valid until its grace_expires_at", Some(rotation_schema), rotated_schema, 201, false),
    route!(GET, "/v1/organizations/{org_id}/api-keys", "api_keys:read", "The organization's keys", None, key_schema, 200, true),
    route!(POST, "/v1/organizations/{org_id}/api-keys", "api_keys:manage", "Creates a key in the organization; the secret is in data.revealed_key, once", Some(create_schema), created_schema, 201, false),
    route!(GET, "/v1/organizations/{org_id}/api-keys/requests", "api_keys:read", "The request audit log of the organization's keys, newest first", None, request_schema, 200, true),
    route!(GET, "/v1/organizations/{org_id}/api-keys/{key_id}", "api_keys:read", "One key of the organization", None, key_schema, 200, false),
    route!(PATCH, "/v1/organizations/{org_id}/api-keys/{key_id}", "api_keys:manage", "Changes name, allowed_origins (publishable) or scopes (secret)", Some(patch_schema), key_schema, 200, false),
    route!(DELETE, "/v1/organizations/{org_id}/api-keys/{key_id}", "api_keys:manage", "Revokes a key of the organization", None, revoked_schema, 200, false),
    route!(POST, "/v1/organizations/{org_id}/api-keys/{key_id}/rotations", "api_keys:manage", "Replaces a key of the organization, with a grace period for the old one", Some(rotation_schema), rotated_schema, 201, false),
    route!(GET, "/v1/organizations/{org_id}/projects", "projects:read", "The organization's live projects", None, project_schema, 200, true),
    route!(POST, "/v1/organizations/{org_id}/projects", "projects:manage", "Creates a project (name unique among live projects)", Some(project_create_schema), project_schema, 201, false),
    route!(DELETE, "/v1/organizations/{org_id}/projects/{project_id}", "projects:manage", "Deletes a project and revokes its keys", None, project_schema, 200, false),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(OWN, get(list_own).post(create_own))
        .route("/v1/api-keys/requests", get(requests_own))
        .route(
            "/v1/organizations/{org_id}/api-keys/requests",
            get(requests_in),
        )
        .route(
            "/v1/api-keys/{key_id}",
            get(get_own).patch(patch_own).delete(revoke_own),
        )
        .route("/v1/api-keys/{key_id}/rotations", post(rotate_own))
        .route(IN, get(list_in).post(create_in))
        .route(
            "/v1/organizations/{org_id}/api-keys/{key_id}",
            get(get_in).patch(patch_in).delete(revoke_in),
        )
        .route(
            "/v1/organizations/{org_id}/api-keys/{key_id}/rotations",
            post(rotate_in),
        )
        .route(
            "/v1/organizations/{org_id}/projects",
            get(list_projects).post(create_project),
        )
        .route(
            "/v1/organizations/{org_id}/projects/{project_id}",
            delete(delete_project),
        )
}

pub(crate) fn key_schema() -> Value {
    let ts = || nullable(timestamp());
    let s = || nullable(string());
    object(
        &[
            "id",
            "object",
            "organization_id",
            "project_id",
            "type",
            "environment",
            "name",
            "key_prefix",
            "key_preview",
            "display_key",
            "allowed_origins",
            "scopes",
            "rate_limit",
            "status",
            "is_active",
            "source",
            "device_name",
            "created_by_user_id",
            "created_at",
            "last_used_at",
            "expires_at",
            "rotated_at",
            "grace_expires_at",
            "revoked_at",
            "replaces_key_id",
            "replaced_by_key_id",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["api_key"])),
            ("organization_id", string()),
            ("project_id", s()),
            ("type", one_of(&["secret", "publishable"])),
            ("environment", one_of(&["live", "test"])),
            ("name", string()),
            ("key_prefix", string()),
            ("key_preview", string()),
            ("display_key", string()),
            ("allowed_origins", array(string())),
            ("scopes", array(string())),
            (
                "rate_limit",
                nullable(object(
                    &["limit", "window_seconds"],
                    &[("limit", integer()), ("window_seconds", integer())],
                )),
            ),
            (
                "status",
                one_of(&["active", "rotated", "expired", "revoked"]),
            ),
            ("is_active", boolean()),
            ("source", one_of(&["api", "cli", "rotation"])),
            ("device_name", s()),
            ("created_by_user_id", string()),
            ("created_at", timestamp()),
            ("last_used_at", ts()),
            ("expires_at", ts()),
            ("rotated_at", ts()),
            ("grace_expires_at", ts()),
            ("revoked_at", ts()),
            ("replaces_key_id", s()),
            ("replaced_by_key_id", s()),
            ("revealed_key", string()),
            ("revoked", boolean()),
            ("previous_key", super::schema::any_object()),
        ],
    )
}

fn created_schema() -> Value {
    require(key_schema(), "revealed_key")
}

fn revoked_schema() -> Value {
    require(key_schema(), "revoked")
}

fn rotated_schema() -> Value {
    require(created_schema(), "previous_key")
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
            ("project_id", string()),
            ("expires_at", timestamp()),
            ("device_name", string()),
        ],
    )
}

fn patch_schema() -> Value {
    object(
        &[],
        &[
            ("name", string()),
            ("allowed_origins", array(string())),
            ("scopes", array(string())),
        ],
    )
}

fn rotation_schema() -> Value {
    object(&[], &[("grace_period_seconds", integer())])
}

fn project_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "organization_id",
            "name",
            "created_at",
            "deleted_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["project"])),
            ("organization_id", string()),
            ("name", string()),
            ("created_at", timestamp()),
            ("deleted_at", nullable(timestamp())),
        ],
    )
}

fn project_create_schema() -> Value {
    object(&["name"], &[("name", string())])
}

fn request_schema() -> Value {
    let s = || nullable(string());
    object(
        &[
            "id",
            "object",
            "request_id",
            "key_id",
            "actor_user_id",
            "organization_id",
            "target_organization_id",
            "environment",
            "method",
            "route",
            "status",
            "latency_ms",
            "origin",
            "ip",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["api_request"])),
            ("request_id", string()),
            ("key_id", string()),
            ("actor_user_id", string()),
            ("organization_id", string()),
            ("target_organization_id", s()),
            ("environment", one_of(&["live", "test"])),
            ("method", string()),
            ("route", string()),
            ("status", integer()),
            ("latency_ms", json!({"type": "number"})),
            ("origin", s()),
            ("ip", s()),
            ("created_at", timestamp()),
        ],
    )
}

fn request_json(r: &ApiRequest) -> Value {
    json!({
        "id": r.id,
        "object": "api_request",
        "request_id": r.request_id,
        "key_id": r.key_id,
        "actor_user_id": r.actor_user_id,
        "organization_id": r.organization_id,
        "target_organization_id": r.target_organization_id,
        "environment": r.environment,
        "method": r.method,
        "route": r.route,
        "status": r.status,
        "latency_ms": r.latency_us as f64 / 1000.0,
        "origin": r.origin,
        "ip": r.ip,
        "created_at": quorate_app::mgmt::rfc3339(r.created_at),
    })
}

async fn requests(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    q: &Query,
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Read).await?;
    let page = PageReq::from_query(q)?;
    let time = |name: &str| {
        q.get(name)
            .map(|v| quorate_app::mgmt::millis_of(name, v))
            .transpose()
    };
    let filter = RequestFilter {
        key_id: q.get("key_id").cloned(),
        status: q.get("status").map(|s| status_filter(s)).transpose()?,
        from: time("from")?,
        to: time("to")?,
    };
    let rows = state.app.v1_list_requests(&t, &page, &filter).await?;
    Reply::list(page.limit, rows.map(|r| request_json(&r)))
}

async fn requests_own(caller: Caller, State(s): State<AppState>, q: Query) -> Response {
    caller.reply(requests(&s, &caller, None, &q).await)
}

async fn requests_in(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    caller.reply(requests(&s, &caller, Some(&org), &q).await)
}

/// A key as this node knows it: its last use may still be buffered here.
fn fresh(
    state: &AppState,
    mut k: quorate_domain::BearerKeyRecord,
) -> quorate_domain::BearerKeyRecord {
    if let Some(at) = state.app.v1_pending_last_used(&k.id) {
        k.last_used_at = Some(k.last_used_at.map_or(at, |t| t.max(at)));
    }
    k
}

fn project_json(p: &Project) -> Value {
    json!({
        "id": p.id,
        "object": "project",
        "organization_id": p.organization_id,
        "name": p.name,
        "created_at": quorate_app::mgmt::rfc3339(p.created_at),
        "deleted_at": p.deleted_at.map(quorate_app::mgmt::rfc3339),
    })
}

/// The organization a request names (the key's own for `/v1/api-keys`), within reach.
async fn target(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    access: Access,
) -> MgmtResult<Target> {
    let p = caller.p()?;
    state
        .app
        .v1_reach(p, org_id.unwrap_or(&p.organization.id), access)
        .await
}

fn now(state: &AppState) -> i64 {
    state.app.now_ms()
}

async fn list(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    q: &Query,
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Read).await?;
    let page = PageReq::from_query(q)?;
    let filter = KeyFilter {
        status: q
            .get("status")
            .map(|s| match s.as_str() {
                "active" | "rotated" | "expired" | "revoked" => Ok(s.clone()),
                _ => Err(quorate_app::mgmt::invalid(
                    "status",
                    "must be active, rotated, expired or revoked",
                )),
            })
            .transpose()?,
        key_type: q
            .get("type")
            .map(|t| match t.as_str() {
                "secret" | "publishable" => Ok(t.clone()),
                _ => Err(quorate_app::mgmt::invalid(
                    "type",
                    "must be secret or publishable",
                )),
            })
            .transpose()?,
        project_id: q.get("project_id").cloned(),
    };
    let keys = state
        .app
        .v1_list_api_keys(caller.p()?, &t, &page, &filter)
        .await?;
    let at = now(state);
    Reply::list(page.limit, keys.map(|k| api_key_json(&fresh(state, k), at)))
}

async fn create(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    bytes: &[u8],
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Write).await?;
    let req = body(bytes)?;
    let (record, secret) = state.app.v1_create_api_key(caller.p()?, &t, req).await?;
    let mut data = api_key_json(&record, now(state));
    data["revealed_key"] = json!(secret.expose());
    Reply::created(data)
}

async fn get_one(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    key_id: &str,
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Read).await?;
    let key = state.app.v1_get_api_key(caller.p()?, &t, key_id).await?;
    Reply::ok(api_key_json(&fresh(state, key), now(state)))
}

async fn patch(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    key_id: &str,
    bytes: &[u8],
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Write).await?;
    let req = body(bytes)?;
    let key = state
        .app
        .v1_patch_api_key(caller.p()?, &t, key_id, req)
        .await?;
    Reply::ok(api_key_json(&key, now(state)))
}

async fn revoke(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    key_id: &str,
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Write).await?;
    let record = state.app.v1_revoke_api_key(caller.p()?, &t, key_id).await?;
    let mut data = api_key_json(&record, now(state));
    data["revoked"] = json!(true);
    Reply::ok(data)
}

async fn rotate(
    state: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
    key_id: &str,
    bytes: &[u8],
) -> MgmtResult<Reply> {
    let t = target(state, caller, org_id, Access::Write).await?;
    let req = body(bytes)?;
    let (new, old, secret) = state
        .app
        .v1_rotate_api_key(caller.p()?, &t, key_id, req)
        .await?;
    let at = now(state);
    let mut data = api_key_json(&new, at);
    data["revealed_key"] = json!(secret.expose());
    data["previous_key"] = api_key_json(&old, at);
    Reply::created(data)
}

async fn list_own(caller: Caller, State(s): State<AppState>, q: Query) -> Response {
    caller.reply(list(&s, &caller, None, &q).await)
}

async fn list_in(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    caller.reply(list(&s, &caller, Some(&org), &q).await)
}

async fn create_own(caller: Caller, State(s): State<AppState>, b: Bytes) -> Response {
    caller.reply(create(&s, &caller, None, &b).await)
}

async fn create_in(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    b: Bytes,
) -> Response {
    caller.reply(create(&s, &caller, Some(&org), &b).await)
}

async fn get_own(caller: Caller, State(s): State<AppState>, Path(key): Path<String>) -> Response {
    caller.reply(get_one(&s, &caller, None, &key).await)
}

async fn get_in(
    caller: Caller,
    State(s): State<AppState>,
    Path((org, key)): Path<(String, String)>,
) -> Response {
    caller.reply(get_one(&s, &caller, Some(&org), &key).await)
}

async fn patch_own(
    caller: Caller,
    State(s): State<AppState>,
    Path(key): Path<String>,
    b: Bytes,
) -> Response {
    caller.reply(patch(&s, &caller, None, &key, &b).await)
}

async fn patch_in(
    caller: Caller,
    State(s): State<AppState>,
    Path((org, key)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    caller.reply(patch(&s, &caller, Some(&org), &key, &b).await)
}

async fn revoke_own(
    caller: Caller,
    State(s): State<AppState>,
    Path(key): Path<String>,
) -> Response {
    caller.reply(revoke(&s, &caller, None, &key).await)
}

async fn revoke_in(
    caller: Caller,
    State(s): State<AppState>,
    Path((org, key)): Path<(String, String)>,
) -> Response {
    caller.reply(revoke(&s, &caller, Some(&org), &key).await)
}

async fn rotate_own(
    caller: Caller,
    State(s): State<AppState>,
    Path(key): Path<String>,
    b: Bytes,
) -> Response {
    caller.reply(rotate(&s, &caller, None, &key, &b).await)
}

async fn rotate_in(
    caller: Caller,
    State(s): State<AppState>,
    Path((org, key)): Path<(String, String)>,
    b: Bytes,
) -> Response {
    caller.reply(rotate(&s, &caller, Some(&org), &key, &b).await)
}

async fn list_projects(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    let result = async {
        let t = target(&s, &caller, Some(&org), Access::Read).await?;
        let page = PageReq::from_query(&q)?;
        let projects = s.app.v1_list_projects(&t, &page).await?;
        Reply::list(page.limit, projects.map(|p| project_json(&p)))
    }
    .await;
    caller.reply(result)
}

async fn create_project(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    b: Bytes,
) -> Response {
    let result = async {
        let t = target(&s, &caller, Some(&org), Access::Write).await?;
        let project = s.app.v1_create_project(caller.p()?, &t, body(&b)?).await?;
        Reply::created(project_json(&project))
    }
    .await;
    caller.reply(result)
}

async fn delete_project(
    caller: Caller,
    State(s): State<AppState>,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let t = target(&s, &caller, Some(&org), Access::Write).await?;
        let project = s.app.v1_delete_project(caller.p()?, &t, &id).await?;
        Reply::ok(project_json(&project))
    }
    .await;
    caller.reply(result)
}
