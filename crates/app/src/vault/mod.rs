//! The key vault: the master key, the bundle signer, per-organization data keys, and the
//! wallet / private-key activities and reads built on them.
//!
//! Key hierarchy (docs/design/key-hierarchy.md): the master key (outside the database) wraps
//! one data key per organization; data keys seal mnemonics, seeds and private keys, each bound
//! to its row by the associated data. Plaintext secrets live only in `Zeroizing` buffers for
//! the duration of one activity.

pub mod command;
pub mod exec;
pub mod query;

use crate::error::{AppError, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use quorate_crypto::envelope::{aad, DataKey, MasterKey};
use quorate_crypto::hpke_bundle::ServerSigner;
use quorate_domain::{Millis, Sealed};
use quorate_proto::ErrorCode;
use quorate_store::{Reader, Store, StoreTx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Unwrapped data keys kept in memory at most (the cache is cleared when full).
const MAX_CACHED_DATA_KEYS: usize = 10_000;

/// Meta key of the sealed bundle signer.
const SIGNER_META: &str = "bundle_signer_key";

/// What a sealed secret is; part of its associated data, so one kind never opens as another.
#[derive(Debug, Clone, Copy)]
pub enum SecretKind {
    Mnemonic,
    Seed,
    AccountKey,
    PrivateKey,
    ImportKey,
}

impl SecretKind {
    fn label(self) -> &'static [u8] {
        match self {
            SecretKind::Mnemonic => b"wallet-mnemonic",
            SecretKind::Seed => b"wallet-seed",
            SecretKind::AccountKey => b"account-key",
            SecretKind::PrivateKey => b"private-key",
            SecretKind::ImportKey => b"import-key",
        }
    }
}

fn internal(what: &str) -> AppError {
    // Never the cause's text: it could only ever describe key material.
    AppError::new(ErrorCode::Internal, format!("vault: {what}"))
}

/// The unlocked vault, shared by every request.
pub struct Vault {
    master: MasterKey,
    signer: ServerSigner,
    /// Unwrapped data keys of organizations, cached once read from a committed row (data keys
    /// never change, so the cache is sound on every node).
    data_keys: Mutex<HashMap<String, Arc<DataKey>>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// The unlocked vault (see `App::unlock`, which loads or creates the signer).
    pub(crate) fn new(master: MasterKey, signer: ServerSigner) -> Self {
        Vault {
            master,
            signer,
            data_keys: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the sealed signer from the store, if there is one.
    pub(crate) async fn load_signer(
        store: &dyn Store,
        master: &MasterKey,
    ) -> Result<Option<ServerSigner>> {
        let Some(text) = store.meta(SIGNER_META).await? else {
            return Ok(None);
        };
        let sealed = B64
            .decode(text.trim())
            .map_err(|_| internal("the stored bundle signer is corrupt"))?;
        let bytes = master
            .open(&sealed, &aad(&[SIGNER_META.as_bytes()]))
            .map_err(|_| internal("the bundle signer does not open with this master key"))?;
        ServerSigner::from_bytes(&bytes)
            .map(Some)
            .map_err(|_| internal("the stored bundle signer is not a P-256 key"))
    }

    /// Seals a fresh signer into `tx`'s meta.
    pub(crate) async fn store_signer(
        tx: &mut dyn StoreTx,
        master: &MasterKey,
        signer: &ServerSigner,
    ) -> Result<()> {
        let sealed = master
            .seal(
                signer.to_bytes().as_slice(),
                &aad(&[SIGNER_META.as_bytes()]),
            )
            .map_err(|_| internal("cannot seal the bundle signer"))?;
        tx.set_meta(SIGNER_META, &B64.encode(sealed)).await?;
        Ok(())
    }

    pub fn signer(&self) -> &ServerSigner {
        &self.signer
    }

    /// The organization's data key, or `None` while it has none (see `data_key_or_create`).
    pub(crate) async fn data_key(
        &self,
        tx: &mut dyn Reader,
        org: &str,
    ) -> Result<Option<Arc<DataKey>>> {
        if let Some(k) = self.cached(org) {
            return Ok(Some(k));
        }
        let Some(wrapped) = tx.get_data_key(org).await? else {
            return Ok(None);
        };
        let key = Arc::new(self.unwrap_data_key(org, &wrapped)?);
        // Only keys read from the store are cached: a key created by an uncommitted transaction
        // is not (see `data_key_or_create`), so a rollback cannot leave a phantom key here.
        if let Ok(mut cache) = self.data_keys.lock() {
            // Bounded: one key per organization that signed recently is plenty.
            if cache.len() >= MAX_CACHED_DATA_KEYS {
                cache.clear();
            }
            cache.insert(org.to_string(), key.clone());
        }
        Ok(Some(key))
    }

    /// The organization's data key, created (and written in `tx`) on first use.
    pub(crate) async fn data_key_or_create(
        &self,
        tx: &mut dyn StoreTx,
        org: &str,
        now: Millis,
    ) -> Result<Arc<DataKey>> {
        if let Some(k) = self.data_key(tx, org).await? {
            return Ok(k);
        }
        let key = DataKey::generate();
        let wrapped = self
            .master
            .wrap(&key, &data_key_aad(org))
            .map_err(|_| internal("cannot wrap a data key"))?;
        tx.insert_data_key(org, &Sealed(wrapped), now).await?;
        Ok(Arc::new(key))
    }

    fn cached(&self, org: &str) -> Option<Arc<DataKey>> {
        self.data_keys.lock().ok()?.get(org).cloned()
    }

    fn unwrap_data_key(&self, org: &str, wrapped: &Sealed) -> Result<DataKey> {
        self.master
            .unwrap(&wrapped.0, &data_key_aad(org))
            .map_err(|_| internal("an organization's data key does not open with this master key"))
    }

    /// Seals `plaintext` as `kind` of row `row` of `org`.
    pub(crate) fn seal(
        key: &DataKey,
        kind: SecretKind,
        org: &str,
        row: &str,
        plaintext: &[u8],
    ) -> Result<Sealed> {
        key.seal(plaintext, &secret_aad(kind, org, row))
            .map(Sealed)
            .map_err(|_| internal("cannot seal a secret"))
    }

    pub(crate) fn open(
        key: &DataKey,
        kind: SecretKind,
        org: &str,
        row: &str,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>> {
        key.open(&sealed.0, &secret_aad(kind, org, row))
            .map_err(|_| internal("a sealed secret does not open (wrong key or tampered row)"))
    }
}

fn data_key_aad(org: &str) -> Vec<u8> {
    aad(&[b"data-key", org.as_bytes()])
}

fn secret_aad(kind: SecretKind, org: &str, row: &str) -> Vec<u8> {
    aad(&[kind.label(), org.as_bytes(), row.as_bytes()])
}
