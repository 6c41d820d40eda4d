//! Members of an organization (docs/design/management-api.md §1, §8): its live users, each
//! with a role — `memberships.role`, else `owner` for a root user, else `member`. People are
//! identified across organizations by their lowercased email (`lower(email)`, indexed).

use crate::exec::{args, Row};
use crate::{Db, Result};
use quorate_domain::Millis;

/// A live user of an organization with its resolved role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub organization_id: String,
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    pub is_root: bool,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub created_at: Millis,
}

const COLS: &str = "u.organization_id, u.id, u.name, u.email, u.is_root, u.created_at, \
    COALESCE(m.role, CASE WHEN u.is_root = 1 THEN 'owner' ELSE 'member' END) AS role";
const FROM: &str = "FROM users u LEFT JOIN memberships m \
    ON m.organization_id = u.organization_id AND m.user_id = u.id";
const ROLE: &str = "COALESCE(m.role, CASE WHEN u.is_root = 1 THEN 'owner' ELSE 'member' END)";

fn member(r: &Row) -> Result<Member> {
    Ok(Member {
        organization_id: r.text("organization_id")?,
        user_id: r.text("id")?,
        name: r.text("name")?,
        email: r.opt_text("email")?,
        is_root: r.int("is_root")? == 1,
        role: r.text("role")?,
        created_at: r.int("created_at")?,
    })
}

/// The live user `user_id` of `org` as a member.
pub async fn get(db: Db<'_>, org: &str, user_id: &str) -> Result<Option<Member>> {
    let mut db = db.0;
    db.row(
        &format!("SELECT {COLS} {FROM} WHERE u.organization_id = $1 AND u.id = $2 AND u.deleted_at IS NULL"),
        args![org, user_id],
    )
    .await?
    .as_ref()
    .map(member)
    .transpose()
}

/// Members of `org` oldest first (`created_at`, then id), after the keyset `after`, with role
/// `role` when given; at most `limit` rows.
pub async fn list(
    db: Db<'_>,
    org: &str,
    role: Option<&str>,
    after: Option<(Millis, String)>,
    limit: u32,
) -> Result<Vec<Member>> {
    let mut db = db.0;
    let (at, id) = after.unwrap_or((i64::MIN, String::new()));
    let mut sql = format!(
        "SELECT {COLS} {FROM} WHERE u.organization_id = $1 AND u.deleted_at IS NULL \
         AND (u.created_at > $2 OR (u.created_at = $2 AND u.id > $3))"
    );
    let mut a = args![org, at, id];
    if let Some(r) = role {
        sql.push_str(&format!(" AND {ROLE} = $4"));
        a.extend(args![r]);
    }
    sql.push_str(&format!(" ORDER BY u.created_at, u.id LIMIT {limit}"));
    db.rows(&sql, a).await?.iter().map(member).collect()
}

/// How many live members of `org` are owners.
pub async fn count_owners(db: Db<'_>, org: &str) -> Result<i64> {
    let mut db = db.0;
    let row = db
        .row(
            &format!("SELECT COUNT(*) AS c {FROM} WHERE u.organization_id = $1 AND u.deleted_at IS NULL AND {ROLE} = 'owner'"),
            args![org],
        )
        .await?;
    match row {
        Some(r) => r.int("c"),
        None => Ok(0),
    }
}

/// Sets the stored role of `user_id` in `org`.
pub async fn set_role(db: Db<'_>, org: &str, user_id: &str, role: &str, at: Millis) -> Result<()> {
    let mut db = db.0;
    db.run(
        "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at",
        args![org, user_id, role, at],
    )
    .await?;
    Ok(())
}

/// Drops the stored role of `user_id` in `org` (the user was removed).
pub async fn delete_membership(db: Db<'_>, org: &str, user_id: &str) -> Result<()> {
    let mut db = db.0;
    db.run(
        "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2",
        args![org, user_id],
    )
    .await?;
    Ok(())
}

/// How many live users of `org` have this (lowercased) email.
pub async fn count_with_email(db: Db<'_>, org: &str, email_norm: &str) -> Result<i64> {
    let mut db = db.0;
    let row = db
        .row(
            "SELECT COUNT(*) AS c FROM users WHERE organization_id = $1 AND lower(email) = $2 AND deleted_at IS NULL AND email IS NOT NULL",
            args![org, email_norm],
        )
        .await?;
    match row {
        Some(r) => r.int("c"),
        None => Ok(0),
    }
}

/// The organizations where a live user has this (lowercased) email: `(organization_id,
/// user_id)`, oldest user first.
pub async fn orgs_of_email(db: Db<'_>, email_norm: &str) -> Result<Vec<(String, String)>> {
    let mut db = db.0;
    let rows = db
        .rows(
            "SELECT organization_id, id FROM users WHERE lower(email) = $1 AND deleted_at IS NULL AND email IS NOT NULL ORDER BY created_at, id",
            args![email_norm],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.text("organization_id")?, r.text("id")?)))
        .collect()
}
