//! Operator use cases: initialise a store with its root organization, and verify the
//! activity hash chains.

use crate::chain;
use crate::error::{AppError, Result};
use crate::vault::Vault;
use crate::App;
use quorate_crypto::envelope::MasterKey;
use quorate_crypto::hpke_bundle::ServerSigner;
use quorate_crypto::{keys::ApiKeyPair, ApiKeyCurve};
use quorate_domain::{new_id, ApiKey, Organization, User};
use quorate_proto::ErrorCode;
use quorate_store::StoreError;
use std::collections::HashMap;

/// The meta key holding the master key's check value.
const MASTER_KEY_META: &str = "master_key_fingerprint";

/// What `init` created. The private key is returned once and never stored.
pub struct InitOutput {
    /// A management-API secret key (`sk_live_…`) of the root user with every scope; shown once.
    pub secret_key: quorate_crypto::bearer::BearerKey,
    pub organization_id: String,
    pub user_id: String,
    pub api_key_id: String,
    pub key_pair: ApiKeyPair,
}

/// The result of checking every organization's chain.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub organizations: usize,
    pub entries: usize,
    pub activities: usize,
    pub problems: Vec<String>,
}

impl App {
    /// Creates the root organization, its root user and a P-256 API key for that user, and
    /// records the master key's check value. Fails with `Conflict` on an initialised store,
    /// changing nothing.
    pub async fn init(
        &self,
        org_name: &str,
        user_name: &str,
        master_key: &MasterKey,
    ) -> Result<InitOutput> {
        let now = self.clock.now_ms();
        let key_pair = ApiKeyPair::generate(ApiKeyCurve::P256);
        let org = Organization {
            id: new_id(),
            name: org_name.to_string(),
            parent_id: None,
            root_quorum_threshold: 1,
            root_user_ids: Vec::new(),
            features: Vec::new(),
            version: 0,
            v1: Default::default(),
            created_at: now,
            updated_at: now,
        };
        let user = User {
            id: new_id(),
            organization_id: org.id.clone(),
            name: user_name.to_string(),
            email: None,
            phone_number: None,
            tag_ids: Vec::new(),
            api_keys: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        let key = ApiKey {
            id: new_id(),
            organization_id: org.id.clone(),
            user_id: user.id.clone(),
            name: "root".to_string(),
            public_key: key_pair.public_key_hex(),
            curve: ApiKeyCurve::P256.as_api_str().to_string(),
            expiration_seconds: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let mut tx = self.store.begin_init().await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::new(ErrorCode::Conflict, "the store is already initialised")
            }
            other => other.into(),
        })?;
        tx.insert_organization(&org, &chain::genesis(&org.id))
            .await?;
        tx.insert_user(&user).await?;
        tx.insert_api_key(&key).await?;
        let secret_key = quorate_crypto::bearer::generate("sk", true)
            .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
        let mut record =
            crate::mgmt::new_key_record(&secret_key, &org.id, &user.id, "root", now, "cli");
        record.scopes = quorate_domain::bearer::SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        tx.insert_bearer_key(&record).await?;
        tx.set_root_quorum(&org.id, 1, std::slice::from_ref(&user.id))
            .await?;
        tx.set_meta("root_organization_id", &org.id).await?;
        tx.set_meta(MASTER_KEY_META, &master_key.fingerprint())
            .await?;
        Vault::store_signer(&mut *tx, master_key, &ServerSigner::generate()).await?;
        tx.commit().await?;
        Ok(InitOutput {
            secret_key,
            organization_id: org.id,
            user_id: user.id,
            api_key_id: key.id,
            key_pair,
        })
    }

    /// Opens the vault with the master key: refuses a key other than the one the store was
    /// initialised with, and loads the bundle signer sealed under it.
    pub async fn unlock(&self, master_key: MasterKey) -> Result<()> {
        self.check_master_key(&master_key).await?;
        let signer = match Vault::load_signer(&*self.store, &master_key).await? {
            Some(s) => s,
            None => {
                // A store initialised before the vault existed: seal a signer now, once.
                let root = self.store.root_organization_id().await?.ok_or_else(|| {
                    AppError::new(ErrorCode::Conflict, "the store is not initialised")
                })?;
                let mut tx = self.store.begin(&root).await?;
                let signer = match Vault::load_signer(&*self.store, &master_key).await? {
                    Some(s) => s,
                    None => {
                        let s = ServerSigner::generate();
                        Vault::store_signer(&mut *tx, &master_key, &s).await?;
                        s
                    }
                };
                tx.commit().await?;
                signer
            }
        };
        let _ = self
            .vault
            .set(std::sync::Arc::new(Vault::new(master_key, signer)));
        Ok(())
    }

    /// Refuses a master key other than the one the store was initialised with.
    pub async fn check_master_key(&self, master_key: &MasterKey) -> Result<()> {
        match self.store.meta(MASTER_KEY_META).await? {
            Some(stored) if master_key.matches_fingerprint(&stored) => Ok(()),
            Some(stored) => Err(AppError::new(
                ErrorCode::Conflict,
                format!(
                    "the master key does not match this store (store expects key {}…, got {}…); refusing to start",
                    &stored.chars().take(12).collect::<String>(),
                    &master_key.fingerprint().chars().take(12).collect::<String>()
                ),
            )),
            None => Err(AppError::new(ErrorCode::Conflict, "the store records no master key; it was not initialised by `quorate init`")),
        }
    }

    /// Recomputes every organization's chain and checks each activity row against the last
    /// log entry that wrote it.
    pub async fn verify_log(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        for org in self.store.list_organization_ids().await? {
            report.organizations += 1;
            let entries = self.store.list_log(&org).await?;
            let head = self.store.chain_head(&org).await?;
            let mut prev = chain::genesis(&org);
            let mut last_digest: HashMap<String, String> = HashMap::new();
            for (i, e) in entries.iter().enumerate() {
                report.entries += 1;
                let expected_seq = i as i64 + 1;
                if e.seq != expected_seq {
                    report.problems.push(format!(
                        "org {org}: entry {} found where {expected_seq} expected",
                        e.seq
                    ));
                }
                if e.prev_hash != prev {
                    report.problems.push(format!(
                        "org {org}: entry {} does not link to its predecessor",
                        e.seq
                    ));
                }
                if chain::link(&e.prev_hash, e.seq, &e.activity_id, &e.digest) != e.hash {
                    report.problems.push(format!(
                        "org {org}: entry {} hash does not match its contents",
                        e.seq
                    ));
                }
                prev = e.hash.clone();
                last_digest.insert(e.activity_id.clone(), e.digest.clone());
            }
            if head.seq != entries.len() as i64 || head.hash != prev {
                report.problems.push(format!(
                    "org {org}: chain head (seq {}) does not match the log's last entry (seq {})",
                    head.seq,
                    entries.len()
                ));
            }
            for a in self.store.list_all_activities(&org).await? {
                report.activities += 1;
                match last_digest.remove(&a.id) {
                    None => report
                        .problems
                        .push(format!("org {org}: activity {} is not in the log", a.id)),
                    Some(d) if d != chain::digest(&a) => report.problems.push(format!(
                        "org {org}: activity {} differs from its logged record",
                        a.id
                    )),
                    Some(_) => {}
                }
            }
            for id in last_digest.keys() {
                report
                    .problems
                    .push(format!("org {org}: logged activity {id} is missing"));
            }
        }
        Ok(report)
    }
}
