//! Response and query-request types, named and shaped as in Turnkey's public API.

use quorate_domain as domain;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::null_default;

/// `{"seconds": "...", "nanos": "..."}` (64-bit integers as strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Timestamp {
    pub seconds: String,
    pub nanos: String,
}

impl Timestamp {
    pub fn from_ms(ms: domain::Millis) -> Self {
        Timestamp {
            seconds: ms.div_euclid(1000).to_string(),
            nanos: (ms.rem_euclid(1000) * 1_000_000).to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub code: i32,
    pub message: String,
    #[serde(default)]
    pub details: Vec<crate::ErrorDetail>,
}

/// A user's approval or rejection of an activity (swagger `v1Vote`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    pub id: String,
    pub user_id: String,
    pub user: User,
    pub activity_id: String,
    /// `VOTE_SELECTION_APPROVED` or `VOTE_SELECTION_REJECTED`.
    pub selection: String,
    /// The request body the voter stamped.
    pub message: String,
    pub public_key: String,
    pub signature: String,
    pub scheme: String,
    pub created_at: Timestamp,
}

impl From<&domain::Vote> for Vote {
    fn from(v: &domain::Vote) -> Self {
        let user = domain::User {
            id: v.user_id.clone(),
            organization_id: String::new(),
            name: v.user_name.clone(),
            email: None,
            phone_number: None,
            tag_ids: Vec::new(),
            api_keys: Vec::new(),
            created_at: v.created_at,
            updated_at: v.created_at,
        };
        Vote {
            id: v.id.clone(),
            user_id: v.user_id.clone(),
            user: User::from(&user),
            activity_id: v.activity_id.clone(),
            selection: v.selection.clone(),
            message: v.message.clone(),
            public_key: v.public_key.clone(),
            signature: v.signature.clone(),
            scheme: v.scheme.clone(),
            created_at: Timestamp::from_ms(v.created_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: String,
    pub organization_id: String,
    pub status: String,
    #[serde(rename = "type")]
    pub activity_type: String,
    #[schema(value_type = Object)]
    pub intent: Value,
    #[schema(value_type = Object)]
    pub result: Value,
    pub votes: Vec<Vote>,
    pub fingerprint: String,
    pub can_approve: bool,
    pub can_reject: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Status>,
}

impl From<&domain::Activity> for Activity {
    fn from(a: &domain::Activity) -> Self {
        Activity {
            id: a.id.clone(),
            organization_id: a.organization_id.clone(),
            status: a.status.as_str().to_string(),
            activity_type: a.activity_type.clone(),
            intent: a.intent.clone(),
            result: a.result.clone(),
            votes: a.votes.iter().map(Vote::from).collect(),
            fingerprint: a.fingerprint.clone(),
            can_approve: false,
            can_reject: false,
            created_at: Timestamp::from_ms(a.created_at),
            updated_at: Timestamp::from_ms(a.updated_at),
            failure: a.failure.as_ref().map(|f| Status {
                code: f.code,
                message: f.message.clone(),
                details: vec![crate::ErrorDetail {
                    type_url: crate::error::DETAIL_TYPE.to_string(),
                    turnkey_error_code: Some(f.reason.clone()),
                    message: None,
                }],
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityResponse {
    pub activity: Activity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub public_key: String,
    #[serde(rename = "type")]
    pub credential_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub credential: Credential,
    pub api_key_id: String,
    pub api_key_name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<String>,
}

/// `API_KEY_CURVE_P256` → `CREDENTIAL_TYPE_API_KEY_P256`.
pub fn credential_type_for_curve(curve: &str) -> String {
    format!(
        "CREDENTIAL_TYPE_API_KEY_{}",
        curve.strip_prefix("API_KEY_CURVE_").unwrap_or(curve)
    )
}

impl From<&domain::ApiKey> for ApiKey {
    fn from(k: &domain::ApiKey) -> Self {
        ApiKey {
            credential: Credential {
                public_key: k.public_key.clone(),
                credential_type: credential_type_for_curve(&k.curve),
            },
            api_key_id: k.id.clone(),
            api_key_name: k.name.clone(),
            created_at: Timestamp::from_ms(k.created_at),
            updated_at: Timestamp::from_ms(k.updated_at),
            expiration_seconds: k.expiration_seconds.map(|s| s.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: String,
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_phone_number: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub authenticators: Vec<Value>,
    pub api_keys: Vec<ApiKey>,
    pub user_tags: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub oauth_providers: Vec<Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[schema(value_type = Vec<Object>)]
    pub mfa_policies: Vec<Value>,
}

impl From<&domain::User> for User {
    fn from(u: &domain::User) -> Self {
        User {
            user_id: u.id.clone(),
            user_name: u.name.clone(),
            user_email: u.email.clone(),
            user_phone_number: u.phone_number.clone(),
            authenticators: Vec::new(),
            api_keys: u.api_keys.iter().map(ApiKey::from).collect(),
            user_tags: u.tag_ids.clone(),
            oauth_providers: Vec::new(),
            created_at: Timestamp::from_ms(u.created_at),
            updated_at: Timestamp::from_ms(u.updated_at),
            mfa_policies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub tag_id: String,
    pub tag_name: String,
    pub tag_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&domain::Tag> for Tag {
    fn from(t: &domain::Tag) -> Self {
        Tag {
            tag_id: t.id.clone(),
            tag_name: t.name.clone(),
            tag_type: t.kind.as_str().to_string(),
            created_at: Timestamp::from_ms(t.created_at),
            updated_at: Timestamp::from_ms(t.updated_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quorum {
    pub threshold: u32,
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Feature {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Config {
    pub features: Vec<Feature>,
    pub quorum: Quorum,
}

impl From<&domain::Organization> for Config {
    fn from(o: &domain::Organization) -> Self {
        Config {
            features: o
                .features
                .iter()
                .map(|(name, value)| Feature {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            quorum: Quorum {
                threshold: o.root_quorum_threshold,
                user_ids: o.root_user_ids.clone(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationData {
    pub organization_id: String,
    pub name: String,
    pub users: Vec<User>,
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub private_keys: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub invitations: Vec<Value>,
    pub tags: Vec<Tag>,
    pub root_quorum: Quorum,
    pub features: Vec<Feature>,
    #[schema(value_type = Vec<Object>)]
    pub wallets: Vec<Value>,
}

// ---- query requests ----

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pagination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Every query that takes only the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationRequest {
    pub organization_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetUserRequest {
    pub organization_id: String,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetApiKeyRequest {
    pub organization_id: String,
    pub api_key_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetApiKeysRequest {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetActivityRequest {
    pub organization_id: String,
    pub activity_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetActivitiesRequest {
    pub organization_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub filter_by_status: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub filter_by_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination_options: Option<Pagination>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetSubOrgIdsRequest {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination_options: Option<Pagination>,
}

// ---- query responses ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoamiResponse {
    pub organization_id: String,
    pub organization_name: String,
    pub user_id: String,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetOrganizationResponse {
    pub organization_data: OrganizationData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetOrganizationConfigsResponse {
    pub configs: Config,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetSubOrgIdsResponse {
    pub organization_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetUserResponse {
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetUsersResponse {
    pub users: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListUserTagsResponse {
    pub user_tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetApiKeyResponse {
    pub api_key: ApiKey,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetApiKeysResponse {
    pub api_keys: Vec<ApiKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetActivitiesResponse {
    pub activities: Vec<Activity>,
}

/// The envelope of every submit request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitRequest {
    #[serde(rename = "type")]
    pub activity_type: String,
    pub timestamp_ms: String,
    pub organization_id: String,
    #[schema(value_type = Object)]
    pub parameters: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_app_proofs: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_strings() {
        let t = Timestamp::from_ms(1_700_000_000_123);
        assert_eq!(t.seconds, "1700000000");
        assert_eq!(t.nanos, "123000000");
    }
}
