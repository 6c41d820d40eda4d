//! Application errors: what went wrong, as a stable code the server maps to HTTP.

use quorate_proto::ErrorCode;
use quorate_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra detail shown to the client (policy outcomes), if any.
    pub detail: Option<String>,
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestInvalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotImplemented, message)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found("not found"),
            // The driver's text names tables and columns: keep it out of the answer.
            StoreError::Conflict(_) => AppError::new(
                ErrorCode::Conflict,
                "the request conflicts with data recorded meanwhile; retry it",
            ),
            StoreError::Invalid(m) => {
                AppError::invalid(format!("a value was refused by the store: {m}"))
            }
            StoreError::Unavailable(m) => AppError::new(ErrorCode::Unavailable, m),
            StoreError::Other(m) => AppError::new(ErrorCode::Internal, m),
        }
    }
}
