//! The key vault's records: wallets, their accounts, and standalone private keys. Secrets are
//! not here: they travel as sealed bytes between the store and the app's vault, and only the
//! vault opens them.

use crate::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub exported: bool,
    pub imported: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletAccount {
    pub id: String,
    pub organization_id: String,
    pub wallet_id: String,
    /// `CURVE_…`.
    pub curve: String,
    /// `PATH_FORMAT_BIP32`.
    pub path_format: String,
    pub path: String,
    /// `ADDRESS_FORMAT_…`.
    pub address_format: String,
    pub address: String,
    /// Hex: compressed SEC1 (secp256k1) or 32 bytes (Ed25519).
    pub public_key: String,
    pub name: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAddress {
    /// `ADDRESS_FORMAT_…`.
    pub format: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateKey {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub curve: String,
    pub public_key: String,
    pub addresses: Vec<KeyAddress>,
    pub tag_ids: Vec<String>,
    pub exported: bool,
    pub imported: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A secret as stored: ciphertext only. `Debug` shows its length, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub Vec<u8>);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// A wallet with its sealed mnemonic and seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletSecrets {
    pub wallet: Wallet,
    pub mnemonic: Sealed,
    pub seed: Sealed,
}

/// What `signWith` (or an export) resolved to: the key's record and its sealed private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Account(WalletAccount),
    PrivateKey(PrivateKey),
}

impl KeyRef {
    pub fn curve(&self) -> &str {
        match self {
            KeyRef::Account(a) => &a.curve,
            KeyRef::PrivateKey(k) => &k.curve,
        }
    }
    pub fn public_key(&self) -> &str {
        match self {
            KeyRef::Account(a) => &a.public_key,
            KeyRef::PrivateKey(k) => &k.public_key,
        }
    }
    /// The id of the row whose sealed key this is (the seal's associated data names it).
    pub fn row_id(&self) -> &str {
        match self {
            KeyRef::Account(a) => &a.id,
            KeyRef::PrivateKey(k) => &k.id,
        }
    }
}
