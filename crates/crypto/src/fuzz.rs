//! Fuzz targets for the parsers that take untrusted input. Each target must never panic on any
//! input; each also checks invariants on what it accepts and panics (on purpose) when one
//! breaks, so a fuzzer reports it:
//!
//! - Ethereum: an accepted transaction signs, and the signed encoding is one canonical RLP
//!   list with the body's fields plus `v, r, s`.
//! - Solana: an accepted transaction re-serializes to exactly its input, and signing with a
//!   key that is a required signer yields a transaction that parses to the same message.
//! - Raw payloads / EIP-712: an accepted payload signs, and the signature verifies.
//!
//! Run on stable with `cargo run --release -p xtask -- fuzz` (a mutation fuzzer seeded with
//! [`seeds`]); `fuzz/` holds cargo-fuzz targets for nightly users.
#![allow(clippy::panic)]

use serde_json::Value;

use crate::hd::Curve;
use crate::sign::{self, HashFunction, PayloadEncoding};
use crate::tx::{self, eth, solana, TransactionType};

/// Fuzz targets by name.
pub const TARGETS: &[&str] = &["eth", "solana", "raw_payload", "eip712"];

/// The secp256k1 key the targets sign with.
pub const SECP256K1_KEY: [u8; 32] = [0x46; 32];

/// The ed25519 key the Solana target signs with: the signer of `tests/vectors/solana_tx.json`
/// (`seed[i] = 1 + 7 i`), so seeds built from those vectors reach the signing path.
pub fn ed25519_key() -> [u8; 32] {
    std::array::from_fn(|i| (1 + 7 * i) as u8)
}

fn ed25519_public() -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&ed25519_key())
        .verifying_key()
        .to_bytes()
}

/// Run one target by name on `data`. Returns whether the input was accepted, or `None` for an
/// unknown target.
pub fn run(target: &str, data: &[u8]) -> Option<bool> {
    Some(match target {
        "eth" => fuzz_eth(data),
        "solana" => fuzz_solana(data),
        "raw_payload" => fuzz_raw_payload(data),
        "eip712" => fuzz_eip712(data),
        _ => return None,
    })
}

/// Ethereum transaction parsing (raw bytes, and the input read as a hex string) and signing.
pub fn fuzz_eth(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let _ = tx::parse(TransactionType::Ethereum, &text);
    let Ok(parsed) = eth::parse_bytes(data) else {
        return false;
    };
    let signed = match parsed.sign(&SECP256K1_KEY) {
        Ok(s) => s,
        Err(e) => panic!("accepted transaction failed to sign: {e}"),
    };
    let body = if parsed.tx_type == eth::EthTxType::Legacy {
        &signed[..]
    } else {
        assert_eq!(signed.first(), Some(&parsed.tx_type.type_byte()));
        &signed[1..]
    };
    let item = match eth::rlp::decode_exact(body) {
        Ok(i) => i,
        Err(e) => panic!("signed transaction is not one RLP item: {e}"),
    };
    assert!(item.is_list, "signed transaction is not an RLP list");
    let items = match eth::rlp::items(item.payload) {
        Ok(i) => i,
        Err(e) => panic!("signed transaction list is malformed: {e}"),
    };
    let expected = match parsed.tx_type {
        eth::EthTxType::Legacy => 9,
        eth::EthTxType::Eip2930 => 11,
        eth::EthTxType::Eip1559 => 12,
        eth::EthTxType::Eip4844 => 14,
        eth::EthTxType::Eip7702 => 13,
    };
    assert_eq!(items.len(), expected, "signed transaction field count");
    true
}

/// Solana transaction parsing, exact re-serialization, and signing.
pub fn fuzz_solana(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let _ = tx::parse(TransactionType::Solana, &text);
    let Ok(parsed) = solana::parse_bytes(data) else {
        return false;
    };
    assert_eq!(
        parsed.serialize(),
        data,
        "re-serialization differs from input"
    );
    let public = ed25519_public();
    match parsed.sign(&ed25519_key(), &public) {
        Ok(signed) => {
            let again = match solana::parse_bytes(&signed) {
                Ok(t) => t,
                Err(e) => panic!("signed transaction does not parse: {e}"),
            };
            assert_eq!(again.message_bytes(), parsed.message_bytes());
            let slot = again
                .signer_keys()
                .iter()
                .position(|k| *k == public)
                .unwrap_or_else(|| panic!("signer vanished"));
            assert!(sign::verify_ed25519(
                &public,
                again.message_bytes(),
                &again.signatures[slot]
            ));
        }
        Err(tx::TxError::NotASigner) => {}
        Err(e) => panic!("unexpected signing error: {e}"),
    }
    true
}

/// The first byte picks curve, encoding and hash function; the rest is the payload string.
pub fn raw_payload_selector(curve: Curve, encoding: PayloadEncoding, hash: HashFunction) -> u8 {
    let c = match curve {
        Curve::Secp256k1 => 0,
        Curve::Ed25519 => 1,
    };
    let e = match encoding {
        PayloadEncoding::Hexadecimal => 0,
        PayloadEncoding::TextUtf8 => 1,
        PayloadEncoding::Eip712 => 2,
    };
    let h = match hash {
        HashFunction::NoOp => 0,
        HashFunction::Sha256 => 1,
        HashFunction::Keccak256 => 2,
        HashFunction::NotApplicable => 3,
    };
    c | (e << 1) | (h << 3)
}

/// Raw payload preparation and signing; accepted payloads must sign and verify.
pub fn fuzz_raw_payload(data: &[u8]) -> bool {
    let Some((&sel, rest)) = data.split_first() else {
        return false;
    };
    let curve = if sel & 1 == 0 {
        Curve::Secp256k1
    } else {
        Curve::Ed25519
    };
    let encoding = match (sel >> 1) & 3 {
        0 | 3 => PayloadEncoding::Hexadecimal,
        1 => PayloadEncoding::TextUtf8,
        _ => PayloadEncoding::Eip712,
    };
    let hash = match (sel >> 3) & 3 {
        0 => HashFunction::NoOp,
        1 => HashFunction::Sha256,
        2 => HashFunction::Keccak256,
        _ => HashFunction::NotApplicable,
    };
    let payload = String::from_utf8_lossy(rest);
    let Ok(prepared) = sign::prepare(curve, &payload, encoding, hash) else {
        return false;
    };
    let key = match curve {
        Curve::Secp256k1 => SECP256K1_KEY,
        Curve::Ed25519 => ed25519_key(),
    };
    let sig = match sign::sign_prepared(curve, &key, &prepared) {
        Ok(s) => s,
        Err(e) => panic!("accepted payload failed to sign: {e}"),
    };
    let raw = match hex::decode(format!("{}{}", sig.r, sig.s)) {
        Ok(r) => r,
        Err(e) => panic!("signature is not hex: {e}"),
    };
    let ok = match curve {
        Curve::Secp256k1 => {
            let public = k256::ecdsa::SigningKey::from_bytes((&key).into())
                .map(|k| k.verifying_key().to_encoded_point(true).as_bytes().to_vec())
                .unwrap_or_default();
            let digest = prepared.digest().copied().unwrap_or_default();
            let rs: [u8; 64] = raw
                .as_slice()
                .try_into()
                .unwrap_or_else(|_| panic!("signature is not 64 bytes"));
            sign::verify_secp256k1_rs(&public, &digest, &rs)
        }
        Curve::Ed25519 => sign::verify_ed25519(&ed25519_public(), prepared.as_bytes(), &raw),
    };
    assert!(ok, "signature does not verify");
    true
}

/// EIP-712 typed-data parsing and hashing.
pub fn fuzz_eip712(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    match crate::eip712::TypedData::parse(&text) {
        Ok(t) => t.signing_hash().is_ok(),
        Err(_) => false,
    }
}

fn vector_strings(json: &str, field: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(json) else {
        return Vec::new();
    };
    v["vectors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c[field].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn hex_seeds(json: &str) -> Vec<Vec<u8>> {
    vector_strings(json, "unsigned")
        .iter()
        .filter_map(|h| hex::decode(h).ok())
        .filter(|b| !b.is_empty())
        .collect()
}

/// The seed corpus of a target: valid encodings from the known-answer vectors.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "eth" => [
            include_str!("../../../tests/vectors/eip155.json"),
            include_str!("../../../tests/vectors/eip2930.json"),
            include_str!("../../../tests/vectors/eip1559.json"),
            include_str!("../../../tests/vectors/eip4844_eip7702.json"),
        ]
        .iter()
        .flat_map(|j| hex_seeds(j))
        .collect(),
        "solana" => hex_seeds(include_str!("../../../tests/vectors/solana_tx.json")),
        "eip712" => {
            let j = include_str!("../../../tests/vectors/eip712.json");
            let mut out: Vec<Vec<u8>> = vector_strings(j, "payloadViem")
                .into_iter()
                .map(String::into_bytes)
                .collect();
            out.extend(
                vector_strings(j, "payloadEthers")
                    .into_iter()
                    .map(String::into_bytes),
            );
            out
        }
        "raw_payload" => {
            let mut out = Vec::new();
            let raw = include_str!("../../../tests/vectors/raw_payload.json");
            if let Ok(v) = serde_json::from_str::<Value>(raw) {
                for c in v["vectors"].as_array().into_iter().flatten() {
                    let parsed = (
                        c["curve"].as_str().and_then(|s| Curve::parse(s).ok()),
                        c["encoding"]
                            .as_str()
                            .and_then(|s| PayloadEncoding::parse(s).ok()),
                        c["hashFunction"]
                            .as_str()
                            .and_then(|s| HashFunction::parse(s).ok()),
                        c["payload"].as_str(),
                    );
                    if let (Some(curve), Some(enc), Some(hash), Some(p)) = parsed {
                        let mut seed = vec![raw_payload_selector(curve, enc, hash)];
                        seed.extend_from_slice(p.as_bytes());
                        out.push(seed);
                    }
                }
            }
            let sel = raw_payload_selector(
                Curve::Secp256k1,
                PayloadEncoding::Eip712,
                HashFunction::NoOp,
            );
            for p in seeds("eip712") {
                let mut seed = vec![sel];
                seed.extend_from_slice(&p);
                out.push(seed);
            }
            out
        }
        _ => Vec::new(),
    }
}
