//! Invitations to join an organization (docs/design/management-api.md §8). A pending invite
//! past its `expires_at` reads as `expired`; writers flip such rows first, in their own
//! transaction, so the one-pending-invite-per-email index only holds live invites.

use crate::exec::{args, Row};
use crate::{Db, Result};
use quorate_domain::Millis;

/// One invite, with its status as of the read (`pending` past expiry reads `expired`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub n: i64,
    pub id: String,
    pub organization_id: String,
    pub email_norm: String,
    pub role: String,
    pub status: String,
    pub invited_by_user_id: String,
    pub accepted_user_id: Option<String>,
    pub expires_at: Millis,
    pub accepted_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub created_at: Millis,
}

/// The status as of `$1` (now).
const STATUS: &str =
    "CASE WHEN status = 'pending' AND expires_at <= $1 THEN 'expired' ELSE status END";

fn cols() -> String {
    format!(
        "n, id, organization_id, email_norm, role, {STATUS} AS status, invited_by_user_id, \
         accepted_user_id, expires_at, accepted_at, revoked_at, created_at"
    )
}

fn invite(r: &Row) -> Result<Invite> {
    Ok(Invite {
        n: r.int("n")?,
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        email_norm: r.text("email_norm")?,
        role: r.text("role")?,
        status: r.text("status")?,
        invited_by_user_id: r.text("invited_by_user_id")?,
        accepted_user_id: r.opt_text("accepted_user_id")?,
        expires_at: r.int("expires_at")?,
        accepted_at: r.opt_int("accepted_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        created_at: r.int("created_at")?,
    })
}

/// A new pending invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvite<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub email_norm: &'a str,
    pub role: &'a str,
    pub invited_by_user_id: &'a str,
    pub expires_at: Millis,
}

/// Marks `org`'s pending invites past their expiry as `expired` (so a new one may be made).
pub async fn expire_due(db: Db<'_>, org: &str, now: Millis) -> Result<u64> {
    let mut db = db.0;
    db.run(
        "UPDATE invites SET status = 'expired', updated_at = $1 WHERE organization_id = $2 AND status = 'pending' AND expires_at <= $1",
        args![now, org],
    )
    .await
}

/// Inserts a pending invite; `Conflict` when the email already has one in the organization.
pub async fn insert(db: Db<'_>, i: &NewInvite<'_>, now: Millis) -> Result<()> {
    let mut db = db.0;
    db.run(
        "INSERT INTO invites (id, organization_id, email_norm, role, status, invited_by_user_id, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $7)",
        args![i.id, i.organization_id, i.email_norm, i.role, i.invited_by_user_id, i.expires_at, now],
    )
    .await?;
    Ok(())
}

/// The invite `id` (of `org` when given) as of `now`.
pub async fn get(db: Db<'_>, org: Option<&str>, id: &str, now: Millis) -> Result<Option<Invite>> {
    let mut db = db.0;
    let row = match org {
        Some(org) => {
            db.row(
                &format!(
                    "SELECT {} FROM invites WHERE id = $2 AND organization_id = $3",
                    cols()
                ),
                args![now, id, org],
            )
            .await?
        }
        None => {
            db.row(
                &format!("SELECT {} FROM invites WHERE id = $2", cols()),
                args![now, id],
            )
            .await?
        }
    };
    row.as_ref().map(invite).transpose()
}

/// `org`'s invites with status `status` (as of `now`; `None` = every status) after row
/// `after_n`, oldest first, at most `limit`.
pub async fn list(
    db: Db<'_>,
    org: &str,
    status: Option<&str>,
    now: Millis,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<Invite>> {
    let mut db = db.0;
    let mut sql = format!(
        "SELECT {} FROM invites WHERE organization_id = $2 AND n > $3",
        cols()
    );
    let mut a = args![now, org, after_n.unwrap_or(0)];
    if let Some(s) = status {
        sql.push_str(&format!(" AND {STATUS} = $4"));
        a.extend(args![s]);
    }
    sql.push_str(&format!(" ORDER BY n LIMIT {limit}"));
    db.rows(&sql, a).await?.iter().map(invite).collect()
}

/// Pending, unexpired invites for this (lowercased) email in every organization, after row
/// `after_n`, oldest first, at most `limit`.
pub async fn pending_for_email(
    db: Db<'_>,
    email_norm: &str,
    now: Millis,
    after_n: Option<i64>,
    limit: u32,
) -> Result<Vec<Invite>> {
    let mut db = db.0;
    db.rows(
        &format!(
            "SELECT {} FROM invites WHERE email_norm = $2 AND status = 'pending' AND expires_at > $1 AND n > $3 ORDER BY n LIMIT {limit}",
            cols()
        ),
        args![now, email_norm, after_n.unwrap_or(0)],
    )
    .await?
    .iter()
    .map(invite)
    .collect()
}

/// Revokes a pending, unexpired invite; `NotFound` when it is not (any more).
pub async fn revoke(db: Db<'_>, org: &str, id: &str, now: Millis) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(
        db.run(
            "UPDATE invites SET status = 'revoked', revoked_at = $1, updated_at = $1 \
             WHERE id = $2 AND organization_id = $3 AND status = 'pending' AND expires_at > $1",
            args![now, id, org],
        )
        .await?,
    )
}

/// Marks a pending, unexpired invite accepted by `user_id`; `NotFound` when it is not (any
/// more) pending.
pub async fn accept(db: Db<'_>, id: &str, user_id: &str, now: Millis) -> Result<()> {
    let mut db = db.0;
    crate::sql::changed(db
        .run(
            "UPDATE invites SET status = 'accepted', accepted_user_id = $1, accepted_at = $2, updated_at = $2 \
             WHERE id = $3 AND status = 'pending' AND expires_at > $2",
            args![user_id, now, id],
        )
        .await?)
}
