//! Activities: the durable record of every change, their statuses, failures and votes.

use crate::time::Millis;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityStatus {
    Created,
    Pending,
    Completed,
    Failed,
    ConsensusNeeded,
    Rejected,
    AuthenticatorsNeeded,
}

impl ActivityStatus {
    pub const ALL: [ActivityStatus; 7] = [
        ActivityStatus::Created,
        ActivityStatus::Pending,
        ActivityStatus::Completed,
        ActivityStatus::Failed,
        ActivityStatus::ConsensusNeeded,
        ActivityStatus::Rejected,
        ActivityStatus::AuthenticatorsNeeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityStatus::Created => "ACTIVITY_STATUS_CREATED",
            ActivityStatus::Pending => "ACTIVITY_STATUS_PENDING",
            ActivityStatus::Completed => "ACTIVITY_STATUS_COMPLETED",
            ActivityStatus::Failed => "ACTIVITY_STATUS_FAILED",
            ActivityStatus::ConsensusNeeded => "ACTIVITY_STATUS_CONSENSUS_NEEDED",
            ActivityStatus::Rejected => "ACTIVITY_STATUS_REJECTED",
            ActivityStatus::AuthenticatorsNeeded => "ACTIVITY_STATUS_AUTHENTICATORS_NEEDED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the activity can still change (await votes or execution).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ActivityStatus::Completed | ActivityStatus::Failed | ActivityStatus::Rejected
        )
    }
}

/// Why an activity failed, in the shape of google.rpc.Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
    /// Stable machine-readable reason (`turnkeyErrorCode`).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub id: String,
    pub activity_id: String,
    pub user_id: String,
    /// The voter's name when they voted (shown with the vote).
    pub user_name: String,
    pub selection: String,
    pub message: String,
    pub public_key: String,
    pub signature: String,
    pub scheme: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: String,
    pub organization_id: String,
    /// `ACTIVITY_TYPE_…` exactly as submitted.
    pub activity_type: String,
    pub status: ActivityStatus,
    /// `sha256:` + hex SHA-256 of the exact request body.
    pub fingerprint: String,
    /// `{"<intentKey>": parameters}`.
    pub intent: Value,
    /// `{"<resultKey>": {...}}` once completed, `{}` before.
    pub result: Value,
    pub failure: Option<Failure>,
    pub votes: Vec<Vote>,
    /// The user whose credential submitted it.
    pub user_id: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}
