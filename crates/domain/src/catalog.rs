//! The activity catalog: which `ACTIVITY_TYPE_…` versions each submit path accepts, and the
//! intent/result keys their records use (WIRE.md §7).

#[path = "catalog_types.rs"]
mod types;
pub use types::ALL_ACTIVITY_TYPES;

/// One accepted activity type version on one submit path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivitySpec {
    /// `/public/v1/submit/<path>`.
    pub path: &'static str,
    pub activity_type: &'static str,
    /// The key of the activity's `result` object.
    pub result_key: &'static str,
}

macro_rules! spec {
    ($path:literal, $ty:literal, $res:literal) => {
        ActivitySpec {
            path: $path,
            activity_type: $ty,
            result_key: $res,
        }
    };
}

/// Every activity type version quorate executes. Older versions the SDKs may still send are
/// accepted beside the current one.
pub const CATALOG: &[ActivitySpec] = &[
    spec!(
        "create_sub_organization",
        "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8",
        "createSubOrganizationResultV8"
    ),
    spec!(
        "create_sub_organization",
        "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V7",
        "createSubOrganizationResultV7"
    ),
    spec!(
        "create_sub_organization",
        "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V6",
        "createSubOrganizationResultV6"
    ),
    spec!(
        "create_sub_organization",
        "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V5",
        "createSubOrganizationResultV5"
    ),
    spec!(
        "create_sub_organization",
        "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V4",
        "createSubOrganizationResultV4"
    ),
    spec!(
        "delete_sub_organization",
        "ACTIVITY_TYPE_DELETE_SUB_ORGANIZATION",
        "deleteSubOrganizationResult"
    ),
    spec!(
        "create_users",
        "ACTIVITY_TYPE_CREATE_USERS_V4",
        "createUsersResult"
    ),
    spec!(
        "create_users",
        "ACTIVITY_TYPE_CREATE_USERS_V3",
        "createUsersResult"
    ),
    spec!(
        "create_users",
        "ACTIVITY_TYPE_CREATE_USERS_V2",
        "createUsersResult"
    ),
    spec!(
        "create_api_only_users",
        "ACTIVITY_TYPE_CREATE_API_ONLY_USERS",
        "createApiOnlyUsersResult"
    ),
    spec!(
        "update_user",
        "ACTIVITY_TYPE_UPDATE_USER",
        "updateUserResult"
    ),
    spec!(
        "delete_users",
        "ACTIVITY_TYPE_DELETE_USERS",
        "deleteUsersResult"
    ),
    spec!(
        "create_user_tag",
        "ACTIVITY_TYPE_CREATE_USER_TAG",
        "createUserTagResult"
    ),
    spec!(
        "update_user_tag",
        "ACTIVITY_TYPE_UPDATE_USER_TAG",
        "updateUserTagResult"
    ),
    spec!(
        "delete_user_tags",
        "ACTIVITY_TYPE_DELETE_USER_TAGS",
        "deleteUserTagsResult"
    ),
    spec!(
        "create_api_keys",
        "ACTIVITY_TYPE_CREATE_API_KEYS_V2",
        "createApiKeysResult"
    ),
    spec!(
        "create_api_keys",
        "ACTIVITY_TYPE_CREATE_API_KEYS",
        "createApiKeysResult"
    ),
    spec!(
        "delete_api_keys",
        "ACTIVITY_TYPE_DELETE_API_KEYS",
        "deleteApiKeysResult"
    ),
    spec!(
        "create_policy",
        "ACTIVITY_TYPE_CREATE_POLICY_V3",
        "createPolicyResult"
    ),
    spec!(
        "create_policies",
        "ACTIVITY_TYPE_CREATE_POLICIES",
        "createPoliciesResult"
    ),
    spec!(
        "update_policy",
        "ACTIVITY_TYPE_UPDATE_POLICY_V2",
        "updatePolicyResultV2"
    ),
    spec!(
        "update_policy",
        "ACTIVITY_TYPE_UPDATE_POLICY",
        "updatePolicyResult"
    ),
    spec!(
        "delete_policy",
        "ACTIVITY_TYPE_DELETE_POLICY",
        "deletePolicyResult"
    ),
    spec!(
        "delete_policies",
        "ACTIVITY_TYPE_DELETE_POLICIES",
        "deletePoliciesResult"
    ),
    spec!(
        "set_organization_feature",
        "ACTIVITY_TYPE_SET_ORGANIZATION_FEATURE",
        "setOrganizationFeatureResult"
    ),
    spec!(
        "remove_organization_feature",
        "ACTIVITY_TYPE_REMOVE_ORGANIZATION_FEATURE",
        "removeOrganizationFeatureResult"
    ),
    spec!(
        "update_root_quorum",
        "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
        "updateRootQuorumResult"
    ),
    spec!(
        "create_wallet",
        "ACTIVITY_TYPE_CREATE_WALLET",
        "createWalletResult"
    ),
    spec!(
        "create_wallet_accounts",
        "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
        "createWalletAccountsResult"
    ),
    spec!(
        "update_wallet",
        "ACTIVITY_TYPE_UPDATE_WALLET",
        "updateWalletResult"
    ),
    spec!(
        "delete_wallets",
        "ACTIVITY_TYPE_DELETE_WALLETS",
        "deleteWalletsResult"
    ),
    spec!(
        "export_wallet",
        "ACTIVITY_TYPE_EXPORT_WALLET",
        "exportWalletResult"
    ),
    spec!(
        "export_wallet_account",
        "ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT",
        "exportWalletAccountResult"
    ),
    spec!(
        "init_import_wallet",
        "ACTIVITY_TYPE_INIT_IMPORT_WALLET",
        "initImportWalletResult"
    ),
    spec!(
        "import_wallet",
        "ACTIVITY_TYPE_IMPORT_WALLET",
        "importWalletResult"
    ),
    spec!(
        "init_import_private_key",
        "ACTIVITY_TYPE_INIT_IMPORT_PRIVATE_KEY",
        "initImportPrivateKeyResult"
    ),
    spec!(
        "import_private_key",
        "ACTIVITY_TYPE_IMPORT_PRIVATE_KEY",
        "importPrivateKeyResult"
    ),
    spec!(
        "create_private_keys",
        "ACTIVITY_TYPE_CREATE_PRIVATE_KEYS_V2",
        "createPrivateKeysResultV2"
    ),
    spec!(
        "create_private_keys",
        "ACTIVITY_TYPE_CREATE_PRIVATE_KEYS",
        "createPrivateKeysResult"
    ),
    spec!(
        "delete_private_keys",
        "ACTIVITY_TYPE_DELETE_PRIVATE_KEYS",
        "deletePrivateKeysResult"
    ),
    spec!(
        "export_private_key",
        "ACTIVITY_TYPE_EXPORT_PRIVATE_KEY",
        "exportPrivateKeyResult"
    ),
    spec!(
        "create_private_key_tag",
        "ACTIVITY_TYPE_CREATE_PRIVATE_KEY_TAG",
        "createPrivateKeyTagResult"
    ),
    spec!(
        "update_private_key_tag",
        "ACTIVITY_TYPE_UPDATE_PRIVATE_KEY_TAG",
        "updatePrivateKeyTagResult"
    ),
    spec!(
        "delete_private_key_tags",
        "ACTIVITY_TYPE_DELETE_PRIVATE_KEY_TAGS",
        "deletePrivateKeyTagsResult"
    ),
    spec!(
        "sign_raw_payload",
        "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
        "signRawPayloadResult"
    ),
    spec!(
        "sign_raw_payload",
        "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD",
        "signRawPayloadResult"
    ),
    spec!(
        "sign_raw_payloads",
        "ACTIVITY_TYPE_SIGN_RAW_PAYLOADS",
        "signRawPayloadsResult"
    ),
    spec!(
        "sign_transaction",
        "ACTIVITY_TYPE_SIGN_TRANSACTION_V2",
        "signTransactionResult"
    ),
    spec!(
        "sign_transaction",
        "ACTIVITY_TYPE_SIGN_TRANSACTION",
        "signTransactionResult"
    ),
];

/// Submit paths that quorate executes.
pub fn implemented_paths() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    CATALOG.iter().filter_map(move |s| {
        if seen.contains(&s.path) {
            None
        } else {
            seen.push(s.path);
            Some(s.path)
        }
    })
}

/// The spec for `activity_type` on `path`, if quorate executes that combination.
pub fn spec_for(path: &str, activity_type: &str) -> Option<&'static ActivitySpec> {
    CATALOG
        .iter()
        .find(|s| s.path == path && s.activity_type == activity_type)
}

/// The types a path accepts, newest first.
pub fn types_for_path(path: &str) -> Vec<&'static str> {
    CATALOG
        .iter()
        .filter(|s| s.path == path)
        .map(|s| s.activity_type)
        .collect()
}

/// Whether `s` is a known `ACTIVITY_TYPE_…` value.
pub fn is_known_type(s: &str) -> bool {
    ALL_ACTIVITY_TYPES.contains(&s)
}

/// `ACTIVITY_TYPE_CREATE_USERS_V4` → (`CREATE_USERS`, Some(4)).
pub fn split_version(activity_type: &str) -> (&str, Option<u32>) {
    let base = activity_type
        .strip_prefix("ACTIVITY_TYPE_")
        .unwrap_or(activity_type);
    if let Some(pos) = base.rfind("_V") {
        if let Ok(v) = base[pos + 2..].parse::<u32>() {
            return (&base[..pos], Some(v));
        }
    }
    (base, None)
}

/// The intent key of an activity type: lowerCamel(kind) + `Intent` + version suffix
/// (`ACTIVITY_TYPE_CREATE_USERS_V4` → `createUsersIntentV4`).
pub fn intent_key(activity_type: &str) -> String {
    let (kind, version) = split_version(activity_type);
    let mut out = String::with_capacity(kind.len() + 10);
    for (i, word) in kind.split('_').enumerate() {
        let lower = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out.push_str("Intent");
    if let Some(v) = version {
        out.push('V');
        out.push_str(&v.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_keys_follow_the_wire_rule() {
        assert_eq!(
            intent_key("ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8"),
            "createSubOrganizationIntentV8"
        );
        assert_eq!(
            intent_key("ACTIVITY_TYPE_CREATE_USERS_V4"),
            "createUsersIntentV4"
        );
        assert_eq!(
            intent_key("ACTIVITY_TYPE_DELETE_API_KEYS"),
            "deleteApiKeysIntent"
        );
        assert_eq!(
            intent_key("ACTIVITY_TYPE_CREATE_API_ONLY_USERS"),
            "createApiOnlyUsersIntent"
        );
    }

    #[test]
    fn every_catalog_type_is_known() {
        for s in CATALOG {
            assert!(is_known_type(s.activity_type), "{}", s.activity_type);
        }
        assert_eq!(
            split_version("ACTIVITY_TYPE_UPDATE_USER"),
            ("UPDATE_USER", None)
        );
        assert!(implemented_paths().any(|p| p == "create_users"));
        assert_eq!(
            types_for_path("create_users")[0],
            "ACTIVITY_TYPE_CREATE_USERS_V4"
        );
    }
}
