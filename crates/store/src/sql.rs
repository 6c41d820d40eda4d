//! `SqlStore`: the Store over sqlx's Any driver. The SQL is shared by both backends (standard
//! SQL with `$n` parameters); what differs lives in `dialect`.

use crate::dialect::{self, Backend};
use crate::rows::{self, db_err};
use crate::{
    ActivityQuery, ChainHead, LogEntry, Page, Reader, Result, Store, StoreError, StoreTx,
    SubOrgFilter,
};
use async_trait::async_trait;
use quorate_domain::{Activity, ApiKey, Millis, Organization, Tag, TagKind, User};
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};
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
    /// SQLite allows one writer: taking this in-process lock first avoids busy-waiting inside
    /// SQLite. PostgreSQL serializes per organization with row locks instead.
    write_lock: Option<Arc<Mutex<()>>>,
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
        Ok(SqlStore {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
        })
    }

    /// The SQLite URL of a file in `dir`, created if missing.
    pub fn sqlite_url_for_dir(dir: &std::path::Path) -> String {
        format!("sqlite://{}?mode=rwc", dir.join("quorate.db").display())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_locked(
        &self,
    ) -> Result<(Transaction<'static, Any>, Option<OwnedMutexGuard<()>>)> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = self.pool.begin().await.map_err(db_err)?;
        Ok((tx, guard))
    }
}

/// Anything that can lend a connection: pooled connections and open transactions.
trait Conn: Send {
    fn conn(&mut self) -> Result<&mut AnyConnection>;
}

struct PoolReader(PoolConnection<Any>);

impl Conn for PoolReader {
    fn conn(&mut self) -> Result<&mut AnyConnection> {
        Ok(&mut self.0)
    }
}

pub struct SqlTx {
    /// `None` only after commit or rollback.
    tx: Option<Transaction<'static, Any>>,
    head: ChainHead,
    /// The organization locked by `begin`, as it was when locked.
    organization: Option<Organization>,
    /// A version bump not yet written: it rides on the next chain update (or the commit).
    bump_pending: Option<Millis>,
    /// Released only after the transaction has ended, so the next writer never meets a
    /// half-finished rollback.
    guard: Option<OwnedMutexGuard<()>>,
}

impl SqlTx {
    /// The pending version bump, if it is for `org`.
    fn take_bump(&mut self, org: &str) -> Option<Millis> {
        if self.organization.as_ref().is_some_and(|o| o.id == org) {
            self.bump_pending.take()
        } else {
            None
        }
    }
}

async fn write_bump(conn: &mut AnyConnection, org: &str, at: Millis) -> Result<()> {
    exec(
        conn,
        sqlx::query(
            "UPDATE organizations SET version = version + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(org)
        .bind(at),
    )
    .await
    .map(|_| ())
}

impl Drop for SqlTx {
    fn drop(&mut self) {
        if let (Some(tx), Ok(rt)) = (self.tx.take(), tokio::runtime::Handle::try_current()) {
            let guard = self.guard.take();
            rt.spawn(async move {
                let _ = tx.rollback().await;
                drop(guard);
            });
        }
    }
}

impl Conn for SqlTx {
    fn conn(&mut self) -> Result<&mut AnyConnection> {
        match self.tx.as_mut() {
            Some(tx) => Ok(&mut **tx),
            None => Err(StoreError::Other("transaction already ended".into())),
        }
    }
}

async fn fetch_all<'q>(
    conn: &mut AnyConnection,
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
) -> Result<Vec<AnyRow>> {
    q.fetch_all(conn).await.map_err(db_err)
}

async fn exec<'q>(
    conn: &mut AnyConnection,
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
) -> Result<u64> {
    q.execute(conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(db_err)
}

/// Loads the keys and tag ids of `users` (all of one organization).
/// Loads the keys and tag ids of `users` (all of one organization). For a single user only
/// that user's rows are read, so the cost does not grow with the organization.
async fn attach(conn: &mut AnyConnection, org: &str, users: &mut [User]) -> Result<()> {
    let single = match users {
        [] => return Ok(()),
        [one] => Some(one.id.clone()),
        _ => None,
    };
    let (key_filter, tag_filter) = match single {
        Some(_) => ("user_id = $2", "m.member_id = $2"),
        None => ("TRUE", "TRUE"),
    };
    let sql = format!(
        "SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND {key_filter} AND deleted_at IS NULL ORDER BY created_at, id"
    );
    let mut q = sqlx::query(&sql).bind(org);
    if let Some(u) = &single {
        q = q.bind(u.as_str());
    }
    let keys = fetch_all(conn, q).await?;
    let mut by_user: HashMap<String, Vec<ApiKey>> = HashMap::new();
    for row in &keys {
        let k = rows::api_key(row)?;
        by_user.entry(k.user_id.clone()).or_default().push(k);
    }
    let sql = format!(
        "SELECT m.member_id, m.tag_id FROM tag_members m JOIN tags t ON t.id = m.tag_id \
         WHERE t.organization_id = $1 AND {tag_filter} AND t.kind = 'TAG_TYPE_USER' ORDER BY t.created_at, t.id"
    );
    let mut q = sqlx::query(&sql).bind(org);
    if let Some(u) = &single {
        q = q.bind(u.as_str());
    }
    let tags = fetch_all(conn, q).await?;
    let mut tags_by_user: HashMap<String, Vec<String>> = HashMap::new();
    for row in &tags {
        let member: String = row.try_get("member_id").map_err(db_err)?;
        let tag: String = row.try_get("tag_id").map_err(db_err)?;
        tags_by_user.entry(member).or_default().push(tag);
    }
    for u in users.iter_mut() {
        u.api_keys = by_user.remove(&u.id).unwrap_or_default();
        u.tag_ids = tags_by_user.remove(&u.id).unwrap_or_default();
    }
    Ok(())
}

/// Reads a live organization and its chain head; `suffix` may lock the row (`FOR UPDATE`).
async fn load_organization(
    conn: &mut AnyConnection,
    id: &str,
    suffix: &str,
) -> Result<Option<(Organization, ChainHead)>> {
    let sql = format!(
        "SELECT id, name, parent_id, root_quorum_threshold, features, version, created_at, updated_at, chain_seq, chain_head \
         FROM organizations WHERE id = $1 AND deleted_at IS NULL{suffix}"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let roots = fetch_all(
        conn,
        sqlx::query(
            "SELECT id FROM users WHERE organization_id = $1 AND is_root = 1 AND deleted_at IS NULL ORDER BY created_at, id",
        )
        .bind(id),
    )
    .await?;
    let features: String = row.try_get("features").map_err(db_err)?;
    let threshold: i64 = row.try_get("root_quorum_threshold").map_err(db_err)?;
    let head = ChainHead {
        seq: row.try_get("chain_seq").map_err(db_err)?,
        hash: row.try_get("chain_head").map_err(db_err)?,
    };
    let org = Organization {
        id: row.try_get("id").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        parent_id: row.try_get("parent_id").map_err(db_err)?,
        root_quorum_threshold: u32::try_from(threshold).unwrap_or(0),
        root_user_ids: roots
            .iter()
            .map(|r| r.try_get::<String, _>("id").map_err(db_err))
            .collect::<Result<_>>()?,
        features: rows::features_from_json(&features)?,
        version: row.try_get("version").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        updated_at: row.try_get("updated_at").map_err(db_err)?,
    };
    Ok(Some((org, head)))
}

/// The `n` of a listed row, for cursors. The row must belong to the listing (`scope_col` =
/// `scope`): another organization's id is an unknown cursor, not a position.
async fn cursor_n(
    conn: &mut AnyConnection,
    table: &str,
    scope_col: &str,
    scope: &str,
    id: &str,
) -> Result<i64> {
    let sql = format!("SELECT n FROM {table} WHERE id = $1 AND {scope_col} = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(scope)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    row.try_get("n").map_err(db_err)
}

/// Appends `n`-cursor conditions and returns (where-suffix, order, reverse-after-fetch).
fn page_clause(
    page: &Page,
    before_n: Option<i64>,
    after_n: Option<i64>,
    newest_first: bool,
    next: &mut usize,
) -> (String, &'static str, bool) {
    let mut clause = String::new();
    // "after" walks in listing order, "before" against it.
    let (after_op, before_op) = if newest_first { ("<", ">") } else { (">", "<") };
    if after_n.is_some() {
        clause.push_str(&format!(" AND n {after_op} ${}", *next));
        *next += 1;
    }
    if before_n.is_some() {
        clause.push_str(&format!(" AND n {before_op} ${}", *next));
        *next += 1;
    }
    let reverse = page.before.is_some() && page.after.is_none();
    let order = match (newest_first, reverse) {
        (true, false) | (false, true) => "DESC",
        _ => "ASC",
    };
    (clause, order, reverse)
}

#[async_trait]
impl<T: Conn> Reader for T {
    async fn get_organization(&mut self, id: &str) -> Result<Option<Organization>> {
        Ok(load_organization(self.conn()?, id, "")
            .await?
            .map(|(o, _)| o))
    }

    async fn get_user(&mut self, org: &str, id: &str) -> Result<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
        );
        let conn = self.conn()?;
        let row = sqlx::query(&sql)
            .bind(org)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut users = [rows::user(&row)?];
        attach(conn, org, &mut users).await?;
        let [user] = users;
        Ok(Some(user))
    }

    async fn list_users(&mut self, org: &str) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
        );
        let conn = self.conn()?;
        let rows = fetch_all(conn, sqlx::query(&sql).bind(org)).await?;
        let mut users = rows.iter().map(rows::user).collect::<Result<Vec<_>>>()?;
        attach(conn, org, &mut users).await?;
        Ok(users)
    }

    async fn get_api_key(&mut self, org: &str, id: &str) -> Result<Option<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(org)
            .bind(id)
            .fetch_optional(self.conn()?)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn list_api_keys(&mut self, org: &str, user: Option<&str>) -> Result<Vec<ApiKey>> {
        let rows = match user {
            Some(user) => {
                let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND user_id = $2 AND deleted_at IS NULL ORDER BY created_at, id");
                fetch_all(self.conn()?, sqlx::query(&sql).bind(org).bind(user)).await?
            }
            None => {
                let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at, id");
                fetch_all(self.conn()?, sqlx::query(&sql).bind(org)).await?
            }
        };
        rows.iter().map(rows::api_key).collect()
    }

    async fn find_api_keys_by_public_key(&mut self, public_key: &str) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM api_keys WHERE public_key = $1 ORDER BY created_at, id"
        );
        let rows = fetch_all(self.conn()?, sqlx::query(&sql).bind(public_key)).await?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn get_tag(&mut self, org: &str, id: &str) -> Result<Option<Tag>> {
        let sql = format!("SELECT {TAG_COLS} FROM tags WHERE organization_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(org)
            .bind(id)
            .fetch_optional(self.conn()?)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::tag).transpose()
    }

    async fn list_tags(&mut self, org: &str, kind: TagKind) -> Result<Vec<Tag>> {
        let sql = format!("SELECT {TAG_COLS} FROM tags WHERE organization_id = $1 AND kind = $2 ORDER BY created_at, id");
        let rows = fetch_all(
            self.conn()?,
            sqlx::query(&sql).bind(org).bind(kind.as_str()),
        )
        .await?;
        rows.iter().map(rows::tag).collect()
    }

    async fn get_activity(&mut self, org: &str, id: &str) -> Result<Option<Activity>> {
        let sql = format!(
            "SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1 AND id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(org)
            .bind(id)
            .fetch_optional(self.conn()?)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::activity).transpose()
    }

    async fn find_activity_by_fingerprint(
        &mut self,
        org: &str,
        fingerprint: &str,
    ) -> Result<Option<Activity>> {
        let sql = format!("SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1 AND fingerprint = $2");
        let row = sqlx::query(&sql)
            .bind(org)
            .bind(fingerprint)
            .fetch_optional(self.conn()?)
            .await
            .map_err(db_err)?;
        row.as_ref().map(rows::activity).transpose()
    }

    async fn list_activities(&mut self, org: &str, query: &ActivityQuery) -> Result<Vec<Activity>> {
        let conn = self.conn()?;
        let before_n = match &query.page.before {
            Some(id) => Some(cursor_n(conn, "activities", "organization_id", org, id).await?),
            None => None,
        };
        let after_n = match &query.page.after {
            Some(id) => Some(cursor_n(conn, "activities", "organization_id", org, id).await?),
            None => None,
        };
        let mut next = 2;
        let mut sql = format!("SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1");
        for (col, values) in [("status", &query.statuses), ("activity_type", &query.types)] {
            if !values.is_empty() {
                let params: Vec<String> = (0..values.len())
                    .map(|i| format!("${}", next + i))
                    .collect();
                next += values.len();
                sql.push_str(&format!(" AND {col} IN ({})", params.join(", ")));
            }
        }
        let (clause, order, reverse) = page_clause(&query.page, before_n, after_n, true, &mut next);
        sql.push_str(&clause);
        sql.push_str(&format!(
            " ORDER BY n {order} LIMIT {}",
            query.page.limit.max(1)
        ));
        let mut q = sqlx::query(&sql).bind(org);
        for v in query.statuses.iter().chain(&query.types) {
            q = q.bind(v.as_str());
        }
        if let Some(n) = after_n {
            q = q.bind(n);
        }
        if let Some(n) = before_n {
            q = q.bind(n);
        }
        let rows = fetch_all(conn, q).await?;
        let mut out = rows
            .iter()
            .map(rows::activity)
            .collect::<Result<Vec<_>>>()?;
        if reverse {
            out.reverse();
        }
        Ok(out)
    }

    async fn list_sub_organizations(
        &mut self,
        parent: &str,
        filter: &SubOrgFilter,
        page: &Page,
    ) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let before_n = match &page.before {
            Some(id) => Some(cursor_n(conn, "organizations", "parent_id", parent, id).await?),
            None => None,
        };
        let after_n = match &page.after {
            Some(id) => Some(cursor_n(conn, "organizations", "parent_id", parent, id).await?),
            None => None,
        };
        let mut sql = String::from(
            "SELECT o.id FROM organizations o WHERE o.parent_id = $1 AND o.deleted_at IS NULL",
        );
        let mut next = 2;
        let value = match filter {
            SubOrgFilter::None => None,
            SubOrgFilter::Nothing => return Ok(Vec::new()),
            SubOrgFilter::Name(v) => {
                sql.push_str(" AND o.name = $2");
                Some(v)
            }
            SubOrgFilter::Username(v) => {
                sql.push_str(" AND EXISTS (SELECT 1 FROM users u WHERE u.organization_id = o.id AND u.deleted_at IS NULL AND u.name = $2)");
                Some(v)
            }
            SubOrgFilter::Email(v) => {
                sql.push_str(" AND EXISTS (SELECT 1 FROM users u WHERE u.organization_id = o.id AND u.deleted_at IS NULL AND u.email = $2)");
                Some(v)
            }
            SubOrgFilter::PhoneNumber(v) => {
                sql.push_str(" AND EXISTS (SELECT 1 FROM users u WHERE u.organization_id = o.id AND u.deleted_at IS NULL AND u.phone_number = $2)");
                Some(v)
            }
            SubOrgFilter::PublicKey(v) => {
                sql.push_str(" AND EXISTS (SELECT 1 FROM api_keys k WHERE k.organization_id = o.id AND k.deleted_at IS NULL AND k.public_key = $2)");
                Some(v)
            }
        };
        if value.is_some() {
            next = 3;
        }
        let (clause, order, reverse) = page_clause(page, before_n, after_n, false, &mut next);
        sql.push_str(&clause.replace(" n ", " o.n "));
        sql.push_str(&format!(
            " ORDER BY o.n {order} LIMIT {}",
            page.limit.max(1)
        ));
        let mut q = sqlx::query(&sql).bind(parent);
        if let Some(v) = value {
            q = q.bind(v.as_str());
        }
        if let Some(n) = after_n {
            q = q.bind(n);
        }
        if let Some(n) = before_n {
            q = q.bind(n);
        }
        let rows = fetch_all(conn, q).await?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<String, _>("id").map_err(db_err))
            .collect::<Result<Vec<_>>>()?;
        if reverse {
            ids.reverse();
        }
        Ok(ids)
    }
}

#[async_trait]
impl Store for SqlStore {
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
        let conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(Box::new(PoolReader(conn)))
    }

    async fn root_organization_id(&self) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = 'root_organization_id'")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get("value").map_err(db_err)).transpose()
    }

    async fn begin_init(&self) -> Result<Box<dyn StoreTx>> {
        let (mut tx, guard) = self.begin_locked().await?;
        // Claiming the meta row first makes a concurrent second init fail on the primary key.
        let claimed = sqlx::query("INSERT INTO meta (key, value) VALUES ('initialising', '1')")
            .execute(&mut *tx)
            .await;
        if let Err(e) = claimed {
            return Err(match db_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict("the store is already initialised".into())
                }
                other => other,
            });
        }
        Ok(Box::new(SqlTx {
            tx: Some(tx),
            head: ChainHead {
                seq: 0,
                hash: String::new(),
            },
            organization: None,
            bump_pending: None,
            guard,
        }))
    }

    async fn begin(&self, org: &str) -> Result<Box<dyn StoreTx>> {
        let (mut tx, guard) = self.begin_locked().await?;
        let (organization, head) = load_organization(&mut tx, org, self.backend.lock_suffix())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Box::new(SqlTx {
            tx: Some(tx),
            head,
            organization: Some(organization),
            bump_pending: None,
            guard,
        }))
    }

    async fn list_organization_ids(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM organizations ORDER BY n")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get("id").map_err(db_err))
            .collect()
    }

    async fn list_log(&self, org: &str) -> Result<Vec<LogEntry>> {
        let rows = sqlx::query(
            "SELECT organization_id, seq, activity_id, digest, prev_hash, hash FROM activity_log WHERE organization_id = $1 ORDER BY seq",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(rows::log_entry).collect()
    }

    async fn chain_head(&self, org: &str) -> Result<ChainHead> {
        let row = sqlx::query("SELECT chain_seq, chain_head FROM organizations WHERE id = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        Ok(ChainHead {
            seq: row.try_get("chain_seq").map_err(db_err)?,
            hash: row.try_get("chain_head").map_err(db_err)?,
        })
    }

    async fn list_all_activities(&self, org: &str) -> Result<Vec<Activity>> {
        let sql =
            format!("SELECT {ACTIVITY_COLS} FROM activities WHERE organization_id = $1 ORDER BY n");
        let rows = sqlx::query(&sql)
            .bind(org)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(rows::activity).collect()
    }
}

#[async_trait]
impl StoreTx for SqlTx {
    fn chain_head(&self) -> &ChainHead {
        &self.head
    }

    fn organization(&self) -> Option<&Organization> {
        self.organization.as_ref()
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        exec(
            self.conn()?,
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
                .bind(key)
                .bind(value),
        )
        .await
        .map(|_| ())
    }

    async fn insert_organization(&mut self, org: &Organization, chain_head: &str) -> Result<()> {
        let features =
            serde_json::to_string(&org.features).map_err(|e| StoreError::Other(e.to_string()))?;
        exec(
            self.conn()?,
            sqlx::query(
                "INSERT INTO organizations (id, name, parent_id, root_quorum_threshold, features, version, chain_seq, chain_head, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)",
            )
            .bind(&org.id)
            .bind(&org.name)
            .bind(org.parent_id.clone())
            .bind(i64::from(org.root_quorum_threshold))
            .bind(features)
            .bind(org.version)
            .bind(chain_head)
            .bind(org.created_at)
            .bind(org.updated_at),
        )
        .await
        .map(|_| ())
    }

    async fn mark_organization_deleted(&mut self, id: &str, at: Millis) -> Result<()> {
        let conn = self.conn()?;
        exec(&mut *conn, sqlx::query("UPDATE api_keys SET deleted_at = $2, updated_at = $2 WHERE organization_id = $1 AND deleted_at IS NULL").bind(id).bind(at)).await?;
        exec(&mut *conn, sqlx::query("UPDATE users SET deleted_at = $2, updated_at = $2 WHERE organization_id = $1 AND deleted_at IS NULL").bind(id).bind(at)).await?;
        exec(
            conn,
            sqlx::query("UPDATE organizations SET deleted_at = $2, updated_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at),
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
        let conn = self.conn()?;
        exec(
            &mut *conn,
            sqlx::query("UPDATE organizations SET root_quorum_threshold = $2 WHERE id = $1")
                .bind(org)
                .bind(i64::from(threshold)),
        )
        .await?;
        exec(
            &mut *conn,
            sqlx::query("UPDATE users SET is_root = 0 WHERE organization_id = $1").bind(org),
        )
        .await?;
        for id in user_ids {
            exec(
                &mut *conn,
                sqlx::query("UPDATE users SET is_root = 1 WHERE organization_id = $1 AND id = $2")
                    .bind(org)
                    .bind(id.as_str()),
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        exec(
            self.conn()?,
            sqlx::query(
                "INSERT INTO users (id, organization_id, name, email, phone_number, is_root, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
            )
            .bind(&user.id)
            .bind(&user.organization_id)
            .bind(&user.name)
            .bind(user.email.clone())
            .bind(user.phone_number.clone())
            .bind(user.created_at)
            .bind(user.updated_at),
        )
        .await
        .map(|_| ())
    }

    async fn update_user(&mut self, user: &User) -> Result<()> {
        let n = exec(
            self.conn()?,
            sqlx::query("UPDATE users SET name = $3, email = $4, phone_number = $5, updated_at = $6 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(&user.organization_id)
                .bind(&user.id)
                .bind(&user.name)
                .bind(user.email.clone())
                .bind(user.phone_number.clone())
                .bind(user.updated_at),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_user(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        let conn = self.conn()?;
        let n = exec(&mut *conn, sqlx::query("UPDATE users SET deleted_at = $3, updated_at = $3, is_root = 0 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL").bind(org).bind(id).bind(at)).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        exec(&mut *conn, sqlx::query("UPDATE api_keys SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND user_id = $2 AND deleted_at IS NULL").bind(org).bind(id).bind(at)).await?;
        exec(
            conn,
            sqlx::query("DELETE FROM tag_members WHERE member_id = $1").bind(id),
        )
        .await
        .map(|_| ())
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        exec(
            self.conn()?,
            sqlx::query(
                "INSERT INTO api_keys (id, organization_id, user_id, name, public_key, curve, expiration_seconds, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&key.id)
            .bind(&key.organization_id)
            .bind(&key.user_id)
            .bind(&key.name)
            .bind(&key.public_key)
            .bind(&key.curve)
            .bind(key.expiration_seconds)
            .bind(key.created_at)
            .bind(key.updated_at),
        )
        .await
        .map(|_| ())
    }

    async fn delete_api_key(&mut self, org: &str, id: &str, at: Millis) -> Result<()> {
        let n = exec(self.conn()?, sqlx::query("UPDATE api_keys SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL").bind(org).bind(id).bind(at)).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn insert_tag(&mut self, tag: &Tag) -> Result<()> {
        exec(
            self.conn()?,
            sqlx::query("INSERT INTO tags (id, organization_id, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&tag.id)
                .bind(&tag.organization_id)
                .bind(&tag.name)
                .bind(tag.kind.as_str())
                .bind(tag.created_at)
                .bind(tag.updated_at),
        )
        .await
        .map(|_| ())
    }

    async fn rename_tag(&mut self, org: &str, id: &str, name: &str, at: Millis) -> Result<()> {
        let n = exec(
            self.conn()?,
            sqlx::query(
                "UPDATE tags SET name = $3, updated_at = $4 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(name)
            .bind(at),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_tag(&mut self, org: &str, id: &str) -> Result<()> {
        let conn = self.conn()?;
        // The tag row first: only a tag of this organization takes its memberships along.
        let n = exec(
            &mut *conn,
            sqlx::query("DELETE FROM tags WHERE organization_id = $1 AND id = $2")
                .bind(org)
                .bind(id),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        exec(
            conn,
            sqlx::query("DELETE FROM tag_members WHERE tag_id = $1").bind(id),
        )
        .await
        .map(|_| ())
    }

    async fn add_tag_member(&mut self, tag: &str, member: &str) -> Result<()> {
        let conn = self.conn()?;
        exec(
            &mut *conn,
            sqlx::query("DELETE FROM tag_members WHERE tag_id = $1 AND member_id = $2")
                .bind(tag)
                .bind(member),
        )
        .await?;
        exec(
            conn,
            sqlx::query("INSERT INTO tag_members (tag_id, member_id) VALUES ($1, $2)")
                .bind(tag)
                .bind(member),
        )
        .await
        .map(|_| ())
    }

    async fn remove_tag_member(&mut self, tag: &str, member: &str) -> Result<()> {
        exec(
            self.conn()?,
            sqlx::query("DELETE FROM tag_members WHERE tag_id = $1 AND member_id = $2")
                .bind(tag)
                .bind(member),
        )
        .await
        .map(|_| ())
    }

    async fn tag_members(&mut self, tag: &str) -> Result<Vec<String>> {
        let rows = fetch_all(
            self.conn()?,
            sqlx::query("SELECT member_id FROM tag_members WHERE tag_id = $1 ORDER BY member_id")
                .bind(tag),
        )
        .await?;
        rows.iter()
            .map(|r| r.try_get("member_id").map_err(db_err))
            .collect()
    }

    async fn insert_activity(&mut self, a: &Activity) -> Result<()> {
        exec(
            self.conn()?,
            sqlx::query(
                "INSERT INTO activities (id, organization_id, activity_type, status, fingerprint, intent, result, failure, user_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&a.id)
            .bind(&a.organization_id)
            .bind(&a.activity_type)
            .bind(a.status.as_str())
            .bind(&a.fingerprint)
            .bind(a.intent.to_string())
            .bind(a.result.to_string())
            .bind(a.failure.as_ref().map(rows::failure_to_json))
            .bind(&a.user_id)
            .bind(a.created_at)
            .bind(a.updated_at),
        )
        .await
        .map(|_| ())
    }

    async fn update_activity(&mut self, a: &Activity) -> Result<()> {
        let n = exec(
            self.conn()?,
            sqlx::query("UPDATE activities SET status = $3, result = $4, failure = $5, updated_at = $6 WHERE organization_id = $1 AND id = $2")
                .bind(&a.organization_id)
                .bind(&a.id)
                .bind(a.status.as_str())
                .bind(a.result.to_string())
                .bind(a.failure.as_ref().map(rows::failure_to_json))
                .bind(a.updated_at),
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn append_log(&mut self, e: &LogEntry) -> Result<()> {
        let bump = self.take_bump(&e.organization_id);
        let conn = self.conn()?;
        exec(
            &mut *conn,
            sqlx::query("INSERT INTO activity_log (organization_id, seq, activity_id, digest, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&e.organization_id)
                .bind(e.seq)
                .bind(&e.activity_id)
                .bind(&e.digest)
                .bind(&e.prev_hash)
                .bind(&e.hash),
        )
        .await?;
        let q = match bump {
            Some(at) => sqlx::query("UPDATE organizations SET chain_seq = $2, chain_head = $3, version = version + 1, updated_at = $4 WHERE id = $1")
                .bind(&e.organization_id)
                .bind(e.seq)
                .bind(&e.hash)
                .bind(at),
            None => sqlx::query("UPDATE organizations SET chain_seq = $2, chain_head = $3 WHERE id = $1")
                .bind(&e.organization_id)
                .bind(e.seq)
                .bind(&e.hash),
        };
        exec(conn, q).await?;
        self.head = ChainHead {
            seq: e.seq,
            hash: e.hash.clone(),
        };
        Ok(())
    }

    async fn bump_version(&mut self, org: &str, at: Millis) -> Result<()> {
        // The locked organization's bump is written with its next chain update, saving a statement.
        if self.organization.as_ref().is_some_and(|o| o.id == org) {
            self.bump_pending = Some(at);
            return Ok(());
        }
        write_bump(self.conn()?, org, at).await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        if let Some(org) = self.organization.as_ref().map(|o| o.id.clone()) {
            if let Some(at) = self.take_bump(&org) {
                write_bump(self.conn()?, &org, at).await?;
            }
        }
        match self.tx.take() {
            Some(tx) => tx.commit().await.map_err(db_err),
            None => Err(StoreError::Other("transaction already ended".into())),
        }
    }

    async fn rollback(mut self: Box<Self>) -> Result<()> {
        match self.tx.take() {
            Some(tx) => tx.rollback().await.map_err(db_err),
            None => Ok(()),
        }
    }
}
