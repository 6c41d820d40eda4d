//! How an engine-backed `/v1` request answers when its activity did not simply complete: the
//! error of a failed, denied or rejected activity, of a refused submission, and errors a
//! `PostExec` hook raises from inside the activity's transaction.

use super::MgmtError;
use quorate_domain::{Activity, ActivityStatus};
use quorate_proto::ErrorCode;
use std::sync::Mutex;

/// The error a failed or denied engine activity answers with.
pub(crate) fn activity_error(activity: &Activity, e: Option<&crate::AppError>) -> MgmtError {
    if activity.status == ActivityStatus::Rejected {
        return MgmtError::new(
            "policy_denied",
            "the organization's approvers rejected this activity",
        );
    }
    let reason = activity.failure.as_ref().map(|f| f.reason.as_str());
    let message = e
        .map(|e| match &e.detail {
            Some(d) => format!("{}: {d}", e.message),
            None => e.message.clone(),
        })
        .or_else(|| activity.failure.as_ref().map(|f| f.message.clone()))
        .unwrap_or_else(|| "the activity failed".to_string());
    match reason {
        Some(r) if r == ErrorCode::RequestNotAuthorized.as_str() => {
            MgmtError::new("policy_denied", message)
        }
        Some(r) if r == ErrorCode::Conflict.as_str() => MgmtError::new("name_taken", message),
        _ => MgmtError::new("activity_failed", message),
    }
}

/// An engine error of an internal submission as a `/v1` error.
pub(crate) fn submit_error(e: crate::AppError) -> MgmtError {
    match e.code {
        ErrorCode::ApiKeyDeleted | ErrorCode::ApiKeyExpired => {
            MgmtError::new("api_key_revoked", e.message)
        }
        ErrorCode::RequestNotAuthorized => MgmtError::new("policy_denied", e.message),
        ErrorCode::Unavailable => MgmtError::new("vault_locked", e.message),
        _ => e.into(),
    }
}

/// `activity_status` of an activity in `/v1` answers.
pub(crate) fn activity_status(s: ActivityStatus) -> &'static str {
    match s {
        ActivityStatus::Completed => "completed",
        ActivityStatus::ConsensusNeeded => "consensus_needed",
        ActivityStatus::Failed => "failed",
        ActivityStatus::Rejected => "rejected",
        _ => "pending",
    }
}

/// An error raised inside an activity's transaction, answered after the rollback.
#[derive(Default)]
pub(crate) struct Abort(Mutex<Option<MgmtError>>);

impl Abort {
    pub(crate) fn raise(&self, e: MgmtError) -> crate::AppError {
        let message = e.message.clone();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(e);
        }
        crate::AppError::internal(message)
    }

    /// The raised error, else `e` as a `/v1` error.
    pub(crate) fn or(&self, e: crate::AppError) -> MgmtError {
        self.0
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| submit_error(e))
    }
}
