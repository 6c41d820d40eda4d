//! `sign_raw_payload`: decode and hash a payload ([`prepare`], no key needed), then sign it
//! ([`sign_prepared`]).
//!
//! Output follows Turnkey's `signRawPayloadResult`: `r` and `s` as 64 lowercase hex digits and
//! `v` as the recovery id `"00"`/`"01"` (what @turnkey/viem and @turnkey/ethers turn into
//! `27`/`28`); for ed25519, `r ‖ s` is the 64-byte signature and `v` is `"00"`
//! (@turnkey/solana concatenates `r` and `s`).
//!
//! Rules:
//! - `PAYLOAD_ENCODING_HEXADECIMAL`: optional `0x`, even-length hex. `PAYLOAD_ENCODING_TEXT_UTF8`:
//!   the string's UTF-8 bytes. `PAYLOAD_ENCODING_EIP712`: JSON typed data, hashed per EIP-712
//!   (secp256k1 only). The SDKs send EIP-712 with `HASH_FUNCTION_NO_OP` (the typed-data hash is
//!   implied by the encoding); `HASH_FUNCTION_KECCAK256` is accepted as the same thing.
//! - secp256k1: `HASH_FUNCTION_NO_OP` needs exactly 32 bytes (a digest); `SHA256`/`KECCAK256`
//!   hash the bytes; `NOT_APPLICABLE` is refused.
//! - ed25519 signs the message itself: `HASH_FUNCTION_NOT_APPLICABLE` (or `NO_OP`); hashing is
//!   refused (RFC 8032 has no prehash-then-sign mode here).
//! - Decoded payloads are bounded by [`MAX_PAYLOAD_BYTES`].

use ed25519_dalek::Signer as _;
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature as K256Signature, VerifyingKey};
use serde::Serialize;
use sha2::Sha256;
use sha3::{Digest, Keccak256};

use crate::eip712::TypedData;
use crate::hd::Curve;

/// Largest decoded payload accepted (bytes). Also bounds the raw `payload` string.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Errors from raw-payload signing. Messages are meant for API users and never contain key
/// material.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    /// Bad or incompatible `hashFunction`.
    #[error("hashFunction: {0}")]
    HashFunction(String),
    /// Bad or incompatible `encoding`.
    #[error("encoding: {0}")]
    Encoding(String),
    /// Bad `payload`.
    #[error("payload: {0}")]
    Payload(String),
    /// Over the size limit.
    #[error("payload: {got} bytes is over the {max}-byte limit")]
    PayloadTooLarge {
        /// The limit.
        max: usize,
        /// The size given.
        got: usize,
    },
    /// A valid Turnkey option quorate does not support.
    #[error("{0}")]
    Unsupported(String),
    /// The prepared payload was made for another curve (internal misuse).
    #[error("the prepared payload is for {prepared}, the key is {key}")]
    CurveMismatch {
        /// The curve `prepare` was called with.
        prepared: Curve,
        /// The curve of the key.
        key: Curve,
    },
    /// The stored private key is not valid for its curve (server-side fault).
    #[error("the signing key is invalid")]
    InvalidKey,
    /// Signing failed (server-side fault).
    #[error("signing failed: {0}")]
    Signing(String),
}

impl SignError {
    /// Whether the error is the caller's (HTTP 400) rather than the server's.
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            SignError::CurveMismatch { .. } | SignError::InvalidKey | SignError::Signing(_)
        )
    }
}

/// `HASH_FUNCTION_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// `HASH_FUNCTION_NO_OP`: the payload is already a digest.
    NoOp,
    /// `HASH_FUNCTION_SHA256`.
    Sha256,
    /// `HASH_FUNCTION_KECCAK256`.
    Keccak256,
    /// `HASH_FUNCTION_NOT_APPLICABLE`: the scheme hashes internally (ed25519).
    NotApplicable,
}

impl HashFunction {
    /// Parse a Turnkey wire name.
    pub fn parse(s: &str) -> Result<Self, SignError> {
        match s {
            "HASH_FUNCTION_NO_OP" => Ok(HashFunction::NoOp),
            "HASH_FUNCTION_SHA256" => Ok(HashFunction::Sha256),
            "HASH_FUNCTION_KECCAK256" => Ok(HashFunction::Keccak256),
            "HASH_FUNCTION_NOT_APPLICABLE" => Ok(HashFunction::NotApplicable),
            other => Err(SignError::HashFunction(format!(
                "unknown value {other:?}, expected HASH_FUNCTION_NO_OP, HASH_FUNCTION_SHA256, HASH_FUNCTION_KECCAK256 or HASH_FUNCTION_NOT_APPLICABLE"
            ))),
        }
    }

    /// The Turnkey wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HashFunction::NoOp => "HASH_FUNCTION_NO_OP",
            HashFunction::Sha256 => "HASH_FUNCTION_SHA256",
            HashFunction::Keccak256 => "HASH_FUNCTION_KECCAK256",
            HashFunction::NotApplicable => "HASH_FUNCTION_NOT_APPLICABLE",
        }
    }
}

/// `PAYLOAD_ENCODING_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadEncoding {
    /// `PAYLOAD_ENCODING_HEXADECIMAL`.
    Hexadecimal,
    /// `PAYLOAD_ENCODING_TEXT_UTF8`.
    TextUtf8,
    /// `PAYLOAD_ENCODING_EIP712`.
    Eip712,
}

impl PayloadEncoding {
    /// Parse a Turnkey wire name. `PAYLOAD_ENCODING_EIP7702_AUTHORIZATION` is a valid Turnkey
    /// value quorate does not support: [`SignError::Unsupported`].
    pub fn parse(s: &str) -> Result<Self, SignError> {
        match s {
            "PAYLOAD_ENCODING_HEXADECIMAL" => Ok(PayloadEncoding::Hexadecimal),
            "PAYLOAD_ENCODING_TEXT_UTF8" => Ok(PayloadEncoding::TextUtf8),
            "PAYLOAD_ENCODING_EIP712" => Ok(PayloadEncoding::Eip712),
            "PAYLOAD_ENCODING_EIP7702_AUTHORIZATION" => Err(SignError::Unsupported(
                "encoding: PAYLOAD_ENCODING_EIP7702_AUTHORIZATION is not supported by this server; sign the authorization hash with PAYLOAD_ENCODING_HEXADECIMAL and HASH_FUNCTION_NO_OP".into(),
            )),
            other => Err(SignError::Encoding(format!(
                "unknown value {other:?}, expected PAYLOAD_ENCODING_HEXADECIMAL, PAYLOAD_ENCODING_TEXT_UTF8 or PAYLOAD_ENCODING_EIP712"
            ))),
        }
    }

    /// The Turnkey wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadEncoding::Hexadecimal => "PAYLOAD_ENCODING_HEXADECIMAL",
            PayloadEncoding::TextUtf8 => "PAYLOAD_ENCODING_TEXT_UTF8",
            PayloadEncoding::Eip712 => "PAYLOAD_ENCODING_EIP712",
        }
    }
}

/// A signature as Turnkey returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawSignature {
    /// 64 lowercase hex digits.
    pub r: String,
    /// 64 lowercase hex digits.
    pub s: String,
    /// `"00"` or `"01"` (secp256k1 recovery id; always `"00"` for ed25519).
    pub v: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Inner {
    Digest([u8; 32]),
    Message(Vec<u8>),
}

/// A validated payload ready to sign: a 32-byte digest (secp256k1) or the message (ed25519).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    curve: Curve,
    inner: Inner,
    typed_data: Option<Box<TypedData>>,
}

impl Prepared {
    /// The curve it was prepared for.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The bytes the key signs: the digest (secp256k1) or the message (ed25519).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.inner {
            Inner::Digest(d) => d,
            Inner::Message(m) => m,
        }
    }

    /// The digest, for secp256k1.
    pub fn digest(&self) -> Option<&[u8; 32]> {
        match &self.inner {
            Inner::Digest(d) => Some(d),
            Inner::Message(_) => None,
        }
    }

    /// The parsed typed data, for `PAYLOAD_ENCODING_EIP712` (for policy evaluation).
    pub fn typed_data(&self) -> Option<&TypedData> {
        self.typed_data.as_deref()
    }
}

fn decode_payload(payload: &str, encoding: PayloadEncoding) -> Result<Vec<u8>, SignError> {
    match encoding {
        PayloadEncoding::Hexadecimal => {
            let h = payload
                .strip_prefix("0x")
                .or_else(|| payload.strip_prefix("0X"))
                .unwrap_or(payload);
            if h.len() > 2 * MAX_PAYLOAD_BYTES {
                return Err(SignError::PayloadTooLarge {
                    max: MAX_PAYLOAD_BYTES,
                    got: h.len() / 2,
                });
            }
            if h.len() % 2 != 0 {
                return Err(SignError::Payload(format!(
                    "PAYLOAD_ENCODING_HEXADECIMAL needs an even number of hex digits, got {}",
                    h.len()
                )));
            }
            hex::decode(h).map_err(|_| {
                SignError::Payload(
                    "PAYLOAD_ENCODING_HEXADECIMAL payload is not valid hex (0-9, a-f, optional 0x prefix)"
                        .into(),
                )
            })
        }
        PayloadEncoding::TextUtf8 | PayloadEncoding::Eip712 => {
            if payload.len() > MAX_PAYLOAD_BYTES {
                return Err(SignError::PayloadTooLarge {
                    max: MAX_PAYLOAD_BYTES,
                    got: payload.len(),
                });
            }
            Ok(payload.as_bytes().to_vec())
        }
    }
}

/// Validate and hash a payload without any key, so bad input is refused before secrets load.
pub fn prepare(
    curve: Curve,
    payload: &str,
    encoding: PayloadEncoding,
    hash: HashFunction,
) -> Result<Prepared, SignError> {
    let bytes = decode_payload(payload, encoding)?;
    if encoding == PayloadEncoding::Eip712 {
        if curve != Curve::Secp256k1 {
            return Err(SignError::Encoding(
                "PAYLOAD_ENCODING_EIP712 needs a secp256k1 (Ethereum) key".into(),
            ));
        }
        if !matches!(hash, HashFunction::NoOp | HashFunction::Keccak256) {
            return Err(SignError::HashFunction(format!(
                "{} cannot be used with PAYLOAD_ENCODING_EIP712 (the EIP-712 hash is implied); use HASH_FUNCTION_NO_OP",
                hash.as_str()
            )));
        }
        let typed = TypedData::parse(payload)
            .map_err(|e| SignError::Payload(format!("invalid EIP-712 typed data: {e}")))?;
        let digest = typed
            .signing_hash()
            .map_err(|e| SignError::Payload(format!("invalid EIP-712 typed data: {e}")))?;
        return Ok(Prepared {
            curve,
            inner: Inner::Digest(digest),
            typed_data: Some(Box::new(typed)),
        });
    }
    let inner = match curve {
        Curve::Secp256k1 => Inner::Digest(match hash {
            HashFunction::NoOp => bytes.as_slice().try_into().map_err(|_| {
                SignError::Payload(format!(
                    "HASH_FUNCTION_NO_OP needs a 32-byte digest for a secp256k1 key, got {} bytes (or choose HASH_FUNCTION_KECCAK256 / HASH_FUNCTION_SHA256 to hash the payload)",
                    bytes.len()
                ))
            })?,
            HashFunction::Sha256 => Sha256::digest(&bytes).into(),
            HashFunction::Keccak256 => Keccak256::digest(&bytes).into(),
            HashFunction::NotApplicable => {
                return Err(SignError::HashFunction(
                    "HASH_FUNCTION_NOT_APPLICABLE is for ed25519 keys; a secp256k1 key needs HASH_FUNCTION_NO_OP (32-byte digest), HASH_FUNCTION_KECCAK256 or HASH_FUNCTION_SHA256".into(),
                ))
            }
        }),
        Curve::Ed25519 => match hash {
            HashFunction::NotApplicable | HashFunction::NoOp => Inner::Message(bytes),
            other => {
                return Err(SignError::HashFunction(format!(
                    "{} cannot be used with an ed25519 key (it signs the message itself); use HASH_FUNCTION_NOT_APPLICABLE",
                    other.as_str()
                )))
            }
        },
    };
    Ok(Prepared {
        curve,
        inner,
        typed_data: None,
    })
}

/// Sign a prepared payload. secp256k1: RFC 6979 deterministic ECDSA, low-S, with recovery id.
/// ed25519: RFC 8032 over the message.
pub fn sign_prepared(
    curve: Curve,
    private_key: &[u8; 32],
    prepared: &Prepared,
) -> Result<RawSignature, SignError> {
    if curve != prepared.curve {
        return Err(SignError::CurveMismatch {
            prepared: prepared.curve,
            key: curve,
        });
    }
    match (&prepared.inner, curve) {
        (Inner::Digest(digest), Curve::Secp256k1) => {
            let (rs, recid) =
                crate::secp::sign_recoverable(private_key, digest).ok_or(SignError::InvalidKey)?;
            // Recovery ids 2 and 3 (r overflowed the field) cannot be expressed as v.
            if recid > 1 {
                return Err(SignError::Signing(
                    "signature r overflowed the field (cannot be encoded)".into(),
                ));
            }
            Ok(RawSignature {
                r: hex::encode(&rs[..32]),
                s: hex::encode(&rs[32..]),
                v: if recid == 1 { "01" } else { "00" }.into(),
            })
        }
        (Inner::Message(msg), Curve::Ed25519) => {
            let key = ed25519_dalek::SigningKey::from_bytes(private_key);
            let sig = key.sign(msg).to_bytes();
            Ok(RawSignature {
                r: hex::encode(&sig[..32]),
                s: hex::encode(&sig[32..]),
                v: "00".into(),
            })
        }
        _ => Err(SignError::CurveMismatch {
            prepared: prepared.curve,
            key: curve,
        }),
    }
}

/// Verify an ECDSA secp256k1 signature over a 32-byte digest. `public_key_sec1` is compressed
/// or uncompressed SEC1; `signature_der` is strict DER. High-S signatures are accepted (plain
/// ECDSA, as Wycheproof's `ecdsa_secp256k1_sha256` expects); quorate only ever produces low-S.
pub fn verify_secp256k1(public_key_sec1: &[u8], digest: &[u8; 32], signature_der: &[u8]) -> bool {
    K256Signature::from_der(signature_der)
        .is_ok_and(|sig| verify_k256(public_key_sec1, digest, sig))
}

/// As [`verify_secp256k1`], with the raw 64-byte `r ‖ s` signature.
pub fn verify_secp256k1_rs(public_key_sec1: &[u8], digest: &[u8; 32], rs: &[u8; 64]) -> bool {
    K256Signature::from_slice(rs).is_ok_and(|sig| verify_k256(public_key_sec1, digest, sig))
}

fn verify_k256(public_key_sec1: &[u8], digest: &[u8; 32], sig: K256Signature) -> bool {
    let Ok(key) = VerifyingKey::from_sec1_bytes(public_key_sec1) else {
        return false;
    };
    let sig = sig.normalize_s().unwrap_or(sig);
    key.verify_prehash(digest, &sig).is_ok()
}

/// Verify an ed25519 signature (RFC 8032, strict: canonical `S`, no small-order keys or `R`).
pub fn verify_ed25519(public_key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(public_key) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    key.verify_strict(msg, &sig).is_ok()
}

/// Recover the uncompressed (65-byte SEC1) public key from a digest and a [`RawSignature`]-style
/// `r`, `s`, recovery id. Used to cross-check signatures without the key.
pub fn recover_secp256k1(
    digest: &[u8; 32],
    r: &[u8; 32],
    s: &[u8; 32],
    recid: u8,
) -> Option<Vec<u8>> {
    let mut rs = [0u8; 64];
    rs[..32].copy_from_slice(r);
    rs[32..].copy_from_slice(s);
    let sig = K256Signature::from_slice(&rs).ok()?;
    let id = k256::ecdsa::RecoveryId::from_byte(recid)?;
    let key = VerifyingKey::recover_from_prehash(digest, &sig, id).ok()?;
    Some(key.to_encoded_point(false).as_bytes().to_vec())
}

/// The Ethereum address (20 bytes) of an uncompressed or compressed SEC1 public key.
pub fn eth_address(public_key_sec1: &[u8]) -> Option<[u8; 20]> {
    let key = VerifyingKey::from_sec1_bytes(public_key_sec1).ok()?;
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    Some(out)
}
