//! `/v1` organizations: read, create (a sub-organization of the key's organization, through the
//! activity engine), list, rename, suspend (docs/design/management-api.md §1–2).

use super::outcome::{activity_error, Abort};
use super::{
    display_name, invalid, Access, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq, Target,
};
use crate::engine::{InternalSubmit, PostExec};
use crate::{App, AppError};
use quorate_domain::{Activity, ActivityStatus, Organization};
use quorate_store::mgmt::orgs as store;
use quorate_store::{StoreError, StoreTx};
use serde::Deserialize;
use serde_json::json;

/// `POST /v1/organizations` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// `PATCH /v1/organizations/{orgId}` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// `active` or `suspended`.
    #[serde(default)]
    pub status: Option<String>,
}

/// What a `POST /v1/organizations` produced: the organization, or the activity still waiting
/// for approvals.
#[derive(Debug)]
pub enum Created {
    Organization(Organization),
    Pending(Activity),
}

/// An organization of the organizations list, with the current user's role there.
#[derive(Debug, Clone)]
pub struct Listed {
    pub org: Organization,
    pub role: &'static str,
}

const RESULT_KEY: &str = "createSubOrganizationResultV8";

fn valid_slug(slug: &str) -> bool {
    let b = slug.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=64).contains(&b.len())
        && b.first().is_some_and(edge)
        && b.last().is_some_and(edge)
        && b.iter().all(inner)
}

fn slug_taken() -> MgmtError {
    MgmtError::new("slug_taken", "`slug`: another organization has this slug")
}

/// Marks the new sub-organization as `/v1`-created (slug, operator user) in the activity's
/// transaction, so a taken slug rolls the whole creation back.
struct MarkCreated {
    slug: String,
    abort: Abort,
}

#[async_trait::async_trait]
impl PostExec for MarkCreated {
    async fn run(&self, tx: &mut dyn StoreTx, activity: &Activity) -> crate::Result<()> {
        if activity.status != ActivityStatus::Completed {
            return Ok(());
        }
        let r = &activity.result[RESULT_KEY];
        let (Some(sub), Some(operator)) = (
            r["subOrganizationId"].as_str(),
            r["rootUserIds"][0].as_str(),
        ) else {
            return Err(AppError::internal("the creation left no organization"));
        };
        if store::slug_taken(tx.db_handle()?, &self.slug).await? {
            return Err(self.abort.raise(slug_taken()));
        }
        // A racing creation with the same slug loses on the unique index.
        store::set_created_via_v1(tx.db_handle()?, sub, &self.slug, operator)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => self.abort.raise(slug_taken()),
                other => other.into(),
            })
    }
}

impl App {
    /// `GET /v1/organizations/{orgId}` (`organizations:read`): the caller's own organization or
    /// one of its sub-organizations; anything else reads as not found.
    pub async fn v1_organization(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
    ) -> MgmtResult<Organization> {
        Ok(self.v1_reach(p, org_id, Access::Read).await?.org)
    }

    /// `POST /v1/organizations` (`organizations:create`): a sub-organization of the key's
    /// organization, created by a `CREATE_SUB_ORGANIZATION` activity (so the parent's policies
    /// apply) whose root user — the operator the parent's keys act as there — copies the
    /// creating user's name and email.
    pub async fn v1_create_organization(
        &self,
        p: &BearerPrincipal,
        req: NewOrganization,
    ) -> MgmtResult<Created> {
        p.org_level()?;
        if p.organization.parent_id.is_some() {
            return Err(MgmtError::new(
                "forbidden",
                "a sub-organization's key cannot create organizations",
            ));
        }
        let name = display_name("name", &req.name)?;
        if !valid_slug(&req.slug) {
            return Err(invalid(
                "slug",
                "3 to 64 lowercase letters, digits and dashes, not starting or ending with a dash",
            ));
        }
        if let Some(k) = &req.idempotency_key {
            if k.is_empty() || k.len() > 128 {
                return Err(invalid("idempotency_key", "must be 1 to 128 characters"));
            }
        }
        let parent = &p.organization.id;
        let actor = p.actor(&p.key.created_by_user_id);
        let creator = self
            .store
            .reader()
            .await?
            .get_user(parent, &actor.user_id)
            .await?
            .ok_or_else(|| MgmtError::new("api_key_revoked", "this key's user was deleted"))?;
        let mut root = json!({"userName": creator.name, "apiKeys": [], "authenticators": [], "oauthProviders": []});
        if let Some(email) = &creator.email {
            root["userEmail"] = json!(email);
        }
        let post = MarkCreated {
            slug: req.slug.clone(),
            abort: Abort::default(),
        };
        let submitted = self
            .submit_internal(InternalSubmit {
                actor: &actor,
                org_id: parent,
                path: "create_sub_organization",
                activity_type: "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
                parameters: json!({"subOrganizationName": name, "rootQuorumThreshold": 1, "rootUsers": [root]}),
                fingerprint: crate::engine::v1_fingerprint(
                    "POST /v1/organizations",
                    parent,
                    req.idempotency_key.as_deref(),
                ),
                post_exec: Some(&post),
            })
            .await
            .map_err(|e| post.abort.or(e))?;
        let activity = match submitted.activity.status {
            ActivityStatus::Completed => submitted.activity,
            ActivityStatus::ConsensusNeeded => return Ok(Created::Pending(submitted.activity)),
            _ => {
                return Err(activity_error(
                    &submitted.activity,
                    submitted.error.as_ref(),
                ))
            }
        };
        let id = activity.result[RESULT_KEY]["subOrganizationId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let org = self
            .store
            .reader()
            .await?
            .get_organization(&id)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "the organization was deleted meanwhile"))?;
        Ok(Created::Organization(org))
    }

    /// `GET /v1/organizations` (`organizations:read`): the key's organization, the
    /// organizations elsewhere where the current user (the key's creator, by email) is a member,
    /// then the key's sub-organizations (keyset by row) — each with the role there.
    pub async fn v1_list_organizations(
        &self,
        p: &BearerPrincipal,
        page: &PageReq,
    ) -> MgmtResult<PageOut<Listed>> {
        // Keysets: the heads (own organization, then the current user's elsewhere) count up from
        // HEADS, below every row number; sub-organizations follow by row.
        const HEADS: i64 = -1_000_000;
        let after = page.after_n()?;
        let own = p.organization.id.as_str();
        let mut out: Vec<(i64, Listed)> = Vec::new();
        let heads_from = match after {
            None => Some(0),
            Some(x) if x < 0 => Some(usize::try_from(x - HEADS + 1).unwrap_or(usize::MAX)),
            Some(_) => None,
        };
        if let Some(start) = heads_from {
            let role = if p
                .organization
                .root_user_ids
                .contains(&p.key.created_by_user_id)
            {
                "owner"
            } else {
                "member"
            };
            let mut heads = vec![Listed {
                org: p.organization.clone(),
                role,
            }];
            if p.key.project_id.is_none() {
                heads.extend(self.orgs_of_current_user(p).await?);
            }
            for (i, listed) in heads.into_iter().enumerate().skip(start) {
                out.push((HEADS + i as i64, listed));
            }
        }
        if p.key.project_id.is_none() && out.len() <= page.limit as usize {
            let room = (page.limit as usize + 1) - out.len();
            let mut r = self.store.reader().await?;
            let after_row = after.filter(|x| *x > 0);
            let children =
                store::list_children(r.db_handle()?, own, after_row, room as u32).await?;
            for (n, id) in children {
                if let Some(org) = r.get_organization(&id).await? {
                    let role = if org.v1.operator_user_id.is_some() {
                        "owner"
                    } else {
                        "viewer"
                    };
                    out.push((n, Listed { org, role }));
                }
            }
        }
        Ok(PageOut::from_rows(out, page.limit, |(n, _)| n.to_string()).map(|(_, l)| l))
    }

    /// Organizations outside the key's own tree where its creator's email is a live user.
    async fn orgs_of_current_user(&self, p: &BearerPrincipal) -> MgmtResult<Vec<Listed>> {
        let own = p.organization.id.as_str();
        let mut r = self.store.reader().await?;
        let Some(email) = r
            .get_user(own, &p.key.created_by_user_id)
            .await?
            .and_then(|u| u.email)
        else {
            return Ok(Vec::new());
        };
        let theirs = quorate_store::mgmt::members::orgs_of_email(
            r.db_handle()?,
            &email.to_ascii_lowercase(),
        )
        .await?;
        let mut out: Vec<Listed> = Vec::new();
        for (org_id, user_id) in theirs {
            if org_id == own || out.iter().any(|l| l.org.id == org_id) {
                continue;
            }
            let Some(org) = r
                .get_organization(&org_id)
                .await?
                .filter(|o| o.parent_id.as_deref() != Some(own))
            else {
                continue;
            };
            let target = Target {
                actor: p.actor(&user_id),
                org,
            };
            let role = self.v1_role(&target).await?.as_str();
            out.push(Listed {
                org: target.org,
                role,
            });
        }
        Ok(out)
    }

    /// `PATCH /v1/organizations/{orgId}` (`organizations:update`): name and status. A key may
    /// not change its own organization's status (it would lock itself out): the parent's key
    /// or `quorate org activate|suspend` does.
    pub async fn v1_patch_organization(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        patch: OrganizationPatch,
    ) -> MgmtResult<Organization> {
        p.org_level()?;
        let target = self.v1_reach(p, org_id, Access::Manage).await?;
        let name = patch
            .name
            .as_deref()
            .map(|n| display_name("name", n))
            .transpose()?;
        let suspend = match patch.status.as_deref() {
            None => None,
            Some("active") => Some(false),
            Some("suspended") => Some(true),
            Some(other) => {
                return Err(invalid(
                    "status",
                    format!("must be `active` or `suspended`, got `{other}`"),
                ))
            }
        };
        if suspend.is_some() && target.org.id == p.organization.id {
            return Err(MgmtError::new(
                "forbidden",
                "a key cannot change its own organization's status; use the parent organization's key or `quorate org`",
            ));
        }
        self.set_organization(&target, name.as_deref(), suspend)
            .await
    }

    /// Renames and/or (un)suspends an organization; credentials see the change on their next
    /// request.
    pub async fn set_organization(
        &self,
        target: &Target,
        name: Option<&str>,
        suspend: Option<bool>,
    ) -> MgmtResult<Organization> {
        let id = &target.org.id;
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(id).await?;
        if let Some(name) = name {
            store::set_name(tx.db_handle()?, id, name, now).await?;
        }
        if let Some(s) = suspend {
            store::set_suspended(tx.db_handle()?, id, s, now).await?;
            tx.bump_version(id, now).await?;
        }
        let org = tx
            .get_organization(id)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "no such organization"))?;
        tx.commit().await?;
        // Cached resolutions carry the organization (name, status).
        self.auth.invalidate();
        Ok(org)
    }

    /// `quorate org activate|suspend ID`: the operator's way to change any organization's
    /// status (a key cannot change its own).
    pub async fn admin_set_suspended(
        &self,
        org_id: &str,
        suspended: bool,
    ) -> MgmtResult<Organization> {
        let org = self
            .store
            .reader()
            .await?
            .get_organization(org_id)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "no such organization"))?;
        let target = Target {
            actor: super::Actor {
                user_id: String::new(),
                key_organization_id: String::new(),
                key_id: String::new(),
            },
            org,
        };
        self.set_organization(&target, None, Some(suspended)).await
    }
}

#[cfg(test)]
mod tests {
    use super::valid_slug;

    #[test]
    fn slugs() {
        for ok in ["acme", "acme-co", "a1b", "0ab"] {
            assert!(valid_slug(ok), "{ok}");
        }
        for bad in ["ab", "-acme", "acme-", "Acme", "ac_me", "ac me", ""] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }
}
