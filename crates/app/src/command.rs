//! Activity parameters parsed and checked without touching the store. Anything wrong here is
//! the caller's request (400) and records no activity.

use crate::error::{AppError, Result};
use crate::vault::command::{self as vault, VaultCommand};
use quorate_crypto::ApiKeyCurve;
use quorate_domain::id::parse_id;
use quorate_proto::intents::{self as wire, ApiKeyParams, UserParams};
use serde_json::Value;

const MAX_NAME: usize = 256;
pub(crate) const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub name: String,
    pub public_key: String,
    pub curve: ApiKeyCurve,
    pub expiration_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub keys: Vec<NewKey>,
    pub tag_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Command {
    CreateSubOrganization {
        name: String,
        root_users: Vec<NewUser>,
        threshold: u32,
        wallet: Option<vault::NewWallet>,
    },
    DeleteSubOrganization,
    CreateUsers(Vec<NewUser>),
    UpdateUser {
        user_id: String,
        name: Option<String>,
        email: Option<String>,
        phone_number: Option<String>,
        tag_ids: Option<Vec<String>>,
    },
    DeleteUsers(Vec<String>),
    CreateUserTag {
        name: String,
        user_ids: Vec<String>,
    },
    UpdateUserTag {
        tag_id: String,
        new_name: Option<String>,
        add: Vec<String>,
        remove: Vec<String>,
    },
    DeleteUserTags(Vec<String>),
    CreateApiKeys {
        user_id: String,
        keys: Vec<NewKey>,
    },
    DeleteApiKeys {
        user_id: String,
        key_ids: Vec<String>,
    },
    Vault(VaultCommand),
    /// `create_policy` (`single`) and `create_policies`.
    CreatePolicies {
        policies: Vec<NewPolicy>,
        single: bool,
    },
    UpdatePolicy {
        policy_id: String,
        name: Option<String>,
        effect: Option<String>,
        condition: Option<String>,
        consensus: Option<String>,
        notes: Option<String>,
    },
    /// `delete_policy` (`single`) and `delete_policies`.
    DeletePolicies {
        ids: Vec<String>,
        single: bool,
    },
    SetFeature {
        name: String,
        value: String,
    },
    RemoveFeature {
        name: String,
    },
    UpdateRootQuorum {
        threshold: u32,
        user_ids: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    pub name: String,
    pub effect: String,
    pub condition: String,
    pub consensus: String,
    pub notes: String,
}

/// Feature names of `set_organization_feature` (swagger `v1FeatureName`).
pub const FEATURE_NAMES: &[&str] = &[
    "FEATURE_NAME_ROOT_USER_EMAIL_RECOVERY",
    "FEATURE_NAME_WEBAUTHN_ORIGINS",
    "FEATURE_NAME_EMAIL_AUTH",
    "FEATURE_NAME_EMAIL_RECOVERY",
    "FEATURE_NAME_WEBHOOK",
    "FEATURE_NAME_SMS_AUTH",
    "FEATURE_NAME_OTP_EMAIL_AUTH",
    "FEATURE_NAME_AUTH_PROXY",
    "FEATURE_NAME_SOLANA_RENT_PREFUND_ENABLED",
    "FEATURE_NAME_SWAP_CONFIG",
    "FEATURE_NAME_EARN_CONFIG",
];

/// Longest policy expression or note accepted.
const MAX_POLICY_TEXT: usize = 16 * 1024;

fn effect(field: &str, v: &str) -> Result<String> {
    match v {
        "EFFECT_ALLOW" | "EFFECT_DENY" => Ok(v.to_string()),
        other => Err(AppError::invalid(format!(
            "`{field}` must be EFFECT_ALLOW or EFFECT_DENY, got `{}`",
            truncate(other)
        ))),
    }
}

/// A policy expression: bounded, and checked by the policy language when written.
fn expression(field: &str, v: Option<&str>, scope: crate::policy::Scope) -> Result<String> {
    let v = v.map(str::trim).unwrap_or_default();
    if v.len() > MAX_POLICY_TEXT {
        return Err(AppError::invalid(format!(
            "`{field}` is longer than {MAX_POLICY_TEXT} bytes"
        )));
    }
    if !v.is_empty() {
        crate::policy::check(v, scope).map_err(|e| AppError::invalid(format!("`{field}`: {e}")))?;
    }
    Ok(v.to_string())
}

fn notes(field: &str, v: Option<&str>) -> Result<String> {
    let v = v.unwrap_or_default();
    if v.len() > MAX_POLICY_TEXT {
        return Err(AppError::invalid(format!(
            "`{field}` is longer than {MAX_POLICY_TEXT} bytes"
        )));
    }
    Ok(v.to_string())
}

fn new_policy(field: &str, p: &quorate_proto::policy::CreatePolicyIntent) -> Result<NewPolicy> {
    use crate::policy::Scope;
    Ok(NewPolicy {
        name: name(&format!("{field}.policyName"), &p.policy_name)?,
        effect: effect(&format!("{field}.effect"), &p.effect)?,
        condition: expression(
            &format!("{field}.condition"),
            p.condition.as_deref(),
            Scope::Condition,
        )?,
        consensus: expression(
            &format!("{field}.consensus"),
            p.consensus.as_deref(),
            Scope::Consensus,
        )?,
        notes: notes(&format!("{field}.notes"), p.notes.as_deref())?,
    })
}

/// What a completed command does to who can authenticate, for the credential cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialEffect {
    None,
    /// Adds these public keys; resolutions of other keys stay valid.
    Adds(Vec<String>),
    /// Removes or renames credentials, users or organizations.
    Changes,
}

impl Command {
    /// Whether completing it bumps the organization's version (which keys the compiled-policy
    /// cache): changes to users, keys, tags, policies, quorum or features do; signatures,
    /// exports and wallets do not.
    pub fn bumps_version(&self) -> bool {
        match self {
            Command::Vault(v) => matches!(
                v,
                VaultCommand::CreatePrivateKeyTag { .. }
                    | VaultCommand::UpdatePrivateKeyTag { .. }
                    | VaultCommand::DeletePrivateKeyTags(_)
                    | VaultCommand::CreatePrivateKeys { .. }
                    | VaultCommand::DeletePrivateKeys { .. }
            ),
            _ => true,
        }
    }

    /// Only the root quorum may do these; policies cannot allow them.
    pub fn root_quorum_only(&self) -> bool {
        matches!(
            self,
            Command::UpdateRootQuorum { .. }
                | Command::SetFeature { .. }
                | Command::RemoveFeature { .. }
        )
    }

    pub fn credential_effect(&self) -> CredentialEffect {
        let keys = |users: &[NewUser]| {
            users
                .iter()
                .flat_map(|u| u.keys.iter().map(|k| k.public_key.clone()))
                .collect()
        };
        match self {
            Command::CreateUserTag { .. }
            | Command::UpdateUserTag { .. }
            | Command::DeleteUserTags(_)
            | Command::Vault(_)
            | Command::CreatePolicies { .. }
            | Command::UpdatePolicy { .. }
            | Command::DeletePolicies { .. }
            | Command::SetFeature { .. }
            | Command::RemoveFeature { .. } => CredentialEffect::None,
            Command::CreateSubOrganization { root_users, .. } => {
                CredentialEffect::Adds(keys(root_users))
            }
            Command::CreateUsers(users) => CredentialEffect::Adds(keys(users)),
            Command::CreateApiKeys { keys, .. } => {
                CredentialEffect::Adds(keys.iter().map(|k| k.public_key.clone()).collect())
            }
            Command::DeleteSubOrganization
            | Command::UpdateUser { .. }
            | Command::DeleteUsers(_)
            | Command::DeleteApiKeys { .. }
            | Command::UpdateRootQuorum { .. } => CredentialEffect::Changes,
        }
    }
}

/// Rejects control characters (PostgreSQL refuses NUL in text; none belongs in a name).
fn printable(field: &str, v: &str) -> Result<()> {
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid(format!(
            "`{field}` must not contain control characters"
        )));
    }
    Ok(())
}

pub(crate) fn name(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    printable(field, v)?;
    if v.is_empty() {
        return Err(AppError::invalid(format!("`{field}` must not be empty")));
    }
    if v.chars().count() > MAX_NAME {
        return Err(AppError::invalid(format!(
            "`{field}` is longer than {MAX_NAME} characters"
        )));
    }
    Ok(v.to_string())
}

/// An email or phone number: may be empty (clears it), else a printable value of bounded length.
fn contact(field: &str, value: &str) -> Result<String> {
    match value.trim() {
        "" => Ok(String::new()),
        v => name(field, v),
    }
}

pub(crate) fn optional(field: &str, value: &Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => name(field, v).map(Some),
    }
}

pub(crate) fn ids(field: &str, values: &[String]) -> Result<Vec<String>> {
    if values.len() > MAX_ITEMS {
        return Err(AppError::invalid(format!(
            "`{field}` has more than {MAX_ITEMS} entries"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let id = parse_id("id", v).map_err(|_| {
            AppError::invalid(format!(
                "`{field}[{i}]` must be a UUID, got `{}`",
                truncate(v)
            ))
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

pub(crate) fn id(field: &str, value: &str) -> Result<String> {
    parse_id("id", value).map_err(|_| {
        AppError::invalid(format!(
            "`{field}` must be a UUID, got `{}`",
            truncate(value)
        ))
    })
}

pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

fn key(field: &str, p: &ApiKeyParams) -> Result<NewKey> {
    let curve = match p.curve_type.as_deref() {
        None | Some("") => ApiKeyCurve::P256,
        Some(c) => ApiKeyCurve::parse_api_str(c).ok_or_else(|| {
            AppError::invalid(format!(
                "`{field}.curveType` has unknown value `{}`, expected one of API_KEY_CURVE_P256, API_KEY_CURVE_SECP256K1, API_KEY_CURVE_ED25519",
                truncate(c)
            ))
        })?,
    };
    let public_key = quorate_crypto::normalize_public_key(curve, &p.public_key).map_err(|e| {
        AppError::invalid(format!(
            "`{field}.publicKey` is not a valid {} public key: {e}",
            curve.as_api_str()
        ))
    })?;
    let expiration_seconds = match p.expiration_seconds.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
            AppError::invalid(format!(
                "`{field}.expirationSeconds` must be a positive integer string, got `{}`",
                truncate(s)
            ))
        })?),
    };
    Ok(NewKey {
        name: name(&format!("{field}.apiKeyName"), &p.api_key_name)?,
        public_key,
        curve,
        expiration_seconds,
    })
}

fn keys(field: &str, list: &[ApiKeyParams]) -> Result<Vec<NewKey>> {
    if list.len() > MAX_ITEMS {
        return Err(AppError::invalid(format!(
            "`{field}` has more than {MAX_ITEMS} entries"
        )));
    }
    let out = list
        .iter()
        .enumerate()
        .map(|(i, p)| key(&format!("{field}[{i}]"), p))
        .collect::<Result<Vec<_>>>()?;
    for (i, k) in out.iter().enumerate() {
        if out[..i].iter().any(|o| o.public_key == k.public_key) {
            return Err(AppError::invalid(format!(
                "`{field}[{i}].publicKey` is listed twice"
            )));
        }
    }
    Ok(out)
}

fn user(field: &str, p: &UserParams) -> Result<NewUser> {
    if !p.authenticators.is_empty() {
        return Err(AppError::not_implemented(format!("`{field}.authenticators`: passkey authenticators are not supported yet; register API keys instead")));
    }
    if !p.oauth_providers.is_empty() {
        return Err(AppError::not_implemented(format!(
            "`{field}.oauthProviders`: OAuth providers are not supported yet"
        )));
    }
    Ok(NewUser {
        name: name(&format!("{field}.userName"), &p.user_name)?,
        email: optional(&format!("{field}.userEmail"), &p.user_email)?,
        phone_number: optional(&format!("{field}.userPhoneNumber"), &p.user_phone_number)?,
        keys: keys(&format!("{field}.apiKeys"), &p.api_keys)?,
        tag_ids: ids(&format!("{field}.userTags"), &p.user_tags)?,
    })
}

fn users(field: &str, list: &[UserParams]) -> Result<Vec<NewUser>> {
    if list.is_empty() {
        return Err(AppError::invalid(format!(
            "`{field}` must list at least one user"
        )));
    }
    if list.len() > MAX_ITEMS {
        return Err(AppError::invalid(format!(
            "`{field}` has more than {MAX_ITEMS} entries"
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, p)| user(&format!("{field}[{i}]"), p))
        .collect()
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(params: Value) -> Result<T> {
    quorate_proto::decode_value("parameters", params).map_err(AppError::invalid)
}

/// Parses the parameters of a submit of `activity_type` to `path`.
pub fn parse(path: &str, activity_type: &str, params: Value) -> Result<Command> {
    if vault::PATHS.contains(&path) {
        return vault::parse(path, activity_type, params).map(Command::Vault);
    }
    Ok(match path {
        "create_sub_organization" => {
            let p: wire::CreateSubOrganizationIntent = decode(params)?;
            let wallet = p
                .wallet
                .as_ref()
                .map(|w| vault::new_wallet("parameters.wallet", w))
                .transpose()?;
            let root_users = users("parameters.rootUsers", &p.root_users)?;
            let threshold = u32::try_from(p.root_quorum_threshold).ok().filter(|t| *t >= 1 && (*t as usize) <= root_users.len()).ok_or_else(|| {
                AppError::invalid(format!("`parameters.rootQuorumThreshold` must be between 1 and the number of root users ({}), got {}", root_users.len(), p.root_quorum_threshold))
            })?;
            for (i, u) in root_users.iter().enumerate() {
                if !u.tag_ids.is_empty() {
                    return Err(AppError::invalid(format!("`parameters.rootUsers[{i}].userTags`: a new sub-organization has no tags yet")));
                }
            }
            Command::CreateSubOrganization {
                name: name("parameters.subOrganizationName", &p.sub_organization_name)?,
                root_users,
                threshold,
                wallet,
            }
        }
        "delete_sub_organization" => {
            let _: wire::DeleteSubOrganizationIntent = decode(params)?;
            Command::DeleteSubOrganization
        }
        "create_users" => {
            let p: wire::CreateUsersIntent = decode(params)?;
            Command::CreateUsers(users("parameters.users", &p.users)?)
        }
        "create_api_only_users" => {
            let p: wire::CreateApiOnlyUsersIntent = decode(params)?;
            Command::CreateUsers(users("parameters.apiOnlyUsers", &p.api_only_users)?)
        }
        "update_user" => {
            let p: wire::UpdateUserIntent = decode(params)?;
            Command::UpdateUser {
                user_id: id("parameters.userId", &p.user_id)?,
                name: p
                    .user_name
                    .as_deref()
                    .map(|n| name("parameters.userName", n))
                    .transpose()?,
                email: p
                    .user_email
                    .as_deref()
                    .map(|e| contact("parameters.userEmail", e))
                    .transpose()?,
                phone_number: p
                    .user_phone_number
                    .as_deref()
                    .map(|e| contact("parameters.userPhoneNumber", e))
                    .transpose()?,
                tag_ids: p
                    .user_tag_ids
                    .as_deref()
                    .map(|t| ids("parameters.userTagIds", t))
                    .transpose()?,
            }
        }
        "delete_users" => {
            let p: wire::DeleteUsersIntent = decode(params)?;
            non_empty("parameters.userIds", &p.user_ids)?;
            Command::DeleteUsers(ids("parameters.userIds", &p.user_ids)?)
        }
        "create_user_tag" => {
            let p: wire::CreateUserTagIntent = decode(params)?;
            Command::CreateUserTag {
                name: name("parameters.userTagName", &p.user_tag_name)?,
                user_ids: ids("parameters.userIds", &p.user_ids)?,
            }
        }
        "update_user_tag" => {
            let p: wire::UpdateUserTagIntent = decode(params)?;
            Command::UpdateUserTag {
                tag_id: id("parameters.userTagId", &p.user_tag_id)?,
                new_name: optional("parameters.newUserTagName", &p.new_user_tag_name)?,
                add: ids("parameters.addUserIds", &p.add_user_ids)?,
                remove: ids("parameters.removeUserIds", &p.remove_user_ids)?,
            }
        }
        "delete_user_tags" => {
            let p: wire::DeleteUserTagsIntent = decode(params)?;
            non_empty("parameters.userTagIds", &p.user_tag_ids)?;
            Command::DeleteUserTags(ids("parameters.userTagIds", &p.user_tag_ids)?)
        }
        "create_api_keys" => {
            let p: wire::CreateApiKeysIntent = decode(params)?;
            if p.api_keys.is_empty() {
                return Err(AppError::invalid(
                    "`parameters.apiKeys` must list at least one key",
                ));
            }
            Command::CreateApiKeys {
                user_id: id("parameters.userId", &p.user_id)?,
                keys: keys("parameters.apiKeys", &p.api_keys)?,
            }
        }
        "delete_api_keys" => {
            let p: wire::DeleteApiKeysIntent = decode(params)?;
            non_empty("parameters.apiKeyIds", &p.api_key_ids)?;
            Command::DeleteApiKeys {
                user_id: id("parameters.userId", &p.user_id)?,
                key_ids: ids("parameters.apiKeyIds", &p.api_key_ids)?,
            }
        }
        "create_policy" => {
            let p: quorate_proto::policy::CreatePolicyIntent = decode(params)?;
            Command::CreatePolicies {
                policies: vec![new_policy("parameters", &p)?],
                single: true,
            }
        }
        "create_policies" => {
            let p: quorate_proto::policy::CreatePoliciesIntent = decode(params)?;
            if p.policies.is_empty() || p.policies.len() > MAX_ITEMS {
                return Err(AppError::invalid(format!(
                    "`parameters.policies` must list 1 to {MAX_ITEMS} policies"
                )));
            }
            let policies = p
                .policies
                .iter()
                .enumerate()
                .map(|(i, p)| new_policy(&format!("parameters.policies[{i}]"), p))
                .collect::<Result<Vec<_>>>()?;
            Command::CreatePolicies {
                policies,
                single: false,
            }
        }
        "update_policy" => {
            use crate::policy::Scope;
            let p: quorate_proto::policy::UpdatePolicyIntent = decode(params)?;
            Command::UpdatePolicy {
                policy_id: id("parameters.policyId", &p.policy_id)?,
                name: optional("parameters.policyName", &p.policy_name)?,
                effect: p
                    .policy_effect
                    .as_deref()
                    .filter(|e| !e.is_empty())
                    .map(|e| effect("parameters.policyEffect", e))
                    .transpose()?,
                condition: p
                    .policy_condition
                    .as_deref()
                    .map(|c| expression("parameters.policyCondition", Some(c), Scope::Condition))
                    .transpose()?,
                consensus: p
                    .policy_consensus
                    .as_deref()
                    .map(|c| expression("parameters.policyConsensus", Some(c), Scope::Consensus))
                    .transpose()?,
                notes: p
                    .policy_notes
                    .as_deref()
                    .map(|n| notes("parameters.policyNotes", Some(n)))
                    .transpose()?,
            }
        }
        "delete_policy" => {
            let p: quorate_proto::policy::DeletePolicyIntent = decode(params)?;
            Command::DeletePolicies {
                ids: vec![id("parameters.policyId", &p.policy_id)?],
                single: true,
            }
        }
        "delete_policies" => {
            let p: quorate_proto::policy::DeletePoliciesIntent = decode(params)?;
            non_empty("parameters.policyIds", &p.policy_ids)?;
            Command::DeletePolicies {
                ids: ids("parameters.policyIds", &p.policy_ids)?,
                single: false,
            }
        }
        "set_organization_feature" => {
            let p: quorate_proto::policy::SetOrganizationFeatureIntent = decode(params)?;
            Command::SetFeature {
                name: feature("parameters.name", &p.name)?,
                value: notes("parameters.value", p.value.as_deref())?,
            }
        }
        "remove_organization_feature" => {
            let p: quorate_proto::policy::RemoveOrganizationFeatureIntent = decode(params)?;
            Command::RemoveFeature {
                name: feature("parameters.name", &p.name)?,
            }
        }
        "update_root_quorum" => {
            let p: quorate_proto::policy::UpdateRootQuorumIntent = decode(params)?;
            let user_ids = ids("parameters.userIds", &p.user_ids)?;
            // An organization can never lock itself out: at least one root user, and a
            // threshold those users can meet.
            let threshold = u32::try_from(p.threshold)
                .ok()
                .filter(|t| *t >= 1 && (*t as usize) <= user_ids.len())
                .ok_or_else(|| {
                    AppError::invalid(format!(
                        "`parameters.threshold` must be between 1 and the number of root users ({}), got {}",
                        user_ids.len(),
                        p.threshold
                    ))
                })?;
            Command::UpdateRootQuorum {
                threshold,
                user_ids,
            }
        }
        other => {
            return Err(AppError::not_implemented(format!(
                "`{other}` is not implemented yet"
            )))
        }
    })
}

fn feature(field: &str, v: &str) -> Result<String> {
    if FEATURE_NAMES.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(AppError::invalid(format!(
            "`{field}` must be one of {}, got `{}`",
            FEATURE_NAMES.join(", "),
            truncate(v)
        )))
    }
}

pub(crate) fn non_empty(field: &str, v: &[String]) -> Result<()> {
    if v.is_empty() {
        return Err(AppError::invalid(format!("`{field}` must not be empty")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn threshold_is_checked() {
        let params = json!({"subOrganizationName": "s", "rootQuorumThreshold": 2, "rootUsers": [{"userName": "a", "apiKeys": [], "authenticators": [], "oauthProviders": []}]});
        let err = parse(
            "create_sub_organization",
            "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
            params,
        )
        .unwrap_err();
        assert!(
            err.message.contains("rootQuorumThreshold"),
            "{}",
            err.message
        );
    }

    #[test]
    fn enum_values_are_named() {
        let params = json!({"userId": "7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f", "apiKeys": [{"apiKeyName": "k", "publicKey": "00", "curveType": "API_KEY_CURVE_NOPE"}]});
        let err = parse(
            "create_api_keys",
            "ACTIVITY_TYPE_CREATE_API_KEYS_V2",
            params,
        )
        .unwrap_err();
        assert!(
            err.message.contains("`parameters.apiKeys[0].curveType`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = parse(
            "delete_users",
            "ACTIVITY_TYPE_DELETE_USERS",
            json!({"userIds": [], "extra": true}),
        )
        .unwrap_err();
        assert!(
            err.message.contains("unknown field `extra`"),
            "{}",
            err.message
        );
    }
}
