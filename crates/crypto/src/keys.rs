//! Client-side API key pairs: generation, import/export and stamping (CLI, tests, benchmarks).

use std::fmt;

use base64::Engine as _;
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::curve::{ApiKeyCurve, KeyError};
use crate::stamp::BASE64URL;

/// An API key pair. The secret is zeroized on drop (the wrapped signing keys are `ZeroizeOnDrop`),
/// `Debug` shows only the curve and public key, and there is deliberately no `Serialize`.
pub struct ApiKeyPair {
    secret: Secret,
}

enum Secret {
    P256(p256::ecdsa::SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl ApiKeyPair {
    /// Fresh key pair from the OS RNG.
    pub fn generate(curve: ApiKeyCurve) -> Self {
        let secret = match curve {
            ApiKeyCurve::P256 => Secret::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            ApiKeyCurve::Secp256k1 => {
                Secret::Secp256k1(k256::ecdsa::SigningKey::random(&mut OsRng))
            }
            ApiKeyCurve::Ed25519 => {
                Secret::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
            }
        };
        Self { secret }
    }

    /// Import a 32-byte private scalar (P-256/secp256k1) or seed (Ed25519) given as hex,
    /// the format `@turnkey/api-key-stamper` takes as `apiPrivateKey`.
    pub fn from_private_hex(curve: ApiKeyCurve, private_key_hex: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "private key";
        if private_key_hex.len() != 64 {
            return Err(KeyError::InvalidLength {
                what: WHAT,
                expected: "32",
                actual: private_key_hex.len() / 2,
            });
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(private_key_hex, bytes.as_mut_slice())
            .map_err(|_| KeyError::InvalidHex { what: WHAT })?;
        let invalid = KeyError::InvalidPrivateKey {
            curve: curve.label(),
        };
        let secret = match curve {
            ApiKeyCurve::P256 => p256::ecdsa::SigningKey::from_bytes(&(*bytes).into())
                .map(Secret::P256)
                .map_err(|_| invalid)?,
            ApiKeyCurve::Secp256k1 => k256::ecdsa::SigningKey::from_bytes(&(*bytes).into())
                .map(Secret::Secp256k1)
                .map_err(|_| invalid)?,
            ApiKeyCurve::Ed25519 => Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes)),
        };
        Ok(Self { secret })
    }

    pub fn curve(&self) -> ApiKeyCurve {
        match self.secret {
            Secret::P256(_) => ApiKeyCurve::P256,
            Secret::Secp256k1(_) => ApiKeyCurve::Secp256k1,
            Secret::Ed25519(_) => ApiKeyCurve::Ed25519,
        }
    }

    /// Lowercase hex public key: SEC1 compressed (66 chars) for P-256/secp256k1, 32 bytes for Ed25519.
    pub fn public_key_hex(&self) -> String {
        match &self.secret {
            Secret::P256(k) => hex::encode(k.verifying_key().to_encoded_point(true)),
            Secret::Secp256k1(k) => hex::encode(k.verifying_key().to_encoded_point(true)),
            Secret::Ed25519(k) => hex::encode(k.verifying_key().as_bytes()),
        }
    }

    /// Lowercase hex of the 32-byte private scalar / Ed25519 seed.
    pub fn private_key_hex(&self) -> Zeroizing<String> {
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(match &self.secret {
            Secret::P256(k) => k.to_bytes().into(),
            Secret::Secp256k1(k) => k.to_bytes().into(),
            Secret::Ed25519(k) => k.to_bytes(),
        });
        // Encode into a pre-sized buffer so no reallocation leaves stray copies behind.
        let mut out = Zeroizing::new(String::with_capacity(64));
        for b in bytes.iter() {
            for nibble in [b >> 4, b & 0x0f] {
                out.push(char::from(b"0123456789abcdef"[usize::from(nibble)]));
            }
        }
        out
    }

    /// Signature hex over `body`: DER ECDSA over SHA-256(body) with RFC 6979 nonces for
    /// P-256/secp256k1 (secp256k1 is low-S; P-256 is not normalized, like Turnkey's stampers),
    /// 64-byte signature for Ed25519.
    pub fn sign(&self, body: &[u8]) -> String {
        use p256::ecdsa::signature::Signer;
        match &self.secret {
            Secret::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(body);
                hex::encode(sig.to_der())
            }
            Secret::Secp256k1(k) => {
                let sig: k256::ecdsa::Signature = k.sign(body);
                hex::encode(sig.to_der())
            }
            Secret::Ed25519(k) => hex::encode(k.sign(body).to_bytes()),
        }
    }

    /// Full `X-Stamp` header value: base64url (no padding) of
    /// `{"publicKey":…,"scheme":…,"signature":…}` in that key order, as `@turnkey/api-key-stamper` sends.
    pub fn stamp_header(&self, body: &[u8]) -> String {
        // All three values are hex or fixed ASCII names, so no JSON escaping is needed.
        let json = format!(
            r#"{{"publicKey":"{}","scheme":"{}","signature":"{}"}}"#,
            self.public_key_hex(),
            self.curve().stamp_scheme(),
            self.sign(body),
        );
        BASE64URL.encode(json)
    }
}

impl fmt::Debug for ApiKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyPair")
            .field("curve", &self.curve())
            .field("public_key", &self.public_key_hex())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE_KEY: &str = "6ecb50cc5418e834c73c069b710076858407aa4270dc586a555315776fb35e7f";
    const PUBLIC_KEY: &str = "036076e78038de5a2d448ea1270111a373b67c95784e0d369fd9642d7f041499b0";
    const BODY: &[u8] = br#"{"organizationId":"2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d"}"#;
    const RFC6979_SIG: &str = "3046022100d00bc55f177fb69b07b9ccd9a27a799872098d00e8a91abe846c383b08b4d024022100d7dac14a9681ba8c86b55d084f83ecd574154fbc0eeadb4e093d9a395304a0b7";
    const TS_STAMP: &str = "eyJwdWJsaWNLZXkiOiIwMzYwNzZlNzgwMzhkZTVhMmQ0NDhlYTEyNzAxMTFhMzczYjY3Yzk1Nzg0ZTBkMzY5ZmQ5NjQyZDdmMDQxNDk5YjAiLCJzY2hlbWUiOiJTSUdOQVRVUkVfU0NIRU1FX1RLX0FQSV9QMjU2Iiwic2lnbmF0dXJlIjoiMzA0NjAyMjEwMGQwMGJjNTVmMTc3ZmI2OWIwN2I5Y2NkOWEyN2E3OTk4NzIwOThkMDBlOGE5MWFiZTg0NmMzODNiMDhiNGQwMjQwMjIxMDBkN2RhYzE0YTk2ODFiYThjODZiNTVkMDg0ZjgzZWNkNTc0MTU0ZmJjMGVlYWRiNGUwOTNkOWEzOTUzMDRhMGI3In0";

    #[test]
    fn wire_example_signature_and_stamp_match_exactly() {
        let pair = ApiKeyPair::from_private_hex(ApiKeyCurve::P256, PRIVATE_KEY).unwrap();
        assert_eq!(pair.curve(), ApiKeyCurve::P256);
        assert_eq!(pair.public_key_hex(), PUBLIC_KEY);
        assert_eq!(*pair.private_key_hex(), PRIVATE_KEY);
        assert_eq!(pair.sign(BODY), RFC6979_SIG);
        assert_eq!(pair.stamp_header(BODY), TS_STAMP);
    }

    #[test]
    fn debug_is_redacted() {
        for curve in ApiKeyCurve::ALL {
            let pair = ApiKeyPair::generate(curve);
            let debug = format!("{pair:?}");
            assert!(!debug.contains(pair.private_key_hex().as_str()), "{debug}");
            assert!(debug.contains(&pair.public_key_hex()));
        }
        let pair = ApiKeyPair::from_private_hex(ApiKeyCurve::P256, PRIVATE_KEY).unwrap();
        assert!(!format!("{pair:?}").contains(PRIVATE_KEY));
        assert!(!format!("{pair:#?}").contains(PRIVATE_KEY));
    }

    #[test]
    fn private_hex_round_trips() {
        for curve in ApiKeyCurve::ALL {
            let pair = ApiKeyPair::generate(curve);
            let hex = pair.private_key_hex();
            assert_eq!(hex.len(), 64);
            let again = ApiKeyPair::from_private_hex(curve, &hex).unwrap();
            assert_eq!(again.public_key_hex(), pair.public_key_hex());
            assert_eq!(again.curve(), curve);
            let expected_len = if curve == ApiKeyCurve::Ed25519 {
                64
            } else {
                66
            };
            assert_eq!(pair.public_key_hex().len(), expected_len);
        }
    }

    #[test]
    fn signing_is_deterministic() {
        for curve in ApiKeyCurve::ALL {
            let pair = ApiKeyPair::generate(curve);
            assert_eq!(pair.sign(BODY), pair.sign(BODY));
        }
    }

    #[test]
    fn bad_private_keys() {
        assert!(matches!(
            ApiKeyPair::from_private_hex(ApiKeyCurve::P256, "abcd"),
            Err(KeyError::InvalidLength { actual: 2, .. })
        ));
        assert_eq!(
            ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &"zz".repeat(32)).err(),
            Some(KeyError::InvalidHex {
                what: "private key"
            })
        );
        for curve in [ApiKeyCurve::P256, ApiKeyCurve::Secp256k1] {
            let err = ApiKeyPair::from_private_hex(curve, &"00".repeat(32)).err();
            assert!(matches!(err, Some(KeyError::InvalidPrivateKey { .. })));
            // Scalars >= the group order are rejected too.
            let err = ApiKeyPair::from_private_hex(curve, &"ff".repeat(32)).err();
            assert!(matches!(err, Some(KeyError::InvalidPrivateKey { .. })));
        }
        // Error messages never echo the input.
        let secret = "ab".repeat(31) + "zz";
        let err = ApiKeyPair::from_private_hex(ApiKeyCurve::Ed25519, &secret)
            .err()
            .unwrap();
        assert!(!err.to_string().contains("abab"));
    }

    #[test]
    fn wrapped_secrets_zeroize_on_drop() {
        fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroize_on_drop::<p256::ecdsa::SigningKey>();
        zeroize_on_drop::<k256::ecdsa::SigningKey>();
        zeroize_on_drop::<ed25519_dalek::SigningKey>();
    }
}
