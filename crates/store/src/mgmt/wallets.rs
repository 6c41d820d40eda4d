//! Management-API storage: the `/v1` view of vault wallets (archiving, the default wallet) and
//! withdrawals (docs/design/management-api.md §8). Key material is never read here.

use crate::exec::{args, Row};
use crate::{Db, Result, StoreError};
use quorate_domain::Millis;

/// A live (not deleted) vault wallet as `/v1` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletRow {
    pub n: i64,
    pub id: String,
    pub name: String,
    pub archived_at: Option<Millis>,
    pub created_at: Millis,
}

/// One live account of a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub wallet_id: String,
    pub address: String,
    pub address_format: String,
    pub curve: String,
    pub path: String,
}

fn wallet(r: &Row) -> Result<WalletRow> {
    Ok(WalletRow {
        n: r.int("n")?,
        id: r.text("id")?,
        name: r.text("name")?,
        archived_at: r.opt_int("archived_at")?,
        created_at: r.int("created_at")?,
    })
}

const WALLET_COLS: &str = "n, id, name, archived_at, created_at";

/// The organization's live wallets after row `after_n`, oldest first, at most `limit` rows;
/// archived ones only when asked.
pub async fn list(
    db: Db<'_>,
    org: &str,
    include_archived: bool,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<WalletRow>> {
    let mut db = db.0;
    let archived = if include_archived {
        ""
    } else {
        " AND archived_at IS NULL"
    };
    let rows = db
        .rows(
            &format!("SELECT {WALLET_COLS} FROM wallets WHERE organization_id = $1 AND deleted_at IS NULL{archived} AND n > $2 ORDER BY n LIMIT {limit}"),
            args![org, after_n.unwrap_or(0)],
        )
        .await?;
    rows.iter().map(wallet).collect()
}

/// A live wallet of the organization (archived or not).
pub async fn get(db: Db<'_>, org: &str, id: &str) -> Result<Option<WalletRow>> {
    let mut db = db.0;
    db.row(
        &format!("SELECT {WALLET_COLS} FROM wallets WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"),
        args![org, id],
    )
    .await?
    .as_ref()
    .map(wallet)
    .transpose()
}

/// How many live, unarchived wallets the organization has.
pub async fn count_active(db: Db<'_>, org: &str) -> Result<i64> {
    let mut db = db.0;
    let row = db
        .row(
            "SELECT COUNT(*) AS c FROM wallets WHERE organization_id = $1 AND deleted_at IS NULL AND archived_at IS NULL",
            args![org],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    row.int("c")
}

/// Archives a live wallet (its key material and Turnkey face are untouched).
pub async fn archive(db: Db<'_>, org: &str, id: &str, at: Millis) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(db
        .run(
            "UPDATE wallets SET archived_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL AND archived_at IS NULL",
            args![org, id, at],
        )
        .await?)
}

/// The organization's default wallet id, read now (not from a cached organization).
pub async fn default_wallet_id(db: Db<'_>, org: &str) -> Result<Option<String>> {
    let mut db = db.0;
    match db
        .row(
            "SELECT default_wallet_id FROM organizations WHERE id = $1",
            args![org],
        )
        .await?
    {
        Some(r) => r.opt_text("default_wallet_id"),
        None => Ok(None),
    }
}

/// The live accounts of these wallets, oldest first.
pub async fn accounts(db: Db<'_>, org: &str, wallet_ids: &[String]) -> Result<Vec<AccountRow>> {
    if wallet_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut db = db.0;
    let marks: Vec<String> = (0..wallet_ids.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let mut a = args![org];
    a.extend(wallet_ids.iter().map(crate::exec::Arg::from));
    let rows = db
        .rows(
            &format!(
                "SELECT wallet_id, address, address_format, curve, path FROM wallet_accounts WHERE organization_id = $1 AND deleted_at IS NULL AND wallet_id IN ({}) ORDER BY n",
                marks.join(", ")
            ),
            a,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AccountRow {
                wallet_id: r.text("wallet_id")?,
                address: r.text("address")?,
                address_format: r.text("address_format")?,
                curve: r.text("curve")?,
                path: r.text("path")?,
            })
        })
        .collect()
}

/// A withdrawal (`POST …/wallets/{id}/withdraw`), one per organization and idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Withdrawal {
    pub id: String,
    pub organization_id: String,
    pub wallet_id: String,
    pub idempotency_key: String,
    /// SHA-256 of the request's canonical form: a replay must match it.
    pub request_hash: String,
    pub session_id: Option<String>,
    pub activity_id: String,
    pub chain_id: i64,
    pub from_address: String,
    pub to_address: String,
    /// `native` or an ERC-20 contract address.
    pub asset: String,
    /// Base units, decimal.
    pub amount: String,
    pub nonce: i64,
    /// Hex without `0x`, once signed.
    pub signed_tx: Option<String>,
    /// `0x…`, once signed.
    pub tx_hash: Option<String>,
    /// `signed`, `broadcast`, `broadcast_failed`, `consensus_needed` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

fn withdrawal(r: &Row) -> Result<Withdrawal> {
    Ok(Withdrawal {
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        wallet_id: r.text("wallet_id")?,
        idempotency_key: r.text("idempotency_key")?,
        request_hash: r.text("request_hash")?,
        session_id: r.opt_text("session_id")?,
        activity_id: r.text("activity_id")?,
        chain_id: r.int("chain_id")?,
        from_address: r.text("from_address")?,
        to_address: r.text("to_address")?,
        asset: r.text("asset")?,
        amount: r.text("amount")?,
        nonce: r.int("nonce")?,
        signed_tx: r.opt_text("signed_tx")?,
        tx_hash: r.opt_text("tx_hash")?,
        status: r.text("status")?,
        error: r.opt_text("error")?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

/// Inserts a withdrawal; `Conflict` when the idempotency key is taken.
pub async fn insert_withdrawal(db: Db<'_>, w: &Withdrawal) -> Result<()> {
    let mut db = db.0;
    db.run(
        "INSERT INTO withdrawals (id, organization_id, wallet_id, idempotency_key, request_hash, session_id, activity_id, chain_id, from_address, to_address, asset, amount, nonce, signed_tx, tx_hash, status, error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        args![
            &w.id,
            &w.organization_id,
            &w.wallet_id,
            &w.idempotency_key,
            &w.request_hash,
            w.session_id.clone(),
            &w.activity_id,
            w.chain_id,
            &w.from_address,
            &w.to_address,
            &w.asset,
            &w.amount,
            w.nonce,
            w.signed_tx.clone(),
            w.tx_hash.clone(),
            &w.status,
            w.error.clone(),
            w.created_at,
            w.updated_at,
        ],
    )
    .await?;
    Ok(())
}

/// The organization's withdrawal with this idempotency key.
pub async fn find_withdrawal(
    db: Db<'_>,
    org: &str,
    idempotency_key: &str,
) -> Result<Option<Withdrawal>> {
    let mut db = db.0;
    db.row(
        "SELECT * FROM withdrawals WHERE organization_id = $1 AND idempotency_key = $2",
        args![org, idempotency_key],
    )
    .await?
    .as_ref()
    .map(withdrawal)
    .transpose()
}

/// Records a withdrawal's progress: status, signed transaction and hash, error.
pub async fn update_withdrawal(db: Db<'_>, w: &Withdrawal) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(db
        .run(
            "UPDATE withdrawals SET status = $3, signed_tx = $4, tx_hash = $5, error = $6, updated_at = $7 WHERE organization_id = $1 AND id = $2",
            args![
                &w.organization_id,
                &w.id,
                &w.status,
                w.signed_tx.clone(),
                w.tx_hash.clone(),
                w.error.clone(),
                w.updated_at,
            ],
        )
        .await?)
}
