//! Organizations' `/v1` columns (slug, status, operator user, default wallet).

use crate::exec::args;
use crate::{Db, Result};
use quorate_domain::Millis;

/// Marks a sub-organization as created through `/v1`: its slug (unique: `Conflict` when
/// taken) and the user its parent's keys act as.
pub async fn set_created_via_v1(
    db: Db<'_>,
    org: &str,
    slug: &str,
    operator_user_id: &str,
) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(db
        .run(
            "UPDATE organizations SET slug = $2, operator_user_id = $3 WHERE id = $1 AND deleted_at IS NULL",
            args![org, slug, operator_user_id],
        )
        .await?)
}

/// Whether a live or deleted organization already has this slug.
pub async fn slug_taken(db: Db<'_>, slug: &str) -> Result<bool> {
    let mut db = db.0;
    Ok(db
        .row("SELECT id FROM organizations WHERE slug = $1", args![slug])
        .await?
        .is_some())
}

pub async fn set_name(db: Db<'_>, org: &str, name: &str, at: Millis) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(db
        .run(
            "UPDATE organizations SET name = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL",
            args![org, name, at],
        )
        .await?)
}

pub async fn set_suspended(db: Db<'_>, org: &str, suspended: bool, at: Millis) -> Result<()> {
    let mut db = db.0;
    let status = if suspended { "suspended" } else { "active" };
    crate::sql::changed(db
        .run(
            "UPDATE organizations SET status = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL",
            args![org, status, at],
        )
        .await?)
}

pub async fn set_default_wallet(db: Db<'_>, org: &str, wallet_id: Option<&str>) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(
        db.run(
            "UPDATE organizations SET default_wallet_id = $2 WHERE id = $1 AND deleted_at IS NULL",
            args![org, wallet_id.map(str::to_string)],
        )
        .await?,
    )
}

/// Live sub-organizations of `parent` after row `after_n`, oldest first: `(n, id)`, at most
/// `limit` rows.
pub async fn list_children(
    db: Db<'_>,
    parent: &str,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, String)>> {
    let mut db = db.0;
    let rows = db
        .rows(
            &format!("SELECT n, id FROM organizations WHERE parent_id = $1 AND deleted_at IS NULL AND n > $2 ORDER BY n LIMIT {limit}"),
            args![parent, after_n.unwrap_or(0)],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.int("n")?, r.text("id")?)))
        .collect()
}
