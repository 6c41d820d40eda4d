//! The vault's SQL: wallets, accounts, private keys, data keys and pending import keys.
//! Sealed values are stored as base64 text; this module never sees plaintext secrets.

use crate::exec::{args, Arg, Exec, Row};
use crate::{Page, Result, StoreError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use quorate_domain::{
    KeyAddress, KeyRef, Millis, PrivateKey, Sealed, Wallet, WalletAccount, WalletSecrets,
};
use std::collections::HashMap;

const WALLET_COLS: &str = "id, organization_id, name, exported, imported, created_at, updated_at";
const ACCOUNT_COLS: &str = "a.id, a.organization_id, a.wallet_id, a.curve, a.path_format, a.path, a.address_format, a.address, a.public_key, a.name, a.created_at, a.updated_at";
const KEY_COLS: &str = "id, organization_id, name, curve, public_key, addresses, exported, imported, created_at, updated_at";

fn sealed(row: &Row, col: &str) -> Result<Sealed> {
    B64.decode(row.text(col)?)
        .map(Sealed)
        .map_err(|_| StoreError::Other(format!("corrupt sealed value in `{col}`")))
}

fn text(s: &Sealed) -> String {
    B64.encode(&s.0)
}

fn wallet(row: &Row) -> Result<Wallet> {
    Ok(Wallet {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        name: row.text("name")?,
        exported: row.int("exported")? != 0,
        imported: row.int("imported")? != 0,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn account(row: &Row) -> Result<WalletAccount> {
    Ok(WalletAccount {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        wallet_id: row.text("wallet_id")?,
        curve: row.text("curve")?,
        path_format: row.text("path_format")?,
        path: row.text("path")?,
        address_format: row.text("address_format")?,
        address: row.text("address")?,
        public_key: row.text("public_key")?,
        name: row.opt_text("name")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn private_key(row: &Row) -> Result<PrivateKey> {
    let addresses: Vec<(String, String)> = serde_json::from_str(&row.text("addresses")?)
        .map_err(|e| StoreError::Other(format!("corrupt `addresses`: {e}")))?;
    Ok(PrivateKey {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        name: row.text("name")?,
        curve: row.text("curve")?,
        public_key: row.text("public_key")?,
        addresses: addresses
            .into_iter()
            .map(|(format, address)| KeyAddress { format, address })
            .collect(),
        tag_ids: Vec::new(),
        exported: row.int("exported")? != 0,
        imported: row.int("imported")? != 0,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// Attaches private-key tag memberships.
async fn attach_tags(db: &mut dyn Exec, org: &str, keys: &mut [PrivateKey]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let rows = db
        .rows(
            "SELECT m.member_id, m.tag_id FROM tag_members m JOIN tags t ON t.id = m.tag_id \
             WHERE t.organization_id = $1 AND t.kind = 'TAG_TYPE_PRIVATE_KEY' ORDER BY t.created_at, t.id",
            args![org],
        )
        .await?;
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        by_key
            .entry(row.text("member_id")?)
            .or_default()
            .push(row.text("tag_id")?);
    }
    for k in keys.iter_mut() {
        k.tag_ids = by_key.remove(&k.id).unwrap_or_default();
    }
    Ok(())
}

pub(crate) async fn get_data_key(db: &mut dyn Exec, org: &str) -> Result<Option<Sealed>> {
    db.row(
        "SELECT wrapped FROM data_keys WHERE organization_id = $1",
        args![org],
    )
    .await?
    .map(|r| sealed(&r, "wrapped"))
    .transpose()
}

pub(crate) async fn insert_data_key(
    db: &mut dyn Exec,
    org: &str,
    wrapped: &Sealed,
    at: Millis,
) -> Result<()> {
    db.run(
        "INSERT INTO data_keys (organization_id, wrapped, created_at) VALUES ($1, $2, $3)",
        args![org, text(wrapped), at],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn get_wallet(db: &mut dyn Exec, org: &str, id: &str) -> Result<Option<Wallet>> {
    let sql = format!("SELECT {WALLET_COLS} FROM wallets WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL");
    db.row(&sql, args![org, id])
        .await?
        .as_ref()
        .map(wallet)
        .transpose()
}

pub(crate) async fn get_wallet_secrets(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
) -> Result<Option<WalletSecrets>> {
    let sql = format!("SELECT {WALLET_COLS}, sealed_mnemonic, sealed_seed FROM wallets WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL");
    let Some(row) = db.row(&sql, args![org, id]).await? else {
        return Ok(None);
    };
    Ok(Some(WalletSecrets {
        wallet: wallet(&row)?,
        mnemonic: sealed(&row, "sealed_mnemonic")?,
        seed: sealed(&row, "sealed_seed")?,
    }))
}

pub(crate) async fn list_wallets(db: &mut dyn Exec, org: &str) -> Result<Vec<Wallet>> {
    let sql = format!("SELECT {WALLET_COLS} FROM wallets WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY n");
    db.rows(&sql, args![org])
        .await?
        .iter()
        .map(wallet)
        .collect()
}

/// Live accounts of live wallets, oldest first, paged by account id.
pub(crate) async fn list_wallet_accounts(
    db: &mut dyn Exec,
    org: &str,
    wallet_id: Option<&str>,
    page: &Page,
) -> Result<Vec<WalletAccount>> {
    let mut a = args![org];
    let mut sql = format!("SELECT {ACCOUNT_COLS} FROM wallet_accounts a JOIN wallets w ON w.id = a.wallet_id AND w.organization_id = a.organization_id AND w.deleted_at IS NULL WHERE a.organization_id = $1 AND a.deleted_at IS NULL");
    if let Some(w) = wallet_id {
        a.push(Arg::from(w));
        sql.push_str(&format!(" AND a.wallet_id = ${}", a.len()));
    }
    let before = cursor_n(db, org, wallet_id, &page.before).await?;
    let after = cursor_n(db, org, wallet_id, &page.after).await?;
    let reverse = crate::sql::page_clause(&mut sql, &mut a, page, "a.n", before, after, false);
    let mut out = db
        .rows(&sql, a)
        .await?
        .iter()
        .map(account)
        .collect::<Result<Vec<_>>>()?;
    if reverse {
        out.reverse();
    }
    Ok(out)
}

/// The position of a cursor, which must name a live account of this listing.
async fn cursor_n(
    db: &mut dyn Exec,
    org: &str,
    wallet_id: Option<&str>,
    id: &Option<String>,
) -> Result<Option<i64>> {
    let Some(id) = id else { return Ok(None) };
    let row = db
        .row(
            "SELECT n, wallet_id FROM wallet_accounts WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL",
            args![id.as_str(), org],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    if wallet_id.is_some_and(|w| row.text("wallet_id").is_ok_and(|r| r != w)) {
        return Err(StoreError::NotFound);
    }
    row.int("n").map(Some)
}

/// A live account of a live wallet, by address (or by path when `address` is `None`).
pub(crate) async fn get_wallet_account(
    db: &mut dyn Exec,
    org: &str,
    wallet_id: &str,
    address: Option<&str>,
    path: Option<&str>,
) -> Result<Option<WalletAccount>> {
    let (col, val) = match (address, path) {
        (Some(a), _) => ("a.address", a),
        (None, Some(p)) => ("a.path", p),
        (None, None) => return Ok(None),
    };
    let sql = format!("SELECT {ACCOUNT_COLS} FROM wallet_accounts a JOIN wallets w ON w.id = a.wallet_id AND w.organization_id = a.organization_id AND w.deleted_at IS NULL WHERE a.organization_id = $1 AND a.wallet_id = $2 AND {col} = $3 AND a.deleted_at IS NULL ORDER BY a.n LIMIT 1");
    db.row(&sql, args![org, wallet_id, val])
        .await?
        .as_ref()
        .map(account)
        .transpose()
}

/// The key `sign_with` names in `org`: a wallet account's address, a private key's id, or a
/// private key's address (live rows of live wallets only), with its sealed private key.
pub(crate) async fn find_key(
    db: &mut dyn Exec,
    org: &str,
    sign_with: &str,
) -> Result<Option<(KeyRef, Sealed)>> {
    let sql = format!("SELECT {ACCOUNT_COLS}, a.sealed_key FROM wallet_accounts a JOIN wallets w ON w.id = a.wallet_id AND w.organization_id = a.organization_id AND w.deleted_at IS NULL WHERE a.organization_id = $1 AND a.address = $2 AND a.deleted_at IS NULL ORDER BY a.n LIMIT 1");
    if let Some(row) = db.row(&sql, args![org, sign_with]).await? {
        return Ok(Some((
            KeyRef::Account(account(&row)?),
            sealed(&row, "sealed_key")?,
        )));
    }
    let sql = format!("SELECT {KEY_COLS}, sealed_key FROM private_keys WHERE organization_id = $1 AND deleted_at IS NULL AND (id = $2 OR id IN (SELECT private_key_id FROM private_key_addresses WHERE organization_id = $1 AND address = $2)) ORDER BY n LIMIT 1");
    let Some(row) = db.row(&sql, args![org, sign_with]).await? else {
        return Ok(None);
    };
    let mut keys = [private_key(&row)?];
    attach_tags(db, org, &mut keys).await?;
    let [key] = keys;
    Ok(Some((KeyRef::PrivateKey(key), sealed(&row, "sealed_key")?)))
}

pub(crate) async fn get_private_key(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
) -> Result<Option<PrivateKey>> {
    let sql = format!("SELECT {KEY_COLS} FROM private_keys WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL");
    let Some(row) = db.row(&sql, args![org, id]).await? else {
        return Ok(None);
    };
    let mut keys = [private_key(&row)?];
    attach_tags(db, org, &mut keys).await?;
    let [key] = keys;
    Ok(Some(key))
}

pub(crate) async fn list_private_keys(db: &mut dyn Exec, org: &str) -> Result<Vec<PrivateKey>> {
    let sql = format!("SELECT {KEY_COLS} FROM private_keys WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY n");
    let mut keys = db
        .rows(&sql, args![org])
        .await?
        .iter()
        .map(private_key)
        .collect::<Result<Vec<_>>>()?;
    attach_tags(db, org, &mut keys).await?;
    Ok(keys)
}

pub(crate) async fn get_import_key(
    db: &mut dyn Exec,
    org: &str,
    user: &str,
) -> Result<Option<Sealed>> {
    db.row(
        "SELECT sealed_key FROM import_keys WHERE organization_id = $1 AND user_id = $2",
        args![org, user],
    )
    .await?
    .map(|r| sealed(&r, "sealed_key"))
    .transpose()
}

// ---- writes ----

pub(crate) async fn insert_wallet(db: &mut dyn Exec, w: &WalletSecrets) -> Result<()> {
    let x = &w.wallet;
    db.run(
        "INSERT INTO wallets (id, organization_id, name, sealed_mnemonic, sealed_seed, exported, imported, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![&x.id, &x.organization_id, &x.name, text(&w.mnemonic), text(&w.seed), i64::from(x.exported), i64::from(x.imported), x.created_at, x.updated_at],
    )
    .await
    .map(|_| ())
}

/// Writes name, exported and updated_at of a live wallet.
pub(crate) async fn update_wallet(db: &mut dyn Exec, w: &Wallet) -> Result<u64> {
    db.run(
        "UPDATE wallets SET name = $3, exported = $4, updated_at = $5 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
        args![&w.organization_id, &w.id, &w.name, i64::from(w.exported), w.updated_at],
    )
    .await
}

pub(crate) async fn delete_wallet(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
    at: Millis,
) -> Result<u64> {
    let n = db
        .run(
            "UPDATE wallets SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
            args![org, id, at],
        )
        .await?;
    db.run(
        "UPDATE wallet_accounts SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND wallet_id = $2 AND deleted_at IS NULL",
        args![org, id, at],
    )
    .await?;
    Ok(n)
}

pub(crate) async fn insert_wallet_account(
    db: &mut dyn Exec,
    a: &WalletAccount,
    key: &Sealed,
) -> Result<()> {
    db.run(
        "INSERT INTO wallet_accounts (id, organization_id, wallet_id, curve, path_format, path, address_format, address, public_key, sealed_key, created_at, updated_at, name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        args![&a.id, &a.organization_id, &a.wallet_id, &a.curve, &a.path_format, &a.path, &a.address_format, &a.address, &a.public_key, text(key), a.created_at, a.updated_at, a.name.clone()],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn insert_private_key(
    db: &mut dyn Exec,
    k: &PrivateKey,
    key: &Sealed,
) -> Result<()> {
    let addresses: Vec<(&str, &str)> = k
        .addresses
        .iter()
        .map(|a| (a.format.as_str(), a.address.as_str()))
        .collect();
    let addresses = serde_json::to_string(&addresses)
        .map_err(|e| StoreError::Other(format!("cannot encode addresses: {e}")))?;
    db.run(
        "INSERT INTO private_keys (id, organization_id, name, curve, public_key, addresses, sealed_key, exported, imported, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![&k.id, &k.organization_id, &k.name, &k.curve, &k.public_key, addresses, text(key), i64::from(k.exported), i64::from(k.imported), k.created_at, k.updated_at],
    )
    .await?;
    let mut seen: Vec<&str> = Vec::new();
    for a in &k.addresses {
        if seen.contains(&a.address.as_str()) {
            continue;
        }
        seen.push(&a.address);
        db.run(
            "INSERT INTO private_key_addresses (organization_id, address, private_key_id) VALUES ($1, $2, $3)",
            args![&k.organization_id, &a.address, &k.id],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn mark_private_key_exported(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
    at: Millis,
) -> Result<u64> {
    db.run(
        "UPDATE private_keys SET exported = 1, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
        args![org, id, at],
    )
    .await
}

pub(crate) async fn delete_private_key(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
    at: Millis,
) -> Result<u64> {
    let n = db
        .run(
            "UPDATE private_keys SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
            args![org, id, at],
        )
        .await?;
    if n > 0 {
        db.run("DELETE FROM tag_members WHERE member_id = $1", args![id])
            .await?;
    }
    Ok(n)
}

/// Replaces the user's pending import key.
pub(crate) async fn set_import_key(
    db: &mut dyn Exec,
    org: &str,
    user: &str,
    key: &Sealed,
    at: Millis,
) -> Result<()> {
    db.run(
        "DELETE FROM import_keys WHERE organization_id = $1 AND user_id = $2",
        args![org, user],
    )
    .await?;
    db.run(
        "INSERT INTO import_keys (organization_id, user_id, sealed_key, created_at) VALUES ($1, $2, $3, $4)",
        args![org, user, text(key), at],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn delete_import_key(db: &mut dyn Exec, org: &str, user: &str) -> Result<()> {
    db.run(
        "DELETE FROM import_keys WHERE organization_id = $1 AND user_id = $2",
        args![org, user],
    )
    .await
    .map(|_| ())
}
