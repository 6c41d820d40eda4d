//! Cryptography for quorate: hashing, API-key curves, X-Stamp parsing/verification, client key
//! pairs, HD derivation and address formats, HPKE export/import bundles, and envelope
//! encryption of key material.
//!
//! No DB, no HTTP, no async: CPU work over bytes, and the one file the master key lives in.

pub mod address;
pub mod bearer;
pub mod bench;
mod curve;
pub mod eip712;
pub mod envelope;
pub mod fuzz;
pub mod hd;
pub mod hpke_bundle;
pub mod keys;
mod secp;
pub mod sign;
pub mod stamp;
pub mod tx;

pub use curve::{normalize_public_key, ApiKeyCurve, KeyError};

use sha2::{Digest, Sha256};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lowercase hex of the SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_wire_example() {
        let body = br#"{"organizationId":"2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d"}"#;
        assert_eq!(body.len(), 57);
        assert_eq!(
            sha256_hex(body),
            "78fb5f07ca57a41b67857858381e0c572a153dbb7f88957acb703ad06442e784"
        );
        assert_eq!(hex::encode(sha256(b"")), sha256_hex(b""));
    }
}
