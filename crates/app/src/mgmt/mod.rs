//! The management API's use cases (`/v1`): bearer-key authentication and scopes, then one
//! function per endpoint. Errors carry the `/v1` snake_case codes; the server maps them to
//! statuses. Design: docs/design/management-api.md.

pub mod audit;
mod invites;
mod keys;
mod knowledge;
mod members;
mod orgs;
mod outcome;
pub mod ratelimit;
mod sessions;
mod settings;
mod templates;
mod usage;
mod wallets;

pub use keys::*;
pub use members::Role;
pub use orgs::{Created, Listed, NewOrganization, OrganizationPatch};
pub use wallets::{ChainError, ChainRpc, ChainSettings, FeeQuote, TxCall};

use crate::App;
use base64::Engine as _;
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
            C::Conflict => "conflict",
            C::RequestNotAuthorized => "policy_denied",
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

/// `/v1` timestamps: RFC 3339 in UTC, always with milliseconds (`…T14:15:22.123Z`).
pub fn rfc3339(ms: Millis) -> String {
    let whole = quorate_policy::Timestamp::from_unix_millis(ms.div_euclid(1000) * 1000).to_string();
    let base = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{base}.{:03}Z", ms.rem_euclid(1000))
}

/// Cached bearer resolutions: secret hash → (auth generation, principal).
pub(crate) type BearerCache =
    std::sync::RwLock<std::collections::HashMap<String, (u64, std::sync::Arc<BearerPrincipal>)>>;

/// Who a bearer key acts as.
#[derive(Debug, Clone)]
pub struct BearerPrincipal {
    pub key: BearerKeyRecord,
    pub organization: Organization,
}

impl BearerPrincipal {
    /// The actor of this key as `user_id`.
    pub fn actor(&self, user_id: &str) -> Actor {
        Actor {
            user_id: user_id.to_string(),
            key_organization_id: self.key.organization_id.clone(),
            key_id: self.key.id.clone(),
        }
    }

    /// Organization-level resources are closed to project-scoped keys.
    pub fn org_level(&self) -> MgmtResult<()> {
        match self.key.project_id {
            None => Ok(()),
            Some(_) => Err(MgmtError::new(
                "project_scope",
                "a project-scoped key cannot use organization-level resources",
            )),
        }
    }

    /// Whether this key may call a route requiring `scope`: a secret key needs the scope; a
    /// publishable key only calls routes open to it, and only from one of its origins.
    pub fn admit(
        &self,
        scope: &str,
        publishable_route: bool,
        origin: Option<&str>,
    ) -> MgmtResult<()> {
        if self.key.key_type != "publishable" {
            return self.require(scope);
        }
        if !publishable_route {
            return Err(MgmtError::new(
                "forbidden",
                "publishable keys cannot call this endpoint; use a secret key",
            ));
        }
        let allowed = origin.is_some_and(|o| {
            let o = o.trim_end_matches('/').to_ascii_lowercase();
            self.key.allowed_origins.contains(&o)
        });
        if allowed {
            Ok(())
        } else {
            Err(MgmtError::new(
                "origin_not_allowed",
                "this publishable key is not allowed from this origin",
            ))
        }
    }

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
    ) -> MgmtResult<std::sync::Arc<BearerPrincipal>> {
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
        let now = self.clock.now_ms();
        // SQLite (one writer process): resolutions are cached until any credential-changing
        // commit bumps the generation; time-based expiry is checked on every hit.
        let generation = self.auth.generation();
        if self.auth.caching() {
            let cached = self.bearer_cache.read().ok().and_then(|m| {
                m.get(&hash)
                    .filter(|(g, _)| *g == generation)
                    .map(|(_, p)| p.clone())
            });
            if let Some(p) = cached {
                live(&p.key, now)?;
                return Ok(p);
            }
        }
        let p = std::sync::Arc::new(self.resolve_bearer(&hash, now).await?);
        if self.auth.caching() {
            if let Ok(mut m) = self.bearer_cache.write() {
                if m.len() >= 50_000 {
                    m.clear();
                }
                m.insert(hash, (generation, p.clone()));
            }
        }
        Ok(p)
    }

    async fn resolve_bearer(&self, hash: &str, now: Millis) -> MgmtResult<BearerPrincipal> {
        let mut reader = self.store.reader().await?;
        let key = reader
            .find_bearer_key(hash)
            .await?
            .filter(|k| bool::from(k.secret_hash.as_bytes().ct_eq(hash.as_bytes())))
            .ok_or_else(|| MgmtError::new("invalid_api_key", "unknown API key"))?;
        live(&key, now)?;
        let organization = reader
            .get_organization(&key.organization_id)
            .await?
            .ok_or_else(|| {
                MgmtError::new(
                    "api_key_revoked",
                    "this API key's organization has been deleted",
                )
            })?;
        if organization.v1.suspended {
            return Err(suspended());
        }
        if let Some(parent) = &organization.parent_id {
            if reader
                .get_organization(parent)
                .await?
                .is_some_and(|p| p.v1.suspended)
            {
                return Err(suspended());
            }
        }
        Ok(BearerPrincipal { key, organization })
    }

    /// The organization `org_id` if it is within the key's reach (docs/design/management-api.md
    /// §1): its own organization, or a sub-organization of it — readable always, writable only
    /// when created through `/v1`. Anything else answers exactly like a non-existent id.
    pub async fn v1_reach(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        access: Access,
    ) -> MgmtResult<Target> {
        let not_found = || MgmtError::new("not_found", "no such organization");
        if org_id == p.organization.id {
            return Ok(Target {
                actor: p.actor(&p.key.created_by_user_id),
                org: p.organization.clone(),
            });
        }
        // A project-scoped key has no parent reach.
        if p.key.project_id.is_some() {
            return Err(not_found());
        }
        let id = quorate_domain::id::parse_id("orgId", org_id).map_err(|_| not_found())?;
        let org = self
            .store
            .reader()
            .await?
            .get_organization(&id)
            .await?
            .filter(|o| o.parent_id.as_deref() == Some(p.organization.id.as_str()))
            .ok_or_else(not_found)?;
        if org.v1.suspended && access != Access::Manage {
            return Err(suspended());
        }
        let operator = org.v1.operator_user_id.clone();
        match (access, operator) {
            (_, Some(user)) => Ok(Target {
                actor: p.actor(&user),
                org,
            }),
            (Access::Read, None) => Ok(Target {
                actor: p.actor(""),
                org,
            }),
            (Access::Write | Access::Manage, None) => Err(MgmtError::new(
                "parent_read_only",
                "this sub-organization was created through the Turnkey API: its parent may read it, not change it",
            )),
        }
    }
}

fn suspended() -> MgmtError {
    MgmtError::new(
        "organization_suspended",
        "this API key's organization is suspended",
    )
}

/// Whether a use case reads or changes the target organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    /// Changing the organization itself (its status): reaches suspended sub-organizations too,
    /// so their parent can reactivate them.
    Manage,
}

/// An organization within a key's reach, and who the key acts as there.
#[derive(Debug, Clone)]
pub struct Target {
    pub org: Organization,
    pub actor: Actor,
}

/// Who a `/v1` request acts as inside an organization: the key's creating user in its own
/// organization, the operator user in a `/v1`-created sub-organization. Login sessions (a later
/// issue) will produce the same `Actor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Empty when the key may only read there.
    pub user_id: String,
    pub key_organization_id: String,
    pub key_id: String,
}

impl Actor {
    /// The engine's principal for an internal submission into `target`.
    pub(crate) fn principal(
        &self,
        target: Organization,
        user_name: String,
    ) -> crate::auth::Principal {
        crate::auth::Principal {
            key: quorate_domain::ApiKey {
                id: self.key_id.clone(),
                organization_id: target.id.clone(),
                user_id: self.user_id.clone(),
                name: String::new(),
                public_key: self.key_id.clone(),
                curve: String::new(),
                expiration_seconds: None,
                created_at: 0,
                updated_at: 0,
                deleted_at: None,
            },
            user_name,
            organization: target,
            public_key: self.key_id.clone(),
            scheme: quorate_crypto::stamp::StampScheme::P256,
            bearer_key: Some((self.key_organization_id.clone(), self.key_id.clone())),
        }
    }
}

/// A display name (of a key, organization, project, template, wallet): trimmed, 1 to 256
/// printable characters.
pub(crate) fn display_name(field: &str, name: &str) -> MgmtResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(invalid(field, "must be 1 to 256 printable characters"));
    }
    Ok(name.to_string())
}

/// A validation error naming the field: 422 `` `field`: message ``.
pub fn invalid(field: &str, message: impl std::fmt::Display) -> MgmtError {
    MgmtError::new("validation_failed", format!("`{field}`: {message}"))
}

/// A list request: `limit` (1…100, default 20) and the decoded keyset of the `cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReq {
    pub limit: u32,
    /// The keyset after which the page starts (what the previous page's `next` was).
    pub after: Option<String>,
}

impl PageReq {
    pub fn from_query(q: &std::collections::HashMap<String, String>) -> MgmtResult<PageReq> {
        let limit = match q.get("limit") {
            None => 20,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=100).contains(l))
                .ok_or_else(|| invalid("limit", "must be an integer from 1 to 100"))?,
        };
        let after = q.get("cursor").map(|c| cursor_decode(c)).transpose()?;
        Ok(PageReq { limit, after })
    }

    /// The cursor as a row number (`n`), for lists ordered by insertion.
    pub fn after_n(&self) -> MgmtResult<Option<i64>> {
        self.after
            .as_deref()
            .map(|a| {
                a.parse::<i64>()
                    .map_err(|_| invalid("cursor", "not a cursor of this list"))
            })
            .transpose()
    }
}

/// One page of a list: the items and, when more follow, the keyset to continue after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> PageOut<T> {
    /// From `limit + 1` fetched rows: keeps `limit`, and the keyset of the last kept row when
    /// there were more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, keyset: impl Fn(&T) -> String) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(keyset) } else { None };
        PageOut { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> PageOut<U> {
        PageOut {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// Cursors are opaque to clients: base64url of `v1:` + the keyset. They need no signature,
/// since every query is also filtered by the caller's organization.
pub fn cursor_encode(keyset: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{keyset}"))
}

pub fn cursor_decode(cursor: &str) -> MgmtResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("v1:").map(str::to_string))
        .ok_or_else(|| invalid("cursor", "not a cursor of this API"))
}
