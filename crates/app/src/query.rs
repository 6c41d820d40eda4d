//! Reads of the Turnkey face (`POST /public/v1/query/*`): stamped, resolved with read access
//! (the organization or its parent), answered from the store.

use crate::auth::Access;
use crate::error::{AppError, Result};
use crate::App;
use quorate_domain::{id::parse_id, ActivityStatus, TagKind};
use quorate_proto as wire;
use quorate_store::{ActivityQuery, Page, StoreError, SubOrgFilter};
use serde_json::Value;

/// Query paths quorate answers.
pub const QUERY_PATHS: &[&str] = &[
    "whoami",
    "get_organization",
    "get_organization_configs",
    "list_suborgs",
    "get_user",
    "list_users",
    "list_user_tags",
    "get_api_key",
    "get_api_keys",
    "get_activity",
    "list_activities",
    "get_wallet",
    "list_wallets",
    "get_wallet_account",
    "list_wallet_accounts",
    "get_private_key",
    "list_private_keys",
    "list_private_key_tags",
    "get_policy",
    "list_policies",
    "get_policy_evaluations",
];

pub(crate) fn id(field: &'static str, v: &str) -> Result<String> {
    parse_id(field, v).map_err(|e| AppError::invalid(e.to_string()))
}

pub(crate) fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| AppError::new(quorate_proto::ErrorCode::Internal, e.to_string()))
}

/// Parses `paginationOptions` (limit "1".."100", default 10; empty cursors mean none).
pub(crate) fn page(p: Option<&wire::Pagination>) -> Result<Page> {
    let Some(p) = p else {
        return Ok(Page {
            limit: 10,
            before: None,
            after: None,
        });
    };
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => 10,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                AppError::invalid(format!(
                    "`paginationOptions.limit` must be a string holding 1..100, got `{}`",
                    s.chars().take(20).collect::<String>()
                ))
            })?,
    };
    let cursor = |field: &'static str, v: &Option<String>| -> Result<Option<String>> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => id(field, s).map(Some),
        }
    };
    Ok(Page {
        limit,
        before: cursor("paginationOptions.before", &p.before)?,
        after: cursor("paginationOptions.after", &p.after)?,
    })
}

fn bad_cursor(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => {
            AppError::invalid("`paginationOptions` cursor does not name an item of this listing")
        }
        other => other.into(),
    }
}

impl App {
    /// A live organization's public facts (no authentication): a malformed or unknown id and a
    /// deleted organization all read as not found.
    pub async fn organization_public(&self, id: &str) -> Result<quorate_domain::Organization> {
        let not_found = || {
            AppError::not_found(format!(
                "organization `{}` not found",
                id.chars().take(64).collect::<String>()
            ))
        };
        let id = parse_id("organizationId", id).map_err(|_| not_found())?;
        self.store
            .reader()
            .await?
            .get_organization(&id)
            .await?
            .ok_or_else(not_found)
    }

    /// Authenticates a read whose body is only `{organizationId}`; returns the organization.
    pub(crate) async fn read_org(&self, body: &[u8], stamp: Option<&str>) -> Result<String> {
        let (_, org, _) = self
            .authenticate::<wire::OrganizationRequest>(body, stamp, Access::Read, |r| {
                &r.organization_id
            })
            .await?;
        Ok(org)
    }

    /// The organization's tags of `kind`, as the wire shape.
    pub(crate) async fn tags(&self, org: &str, kind: TagKind) -> Result<Vec<wire::Tag>> {
        let tags = self.store.reader().await?.list_tags(org, kind).await?;
        Ok(tags.iter().map(wire::Tag::from).collect())
    }

    /// Handles `POST /public/v1/query/{path}`.
    pub async fn query(&self, path: &str, body: &[u8], stamp: Option<&str>) -> Result<Value> {
        match path {
            "whoami" => {
                let (_, _, p) = self
                    .authenticate::<wire::OrganizationRequest>(body, stamp, Access::Whoami, |r| {
                        &r.organization_id
                    })
                    .await?;
                to_value(wire::WhoamiResponse {
                    organization_id: p.organization.id.clone(),
                    organization_name: p.organization.name.clone(),
                    user_id: p.key.user_id.clone(),
                    username: p.user_name.clone(),
                })
            }
            "get_organization" => {
                let org = self.read_org(body, stamp).await?;
                let mut r = self.store.reader().await?;
                let o = r.get_organization(&org).await?.ok_or_else(|| {
                    AppError::not_found(format!("organization `{org}` not found"))
                })?;
                let users = r.list_users(&org).await?;
                let tags = r.list_tags(&org, TagKind::User).await?;
                let config = wire::Config::from(&o);
                to_value(wire::GetOrganizationResponse {
                    organization_data: wire::OrganizationData {
                        organization_id: o.id.clone(),
                        name: o.name.clone(),
                        users: users.iter().map(wire::User::from).collect(),
                        policies: Vec::new(),
                        private_keys: Vec::new(),
                        invitations: Vec::new(),
                        tags: tags.iter().map(wire::Tag::from).collect(),
                        root_quorum: config.quorum,
                        features: config.features,
                        wallets: Vec::new(),
                    },
                })
            }
            "get_organization_configs" => {
                let org = self.read_org(body, stamp).await?;
                let o = self
                    .store
                    .reader()
                    .await?
                    .get_organization(&org)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!("organization `{org}` not found"))
                    })?;
                to_value(wire::GetOrganizationConfigsResponse {
                    configs: wire::Config::from(&o),
                })
            }
            "list_suborgs" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetSubOrgIdsRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let value = req.filter_value.clone().unwrap_or_default();
                if value.chars().any(char::is_control) {
                    return Err(AppError::invalid(
                        "`filterValue` must not contain control characters",
                    ));
                }
                let filter = match req.filter_type.as_deref().map(str::trim).unwrap_or("") {
                    "" => SubOrgFilter::None,
                    _ if value.is_empty() => return Err(AppError::invalid("`filterValue` is required when `filterType` is set")),
                    "NAME" => SubOrgFilter::Name(value),
                    "USERNAME" => SubOrgFilter::Username(value),
                    "EMAIL" => SubOrgFilter::Email(value),
                    "PHONE_NUMBER" => SubOrgFilter::PhoneNumber(value),
                    "PUBLIC_KEY" => SubOrgFilter::PublicKey(value.to_ascii_lowercase()),
                    "CREDENTIAL_ID" | "OIDC_TOKEN" => SubOrgFilter::Nothing,
                    other => {
                        return Err(AppError::invalid(format!(
                            "`filterType` has unknown value `{}`, expected one of NAME, USERNAME, EMAIL, PHONE_NUMBER, PUBLIC_KEY, CREDENTIAL_ID, OIDC_TOKEN",
                            other.chars().take(40).collect::<String>()
                        )))
                    }
                };
                let page = page(req.pagination_options.as_ref())?;
                let ids = self
                    .store
                    .reader()
                    .await?
                    .list_sub_organizations(&org, &filter, &page)
                    .await
                    .map_err(bad_cursor)?;
                to_value(wire::GetSubOrgIdsResponse {
                    organization_ids: ids,
                })
            }
            "get_user" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetUserRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let user_id = id("userId", &req.user_id)?;
                let u = self
                    .store
                    .reader()
                    .await?
                    .get_user(&org, &user_id)
                    .await?
                    .ok_or_else(|| AppError::not_found(format!("user `{user_id}` not found")))?;
                to_value(wire::GetUserResponse {
                    user: wire::User::from(&u),
                })
            }
            "list_users" => {
                let org = self.read_org(body, stamp).await?;
                let users = self.store.reader().await?.list_users(&org).await?;
                to_value(wire::GetUsersResponse {
                    users: users.iter().map(wire::User::from).collect(),
                })
            }
            "list_user_tags" => {
                let org = self.read_org(body, stamp).await?;
                to_value(wire::ListUserTagsResponse {
                    user_tags: self.tags(&org, TagKind::User).await?,
                })
            }
            "get_api_key" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetApiKeyRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let key_id = id("apiKeyId", &req.api_key_id)?;
                let k = self
                    .store
                    .reader()
                    .await?
                    .get_api_key(&org, &key_id)
                    .await?
                    .ok_or_else(|| AppError::not_found(format!("API key `{key_id}` not found")))?;
                to_value(wire::GetApiKeyResponse {
                    api_key: wire::ApiKey::from(&k),
                })
            }
            "get_api_keys" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetApiKeysRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let user = match req.user_id.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(u) => Some(id("userId", u)?),
                };
                let keys = self
                    .store
                    .reader()
                    .await?
                    .list_api_keys(&org, user.as_deref())
                    .await?;
                to_value(wire::GetApiKeysResponse {
                    api_keys: keys.iter().map(wire::ApiKey::from).collect(),
                })
            }
            "get_activity" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetActivityRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let activity_id = id("activityId", &req.activity_id)?;
                let a = self
                    .store
                    .reader()
                    .await?
                    .get_activity(&org, &activity_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!("activity `{activity_id}` not found"))
                    })?;
                to_value(wire::ActivityResponse {
                    activity: wire::Activity::from(&a),
                })
            }
            "list_activities" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetActivitiesRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                for (i, s) in req.filter_by_status.iter().enumerate() {
                    if ActivityStatus::parse(s).is_none() {
                        return Err(AppError::invalid(format!(
                            "`filterByStatus[{i}]` has unknown value `{}`",
                            s.chars().take(60).collect::<String>()
                        )));
                    }
                }
                for (i, t) in req.filter_by_type.iter().enumerate() {
                    if !quorate_domain::catalog::is_known_type(t) {
                        return Err(AppError::invalid(format!(
                            "`filterByType[{i}]` has unknown value `{}`",
                            t.chars().take(60).collect::<String>()
                        )));
                    }
                }
                let query = ActivityQuery {
                    statuses: req.filter_by_status.clone(),
                    types: req.filter_by_type.clone(),
                    page: page(req.pagination_options.as_ref())?,
                };
                let list = self
                    .store
                    .reader()
                    .await?
                    .list_activities(&org, &query)
                    .await
                    .map_err(bad_cursor)?;
                to_value(wire::GetActivitiesResponse {
                    activities: list.iter().map(wire::Activity::from).collect(),
                })
            }
            "get_policy" => {
                let (req, org, _) = self
                    .authenticate::<wire::policy::GetPolicyRequest>(
                        body,
                        stamp,
                        Access::Read,
                        |r| &r.organization_id,
                    )
                    .await?;
                let policy_id = id("policyId", &req.policy_id)?;
                let p = self
                    .store
                    .reader()
                    .await?
                    .get_policy(&org, &policy_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!("policy `{policy_id}` not found"))
                    })?;
                to_value(wire::policy::GetPolicyResponse {
                    policy: wire::policy::Policy::from(&p),
                })
            }
            "list_policies" => {
                let org = self.read_org(body, stamp).await?;
                let list = self.store.reader().await?.list_policies(&org).await?;
                to_value(wire::policy::GetPoliciesResponse {
                    policies: list.iter().map(wire::policy::Policy::from).collect(),
                })
            }
            "get_policy_evaluations" => {
                let (req, org, _) = self
                    .authenticate::<wire::GetActivityRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let activity_id = id("activityId", &req.activity_id)?;
                let mut r = self.store.reader().await?;
                if r.get_activity(&org, &activity_id).await?.is_none() {
                    return Err(AppError::not_found(format!(
                        "activity `{activity_id}` not found"
                    )));
                }
                let list = r.list_policy_evaluations(&org, &activity_id).await?;
                let evaluations: Vec<Value> = list
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id,
                            "activityId": e.activity_id,
                            "organizationId": org,
                            "voteId": e.vote_id,
                            "policyEvaluations": e.evaluations,
                            "createdAt": wire::Timestamp::from_ms(e.created_at),
                        })
                    })
                    .collect();
                to_value(wire::policy::GetPolicyEvaluationsResponse {
                    policy_evaluations: evaluations,
                })
            }
            other => self.vault_query(other, body, stamp).await,
        }
    }
}
