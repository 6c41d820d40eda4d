//! `/v1` use cases: members (docs/design/management-api.md §1, §2). A member is a live user of
//! the organization; its role is the stored membership role, else `owner` for a root user,
//! else `member`.

use super::{MgmtResult, Target};
use crate::App;
use quorate_store::mgmt::members as store;

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
}
