//! `X-Stamp` header: decoding, prepared public keys and signature verification (WIRE.md §2).

use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

use crate::curve::{ApiKeyCurve, KeyError, PublicKey};

/// base64url; decoding tolerates padding, encoding omits it.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest DER ECDSA signature over a 256-bit curve: SEQUENCE(2) + 2 × INTEGER(2 + 33).
const MAX_DER_SIG_LEN: usize = 72;

/// Why a stamp was rejected.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StampError {
    /// Bad base64, JSON, hex, or a missing field.
    #[error("stamp is malformed: {0}")]
    Malformed(String),
    #[error("unsupported stamp scheme `{0}`")]
    UnsupportedScheme(String),
    #[error("stamp public key is invalid: {0}")]
    InvalidPublicKey(String),
    #[error("stamp signature does not verify")]
    InvalidSignature,
}

impl From<KeyError> for StampError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::InvalidHex { .. } => Self::Malformed(e.to_string()),
            _ => Self::InvalidPublicKey(e.to_string()),
        }
    }
}

/// `SIGNATURE_SCHEME_TK_API_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StampScheme {
    P256,
    Secp256k1,
    Secp256k1Eip191,
    Ed25519,
}

impl StampScheme {
    /// All schemes.
    pub const ALL: [StampScheme; 4] = [
        Self::P256,
        Self::Secp256k1,
        Self::Secp256k1Eip191,
        Self::Ed25519,
    ];

    /// Wire name, e.g. `SIGNATURE_SCHEME_TK_API_P256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P256 => "SIGNATURE_SCHEME_TK_API_P256",
            Self::Secp256k1 => "SIGNATURE_SCHEME_TK_API_SECP256K1",
            Self::Secp256k1Eip191 => "SIGNATURE_SCHEME_TK_API_SECP256K1_EIP191",
            Self::Ed25519 => "SIGNATURE_SCHEME_TK_API_ED25519",
        }
    }

    /// Inverse of [`StampScheme::as_str`] (exact match).
    pub fn parse_str(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Curve of the public key that signs with this scheme.
    pub fn curve(self) -> ApiKeyCurve {
        match self {
            Self::P256 => ApiKeyCurve::P256,
            Self::Secp256k1 | Self::Secp256k1Eip191 => ApiKeyCurve::Secp256k1,
            Self::Ed25519 => ApiKeyCurve::Ed25519,
        }
    }
}

impl From<ApiKeyCurve> for StampScheme {
    /// The scheme an API key of `curve` stamps with (never EIP-191).
    fn from(curve: ApiKeyCurve) -> Self {
        match curve {
            ApiKeyCurve::P256 => Self::P256,
            ApiKeyCurve::Secp256k1 => Self::Secp256k1,
            ApiKeyCurve::Ed25519 => Self::Ed25519,
        }
    }
}

impl fmt::Display for StampScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded `X-Stamp` header. `public_key` and `signature` are the hex strings exactly as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub public_key: String,
    pub scheme: StampScheme,
    pub signature: String,
}

#[derive(serde::Deserialize)]
struct RawStamp {
    #[serde(rename = "publicKey")]
    public_key: String,
    scheme: String,
    signature: String,
}

/// Decode an `X-Stamp` header value: base64url (padding optional) of JSON
/// `{publicKey, scheme, signature}` in any key order; extra fields are ignored.
pub fn decode_header(header: &str) -> Result<Stamp, StampError> {
    let json = BASE64URL
        .decode(header.trim())
        .map_err(|_| StampError::Malformed("header is not valid base64url".into()))?;
    let raw: RawStamp = serde_json::from_slice(&json)
        .map_err(|e| StampError::Malformed(format!("invalid json: {e}")))?;
    let scheme =
        StampScheme::parse_str(&raw.scheme).ok_or(StampError::UnsupportedScheme(raw.scheme))?;
    Ok(Stamp {
        public_key: raw.public_key,
        scheme,
        signature: raw.signature,
    })
}

/// A public key prepared once for fast repeated verification. Cheap to clone (no heap).
#[derive(Clone, Debug)]
pub struct PreparedKey {
    scheme: StampScheme,
    key: Prepared,
}

#[derive(Clone, Debug)]
enum Prepared {
    /// SEC1 uncompressed point, the form ring takes.
    P256([u8; 65]),
    Secp256k1(k256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PreparedKey {
    /// Parse `public_key_hex` (SEC1 compressed or uncompressed for ECDSA schemes, 32 bytes for Ed25519).
    pub fn parse(scheme: StampScheme, public_key_hex: &str) -> Result<Self, StampError> {
        let key = match PublicKey::parse(scheme.curve(), public_key_hex)? {
            PublicKey::P256(pk) => {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                let point = pk.to_encoded_point(false);
                let bytes: [u8; 65] = point.as_bytes().try_into().map_err(|_| {
                    StampError::InvalidPublicKey("public key is the identity point".into())
                })?;
                Prepared::P256(bytes)
            }
            PublicKey::Secp256k1(pk) => Prepared::Secp256k1(pk.into()),
            PublicKey::Ed25519(pk) => Prepared::Ed25519(pk),
        };
        Ok(Self { scheme, key })
    }

    /// The scheme this key verifies.
    pub fn scheme(&self) -> StampScheme {
        self.scheme
    }

    /// Verify `signature_hex` over the exact `body` bytes:
    /// - P-256: DER ECDSA over SHA-256(body) via ring; high-S accepted.
    /// - secp256k1: DER ECDSA over SHA-256(body) via k256; S normalized first, so high-S accepted.
    /// - secp256k1 EIP-191: not supported yet ([`StampError::UnsupportedScheme`]).
    /// - Ed25519: 64-byte signature over body (strict verification).
    pub fn verify(&self, body: &[u8], signature_hex: &str) -> Result<(), StampError> {
        match &self.key {
            Prepared::P256(pk) => {
                let mut buf = [0u8; MAX_DER_SIG_LEN];
                let sig = decode_sig(signature_hex, &mut buf)?;
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, pk)
                    .verify(body, sig)
                    .map_err(|_| StampError::InvalidSignature)
            }
            Prepared::Secp256k1(_) if self.scheme == StampScheme::Secp256k1Eip191 => Err(
                StampError::UnsupportedScheme(self.scheme.as_str().to_owned()),
            ),
            Prepared::Secp256k1(vk) => {
                use k256::ecdsa::signature::Verifier;
                let mut buf = [0u8; MAX_DER_SIG_LEN];
                let sig = decode_sig(signature_hex, &mut buf)?;
                let sig = k256::ecdsa::Signature::from_der(sig)
                    .map_err(|_| StampError::InvalidSignature)?;
                let sig = sig.normalize_s().unwrap_or(sig);
                vk.verify(body, &sig)
                    .map_err(|_| StampError::InvalidSignature)
            }
            Prepared::Ed25519(vk) => {
                let mut buf = [0u8; 64];
                if signature_hex.len() != 128 {
                    return Err(StampError::InvalidSignature);
                }
                decode_sig(signature_hex, &mut buf)?;
                vk.verify_strict(body, &ed25519_dalek::Signature::from_bytes(&buf))
                    .map_err(|_| StampError::InvalidSignature)
            }
        }
    }
}

/// Hex-decode a signature into `buf` without allocating; longer-than-possible input cannot verify.
fn decode_sig<'a>(signature_hex: &str, buf: &'a mut [u8]) -> Result<&'a [u8], StampError> {
    let out = buf
        .get_mut(..signature_hex.len() / 2)
        .ok_or(StampError::InvalidSignature)?;
    hex::decode_to_slice(signature_hex, out)
        .map_err(|_| StampError::Malformed("signature is not valid hex".into()))?;
    Ok(out)
}

/// Decode, prepare and verify an `X-Stamp` header over `body`; returns the stamp on success.
pub fn verify_header(header: &str, body: &[u8]) -> Result<Stamp, StampError> {
    let stamp = decode_header(header)?;
    PreparedKey::parse(stamp.scheme, &stamp.public_key)?.verify(body, &stamp.signature)?;
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ApiKeyPair;

    // WIRE.md §2 worked example.
    const PUBLIC_KEY: &str = "036076e78038de5a2d448ea1270111a373b67c95784e0d369fd9642d7f041499b0";
    const BODY: &[u8] = br#"{"organizationId":"2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d"}"#;
    const RFC6979_SIG: &str = "3046022100d00bc55f177fb69b07b9ccd9a27a799872098d00e8a91abe846c383b08b4d024022100d7dac14a9681ba8c86b55d084f83ecd574154fbc0eeadb4e093d9a395304a0b7";
    const TS_STAMP: &str = "eyJwdWJsaWNLZXkiOiIwMzYwNzZlNzgwMzhkZTVhMmQ0NDhlYTEyNzAxMTFhMzczYjY3Yzk1Nzg0ZTBkMzY5ZmQ5NjQyZDdmMDQxNDk5YjAiLCJzY2hlbWUiOiJTSUdOQVRVUkVfU0NIRU1FX1RLX0FQSV9QMjU2Iiwic2lnbmF0dXJlIjoiMzA0NjAyMjEwMGQwMGJjNTVmMTc3ZmI2OWIwN2I5Y2NkOWEyN2E3OTk4NzIwOThkMDBlOGE5MWFiZTg0NmMzODNiMDhiNGQwMjQwMjIxMDBkN2RhYzE0YTk2ODFiYThjODZiNTVkMDg0ZjgzZWNkNTc0MTU0ZmJjMGVlYWRiNGUwOTNkOWEzOTUzMDRhMGI3In0";
    const NODE_SIG: &str = "3046022100a5d05140f736ce4670f97bccc365ca62df504847b4672955ce098e620965b9fc022100e23f7ec8b3b84603074200538f0349fee4daf9c58179fede734eb383192fdccf";

    fn header(json: &str) -> String {
        BASE64URL.encode(json)
    }

    fn p256_key() -> PreparedKey {
        PreparedKey::parse(StampScheme::P256, PUBLIC_KEY).unwrap()
    }

    #[test]
    fn wire_example_ts_stamp_verifies() {
        let stamp = verify_header(TS_STAMP, BODY).unwrap();
        assert_eq!(
            stamp,
            Stamp {
                public_key: PUBLIC_KEY.into(),
                scheme: StampScheme::P256,
                signature: RFC6979_SIG.into(),
            }
        );
    }

    #[test]
    fn wire_example_node_high_s_signature_verifies() {
        p256_key().verify(BODY, NODE_SIG).unwrap();
        let rust_order = header(&format!(
            r#"{{"publicKey":"{PUBLIC_KEY}","signature":"{NODE_SIG}","scheme":"SIGNATURE_SCHEME_TK_API_P256"}}"#
        ));
        verify_header(&rust_order, BODY).unwrap();
    }

    #[test]
    fn padding_extra_fields_and_uncompressed_key_are_tolerated() {
        let uncompressed = hex::encode(crate::bench::p256_uncompressed(PUBLIC_KEY).unwrap());
        let mut json = format!(
            r#"{{"extra":[1,{{}}],"signature":"{RFC6979_SIG}","scheme":"SIGNATURE_SCHEME_TK_API_P256","publicKey":"{uncompressed}"}}"#
        );
        if json.len() % 3 == 0 {
            json.push(' ');
        }
        let padded = base64::engine::general_purpose::URL_SAFE.encode(&json);
        assert!(padded.ends_with('='));
        let stamp = verify_header(&padded, BODY).unwrap();
        assert_eq!(stamp.public_key, uncompressed);
    }

    #[test]
    fn altered_body_fails() {
        let mut body = BODY.to_vec();
        body.push(b' ');
        assert_eq!(
            verify_header(TS_STAMP, &body),
            Err(StampError::InvalidSignature)
        );
        assert_eq!(
            p256_key().verify(b"{}", NODE_SIG),
            Err(StampError::InvalidSignature)
        );
    }

    #[test]
    fn wrong_key_fails() {
        let other = ApiKeyPair::generate(ApiKeyCurve::P256);
        let key = PreparedKey::parse(StampScheme::P256, &other.public_key_hex()).unwrap();
        assert_eq!(
            key.verify(BODY, RFC6979_SIG),
            Err(StampError::InvalidSignature)
        );
    }

    #[test]
    fn malformed_headers() {
        let malformed = |h: &str| matches!(decode_header(h), Err(StampError::Malformed(_)));
        assert!(malformed("not base64!"));
        assert!(malformed(&header("{not json")));
        assert!(malformed(&header("[]")));
        assert!(malformed(&header(
            r#"{"publicKey":"02","scheme":"SIGNATURE_SCHEME_TK_API_P256"}"#
        )));
        assert!(malformed(&header(
            r#"{"publicKey":null,"scheme":"SIGNATURE_SCHEME_TK_API_P256","signature":"00"}"#
        )));
        let bad_sig = header(&format!(
            r#"{{"publicKey":"{PUBLIC_KEY}","scheme":"SIGNATURE_SCHEME_TK_API_P256","signature":"zz"}}"#
        ));
        assert!(matches!(
            verify_header(&bad_sig, BODY),
            Err(StampError::Malformed(_))
        ));
        let bad_key = header(&format!(
            r#"{{"publicKey":"xyz","scheme":"SIGNATURE_SCHEME_TK_API_P256","signature":"{RFC6979_SIG}"}}"#
        ));
        assert!(matches!(
            verify_header(&bad_key, BODY),
            Err(StampError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_scheme_is_unsupported() {
        let h = header(&format!(
            r#"{{"publicKey":"{PUBLIC_KEY}","scheme":"SIGNATURE_SCHEME_TK_API_P384","signature":"{RFC6979_SIG}"}}"#
        ));
        assert_eq!(
            decode_header(&h),
            Err(StampError::UnsupportedScheme(
                "SIGNATURE_SCHEME_TK_API_P384".into()
            ))
        );
    }

    #[test]
    fn invalid_public_key() {
        let mut off_curve = crate::bench::p256_uncompressed(PUBLIC_KEY).unwrap();
        off_curve[64] ^= 1;
        let off_curve = hex::encode(off_curve);
        assert!(matches!(
            PreparedKey::parse(StampScheme::P256, &off_curve),
            Err(StampError::InvalidPublicKey(_))
        ));
        assert!(matches!(
            PreparedKey::parse(StampScheme::Ed25519, PUBLIC_KEY),
            Err(StampError::InvalidPublicKey(_))
        ));
    }

    #[test]
    fn odd_or_oversized_signatures() {
        let key = p256_key();
        assert!(matches!(
            key.verify(BODY, &RFC6979_SIG[1..]),
            Err(StampError::Malformed(_))
        ));
        let long = "00".repeat(MAX_DER_SIG_LEN + 1);
        assert_eq!(key.verify(BODY, &long), Err(StampError::InvalidSignature));
        assert_eq!(key.verify(BODY, ""), Err(StampError::InvalidSignature));
    }

    #[test]
    fn scheme_names() {
        for s in StampScheme::ALL {
            assert_eq!(StampScheme::parse_str(s.as_str()), Some(s));
        }
        assert_eq!(StampScheme::Secp256k1Eip191.curve(), ApiKeyCurve::Secp256k1);
        assert_eq!(
            StampScheme::Secp256k1Eip191.as_str(),
            "SIGNATURE_SCHEME_TK_API_SECP256K1_EIP191"
        );
    }

    #[test]
    fn round_trips_for_every_curve() {
        for curve in ApiKeyCurve::ALL {
            let pair = ApiKeyPair::generate(curve);
            let stamp = verify_header(&pair.stamp_header(BODY), BODY).unwrap();
            assert_eq!(stamp.scheme, StampScheme::from(curve));
            assert_eq!(stamp.public_key, pair.public_key_hex());
            assert_eq!(
                verify_header(&pair.stamp_header(BODY), b"other"),
                Err(StampError::InvalidSignature)
            );
        }
    }

    #[test]
    fn secp256k1_high_s_verifies() {
        let pair = ApiKeyPair::generate(ApiKeyCurve::Secp256k1);
        let der = hex::decode(pair.sign(BODY)).unwrap();
        let low = k256::ecdsa::Signature::from_der(&der).unwrap();
        assert!(low.normalize_s().is_none(), "k256 signs low-S");
        let (r, s) = low.split_scalars();
        let high = k256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
        assert!(high.normalize_s().is_some());
        let key = PreparedKey::parse(StampScheme::Secp256k1, &pair.public_key_hex()).unwrap();
        key.verify(BODY, &hex::encode(high.to_der())).unwrap();
        key.verify(BODY, &hex::encode(low.to_der())).unwrap();
        assert_eq!(
            key.verify(b"x", &hex::encode(high.to_der())),
            Err(StampError::InvalidSignature)
        );
    }

    #[test]
    fn ed25519_rejects_wrong_length_signature() {
        let pair = ApiKeyPair::generate(ApiKeyCurve::Ed25519);
        let key = PreparedKey::parse(StampScheme::Ed25519, &pair.public_key_hex()).unwrap();
        let sig = pair.sign(BODY);
        assert_eq!(sig.len(), 128);
        key.verify(BODY, &sig).unwrap();
        assert_eq!(
            key.verify(BODY, &sig[..126]),
            Err(StampError::InvalidSignature)
        );
    }

    #[test]
    fn eip191_is_unsupported_for_now() {
        let pair = ApiKeyPair::generate(ApiKeyCurve::Secp256k1);
        let key = PreparedKey::parse(StampScheme::Secp256k1Eip191, &pair.public_key_hex()).unwrap();
        assert_eq!(
            key.verify(BODY, &pair.sign(BODY)),
            Err(StampError::UnsupportedScheme(
                "SIGNATURE_SCHEME_TK_API_SECP256K1_EIP191".into()
            ))
        );
    }

    #[test]
    fn bench_baseline_agrees() {
        let pk = crate::bench::p256_uncompressed(PUBLIC_KEY).unwrap();
        assert_eq!(pk.len(), 65);
        let sig = hex::decode(NODE_SIG).unwrap();
        assert!(crate::bench::ring_p256_verify(&pk, BODY, &sig));
        assert!(!crate::bench::ring_p256_verify(&pk, b"{}", &sig));
    }
}
