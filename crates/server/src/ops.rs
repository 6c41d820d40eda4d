//! Operational routes: liveness, readiness, metrics and the OpenAPI document.

use crate::error::{json_response, ApiError};
use crate::{observe, openapi, AppState};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
}

async fn health() -> Response {
    json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
}

async fn ready(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.app.ready().await?;
    let backend = state.app.store().backend().as_str();
    Ok(json_response(
        StatusCode::OK,
        format!(r#"{{"status":"ready","store":"{backend}"}}"#).into_bytes(),
    ))
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        observe::render_metrics(),
    )
        .into_response()
}

async fn openapi_json() -> Response {
    json_response(StatusCode::OK, openapi::document_json())
}
