//! What a policy `condition` sees as `activity.resource` and `activity.action` for each activity
//! type, and `activity.kind` (the type without `ACTIVITY_TYPE_` and its version suffix).
//!
//! Source: the "Activity breakdown" table of Turnkey's policy language reference,
//! <https://docs.turnkey.com/concepts/policies/language#activity-breakdown> (tkhq/docs,
//! `concepts/policies/language.mdx`). That table names one version per type
//! (e.g. `ACTIVITY_TYPE_CREATE_USERS_V3`); earlier revisions of the same table name other
//! versions of the same kinds (`CREATE_USERS_V2`, `EMAIL_AUTH_V2`, `UPDATE_POLICY`) with the
//! same resource and action, so the mapping is keyed by kind and applies to every version.
//!
//! Rows the docs do not list are marked `// inferred` and follow the closest documented sibling
//! (same family of activity), or — for features with no documented sibling — a resource named
//! after the feature, which is the pattern Turnkey follows for its newer features
//! (`SMART_CONTRACT_INTERFACE`, `AUTH_PROXY`, `OTP`, `MFA_POLICY`).
//!
//! Documented vocabularies: resources `USER`, `PRIVATE_KEY`, `POLICY`, `WALLET`, `ORGANIZATION`,
//! `INVITATION`, `CREDENTIAL`, `CONFIG`, `RECOVERY` (legacy), `AUTH`, `OTP`, `PAYMENT_METHOD`,
//! `SUBSCRIPTION`, `SMART_CONTRACT_INTERFACE`, `AUTH_PROXY`; actions `CREATE`, `UPDATE`,
//! `DELETE`, `SIGN`, `EXPORT`, `IMPORT`, `VERIFY`.
//!
//! Note that every signing activity has resource `PRIVATE_KEY` — also when the signer is a
//! wallet account; policies tell the two apart with `wallet.id` / `wallet_account.address` /
//! `private_key.id`, not with `activity.resource`.

use crate::catalog::split_version;

/// (activity kind = type without `ACTIVITY_TYPE_` and version suffix, resource, action)
pub const KINDS: &[(&str, &str, &str)] = &[
    // --- ORGANIZATION: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_SUB_ORGANIZATION", "ORGANIZATION", "CREATE"),
    ("DELETE_ORGANIZATION", "ORGANIZATION", "DELETE"),
    ("DELETE_SUB_ORGANIZATION", "ORGANIZATION", "DELETE"),
    ("CREATE_ORGANIZATION", "ORGANIZATION", "CREATE"), // inferred (legacy root org creation)
    ("UPDATE_ORGANIZATION_NAME", "ORGANIZATION", "UPDATE"), // inferred
    // Root-quorum activities: not governed by policies at all
    // (https://docs.turnkey.com/concepts/policies/language#root-quorum-activities).
    ("UPDATE_ROOT_QUORUM", "ORGANIZATION", "UPDATE"), // inferred
    ("SET_ORGANIZATION_FEATURE", "ORGANIZATION", "UPDATE"), // inferred
    ("REMOVE_ORGANIZATION_FEATURE", "ORGANIZATION", "UPDATE"), // inferred
    // --- INVITATION: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_INVITATIONS", "INVITATION", "CREATE"),
    ("DELETE_INVITATION", "INVITATION", "DELETE"),
    ("ACCEPT_INVITATION", "INVITATION", "UPDATE"), // inferred
    // --- POLICY: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_POLICY", "POLICY", "CREATE"),
    ("CREATE_POLICIES", "POLICY", "CREATE"),
    ("UPDATE_POLICY", "POLICY", "UPDATE"),
    ("DELETE_POLICY", "POLICY", "DELETE"),
    ("DELETE_POLICIES", "POLICY", "DELETE"), // inferred (sibling DELETE_POLICY)
    // --- SMART_CONTRACT_INTERFACE: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    (
        "CREATE_SMART_CONTRACT_INTERFACE",
        "SMART_CONTRACT_INTERFACE",
        "CREATE",
    ),
    (
        "DELETE_SMART_CONTRACT_INTERFACE",
        "SMART_CONTRACT_INTERFACE",
        "DELETE",
    ),
    // --- WALLET: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_WALLET", "WALLET", "CREATE"),
    ("CREATE_WALLET_ACCOUNTS", "WALLET", "CREATE"),
    ("EXPORT_WALLET", "WALLET", "EXPORT"),
    ("EXPORT_WALLET_ACCOUNT", "WALLET", "EXPORT"),
    ("INIT_IMPORT_WALLET", "WALLET", "IMPORT"),
    ("IMPORT_WALLET", "WALLET", "IMPORT"),
    ("DELETE_WALLETS", "WALLET", "DELETE"),
    ("UPDATE_WALLET", "WALLET", "UPDATE"),
    ("DELETE_WALLET_ACCOUNTS", "WALLET", "DELETE"),
    ("UPDATE_WALLET_ACCOUNT_NAME", "WALLET", "UPDATE"), // inferred (sibling UPDATE_WALLET)
    // --- PRIVATE_KEY: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_PRIVATE_KEYS", "PRIVATE_KEY", "CREATE"),
    ("CREATE_PRIVATE_KEY_TAG", "PRIVATE_KEY", "CREATE"),
    ("UPDATE_PRIVATE_KEY_TAG", "PRIVATE_KEY", "UPDATE"),
    ("DISABLE_PRIVATE_KEY", "PRIVATE_KEY", "DELETE"),
    ("DELETE_PRIVATE_KEY_TAGS", "PRIVATE_KEY", "DELETE"),
    ("DELETE_PRIVATE_KEYS", "PRIVATE_KEY", "DELETE"),
    ("EXPORT_PRIVATE_KEY", "PRIVATE_KEY", "EXPORT"),
    ("INIT_IMPORT_PRIVATE_KEY", "PRIVATE_KEY", "IMPORT"),
    ("IMPORT_PRIVATE_KEY", "PRIVATE_KEY", "IMPORT"),
    // Signing: resource PRIVATE_KEY whether the signer is a private key or a wallet account.
    ("SIGN_RAW_PAYLOAD", "PRIVATE_KEY", "SIGN"),
    ("SIGN_RAW_PAYLOADS", "PRIVATE_KEY", "SIGN"),
    ("SIGN_TRANSACTION", "PRIVATE_KEY", "SIGN"),
    ("ETH_SEND_TRANSACTION", "PRIVATE_KEY", "SIGN"),
    ("SOL_SEND_TRANSACTION", "PRIVATE_KEY", "SIGN"),
    ("ETH_SEND_RAW_TRANSACTION", "PRIVATE_KEY", "SIGN"), // inferred (sibling ETH_SEND_TRANSACTION)
    ("ETH_UNDELEGATE_7702", "PRIVATE_KEY", "SIGN"),      // inferred (signs an authorization)
    ("SPARK_SIGN_FROST", "PRIVATE_KEY", "SIGN"),         // inferred
    ("SPARK_PREPARE_TRANSFER", "PRIVATE_KEY", "SIGN"),   // inferred
    ("SPARK_CLAIM_TRANSFER", "PRIVATE_KEY", "SIGN"),     // inferred
    ("SPARK_PREPARE_LIGHTNING_RECEIVE", "PRIVATE_KEY", "SIGN"), // inferred
    ("EXECUTE_SWAP", "PRIVATE_KEY", "SIGN"),             // inferred (signs and sends a transaction)
    ("CLAIM_SWAP_FEES", "PRIVATE_KEY", "SIGN"),          // inferred
    ("EARN_DEPOSIT", "PRIVATE_KEY", "SIGN"),             // inferred
    ("EARN_WITHDRAW", "PRIVATE_KEY", "SIGN"),            // inferred
    ("CLAIM_EARN_FEES", "PRIVATE_KEY", "SIGN"),          // inferred
    ("EARN_DEPLOY_WRAPPER", "PRIVATE_KEY", "SIGN"),      // inferred
    ("EARN_SET_WRAPPER_STATE", "PRIVATE_KEY", "SIGN"),   // inferred
    // Bulk key material import/export: closest siblings are the private-key import/export rows.
    ("INIT_IMPORT_SECRETS", "PRIVATE_KEY", "IMPORT"), // inferred
    ("IMPORT_SECRETS", "PRIVATE_KEY", "IMPORT"),      // inferred
    ("EXPORT_SECRETS", "PRIVATE_KEY", "EXPORT"),      // inferred
    // --- USER: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_USERS", "USER", "CREATE"),
    ("CREATE_USER_TAG", "USER", "CREATE"),
    ("CREATE_API_ONLY_USERS", "USER", "CREATE"),
    ("UPDATE_USER", "USER", "UPDATE"),
    ("UPDATE_USER_NAME", "USER", "UPDATE"),
    ("UPDATE_USER_EMAIL", "USER", "UPDATE"),
    ("UPDATE_USER_PHONE_NUMBER", "USER", "UPDATE"),
    ("UPDATE_USER_TAG", "USER", "UPDATE"),
    ("DELETE_USERS", "USER", "DELETE"),
    ("DELETE_USER_TAGS", "USER", "DELETE"),
    // --- CREDENTIAL: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("CREATE_API_KEYS", "CREDENTIAL", "CREATE"),
    ("CREATE_AUTHENTICATORS", "CREDENTIAL", "CREATE"),
    ("DELETE_API_KEYS", "CREDENTIAL", "DELETE"),
    ("DELETE_AUTHENTICATORS", "CREDENTIAL", "DELETE"),
    ("CREATE_OAUTH_PROVIDERS", "CREDENTIAL", "CREATE"),
    ("DELETE_OAUTH_PROVIDERS", "CREDENTIAL", "DELETE"),
    // --- PAYMENT_METHOD / SUBSCRIPTION / CONFIG / RECOVERY:
    // https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("SET_PAYMENT_METHOD", "PAYMENT_METHOD", "UPDATE"),
    ("DELETE_PAYMENT_METHOD", "PAYMENT_METHOD", "DELETE"),
    ("ACTIVATE_BILLING_TIER", "SUBSCRIPTION", "CREATE"),
    ("UPDATE_ALLOWED_ORIGINS", "CONFIG", "UPDATE"),
    ("SET_IP_ALLOWLIST", "CONFIG", "UPDATE"), // inferred (sibling UPDATE_ALLOWED_ORIGINS)
    ("REMOVE_IP_ALLOWLIST", "CONFIG", "DELETE"), // inferred
    ("UPSERT_GAS_USAGE_CONFIG", "CONFIG", "UPDATE"), // inferred
    ("UPSERT_SWAP_CONFIG", "CONFIG", "UPDATE"), // inferred
    ("INIT_USER_EMAIL_RECOVERY", "RECOVERY", "CREATE"),
    ("RECOVER_USER", "RECOVERY", "CREATE"), // inferred (sibling INIT_USER_EMAIL_RECOVERY)
    // --- AUTH: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("EMAIL_AUTH", "AUTH", "CREATE"),
    ("INIT_OTP_AUTH", "AUTH", "CREATE"),
    ("OTP_AUTH", "AUTH", "CREATE"),
    ("OAUTH", "AUTH", "CREATE"),
    ("OAUTH_LOGIN", "AUTH", "CREATE"),
    ("OTP_LOGIN", "AUTH", "CREATE"),
    ("STAMP_LOGIN", "AUTH", "CREATE"),
    ("CREATE_READ_WRITE_SESSION", "AUTH", "CREATE"),
    ("CREATE_OAUTH2_CREDENTIAL", "AUTH", "CREATE"),
    ("DELETE_OAUTH2_CREDENTIAL", "AUTH", "DELETE"),
    ("UPDATE_OAUTH2_CREDENTIAL", "AUTH", "UPDATE"),
    ("OAUTH2_AUTHENTICATE", "AUTH", "CREATE"),
    ("CREATE_READ_ONLY_SESSION", "AUTH", "CREATE"), // inferred (sibling CREATE_READ_WRITE_SESSION)
    // --- OTP / AUTH_PROXY: https://docs.turnkey.com/concepts/policies/language#activity-breakdown
    ("INIT_OTP", "OTP", "CREATE"),
    ("VERIFY_OTP", "OTP", "VERIFY"),
    ("ENABLE_AUTH_PROXY", "AUTH_PROXY", "CREATE"),
    ("DISABLE_AUTH_PROXY", "AUTH_PROXY", "DELETE"),
    ("UPDATE_AUTH_PROXY_CONFIG", "AUTH_PROXY", "UPDATE"),
    // --- MFA_POLICY: Turnkey's draft MFA docs use `activity.resource == 'MFA_POLICY'` and
    // `activity.action == 'DELETE'` for DeleteMfaPolicy
    // (https://turnkey-0e7c1f5b-amir-mfa-docs.mintlify.app/authentication/mfa/enforcement-and-recovery);
    // the create/update actions are inferred.
    ("CREATE_MFA_POLICY", "MFA_POLICY", "CREATE"), // inferred
    ("UPDATE_MFA_POLICY", "MFA_POLICY", "UPDATE"), // inferred
    ("DELETE_MFA_POLICY", "MFA_POLICY", "DELETE"),
    ("CREATE_SESSION_PROFILE", "SESSION_PROFILE", "CREATE"), // inferred
    // --- Features with no documented sibling: a resource named after the feature.
    ("CREATE_WEBHOOK_ENDPOINT", "WEBHOOK_ENDPOINT", "CREATE"), // inferred
    ("UPDATE_WEBHOOK_ENDPOINT", "WEBHOOK_ENDPOINT", "UPDATE"), // inferred
    ("DELETE_WEBHOOK_ENDPOINT", "WEBHOOK_ENDPOINT", "DELETE"), // inferred
    ("INIT_FIAT_ON_RAMP", "FIAT_ON_RAMP", "CREATE"),           // inferred
    (
        "CREATE_FIAT_ON_RAMP_CREDENTIAL",
        "FIAT_ON_RAMP_CREDENTIAL",
        "CREATE",
    ), // inferred
    (
        "UPDATE_FIAT_ON_RAMP_CREDENTIAL",
        "FIAT_ON_RAMP_CREDENTIAL",
        "UPDATE",
    ), // inferred
    (
        "DELETE_FIAT_ON_RAMP_CREDENTIAL",
        "FIAT_ON_RAMP_CREDENTIAL",
        "DELETE",
    ), // inferred
    ("CREATE_SWAP_QUOTE", "SWAP", "CREATE"),                   // inferred (no signing)
    ("CREATE_TVC_APP", "TVC", "CREATE"),                       // inferred
    ("CREATE_TVC_DEPLOYMENT", "TVC", "CREATE"),                // inferred
    ("CREATE_TVC_MANIFEST_APPROVALS", "TVC", "CREATE"),        // inferred
    ("CREATE_TVC_OPERATOR", "TVC", "CREATE"),                  // inferred
    ("CREATE_TVC_QUORUM_KEY", "TVC", "CREATE"),                // inferred
    ("POST_TVC_QUORUM_KEY_SHARE", "TVC", "CREATE"),            // inferred
    ("RE_ENCRYPT_TVC_QUORUM_KEY_SHARE", "TVC", "UPDATE"),      // inferred
    ("UPDATE_TVC_APP_LIVE_DEPLOYMENT", "TVC", "UPDATE"),       // inferred
    ("RESTORE_TVC_DEPLOYMENT", "TVC", "UPDATE"),               // inferred
    ("DELETE_TVC_DEPLOYMENT", "TVC", "DELETE"),                // inferred
    ("DELETE_TVC_APP_AND_DEPLOYMENTS", "TVC", "DELETE"),       // inferred
    // --- Votes. Not in Turnkey's vocabularies: an approval or rejection is a vote on another
    // activity (that activity's policies decide), so these get values no ordinary policy on
    // resource or action can match by accident.
    ("APPROVE_ACTIVITY", "ACTIVITY", "APPROVE"), // inferred
    ("REJECT_ACTIVITY", "ACTIVITY", "REJECT"),   // inferred
];

/// The activity kind: the type without `ACTIVITY_TYPE_` and its version suffix
/// (`ACTIVITY_TYPE_SIGN_TRANSACTION_V2` → `SIGN_TRANSACTION`). A bare kind is returned unchanged.
pub fn kind_of(activity_type: &str) -> &str {
    split_version(activity_type).0
}

/// `(activity.resource, activity.action)` of an activity type (any version, or a bare kind);
/// `None` for a type this table does not know.
pub fn resource_action(activity_type: &str) -> Option<(&'static str, &'static str)> {
    let kind = kind_of(activity_type);
    KINDS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map(|&(_, resource, action)| (resource, action))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ALL_ACTIVITY_TYPES, CATALOG};
    use std::collections::HashSet;

    #[test]
    fn every_catalog_type_has_an_entry() {
        for spec in CATALOG {
            assert!(
                resource_action(spec.activity_type).is_some(),
                "no resource/action for {}",
                spec.activity_type
            );
        }
    }

    #[test]
    fn every_known_type_has_an_entry() {
        for t in ALL_ACTIVITY_TYPES {
            assert!(resource_action(t).is_some(), "no resource/action for {t}");
        }
        assert!(resource_action("ACTIVITY_TYPE_APPROVE_ACTIVITY").is_some());
        assert!(resource_action("ACTIVITY_TYPE_REJECT_ACTIVITY").is_some());
    }

    #[test]
    fn kinds_are_unique_and_versionless() {
        let mut seen = HashSet::new();
        for (kind, resource, action) in KINDS {
            assert!(seen.insert(*kind), "duplicate kind {kind}");
            assert_eq!(kind_of(kind), *kind, "kind {kind} carries a version");
            assert!(!resource.is_empty() && !action.is_empty());
        }
    }

    #[test]
    fn actions_come_from_a_closed_set() {
        // Turnkey documents CREATE, UPDATE, DELETE, SIGN, EXPORT, IMPORT, VERIFY;
        // APPROVE / REJECT are this table's own values for votes.
        let allowed = [
            "CREATE", "UPDATE", "DELETE", "SIGN", "EXPORT", "IMPORT", "VERIFY", "APPROVE", "REJECT",
        ];
        for (kind, _, action) in KINDS {
            assert!(
                allowed.contains(action),
                "{kind}: unexpected action {action}"
            );
        }
    }

    #[test]
    fn kind_strips_prefix_and_version() {
        assert_eq!(
            kind_of("ACTIVITY_TYPE_SIGN_TRANSACTION_V2"),
            "SIGN_TRANSACTION"
        );
        assert_eq!(kind_of("ACTIVITY_TYPE_DELETE_USERS"), "DELETE_USERS");
        assert_eq!(
            kind_of("ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8"),
            "CREATE_SUB_ORGANIZATION"
        );
        assert_eq!(
            kind_of("ACTIVITY_TYPE_ETH_UNDELEGATE_7702"),
            "ETH_UNDELEGATE_7702"
        );
        assert_eq!(
            kind_of("ACTIVITY_TYPE_OAUTH2_AUTHENTICATE"),
            "OAUTH2_AUTHENTICATE"
        );
        assert_eq!(kind_of("CREATE_WALLET"), "CREATE_WALLET");
    }

    #[test]
    fn documented_rows_map_exactly() {
        // https://docs.turnkey.com/concepts/policies/language#activity-breakdown
        let documented = [
            (
                "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V7",
                "ORGANIZATION",
                "CREATE",
            ),
            (
                "ACTIVITY_TYPE_DELETE_SUB_ORGANIZATION",
                "ORGANIZATION",
                "DELETE",
            ),
            ("ACTIVITY_TYPE_CREATE_POLICY_V3", "POLICY", "CREATE"),
            ("ACTIVITY_TYPE_UPDATE_POLICY_V2", "POLICY", "UPDATE"),
            ("ACTIVITY_TYPE_CREATE_WALLET", "WALLET", "CREATE"),
            ("ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS", "WALLET", "CREATE"),
            ("ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT", "WALLET", "EXPORT"),
            ("ACTIVITY_TYPE_INIT_IMPORT_WALLET", "WALLET", "IMPORT"),
            ("ACTIVITY_TYPE_DISABLE_PRIVATE_KEY", "PRIVATE_KEY", "DELETE"),
            (
                "ACTIVITY_TYPE_CREATE_PRIVATE_KEY_TAG",
                "PRIVATE_KEY",
                "CREATE",
            ),
            ("ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2", "PRIVATE_KEY", "SIGN"),
            ("ACTIVITY_TYPE_SIGN_TRANSACTION_V2", "PRIVATE_KEY", "SIGN"),
            ("ACTIVITY_TYPE_ETH_SEND_TRANSACTION", "PRIVATE_KEY", "SIGN"),
            ("ACTIVITY_TYPE_CREATE_USERS_V3", "USER", "CREATE"),
            ("ACTIVITY_TYPE_CREATE_USER_TAG", "USER", "CREATE"),
            ("ACTIVITY_TYPE_UPDATE_USER_TAG", "USER", "UPDATE"),
            ("ACTIVITY_TYPE_CREATE_API_KEYS_V2", "CREDENTIAL", "CREATE"),
            (
                "ACTIVITY_TYPE_DELETE_AUTHENTICATORS",
                "CREDENTIAL",
                "DELETE",
            ),
            (
                "ACTIVITY_TYPE_SET_PAYMENT_METHOD_V2",
                "PAYMENT_METHOD",
                "UPDATE",
            ),
            ("ACTIVITY_TYPE_UPDATE_ALLOWED_ORIGINS", "CONFIG", "UPDATE"),
            (
                "ACTIVITY_TYPE_INIT_USER_EMAIL_RECOVERY_V2",
                "RECOVERY",
                "CREATE",
            ),
            (
                "ACTIVITY_TYPE_CREATE_READ_WRITE_SESSION_V2",
                "AUTH",
                "CREATE",
            ),
            ("ACTIVITY_TYPE_OTP_LOGIN", "AUTH", "CREATE"),
            ("ACTIVITY_TYPE_VERIFY_OTP", "OTP", "VERIFY"),
            ("ACTIVITY_TYPE_DISABLE_AUTH_PROXY", "AUTH_PROXY", "DELETE"),
        ];
        for (t, resource, action) in documented {
            assert_eq!(resource_action(t), Some((resource, action)), "{t}");
        }
        // Earlier revisions of the same table list other versions of the same kinds.
        assert_eq!(
            resource_action("ACTIVITY_TYPE_CREATE_USERS_V2"),
            Some(("USER", "CREATE"))
        );
        assert_eq!(
            resource_action("ACTIVITY_TYPE_EMAIL_AUTH_V2"),
            Some(("AUTH", "CREATE"))
        );
        // https://docs.turnkey.com/concepts/policies/examples/access-control
        assert_eq!(
            resource_action("ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V8"),
            Some(("ORGANIZATION", "CREATE"))
        );
    }

    #[test]
    fn unknown_types_have_none() {
        assert_eq!(resource_action("ACTIVITY_TYPE_NOT_A_THING"), None);
        assert_eq!(resource_action(""), None);
    }
}
