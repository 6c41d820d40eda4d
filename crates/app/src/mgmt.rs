//! The management API's use cases (`/v1`): bearer-key authentication and scopes, then one
//! function per endpoint. Errors carry the `/v1` snake_case codes; the server maps them to
//! statuses. Design: docs/design/management-api.md.

use crate::App;
use quorate_crypto::bearer;
use quorate_domain::{BearerKeyRecord, Millis, Organization};
use subtle::ConstantTimeEq;

/// A `/v1` error: a stable snake_case code (`invalid_api_key`, `scope_missing`, …) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MgmtError {
    pub code: &'static str,
    pub message: String,
}

impl MgmtError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        MgmtError {
            code,
            message: message.into(),
        }
    }
}

impl From<crate::AppError> for MgmtError {
    fn from(e: crate::AppError) -> Self {
        use quorate_proto::ErrorCode as C;
        let code = match e.code {
            C::NotFound | C::RouteNotFound => "not_found",
            C::RequestInvalid => "validation_failed",
            C::Unavailable => "unavailable",
            _ => "internal",
        };
        MgmtError::new(code, e.message)
    }
}

impl From<quorate_store::StoreError> for MgmtError {
    fn from(e: quorate_store::StoreError) -> Self {
        crate::AppError::from(e).into()
    }
}

pub type MgmtResult<T> = Result<T, MgmtError>;

/// `/v1` timestamps: RFC 3339 in UTC.
pub fn rfc3339(ms: Millis) -> String {
    quorate_policy::Timestamp::from_unix_millis(ms).to_string()
}

/// Who a bearer key acts as.
#[derive(Debug, Clone)]
pub struct BearerPrincipal {
    pub key: BearerKeyRecord,
    pub organization: Organization,
}

impl BearerPrincipal {
    /// Every endpoint requires exactly one scope.
    pub fn require(&self, scope: &str) -> MgmtResult<()> {
        if self.key.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(MgmtError::new(
                "scope_missing",
                format!("this endpoint requires the scope `{scope}`"),
            ))
        }
    }
}

fn live(key: &BearerKeyRecord, now: Millis) -> MgmtResult<()> {
    if key.revoked_at.is_some() {
        return Err(MgmtError::new(
            "api_key_revoked",
            "this API key has been revoked",
        ));
    }
    let past = |t: Option<Millis>| t.is_some_and(|t| t <= now);
    if past(key.expires_at) || past(key.grace_expires_at) {
        return Err(MgmtError::new(
            "api_key_expired",
            "this API key has expired",
        ));
    }
    Ok(())
}

impl App {
    /// Resolves `Authorization: Bearer <key>`: shape and checksum first (garbage never reaches
    /// the store), then the stored hash, compared in constant time, then liveness.
    pub async fn authenticate_bearer(
        &self,
        authorization: Option<&str>,
    ) -> MgmtResult<BearerPrincipal> {
        let Some(value) = authorization else {
            return Err(MgmtError::new(
                "unauthenticated",
                "send `Authorization: Bearer <API key>`",
            ));
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                MgmtError::new("unauthenticated", "send `Authorization: Bearer <API key>`")
            })?;
        bearer::parse(token).map_err(|e| MgmtError::new("invalid_api_key", e.to_string()))?;
        let hash = bearer::hash(token);
        let mut reader = self.store.reader().await?;
        let key = reader
            .find_bearer_key(&hash)
            .await?
            .filter(|k| bool::from(k.secret_hash.as_bytes().ct_eq(hash.as_bytes())))
            .ok_or_else(|| MgmtError::new("invalid_api_key", "unknown API key"))?;
        live(&key, self.clock.now_ms())?;
        let organization = reader
            .get_organization(&key.organization_id)
            .await?
            .ok_or_else(|| {
                MgmtError::new(
                    "api_key_revoked",
                    "this API key's organization has been deleted",
                )
            })?;
        Ok(BearerPrincipal { key, organization })
    }

    /// `GET /v1/organizations/{orgId}` (`organizations:read`): the caller's own organization or
    /// one of its sub-organizations; anything else reads as not found.
    pub async fn v1_organization(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
    ) -> MgmtResult<Organization> {
        p.require("organizations:read")?;
        let not_found = || MgmtError::new("not_found", "no such organization");
        let id = quorate_domain::id::parse_id("orgId", org_id).map_err(|_| not_found())?;
        let org = self
            .store
            .reader()
            .await?
            .get_organization(&id)
            .await?
            .ok_or_else(not_found)?;
        let own = org.id == p.organization.id;
        let child = org.parent_id.as_deref() == Some(p.organization.id.as_str());
        if own || child {
            Ok(org)
        } else {
            Err(not_found())
        }
    }
}
