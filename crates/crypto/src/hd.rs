//! Hierarchical deterministic wallets: BIP-39 mnemonics, BIP-32 (secp256k1) and SLIP-10 (ed25519) derivation.
//!
//! Every secret (mnemonic, seed, private key) lives in a zeroizing container, prints as
//! `[redacted]` and is never serializable.

use std::fmt;

use bip32::{ChildNumber, ExtendedKey, ExtendedKeyAttrs, Prefix};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use ripemd::Ripemd160;
use sha2::Sha512;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Bit that marks a hardened child index.
pub const HARDENED: u32 = 0x8000_0000;

/// Errors from mnemonic handling and key derivation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HdError {
    /// Word count outside 12, 15, 18, 21, 24.
    #[error("mnemonic must have 12, 15, 18, 21 or 24 words, got {0}")]
    InvalidWordCount(usize),
    /// Entropy length is not 16, 20, 24, 28 or 32 bytes.
    #[error("mnemonic entropy must be 16, 20, 24, 28 or 32 bytes, got {0}")]
    InvalidEntropyLength(usize),
    /// Word number `n` (1-based) is not in the English BIP-39 list.
    #[error("mnemonic word {0} is not in the bip39 english word list")]
    UnknownWord(usize),
    /// The checksum bits do not match.
    #[error("mnemonic checksum is invalid")]
    InvalidChecksum,
    /// Seed length outside 16..=64 bytes.
    #[error("seed must be between 16 and 64 bytes, got {0}")]
    InvalidSeedLength(usize),
    /// Malformed derivation path.
    #[error("invalid derivation path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Ed25519 (SLIP-10) only supports hardened children.
    #[error(
        "ed25519 derivation supports hardened path components only (index {0} is not hardened)"
    )]
    NonHardenedEd25519(u32),
    /// Unknown curve name.
    #[error("unknown curve {0:?}")]
    UnknownCurve(String),
    /// The derivation produced an invalid key (astronomically unlikely).
    #[error("key derivation failed: {0}")]
    Derivation(String),
    /// The operating system random source failed.
    #[error("random number generator failed")]
    Rng,
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, HdError>;

/// Curves a wallet account can be derived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// secp256k1, BIP-32 derivation.
    Secp256k1,
    /// Ed25519, SLIP-10 derivation (hardened only).
    Ed25519,
}

impl Curve {
    /// Turnkey wire name (`CURVE_SECP256K1`, `CURVE_ED25519`).
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::Secp256k1 => "CURVE_SECP256K1",
            Curve::Ed25519 => "CURVE_ED25519",
        }
    }

    /// Parse a Turnkey wire name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "CURVE_SECP256K1" => Ok(Curve::Secp256k1),
            "CURVE_ED25519" => Ok(Curve::Ed25519),
            other => Err(HdError::UnknownCurve(other.to_owned())),
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A BIP-39 mnemonic (English word list). Wiped from memory on drop.
pub struct Mnemonic {
    inner: bip39::Mnemonic,
}

fn map_bip39(err: bip39::Error) -> HdError {
    match err {
        bip39::Error::BadWordCount(n) => HdError::InvalidWordCount(n),
        bip39::Error::UnknownWord(i) => HdError::UnknownWord(i + 1),
        bip39::Error::BadEntropyBitCount(bits) => HdError::InvalidEntropyLength(bits / 8),
        bip39::Error::InvalidChecksum => HdError::InvalidChecksum,
        // Only the English list is compiled in, so this cannot happen; report it as unknown words.
        bip39::Error::AmbiguousLanguages(_) => HdError::UnknownWord(0),
    }
}

impl Mnemonic {
    /// Fresh mnemonic of `words` words (12, 15, 18, 21 or 24) from the OS random source.
    pub fn generate(words: usize) -> Result<Self> {
        if !matches!(words, 12 | 15 | 18 | 21 | 24) {
            return Err(HdError::InvalidWordCount(words));
        }
        let len = words / 3 * 4;
        let mut entropy = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(&mut entropy[..len])
            .map_err(|_| HdError::Rng)?;
        Self::from_entropy(&entropy[..len])
    }

    /// Mnemonic encoding `entropy` (16, 20, 24, 28 or 32 bytes).
    pub fn from_entropy(entropy: &[u8]) -> Result<Self> {
        if !matches!(entropy.len(), 16 | 20 | 24 | 28 | 32) {
            return Err(HdError::InvalidEntropyLength(entropy.len()));
        }
        bip39::Mnemonic::from_entropy(entropy)
            .map(|inner| Self { inner })
            .map_err(map_bip39)
    }

    /// Parse and checksum-verify an English phrase (NFKD-normalized, any whitespace between words).
    pub fn parse(phrase: &str) -> Result<Self> {
        let words = phrase.split_whitespace().count();
        if !matches!(words, 12 | 15 | 18 | 21 | 24) {
            return Err(HdError::InvalidWordCount(words));
        }
        let normalized = Zeroizing::new(phrase.split_whitespace().collect::<Vec<_>>().join(" "));
        bip39::Mnemonic::parse(normalized.as_str())
            .map(|inner| Self { inner })
            .map_err(map_bip39)
    }

    /// The phrase, words separated by single spaces.
    pub fn phrase(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(24 * 9));
        for (i, word) in self.inner.words().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.inner.word_count()
    }

    /// The entropy the phrase encodes.
    pub fn entropy(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.inner.to_entropy())
    }

    /// BIP-39 seed: PBKDF2-HMAC-SHA512(phrase, "mnemonic" + passphrase, 2048).
    pub fn to_seed(&self, passphrase: &str) -> Seed {
        let mut raw = self.inner.to_seed(passphrase);
        let seed = Seed(Zeroizing::new(raw.to_vec()));
        raw.zeroize();
        seed
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mnemonic({} words, [redacted])", self.word_count())
    }
}

/// A BIP-32 / SLIP-10 seed (16 to 64 bytes; 64 when it comes from a mnemonic). Wiped on drop.
pub struct Seed(Zeroizing<Vec<u8>>);

impl Seed {
    /// Wrap raw seed bytes (16..=64 bytes, as BIP-32 allows).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !(16..=64).contains(&bytes.len()) {
            return Err(HdError::InvalidSeedLength(bytes.len()));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// The seed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed({} bytes, [redacted])", self.0.len())
    }
}

/// Parse `m/44'/60'/0'/0/0` (hardened marker `'`, `h` or `H`) into child indexes
/// (hardened ones carry [`HARDENED`]). `m` alone is the master key.
pub fn parse_path(path: &str) -> Result<Vec<u32>> {
    let bad = |reason| HdError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    let mut parts = path.split('/');
    if parts.next() != Some("m") {
        return Err(bad("must start with \"m\""));
    }
    parts
        .map(|part| {
            let (digits, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
                Some(d) => (d, true),
                None => (part, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("each component must be a decimal index"));
            }
            let index: u32 = digits.parse().map_err(|_| bad("index out of range"))?;
            if index >= HARDENED {
                return Err(bad("index must be below 2^31"));
            }
            Ok(if hardened { index | HARDENED } else { index })
        })
        .collect()
}

/// A derived private key with its chain code and public key.
pub struct DerivedKey {
    curve: Curve,
    private_key: Zeroizing<[u8; 32]>,
    chain_code: [u8; 32],
    public_key: Vec<u8>,
    /// Serialization attributes (secp256k1 only).
    attrs: Option<ExtendedKeyAttrs>,
}

impl DerivedKey {
    /// The curve the key belongs to.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// 32-byte private key (secp256k1 scalar, or ed25519 secret seed).
    pub fn private_key(&self) -> &Zeroizing<[u8; 32]> {
        &self.private_key
    }

    /// Chain code of this node.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// Public key: 33-byte compressed SEC1 for secp256k1, 32 bytes for ed25519.
    pub fn public_key(&self) -> Vec<u8> {
        self.public_key.clone()
    }

    /// Base58 `xprv…` serialization (mainnet version bytes); secp256k1 only.
    pub fn xprv(&self) -> Option<Zeroizing<String>> {
        let mut key_bytes = [0u8; 33];
        key_bytes[1..].copy_from_slice(self.private_key.as_slice());
        let out = self.serialize(Prefix::XPRV, key_bytes);
        key_bytes.zeroize();
        out.map(Zeroizing::new)
    }

    /// Base58 `xpub…` serialization (mainnet version bytes); secp256k1 only.
    pub fn xpub(&self) -> Option<String> {
        let key_bytes: [u8; 33] = self.public_key.as_slice().try_into().ok()?;
        self.serialize(Prefix::XPUB, key_bytes)
    }

    fn serialize(&self, prefix: Prefix, key_bytes: [u8; 33]) -> Option<String> {
        let attrs = self.attrs.clone()?;
        // `ExtendedKey` zeroizes its key bytes on drop.
        Some(
            ExtendedKey {
                prefix,
                attrs,
                key_bytes,
            }
            .to_string(),
        )
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DerivedKey")
            .field("curve", &self.curve)
            .field("public_key", &hex::encode(&self.public_key))
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// Derive the key at `path` (as returned by [`parse_path`]) from `seed` on `curve`.
pub fn derive(seed: &Seed, curve: Curve, path: &[u32]) -> Result<DerivedKey> {
    match curve {
        Curve::Secp256k1 => derive_secp256k1(seed, path),
        Curve::Ed25519 => derive_ed25519(seed, path),
    }
}

/// BIP-32 private derivation (CKDpriv) over k256 and HMAC-SHA512. Only the multiplications
/// the definition needs: a parent public key before each non-hardened step (and before the
/// last step, for the serialized key's parent fingerprint), and the final public key. The
/// `bip32` crate also recomputes every level's fingerprint, ~3× the work on m/44'/60'/0'/0/i.
fn derive_secp256k1(seed: &Seed, path: &[u32]) -> Result<DerivedKey> {
    use k256::elliptic_curve::PrimeField;
    use k256::Scalar;

    fn scalar(bytes: &[u8; 32]) -> Option<Scalar> {
        Option::from(Scalar::from_repr((*bytes).into()))
            .filter(|s: &Scalar| !bool::from(s.is_zero()))
    }
    fn public(k: &Scalar) -> Result<[u8; 33]> {
        let secret = Zeroizing::new(<[u8; 32]>::from(k.to_repr()));
        crate::secp::public_key(&secret).ok_or_else(|| HdError::Derivation("zero key".to_owned()))
    }
    let invalid =
        || HdError::Derivation("derived key is out of range (probability < 2^-127)".to_owned());

    let mut key = Zeroizing::new([0u8; 32]);
    let mut chain = Zeroizing::new([0u8; 32]);
    hmac_split(b"Bitcoin seed", &[seed.as_bytes()], &mut key, &mut chain)?;
    let mut k = scalar(&key).ok_or_else(invalid)?;
    let mut parent_fingerprint = [0u8; 4];
    for (depth, &index) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        let hardened = index & HARDENED != 0;
        // The parent's public key, when the step or the fingerprint needs it.
        let parent_public = (!hardened || last)
            .then(|| parent_public_cached(&k, public))
            .transpose()?;
        if let (true, Some(p)) = (last, parent_public.as_ref()) {
            let id = Ripemd160::digest(Sha256::digest(p));
            parent_fingerprint.copy_from_slice(&id[..4]);
        }
        let parent_chain = Zeroizing::new(*chain);
        let parent_key = Zeroizing::new(<[u8; 32]>::from(k.to_repr()));
        let mut il = Zeroizing::new([0u8; 32]);
        match parent_public {
            Some(p) if !hardened => hmac_split(
                parent_chain.as_slice(),
                &[&p, &index.to_be_bytes()],
                &mut il,
                &mut chain,
            )?,
            _ => hmac_split(
                parent_chain.as_slice(),
                &[&[0u8], parent_key.as_slice(), &index.to_be_bytes()],
                &mut il,
                &mut chain,
            )?,
        }
        let tweak = scalar(&il).ok_or_else(invalid)?;
        k += tweak;
        if bool::from(k.is_zero()) {
            return Err(invalid());
        }
    }
    key.copy_from_slice(&k.to_repr());
    let public_key = public(&k)?.to_vec();
    let depth = u8::try_from(path.len())
        .map_err(|_| HdError::Derivation("path deeper than 255".to_owned()))?;
    let attrs = ExtendedKeyAttrs {
        depth,
        parent_fingerprint,
        child_number: ChildNumber(path.last().copied().unwrap_or(0)),
        chain_code: *chain,
    };
    Ok(DerivedKey {
        curve: Curve::Secp256k1,
        private_key: key,
        chain_code: *chain,
        public_key,
        attrs: Some(attrs),
    })
}

/// Public keys of intermediate BIP-32 nodes (e.g. m/44'/60'/0'/0), which every account of a
/// wallet shares: remembering them makes a new account cost one multiplication instead of
/// three. Keyed by a SHA-256 of the node's private key (one-way); the values are public keys.
fn parent_public_cached(
    k: &k256::Scalar,
    public: impl Fn(&k256::Scalar) -> Result<[u8; 33]>,
) -> Result<[u8; 33]> {
    use k256::elliptic_curve::PrimeField;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    const MAX_ENTRIES: usize = 4096;
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], [u8; 33]>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut hasher = Sha256::new();
    hasher.update(b"quorate bip32 node");
    hasher.update(k.to_repr());
    let id: [u8; 32] = hasher.finalize().into();
    if let Some(p) = cache.lock().ok().and_then(|c| c.get(&id).copied()) {
        return Ok(p);
    }
    let p = public(k)?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.insert(id, p);
    }
    Ok(p)
}

/// SLIP-10 for ed25519: I = HMAC-SHA512(c, 0x00 || k || ser32(i)), hardened children only.
fn derive_ed25519(seed: &Seed, path: &[u32]) -> Result<DerivedKey> {
    if let Some(&index) = path.iter().find(|&&i| i & HARDENED == 0) {
        return Err(HdError::NonHardenedEd25519(index));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    let mut chain = Zeroizing::new([0u8; 32]);
    hmac_split(b"ed25519 seed", &[seed.as_bytes()], &mut key, &mut chain)?;
    for &index in path {
        let parent_chain = Zeroizing::new(*chain);
        let parent_key = Zeroizing::new(*key);
        hmac_split(
            parent_chain.as_slice(),
            &[&[0u8], parent_key.as_slice(), &index.to_be_bytes()],
            &mut key,
            &mut chain,
        )?;
    }
    let public_key = ed25519_dalek::SigningKey::from_bytes(&key)
        .verifying_key()
        .to_bytes()
        .to_vec();
    Ok(DerivedKey {
        curve: Curve::Ed25519,
        private_key: key,
        chain_code: *chain,
        public_key,
        attrs: None,
    })
}

/// A fresh random private key on `curve` (secp256k1 scalar in range, or ed25519 secret seed).
pub fn generate_private_key(curve: Curve) -> Result<Zeroizing<[u8; 32]>> {
    loop {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(&mut key[..])
            .map_err(|_| HdError::Rng)?;
        // Every 32 bytes are an ed25519 seed; secp256k1 rejects 0 and values ≥ n (p ≈ 2^-128).
        if public_key_from_private(curve, key.as_slice()).is_ok() {
            return Ok(key);
        }
    }
}

/// The public key of a raw private key: 33-byte compressed SEC1 (secp256k1) or 32 bytes
/// (ed25519, from its 32-byte secret seed).
pub fn public_key_from_private(curve: Curve, private_key: &[u8]) -> Result<Vec<u8>> {
    let bad = || HdError::Derivation(format!("not a valid {curve} private key"));
    match curve {
        Curve::Secp256k1 => {
            let key = k256::SecretKey::from_slice(private_key).map_err(|_| bad())?;
            Ok(
                k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                    &key.public_key(),
                    true,
                )
                .as_bytes()
                .to_vec(),
            )
        }
        Curve::Ed25519 => {
            let seed: [u8; 32] = private_key.try_into().map_err(|_| bad())?;
            Ok(ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes()
                .to_vec())
        }
    }
}

/// HMAC-SHA512(key, data…) split into the left (key) and right (chain code) halves.
fn hmac_split(key: &[u8], data: &[&[u8]], left: &mut [u8; 32], right: &mut [u8; 32]) -> Result<()> {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key)
        .map_err(|_| HdError::Derivation("invalid hmac key".to_owned()))?;
    for part in data {
        mac.update(part);
    }
    let mut out = mac.finalize().into_bytes();
    left.copy_from_slice(&out[..32]);
    right.copy_from_slice(&out[32..]);
    out[..].zeroize();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(parse_path("m").unwrap(), Vec::<u32>::new());
        assert_eq!(
            parse_path("m/44'/60h/0H/0/7").unwrap(),
            vec![44 | HARDENED, 60 | HARDENED, HARDENED, 0, 7]
        );
        for bad in [
            "",
            "44'/0",
            "m/",
            "m//0",
            "m/x",
            "m/-1",
            "m/+1",
            "m/2147483648",
            "m/1''",
            "M/0",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let m = Mnemonic::from_entropy(&[0u8; 16]).unwrap();
        assert!(!format!("{m:?}").contains("abandon"));
        let seed = m.to_seed("");
        assert!(!format!("{seed:?}").contains("5e"));
        let key = derive(&seed, Curve::Secp256k1, &[]).unwrap();
        let priv_hex = hex::encode(key.private_key().as_slice());
        assert!(!format!("{key:?}").contains(&priv_hex));
    }

    #[test]
    fn ed25519_rejects_non_hardened() {
        let seed = Seed::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(
            derive(&seed, Curve::Ed25519, &[HARDENED, 1]).unwrap_err(),
            HdError::NonHardenedEd25519(1)
        );
    }
}
