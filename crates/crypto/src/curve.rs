//! API-key curves, their Turnkey wire names, and public-key validation/normalization.

/// Curve of an API key (Turnkey `API_KEY_CURVE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiKeyCurve {
    P256,
    Secp256k1,
    Ed25519,
}

impl ApiKeyCurve {
    /// All curves, in wire-enum order.
    pub const ALL: [ApiKeyCurve; 3] = [Self::P256, Self::Secp256k1, Self::Ed25519];

    /// Turnkey `API_KEY_CURVE_*` name.
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::P256 => "API_KEY_CURVE_P256",
            Self::Secp256k1 => "API_KEY_CURVE_SECP256K1",
            Self::Ed25519 => "API_KEY_CURVE_ED25519",
        }
    }

    /// Inverse of [`ApiKeyCurve::as_api_str`] (exact match).
    pub fn parse_api_str(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_api_str() == s)
    }

    /// Turnkey `CREDENTIAL_TYPE_API_KEY_*` name.
    pub fn credential_type(self) -> &'static str {
        match self {
            Self::P256 => "CREDENTIAL_TYPE_API_KEY_P256",
            Self::Secp256k1 => "CREDENTIAL_TYPE_API_KEY_SECP256K1",
            Self::Ed25519 => "CREDENTIAL_TYPE_API_KEY_ED25519",
        }
    }

    /// `SIGNATURE_SCHEME_TK_API_*` a key of this curve stamps with.
    pub fn stamp_scheme(self) -> &'static str {
        crate::stamp::StampScheme::from(self).as_str()
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::P256 => "p-256",
            Self::Secp256k1 => "secp256k1",
            Self::Ed25519 => "ed25519",
        }
    }
}

/// Why a key (public or private) was rejected. Never carries secret bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{what} is not valid hex")]
    InvalidHex { what: &'static str },
    #[error("{what} has the wrong length: expected {expected} bytes, got {actual}")]
    InvalidLength {
        what: &'static str,
        expected: &'static str,
        actual: usize,
    },
    #[error("public key is not a valid {curve} key: {reason}")]
    InvalidPublicKey {
        curve: &'static str,
        reason: &'static str,
    },
    #[error("private key is not a valid {curve} key")]
    InvalidPrivateKey { curve: &'static str },
}

/// A validated public key.
pub(crate) enum PublicKey {
    P256(p256::PublicKey),
    Secp256k1(k256::PublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    pub(crate) fn parse(curve: ApiKeyCurve, public_key_hex: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        let bytes = hex::decode(public_key_hex).map_err(|_| KeyError::InvalidHex { what: WHAT })?;
        let sec1_len_ok = matches!(bytes.len(), 33 | 65);
        let not_on_curve = KeyError::InvalidPublicKey {
            curve: curve.label(),
            reason: "not a point on the curve",
        };
        match curve {
            ApiKeyCurve::P256 | ApiKeyCurve::Secp256k1 if !sec1_len_ok => {
                Err(KeyError::InvalidLength {
                    what: WHAT,
                    expected: "33 (compressed) or 65 (uncompressed)",
                    actual: bytes.len(),
                })
            }
            ApiKeyCurve::P256 => p256::PublicKey::from_sec1_bytes(&bytes)
                .map(Self::P256)
                .map_err(|_| not_on_curve),
            ApiKeyCurve::Secp256k1 => k256::PublicKey::from_sec1_bytes(&bytes)
                .map(Self::Secp256k1)
                .map_err(|_| not_on_curve),
            ApiKeyCurve::Ed25519 => {
                let arr: [u8; 32] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| KeyError::InvalidLength {
                            what: WHAT,
                            expected: "32",
                            actual: bytes.len(),
                        })?;
                let key =
                    ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(|_| not_on_curve)?;
                if key.is_weak() {
                    return Err(KeyError::InvalidPublicKey {
                        curve: curve.label(),
                        reason: "small-order point",
                    });
                }
                Ok(Self::Ed25519(key))
            }
        }
    }

    /// Canonical bytes: SEC1 compressed (33) for ECDSA curves, 32 bytes for Ed25519.
    pub(crate) fn canonical_hex(&self) -> String {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        match self {
            Self::P256(k) => hex::encode(k.to_encoded_point(true)),
            Self::Secp256k1(k) => hex::encode(k.to_encoded_point(true)),
            Self::Ed25519(k) => hex::encode(k.as_bytes()),
        }
    }
}

/// Validate a public key for `curve` and return its canonical lowercase hex.
///
/// P-256/secp256k1 accept SEC1 compressed (33 bytes) or uncompressed (65 bytes) input and return
/// compressed; Ed25519 takes and returns 32 bytes (small-order keys are rejected). Hex may be
/// upper- or lowercase; no `0x` prefix or whitespace.
pub fn normalize_public_key(curve: ApiKeyCurve, hex: &str) -> Result<String, KeyError> {
    PublicKey::parse(curve, hex).map(|k| k.canonical_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256_COMPRESSED: &str =
        "036076e78038de5a2d448ea1270111a373b67c95784e0d369fd9642d7f041499b0";

    #[test]
    fn wire_names_round_trip() {
        for c in ApiKeyCurve::ALL {
            assert_eq!(ApiKeyCurve::parse_api_str(c.as_api_str()), Some(c));
        }
        assert_eq!(ApiKeyCurve::parse_api_str("API_KEY_CURVE_P384"), None);
        assert_eq!(ApiKeyCurve::P256.as_api_str(), "API_KEY_CURVE_P256");
        assert_eq!(
            ApiKeyCurve::Secp256k1.credential_type(),
            "CREDENTIAL_TYPE_API_KEY_SECP256K1"
        );
        assert_eq!(
            ApiKeyCurve::Ed25519.stamp_scheme(),
            "SIGNATURE_SCHEME_TK_API_ED25519"
        );
        assert_eq!(
            ApiKeyCurve::P256.stamp_scheme(),
            "SIGNATURE_SCHEME_TK_API_P256"
        );
    }

    #[test]
    fn normalize_p256_uncompressed_to_compressed() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let pk = p256::PublicKey::from_sec1_bytes(&hex::decode(P256_COMPRESSED).unwrap()).unwrap();
        let uncompressed = hex::encode(pk.to_encoded_point(false));
        assert_eq!(uncompressed.len(), 130);
        assert_eq!(
            normalize_public_key(ApiKeyCurve::P256, &uncompressed).unwrap(),
            P256_COMPRESSED
        );
        assert_eq!(
            normalize_public_key(ApiKeyCurve::P256, &P256_COMPRESSED.to_uppercase()).unwrap(),
            P256_COMPRESSED
        );
    }

    #[test]
    fn normalize_rejects_bad_keys() {
        assert_eq!(
            normalize_public_key(ApiKeyCurve::P256, "zz"),
            Err(KeyError::InvalidHex { what: "public key" })
        );
        assert!(matches!(
            normalize_public_key(ApiKeyCurve::P256, &P256_COMPRESSED[..64]),
            Err(KeyError::InvalidLength { actual: 32, .. })
        ));
        // Uncompressed point with y off by one is not on the curve.
        let mut bad = crate::bench::p256_uncompressed(P256_COMPRESSED).unwrap();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(
            normalize_public_key(ApiKeyCurve::P256, &hex::encode(&bad)),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        // A 33-byte key is the wrong length for Ed25519.
        assert!(matches!(
            normalize_public_key(ApiKeyCurve::Ed25519, P256_COMPRESSED),
            Err(KeyError::InvalidLength { actual: 33, .. })
        ));
        // Ed25519 identity point is small order.
        let identity = format!("01{}", "00".repeat(31));
        assert!(matches!(
            normalize_public_key(ApiKeyCurve::Ed25519, &identity),
            Err(KeyError::InvalidPublicKey {
                reason: "small-order point",
                ..
            })
        ));
    }

    #[test]
    fn normalize_secp256k1_and_ed25519() {
        // secp256k1 generator G.
        let g = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        assert_eq!(normalize_public_key(ApiKeyCurve::Secp256k1, g).unwrap(), g);
        // RFC 8032 test 1 public key.
        let ed = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        assert_eq!(normalize_public_key(ApiKeyCurve::Ed25519, ed).unwrap(), ed);
    }
}
