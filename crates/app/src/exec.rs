//! Executing a checked command inside the organization's write transaction. A failure here
//! (a referenced user or tag that does not exist, a duplicate) fails the activity; the caller
//! rolls the state change back and records the failure.

use crate::chain;
use crate::command::{Command, NewKey, NewUser};
use quorate_domain::{new_id, ApiKey, Millis, Organization, Policy, Tag, TagKind, User};
use quorate_proto::ErrorCode;
use quorate_store::{StoreError, StoreTx};
use serde_json::{json, Value};

/// Why execution failed.
#[derive(Debug)]
pub enum ExecError {
    /// The activity fails with this reason; nothing it did is kept.
    Failed(ErrorCode, String),
    /// The store failed; the request fails and nothing is recorded.
    Store(StoreError),
}

impl From<StoreError> for ExecError {
    fn from(e: StoreError) -> Self {
        ExecError::Store(e)
    }
}

pub(crate) type Result<T> = std::result::Result<T, ExecError>;

pub(crate) fn failed(code: ErrorCode, msg: impl Into<String>) -> ExecError {
    ExecError::Failed(code, msg.into())
}

pub struct Ctx<'a> {
    pub org: &'a Organization,
    pub now: Millis,
    pub vault: &'a crate::vault::Vault,
}

/// Runs `cmd`; returns the inner result object (the value under the result key).
pub async fn execute(tx: &mut dyn StoreTx, ctx: &Ctx<'_>, cmd: &Command) -> Result<Value> {
    let org = ctx.org.id.as_str();
    match cmd {
        Command::CreateSubOrganization {
            name,
            root_users,
            threshold,
            wallet,
        } => {
            if ctx.org.parent_id.is_some() {
                return Err(failed(
                    ErrorCode::RequestInvalid,
                    "a sub-organization cannot create sub-organizations",
                ));
            }
            let sub = Organization {
                id: new_id(),
                name: name.clone(),
                parent_id: Some(org.to_string()),
                root_quorum_threshold: *threshold,
                root_user_ids: Vec::new(),
                features: Vec::new(),
                version: 0,
                v1: Default::default(),
                created_at: ctx.now,
                updated_at: ctx.now,
            };
            tx.insert_organization(&sub, &chain::genesis(&sub.id))
                .await?;
            let mut ids = Vec::new();
            for u in root_users {
                ids.push(insert_user(tx, &sub.id, u, ctx.now).await?);
            }
            tx.set_root_quorum(&sub.id, *threshold, &ids).await?;
            let mut result = json!({"subOrganizationId": sub.id, "rootUserIds": ids});
            if let Some(w) = wallet {
                let (wallet_id, addresses) =
                    crate::vault::exec::create_wallet(tx, ctx, &sub.id, w).await?;
                result["wallet"] = json!({"walletId": wallet_id, "addresses": addresses});
            }
            Ok(result)
        }
        Command::DeleteSubOrganization => {
            if ctx.org.parent_id.is_none() {
                return Err(failed(
                    ErrorCode::RequestInvalid,
                    format!("organization `{org}` is not a sub-organization"),
                ));
            }
            tx.mark_organization_deleted(org, ctx.now).await?;
            Ok(json!({"subOrganizationUuid": org}))
        }
        Command::CreateUsers(users) => {
            let mut ids = Vec::new();
            for u in users {
                ids.push(insert_user(tx, org, u, ctx.now).await?);
            }
            Ok(json!({"userIds": ids}))
        }
        Command::UpdateUser {
            user_id,
            name,
            email,
            phone_number,
            tag_ids,
        } => {
            let mut user = existing_user(tx, org, user_id).await?;
            if let Some(n) = name {
                user.name = n.clone();
            }
            if let Some(e) = email {
                user.email = Some(e.clone()).filter(|e| !e.is_empty());
            }
            if let Some(p) = phone_number {
                user.phone_number = Some(p.clone()).filter(|p| !p.is_empty());
            }
            user.updated_at = ctx.now;
            tx.update_user(&user).await?;
            if let Some(tags) = tag_ids {
                for t in tags {
                    existing_tag(tx, org, TagKind::User, t).await?;
                }
                for old in &user.tag_ids {
                    tx.remove_tag_member(old, &user.id).await?;
                }
                for t in tags {
                    tx.add_tag_member(t, &user.id).await?;
                }
            }
            Ok(json!({"userId": user.id}))
        }
        Command::DeleteUsers(ids) => {
            for id in ids {
                existing_user(tx, org, id).await?;
            }
            let remaining_roots: Vec<&String> = ctx
                .org
                .root_user_ids
                .iter()
                .filter(|r| !ids.contains(r))
                .collect();
            if (remaining_roots.len() as u32) < ctx.org.root_quorum_threshold {
                return Err(failed(
                    ErrorCode::RequestInvalid,
                    format!("deleting these users would leave {} root users for a root quorum threshold of {}; update the root quorum first", remaining_roots.len(), ctx.org.root_quorum_threshold),
                ));
            }
            for id in ids {
                tx.delete_user(org, id, ctx.now).await?;
            }
            if remaining_roots.len() != ctx.org.root_user_ids.len() {
                let roots: Vec<String> = remaining_roots.into_iter().cloned().collect();
                tx.set_root_quorum(org, ctx.org.root_quorum_threshold, &roots)
                    .await?;
            }
            Ok(json!({"userIds": ids}))
        }
        Command::CreateUserTag { name, user_ids } => {
            let tag = create_tag(tx, ctx, TagKind::User, name, user_ids).await?;
            Ok(json!({"userTagId": tag, "userIds": user_ids}))
        }
        Command::UpdateUserTag {
            tag_id,
            new_name,
            add,
            remove,
        } => {
            update_tag(
                tx,
                ctx,
                TagKind::User,
                tag_id,
                new_name.as_deref(),
                add,
                remove,
            )
            .await?;
            Ok(json!({"userTagId": tag_id}))
        }
        Command::DeleteUserTags(ids) => {
            let users = delete_tags(tx, ctx, TagKind::User, ids).await?;
            Ok(json!({"userTagIds": ids, "userIds": users}))
        }
        Command::CreateApiKeys { user_id, keys } => {
            existing_user(tx, org, user_id).await?;
            let mut ids = Vec::new();
            for k in keys {
                ids.push(insert_key(tx, org, user_id, k, ctx.now).await?);
            }
            Ok(json!({"apiKeyIds": ids}))
        }
        Command::DeleteApiKeys { user_id, key_ids } => {
            existing_user(tx, org, user_id).await?;
            for id in key_ids {
                match tx.get_api_key(org, id).await? {
                    Some(k) if k.user_id == *user_id => {}
                    _ => {
                        return Err(failed(
                            ErrorCode::NotFound,
                            format!("API key `{id}` of user `{user_id}` not found"),
                        ))
                    }
                }
            }
            for id in key_ids {
                tx.delete_api_key(org, id, ctx.now).await?;
            }
            Ok(json!({"apiKeyIds": key_ids}))
        }
        Command::Vault(v) => crate::vault::exec::execute(tx, ctx, v).await,
        Command::CreatePolicies { policies, single } => {
            let mut ids = Vec::new();
            for p in policies {
                let policy = Policy {
                    id: new_id(),
                    organization_id: org.to_string(),
                    name: p.name.clone(),
                    effect: p.effect.clone(),
                    condition: p.condition.clone(),
                    consensus: p.consensus.clone(),
                    notes: p.notes.clone(),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                };
                tx.insert_policy(&policy).await?;
                ids.push(policy.id);
            }
            Ok(if *single {
                json!({ "policyId": ids[0] })
            } else {
                json!({ "policyIds": ids })
            })
        }
        Command::UpdatePolicy {
            policy_id,
            name,
            effect,
            condition,
            consensus,
            notes,
        } => {
            let mut p = existing_policy(tx, org, policy_id).await?;
            let set = |slot: &mut String, v: &Option<String>| {
                if let Some(v) = v {
                    slot.clone_from(v);
                }
            };
            set(&mut p.name, name);
            set(&mut p.effect, effect);
            set(&mut p.condition, condition);
            set(&mut p.consensus, consensus);
            set(&mut p.notes, notes);
            p.updated_at = ctx.now;
            tx.update_policy(&p).await?;
            Ok(json!({ "policyId": policy_id }))
        }
        Command::DeletePolicies { ids, single } => {
            for id in ids {
                existing_policy(tx, org, id).await?;
            }
            for id in ids {
                tx.delete_policy(org, id, ctx.now).await?;
            }
            Ok(if *single {
                json!({ "policyId": ids[0] })
            } else {
                json!({ "policyIds": ids })
            })
        }
        Command::SetFeature { name, value } => {
            let mut features = ctx.org.features.clone();
            match features.iter_mut().find(|(n, _)| n == name) {
                Some(f) => f.1.clone_from(value),
                None => features.push((name.clone(), value.clone())),
            }
            tx.set_features(org, &features, ctx.now).await?;
            Ok(json!({ "features": features_json(&features) }))
        }
        Command::RemoveFeature { name } => {
            let features: Vec<(String, String)> = ctx
                .org
                .features
                .iter()
                .filter(|(n, _)| n != name)
                .cloned()
                .collect();
            tx.set_features(org, &features, ctx.now).await?;
            Ok(json!({ "features": features_json(&features) }))
        }
        Command::UpdateRootQuorum {
            threshold,
            user_ids,
        } => {
            for u in user_ids {
                existing_user(tx, org, u).await?;
            }
            tx.set_root_quorum(org, *threshold, user_ids).await?;
            Ok(json!({}))
        }
    }
}

fn features_json(features: &[(String, String)]) -> Vec<Value> {
    features
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

async fn existing_policy(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<Policy> {
    tx.get_policy(org, id).await?.ok_or_else(|| {
        failed(
            ErrorCode::NotFound,
            format!("policy `{id}` not found in organization `{org}`"),
        )
    })
}

fn kind_name(kind: TagKind) -> &'static str {
    match kind {
        TagKind::User => "user tag",
        TagKind::PrivateKey => "private key tag",
    }
}

/// Checks that `member` exists as what tags of `kind` hold (a user, or a private key).
async fn existing_member(
    tx: &mut dyn StoreTx,
    org: &str,
    kind: TagKind,
    member: &str,
) -> Result<()> {
    match kind {
        TagKind::User => existing_user(tx, org, member).await.map(|_| ()),
        TagKind::PrivateKey => match tx.get_private_key(org, member).await? {
            Some(_) => Ok(()),
            None => Err(failed(
                ErrorCode::NotFound,
                format!("private key `{member}` not found in organization `{org}`"),
            )),
        },
    }
}

async fn name_taken(
    tx: &mut dyn StoreTx,
    org: &str,
    kind: TagKind,
    name: &str,
    except: &str,
) -> Result<()> {
    if tx
        .list_tags(org, kind)
        .await?
        .iter()
        .any(|t| t.name == name && t.id != except)
    {
        return Err(failed(
            ErrorCode::Conflict,
            format!("a {} named `{name}` already exists", kind_name(kind)),
        ));
    }
    Ok(())
}

/// Creates a tag of `kind` holding `members`; returns its id.
pub(crate) async fn create_tag(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    kind: TagKind,
    name: &str,
    members: &[String],
) -> Result<String> {
    let org = ctx.org.id.as_str();
    name_taken(tx, org, kind, name, "").await?;
    for m in members {
        existing_member(tx, org, kind, m).await?;
    }
    let tag = Tag {
        id: new_id(),
        organization_id: org.to_string(),
        name: name.to_string(),
        kind,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    tx.insert_tag(&tag).await?;
    for m in members {
        tx.add_tag_member(&tag.id, m).await?;
    }
    Ok(tag.id)
}

pub(crate) async fn update_tag(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    kind: TagKind,
    tag_id: &str,
    new_name: Option<&str>,
    add: &[String],
    remove: &[String],
) -> Result<()> {
    let org = ctx.org.id.as_str();
    existing_tag(tx, org, kind, tag_id).await?;
    if let Some(n) = new_name {
        name_taken(tx, org, kind, n, tag_id).await?;
        tx.rename_tag(org, tag_id, n, ctx.now).await?;
    }
    for m in add {
        existing_member(tx, org, kind, m).await?;
        tx.add_tag_member(tag_id, m).await?;
    }
    for m in remove {
        tx.remove_tag_member(tag_id, m).await?;
    }
    Ok(())
}

/// Deletes tags of `kind`; returns the members they held.
pub(crate) async fn delete_tags(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    kind: TagKind,
    ids: &[String],
) -> Result<Vec<String>> {
    let org = ctx.org.id.as_str();
    let mut members: Vec<String> = Vec::new();
    for id in ids {
        existing_tag(tx, org, kind, id).await?;
        for m in tx.tag_members(id).await? {
            if !members.contains(&m) {
                members.push(m);
            }
        }
    }
    for id in ids {
        tx.delete_tag(org, id).await?;
    }
    Ok(members)
}

async fn existing_user(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<User> {
    tx.get_user(org, id).await?.ok_or_else(|| {
        failed(
            ErrorCode::NotFound,
            format!("user `{id}` not found in organization `{org}`"),
        )
    })
}

pub(crate) async fn existing_tag(
    tx: &mut dyn StoreTx,
    org: &str,
    kind: TagKind,
    id: &str,
) -> Result<Tag> {
    match tx.get_tag(org, id).await? {
        Some(t) if t.kind == kind => Ok(t),
        _ => Err(failed(
            ErrorCode::NotFound,
            format!(
                "{} `{id}` not found in organization `{org}`",
                kind_name(kind)
            ),
        )),
    }
}

async fn insert_user(tx: &mut dyn StoreTx, org: &str, u: &NewUser, now: Millis) -> Result<String> {
    for t in &u.tag_ids {
        existing_tag(tx, org, TagKind::User, t).await?;
    }
    let user = User {
        id: new_id(),
        organization_id: org.to_string(),
        name: u.name.clone(),
        email: u.email.clone(),
        phone_number: u.phone_number.clone(),
        tag_ids: Vec::new(),
        api_keys: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    tx.insert_user(&user).await?;
    for k in &u.keys {
        insert_key(tx, org, &user.id, k, now).await?;
    }
    for t in &u.tag_ids {
        tx.add_tag_member(t, &user.id).await?;
    }
    Ok(user.id)
}

async fn insert_key(
    tx: &mut dyn StoreTx,
    org: &str,
    user_id: &str,
    k: &NewKey,
    now: Millis,
) -> Result<String> {
    let clash = tx
        .find_api_keys_by_public_key(&k.public_key)
        .await?
        .into_iter()
        .any(|e| e.organization_id == org && e.deleted_at.is_none());
    if clash {
        return Err(failed(
            ErrorCode::Conflict,
            format!(
                "public key `{}` is already registered in organization `{org}`",
                k.public_key
            ),
        ));
    }
    let key = ApiKey {
        id: new_id(),
        organization_id: org.to_string(),
        user_id: user_id.to_string(),
        name: k.name.clone(),
        public_key: k.public_key.clone(),
        curve: k.curve.as_api_str().to_string(),
        expiration_seconds: k.expiration_seconds,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    tx.insert_api_key(&key).await?;
    Ok(key.id)
}
