//! Management-API keys beyond the core trait's find/get/insert/revoke: filtered listing,
//! patching, rotation, and projects.

use crate::exec::{args, Arg};
use crate::policy::{bearer, BEARER_COLS};
use crate::sql::changed;
use crate::{Db, Result, StoreError};
use quorate_domain::{BearerKeyRecord, Millis};

/// Filters of `GET …/api-keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// `active`, `rotated`, `expired` or `revoked`.
    pub status: Option<String>,
    pub key_type: Option<String>,
    pub project_id: Option<String>,
}

/// The organization's keys matching `filter` after row `after_n`, oldest first, with their
/// row numbers (for cursors); at most `limit`.
pub async fn list(
    db: Db<'_>,
    org: &str,
    filter: &KeyFilter,
    now: Millis,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, BearerKeyRecord)>> {
    let mut db = db.0;
    let mut sql =
        format!("SELECT {BEARER_COLS} FROM bearer_keys WHERE organization_id = $1 AND n > $2");
    let mut a: Vec<Arg> = args![org, after_n.unwrap_or(0)];
    if let Some(t) = &filter.key_type {
        a.push(Arg::from(t));
        sql.push_str(&format!(" AND type = ${}", a.len()));
    }
    if let Some(p) = &filter.project_id {
        a.push(Arg::from(p));
        sql.push_str(&format!(" AND project_id = ${}", a.len()));
    }
    // Status is derived from several columns and the time: the same rule as
    // `BearerKeyRecord::status`.
    if let Some(status) = &filter.status {
        a.push(Arg::from(now));
        let t = a.len();
        let expired = format!("((expires_at IS NOT NULL AND expires_at <= ${t}) OR (grace_expires_at IS NOT NULL AND grace_expires_at <= ${t}))");
        let cond = match status.as_str() {
            "revoked" => "revoked_at IS NOT NULL".to_string(),
            "expired" => format!("revoked_at IS NULL AND {expired}"),
            "rotated" => format!("revoked_at IS NULL AND NOT {expired} AND rotated_at IS NOT NULL"),
            _ => format!("revoked_at IS NULL AND NOT {expired} AND rotated_at IS NULL"),
        };
        sql.push_str(&format!(" AND {cond}"));
    }
    sql.push_str(&format!(" ORDER BY n LIMIT {limit}"));
    db.rows(&sql, a)
        .await?
        .iter()
        .map(|r| Ok((r.int("n")?, bearer(r)?)))
        .collect()
}

/// Writes a key's name, origins, scopes and update time.
pub async fn update(db: Db<'_>, k: &BearerKeyRecord) -> Result<()> {
    let mut db = db.0;
    let json =
        |v: &Vec<String>| serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()));
    changed(
        db.run(
            "UPDATE bearer_keys SET name = $3, allowed_origins = $4, scopes = $5, updated_at = $6 WHERE organization_id = $1 AND id = $2",
            args![&k.organization_id, &k.id, &k.name, json(&k.allowed_origins)?, json(&k.scopes)?, k.updated_at],
        )
        .await?,
    )
}

/// Marks a live, unrotated key as replaced: valid until `grace_until`.
pub async fn mark_rotated(
    db: Db<'_>,
    org: &str,
    id: &str,
    replaced_by: &str,
    at: Millis,
    grace_until: Millis,
) -> Result<()> {
    let mut db = db.0;
    let n = db
        .run(
            "UPDATE bearer_keys SET rotated_at = $3, grace_expires_at = $4, replaced_by_key_id = $5, updated_at = $3 WHERE organization_id = $1 AND id = $2 AND revoked_at IS NULL AND rotated_at IS NULL",
            args![org, id, at, grace_until, replaced_by],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "the key was rotated or revoked meanwhile".into(),
        ));
    }
    Ok(())
}

/// Sets a key's rate limit (`None`: the deployment default).
pub async fn set_rate_limit(db: Db<'_>, id: &str, limit: Option<(i64, i64)>) -> Result<()> {
    let mut db = db.0;
    changed(
        db.run(
            "UPDATE bearer_keys SET rate_limit = $2, rate_window_ms = $3 WHERE id = $1",
            args![id, limit.map(|l| l.0), limit.map(|l| l.1)],
        )
        .await?,
    )
}

/// Advances keys' `last_used_at` (never backwards: several nodes may flush out of order).
pub async fn touch(db: Db<'_>, used: &[(String, Millis)]) -> Result<()> {
    let mut db = db.0;
    for (id, at) in used {
        db.run(
            "UPDATE bearer_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
            args![id, *at],
        )
        .await?;
    }
    Ok(())
}

/// A named partition of an organization's keys, usage and knowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub n: i64,
    /// `prj_…`.
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub created_at: Millis,
    pub deleted_at: Option<Millis>,
}

fn project(r: &crate::exec::Row) -> Result<Project> {
    Ok(Project {
        n: r.int("n")?,
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        name: r.text("name")?,
        created_at: r.int("created_at")?,
        deleted_at: r.opt_int("deleted_at")?,
    })
}

const PROJECT_COLS: &str = "n, id, organization_id, name, created_at, deleted_at";

pub async fn insert_project(db: Db<'_>, p: &Project) -> Result<()> {
    let mut db = db.0;
    db.run(
        "INSERT INTO projects (id, organization_id, name, created_at) VALUES ($1, $2, $3, $4)",
        args![&p.id, &p.organization_id, &p.name, p.created_at],
    )
    .await
    .map(|_| ())
}

pub async fn project_live(db: Db<'_>, org: &str, id: &str) -> Result<bool> {
    let mut db = db.0;
    Ok(db
        .row(
            "SELECT id FROM projects WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
            args![org, id],
        )
        .await?
        .is_some())
}

/// Live projects after row `after_n`, oldest first.
pub async fn list_projects(
    db: Db<'_>,
    org: &str,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<Project>> {
    let mut db = db.0;
    let sql = format!("SELECT {PROJECT_COLS} FROM projects WHERE organization_id = $1 AND deleted_at IS NULL AND n > $2 ORDER BY n LIMIT {limit}");
    db.rows(&sql, args![org, after_n.unwrap_or(0)])
        .await?
        .iter()
        .map(project)
        .collect()
}

/// Deletes a live project and revokes its keys; `None` when there is no such live project.
pub async fn delete_project(
    db: Db<'_>,
    org: &str,
    id: &str,
    at: Millis,
) -> Result<Option<Project>> {
    let mut db = db.0;
    let n = db
        .run(
            "UPDATE projects SET deleted_at = $3 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
            args![org, id, at],
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    db.run(
        "UPDATE bearer_keys SET revoked_at = $3, updated_at = $3 WHERE organization_id = $1 AND project_id = $2 AND revoked_at IS NULL",
        args![org, id, at],
    )
    .await?;
    let sql = format!("SELECT {PROJECT_COLS} FROM projects WHERE organization_id = $1 AND id = $2");
    db.row(&sql, args![org, id])
        .await?
        .as_ref()
        .map(project)
        .transpose()
}
