//! Management-API keys as stored (the secret itself never is: only its hash).

use crate::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
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
