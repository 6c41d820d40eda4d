//! Organizations and what they own: users, API keys, tags.

use crate::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    /// The parent organization of a sub-organization.
    pub parent_id: Option<String>,
    pub root_quorum_threshold: u32,
    pub root_user_ids: Vec<String>,
    /// Feature name → value (`FEATURE_NAME_…`).
    pub features: Vec<(String, String)>,
    /// Bumped in the same transaction as any change to users, keys, tags or quorum.
    pub version: i64,
    /// Management-API (`/v1`) state of the organization.
    pub v1: OrgV1,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What the management API (`/v1`) keeps on an organization (docs/design/management-api.md §1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgV1 {
    /// Unique among organizations; `None` for organizations created through the Turnkey face.
    pub slug: Option<String>,
    /// A suspended organization's credentials (and its sub-organizations') stop working.
    pub suspended: bool,
    /// Set on sub-organizations created through `/v1`: the user its parent's keys act as
    /// (and the mark that the parent may write there).
    pub operator_user_id: Option<String>,
    pub default_wallet_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub tag_ids: Vec<String>,
    pub api_keys: Vec<ApiKey>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub organization_id: String,
    pub user_id: String,
    pub name: String,
    /// Canonical lowercase hex (compressed SEC1 for ECDSA curves, 32 bytes for Ed25519).
    pub public_key: String,
    /// `API_KEY_CURVE_…`.
    pub curve: String,
    pub expiration_seconds: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub deleted_at: Option<Millis>,
}

impl ApiKey {
    /// Whether the key has passed its expiry at `now`.
    pub fn is_expired(&self, now: Millis) -> bool {
        match self.expiration_seconds {
            Some(secs) if secs > 0 => {
                now >= self.created_at.saturating_add(secs.saturating_mul(1000))
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    User,
    PrivateKey,
}

impl TagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::User => "TAG_TYPE_USER",
            TagKind::PrivateKey => "TAG_TYPE_PRIVATE_KEY",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TAG_TYPE_USER" => Some(TagKind::User),
            "TAG_TYPE_PRIVATE_KEY" => Some(TagKind::PrivateKey),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub kind: TagKind,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry() {
        let mut k = ApiKey {
            id: "k".into(),
            organization_id: "o".into(),
            user_id: "u".into(),
            name: "n".into(),
            public_key: "p".into(),
            curve: "API_KEY_CURVE_P256".into(),
            expiration_seconds: None,
            created_at: 1_000,
            updated_at: 1_000,
            deleted_at: None,
        };
        assert!(!k.is_expired(i64::MAX));
        k.expiration_seconds = Some(10);
        assert!(!k.is_expired(10_999));
        assert!(k.is_expired(11_000));
    }
}
