//! `/v1` use cases: invites (docs/design/management-api.md §1, §2). An invite names an email
//! and a role; the person with that email (the "current user" of a key, in any organization)
//! accepts it, which creates their user in the inviting organization through a
//! `CREATE_USERS` activity acting as the inviter, and records the role and the acceptance in
//! that activity's transaction.

use super::members::{member_json, require_role, role_to_manage, Role};
use super::outcome::{activity_error, activity_status, Abort};
use super::{invalid, rfc3339, Access, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq};
use crate::engine::{InternalSubmit, PostExec};
use crate::App;
use quorate_domain::{Activity, ActivityStatus, Millis};
use quorate_store::mgmt::{invites as store, members};
use quorate_store::{StoreError, StoreTx};
use serde_json::{json, Value};

/// Default lifetime of an invite: 7 days.
pub const DEFAULT_INVITE_SECONDS: i64 = 604_800;
/// Longest lifetime of an invite: 30 days.
pub const MAX_INVITE_SECONDS: i64 = 2_592_000;

const STATUSES: [&str; 4] = ["pending", "accepted", "revoked", "expired"];

/// The invite resource (§2.1).
fn invite_json(i: &store::Invite) -> Value {
    json!({
        "id": i.id,
        "object": "invite",
        "organization_id": i.organization_id,
        "email": i.email_norm,
        "role": i.role,
        "status": i.status,
        "invited_by_user_id": i.invited_by_user_id,
        "expires_at": rfc3339(i.expires_at),
        "accepted_at": i.accepted_at.map(rfc3339),
        "revoked_at": i.revoked_at.map(rfc3339),
        "created_at": rfc3339(i.created_at),
    })
}

fn not_found() -> MgmtError {
    MgmtError::new("not_found", "no such invite")
}

fn not_pending(status: &str) -> MgmtError {
    MgmtError::new(
        "invite_not_pending",
        format!("this invite is {status}, not pending"),
    )
}

fn already_member() -> MgmtError {
    MgmtError::new(
        "already_member",
        "a user with this email is already a member of the organization",
    )
}

/// An email as invites store it: trimmed, ASCII-lowercased; `local@domain`, printable ASCII,
/// at most 254 characters.
pub(crate) fn normalize_email(field: &str, email: &str) -> MgmtResult<String> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.is_ascii()
        && !e.chars().any(|c| c.is_ascii_control() || c == ' ')
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(e.to_ascii_lowercase())
    } else {
        Err(invalid(
            field,
            "must be an email address like name@example.com",
        ))
    }
}

/// After a completed `CREATE_USERS`: the invite is taken (still pending, not expired), the
/// email is the organization's only such user, and the new user gets the invite's role.
struct AcceptPost<'a> {
    invite: &'a store::Invite,
    now: Millis,
    abort: Abort,
}

#[async_trait::async_trait]
impl PostExec for AcceptPost<'_> {
    async fn run(&self, tx: &mut dyn StoreTx, activity: &Activity) -> crate::Result<()> {
        if activity.status != ActivityStatus::Completed {
            return Ok(());
        }
        let user_id = activity.result["createUsersResult"]["userIds"][0]
            .as_str()
            .ok_or_else(|| crate::AppError::internal("create_users returned no user id"))?
            .to_string();
        let org = &self.invite.organization_id;
        match store::accept(tx.db_handle()?, &self.invite.id, &user_id, self.now).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => {
                return Err(self.abort.raise(not_pending("no longer pending")));
            }
            Err(e) => return Err(e.into()),
        }
        if members::count_with_email(tx.db_handle()?, org, &self.invite.email_norm).await? > 1 {
            return Err(self.abort.raise(already_member()));
        }
        members::set_role(tx.db_handle()?, org, &user_id, &self.invite.role, self.now).await?;
        Ok(())
    }
}

impl App {
    /// The key's creating user (the "current user"), if it has an email: its email lowercased,
    /// as stored, and its name.
    async fn current_email(
        &self,
        p: &BearerPrincipal,
    ) -> MgmtResult<Option<(String, String, String)>> {
        let user = self
            .store
            .reader()
            .await?
            .get_user(&p.key.organization_id, &p.key.created_by_user_id)
            .await?;
        Ok(user.and_then(|u| {
            let email = u.email?;
            Some((email.trim().to_ascii_lowercase(), email, u.name))
        }))
    }

    /// `GET O/invites` (`invites:read`): the organization's invites with `status` (default
    /// `pending`; `all` lists every status), oldest first.
    pub async fn v1_list_invites(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        status: Option<&str>,
        page: &PageReq,
    ) -> MgmtResult<PageOut<Value>> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let status = match status.unwrap_or("pending") {
            "all" => None,
            s if STATUSES.contains(&s) => Some(s),
            s => {
                return Err(invalid(
                    "status",
                    format!("must be one of pending, accepted, revoked, expired, all; got `{s}`"),
                ))
            }
        };
        let after = page.after_n()?;
        let mut reader = self.store.reader().await?;
        let rows = store::list(
            reader.db_handle()?,
            &t.org.id,
            status,
            self.clock.now_ms(),
            after,
            page.limit + 1,
        )
        .await?;
        Ok(PageOut::from_rows(rows, page.limit, |i| i.n.to_string()).map(|i| invite_json(&i)))
    }

    /// `POST O/invites` (`invites:manage`): a pending invite for `email` with `role` (default
    /// `member`), valid `expires_in_seconds` (default 7 days, at most 30). Inviting an owner
    /// takes an owner, any other role an admin.
    pub async fn v1_create_invite(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        email: &str,
        role: Option<&str>,
        expires_in_seconds: Option<i64>,
    ) -> MgmtResult<Value> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let email = normalize_email("email", email)?;
        let role = role
            .map(|r| Role::field("role", r))
            .transpose()?
            .unwrap_or(Role::Member);
        let seconds = expires_in_seconds.unwrap_or(DEFAULT_INVITE_SECONDS);
        if !(1..=MAX_INVITE_SECONDS).contains(&seconds) {
            return Err(invalid(
                "expires_in_seconds",
                format!("must be from 1 to {MAX_INVITE_SECONDS}"),
            ));
        }
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(&t.org.id).await?;
        let actor = members::get(tx.db_handle()?, &t.org.id, &t.actor.user_id)
            .await?
            .and_then(|m| Role::parse(&m.role))
            .unwrap_or(Role::Member);
        require_role(actor, role_to_manage(role))?;
        if members::count_with_email(tx.db_handle()?, &t.org.id, &email).await? > 0 {
            return Err(already_member());
        }
        store::expire_due(tx.db_handle()?, &t.org.id, now).await?;
        let id = quorate_domain::id::prefixed_id("inv");
        let new = store::NewInvite {
            id: &id,
            organization_id: &t.org.id,
            email_norm: &email,
            role: role.as_str(),
            invited_by_user_id: &t.actor.user_id,
            expires_at: now.saturating_add(seconds.saturating_mul(1000)),
        };
        match store::insert(tx.db_handle()?, &new, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(MgmtError::new(
                    "invite_exists",
                    "this email already has a pending invite to the organization",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let invite = store::get(tx.db_handle()?, Some(&t.org.id), &id, now)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(invite_json(&invite))
    }

    /// `DELETE O/invites/{inviteId}` (`invites:manage`): revokes a pending invite.
    pub async fn v1_revoke_invite(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        invite_id: &str,
    ) -> MgmtResult<Value> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(&t.org.id).await?;
        let invite = store::get(tx.db_handle()?, Some(&t.org.id), invite_id, now)
            .await?
            .ok_or_else(not_found)?;
        if invite.status != "pending" {
            return Err(not_pending(&invite.status));
        }
        store::revoke(tx.db_handle()?, &t.org.id, invite_id, now).await?;
        let invite = store::get(tx.db_handle()?, Some(&t.org.id), invite_id, now)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(invite_json(&invite))
    }

    /// `GET /v1/invites` (`invites:read`): pending invites, in every organization, for the
    /// current user's email.
    pub async fn v1_my_invites(
        &self,
        p: &BearerPrincipal,
        page: &PageReq,
    ) -> MgmtResult<PageOut<Value>> {
        p.org_level()?;
        let after = page.after_n()?;
        let Some((email, _, _)) = self.current_email(p).await? else {
            return Ok(PageOut {
                items: Vec::new(),
                next: None,
            });
        };
        let mut reader = self.store.reader().await?;
        let rows = store::pending_for_email(
            reader.db_handle()?,
            &email,
            self.clock.now_ms(),
            after,
            page.limit + 1,
        )
        .await?;
        Ok(PageOut::from_rows(rows, page.limit, |i| i.n.to_string()).map(|i| invite_json(&i)))
    }

    /// `POST /v1/invites/{inviteId}/accept` (`invites:accept`): the current user joins the
    /// invite's organization. Answers the new member (`true`), or — while the `CREATE_USERS`
    /// activity awaits consensus — the invite with the activity (`false`).
    pub async fn v1_accept_invite(
        &self,
        p: &BearerPrincipal,
        invite_id: &str,
    ) -> MgmtResult<(Value, bool)> {
        p.org_level()?;
        let (email, stored_email, name) = self.current_email(p).await?.ok_or_else(not_found)?;
        let now = self.clock.now_ms();
        let mut reader = self.store.reader().await?;
        let invite = store::get(reader.db_handle()?, None, invite_id, now)
            .await?
            .filter(|i| i.email_norm == email)
            .ok_or_else(not_found)?;
        if invite.status != "pending" {
            return Err(not_pending(&invite.status));
        }
        let org = reader
            .get_organization(&invite.organization_id)
            .await?
            .ok_or_else(not_found)?;
        if org.v1.suspended {
            return Err(MgmtError::new(
                "organization_suspended",
                "the inviting organization is suspended",
            ));
        }
        if members::count_with_email(reader.db_handle()?, &org.id, &email).await? > 0 {
            return Err(already_member());
        }
        // The inviter acts; if the inviter has left, the organization's operator or first
        // root user does.
        let inviter_live = reader
            .get_user(&org.id, &invite.invited_by_user_id)
            .await?
            .is_some();
        let acting = if inviter_live {
            Some(invite.invited_by_user_id.clone())
        } else {
            org.v1
                .operator_user_id
                .clone()
                .or_else(|| org.root_user_ids.first().cloned())
        }
        .ok_or_else(not_found)?;
        drop(reader);
        let actor = p.actor(&acting);
        let post = AcceptPost {
            invite: &invite,
            now,
            abort: Abort::default(),
        };
        let submitted = self
            .submit_internal(InternalSubmit {
                actor: &actor,
                org_id: &org.id,
                path: "create_users",
                activity_type: "ACTIVITY_TYPE_CREATE_USERS_V3",
                parameters: json!({"users": [{
                    "userName": name,
                    "userEmail": stored_email,
                    "apiKeys": [],
                    "authenticators": [],
                    "oauthProviders": [],
                    "userTags": [],
                }]}),
                fingerprint: crate::engine::v1_fingerprint(
                    "POST /v1/invites/{invite_id}/accept",
                    &org.id,
                    None,
                ),
                post_exec: Some(&post),
            })
            .await
            .map_err(|e| post.abort.or(e))?;
        let activity = submitted.activity;
        match activity.status {
            ActivityStatus::Completed => {
                let user_id = activity.result["createUsersResult"]["userIds"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let mut reader = self.store.reader().await?;
                let m = members::get(reader.db_handle()?, &org.id, &user_id)
                    .await?
                    .ok_or_else(not_found)?;
                Ok((member_json(&m), true))
            }
            ActivityStatus::ConsensusNeeded => {
                let mut data = invite_json(&invite);
                data["activity_id"] = json!(activity.id);
                data["activity_status"] = json!(activity_status(activity.status));
                Ok((data, false))
            }
            _ => Err(activity_error(&activity, None)),
        }
    }
}
