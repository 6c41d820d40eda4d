//! Envelope encryption of key material at rest: a master key wraps per-organization data keys,
//! data keys seal records, both with AES-256-GCM.
//!
//! Sealed format (both [`MasterKey::wrap`] and [`DataKey::seal`]):
//! `0x01 (format version) ‖ nonce (12 random bytes) ‖ AES-256-GCM ciphertext ‖ tag (16 bytes)`.
//! The caller's AAD binds a ciphertext to its place (organization id, record id): moving a
//! ciphertext to another row makes it fail to open. Use [`aad`] to build unambiguous AAD.
//!
//! Random 96-bit nonces are safe for up to about 2^32 messages per key; a data key per
//! organization keeps every key far below that.
//!
//! Honest scope: this protects a copied database or backup without the master key. It is not an
//! enclave: the running server holds the master key in memory.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rand_core::{OsRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of master and data keys.
pub const KEY_LEN: usize = 32;
/// Length of the random nonce prepended to every sealed value.
pub const NONCE_LEN: usize = 12;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;
/// First byte of every sealed value.
pub const FORMAT_V1: u8 = 1;
/// Overhead of a sealed value over its plaintext.
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Constant MAC'd by [`MasterKey::fingerprint`].
const FINGERPRINT_LABEL: &[u8] = b"quorate/master-key/check-value/v1";

/// Errors from envelope encryption. Messages never contain key or plaintext bytes.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Key material had the wrong length.
    #[error("key must be {KEY_LEN} bytes")]
    InvalidKeyLength,
    /// A hex-encoded key did not decode.
    #[error("key is not valid hex")]
    InvalidHex,
    /// The sealed value is too short or has an unknown format byte.
    #[error("malformed sealed value")]
    Malformed,
    /// Authentication failed: wrong key, tampered ciphertext or mismatched AAD.
    #[error("decryption failed (wrong key, tampered data or mismatched aad)")]
    Decrypt,
    /// Encryption failed (plaintext too long).
    #[error("encryption failed")]
    Encrypt,
    /// Reading or writing the key file failed.
    #[error("key file `{path}`: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Unambiguous AAD from parts: each part is length-prefixed (u32 big-endian), so
/// `["ab", "c"]` and `["a", "bc"]` differ.
pub fn aad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn seal_with(key: &[u8; KEY_LEN], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| EnvelopeError::Encrypt)?;
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn open_with(
    key: &[u8; KEY_LEN],
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    if sealed.len() < OVERHEAD {
        return Err(EnvelopeError::Malformed);
    }
    let (version, rest) = sealed.split_at(1);
    if version != [FORMAT_V1] {
        return Err(EnvelopeError::Malformed);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| EnvelopeError::Malformed)?;
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::Decrypt)
}

fn random_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    OsRng.fill_bytes(&mut key);
    key
}

fn key_from_slice(bytes: &[u8]) -> Result<[u8; KEY_LEN], EnvelopeError> {
    <[u8; KEY_LEN]>::try_from(bytes).map_err(|_| EnvelopeError::InvalidKeyLength)
}

/// The master key: wraps data keys. Zeroized on drop, redacted `Debug`, no `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Self {
        Self(random_key())
    }

    /// A master key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        key_from_slice(bytes).map(Self)
    }

    /// A master key from 64 hex characters (surrounding whitespace ignored), e.g. an env var.
    pub fn from_hex(s: &str) -> Result<Self, EnvelopeError> {
        let bytes = Zeroizing::new(hex::decode(s.trim()).map_err(|_| EnvelopeError::InvalidHex)?);
        Self::from_bytes(&bytes)
    }

    /// Lowercase hex of the key, as written to key files. Handle with care.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// Load the key file at `path` (64 hex characters), or create it with a new random key.
    ///
    /// A new file is created with `create_new` (never overwriting) and mode 0600 on Unix. If
    /// another process creates it first, that key is loaded.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self, EnvelopeError> {
        let path = path.as_ref();
        let io_err = |source| EnvelopeError::Io {
            path: path.to_path_buf(),
            source,
        };
        match Self::load(path) {
            Ok(key) => return Ok(key),
            Err(EnvelopeError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Self::load(path),
            Err(e) => return Err(io_err(e)),
        };
        let mut line = key.to_hex();
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        Ok(key)
    }

    /// Load an existing key file (64 hex characters, surrounding whitespace ignored).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, EnvelopeError> {
        let path = path.as_ref();
        let mut text = Zeroizing::new(String::new());
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|source| EnvelopeError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Self::from_hex(&text)
    }

    /// A key check value: lowercase hex of HMAC-SHA256(key, a fixed label).
    ///
    /// Store it beside the wrapped data keys; on start, a different value means the store was
    /// opened with the wrong master key, before any unwrap is attempted. It does not leak the key:
    /// HMAC-SHA256 is a PRF, so its output on a public constant reveals nothing about a uniformly
    /// random 256-bit key except the ability to test a guess, and guessing 2^256 keys is
    /// infeasible. (It is not safe for low-entropy secrets such as passwords.)
    pub fn fingerprint(&self) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0);
        hex::encode(ring::hmac::sign(&key, FINGERPRINT_LABEL).as_ref())
    }

    /// Constant-time check of a stored [`fingerprint`](Self::fingerprint).
    pub fn matches_fingerprint(&self, stored: &str) -> bool {
        let ours = self.fingerprint();
        let stored = stored.trim().to_ascii_lowercase();
        ours.len() == stored.len() && bool::from(ours.as_bytes().ct_eq(stored.as_bytes()))
    }

    /// Wrap a data key; `aad` should bind it to its owner (e.g. `aad(&[b"dek", org_id])`).
    pub fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        seal_with(&self.0, &data_key.0, aad)
    }

    /// Seal a server-wide secret (e.g. the bundle signer key) directly under the master key.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        seal_with(&self.0, plaintext, aad)
    }

    /// Open a value sealed by [`MasterKey::seal`] with the same AAD.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        open_with(&self.0, sealed, aad)
    }

    /// Unwrap a data key wrapped with the same master key and AAD.
    pub fn unwrap(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, EnvelopeError> {
        let bytes = open_with(&self.0, wrapped, aad)?;
        key_from_slice(&bytes).map(DataKey)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// A per-organization data key: seals records. Zeroized on drop, redacted `Debug`, no `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Self {
        Self(random_key())
    }

    /// Seal `plaintext`; `aad` should bind it to its record (e.g. `aad(&[org_id, record_id])`).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        seal_with(&self.0, plaintext, aad)
    }

    /// Open a value sealed with this key and the same AAD.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        open_with(&self.0, sealed, aad)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_is_length_prefixed() {
        assert_ne!(aad(&[b"ab", b"c"]), aad(&[b"a", b"bc"]));
        assert_eq!(aad(&[b"x"]), vec![0, 0, 0, 1, b'x']);
    }

    #[test]
    fn sealed_layout() {
        let dk = DataKey::generate();
        let sealed = dk.seal(b"hello", b"a").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 5);
        assert_eq!(sealed[0], FORMAT_V1);
        let mut wrong_version = sealed.clone();
        wrong_version[0] = 2;
        assert!(matches!(
            dk.open(&wrong_version, b"a"),
            Err(EnvelopeError::Malformed)
        ));
        assert!(matches!(
            dk.open(&sealed[..OVERHEAD - 1], b"a"),
            Err(EnvelopeError::Malformed)
        ));
    }
}
