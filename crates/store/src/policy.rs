//! Policies and organization features.

use crate::exec::{args, Exec, Row};
use crate::{PolicyEvaluationRecord, Result, StoreError};
use quorate_domain::{BearerKeyRecord, Millis, Policy};

const COLS: &str =
    "id, organization_id, name, effect, condition, consensus, notes, created_at, updated_at";

fn policy(row: &Row) -> Result<Policy> {
    Ok(Policy {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        name: row.text("name")?,
        effect: row.text("effect")?,
        condition: row.text("condition")?,
        consensus: row.text("consensus")?,
        notes: row.text("notes")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) async fn get(db: &mut dyn Exec, org: &str, id: &str) -> Result<Option<Policy>> {
    let sql = format!(
        "SELECT {COLS} FROM policies WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
    );
    db.row(&sql, args![org, id])
        .await?
        .as_ref()
        .map(policy)
        .transpose()
}

pub(crate) async fn list(db: &mut dyn Exec, org: &str) -> Result<Vec<Policy>> {
    let sql = format!(
        "SELECT {COLS} FROM policies WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY n"
    );
    db.rows(&sql, args![org])
        .await?
        .iter()
        .map(policy)
        .collect()
}

pub(crate) async fn insert(db: &mut dyn Exec, p: &Policy) -> Result<()> {
    db.run(
        "INSERT INTO policies (id, organization_id, name, effect, condition, consensus, notes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![&p.id, &p.organization_id, &p.name, &p.effect, &p.condition, &p.consensus, &p.notes, p.created_at, p.updated_at],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn update(db: &mut dyn Exec, p: &Policy) -> Result<u64> {
    db.run(
        "UPDATE policies SET name = $3, effect = $4, condition = $5, consensus = $6, notes = $7, updated_at = $8 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
        args![&p.organization_id, &p.id, &p.name, &p.effect, &p.condition, &p.consensus, &p.notes, p.updated_at],
    )
    .await
}

pub(crate) async fn delete(db: &mut dyn Exec, org: &str, id: &str, at: Millis) -> Result<u64> {
    db.run(
        "UPDATE policies SET deleted_at = $3, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
        args![org, id, at],
    )
    .await
}

pub(crate) async fn set_features(
    db: &mut dyn Exec,
    org: &str,
    features: &[(String, String)],
    at: Millis,
) -> Result<u64> {
    let json = serde_json::to_string(features).map_err(|e| StoreError::Other(e.to_string()))?;
    db.run(
        "UPDATE organizations SET features = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL",
        args![org, json, at],
    )
    .await
}

pub(crate) async fn insert_evaluation(
    db: &mut dyn Exec,
    org: &str,
    r: &PolicyEvaluationRecord,
) -> Result<()> {
    db.run(
        "INSERT INTO policy_evaluations (id, organization_id, activity_id, vote_id, evaluations, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![&r.id, org, &r.activity_id, &r.vote_id, r.evaluations.to_string(), r.created_at],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn list_evaluations(
    db: &mut dyn Exec,
    org: &str,
    activity_id: &str,
) -> Result<Vec<PolicyEvaluationRecord>> {
    db.rows(
        "SELECT id, activity_id, vote_id, evaluations, created_at FROM policy_evaluations WHERE organization_id = $1 AND activity_id = $2 ORDER BY created_at, id",
        args![org, activity_id],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(PolicyEvaluationRecord {
            id: row.text("id")?,
            activity_id: row.text("activity_id")?,
            vote_id: row.text("vote_id")?,
            evaluations: serde_json::from_str(&row.text("evaluations")?)
                .map_err(|e| StoreError::Other(format!("corrupt `evaluations`: {e}")))?,
            created_at: row.int("created_at")?,
        })
    })
    .collect()
}

// ---- management-API keys ----

pub(crate) const BEARER_COLS: &str = "n, id, organization_id, project_id, type, environment, name, key_prefix, secret_hash, allowed_origins, scopes, source, created_by_user_id, created_at, updated_at, last_used_at, expires_at, grace_expires_at, revoked_at, key_last4, rate_limit, rate_window_ms, device_name, rotated_at, replaces_key_id, replaced_by_key_id";

fn strings(row: &Row, col: &str) -> Result<Vec<String>> {
    serde_json::from_str(&row.text(col)?)
        .map_err(|e| StoreError::Other(format!("corrupt `{col}`: {e}")))
}

pub(crate) fn bearer(row: &Row) -> Result<BearerKeyRecord> {
    Ok(BearerKeyRecord {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        project_id: row.opt_text("project_id")?,
        key_type: row.text("type")?,
        environment: row.text("environment")?,
        name: row.text("name")?,
        key_prefix: row.text("key_prefix")?,
        secret_hash: row.text("secret_hash")?,
        allowed_origins: strings(row, "allowed_origins")?,
        scopes: strings(row, "scopes")?,
        source: row.text("source")?,
        created_by_user_id: row.text("created_by_user_id")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        expires_at: row.opt_int("expires_at")?,
        grace_expires_at: row.opt_int("grace_expires_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        key_last4: row.text("key_last4")?,
        rate_limit: match (row.opt_int("rate_limit")?, row.opt_int("rate_window_ms")?) {
            (Some(l), Some(w)) => Some((l, w)),
            _ => None,
        },
        device_name: row.opt_text("device_name")?,
        rotated_at: row.opt_int("rotated_at")?,
        replaces_key_id: row.opt_text("replaces_key_id")?,
        replaced_by_key_id: row.opt_text("replaced_by_key_id")?,
    })
}

pub(crate) async fn find_bearer(
    db: &mut dyn Exec,
    secret_hash: &str,
) -> Result<Option<BearerKeyRecord>> {
    let sql = format!("SELECT {BEARER_COLS} FROM bearer_keys WHERE secret_hash = $1");
    db.row(&sql, args![secret_hash])
        .await?
        .as_ref()
        .map(bearer)
        .transpose()
}

pub(crate) async fn insert_bearer(db: &mut dyn Exec, k: &BearerKeyRecord) -> Result<()> {
    let json =
        |v: &Vec<String>| serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()));
    db.run(
        "INSERT INTO bearer_keys (id, organization_id, project_id, type, environment, name, key_prefix, secret_hash, allowed_origins, scopes, source, created_by_user_id, created_at, updated_at, expires_at, key_last4, rate_limit, rate_window_ms, device_name, replaces_key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        args![&k.id, &k.organization_id, k.project_id.clone(), &k.key_type, &k.environment, &k.name, &k.key_prefix, &k.secret_hash, json(&k.allowed_origins)?, json(&k.scopes)?, &k.source, &k.created_by_user_id, k.created_at, k.updated_at, k.expires_at, &k.key_last4, k.rate_limit.map(|r| r.0), k.rate_limit.map(|r| r.1), k.device_name.clone(), k.replaces_key_id.clone()],
    )
    .await
    .map(|_| ())
}

pub(crate) async fn get_bearer(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
) -> Result<Option<BearerKeyRecord>> {
    let sql =
        format!("SELECT {BEARER_COLS} FROM bearer_keys WHERE organization_id = $1 AND id = $2");
    db.row(&sql, args![org, id])
        .await?
        .as_ref()
        .map(bearer)
        .transpose()
}

pub(crate) async fn list_bearer(db: &mut dyn Exec, org: &str) -> Result<Vec<BearerKeyRecord>> {
    let sql =
        format!("SELECT {BEARER_COLS} FROM bearer_keys WHERE organization_id = $1 ORDER BY n");
    db.rows(&sql, args![org])
        .await?
        .iter()
        .map(bearer)
        .collect()
}

pub(crate) async fn revoke_bearer(
    db: &mut dyn Exec,
    org: &str,
    id: &str,
    at: Millis,
) -> Result<u64> {
    db.run(
        "UPDATE bearer_keys SET revoked_at = $3, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL",
        args![org, id, at],
    )
    .await
}
