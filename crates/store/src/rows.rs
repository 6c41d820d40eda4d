//! Decoding rows into domain values, and driver errors into `StoreError`.

use crate::{LogEntry, Result, StoreError};
use quorate_domain::{Activity, ActivityStatus, ApiKey, Failure, Tag, TagKind, User};
use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(ref db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

fn get<'r, T>(row: &'r AnyRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(db_err)
}

pub(crate) fn api_key(row: &AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: get(row, "id")?,
        organization_id: get(row, "organization_id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        public_key: get(row, "public_key")?,
        curve: get(row, "curve")?,
        expiration_seconds: get(row, "expiration_seconds")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        deleted_at: get(row, "deleted_at")?,
    })
}

/// A user without keys or tags; callers attach those.
pub(crate) fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        organization_id: get(row, "organization_id")?,
        name: get(row, "name")?,
        email: get(row, "email")?,
        phone_number: get(row, "phone_number")?,
        tag_ids: Vec::new(),
        api_keys: Vec::new(),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn tag(row: &AnyRow) -> Result<Tag> {
    let kind: String = get(row, "kind")?;
    Ok(Tag {
        id: get(row, "id")?,
        organization_id: get(row, "organization_id")?,
        name: get(row, "name")?,
        kind: TagKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown tag kind `{kind}`")))?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn json(text: &str, col: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("corrupt `{col}`: {e}")))
}

pub(crate) fn failure_to_json(f: &Failure) -> String {
    serde_json::json!({"code": f.code, "message": f.message, "reason": f.reason}).to_string()
}

pub(crate) fn activity(row: &AnyRow) -> Result<Activity> {
    let status: String = get(row, "status")?;
    let intent: String = get(row, "intent")?;
    let result: String = get(row, "result")?;
    let failure: Option<String> = get(row, "failure")?;
    let failure = match failure {
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
        id: get(row, "id")?,
        organization_id: get(row, "organization_id")?,
        activity_type: get(row, "activity_type")?,
        status: ActivityStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown activity status `{status}`")))?,
        fingerprint: get(row, "fingerprint")?,
        intent: json(&intent, "intent")?,
        result: json(&result, "result")?,
        failure,
        votes: Vec::new(),
        user_id: get(row, "user_id")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

pub(crate) fn log_entry(row: &AnyRow) -> Result<LogEntry> {
    Ok(LogEntry {
        organization_id: get(row, "organization_id")?,
        seq: get(row, "seq")?,
        activity_id: get(row, "activity_id")?,
        digest: get(row, "digest")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

pub(crate) fn features_from_json(text: &str) -> Result<Vec<(String, String)>> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("corrupt `features`: {e}")))
}
