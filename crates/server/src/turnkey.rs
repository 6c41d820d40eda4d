//! The Turnkey-compatible routes: `POST /public/v1/query/{name}` and
//! `POST /public/v1/submit/{name}`. Handlers read the raw body (the stamp covers its exact
//! bytes) and hand it to the app.

use crate::error::{json_response, ApiError};
use crate::{known_paths, AppState, MAX_BODY};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use quorate_app::query::QUERY_PATHS;
use quorate_app::AppError;
use quorate_domain::catalog;
use quorate_proto::ErrorCode;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/public/v1/query/{name}", post(query))
        .route("/public/v1/submit/{name}", post(submit))
        .route("/public/v1/signer", axum::routing::get(signer))
}

/// The bundle signer's public key: not secret, and what SDK callers must pass to verify
/// export and import bundles (`dangerouslyOverrideSignerPublicKey`).
async fn signer(State(state): State<AppState>) -> Result<Response, ApiError> {
    ok_json(&quorate_proto::vault::SignerResponse {
        signer_public_key: state.app.signer_public_key()?,
    })
}

/// CORS outside `/v1`: browser SDKs send the stamp in custom headers, which needs a preflight;
/// any origin may call (a stamp, not a cookie, authenticates). `/v1` answers its own.
pub(crate) async fn cors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.uri().path().starts_with("/v1") {
        return next.run(req).await;
    }
    let any = HeaderValue::from_static("*");
    if req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method")
    {
        let mut r = Response::new(Body::empty());
        let h = r.headers_mut();
        h.insert("access-control-allow-origin", any);
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, GET, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static(
                "content-type, x-stamp, x-stamp-webauthn, x-stamp-attested, x-client-version",
            ),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("600"));
        return r;
    }
    let mut r = next.run(req).await;
    r.headers_mut().insert("access-control-allow-origin", any);
    r
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError(AppError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {MAX_BODY} bytes or could not be read"),
        ))
    })
}

fn stamp(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let other_stamp =
        headers.contains_key("x-stamp-webauthn") || headers.contains_key("x-stamp-attested");
    if other_stamp && !headers.contains_key("x-stamp") {
        return Err(ApiError(AppError::not_implemented("passkey (`X-Stamp-WebAuthn`) and attested stamps are not supported yet; stamp with an API key (`X-Stamp`)")));
    }
    match headers.get("x-stamp") {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.trim().to_string())).map_err(|_| {
            ApiError(AppError::new(
                ErrorCode::StampMalformed,
                "`X-Stamp` header is not valid ASCII",
            ))
        }),
    }
}

async fn query(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let served = QUERY_PATHS.contains(&name.as_str());
    let (stamp, body) = accept("query", &name, served, &headers, body).await?;
    let value = state.app.query(&name, &body, stamp.as_deref()).await?;
    ok_json(&value)
}

async fn submit(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let served = catalog::implemented_paths().any(|p| p == name)
        || quorate_app::consensus::selection(&name).is_some();
    let (stamp, body) = accept("submit", &name, served, &headers, body).await?;
    // Run to completion even if the client goes away: an activity is recorded whole or not at all,
    // and is never abandoned halfway through its transaction.
    let app = state.app.clone();
    let submitted = tokio::spawn(async move { app.submit(&name, &body, stamp.as_deref()).await })
        .await
        .map_err(|e| {
            ApiError(AppError::new(
                ErrorCode::Internal,
                format!("activity task failed: {e}"),
            ))
        })??;
    if let Some(error) = submitted.error {
        let detail = match &error.detail {
            Some(d) => format!("{d} (activity {})", submitted.activity.id),
            None => format!("activity {} failed", submitted.activity.id),
        };
        return Err(ApiError(error.with_detail(detail)));
    }
    ok_json(&quorate_proto::ActivityResponse {
        activity: quorate_proto::Activity::from(&submitted.activity),
    })
}

/// Checks the route is served, then reads the stamp and the raw body.
async fn accept(
    kind: &str,
    name: &str,
    served: bool,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Option<String>, axum::body::Bytes), ApiError> {
    if !served {
        let known = if kind == "query" {
            known_paths::QUERY
        } else {
            known_paths::SUBMIT
        };
        return Err(unknown(kind, name, known));
    }
    let stamp = stamp(headers)?;
    Ok((stamp, read_body(body).await?))
}

fn ok_json(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| ApiError(AppError::new(ErrorCode::Internal, e.to_string())))?;
    Ok(json_response(StatusCode::OK, bytes))
}

fn unknown(kind: &str, name: &str, known: &[&str]) -> ApiError {
    let shown: String = name.chars().take(100).collect();
    if known.contains(&name) {
        ApiError(AppError::not_implemented(format!(
            "/public/v1/{kind}/{shown} is not implemented by this quorate version"
        )))
    } else {
        ApiError(AppError::new(
            ErrorCode::RouteNotFound,
            format!("no route for `/public/v1/{kind}/{shown}`"),
        ))
    }
}
