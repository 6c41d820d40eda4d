//! The management API (`/v1`): one envelope for every answer — `{"data", "meta"}` (lists add
//! `pagination`), errors `{"error": {"code", "message"}, "meta"}` with snake_case codes — and
//! its routes. Design: docs/design/management-api.md (built step by step; §10).

use crate::error::json_response;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use quorate_app::AppError;
use quorate_proto::ErrorCode;
use serde_json::{json, Value};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/organizations/{org_id}/public",
            get(organization_public),
        )
        .route("/v1/orgs/{org_id}/public", get(organization_public))
        .route("/v1", any(unknown))
        .route("/v1/{*rest}", any(unknown))
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn respond(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal","message":"internal error"},"meta":{}}"#.to_vec()
    });
    json_response(status, bytes)
}

/// `{"data": data, "meta": {"request_id"}}`.
fn ok(headers: &HeaderMap, data: Value) -> Response {
    respond(
        StatusCode::OK,
        &json!({"data": data, "meta": {"request_id": request_id(headers)}}),
    )
}

/// `{"error": {"code", "message"}, "meta": {"request_id"}}`.
fn error(headers: &HeaderMap, status: StatusCode, code: &str, message: &str) -> Response {
    respond(
        status,
        &json!({"error": {"code": code, "message": message}, "meta": {"request_id": request_id(headers)}}),
    )
}

/// The `/v1` answer for an application error (same statuses as the Turnkey face).
fn app_error(headers: &HeaderMap, e: AppError) -> Response {
    let (status, code) = match e.code {
        ErrorCode::NotFound | ErrorCode::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorCode::RequestInvalid => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(cause = %e.message, "internal error");
        "internal error".to_string()
    } else {
        e.message
    };
    error(headers, status, code, &message)
}

async fn unknown(headers: HeaderMap) -> Response {
    error(
        &headers,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such /v1 route",
    )
}

/// `GET /v1/organizations/{orgId}/public`: what anyone may know about an organization.
async fn organization_public(
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.app.organization_public(&org_id).await {
        Ok(org) => ok(
            &headers,
            json!({"id": org.id, "object": "organization_public", "name": org.name, "slug": Value::Null}),
        ),
        Err(e) => app_error(&headers, e),
    }
}
