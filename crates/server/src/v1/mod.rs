//! The management API (`/v1`): one envelope for every answer — `{"data", "meta"}` (lists add
//! `pagination`), errors `{"error": {"code", "message"}, "meta"}` with snake_case codes.
//! Design: docs/design/management-api.md.
//!
//! Every route is declared once in a module's `ROUTES` table (method, path, scope, schemas):
//! the guard middleware finds the matched route there and authenticates, rate-limits and
//! checks its scope before any handler runs, so a handler cannot forget its scope; the OpenAPI
//! document's `/v1` part is generated from the same tables.

/// A `V1Route` with a scope: `route!(METHOD, path, scope, [publishable,] summary, request,
/// response[, status, list])` (defaults: not publishable, 200, not a list). Defined before the
/// modules so every route table uses this one.
macro_rules! route {
    ($method:ident, $path:expr, $scope:expr, $summary:expr, $req:expr, $resp:expr) => {
        route!($method, $path, $scope, false, $summary, $req, $resp, 200, false)
    };
    ($method:ident, $path:expr, $scope:expr, $summary:expr, $req:expr, $resp:expr, $status:expr, $list:expr) => {
        route!($method, $path, $scope, false, $summary, $req, $resp, $status, $list)
    };
    ($method:ident, $path:expr, $scope:expr, $pk:expr, $summary:expr, $req:expr, $resp:expr, $status:expr, $list:expr) => {
        $crate::v1::V1Route {
            method: axum::http::Method::$method,
            path: $path,
            scope: Some($scope),
            publishable: $pk,
            summary: $summary,
            request: $req,
            response: $resp,
            status: $status,
            list: $list,
            sessions: false,
        }
    };
}

mod api_keys;
mod invites;
mod knowledge;
mod members;
mod orgs;
mod sessions;
mod settings;
mod templates;
mod usage;
mod wallets;

pub(crate) mod schema;

use crate::error::json_response;
use crate::AppState;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use quorate_app::mgmt::{BearerPrincipal, MgmtError, MgmtResult, PageOut};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One `/v1` operation.
pub(crate) struct V1Route {
    pub method: Method,
    /// axum syntax: `/v1/organizations/{org_id}`.
    pub path: &'static str,
    /// The one scope the route requires; `None` = public (no key needed).
    pub scope: Option<&'static str>,
    /// Whether a publishable key (from one of its origins) may call it.
    pub publishable: bool,
    pub summary: &'static str,
    /// JSON Schema of the request body (`None`: no body).
    pub request: Option<fn() -> Value>,
    /// JSON Schema of `data` in the success answer.
    pub response: fn() -> Value,
    /// The success status (200 or 201).
    pub status: u16,
    /// Whether `data` is a list (the answer then carries `pagination`).
    pub list: bool,
    /// Whether a wallet-session token (`ws_…`) may call it instead of a key: the guard then
    /// hands the token to the handler unchecked (`Caller::session_token`); the handler checks it.
    pub sessions: bool,
}

/// Every module's routes.
pub(crate) fn routes() -> impl Iterator<Item = &'static V1Route> {
    [
        orgs::ROUTES,
        api_keys::ROUTES,
        members::ROUTES,
        invites::ROUTES,
        usage::ROUTES,
        knowledge::ROUTES,
        settings::ROUTES,
        templates::ROUTES,
        wallets::ROUTES,
        sessions::ROUTES,
    ]
    .into_iter()
    .flatten()
}

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(orgs::router())
        .merge(api_keys::router())
        .merge(members::router())
        .merge(invites::router())
        .merge(usage::router())
        .merge(knowledge::router())
        .merge(settings::router())
        .merge(templates::router())
        .merge(wallets::router())
        .merge(sessions::router())
        .route_layer(axum::middleware::from_fn_with_state(state, guard))
        .route("/v1", any(unknown))
        .route("/v1/{*rest}", any(unknown))
        .layer(axum::middleware::from_fn(preflight))
}

/// Answers CORS preflights on `/v1`: any origin may ask; whether a browser may read an answer
/// is decided per request by the guard (`Access-Control-Allow-Origin` only on public routes and
/// for publishable keys from their allowed origins — never for secret keys).
async fn preflight(req: Request, next: Next) -> Response {
    let origin = req.headers().get("origin").cloned();
    let is_preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method");
    match origin {
        Some(origin) if is_preflight => {
            let mut r = Response::new(axum::body::Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            let h = r.headers_mut();
            h.insert("access-control-allow-origin", origin);
            for (name, value) in [
                ("vary", "origin"),
                (
                    "access-control-allow-methods",
                    "GET, POST, PATCH, PUT, DELETE",
                ),
                (
                    "access-control-allow-headers",
                    "authorization, content-type, x-request-id",
                ),
                ("access-control-max-age", "600"),
            ] {
                h.insert(name, axum::http::HeaderValue::from_static(value));
            }
            r
        }
        _ => next.run(req).await,
    }
}

const EXPOSED: &str =
    "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after";

/// Lets a browser at `origin` read this answer.
fn allow_origin(response: &mut Response, origin: &str) {
    let h = response.headers_mut();
    if let Ok(v) = origin.parse() {
        h.insert("access-control-allow-origin", v);
        h.insert("vary", axum::http::HeaderValue::from_static("origin"));
        h.insert(
            "access-control-expose-headers",
            axum::http::HeaderValue::from_static(EXPOSED),
        );
    }
}

fn find_route(method: &Method, path: &str) -> Option<&'static V1Route> {
    routes().find(|r| r.method == method && r.path == path)
}

/// The authenticated caller of a `/v1` request, put in the request by [`guard`].
#[derive(Clone)]
pub(crate) struct Caller {
    pub request_id: Arc<str>,
    /// `None` on public routes and for session tokens.
    pub principal: Option<Arc<BearerPrincipal>>,
    /// A wallet-session token, on routes that accept one (see [`V1Route::sessions`]).
    pub session_token: Option<Arc<str>>,
}

impl Caller {
    /// The key's principal (routes with a scope always have one).
    pub fn p(&self) -> MgmtResult<&BearerPrincipal> {
        self.principal
            .as_deref()
            .ok_or_else(|| MgmtError::new("unauthenticated", "this route needs an API key"))
    }

    /// The answer: the envelope around a success, or the error body.
    pub fn reply(&self, result: MgmtResult<Reply>) -> Response {
        match result {
            Ok(Reply {
                status,
                data,
                pagination,
            }) => {
                let mut body = json!({"data": data, "meta": {"request_id": &*self.request_id}});
                if let Some(p) = pagination {
                    body["pagination"] = p;
                }
                respond(status, &body)
            }
            Err(e) => error_response(&self.request_id, e),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            error_response(
                "",
                MgmtError::new("internal", "route without a /v1 guard entry"),
            )
        })
    }
}

/// A successful answer's status, `data` and (lists) `pagination`.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub data: Value,
    pub pagination: Option<Value>,
}

impl Reply {
    pub fn ok(data: impl serde::Serialize) -> MgmtResult<Reply> {
        Ok(Reply {
            status: StatusCode::OK,
            data: to_value(data)?,
            pagination: None,
        })
    }

    pub fn created(data: impl serde::Serialize) -> MgmtResult<Reply> {
        Ok(Reply {
            status: StatusCode::CREATED,
            data: to_value(data)?,
            pagination: None,
        })
    }

    /// 202: the activity is recorded and waits for approvals (Turnkey face:
    /// `approve_activity`); `data` is the activity's id, type and status.
    pub fn accepted(activity: &quorate_domain::Activity) -> MgmtResult<Reply> {
        Ok(Reply {
            status: StatusCode::ACCEPTED,
            data: json!({
                "object": "activity",
                "id": activity.id,
                "type": activity.activity_type,
                "status": activity.status.as_str(),
            }),
            pagination: None,
        })
    }

    /// A page of a list: `pagination {limit, has_more, next_cursor}`.
    pub fn list<T: serde::Serialize>(limit: u32, page: PageOut<T>) -> MgmtResult<Reply> {
        let next = page.next.as_deref().map(quorate_app::mgmt::cursor_encode);
        Ok(Reply {
            status: StatusCode::OK,
            data: to_value(page.items)?,
            pagination: Some(
                json!({"limit": limit, "has_more": next.is_some(), "next_cursor": next}),
            ),
        })
    }
}

fn to_value(data: impl serde::Serialize) -> MgmtResult<Value> {
    serde_json::to_value(data).map_err(|e| MgmtError::new("internal", e.to_string()))
}

/// Decodes a JSON body: not a JSON object → 400 `invalid_request`; a field that does not fit
/// (unknown fields included) → 422 `validation_failed` naming it.
pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> MgmtResult<T> {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return quorate_proto::decode(b"{}").map_err(|m| MgmtError::new("validation_failed", m));
    }
    match serde_json::from_slice::<Value>(trimmed) {
        Ok(Value::Object(_)) => {}
        _ => {
            return Err(MgmtError::new(
                "invalid_request",
                "the body must be a JSON object",
            ))
        }
    }
    quorate_proto::decode(trimmed).map_err(|m| MgmtError::new("validation_failed", m))
}

/// Query parameters as a map (repeated names: the last wins).
pub(crate) type Query = axum::extract::Query<HashMap<String, String>>;

fn respond(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"internal error"},"meta":{}}"#.to_vec()
    });
    json_response(status, bytes)
}

/// The HTTP status of each `/v1` error code (docs/design/management-api.md §3).
pub(crate) fn status_of(code: &str) -> StatusCode {
    match code {
        "invalid_request" => StatusCode::BAD_REQUEST,
        "validation_failed" => StatusCode::UNPROCESSABLE_ENTITY,
        "unauthenticated" | "invalid_api_key" | "api_key_revoked" | "api_key_expired" => {
            StatusCode::UNAUTHORIZED
        }
        "forbidden"
        | "scope_missing"
        | "role_required"
        | "scope_escalation"
        | "origin_not_allowed"
        | "organization_suspended"
        | "parent_read_only"
        | "project_scope"
        | "policy_denied"
        | "session_limit" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "upstream_error" => StatusCode::BAD_GATEWAY,
        "unavailable" | "vault_locked" => StatusCode::SERVICE_UNAVAILABLE,
        "internal" => StatusCode::INTERNAL_SERVER_ERROR,
        // Every other code is a conflict (`slug_taken`, `last_owner`, …; §2).
        _ => StatusCode::CONFLICT,
    }
}

/// `{"error": {"code", "message"}, "meta": {"request_id"}}`.
pub(crate) fn error_response(request_id: &str, e: MgmtError) -> Response {
    let status = status_of(e.code);
    let (code, message) = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(cause = %e.message, "internal error");
        ("internal", "internal error".to_string())
    } else {
        (e.code, e.message)
    };
    respond(
        status,
        &json!({"error": {"code": code, "message": message}, "meta": {"request_id": request_id}}),
    )
}

fn request_id(headers: &HeaderMap) -> Arc<str> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .into()
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization").and_then(|v| v.to_str().ok())
}

/// The type prefix of wallet-session tokens (`ws_live_…`).
pub(crate) const SESSION_PREFIX: &str = "ws_";

/// Runs before every `/v1` handler: finds the route's entry, authenticates the key, checks
/// publishable-key origins and the route's scope, then hands the [`Caller`] to the handler.
async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = request_id(req.headers());
    let Some(route) = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| find_route(req.method(), m.as_str()))
    else {
        return error_response(
            &request_id,
            MgmtError::new("internal", "route without a /v1 guard entry"),
        );
    };
    let token = authorization(req.headers())
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(t) = token.filter(|t| route.sessions && t.starts_with(SESSION_PREFIX)) {
        let session_token = Some(Arc::from(t));
        req.extensions_mut().insert(Caller {
            request_id,
            principal: None,
            session_token,
        });
        return next.run(req).await;
    }
    let Some(scope) = route.scope else {
        req.extensions_mut().insert(Caller {
            request_id,
            principal: None,
            session_token: None,
        });
        let mut response = next.run(req).await;
        allow_origin(&mut response, "*");
        return response;
    };
    let started = std::time::Instant::now();
    let p = match state
        .app
        .authenticate_bearer(authorization(req.headers()))
        .await
    {
        Ok(p) => p,
        Err(e) => return error_response(&request_id, e),
    };
    let origin = header(req.headers(), "origin");
    let ip = header(req.headers(), "x-forwarded-for")
        .map(|f| f.split(',').next().unwrap_or_default().trim().to_string());
    let target = target_org(route.path, req.uri().path());
    let rate = state.app.v1_rate_check(&p.key);
    let mut response = if !rate.allowed {
        error_response(
            &request_id,
            MgmtError::new(
                "rate_limited",
                format!(
                    "this key may make {} requests per window; retry after the window resets",
                    rate.limit
                ),
            ),
        )
    } else if let Err(e) = p.admit(scope, route.publishable, origin.as_deref()) {
        error_response(&request_id, e)
    } else {
        req.extensions_mut().insert(Caller {
            request_id: request_id.clone(),
            principal: Some(p.clone()),
            session_token: None,
        });
        next.run(req).await
    };
    let admitted_browser = rate.allowed
        && p.key.key_type == "publishable"
        && response.status() != StatusCode::FORBIDDEN;
    if let (true, Some(o)) = (admitted_browser, origin.as_deref()) {
        allow_origin(&mut response, o);
    }
    let now = state.app.now_ms();
    let h = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", rate.limit.to_string()),
        ("x-ratelimit-remaining", rate.remaining.to_string()),
        (
            "x-ratelimit-reset",
            (rate.reset_at.div_euclid(1000)).to_string(),
        ),
    ] {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    }
    if !rate.allowed {
        if let Ok(v) = rate.retry_after_secs(now).to_string().parse() {
            h.insert("retry-after", v);
        }
    }
    state
        .app
        .v1_record_request(quorate_store::mgmt::audit::ApiRequest {
            n: 0,
            id: quorate_domain::id::prefixed_id("req"),
            request_id: request_id.to_string(),
            organization_id: p.key.organization_id.clone(),
            target_organization_id: target,
            key_id: p.key.id.clone(),
            actor_user_id: p.key.created_by_user_id.clone(),
            environment: p.key.environment.clone(),
            method: route.method.to_string(),
            route: route.path.to_string(),
            status: i64::from(response.status().as_u16()),
            latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
            origin,
            ip,
            created_at: now,
        })
        .await;
    response
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(255).collect())
}

/// The `{org_id}` of a request path, by its route template.
fn target_org(template: &str, path: &str) -> Option<String> {
    template
        .split('/')
        .zip(path.split('/'))
        .find(|(t, _)| *t == "{org_id}")
        .map(|(_, v)| v.chars().take(64).collect())
}

async fn unknown(headers: HeaderMap) -> Response {
    error_response(
        &request_id(&headers),
        MgmtError::new("not_found", "no such /v1 route"),
    )
}

/// The `/v1` operations as OpenAPI path items (merged into `/openapi.json`).
pub(crate) fn openapi_paths() -> serde_json::Map<String, Value> {
    let mut paths = serde_json::Map::new();
    for r in routes() {
        let mut params = Vec::new();
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        if r.list {
            params.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 100}}));
            params.push(json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}}));
        }
        let data = (r.response)();
        let mut success = json!({
            "type": "object",
            "required": ["data", "meta"],
            "properties": {"data": if r.list { json!({"type": "array", "items": data}) } else { data }, "meta": {"$ref": "#/components/schemas/V1Meta"}},
        });
        if r.list {
            success["required"] = json!(["data", "pagination", "meta"]);
            success["properties"]["pagination"] =
                json!({"$ref": "#/components/schemas/V1Pagination"});
        }
        let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V1Error"}}}});
        let mut responses = serde_json::Map::new();
        // An idempotent creation replayed answers 200 with the resource it created first.
        if r.status == 201 {
            responses.insert(
                "200".into(),
                json!({"description": "replayed: the resource created first", "content": {"application/json": {"schema": success.clone()}}}),
            );
        }
        responses.insert(
            r.status.to_string(),
            json!({"description": "success", "content": {"application/json": {"schema": success}}}),
        );
        // Engine-backed writes answer 202 while their activity waits for approvals; `data` then
        // names the activity (and, where the resource exists already, the resource).
        if r.method == Method::POST || r.method == Method::DELETE {
            responses.insert(
                "202".into(),
                json!({"description": "recorded; waits for approvals", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["data", "meta"],
                    "properties": {"data": {"type": "object"}, "meta": {"$ref": "#/components/schemas/V1Meta"}}
                }}}}),
            );
        }
        let mut errors = vec!["400", "404", "409", "422", "429", "503"];
        if r.sessions {
            // Withdrawals talk to a chain's node.
            errors.push("502");
        }
        if r.scope.is_some() {
            errors.extend(["401", "403"]);
        }
        for code in errors {
            responses.insert(code.to_string(), error.clone());
        }
        let mut op = json!({
            "operationId": format!("{} {}", r.method, r.path),
            "summary": r.summary,
            "parameters": params,
            "responses": responses,
            "x-scope": r.scope,
        });
        if r.scope.is_some() {
            op["security"] = json!([{"bearer": []}]);
        }
        if let Some(req) = r.request {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": req()}}});
        }
        let item = paths.entry(r.path).or_insert_with(|| json!({}));
        item[r.method.as_str().to_ascii_lowercase()] = op;
    }
    paths
}
