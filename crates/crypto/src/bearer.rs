//! Bearer API keys of the management API (`/v1`): `{prefix}_{live|test}_{body}{checksum}`.
//!
//! `body` is 30 base62 characters from the OS random source (178 bits); `checksum` is the
//! CRC-32 (IEEE) of `{prefix}_{env}_{body}` in 6 base62 characters, so secret scanners and
//! the server recognise a well-formed key (and reject typos) without a lookup. Keys are stored
//! only as [`hash`] (SHA-256: at this entropy a slow hash buys nothing), compared in constant
//! time. See docs/design/management-api.md §4.

use rand_core::{OsRng, RngCore};
use std::fmt;
use zeroize::Zeroizing;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Why a string is not a well-formed key, or a prefix not a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    #[error("not a quorate API key (expected `<prefix>_live_…` or `<prefix>_test_…`)")]
    Malformed,
    #[error("the API key's checksum does not match (mistyped or truncated?)")]
    Checksum,
    #[error("a key prefix must be 2 to 16 lowercase letters or digits, starting with a letter")]
    BadPrefix,
}

/// A freshly minted key. Shown once; zeroized on drop; `Debug` is redacted.
pub struct BearerKey(Zeroizing<String>);

impl BearerKey {
    /// The key as the caller must present it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first characters, safe to show again (`sk_live_AbCd…`).
    pub fn preview(&self) -> String {
        preview(&self.0)
    }
}

impl fmt::Debug for BearerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerKey({}…)", preview(&self.0))
    }
}

/// The parts of a well-formed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub prefix: &'a str,
    /// `live` or `test`.
    pub live: bool,
}

fn valid_prefix(p: &str) -> bool {
    let b = p.as_bytes();
    (2..=16).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn base62_checksum(s: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = CRC.checksum(s.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Mints a key with `prefix` (e.g. `sk`, `pk`, `capy`) for the live or test environment.
pub fn generate(prefix: &str, live: bool) -> Result<BearerKey, BearerError> {
    if !valid_prefix(prefix) {
        return Err(BearerError::BadPrefix);
    }
    let env = if live { "live" } else { "test" };
    let mut key = Zeroizing::new(String::with_capacity(
        prefix.len() + 6 + BODY_LEN + CHECKSUM_LEN,
    ));
    key.push_str(prefix);
    key.push('_');
    key.push_str(env);
    key.push('_');
    let mut filled = 0;
    let mut buf = Zeroizing::new([0u8; 64]);
    while filled < BODY_LEN {
        OsRng.fill_bytes(&mut buf[..]);
        // Rejection sampling keeps every character uniform (248 = 4·62).
        for &b in buf.iter().filter(|&&b| b < 248) {
            if filled == BODY_LEN {
                break;
            }
            key.push(char::from(ALPHABET[usize::from(b % 62)]));
            filled += 1;
        }
    }
    let checksum = base62_checksum(&key);
    key.extend(checksum.iter().map(|&c| char::from(c)));
    Ok(BearerKey(key))
}

/// Checks the shape and checksum of a presented key (no lookup).
pub fn parse(key: &str) -> Result<Parsed<'_>, BearerError> {
    let (prefix, rest) = key.split_once('_').ok_or(BearerError::Malformed)?;
    let (env, tail) = rest.split_once('_').ok_or(BearerError::Malformed)?;
    let live = match env {
        "live" => true,
        "test" => false,
        _ => return Err(BearerError::Malformed),
    };
    if !valid_prefix(prefix)
        || tail.len() != BODY_LEN + CHECKSUM_LEN
        || !tail.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(BearerError::Malformed);
    }
    let (signed, checksum) = key.split_at(key.len() - CHECKSUM_LEN);
    if base62_checksum(signed) != checksum.as_bytes() {
        return Err(BearerError::Checksum);
    }
    Ok(Parsed { prefix, live })
}

/// What the store keeps: lowercase hex SHA-256 of the whole key.
pub fn hash(key: &str) -> String {
    crate::sha256_hex(key.as_bytes())
}

/// `{prefix}_{env}_` and the first 4 body characters.
pub fn preview(key: &str) -> String {
    let cut = key
        .match_indices('_')
        .nth(1)
        .map_or(0, |(i, _)| i + 1)
        .saturating_add(4)
        .min(key.len());
    key.get(..cut).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        // docs/design/management-api.md §4 (CRC-32 checked with Python's zlib).
        for (k, prefix, live) in [
            ("sk_live_0123456789ABCDEFGHIJabcdefghij4HNuAd", "sk", true),
            ("pk_test_0123456789ABCDEFGHIJabcdefghij1PgaV5", "pk", false),
            (
                "capy_live_0123456789ABCDEFGHIJabcdefghij4XDztG",
                "capy",
                true,
            ),
        ] {
            assert_eq!(parse(k), Ok(Parsed { prefix, live }));
        }
    }

    #[test]
    fn generated_keys_parse_and_differ() {
        let a = generate("sk", true).unwrap();
        let b = generate("sk", true).unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("sk_live_"));
        assert_eq!(a.expose().len(), "sk_live_".len() + 36);
        assert!(parse(a.expose()).is_ok());
        assert!(!format!("{a:?}").contains(&a.expose()[12..]));
        assert_eq!(a.preview().len(), "sk_live_".len() + 4);
        let t = generate("capy", false).unwrap();
        assert_eq!(
            parse(t.expose()).unwrap(),
            Parsed {
                prefix: "capy",
                live: false
            }
        );
    }

    #[test]
    fn typos_and_garbage_are_rejected() {
        let k = "sk_live_0123456789ABCDEFGHIJabcdefghij4HNuAd";
        // One character changed anywhere: the checksum catches it.
        let mut typo = k.to_string().into_bytes();
        typo[10] = b'X';
        assert_eq!(
            parse(std::str::from_utf8(&typo).unwrap()),
            Err(BearerError::Checksum)
        );
        assert_eq!(
            parse("sk_prod_0123456789ABCDEFGHIJabcdefghij4HNuAd"),
            Err(BearerError::Malformed)
        );
        assert_eq!(
            parse("Sk_live_0123456789ABCDEFGHIJabcdefghij4HNuAd"),
            Err(BearerError::Malformed)
        );
        assert_eq!(parse(&k[..k.len() - 1]), Err(BearerError::Malformed));
        assert_eq!(parse(""), Err(BearerError::Malformed));
        assert_eq!(parse("eyJhbGciOi.x.y"), Err(BearerError::Malformed));
        assert!(generate("S", true).is_err());
        assert!(generate("toolongprefix1234", true).is_err());
        assert_eq!(hash(k).len(), 64);
    }
}
