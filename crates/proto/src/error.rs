//! The error body the SDKs understand (google.rpc.Status with a TurnkeyErrorDetail) and the
//! stable codes quorate uses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"code": <grpc code>, "message": "...", "details": [{"@type": ..., "turnkeyErrorCode": ...}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub code: i32,
    pub message: String,
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    #[serde(rename = "@type")]
    pub type_url: String,
    #[serde(
        rename = "turnkeyErrorCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub turnkey_error_code: Option<String>,
    /// Human-readable detail (policy engine outcomes, offending field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

pub const DETAIL_TYPE: &str = "type.googleapis.com/errors.v1.TurnkeyErrorDetail";
pub const POLICY_DETAIL_TYPE: &str = "type.googleapis.com/errors.v1.PolicyEnginePermissionError";

/// Stable error codes. Each has a gRPC code (the `code` field); the server maps it to HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    StampMissing,
    StampMalformed,
    SignatureInvalid,
    PublicKeyNotFound,
    ApiKeyDeleted,
    ApiKeyExpired,
    OrganizationMismatch,
    RequestNotAuthorized,
    RequestInvalid,
    PayloadTooLarge,
    NotFound,
    RouteNotFound,
    MethodNotAllowed,
    NotImplemented,
    Conflict,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::StampMissing,
        ErrorCode::StampMalformed,
        ErrorCode::SignatureInvalid,
        ErrorCode::PublicKeyNotFound,
        ErrorCode::ApiKeyDeleted,
        ErrorCode::ApiKeyExpired,
        ErrorCode::OrganizationMismatch,
        ErrorCode::RequestNotAuthorized,
        ErrorCode::RequestInvalid,
        ErrorCode::PayloadTooLarge,
        ErrorCode::NotFound,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::NotImplemented,
        ErrorCode::Conflict,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code named by [`ErrorCode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::StampMissing => "STAMP_MISSING",
            ErrorCode::StampMalformed => "STAMP_MALFORMED",
            ErrorCode::SignatureInvalid => "SIGNATURE_INVALID",
            ErrorCode::PublicKeyNotFound => "PUBLIC_KEY_NOT_FOUND",
            ErrorCode::ApiKeyDeleted => "API_KEY_DELETED",
            ErrorCode::ApiKeyExpired => "API_KEY_EXPIRED",
            ErrorCode::OrganizationMismatch => "ORGANIZATION_MISMATCH",
            ErrorCode::RequestNotAuthorized => "REQUEST_NOT_AUTHORIZED",
            ErrorCode::RequestInvalid => "REQUEST_INVALID",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::RouteNotFound => "ROUTE_NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The google.rpc code carried in `code`.
    pub fn grpc_code(self) -> i32 {
        match self {
            ErrorCode::StampMissing
            | ErrorCode::StampMalformed
            | ErrorCode::SignatureInvalid
            | ErrorCode::PublicKeyNotFound
            | ErrorCode::ApiKeyDeleted
            | ErrorCode::ApiKeyExpired => 16,
            ErrorCode::OrganizationMismatch | ErrorCode::RequestNotAuthorized => 7,
            ErrorCode::RequestInvalid | ErrorCode::PayloadTooLarge => 3,
            ErrorCode::NotFound | ErrorCode::RouteNotFound => 5,
            ErrorCode::MethodNotAllowed | ErrorCode::NotImplemented => 12,
            ErrorCode::Conflict => 6,
            ErrorCode::Unavailable => 14,
            ErrorCode::Internal => 13,
        }
    }
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.grpc_code(),
            message: message.into(),
            details: vec![ErrorDetail {
                type_url: DETAIL_TYPE.to_string(),
                turnkey_error_code: Some(code.as_str().to_string()),
                message: None,
            }],
        }
    }

    /// The `turnkeyErrorCode` of the first detail, if any.
    pub fn turnkey_error_code(&self) -> Option<&str> {
        self.details
            .iter()
            .find_map(|d| d.turnkey_error_code.as_deref())
    }
}
