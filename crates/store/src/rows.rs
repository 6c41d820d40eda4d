//! Decoding rows into domain values.

use crate::exec::Row;
use crate::{LogEntry, Result, StoreError};
use quorate_domain::{Activity, ActivityStatus, ApiKey, Failure, Tag, TagKind, User, Vote};

pub(crate) fn api_key(row: &Row) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        user_id: row.text("user_id")?,
        name: row.text("name")?,
        public_key: row.text("public_key")?,
        curve: row.text("curve")?,
        expiration_seconds: row.opt_int("expiration_seconds")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        deleted_at: row.opt_int("deleted_at")?,
    })
}

/// A user without keys or tags; callers attach those.
pub(crate) fn user(row: &Row) -> Result<User> {
    Ok(User {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        phone_number: row.opt_text("phone_number")?,
        tag_ids: Vec::new(),
        api_keys: Vec::new(),
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) fn tag(row: &Row) -> Result<Tag> {
    let kind = row.text("kind")?;
    Ok(Tag {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        name: row.text("name")?,
        kind: TagKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown tag kind `{kind}`")))?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn json(text: &str, col: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("corrupt `{col}`: {e}")))
}

pub(crate) fn failure_to_json(f: &Failure) -> String {
    serde_json::json!({"code": f.code, "message": f.message, "reason": f.reason}).to_string()
}

pub(crate) fn activity(row: &Row) -> Result<Activity> {
    let status = row.text("status")?;
    let failure = match row.opt_text("failure")? {
        None => None,
        Some(text) => {
            let v = json(&text, "failure")?;
            Some(Failure {
                code: v["code"].as_i64().unwrap_or(2) as i32,
                message: v["message"].as_str().unwrap_or_default().to_string(),
                reason: v["reason"].as_str().unwrap_or_default().to_string(),
            })
        }
    };
    Ok(Activity {
        id: row.text("id")?,
        organization_id: row.text("organization_id")?,
        activity_type: row.text("activity_type")?,
        status: ActivityStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown activity status `{status}`")))?,
        fingerprint: row.text("fingerprint")?,
        intent: json(&row.text("intent")?, "intent")?,
        result: json(&row.text("result")?, "result")?,
        failure,
        votes: Vec::new(),
        user_id: row.text("user_id")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub(crate) fn log_entry(row: &Row) -> Result<LogEntry> {
    Ok(LogEntry {
        organization_id: row.text("organization_id")?,
        seq: row.int("seq")?,
        activity_id: row.text("activity_id")?,
        digest: row.text("digest")?,
        prev_hash: row.text("prev_hash")?,
        hash: row.text("hash")?,
    })
}

pub(crate) fn features_from_json(text: &str) -> Result<Vec<(String, String)>> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("corrupt `features`: {e}")))
}

pub(crate) const VOTE_COLS: &str = "id, activity_id, user_id, user_name, selection, message, public_key, signature, scheme, created_at";

pub(crate) fn vote(row: &Row) -> Result<Vote> {
    Ok(Vote {
        id: row.text("id")?,
        activity_id: row.text("activity_id")?,
        user_id: row.text("user_id")?,
        user_name: row.text("user_name")?,
        selection: row.text("selection")?,
        message: row.text("message")?,
        public_key: row.text("public_key")?,
        signature: row.text("signature")?,
        scheme: row.text("scheme")?,
        created_at: row.int("created_at")?,
    })
}
