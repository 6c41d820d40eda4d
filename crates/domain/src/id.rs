//! Identifiers: UUID strings, validated when they come from outside.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{field}` must be a UUID, got `{value}`")]
pub struct IdError {
    pub field: &'static str,
    pub value: String,
}

/// A fresh random (v4) identifier in the lowercase hyphenated form the SDKs use.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A typed resource id of the management API: `prefix_` + 32 lowercase hex (`key_…`, `prj_…`).
pub fn prefixed_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Validates an identifier received from a client; `field` names it in the error.
pub fn parse_id(field: &'static str, value: &str) -> Result<String, IdError> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| IdError {
            field,
            value: value.chars().take(80).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let id = new_id();
        assert_eq!(parse_id("userId", &id.to_uppercase()).unwrap(), id);
        let err = parse_id("userId", "nope").unwrap_err();
        assert_eq!(err.to_string(), "`userId` must be a UUID, got `nope`");
    }
}
