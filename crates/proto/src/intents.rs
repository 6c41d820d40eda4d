//! Activity parameters (intents) as the SDKs send them. One struct serves every accepted
//! version of a type where the versions differ only by optional fields.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::null_default;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyParams {
    pub api_key_name: String,
    pub public_key: String,
    /// Absent in the oldest versions, which only knew P-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserParams {
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_phone_number: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub api_keys: Vec<ApiKeyParams>,
    #[serde(default, deserialize_with = "null_default")]
    #[schema(value_type = Vec<Object>)]
    pub authenticators: Vec<Value>,
    #[serde(default, deserialize_with = "null_default")]
    #[schema(value_type = Vec<Object>)]
    pub oauth_providers: Vec<Value>,
    #[serde(default, deserialize_with = "null_default")]
    pub user_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSubOrganizationIntent {
    pub sub_organization_name: String,
    pub root_users: Vec<UserParams>,
    pub root_quorum_threshold: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<crate::vault::CreateWalletIntent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_email_recovery: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_email_auth: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_sms_auth: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_otp_email_auth: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub client_signature: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteSubOrganizationIntent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_without_export: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUsersIntent {
    pub users: Vec<UserParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiOnlyUsersIntent {
    pub api_only_users: Vec<UserParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserIntent {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_tag_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_phone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteUsersIntent {
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserTagIntent {
    pub user_tag_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserTagIntent {
    pub user_tag_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_user_tag_name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub add_user_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub remove_user_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteUserTagsIntent {
    pub user_tag_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeysIntent {
    pub api_keys: Vec<ApiKeyParams>,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteApiKeysIntent {
    pub user_id: String,
    pub api_key_ids: Vec<String>,
}
