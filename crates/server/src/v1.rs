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
use quorate_app::mgmt::MgmtError;
use quorate_app::AppError;
use quorate_proto::ErrorCode;
use serde_json::{json, Value};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations/{org_id}", get(organization))
        .route("/v1/api-keys", get(list_api_keys).post(create_api_key))
        .route(
            "/v1/api-keys/{key_id}",
            axum::routing::delete(revoke_api_key),
        )
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

/// The HTTP status of each `/v1` error code (docs/design/management-api.md §3).
fn status_of(code: &str) -> StatusCode {
    match code {
        "invalid_request" => StatusCode::BAD_REQUEST,
        "validation_failed" => StatusCode::UNPROCESSABLE_ENTITY,
        "unauthenticated" | "invalid_api_key" | "api_key_revoked" | "api_key_expired" => {
            StatusCode::UNAUTHORIZED
        }
        "forbidden"
        | "scope_missing"
        | "scope_escalation"
        | "organization_suspended"
        | "origin_not_allowed" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn mgmt_error(headers: &HeaderMap, e: MgmtError) -> Response {
    let status = status_of(e.code);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(cause = %e.message, "internal error");
        return error(headers, status, "internal", "internal error");
    }
    error(headers, status, e.code, &e.message)
}

/// `GET /v1/organizations/{orgId}` (`organizations:read`).
async fn organization(
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let p = state
            .app
            .authenticate_bearer(authorization(&headers))
            .await?;
        state.app.v1_organization(&p, &org_id).await
    }
    .await;
    match result {
        Ok(org) => ok(
            &headers,
            json!({
                "id": org.id,
                "object": "organization",
                "name": org.name,
                "parent_id": org.parent_id,
                "status": "active",
                "created_at": quorate_app::mgmt::rfc3339(org.created_at),
                "updated_at": quorate_app::mgmt::rfc3339(org.updated_at),
            }),
        ),
        Err(e) => mgmt_error(&headers, e),
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization").and_then(|v| v.to_str().ok())
}

/// `GET /v1/api-keys` (`api_keys:read`).
async fn list_api_keys(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        let p = state
            .app
            .authenticate_bearer(authorization(&headers))
            .await?;
        state.app.v1_list_api_keys(&p).await
    }
    .await;
    match result {
        Ok(keys) => {
            let data: Vec<Value> = keys.iter().map(quorate_app::mgmt::api_key_json).collect();
            respond(
                StatusCode::OK,
                &json!({"data": data, "pagination": {"limit": data.len(), "has_more": false, "next_cursor": Value::Null}, "meta": {"request_id": request_id(&headers)}}),
            )
        }
        Err(e) => mgmt_error(&headers, e),
    }
}

/// `POST /v1/api-keys` (`api_keys:manage`): the secret is in `data.revealed_key`, once.
async fn create_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = async {
        let p = state
            .app
            .authenticate_bearer(authorization(&headers))
            .await?;
        let req: quorate_app::mgmt::NewApiKey =
            quorate_proto::decode(&body).map_err(|m| MgmtError::new("validation_failed", m))?;
        state.app.v1_create_api_key(&p, req).await
    }
    .await;
    match result {
        Ok((record, secret)) => {
            let mut data = quorate_app::mgmt::api_key_json(&record);
            data["revealed_key"] = json!(secret.expose());
            respond(
                StatusCode::CREATED,
                &json!({"data": data, "meta": {"request_id": request_id(&headers)}}),
            )
        }
        Err(e) => mgmt_error(&headers, e),
    }
}

/// `DELETE /v1/api-keys/{keyId}` (`api_keys:manage`): the revoked key, `revoked: true`.
async fn revoke_api_key(
    State(state): State<AppState>,
    Path(key_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let p = state
            .app
            .authenticate_bearer(authorization(&headers))
            .await?;
        state.app.v1_revoke_api_key(&p, &key_id).await
    }
    .await;
    match result {
        Ok(record) => {
            let mut data = quorate_app::mgmt::api_key_json(&record);
            data["revoked"] = json!(true);
            ok(&headers, data)
        }
        Err(e) => mgmt_error(&headers, e),
    }
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
