//! Management-API keys as stored (the secret itself never is: only its hash).

use crate::time::Millis;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerKeyRecord {
    /// `key_…`.
    pub id: String,
    pub organization_id: String,
    pub project_id: Option<String>,
    /// `secret` or `publishable`.
    pub key_type: String,
    /// `live` or `test`.
    pub environment: String,
    pub name: String,
    /// The part that may be shown again (`sk_live_AbCd`).
    pub key_prefix: String,
    /// Lowercase hex SHA-256 of the whole key.
    pub secret_hash: String,
    pub allowed_origins: Vec<String>,
    pub scopes: Vec<String>,
    /// `cli`, `api`, …
    pub source: String,
    pub created_by_user_id: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_used_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub grace_expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// The last four characters of the key (for `key_preview` / `display_key`).
    pub key_last4: String,
    /// `(requests, window in ms)`; `None` = the deployment default for the key type.
    pub rate_limit: Option<(i64, i64)>,
    pub device_name: Option<String>,
    pub rotated_at: Option<Millis>,
    pub replaces_key_id: Option<String>,
    pub replaced_by_key_id: Option<String>,
}

impl BearerKeyRecord {
    /// `active`, `rotated` (still valid until `grace_expires_at`), `expired` or `revoked`.
    pub fn status(&self, now: Millis) -> &'static str {
        let past = |t: Option<Millis>| t.is_some_and(|t| t <= now);
        if self.revoked_at.is_some() {
            "revoked"
        } else if past(self.expires_at) || past(self.grace_expires_at) {
            "expired"
        } else if self.rotated_at.is_some() {
            "rotated"
        } else {
            "active"
        }
    }
}

/// Every scope of the management API (docs/design/management-api.md §5).
pub const SCOPES: &[&str] = &[
    "organizations:create",
    "organizations:read",
    "organizations:update",
    "api_keys:read",
    "api_keys:manage",
    "projects:read",
    "projects:manage",
    "members:read",
    "members:manage",
    "invites:read",
    "invites:manage",
    "invites:accept",
    "wallets:read",
    "wallets:manage",
    "wallets:withdraw",
    "sessions:list",
    "sessions:read",
    "sessions:manage",
    "usage:read",
    "usage:write",
    "usage:manage",
    "knowledge:read",
    "knowledge:manage",
    "settings:read",
    "settings:manage",
    "templates:read",
    "templates:manage",
];
