//! Baselines for benchmarks: raw ring verification to compare [`crate::stamp::PreparedKey`] against.

use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

use crate::curve::{ApiKeyCurve, KeyError, PublicKey};

/// Raw ring P-256 verify: DER ECDSA signature over SHA-256(`body`), `uncompressed_pk` = 65-byte SEC1.
pub fn ring_p256_verify(uncompressed_pk: &[u8], body: &[u8], der_sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, uncompressed_pk)
        .verify(body, der_sig)
        .is_ok()
}

/// The 65-byte SEC1 uncompressed form of a P-256 public key given as hex (compressed or not),
/// to feed [`ring_p256_verify`].
pub fn p256_uncompressed(public_key_hex: &str) -> Result<Vec<u8>, KeyError> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    match PublicKey::parse(ApiKeyCurve::P256, public_key_hex)? {
        PublicKey::P256(pk) => Ok(pk.to_encoded_point(false).as_bytes().to_vec()),
        _ => Err(KeyError::InvalidPublicKey {
            curve: ApiKeyCurve::P256.label(),
            reason: "not a p-256 key",
        }),
    }
}
