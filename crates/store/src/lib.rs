//! quorate-store: the one `Store` trait, its SQL implementation for SQLite (default) and
//! PostgreSQL, embedded migrations per backend, and the conformance suite both must pass.
//!
//! Above this crate nobody names sqlx: driver errors become [`StoreError`].

mod dialect;
mod exec;
pub mod mgmt;
mod policy;
mod rows;
mod sql;
mod vault;

use async_trait::async_trait;
use quorate_domain::{
    Activity, ApiKey, BearerKeyRecord, KeyRef, Millis, Organization, Policy, PrivateKey, Sealed,
    Tag, TagKind, User, Vote, Wallet, WalletAccount, WalletSecrets,
};

pub use dialect::Backend;
pub use sql::SqlStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database refused a value (e.g. PostgreSQL and a NUL character).
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Other(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The head of an organization's activity hash chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

/// One entry of an organization's append-only activity log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub organization_id: String,
    pub seq: i64,
    pub activity_id: String,
    /// Digest of the activity record as written by this entry.
    pub digest: String,
    pub prev_hash: String,
    pub hash: String,
}

/// One recorded policy evaluation of an activity.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEvaluationRecord {
    pub id: String,
    pub activity_id: String,
    pub vote_id: String,
    /// `[{"policyId", "outcome"}]`.
    pub evaluations: serde_json::Value,
    pub created_at: Millis,
}

/// A page request over an ordered listing; cursors are ids of listed items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    pub statuses: Vec<String>,
    pub types: Vec<String>,
    pub page: Page,
}

/// How `list_suborgs` narrows its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubOrgFilter {
    None,
    Name(String),
    Username(String),
    Email(String),
    PhoneNumber(String),
    PublicKey(String),
    /// Filters on credentials quorate does not hold yet (authenticators, OIDC): matches nothing.
    Nothing,
}

/// Reads. Implemented by the store itself and by an open transaction (which sees its own writes).
/// Statement access on a connection or transaction, for this crate's management-API modules
/// ([`mgmt`]): their functions take it, so `/v1` tables need no method on the core traits.
pub struct Db<'a>(pub(crate) Box<dyn exec::Exec + 'a>);

#[async_trait]
pub trait Reader: Send {
    /// The connection (or transaction) for [`mgmt`] functions.
    fn db_handle(&mut self) -> Result<Db<'_>>;
    async fn get_organization(&mut self, id: &str) -> Result<Option<Organization>>;
    async fn get_user(&mut self, org: &str, id: &str) -> Result<Option<User>>;
    async fn list_users(&mut self, org: &str) -> Result<Vec<User>>;
    async fn get_api_key(&mut self, org: &str, id: &str) -> Result<Option<ApiKey>>;
    /// Live keys of the organization, optionally of one user.
    async fn list_api_keys(&mut self, org: &str, user: Option<&str>) -> Result<Vec<ApiKey>>;
    /// Every key ever registered with this public key, deleted ones included.
    async fn find_api_keys_by_public_key(&mut self, public_key: &str) -> Result<Vec<ApiKey>>;
    async fn get_tag(&mut self, org: &str, id: &str) -> Result<Option<Tag>>;
    async fn list_tags(&mut self, org: &str, kind: TagKind) -> Result<Vec<Tag>>;
    async fn get_activity(&mut self, org: &str, id: &str) -> Result<Option<Activity>>;
    async fn find_activity_by_fingerprint(
        &mut self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Option<Activity>>;
    /// Newest first. An unknown cursor is `NotFound`.
    async fn list_activities(&mut self, org: &str, query: &ActivityQuery) -> Result<Vec<Activity>>;
    /// The organization's wrapped data key, once it has one.
    async fn get_data_key(&mut self, org: &str) -> Result<Option<Sealed>>;
    async fn get_wallet(&mut self, org: &str, id: &str) -> Result<Option<Wallet>>;
    async fn get_wallet_secrets(&mut self, org: &str, id: &str) -> Result<Option<WalletSecrets>>;
    /// Live wallets, oldest first.
    async fn list_wallets(&mut self, org: &str) -> Result<Vec<Wallet>>;
    /// Live accounts of live wallets (of one wallet, or all), oldest first. An unknown cursor
    /// is `NotFound`.
    async fn list_wallet_accounts(
        &mut self,
        org: &str,
        wallet_id: Option<&str>,
        page: &Page,
    ) -> Result<Vec<WalletAccount>>;
    /// A wallet's live account by address, or by path when no address is given.
    async fn get_wallet_account(
        &mut self,
        org: &str,
        wallet_id: &str,
        address: Option<&str>,
        path: Option<&str>,
    ) -> Result<Option<WalletAccount>>;
    /// What `signWith` names: a live wallet account's address, a live private key's id, or
    /// one of its addresses, with the sealed private key.
    async fn find_key(&mut self, org: &str, sign_with: &str) -> Result<Option<(KeyRef, Sealed)>>;
    async fn get_private_key(&mut self, org: &str, id: &str) -> Result<Option<PrivateKey>>;
    /// Live private keys with their tags, oldest first.
    async fn list_private_keys(&mut self, org: &str) -> Result<Vec<PrivateKey>>;
    /// The user's pending import key (sealed HPKE private key).
    async fn get_import_key(&mut self, org: &str, user: &str) -> Result<Option<Sealed>>;
    async fn get_policy(&mut self, org: &str, id: &str) -> Result<Option<Policy>>;
    /// Live policies, oldest first.
    async fn list_policies(&mut self, org: &str) -> Result<Vec<Policy>>;
    /// The organization's management-API keys (revoked ones included), oldest first.
    async fn list_bearer_keys(&mut self, org: &str) -> Result<Vec<BearerKeyRecord>>;
    /// One of the organization's management-API keys by id (revoked ones included).
    async fn get_bearer_key(&mut self, org: &str, id: &str) -> Result<Option<BearerKeyRecord>>;
    /// The management-API key with this secret hash (revoked ones included).
    async fn find_bearer_key(&mut self, secret_hash: &str) -> Result<Option<BearerKeyRecord>>;
    /// The policy evaluations recorded for an activity, oldest first.
    async fn list_policy_evaluations(
        &mut self,
        org: &str,
        activity_id: &str,
    ) -> Result<Vec<PolicyEvaluationRecord>>;
    /// Direct, live sub-organizations, oldest first. An unknown cursor is `NotFound`.
    async fn list_sub_organizations(
        &mut self,
        parent: &str,
        filter: &SubOrgFilter,
        page: &Page,
    ) -> Result<Vec<String>>;
}

/// The store: reads on pooled connections, and organization-serialized write transactions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Closes connections at shutdown (SQLite: checkpoints the WAL into the database file).
    async fn close(&self);
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;
    /// A connection for reads.
    async fn reader(&self) -> Result<Box<dyn Reader + '_>>;
    /// A value `set_meta` stored (store-wide settings: root organization, master key check).
    async fn meta(&self, key: &str) -> Result<Option<String>>;
    /// The id of the root organization, once `init` has run.
    async fn root_organization_id(&self) -> Result<Option<String>> {
        self.meta("root_organization_id").await
    }
    /// Opens a write transaction that creates the root organization (fails with `Conflict` when
    /// the store is already initialised).
    async fn begin_init(&self) -> Result<Box<dyn StoreTx>>;
    /// Opens a write transaction without any organization lock, for batched bookkeeping
    /// (audit rows, last-used times, usage ingestion) that must not queue behind activities.
    async fn begin_batch(&self) -> Result<Box<dyn StoreTx>>;
    /// Opens a write transaction holding `org`'s lock: writes of one organization are
    /// serialized, different organizations proceed in parallel (where the backend allows).
    async fn begin(&self, org: &str) -> Result<Box<dyn StoreTx>>;
    async fn list_organization_ids(&self) -> Result<Vec<String>>;
    async fn list_log(&self, org: &str) -> Result<Vec<LogEntry>>;
    /// The organization's current chain head (deleted organizations included).
    async fn chain_head(&self, org: &str) -> Result<ChainHead>;
    /// Every activity of an organization (for log verification), oldest first.
    async fn list_all_activities(&self, org: &str) -> Result<Vec<Activity>>;
}

/// An open write transaction. Dropping it without `commit` rolls back.
#[async_trait]
pub trait StoreTx: Reader {
    /// The chain head of the locked organization (zero/empty for a fresh store in `begin_init`).
    fn chain_head(&self) -> &ChainHead;
    /// The organization `begin` locked, as read under the lock (`None` in `begin_init`).
    fn organization(&self) -> Option<&Organization>;
    async fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;
    /// Inserts an organization with its genesis chain head.
    async fn insert_organization(&mut self, org: &Organization, chain_head: &str) -> Result<()>;
    async fn mark_organization_deleted(&mut self, id: &str, at: Millis) -> Result<()>;
    async fn set_root_quorum(
        &mut self,
        org: &str,
        threshold: u32,
        user_ids: &[String],
    ) -> Result<()>;
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    async fn update_user(&mut self, user: &User) -> Result<()>;
    /// Soft-deletes the user and their keys, and removes their tag memberships.
    async fn delete_user(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()>;
    async fn delete_api_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    async fn insert_tag(&mut self, tag: &Tag) -> Result<()>;
    async fn rename_tag(&mut self, org: &str, id: &str, name: &str, at: Millis) -> Result<()>;
    async fn delete_tag(&mut self, org: &str, id: &str) -> Result<()>;
    async fn add_tag_member(&mut self, tag: &str, member: &str) -> Result<()>;
    async fn remove_tag_member(&mut self, tag: &str, member: &str) -> Result<()>;
    async fn tag_members(&mut self, tag: &str) -> Result<Vec<String>>;
    async fn insert_data_key(&mut self, org: &str, wrapped: &Sealed, at: Millis) -> Result<()>;
    async fn insert_wallet(&mut self, wallet: &WalletSecrets) -> Result<()>;
    /// Writes a live wallet's name, exported flag and update time.
    async fn update_wallet(&mut self, wallet: &Wallet) -> Result<()>;
    /// Soft-deletes a live wallet and its accounts.
    async fn delete_wallet(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    async fn insert_wallet_account(&mut self, account: &WalletAccount, key: &Sealed) -> Result<()>;
    /// Inserts the key and indexes its addresses (tags are added with `add_tag_member`).
    async fn insert_private_key(&mut self, key: &PrivateKey, sealed: &Sealed) -> Result<()>;
    async fn mark_private_key_exported(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    /// Soft-deletes a live private key and removes its tag memberships.
    async fn delete_private_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    /// Replaces the user's pending import key.
    async fn set_import_key(
        &mut self,
        org: &str,
        user: &str,
        key: &Sealed,
        at: Millis,
    ) -> Result<()>;
    async fn delete_import_key(&mut self, org: &str, user: &str) -> Result<()>;
    async fn insert_policy(&mut self, policy: &Policy) -> Result<()>;
    async fn insert_bearer_key(&mut self, key: &BearerKeyRecord) -> Result<()>;
    /// Revokes a live key of the organization (`NotFound` otherwise).
    async fn revoke_bearer_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    async fn insert_policy_evaluation(
        &mut self,
        org: &str,
        record: &PolicyEvaluationRecord,
    ) -> Result<()>;
    /// Writes a live policy's name, effect, expressions, notes and update time.
    async fn update_policy(&mut self, policy: &Policy) -> Result<()>;
    async fn delete_policy(&mut self, org: &str, id: &str, at: Millis) -> Result<()>;
    /// Replaces the organization's features (name → value).
    async fn set_features(
        &mut self,
        org: &str,
        features: &[(String, String)],
        at: Millis,
    ) -> Result<()>;
    /// Records a vote; a second vote of the same user on the same activity is a `Conflict`.
    async fn insert_vote(&mut self, org: &str, vote: &Vote) -> Result<()>;
    async fn insert_activity(&mut self, activity: &Activity) -> Result<()>;
    async fn update_activity(&mut self, activity: &Activity) -> Result<()>;
    /// Appends a log entry and advances the organization's chain head.
    async fn append_log(&mut self, entry: &LogEntry) -> Result<()>;
    /// Bumps the organization's version (any change to users, keys, tags, quorum).
    async fn bump_version(&mut self, org: &str, at: Millis) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Ends the transaction keeping nothing (dropping it does the same, in the background).
    async fn rollback(self: Box<Self>) -> Result<()>;
}
