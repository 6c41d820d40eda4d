//! Management-API storage: wallet sessions (docs/design/management-api.md §2.2, §8). The token
//! is kept only as its SHA-256; limits are u256 decimal text, checked and advanced by the app
//! inside the signing activity's transaction.

use crate::exec::{args, Row};
use crate::{Db, Result, StoreError};
use quorate_domain::Millis;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WalletSession {
    pub n: i64,
    /// `ses_…`.
    pub id: String,
    pub organization_id: String,
    pub wallet_id: String,
    pub chain_id: i64,
    /// `native` or an ERC-20 contract address (lowercase).
    pub asset: String,
    pub secret_hash: String,
    /// `ws_live_AbCd`.
    pub key_prefix: String,
    pub key_last4: String,
    pub max_amount_per_tx: Option<String>,
    pub max_total_amount: Option<String>,
    pub max_transactions: Option<i64>,
    /// Lowercase addresses; empty = any recipient.
    pub allowed_recipients: Vec<String>,
    pub spent_amount: String,
    pub tx_count: i64,
    pub created_by_user_id: String,
    pub created_by_key_id: String,
    pub created_by_key_organization_id: String,
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
    pub created_at: Millis,
}

fn session(r: &Row) -> Result<WalletSession> {
    let recipients = r.text("allowed_recipients")?;
    Ok(WalletSession {
        n: r.int("n")?,
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        wallet_id: r.text("wallet_id")?,
        chain_id: r.int("chain_id")?,
        asset: r.text("asset")?,
        secret_hash: r.text("secret_hash")?,
        key_prefix: r.text("key_prefix")?,
        key_last4: r.text("key_last4")?,
        max_amount_per_tx: r.opt_text("max_amount_per_tx")?,
        max_total_amount: r.opt_text("max_total_amount")?,
        max_transactions: r.opt_int("max_transactions")?,
        allowed_recipients: serde_json::from_str(&recipients)
            .map_err(|e| StoreError::Other(format!("allowed_recipients: {e}")))?,
        spent_amount: r.text("spent_amount")?,
        tx_count: r.int("tx_count")?,
        created_by_user_id: r.text("created_by_user_id")?,
        created_by_key_id: r.text("created_by_key_id")?,
        created_by_key_organization_id: r.text("created_by_key_organization_id")?,
        expires_at: r.int("expires_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        created_at: r.int("created_at")?,
    })
}

pub async fn insert(db: Db<'_>, s: &WalletSession) -> Result<()> {
    let mut db = db.0;
    let recipients = serde_json::to_string(&s.allowed_recipients)
        .map_err(|e| StoreError::Other(e.to_string()))?;
    db.run(
        "INSERT INTO wallet_sessions (id, organization_id, wallet_id, chain_id, asset, secret_hash, key_prefix, key_last4, max_amount_per_tx, max_total_amount, max_transactions, allowed_recipients, spent_amount, tx_count, created_by_user_id, created_by_key_id, created_by_key_organization_id, expires_at, revoked_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        args![
            &s.id,
            &s.organization_id,
            &s.wallet_id,
            s.chain_id,
            &s.asset,
            &s.secret_hash,
            &s.key_prefix,
            &s.key_last4,
            s.max_amount_per_tx.clone(),
            s.max_total_amount.clone(),
            s.max_transactions,
            recipients,
            &s.spent_amount,
            s.tx_count,
            &s.created_by_user_id,
            &s.created_by_key_id,
            &s.created_by_key_organization_id,
            s.expires_at,
            s.revoked_at,
            s.created_at,
        ],
    )
    .await?;
    Ok(())
}

/// A session of the organization by id (revoked and expired ones included).
pub async fn get(db: Db<'_>, org: &str, id: &str) -> Result<Option<WalletSession>> {
    let mut db = db.0;
    db.row(
        "SELECT * FROM wallet_sessions WHERE organization_id = $1 AND id = $2",
        args![org, id],
    )
    .await?
    .as_ref()
    .map(session)
    .transpose()
}

/// The session whose token hashes to `secret_hash` (revoked and expired ones included).
pub async fn find_by_hash(db: Db<'_>, secret_hash: &str) -> Result<Option<WalletSession>> {
    let mut db = db.0;
    db.row(
        "SELECT * FROM wallet_sessions WHERE secret_hash = $1",
        args![secret_hash],
    )
    .await?
    .as_ref()
    .map(session)
    .transpose()
}

/// The organization's active sessions (not revoked, `expires_at > now`) after row `after_n`,
/// oldest first, at most `limit` rows.
pub async fn list_active(
    db: Db<'_>,
    org: &str,
    now: Millis,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<WalletSession>> {
    let mut db = db.0;
    let rows = db
        .rows(
            &format!("SELECT * FROM wallet_sessions WHERE organization_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND n > $3 ORDER BY n LIMIT {limit}"),
            args![org, now, after_n.unwrap_or(0)],
        )
        .await?;
    rows.iter().map(session).collect()
}

/// Revokes a session (no-op when it already is).
pub async fn revoke(db: Db<'_>, org: &str, id: &str, at: Millis) -> Result<()> {
    let mut db = db.0;
    db.run(
        "UPDATE wallet_sessions SET revoked_at = $3 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL",
        args![org, id, at],
    )
    .await?;
    Ok(())
}

/// Writes a session's new totals after a withdrawal.
pub async fn set_spent(
    db: Db<'_>,
    org: &str,
    id: &str,
    spent_amount: &str,
    tx_count: i64,
) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(db
        .run(
            "UPDATE wallet_sessions SET spent_amount = $3, tx_count = $4 WHERE organization_id = $1 AND id = $2",
            args![org, id, spent_amount, tx_count],
        )
        .await?)
}
