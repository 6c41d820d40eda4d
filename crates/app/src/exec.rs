//! Executing a checked command inside the organization's write transaction. A failure here
//! (a referenced user or tag that does not exist, a duplicate) fails the activity; the caller
//! rolls the state change back and records the failure.

use crate::chain;
use crate::command::{Command, NewKey, NewUser};
use quorate_domain::{new_id, ApiKey, Millis, Organization, Tag, TagKind, User};
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

type Result<T> = std::result::Result<T, ExecError>;

fn failed(code: ErrorCode, msg: impl Into<String>) -> ExecError {
    ExecError::Failed(code, msg.into())
}

pub struct Ctx<'a> {
    pub org: &'a Organization,
    pub now: Millis,
}

/// Runs `cmd`; returns the inner result object (the value under the result key).
pub async fn execute(tx: &mut dyn StoreTx, ctx: &Ctx<'_>, cmd: &Command) -> Result<Value> {
    let org = ctx.org.id.as_str();
    match cmd {
        Command::CreateSubOrganization {
            name,
            root_users,
            threshold,
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
            Ok(json!({"subOrganizationId": sub.id, "rootUserIds": ids}))
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
                    existing_tag(tx, org, t).await?;
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
            if tx
                .list_tags(org, TagKind::User)
                .await?
                .iter()
                .any(|t| t.name == *name)
            {
                return Err(failed(
                    ErrorCode::Conflict,
                    format!("a user tag named `{name}` already exists"),
                ));
            }
            for u in user_ids {
                existing_user(tx, org, u).await?;
            }
            let tag = Tag {
                id: new_id(),
                organization_id: org.to_string(),
                name: name.clone(),
                kind: TagKind::User,
                created_at: ctx.now,
                updated_at: ctx.now,
            };
            tx.insert_tag(&tag).await?;
            for u in user_ids {
                tx.add_tag_member(&tag.id, u).await?;
            }
            Ok(json!({"userTagId": tag.id, "userIds": user_ids}))
        }
        Command::UpdateUserTag {
            tag_id,
            new_name,
            add,
            remove,
        } => {
            existing_tag(tx, org, tag_id).await?;
            if let Some(n) = new_name {
                if tx
                    .list_tags(org, TagKind::User)
                    .await?
                    .iter()
                    .any(|t| t.name == *n && t.id != *tag_id)
                {
                    return Err(failed(
                        ErrorCode::Conflict,
                        format!("a user tag named `{n}` already exists"),
                    ));
                }
                tx.rename_tag(org, tag_id, n, ctx.now).await?;
            }
            for u in add {
                existing_user(tx, org, u).await?;
                tx.add_tag_member(tag_id, u).await?;
            }
            for u in remove {
                tx.remove_tag_member(tag_id, u).await?;
            }
            Ok(json!({"userTagId": tag_id}))
        }
        Command::DeleteUserTags(ids) => {
            let mut users: Vec<String> = Vec::new();
            for id in ids {
                existing_tag(tx, org, id).await?;
                for m in tx.tag_members(id).await? {
                    if !users.contains(&m) {
                        users.push(m);
                    }
                }
            }
            for id in ids {
                tx.delete_tag(org, id).await?;
            }
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
    }
}

async fn existing_user(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<User> {
    tx.get_user(org, id).await?.ok_or_else(|| {
        failed(
            ErrorCode::NotFound,
            format!("user `{id}` not found in organization `{org}`"),
        )
    })
}

async fn existing_tag(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<Tag> {
    match tx.get_tag(org, id).await? {
        Some(t) if t.kind == TagKind::User => Ok(t),
        _ => Err(failed(
            ErrorCode::NotFound,
            format!("user tag `{id}` not found in organization `{org}`"),
        )),
    }
}

async fn insert_user(tx: &mut dyn StoreTx, org: &str, u: &NewUser, now: Millis) -> Result<String> {
    for t in &u.tag_ids {
        existing_tag(tx, org, t).await?;
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
