//! The one place that turns application errors into HTTP responses: a status and the
//! google.rpc.Status body the SDKs parse, always as `application/json` exactly.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use quorate_app::AppError;
use quorate_proto::error::{ErrorDetail, DETAIL_TYPE, POLICY_DETAIL_TYPE};
use quorate_proto::{ErrorBody, ErrorCode};

#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

/// A JSON response with the exact content type the Rust SDK requires.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let message = match e.code {
            // The cause stays in our log; the client gets a stable message.
            ErrorCode::Internal => {
                tracing::error!(cause = %e.message, "internal error");
                "internal error".to_string()
            }
            ErrorCode::Unavailable => {
                tracing::warn!(cause = %e.message, "store unavailable");
                "service unavailable, retry later".to_string()
            }
            _ => e.message,
        };
        let mut body = ErrorBody::new(e.code, message);
        if let Some(detail) = e.detail {
            let policy = e.code == ErrorCode::RequestNotAuthorized;
            body.details.push(ErrorDetail {
                type_url: if policy {
                    POLICY_DETAIL_TYPE
                } else {
                    DETAIL_TYPE
                }
                .to_string(),
                turnkey_error_code: (!policy).then(|| e.code.as_str().to_string()),
                message: Some(detail),
            });
        }
        let status = http_status(e.code);
        let bytes = serde_json::to_vec(&body)
            .unwrap_or_else(|_| b"{\"code\":13,\"message\":\"internal error\"}".to_vec());
        json_response(status, bytes)
    }
}

/// The HTTP status of each error code (the gRPC code in the body follows google.rpc).
fn http_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::StampMissing
        | ErrorCode::StampMalformed
        | ErrorCode::SignatureInvalid
        | ErrorCode::PublicKeyNotFound
        | ErrorCode::ApiKeyDeleted
        | ErrorCode::ApiKeyExpired => StatusCode::UNAUTHORIZED,
        ErrorCode::OrganizationMismatch | ErrorCode::RequestNotAuthorized => StatusCode::FORBIDDEN,
        ErrorCode::RequestInvalid => StatusCode::BAD_REQUEST,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::NotFound | ErrorCode::RouteNotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) async fn fallback(uri: axum::http::Uri) -> ApiError {
    ApiError(AppError::new(
        ErrorCode::RouteNotFound,
        format!(
            "no route for `{}`",
            uri.path().chars().take(200).collect::<String>()
        ),
    ))
}

pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError(AppError::new(
        ErrorCode::MethodNotAllowed,
        format!(
            "`{method}` is not allowed on `{}`",
            uri.path().chars().take(200).collect::<String>()
        ),
    ))
}
