//! Wire types of policies, organization features and the root quorum (field names as in
//! Turnkey's public API).

use quorate_domain as domain;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::null_default;
use crate::types::Timestamp;

/// `create_policy` (V3) parameters, and each entry of `create_policies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePolicyIntent {
    pub policy_name: String,
    pub effect: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Accepted and ignored (Turnkey's optional time window string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePoliciesIntent {
    pub policies: Vec<CreatePolicyIntent>,
}

/// `update_policy` (V2 and V1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePolicyIntent {
    pub policy_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_effect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_consensus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletePolicyIntent {
    pub policy_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletePoliciesIntent {
    #[serde(default, deserialize_with = "null_default")]
    pub policy_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetOrganizationFeatureIntent {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveOrganizationFeatureIntent {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRootQuorumIntent {
    pub threshold: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub policy_id: String,
    pub policy_name: String,
    pub effect: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub notes: String,
    pub consensus: String,
    pub condition: String,
}

impl From<&domain::Policy> for Policy {
    fn from(p: &domain::Policy) -> Self {
        Policy {
            policy_id: p.id.clone(),
            policy_name: p.name.clone(),
            effect: p.effect.clone(),
            created_at: Timestamp::from_ms(p.created_at),
            updated_at: Timestamp::from_ms(p.updated_at),
            notes: p.notes.clone(),
            consensus: p.consensus.clone(),
            condition: p.condition.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetPolicyRequest {
    pub organization_id: String,
    pub policy_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetPolicyResponse {
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetPoliciesResponse {
    pub policies: Vec<Policy>,
}

/// `approve_activity` / `reject_activity`: the activity to vote on, by fingerprint. The answer
/// is that activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoteIntent {
    pub fingerprint: String,
}

/// `get_policy_evaluations`: each time the engine evaluated the activity's policies (at submit
/// and at each vote), every policy's outcome (`OUTCOME_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPolicyEvaluationsResponse {
    #[schema(value_type = Vec<Object>)]
    pub policy_evaluations: Vec<serde_json::Value>,
}
