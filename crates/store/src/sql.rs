//! `SqlStore`: one implementation of the store's logic over [`Exec`], with the same SQL for
//! both backends (standard SQL, `$n` parameters). PostgreSQL runs everything through sqlx.
//! SQLite reads go through sqlx's pool; SQLite write transactions run on one dedicated
//! rusqlite connection (SQLite has one writer anyway), synchronously, statement after
//! statement, with no thread hop per statement.

use crate::dialect::{self, Backend};
use crate::exec::{args, db_err, lite_err, Arg, Exec, LiteExec, Row, SqlxExec};
use crate::rows;
use crate::{policy, vault};
use crate::{
    ActivityQuery, ChainHead, LogEntry, Page, Reader, Result, Store, StoreError, StoreTx,
    SubOrgFilter,
};
use async_trait::async_trait;
use quorate_domain::{
    Activity, ApiKey, BearerKeyRecord, KeyRef, Millis, Organization, Policy, PrivateKey, Sealed,
    Tag, TagKind, User, Vote, Wallet, WalletAccount, WalletSecrets,
};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Transaction};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

const USER_COLS: &str = "id, organization_id, name, email, phone_number, created_at, updated_at";
const KEY_COLS: &str = "id, organization_id, user_id, name, public_key, curve, expiration_seconds, created_at, updated_at, deleted_at";
const TAG_COLS: &str = "id, organization_id, name, kind, created_at, updated_at";
const ACTIVITY_COLS: &str = "id, organization_id, activity_type, status, fingerprint, intent, result, failure, user_id, created_at, updated_at";

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's one writer connection; holding its lock is holding the write lock.
    writer: Option<Arc<Mutex<rusqlite::Connection>>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects to `url` (`sqlite:…` or `postgres://…`) and runs the backend's migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let backend = Backend::from_url(url)?;
        let pool = dialect::connect(url, backend).await?;
        dialect::migrate(&pool, backend).await?;
        let writer = match backend {
            Backend::Sqlite => Some(Arc::new(Mutex::new(dialect::sqlite_writer(url)?))),
            Backend::Postgres => None,
        };
        Ok(SqlStore {
            pool,
            backend,
            writer,
        })
    }

    /// The SQLite URL of a file in `dir`, created if missing.
    pub fn sqlite_url_for_dir(dir: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", dir.join("quorate.db").display())
    }

    async fn pooled(&self) -> Result<PoolReader> {
        Ok(PoolReader(self.pool.acquire().await.map_err(db_err)?))
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(writer) = &self.writer {
            // Fold the WAL into the database file so a stopped store is one self-contained file.
            let conn = writer.lock().await;
            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                tracing::warn!(error = %e, "WAL checkpoint at close failed; the WAL file stays (no data lost)");
            }
        }
    }

    /// Opens a write transaction: of `org`, holding its lock and having read it, or (`None`)
    /// the one that initialises the store.
    async fn open_tx(&self, org: Option<&str>, init: bool) -> Result<Box<dyn StoreTx>> {
        let mut tx: Box<dyn TxConn> = match &self.writer {
            Some(writer) => {
                let conn = writer.clone().lock_owned().await;
                // A transaction left open by a failed ROLLBACK would make every BEGIN fail.
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                conn.execute_batch("BEGIN IMMEDIATE").map_err(lite_err)?;
                Box::new(LiteTx {
                    conn,
                    open: true,
                    state: TxState::default(),
                })
            }
            None => Box::new(SqlxTx {
                tx: Some(self.pool.begin().await.map_err(db_err)?),
                state: TxState::default(),
            }),
        };
        match org {
            Some(org) => {
                let (organization, head) =
                    load_organization(&mut *tx.db()?, org, self.backend.lock_suffix())
                        .await?
                        .ok_or(StoreError::NotFound)?;
                let state = tx.state();
                state.head = head;
                state.organization = Some(organization);
            }
            None if !init => {}
            None => {
                // Claiming the meta row first makes a concurrent second init fail on the key.
                let claimed = tx
                    .db()?
                    .run(
                        "INSERT INTO meta (key, value) VALUES ('initialising', '1')",
                        args![],
                    )
                    .await;
                if let Err(e) = claimed {
                    return Err(match e {
                        StoreError::Conflict(_) => {
                            StoreError::Conflict("the store is already initialised".into())
                        }
                        other => other,
                    });
                }
            }
        }
        Ok(tx.into_store_tx())
    }
}

/// Anything that lends a statement executor: pooled connections and open transactions.
trait Conn: Send {
    fn db(&mut self) -> Result<Box<dyn Exec + '_>>;
}

struct PoolReader(PoolConnection<Any>);

impl Conn for PoolReader {
    fn db(&mut self) -> Result<Box<dyn Exec + '_>> {
        Ok(Box::new(SqlxExec(&mut self.0)))
    }
}

#[derive(Default)]
struct TxState {
    head: ChainHead,
    /// The organization locked by `begin`, as read under the lock.
    organization: Option<Organization>,
    /// A version bump not yet written: it rides on the next chain update (or the commit).
    bump_pending: Option<Millis>,
}

impl TxState {
    /// The pending version bump, if it is for `org`.
    fn take_bump(&mut self, org: &str) -> Option<Millis> {
        if self.organization.as_ref().is_some_and(|o| o.id == org) {
            self.bump_pending.take()
        } else {
            None
        }
    }
}

/// A write transaction of either driver.
#[async_trait]
trait TxConn: Conn + 'static {
    fn state(&mut self) -> &mut TxState;
    fn state_ref(&self) -> &TxState;
    async fn finish(self: Box<Self>, commit: bool) -> Result<()>;
    fn into_store_tx(self: Box<Self>) -> Box<dyn StoreTx>;
}

struct SqlxTx {
    tx: Option<Transaction<'static, Any>>,
    state: TxState,
}

impl Conn for SqlxTx {
    fn db(&mut self) -> Result<Box<dyn Exec + '_>> {
        match self.tx.as_mut() {
            Some(tx) => Ok(Box::new(SqlxExec(tx))),
            None => Err(StoreError::Other("transaction already ended".into())),
        }
    }
}

#[async_trait]
impl TxConn for SqlxTx {
    fn state(&mut self) -> &mut TxState {
        &mut self.state
    }
    fn state_ref(&self) -> &TxState {
        &self.state
    }
    async fn finish(mut self: Box<Self>, commit: bool) -> Result<()> {
        match self.tx.take() {
            Some(tx) if commit => tx.commit().await.map_err(db_err),
            Some(tx) => tx.rollback().await.map_err(db_err),
            None => Err(StoreError::Other("transaction already ended".into())),
        }
    }
    fn into_store_tx(self: Box<Self>) -> Box<dyn StoreTx> {
        self
    }
}

struct LiteTx {
    conn: OwnedMutexGuard<rusqlite::Connection>,
    open: bool,
    state: TxState,
}

impl Conn for LiteTx {
    fn db(&mut self) -> Result<Box<dyn Exec + '_>> {
        if !self.open {
            return Err(StoreError::Other("transaction already ended".into()));
        }
        Ok(Box::new(LiteExec(&mut self.conn)))
    }
}

#[async_trait]
impl TxConn for LiteTx {
    fn state(&mut self) -> &mut TxState {
        &mut self.state
    }
    fn state_ref(&self) -> &TxState {
        &self.state
    }
    async fn finish(mut self: Box<Self>, commit: bool) -> Result<()> {
        self.open = false;
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let result = self.conn.execute_batch(sql).map_err(lite_err);
        if result.is_err() && commit {
            // A failed COMMIT leaves the transaction open: end it before releasing the writer.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        result
    }
    fn into_store_tx(self: Box<Self>) -> Box<dyn StoreTx> {
        self
    }
}

impl Drop for LiteTx {
    fn drop(&mut self) {
        // Ends the transaction before the writer lock (held by `conn`) is released.
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Loads the keys and tag ids of `users` (all of one organization). For a single user only
/// that user's rows are read, so the cost does not grow with the organization.
async fn attach(db: &mut dyn Exec, org: &str, users: &mut [User]) -> Result<()> {
    let single = match users {
        [] => return Ok(()),
        [one] => Some(one.id.clone()),
        _ => None,
    };
    let (key_filter, tag_filter) = match single {
        Some(_) => ("user_id = $2", "m.member_id = $2"),
        None => ("1 = 1", "1 = 1"),
    };
    let mut a = args![org];
    if let Some(u) = &single {
        a.push(Arg::from(u));
    }
    let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND {key_filter} AND deleted_at IS NULL ORDER BY created_at, id");
    let mut by_user: HashMap<String, Vec<ApiKey>> = HashMap::new();
    for row in db.rows(&sql, a.clone()).await? {
        let k = rows::api_key(&row)?;
        by_user.entry(k.user_id.clone()).or_default().push(k);
    }
    let sql = format!(
        "SELECT m.member_id, m.tag_id FROM tag_members m JOIN tags t ON t.id = m.tag_id \
         WHERE t.organization_id = $1 AND {tag_filter} AND t.kind = 'TAG_TYPE_USER' ORDER BY t.created_at, t.id"
    );
    let mut tags_by_user: HashMap<String, Vec<String>> = HashMap::new();
    for row in db.rows(&sql, a).await? {
        tags_by_user
            .entry(row.text("member_id")?)
            .or_default()
            .push(row.text("tag_id")?);
    }
    for u in users.iter_mut() {
        u.api_keys = by_user.remove(&u.id).unwrap_or_default();
        u.tag_ids = tags_by_user.remove(&u.id).unwrap_or_default();
    }
    Ok(())
}

/// Attaches the votes of `activities` (one query), oldest first.
async fn attach_votes(db: &mut dyn Exec, org: &str, activities: &mut [Activity]) -> Result<()> {
    if activities.is_empty() {
        return Ok(());
    }
    let mut a = args![org];
    let params: Vec<String> = activities
        .iter()
        .map(|x| {
            a.push(Arg::from(&x.id));
            format!("${}", a.len())
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM votes WHERE organization_id = $1 AND activity_id IN ({}) ORDER BY created_at, id",
        rows::VOTE_COLS,
        params.join(", ")
    );
    for row in db.rows(&sql, a).await? {
        let v = rows::vote(&row)?;
        if let Some(x) = activities.iter_mut().find(|x| x.id == v.activity_id) {
            x.votes.push(v);
        }
    }
    Ok(())
}

/// Reads a live organization and its chain head; `suffix` may lock the row (`FOR UPDATE`).
async fn load_organization(
    db: &mut dyn Exec,
    id: &str,
    suffix: &str,
) -> Result<Option<(Organization, ChainHead)>> {
    let sql = format!(
        "SELECT id, name, parent_id, root_quorum_threshold, features, version, created_at, updated_at, chain_seq, chain_head, slug, status, operator_user_id, default_wallet_id \
         FROM organizations WHERE id = $1 AND deleted_at IS NULL{suffix}"
    );
    let Some(row) = db.row(&sql, args![id]).await? else {
        return Ok(None);
    };
    let roots = db
        .rows("SELECT id FROM users WHERE organization_id = $1 AND is_root = 1 AND deleted_at IS NULL ORDER BY created_at, id", args![id])
        .await?;
    let head = ChainHead {
        seq: row.int("chain_seq")?,
        hash: row.text("chain_head")?,
    };
    let org = Organization {
        id: row.text("id")?,
        name: row.text("name")?,
        parent_id: row.opt_text("parent_id")?,
        root_quorum_threshold: u32::try_from(row.int("root_quorum_threshold")?).unwrap_or(0),
        root_user_ids: roots.iter().map(|r| r.text("id")).collect::<Result<_>>()?,
        features: rows::features_from_json(&row.text("features")?)?,
        version: row.int("version")?,
        v1: quorate_domain::OrgV1 {
            slug: row.opt_text("slug")?,
            suspended: row.text("status")? == "suspended",
            operator_user_id: row.opt_text("operator_user_id")?,
            default_wallet_id: row.opt_text("default_wallet_id")?,
        },
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    };
    Ok(Some((org, head)))
}

/// The `n` of a listed row, for cursors. The row must belong to the listing (`scope_col` =
/// `scope`): another organization's id is an unknown cursor, not a position.
async fn cursor_n(
    db: &mut dyn Exec,
    table: &str,
    scope_col: &str,
    scope: &str,
    id: &Option<String>,
) -> Result<Option<i64>> {
    let Some(id) = id else { return Ok(None) };
    let sql = format!("SELECT n FROM {table} WHERE id = $1 AND {scope_col} = $2");
    let row = db
        .row(&sql, args![id.as_str(), scope])
        .await?
        .ok_or(StoreError::NotFound)?;
    row.int("n").map(Some)
}

/// Appends the cursor conditions and ordering to `sql` (binding into `a`); returns whether the
/// fetched rows must be reversed.
pub(crate) fn page_clause(
    sql: &mut String,
    a: &mut Vec<Arg>,
    page: &Page,
    col: &str,
    before_n: Option<i64>,
    after_n: Option<i64>,
    newest_first: bool,
) -> bool {
    // "after" walks in listing order, "before" against it.
    let (after_op, before_op) = if newest_first { ("<", ">") } else { (">", "<") };
    for (n, op) in [(after_n, after_op), (before_n, before_op)] {
        if let Some(n) = n {
            a.push(Arg::from(n));
            sql.push_str(&format!(" AND {col} {op} ${}", a.len()));
        }
    }
    let reverse = page.before.is_some() && page.after.is_none();
    let order = if newest_first != reverse {
        "DESC"
    } else {
        "ASC"
    };
    sql.push_str(&format!(
        " ORDER BY {col} {order} LIMIT {}",
        page.limit.max(1)
    ));
    reverse
}

#[async_trait]
impl<T: Conn> Reader for T {
    fn db_handle(&mut self) -> Result<crate::Db<'_>> {
        Ok(crate::Db(self.db()?))
    }

    async fn get_organization(&mut self, id: &str) -> Result<Option<Organization>> {
        Ok(load_organization(&mut *self.db()?, id, "")
            .await?
            .map(|(o, _)| o))
    }

    async fn get_user(&mut self, org: &str, id: &str) -> Result<Option<User>> {
        let mut db = self.db()?;
        let sql = format!("SELECT {USER_COLS} FROM users WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL");
        let Some(row) = db.row(&sql, args![org, id]).await? else {
            return Ok(None);
        };
        let mut users = [rows::user(&row)?];
        attach(&mut *db, org, &mut users).await?;
        let [user] = users;
        Ok(Some(user))
    }

    async fn list_users(&mut self, org: &str) -> Result<Vec<User>> {
        let mut db = self.db()?;
        let sql = format!("SELECT {USER_COLS} FROM users WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at, id");
        let mut users = db
            .rows(&sql, args![org])
            .await?
            .iter()
            .map(rows::user)
            .collect::<Result<Vec<_>>>()?;
        attach(&mut *db, org, &mut users).await?;
        Ok(users)
    }

    async fn get_api_key(&mut self, org: &str, id: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL");
        self.db()?
            .row(&sql, args![org, id])
            .await?
            .as_ref()
            .map(rows::api_key)
            .transpose()
    }

    async fn list_api_keys(&mut self, org: &str, user: Option<&str>) -> Result<Vec<ApiKey>> {
        let rows = match user {
            Some(user) => {
                let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND user_id = $2 AND deleted_at IS NULL ORDER BY created_at, id");
                self.db()?.rows(&sql, args![org, user]).await?
            }
            None => {
                let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at, id");
                self.db()?.rows(&sql, args![org]).await?
            }
        };
        rows.iter().map(rows::api_key).collect()
    }

    async fn find_api_keys_by_public_key(&mut self, public_key: &str) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE public_key = $1 ORDER BY created_at, id"
        );
        self.db()?
            .rows(&sql, args![public_key])
            .await?
            .iter()
            .map(rows::api_key)
            .collect()
    }

    async fn get_tag(&mut self, org: &str, id: &str) -> Result<Option<Tag>> {
        let sql = format!("SELECT {TAG_COLS} FROM tags WHERE organization_id = $1 AND id = $2");
        self.db()?
            .row(&sql, args![org, id])
            .await?
            .as_ref()
            .map(rows::tag)
            .transpose()
    }

    async fn list_tags(&mut self, org: &str, kind: TagKind) -> Result<Vec<Tag>> {
        let sql = format!("SELECT {TAG_COLS} FROM tags WHERE organization_id = $1 AND kind = $2 ORDER BY created_at, id");
        self.db()?
            .rows(&sql, args![org, kind.as_str()])
            .await?
            .iter()
            .map(rows::tag)
            .collect()
    }

    async fn get_activity(&mut self, org: &str, id: &str) -> Result<Option<Activity>> {
        let sql = format!(
            "SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1 AND id = $2"
        );
        let mut db = self.db()?;
        let Some(row) = db.row(&sql, args![org, id]).await? else {
            return Ok(None);
        };
        let mut list = [rows::activity(&row)?];
        attach_votes(&mut *db, org, &mut list).await?;
        let [a] = list;
        Ok(Some(a))
    }

    async fn find_activity_by_fingerprint(
        &mut self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Option<Activity>> {
        let sql = format!("SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1 AND fingerprint = $2");
        let mut db = self.db()?;
        let Some(row) = db.row(&sql, args![org, fingerprint]).await? else {
            return Ok(None);
        };
        let mut list = [rows::activity(&row)?];
        attach_votes(&mut *db, org, &mut list).await?;
        let [a] = list;
        Ok(Some(a))
    }

    async fn list_activities(&mut self, org: &str, query: &ActivityQuery) -> Result<Vec<Activity>> {
        let mut db = self.db()?;
        let before_n = cursor_n(
            &mut *db,
            "activities",
            "organization_id",
            org,
            &query.page.before,
        )
        .await?;
        let after_n = cursor_n(
            &mut *db,
            "activities",
            "organization_id",
            org,
            &query.page.after,
        )
        .await?;
        let mut a = args![org];
        let mut sql = format!("SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1");
        for (col, values) in [("status", &query.statuses), ("activity_type", &query.types)] {
            if !values.is_empty() {
                let params: Vec<String> = values
                    .iter()
                    .map(|v| {
                        a.push(Arg::from(v));
                        format!("${}", a.len())
                    })
                    .collect();
                sql.push_str(&format!(" AND {col} IN ({})", params.join(", ")));
            }
        }
        let reverse = page_clause(&mut sql, &mut a, &query.page, "n", before_n, after_n, true);
        let mut out = db
            .rows(&sql, a)
            .await?
            .iter()
            .map(rows::activity)
            .collect::<Result<Vec<_>>>()?;
        if reverse {
            out.reverse();
        }
        attach_votes(&mut *db, org, &mut out).await?;
        Ok(out)
    }

    async fn get_data_key(&mut self, org: &str) -> Result<Option<Sealed>> {
        vault::get_data_key(&mut *self.db()?, org).await
    }

    async fn get_wallet(&mut self, org: &str, id: &str) -> Result<Option<Wallet>> {
        vault::get_wallet(&mut *self.db()?, org, id).await
    }

    async fn get_wallet_secrets(&mut self, org: &str, id: &str) -> Result<Option<WalletSecrets>> {
        vault::get_wallet_secrets(&mut *self.db()?, org, id).await
    }

    async fn list_wallets(&mut self, org: &str) -> Result<Vec<Wallet>> {
        vault::list_wallets(&mut *self.db()?, org).await
    }

    async fn list_wallet_accounts(
        &mut self,
        org: &str,
        wallet_id: Option<&str>,
        page: &Page,
    ) -> Result<Vec<WalletAccount>> {
        vault::list_wallet_accounts(&mut *self.db()?, org, wallet_id, page).await
    }

    async fn get_wallet_account(
        &mut self,
        org: &str,
        wallet_id: &str,
        address: Option<&str>,
        path: Option<&str>,
    ) -> Result<Option<WalletAccount>> {
        vault::get_wallet_account(&mut *self.db()?, org, wallet_id, address, path).await
    }

    async fn find_key(&mut self, org: &str, sign_with: &str) -> Result<Option<(KeyRef, Sealed)>> {
        vault::find_key(&mut *self.db()?, org, sign_with).await
    }

    async fn get_private_key(&mut self, org: &str, id: &str) -> Result<Option<PrivateKey>> {
        vault::get_private_key(&mut *self.db()?, org, id).await
    }

    async fn list_private_keys(&mut self, org: &str) -> Result<Vec<PrivateKey>> {
        vault::list_private_keys(&mut *self.db()?, org).await
    }

    async fn get_import_key(&mut self, org: &str, user: &str) -> Result<Option<Sealed>> {
        vault::get_import_key(&mut *self.db()?, org, user).await
    }

    async fn get_policy(&mut self, org: &str, id: &str) -> Result<Option<Policy>> {
        policy::get(&mut *self.db()?, org, id).await
    }

    async fn list_policies(&mut self, org: &str) -> Result<Vec<Policy>> {
        policy::list(&mut *self.db()?, org).await
    }

    async fn list_bearer_keys(&mut self, org: &str) -> Result<Vec<BearerKeyRecord>> {
        policy::list_bearer(&mut *self.db()?, org).await
    }

    async fn get_bearer_key(&mut self, org: &str, id: &str) -> Result<Option<BearerKeyRecord>> {
        policy::get_bearer(&mut *self.db()?, org, id).await
    }

    async fn find_bearer_key(&mut self, secret_hash: &str) -> Result<Option<BearerKeyRecord>> {
        policy::find_bearer(&mut *self.db()?, secret_hash).await
    }

    async fn list_policy_evaluations(
        &mut self,
        org: &str,
        activity_id: &str,
    ) -> Result<Vec<crate::PolicyEvaluationRecord>> {
        policy::list_evaluations(&mut *self.db()?, org, activity_id).await
    }

    async fn list_sub_organizations(
        &mut self,
        parent: &str,
        filter: &SubOrgFilter,
        page: &Page,
    ) -> Result<Vec<String>> {
        let mut db = self.db()?;
        let before_n =
            cursor_n(&mut *db, "organizations", "parent_id", parent, &page.before).await?;
        let after_n = cursor_n(&mut *db, "organizations", "parent_id", parent, &page.after).await?;
        let mut sql = String::from(
            "SELECT o.id FROM organizations o WHERE o.parent_id = $1 AND o.deleted_at IS NULL",
        );
        let mut a = args![parent];
        let users_with = |col: &str| {
            format!(" AND EXISTS (SELECT 1 FROM users u WHERE u.organization_id = o.id AND u.deleted_at IS NULL AND u.{col} = $2)")
        };
        let (clause, value) = match filter {
            SubOrgFilter::None => (String::new(), None),
            SubOrgFilter::Nothing => return Ok(Vec::new()),
            SubOrgFilter::Name(v) => (" AND o.name = $2".to_string(), Some(v)),
            SubOrgFilter::Username(v) => (users_with("name"), Some(v)),
            SubOrgFilter::Email(v) => (users_with("email"), Some(v)),
            SubOrgFilter::PhoneNumber(v) => (users_with("phone_number"), Some(v)),
            SubOrgFilter::PublicKey(v) => (
                " AND EXISTS (SELECT 1 FROM api_keys k WHERE k.organization_id = o.id AND k.deleted_at IS NULL AND k.public_key = $2)".to_string(),
                Some(v),
            ),
        };
        sql.push_str(&clause);
        if let Some(v) = value {
            a.push(Arg::from(v));
        }
        let reverse = page_clause(&mut sql, &mut a, page, "o.n", before_n, after_n, false);
        let mut ids = db
            .rows(&sql, a)
            .await?
            .iter()
            .map(|r| r.text("id"))
            .collect::<Result<Vec<_>>>()?;
        if reverse {
            ids.reverse();
        }
        Ok(ids)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn close(&self) {
        SqlStore::close(self).await
    }

    fn backend(&self) -> Backend {
        self.backend
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_err)
    }

    async fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        Ok(Box::new(self.pooled().await?))
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        let mut r = self.pooled().await?;
        let row = r
            .db()?
            .row("SELECT value FROM meta WHERE key = $1", args![key])
            .await?;
        row.map(|r| r.text("value")).transpose()
    }

    async fn begin_init(&self) -> Result<Box<dyn StoreTx>> {
        self.open_tx(None, true).await
    }

    async fn begin_batch(&self) -> Result<Box<dyn StoreTx>> {
        self.open_tx(None, false).await
    }

    async fn begin(&self, org: &str) -> Result<Box<dyn StoreTx>> {
        self.open_tx(Some(org), false).await
    }

    async fn list_organization_ids(&self) -> Result<Vec<String>> {
        let mut r = self.pooled().await?;
        let rows = r
            .db()?
            .rows("SELECT id FROM organizations ORDER BY n", args![])
            .await?;
        rows.iter().map(|r| r.text("id")).collect()
    }

    async fn list_log(&self, org: &str) -> Result<Vec<LogEntry>> {
        let mut r = self.pooled().await?;
        let rows = r
            .db()?
            .rows("SELECT organization_id, seq, activity_id, digest, prev_hash, hash FROM activity_log WHERE organization_id = $1 ORDER BY seq", args![org])
            .await?;
        rows.iter().map(rows::log_entry).collect()
    }

    async fn chain_head(&self, org: &str) -> Result<ChainHead> {
        let mut r = self.pooled().await?;
        let row = r
            .db()?
            .row(
                "SELECT chain_seq, chain_head FROM organizations WHERE id = $1",
                args![org],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(ChainHead {
            seq: row.int("chain_seq")?,
            hash: row.text("chain_head")?,
        })
    }

    async fn list_all_activities(&self, org: &str) -> Result<Vec<Activity>> {
        let mut r = self.pooled().await?;
        let sql =
            format!("SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1 ORDER BY n");
        let rows = r.db()?.rows(&sql, args![org]).await?;
        rows.iter().map(rows::activity).collect()
    }
}

/// Fails with `NotFound` when a statement changed nothing.
pub(crate) fn changed(n: u64) -> Result<()> {
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl<T: TxConn> StoreTx for T {
    fn chain_head(&self) -> &ChainHead {
        &self.state_ref().head
    }

    fn organization(&self) -> Option<&Organization> {
        self.state_ref().organization.as_ref()
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.db()?
            .run(
                "INSERT INTO meta (key, value) VALUES ($1, $2)",
                args![key, value],
            )
            .await
            .map(|_| ())
    }

    async fn insert_organization(&mut self, org: &Organization, chain_head: &str) -> Result<()> {
        let features =
            serde_json::to_string(&org.features).map_err(|e| StoreError::Other(e.to_string()))?;
        self.db()?
            .run(
                "INSERT INTO organizations (id, name, parent_id, root_quorum_threshold, features, version, chain_seq, chain_head, created_at, updated_at, slug, status, operator_user_id, default_wallet_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11, $12, $13)",
                args![&org.id, &org.name, org.parent_id.clone(), i64::from(org.root_quorum_threshold), features, org.version, chain_head, org.created_at, org.updated_at, org.v1.slug.clone(), if org.v1.suspended { "suspended" } else { "active" }, org.v1.operator_user_id.clone(), org.v1.default_wallet_id.clone()],
            )
            .await
            .map(|_| ())
    }

    async fn mark_organization_deleted(&mut self, id: &str, at: Millis) -> Result<()> {
        let mut db = self.db()?;
        for table in ["api_keys", "users"] {
            let sql = format!("UPDATE {table} SET deleted_at = $2, updated_at = $2 WHERE organization_id = $1 AND deleted_at IS NULL");
            db.run(&sql, args![id, at]).await?;
        }
        db.run(
            "UPDATE organizations SET deleted_at = $2, updated_at = $2 WHERE id = $1",
            args![id, at],
        )
        .await
        .map(|_| ())
    }

    async fn set_root_quorum(
        &mut self,
        org: &str,
        threshold: u32,
        user_ids: &[String],
    ) -> Result<()> {
        let mut db = self.db()?;
        db.run(
            "UPDATE organizations SET root_quorum_threshold = $2 WHERE id = $1",
            args![org, i64::from(threshold)],
        )
        .await?;
        db.run(
            "UPDATE users SET is_root = 0 WHERE organization_id = $1",
            args![org],
        )
        .await?;
        for id in user_ids {
            db.run(
                "UPDATE users SET is_root = 1 WHERE organization_id = $1 AND id = $2",
                args![org, id],
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_user(&mut self, u: &User) -> Result<()> {
        self.db()?
            .run(
                "INSERT INTO users (id, organization_id, name, email, phone_number, is_root, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
                args![&u.id, &u.organization_id, &u.name, u.email.clone(), u.phone_number.clone(), u.created_at, u.updated_at],
            )
            .await
            .map(|_| ())
    }

    async fn update_user(&mut self, u: &User) -> Result<()> {
        let n = self
            .db()?
            .run(
                "UPDATE users SET name = $3, email = $4, phone_number = $5, updated_at = $6 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
                args![&u.organization_id, &u.id, &u.name, u.email.clone(), u.phone_number.clone(), u.updated_at],
            )
            .await?;
        changed(n)
    }

    async fn delete_user(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        let mut db = self.db()?;
        let n = db
            .run("UPDATE users SET deleted_at = $3, updated_at = $3, is_root = 0 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL", args![org, id, at])
            .await?;
        changed(n)?;
        db.run("UPDATE api_keys SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND user_id = $2 AND deleted_at IS NULL", args![org, id, at]).await?;
        db.run("DELETE FROM tag_members WHERE member_id = $1", args![id])
            .await
            .map(|_| ())
    }

    async fn insert_api_key(&mut self, k: &ApiKey) -> Result<()> {
        self.db()?
            .run(
                "INSERT INTO api_keys (id, organization_id, user_id, name, public_key, curve, expiration_seconds, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                args![&k.id, &k.organization_id, &k.user_id, &k.name, &k.public_key, &k.curve, k.expiration_seconds, k.created_at, k.updated_at],
            )
            .await
            .map(|_| ())
    }

    async fn delete_api_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        let n = self
            .db()?
            .run("UPDATE api_keys SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL", args![org, id, at])
            .await?;
        changed(n)
    }

    async fn insert_tag(&mut self, t: &Tag) -> Result<()> {
        self.db()?
            .run(
                "INSERT INTO tags (id, organization_id, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                args![&t.id, &t.organization_id, &t.name, t.kind.as_str(), t.created_at, t.updated_at],
            )
            .await
            .map(|_| ())
    }

    async fn rename_tag(&mut self, org: &str, id: &str, name: &str, at: Millis) -> Result<()> {
        let n = self
            .db()?
            .run(
                "UPDATE tags SET name = $3, updated_at = $4 WHERE organization_id = $1 AND id = $2",
                args![org, id, name, at],
            )
            .await?;
        changed(n)
    }

    async fn delete_tag(&mut self, org: &str, id: &str) -> Result<()> {
        let mut db = self.db()?;
        // The tag row first: only a tag of this organization takes its memberships along.
        changed(
            db.run(
                "DELETE FROM tags WHERE organization_id = $1 AND id = $2",
                args![org, id],
            )
            .await?,
        )?;
        db.run("DELETE FROM tag_members WHERE tag_id = $1", args![id])
            .await
            .map(|_| ())
    }

    async fn add_tag_member(&mut self, tag: &str, member: &str) -> Result<()> {
        let mut db = self.db()?;
        db.run(
            "DELETE FROM tag_members WHERE tag_id = $1 AND member_id = $2",
            args![tag, member],
        )
        .await?;
        db.run(
            "INSERT INTO tag_members (tag_id, member_id) VALUES ($1, $2)",
            args![tag, member],
        )
        .await
        .map(|_| ())
    }

    async fn remove_tag_member(&mut self, tag: &str, member: &str) -> Result<()> {
        self.db()?
            .run(
                "DELETE FROM tag_members WHERE tag_id = $1 AND member_id = $2",
                args![tag, member],
            )
            .await
            .map(|_| ())
    }

    async fn tag_members(&mut self, tag: &str) -> Result<Vec<String>> {
        let rows = self
            .db()?
            .rows(
                "SELECT member_id FROM tag_members WHERE tag_id = $1 ORDER BY member_id",
                args![tag],
            )
            .await?;
        rows.iter().map(|r: &Row| r.text("member_id")).collect()
    }

    async fn insert_data_key(&mut self, org: &str, wrapped: &Sealed, at: Millis) -> Result<()> {
        vault::insert_data_key(&mut *self.db()?, org, wrapped, at).await
    }

    async fn insert_wallet(&mut self, wallet: &WalletSecrets) -> Result<()> {
        vault::insert_wallet(&mut *self.db()?, wallet).await
    }

    async fn update_wallet(&mut self, wallet: &Wallet) -> Result<()> {
        changed(vault::update_wallet(&mut *self.db()?, wallet).await?)
    }

    async fn delete_wallet(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        changed(vault::delete_wallet(&mut *self.db()?, org, id, at).await?)
    }

    async fn insert_wallet_account(&mut self, account: &WalletAccount, key: &Sealed) -> Result<()> {
        vault::insert_wallet_account(&mut *self.db()?, account, key).await
    }

    async fn insert_private_key(&mut self, key: &PrivateKey, sealed: &Sealed) -> Result<()> {
        vault::insert_private_key(&mut *self.db()?, key, sealed).await
    }

    async fn mark_private_key_exported(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        changed(vault::mark_private_key_exported(&mut *self.db()?, org, id, at).await?)
    }

    async fn delete_private_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        changed(vault::delete_private_key(&mut *self.db()?, org, id, at).await?)
    }

    async fn set_import_key(
        &mut self,
        org: &str,
        user: &str,
        key: &Sealed,
        at: Millis,
    ) -> Result<()> {
        vault::set_import_key(&mut *self.db()?, org, user, key, at).await
    }

    async fn delete_import_key(&mut self, org: &str, user: &str) -> Result<()> {
        vault::delete_import_key(&mut *self.db()?, org, user).await
    }

    async fn insert_policy(&mut self, p: &Policy) -> Result<()> {
        policy::insert(&mut *self.db()?, p).await
    }

    async fn insert_bearer_key(&mut self, k: &BearerKeyRecord) -> Result<()> {
        policy::insert_bearer(&mut *self.db()?, k).await
    }

    async fn revoke_bearer_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        changed(policy::revoke_bearer(&mut *self.db()?, org, id, at).await?)
    }

    async fn insert_policy_evaluation(
        &mut self,
        org: &str,
        r: &crate::PolicyEvaluationRecord,
    ) -> Result<()> {
        policy::insert_evaluation(&mut *self.db()?, org, r).await
    }

    async fn update_policy(&mut self, p: &Policy) -> Result<()> {
        changed(policy::update(&mut *self.db()?, p).await?)
    }

    async fn delete_policy(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        changed(policy::delete(&mut *self.db()?, org, id, at).await?)
    }

    async fn set_features(
        &mut self,
        org: &str,
        features: &[(String, String)],
        at: Millis,
    ) -> Result<()> {
        changed(policy::set_features(&mut *self.db()?, org, features, at).await?)
    }

    async fn insert_vote(&mut self, org: &str, v: &Vote) -> Result<()> {
        self.db()?
            .run(
                "INSERT INTO votes (id, organization_id, activity_id, user_id, user_name, selection, message, public_key, signature, scheme, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                args![&v.id, org, &v.activity_id, &v.user_id, &v.user_name, &v.selection, &v.message, &v.public_key, &v.signature, &v.scheme, v.created_at],
            )
            .await
            .map(|_| ())
    }

    async fn insert_activity(&mut self, a: &Activity) -> Result<()> {
        self.db()?
            .run(
                "INSERT INTO activities (id, organization_id, activity_type, status, fingerprint, intent, result, failure, user_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                args![
                    &a.id,
                    &a.organization_id,
                    &a.activity_type,
                    a.status.as_str(),
                    &a.fingerprint,
                    a.intent.to_string(),
                    a.result.to_string(),
                    a.failure.as_ref().map(rows::failure_to_json),
                    &a.user_id,
                    a.created_at,
                    a.updated_at
                ],
            )
            .await
            .map(|_| ())
    }

    async fn update_activity(&mut self, a: &Activity) -> Result<()> {
        let n = self
            .db()?
            .run(
                "UPDATE activities SET status = $3, result = $4, failure = $5, updated_at = $6 WHERE organization_id = $1 AND id = $2",
                args![&a.organization_id, &a.id, a.status.as_str(), a.result.to_string(), a.failure.as_ref().map(rows::failure_to_json), a.updated_at],
            )
            .await?;
        changed(n)
    }

    async fn append_log(&mut self, e: &LogEntry) -> Result<()> {
        let bump = self.state().take_bump(&e.organization_id);
        let mut db = self.db()?;
        db.run(
            "INSERT INTO activity_log (organization_id, seq, activity_id, digest, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)",
            args![&e.organization_id, e.seq, &e.activity_id, &e.digest, &e.prev_hash, &e.hash],
        )
        .await?;
        match bump {
            Some(at) => db
                .run("UPDATE organizations SET chain_seq = $2, chain_head = $3, version = version + 1, updated_at = $4 WHERE id = $1", args![&e.organization_id, e.seq, &e.hash, at])
                .await?,
            None => db.run("UPDATE organizations SET chain_seq = $2, chain_head = $3 WHERE id = $1", args![&e.organization_id, e.seq, &e.hash]).await?,
        };
        drop(db);
        self.state().head = ChainHead {
            seq: e.seq,
            hash: e.hash.clone(),
        };
        Ok(())
    }

    async fn bump_version(&mut self, org: &str, at: Millis) -> Result<()> {
        // The locked organization's bump is written with its next chain update, saving a statement.
        if self
            .state_ref()
            .organization
            .as_ref()
            .is_some_and(|o| o.id == org)
        {
            self.state().bump_pending = Some(at);
            return Ok(());
        }
        write_bump(&mut *self.db()?, org, at).await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        if let Some(org) = self.state_ref().organization.as_ref().map(|o| o.id.clone()) {
            if let Some(at) = self.state().take_bump(&org) {
                write_bump(&mut *self.db()?, &org, at).await?;
            }
        }
        self.finish(true).await
    }

    async fn rollback(self: Box<Self>) -> Result<()> {
        self.finish(false).await
    }
}

async fn write_bump(db: &mut dyn Exec, org: &str, at: Millis) -> Result<()> {
    db.run(
        "UPDATE organizations SET version = version + 1, updated_at = $2 WHERE id = $1",
        args![org, at],
    )
    .await
    .map(|_| ())
}
