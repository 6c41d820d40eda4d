//! `/v1` use cases: members (docs/design/management-api.md §1, §2). A member is a live user of
//! the organization; its role is the stored membership role, else `owner` for a root user,
//! else `member`. Removing a member is a `DELETE_USERS` activity, so policies and consensus
//! apply exactly as on the Turnkey face.

use super::outcome::{activity_error, activity_status, Abort};
use super::{
    invalid, rfc3339, Access, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq, Target,
};
use crate::engine::{InternalSubmit, PostExec};
use crate::App;
use quorate_domain::{Activity, ActivityStatus};
use quorate_store::mgmt::members as store;
use quorate_store::StoreTx;
use serde_json::{json, Value};

/// A member's role: `Owner ⊃ Admin ⊃ Member` (ordered, so `role >= Role::Admin` reads "admin
/// or owner").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// A role from a request field: 422 naming `field` otherwise.
    pub(crate) fn field(field: &str, s: &str) -> MgmtResult<Role> {
        Role::parse(s).ok_or_else(|| {
            invalid(
                field,
                format!("must be `owner`, `admin` or `member`, got `{s}`"),
            )
        })
    }
}

/// `403 role_required` unless `have` is at least `need`.
pub(crate) fn require_role(have: Role, need: Role) -> MgmtResult<()> {
    if have >= need {
        Ok(())
    } else {
        Err(MgmtError::new(
            "role_required",
            format!("this action requires the `{}` role", need.as_str()),
        ))
    }
}

/// The role needed to grant or take `role` (owners are made and unmade by owners only).
pub(crate) fn role_to_manage(role: Role) -> Role {
    if role == Role::Owner {
        Role::Owner
    } else {
        Role::Admin
    }
}

/// The member resource (§2.1).
pub(crate) fn member_json(m: &store::Member) -> Value {
    json!({
        "id": m.user_id,
        "object": "member",
        "organization_id": m.organization_id,
        "user_id": m.user_id,
        "name": m.name,
        "email": m.email,
        "role": m.role,
        "is_root_user": m.is_root,
        "created_at": rfc3339(m.created_at),
    })
}

fn not_found() -> MgmtError {
    MgmtError::new("not_found", "no such member")
}

fn last_owner() -> MgmtError {
    MgmtError::new(
        "last_owner",
        "the organization's last owner cannot be demoted or removed",
    )
}

/// A keyset `created_at:user_id` (members are ordered by creation, then id).
fn member_keyset(m: &store::Member) -> String {
    format!("{}:{}", m.created_at, m.user_id)
}

fn parse_keyset(page: &PageReq) -> MgmtResult<Option<(i64, String)>> {
    page.after
        .as_deref()
        .map(|a| {
            a.split_once(':')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| invalid("cursor", "not a cursor of this list"))
        })
        .transpose()
}

/// After a completed `DELETE_USERS`: the organization keeps an owner, the membership goes.
struct RemovePost<'a> {
    org: &'a str,
    user_id: &'a str,
    abort: Abort,
}

#[async_trait::async_trait]
impl PostExec for RemovePost<'_> {
    async fn run(&self, tx: &mut dyn StoreTx, activity: &Activity) -> crate::Result<()> {
        if activity.status != ActivityStatus::Completed {
            return Ok(());
        }
        if store::count_owners(tx.db_handle()?, self.org).await? == 0 {
            return Err(self.abort.raise(last_owner()));
        }
        store::delete_membership(tx.db_handle()?, self.org, self.user_id).await?;
        Ok(())
    }
}

impl App {
    /// The acting user's role in the target organization; an actor without a user (read-only
    /// reach) or no longer a member is a `Member`.
    pub async fn v1_role(&self, t: &Target) -> MgmtResult<Role> {
        if t.actor.user_id.is_empty() {
            return Ok(Role::Member);
        }
        let mut reader = self.store.reader().await?;
        let m = store::get(reader.db_handle()?, &t.org.id, &t.actor.user_id).await?;
        Ok(m.and_then(|m| Role::parse(&m.role)).unwrap_or(Role::Member))
    }

    /// `GET O/members` (`members:read`): live users with their roles, oldest first.
    pub async fn v1_list_members(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        role: Option<&str>,
        page: &PageReq,
    ) -> MgmtResult<PageOut<Value>> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let role = role.map(|r| Role::field("role", r)).transpose()?;
        let after = parse_keyset(page)?;
        let mut reader = self.store.reader().await?;
        let rows = store::list(
            reader.db_handle()?,
            &t.org.id,
            role.map(Role::as_str),
            after,
            page.limit + 1,
        )
        .await?;
        Ok(PageOut::from_rows(rows, page.limit, member_keyset).map(|m| member_json(&m)))
    }

    /// `PATCH O/members/{userId}` (`members:manage`): owners grant and take `owner`, admins and
    /// owners change the rest; the last owner stays an owner.
    pub async fn v1_update_member(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        user_id: &str,
        role: &str,
    ) -> MgmtResult<Value> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let new = Role::field("role", role)?;
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(&t.org.id).await?;
        let actor = match store::get(tx.db_handle()?, &t.org.id, &t.actor.user_id).await? {
            Some(m) => Role::parse(&m.role).unwrap_or(Role::Member),
            None => Role::Member,
        };
        let target = store::get(tx.db_handle()?, &t.org.id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let old = Role::parse(&target.role).unwrap_or(Role::Member);
        require_role(actor, role_to_manage(old).max(role_to_manage(new)))?;
        if old == Role::Owner
            && new != Role::Owner
            && store::count_owners(tx.db_handle()?, &t.org.id).await? <= 1
        {
            return Err(last_owner());
        }
        if old != new {
            store::set_role(tx.db_handle()?, &t.org.id, user_id, new.as_str(), now).await?;
        }
        let updated = store::get(tx.db_handle()?, &t.org.id, user_id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(member_json(&updated))
    }

    /// `DELETE O/members/{userId}` (`members:manage`): a `DELETE_USERS` activity as the acting
    /// user. Answers the member with `removed` (`false` while the activity awaits consensus,
    /// then `true` for `202`) and the activity's id and status; `true` = completed.
    pub async fn v1_remove_member(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        user_id: &str,
    ) -> MgmtResult<(Value, bool)> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let target = {
            let mut reader = self.store.reader().await?;
            let target = store::get(reader.db_handle()?, &t.org.id, user_id)
                .await?
                .ok_or_else(not_found)?;
            let actor = store::get(reader.db_handle()?, &t.org.id, &t.actor.user_id)
                .await?
                .and_then(|m| Role::parse(&m.role))
                .unwrap_or(Role::Member);
            let role = Role::parse(&target.role).unwrap_or(Role::Member);
            require_role(actor, role_to_manage(role))?;
            if role == Role::Owner
                && store::count_owners(reader.db_handle()?, &t.org.id).await? <= 1
            {
                return Err(last_owner());
            }
            target
        };
        let post = RemovePost {
            org: &t.org.id,
            user_id,
            abort: Abort::default(),
        };
        let submitted = self
            .submit_internal(InternalSubmit {
                actor: &t.actor,
                org_id: &t.org.id,
                path: "delete_users",
                activity_type: "ACTIVITY_TYPE_DELETE_USERS",
                parameters: json!({ "userIds": [user_id] }),
                fingerprint: crate::engine::v1_fingerprint(
                    "DELETE /v1/organizations/{org_id}/members/{user_id}",
                    &t.org.id,
                    None,
                ),
                post_exec: Some(&post),
            })
            .await
            .map_err(|e| post.abort.or(e))?;
        let activity = submitted.activity;
        let mut data = member_json(&target);
        data["activity_id"] = json!(activity.id);
        data["activity_status"] = json!(activity_status(activity.status));
        match activity.status {
            ActivityStatus::Completed => {
                data["removed"] = json!(true);
                Ok((data, true))
            }
            ActivityStatus::ConsensusNeeded => {
                data["removed"] = json!(false);
                Ok((data, false))
            }
            _ => Err(activity_error(&activity, None)),
        }
    }
}
