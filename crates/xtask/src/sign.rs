//! A fast P-256 stamper for the load generator. `ApiKeyPair::stamp_header` signs with the
//! pure-Rust `p256` crate (RFC 6979, a few hundred µs per signature on the bench machine);
//! ring signs the same key several times faster (random nonces), which keeps body
//! pre-generation short and client CPU out of the way. The stamps are ordinary `X-Stamp`
//! values: each stamper checks its first one with `quorate_crypto::stamp::verify_header`.

use anyhow::{anyhow, ensure, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use quorate_crypto::bench::p256_uncompressed;
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::stamp::verify_header;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

pub struct Stamper {
    pair: EcdsaKeyPair,
    public_key_hex: String,
    rng: SystemRandom,
}

impl Stamper {
    pub fn new(key: &ApiKeyPair) -> Result<Self> {
        let private = hex::decode(key.private_key_hex().as_str())?;
        let public_key_hex = key.public_key_hex();
        let public = p256_uncompressed(&public_key_hex)?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &private,
            &public,
            &rng,
        )
        .map_err(|e| anyhow!("ring rejected the P-256 key: {e}"))?;
        let stamper = Stamper {
            pair,
            public_key_hex,
            rng,
        };
        let probe = b"{}";
        let stamp = verify_header(&stamper.stamp_header(probe)?, probe)?;
        ensure!(
            stamp.public_key == stamper.public_key_hex,
            "stamp key mismatch"
        );
        Ok(stamper)
    }

    /// The `X-Stamp` header over `body`, as `@turnkey/api-key-stamper` shapes it.
    pub fn stamp_header(&self, body: &[u8]) -> Result<String> {
        let sig = self
            .pair
            .sign(&self.rng, body)
            .map_err(|e| anyhow!("signing failed: {e}"))?;
        let json = format!(
            r#"{{"publicKey":"{}","scheme":"SIGNATURE_SCHEME_TK_API_P256","signature":"{}"}}"#,
            self.public_key_hex,
            hex::encode(sig.as_ref())
        );
        Ok(URL_SAFE_NO_PAD.encode(json))
    }
}
