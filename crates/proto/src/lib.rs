//! quorate-proto: wire types of the Turnkey-compatible face (field names as in Turnkey's
//! public API), shared by the server and the Rust client, plus the error codes.

pub mod error;
pub mod intents;
pub mod policy;
pub mod types;
pub mod vault;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use types::*;

/// Decodes `bytes` as `T`, naming the offending field path in the error
/// (`parameters.users[0].apiKeys[0].publicKey: missing field ...`).
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| describe(e.path().to_string(), e.inner()))
}

/// Like [`decode`] for an already-parsed value; `prefix` is the value's own path.
pub fn decode_value<T: serde::de::DeserializeOwned>(
    prefix: &str,
    value: serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let full = if path == "." {
            prefix.to_string()
        } else {
            format!("{prefix}.{path}")
        };
        describe(full, e.inner())
    })
}

fn describe(path: String, err: &serde_json::Error) -> String {
    // serde_json appends "at line L column C"; the path says more.
    let msg = err.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if err.is_syntax() || err.is_eof() {
        format!("request body is not valid JSON: {msg}")
    } else if path == "." || path.is_empty() {
        format!("invalid request body: {msg}")
    } else {
        format!("invalid `{path}`: {msg}")
    }
}

/// Treats JSON `null` as the type's default (the Rust SDK sends unset lists and flags as null).
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let err = decode::<intents::CreateApiKeysIntent>(
            br#"{"userId":"u","apiKeys":[{"apiKeyName":"a"}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("apiKeys[0]"), "{err}");
        assert!(err.contains("publicKey"), "{err}");
        let err = decode::<intents::DeleteUsersIntent>(br#"{"userIds":[],"bogus":1}"#).unwrap_err();
        assert!(err.contains("unknown field `bogus`"), "{err}");
        let err = decode::<intents::DeleteUsersIntent>(b"{").unwrap_err();
        assert!(err.starts_with("request body is not valid JSON"), "{err}");
    }
}
