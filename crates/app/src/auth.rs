//! Stamp authentication: verify the signature over the exact body, then resolve the key to a
//! user allowed to act on the target organization (own org; reads also from its ancestors).

use crate::error::{AppError, Result};
use quorate_crypto::stamp::{self, PreparedKey, StampError, StampScheme};
use quorate_domain::{ApiKey, Clock, Organization};
use quorate_proto::ErrorCode;
use quorate_store::{Reader, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// What a request may do with a credential found in a related organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Activities: the credential must belong to the target organization.
    Write,
    /// Reads: the target organization or any ancestor of it.
    Read,
    /// `whoami`: also a credential of a sub-organization of the target answers with its identity.
    Whoami,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key: ApiKey,
    pub user_name: String,
    /// The organization the credential belongs to (may differ from the target for reads).
    pub organization: Organization,
    /// The public key and scheme that signed the request.
    pub public_key: String,
    pub scheme: StampScheme,
    /// Set when a management-API key acts (`/v1`): votes name it, and liveness is checked
    /// against it instead of a Turnkey API key.
    /// (organization, key id) of that key.
    pub bearer_key: Option<(String, String)>,
}

const MAX_CACHED: usize = 50_000;

/// (public key, target organization, access) → (generation, principal).
type PrincipalCache = RwLock<HashMap<(String, String, Access), (u64, Principal)>>;

/// Caches verified public keys (pure) and, when the store is owned by this process alone,
/// resolved principals, tagged with a generation bumped on every credential-changing commit.
pub struct AuthCache {
    keys: RwLock<HashMap<(StampScheme, String), PreparedKey>>,
    principals: Option<PrincipalCache>,
    generation: AtomicU64,
    /// Bumped (under the map's write lock) whenever keys are added: a resolution that read the
    /// store before an add does not cache its answer.
    adds: AtomicU64,
}

impl AuthCache {
    pub fn new(cache_principals: bool) -> Self {
        AuthCache {
            keys: RwLock::new(HashMap::new()),
            principals: cache_principals.then(|| RwLock::new(HashMap::new())),
            generation: AtomicU64::new(0),
            adds: AtomicU64::new(0),
        }
    }

    /// Forgets resolutions of these public keys (a new key may now resolve differently).
    pub fn forget_keys(&self, public_keys: &[String]) {
        if let Some(p) = &self.principals {
            if let Ok(mut map) = p.write() {
                self.adds.fetch_add(1, Ordering::SeqCst);
                map.retain(|(pk, _, _), _| !public_keys.contains(pk));
            }
        }
    }

    /// Whether resolutions may be cached (this process is the store's only writer).
    pub(crate) fn caching(&self) -> bool {
        self.principals.is_some()
    }

    /// The current generation: a resolution cached under an older one is stale.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Forgets every resolved principal (call after committing a change to users, keys or orgs).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(p) = &self.principals {
            if let Ok(mut map) = p.write() {
                map.clear();
            }
        }
    }

    fn prepared(&self, scheme: StampScheme, public_key: &str) -> Result<PreparedKey> {
        let key = (scheme, public_key.to_string());
        if let Some(k) = self.keys.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(k);
        }
        let prepared = PreparedKey::parse(scheme, public_key).map_err(stamp_error)?;
        if let Ok(mut m) = self.keys.write() {
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(key, prepared.clone());
        }
        Ok(prepared)
    }
}

fn stamp_error(e: StampError) -> AppError {
    match e {
        StampError::InvalidSignature => AppError::new(
            ErrorCode::SignatureInvalid,
            "stamp signature is invalid for the request body",
        ),
        other => AppError::new(ErrorCode::StampMalformed, other.to_string()),
    }
}

/// Verifies the stamp over `body` and returns (canonical public key, scheme).
pub fn verify_stamp(
    cache: &AuthCache,
    header: Option<&str>,
    body: &[u8],
) -> Result<(String, StampScheme)> {
    let header = header.ok_or_else(|| {
        AppError::new(
            ErrorCode::StampMissing,
            "missing `X-Stamp` header: requests must be stamped with an API key",
        )
    })?;
    let parsed = stamp::decode_header(header).map_err(stamp_error)?;
    let public_key = parsed.public_key.to_ascii_lowercase();
    let prepared = cache.prepared(parsed.scheme, &public_key)?;
    prepared
        .verify(body, &parsed.signature)
        .map_err(stamp_error)?;
    Ok((public_key, parsed.scheme))
}

/// The organization and its ancestors, nearest first.
async fn lineage(reader: &mut (dyn Reader + '_), org: &str) -> Result<Vec<Organization>> {
    let mut out = Vec::new();
    let mut next = Some(org.to_string());
    while let Some(id) = next {
        if out.len() > 16 {
            break; // sub-organizations nest one level; this only guards against a corrupt cycle
        }
        match reader.get_organization(&id).await? {
            Some(o) => {
                next = o.parent_id.clone();
                out.push(o);
            }
            None => break,
        }
    }
    Ok(out)
}

/// Resolves the verified key to a principal for `target_org`.
pub async fn resolve(
    store: &Arc<dyn Store>,
    cache: &AuthCache,
    clock: &dyn Clock,
    public_key: &str,
    scheme: StampScheme,
    target_org: &str,
    access: Access,
) -> Result<Principal> {
    let now = clock.now_ms();
    let cache_key = (public_key.to_string(), target_org.to_string(), access);
    let generation = cache.generation.load(Ordering::SeqCst);
    let adds = cache.adds.load(Ordering::SeqCst);
    if let Some(map) = &cache.principals {
        let hit = map.read().ok().and_then(|m| m.get(&cache_key).cloned());
        if let Some((g, p)) = hit {
            if g == generation && !p.key.is_expired(now) && p.scheme == scheme {
                return Ok(p);
            }
        }
    }
    let mut reader = store.reader().await?;
    let keys = reader.find_api_keys_by_public_key(public_key).await?;
    if keys.is_empty() {
        return Err(AppError::new(
            ErrorCode::PublicKeyNotFound,
            format!("public key `{public_key}` is not registered"),
        ));
    }
    if keys.iter().all(|k| k.curve != scheme.curve().as_api_str()) {
        return Err(AppError::new(
            ErrorCode::PublicKeyNotFound,
            format!(
                "public key `{public_key}` is not registered for scheme `{}`",
                scheme.as_str()
            ),
        ));
    }
    let target_lineage = lineage(&mut *reader, target_org).await?;
    // Organizations whose credentials may act here, with the relation.
    let mut allowed: Vec<(String, bool)> = Vec::new(); // (org id, is the target itself)
    if let Some(t) = target_lineage.first() {
        allowed.push((t.id.clone(), true));
        if access != Access::Write {
            for a in &target_lineage[1..] {
                allowed.push((a.id.clone(), false));
            }
        }
    }
    let related = |k: &ApiKey| allowed.iter().any(|(o, _)| *o == k.organization_id);
    let mut candidates: Vec<&ApiKey> = keys
        .iter()
        .filter(|k| related(k) && k.curve == scheme.curve().as_api_str())
        .collect();
    // Prefer the target's own credential over an ancestor's.
    candidates.sort_by_key(|k| {
        !allowed
            .iter()
            .any(|(o, own)| *own && *o == k.organization_id)
    });
    let mut chosen: Option<&ApiKey> = candidates.iter().copied().find(|k| k.deleted_at.is_none());
    if chosen.is_none() && access == Access::Whoami {
        // A sub-organization's credential asking its parent: answer with its own identity.
        for k in keys.iter().filter(|k| k.deleted_at.is_none()) {
            let l = lineage(&mut *reader, &k.organization_id).await?;
            if l.iter().skip(1).any(|o| o.id == target_org) {
                chosen = Some(k);
                break;
            }
        }
    }
    let Some(key) = chosen else {
        if !candidates.is_empty() {
            return Err(AppError::new(
                ErrorCode::ApiKeyDeleted,
                "the API key used to stamp this request has been deleted",
            ));
        }
        if access == Access::Write
            && !target_lineage.is_empty()
            && keys.iter().any(|k| {
                k.deleted_at.is_none()
                    && target_lineage
                        .iter()
                        .skip(1)
                        .any(|o| o.id == k.organization_id)
            })
        {
            return Err(AppError::new(ErrorCode::RequestNotAuthorized, format!("credentials of a parent organization are read-only in sub-organization `{target_org}`")));
        }
        return Err(AppError::new(
            ErrorCode::OrganizationMismatch,
            format!(
                "the stamping key does not belong to organization `{target_org}` or its parent"
            ),
        ));
    };
    if key.is_expired(now) {
        return Err(AppError::new(
            ErrorCode::ApiKeyExpired,
            "the API key used to stamp this request has expired",
        ));
    }
    // Suspension (management API) stops every credential of the organization and of its
    // sub-organizations.
    if let Some(o) = target_lineage.iter().find(|o| o.v1.suspended) {
        return Err(AppError::new(
            ErrorCode::RequestNotAuthorized,
            format!("organization `{}` is suspended", o.id),
        ));
    }
    let organization = reader
        .get_organization(&key.organization_id)
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::PublicKeyNotFound,
                "the stamping key's organization no longer exists",
            )
        })?;
    let user = reader
        .get_user(&key.organization_id, &key.user_id)
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::ApiKeyDeleted,
                "the stamping key's user has been deleted",
            )
        })?;
    let principal = Principal {
        key: key.clone(),
        user_name: user.name,
        organization,
        public_key: public_key.to_string(),
        scheme,
        bearer_key: None,
    };
    if let Some(map) = &cache.principals {
        if let Ok(mut m) = map.write() {
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            if cache.adds.load(Ordering::SeqCst) == adds {
                m.insert(cache_key, (generation, principal.clone()));
            }
        }
    }
    Ok(principal)
}

impl crate::App {
    /// Verifies the stamp over `body`, decodes it as `T`, and resolves the caller for the
    /// organization `org_of` names. Returns the request, the organization id and the caller.
    pub(crate) async fn authenticate<T: serde::de::DeserializeOwned>(
        &self,
        body: &[u8],
        stamp: Option<&str>,
        access: Access,
        org_of: impl Fn(&T) -> &str,
    ) -> Result<(T, String, Principal)> {
        let (public_key, scheme) = verify_stamp(&self.auth, stamp, body)?;
        let req: T = quorate_proto::decode(body).map_err(AppError::invalid)?;
        let org = quorate_domain::id::parse_id("organizationId", org_of(&req))
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let principal = resolve(
            &self.store,
            &self.auth,
            &*self.clock,
            &public_key,
            scheme,
            &org,
            access,
        )
        .await?;
        Ok((req, org, principal))
    }
}
