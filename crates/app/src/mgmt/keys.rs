//! `/v1` API keys: both families (`/v1/api-keys` for the key's own organization and
//! `/v1/organizations/{orgId}/api-keys`), creation, listing, patching, revocation, rotation
//! with a grace period, and projects.

use super::{
    display_name, invalid, rfc3339, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq,
    Target,
};
use crate::App;
use quorate_crypto::bearer;
use quorate_domain::{BearerKeyRecord, Millis};
use quorate_store::mgmt::keys as store;
use quorate_store::StoreError;
use serde::Deserialize;

/// `POST …/api-keys` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub project_id: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub device_name: Option<String>,
}

/// `PATCH …/api-keys/{keyId}` body: only these fields may change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// `POST …/api-keys/{keyId}/rotations` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    #[serde(default)]
    pub grace_period_seconds: Option<i64>,
}

/// `POST …/projects` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
}

/// The deployment's key prefixes (`--key-prefix-secret`, `--key-prefix-publishable`); new
/// keys only — lookup is by hash, so keys minted under an older prefix keep working.
#[derive(Debug, Clone)]
pub struct KeyPrefixes {
    pub secret: String,
    pub publishable: String,
}

impl Default for KeyPrefixes {
    fn default() -> Self {
        KeyPrefixes {
            secret: "sk".into(),
            publishable: "pk".into(),
        }
    }
}

/// The stored record of a freshly minted secret (scopes and origins left empty).
pub fn new_key_record(
    secret: &bearer::BearerKey,
    org: &str,
    user: &str,
    name: &str,
    now: Millis,
    source: &str,
) -> BearerKeyRecord {
    let exposed = secret.expose();
    let live = exposed.contains("_live_");
    BearerKeyRecord {
        id: quorate_domain::id::prefixed_id("key"),
        organization_id: org.to_string(),
        key_type: "secret".to_string(),
        environment: if live { "live" } else { "test" }.to_string(),
        name: name.to_string(),
        key_prefix: secret.preview(),
        key_last4: exposed[exposed.len().saturating_sub(4)..].to_string(),
        secret_hash: bearer::hash(exposed),
        source: source.to_string(),
        created_by_user_id: user.to_string(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
}

fn origin(field: &str, o: &str) -> MgmtResult<String> {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| !r.is_empty() && !r.contains('/'))
        && o.len() <= 255
        && !o.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(o.to_ascii_lowercase())
    } else {
        Err(invalid(
            field,
            format!("`{o}` is not an origin like https://app.example.com"),
        ))
    }
}

fn origins(list: &[String]) -> MgmtResult<Vec<String>> {
    list.iter()
        .enumerate()
        .map(|(i, o)| origin(&format!("allowed_origins[{i}]"), o))
        .collect()
}

/// Scopes a key may grant: known names, each held by the granting key. `organizations:manage`
/// was split in two; saying so beats "unknown".
fn grantable(p: &BearerPrincipal, scopes: &[String]) -> MgmtResult<Vec<String>> {
    for (i, s) in scopes.iter().enumerate() {
        let field = format!("scopes[{i}]");
        if s == "organizations:manage" {
            return Err(invalid(
                &field,
                "`organizations:manage` was replaced by `organizations:create` and `organizations:update`",
            ));
        }
        if !quorate_domain::bearer::SCOPES.contains(&s.as_str()) {
            return Err(invalid(&field, format!("unknown scope `{s}`")));
        }
        if !p.key.scopes.contains(s) {
            return Err(MgmtError::new(
                "scope_escalation",
                format!("`{field}`: this key does not hold `{s}` and cannot grant it"),
            ));
        }
    }
    let mut out = scopes.to_vec();
    out.dedup();
    Ok(out)
}

/// An RFC 3339 time in ms since the epoch; a bad value is 422 naming `field`.
pub fn millis_of(field: &str, t: &str) -> MgmtResult<Millis> {
    let ts = quorate_policy::Timestamp::parse_rfc3339(t).map_err(|e| invalid(field, e))?;
    Ok(ts.unix_secs().saturating_mul(1000) + i64::from(ts.subsec_nanos() / 1_000_000))
}

fn not_found() -> MgmtError {
    MgmtError::new("not_found", "no such API key")
}

impl App {
    /// `GET …/api-keys` (`api_keys:read`), oldest first; a project-scoped key sees its
    /// project's keys only. Filters: `status`, `type`, `project_id`.
    pub async fn v1_list_api_keys(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        page: &PageReq,
        filter: &store::KeyFilter,
    ) -> MgmtResult<PageOut<BearerKeyRecord>> {
        let mut filter = filter.clone();
        if let Some(project) = &p.key.project_id {
            filter.project_id = Some(project.clone());
        }
        let mut r = self.store.reader().await?;
        let rows = store::list(
            r.db_handle()?,
            &t.org.id,
            &filter,
            self.clock.now_ms(),
            page.after_n()?,
            page.limit + 1,
        )
        .await?;
        Ok(PageOut::from_rows(rows, page.limit, |(n, _)| n.to_string()).map(|(_, k)| k))
    }

    /// `GET …/api-keys/{keyId}` (`api_keys:read`).
    pub async fn v1_get_api_key(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        key_id: &str,
    ) -> MgmtResult<BearerKeyRecord> {
        let key = self
            .store
            .reader()
            .await?
            .get_bearer_key(&t.org.id, key_id)
            .await?
            .ok_or_else(not_found)?;
        visible(p, &key)?;
        Ok(key)
    }

    /// `POST …/api-keys` (`api_keys:manage`): a new key acting as the target's actor, with at
    /// most the caller's scopes (all of them when omitted), in the caller's project if it has
    /// one; the secret is returned once.
    pub async fn v1_create_api_key(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        req: NewApiKey,
    ) -> MgmtResult<(BearerKeyRecord, bearer::BearerKey)> {
        let name = display_name("name", &req.name)?;
        let key_type = req.r#type.as_deref().unwrap_or("secret");
        let prefixes = self.setting::<KeyPrefixes>().unwrap_or_default();
        let (prefix, publishable) = match key_type {
            "secret" => (prefixes.secret.as_str(), false),
            "publishable" => (prefixes.publishable.as_str(), true),
            other => {
                return Err(invalid(
                    "type",
                    format!("must be `secret` or `publishable`, got `{other}`"),
                ))
            }
        };
        let live = match req.environment.as_deref().unwrap_or("live") {
            "live" => true,
            "test" => false,
            other => {
                return Err(invalid(
                    "environment",
                    format!("must be `live` or `test`, got `{other}`"),
                ))
            }
        };
        let scopes = match (&req.scopes, publishable) {
            (Some(s), true) if !s.is_empty() => {
                return Err(invalid(
                    "scopes",
                    "publishable keys carry no management scopes",
                ))
            }
            (_, true) => Vec::new(),
            (None, false) => p.key.scopes.clone(),
            (Some(s), false) if s.is_empty() => {
                return Err(invalid("scopes", "a secret key needs at least one scope"))
            }
            (Some(s), false) => grantable(p, s)?,
        };
        let allowed_origins = origins(req.allowed_origins.as_deref().unwrap_or_default())?;
        if publishable && allowed_origins.is_empty() {
            return Err(invalid(
                "allowed_origins",
                "a publishable key needs at least one origin",
            ));
        }
        if !publishable && !allowed_origins.is_empty() {
            return Err(invalid(
                "allowed_origins",
                "only publishable keys have origins",
            ));
        }
        let now = self.clock.now_ms();
        let expires_at = match req.expires_at.as_deref() {
            None => None,
            Some(t) => {
                let ms = millis_of("expires_at", t)?;
                if ms <= now {
                    return Err(invalid("expires_at", "must be in the future"));
                }
                Some(ms)
            }
        };
        let project_id = match (&p.key.project_id, req.project_id) {
            (Some(mine), Some(asked)) if *mine != asked => {
                return Err(MgmtError::new(
                    "project_scope",
                    "a project-scoped key creates keys in its own project only",
                ))
            }
            (Some(mine), _) => Some(mine.clone()),
            (None, asked) => asked,
        };
        let device_name = req
            .device_name
            .as_deref()
            .map(|d| display_name("device_name", d))
            .transpose()?;
        let secret = bearer::generate(prefix, live)
            .map_err(|e| MgmtError::new("internal", e.to_string()))?;
        let mut record = new_key_record(&secret, &t.org.id, &t.actor.user_id, &name, now, "api");
        record.key_type = key_type.to_string();
        record.scopes = scopes;
        record.allowed_origins = allowed_origins;
        record.expires_at = expires_at;
        record.project_id = project_id.clone();
        record.device_name = device_name;
        let mut tx = self.store.begin(&t.org.id).await?;
        if let Some(project) = &project_id {
            if !store::project_live(tx.db_handle()?, &t.org.id, project).await? {
                return Err(invalid("project_id", "no such project"));
            }
        }
        tx.insert_bearer_key(&record).await?;
        tx.commit().await?;
        Ok((record, secret))
    }

    /// `PATCH …/api-keys/{keyId}` (`api_keys:manage`): name; origins of a publishable key;
    /// scopes of a secret key (at most the caller's).
    pub async fn v1_patch_api_key(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        key_id: &str,
        patch: ApiKeyPatch,
    ) -> MgmtResult<BearerKeyRecord> {
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        let mut key = tx
            .get_bearer_key(org, key_id)
            .await?
            .ok_or_else(not_found)?;
        visible(p, &key)?;
        if key.revoked_at.is_some() {
            return Err(MgmtError::new(
                "key_revoked",
                "a revoked key cannot be changed",
            ));
        }
        let publishable = key.key_type == "publishable";
        if let Some(name) = &patch.name {
            key.name = display_name("name", name)?;
        }
        if let Some(list) = &patch.allowed_origins {
            if !publishable {
                return Err(invalid(
                    "allowed_origins",
                    "only publishable keys have origins",
                ));
            }
            key.allowed_origins = origins(list)?;
            if key.allowed_origins.is_empty() {
                return Err(invalid(
                    "allowed_origins",
                    "a publishable key needs at least one origin",
                ));
            }
        }
        if let Some(scopes) = &patch.scopes {
            if publishable {
                return Err(invalid(
                    "scopes",
                    "publishable keys carry no management scopes",
                ));
            }
            if scopes.is_empty() {
                return Err(invalid("scopes", "a secret key needs at least one scope"));
            }
            key.scopes = grantable(p, scopes)?;
        }
        key.updated_at = self.clock.now_ms();
        store::update(tx.db_handle()?, &key).await?;
        tx.commit().await?;
        self.auth.invalidate();
        Ok(key)
    }

    /// `DELETE …/api-keys/{keyId}` (`api_keys:manage`): revokes a key; it stops working at once.
    pub async fn v1_revoke_api_key(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        key_id: &str,
    ) -> MgmtResult<BearerKeyRecord> {
        let now = self.clock.now_ms();
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        let key = tx
            .get_bearer_key(org, key_id)
            .await?
            .ok_or_else(not_found)?;
        visible(p, &key)?;
        tx.revoke_bearer_key(org, key_id, now)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => MgmtError::new("not_found", "no such live API key"),
                other => other.into(),
            })?;
        // Read back in the same transaction: the row as revoked.
        let revoked = tx
            .get_bearer_key(org, key_id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        self.auth.invalidate();
        Ok(revoked)
    }

    /// `POST …/api-keys/{keyId}/rotations` (`api_keys:manage`): a replacement with the same
    /// settings; the old key keeps working until `grace_expires_at`, then stops.
    pub async fn v1_rotate_api_key(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        key_id: &str,
        req: Rotation,
    ) -> MgmtResult<(BearerKeyRecord, BearerKeyRecord, bearer::BearerKey)> {
        let grace = req.grace_period_seconds.unwrap_or(86_400);
        if !(0..=604_800).contains(&grace) {
            return Err(invalid(
                "grace_period_seconds",
                "must be from 0 to 604800 (7 days)",
            ));
        }
        let now = self.clock.now_ms();
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        let mut old = tx
            .get_bearer_key(org, key_id)
            .await?
            .ok_or_else(not_found)?;
        visible(p, &old)?;
        if old.status(now) != "active" {
            return Err(MgmtError::new(
                "not_rotatable",
                format!(
                    "only an active key can be rotated; this one is {}",
                    old.status(now)
                ),
            ));
        }
        let env_live = old.environment == "live";
        let prefix = old.key_prefix.split('_').next().unwrap_or("sk").to_string();
        let secret = bearer::generate(&prefix, env_live)
            .map_err(|e| MgmtError::new("internal", e.to_string()))?;
        let mut new = new_key_record(
            &secret,
            org,
            &old.created_by_user_id,
            &old.name,
            now,
            "rotation",
        );
        new.key_type = old.key_type.clone();
        new.project_id = old.project_id.clone();
        new.scopes = old.scopes.clone();
        new.allowed_origins = old.allowed_origins.clone();
        new.expires_at = old.expires_at;
        new.rate_limit = old.rate_limit;
        new.device_name = old.device_name.clone();
        new.replaces_key_id = Some(old.id.clone());
        let grace_until = now.saturating_add(grace.saturating_mul(1000));
        tx.insert_bearer_key(&new).await?;
        store::mark_rotated(tx.db_handle()?, org, &old.id, &new.id, now, grace_until).await?;
        tx.commit().await?;
        self.auth.invalidate();
        old.rotated_at = Some(now);
        old.grace_expires_at = Some(grace_until);
        old.replaced_by_key_id = Some(new.id.clone());
        old.updated_at = now;
        Ok((new, old, secret))
    }

    /// `GET …/projects` (`projects:read`).
    pub async fn v1_list_projects(
        &self,
        t: &Target,
        page: &PageReq,
    ) -> MgmtResult<PageOut<store::Project>> {
        let mut r = self.store.reader().await?;
        let rows = store::list_projects(r.db_handle()?, &t.org.id, page.after_n()?, page.limit + 1)
            .await?;
        Ok(PageOut::from_rows(rows, page.limit, |p| p.n.to_string()))
    }

    /// `POST …/projects` (`projects:manage`).
    pub async fn v1_create_project(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        req: NewProject,
    ) -> MgmtResult<store::Project> {
        p.org_level()?;
        let name = display_name("name", &req.name)?;
        let project = store::Project {
            n: 0,
            id: quorate_domain::id::prefixed_id("prj"),
            organization_id: t.org.id.clone(),
            name,
            created_at: self.clock.now_ms(),
            deleted_at: None,
        };
        let mut tx = self.store.begin(&t.org.id).await?;
        store::insert_project(tx.db_handle()?, &project)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => MgmtError::new(
                    "name_taken",
                    "`name`: a live project of this organization has this name",
                ),
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(project)
    }

    /// `DELETE …/projects/{projectId}` (`projects:manage`): the project and its keys, at once.
    pub async fn v1_delete_project(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        project_id: &str,
    ) -> MgmtResult<store::Project> {
        p.org_level()?;
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(&t.org.id).await?;
        let project = store::delete_project(tx.db_handle()?, &t.org.id, project_id, now)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "no such project"))?;
        tx.commit().await?;
        self.auth.invalidate();
        Ok(project)
    }
}

/// A project-scoped key sees only its project's keys; others read as not found.
fn visible(p: &BearerPrincipal, key: &BearerKeyRecord) -> MgmtResult<()> {
    match &p.key.project_id {
        Some(project) if key.project_id.as_ref() != Some(project) => Err(not_found()),
        _ => Ok(()),
    }
}

/// The `/v1` shape of a key (never the secret; seed 003 and 004 fields together).
pub fn api_key_json(k: &BearerKeyRecord, now: Millis) -> serde_json::Value {
    let prefix_end = k.key_prefix.len().saturating_sub(4);
    let type_prefix = k.key_prefix.get(..prefix_end).unwrap_or_default();
    let status = k.status(now);
    serde_json::json!({
        "id": k.id,
        "object": "api_key",
        "organization_id": k.organization_id,
        "project_id": k.project_id,
        "type": k.key_type,
        "environment": k.environment,
        "name": k.name,
        "key_prefix": k.key_prefix,
        "key_preview": format!("{}…{}", k.key_prefix, k.key_last4),
        "display_key": format!("{type_prefix}••••{}", k.key_last4),
        "allowed_origins": k.allowed_origins,
        "scopes": k.scopes,
        "rate_limit": k.rate_limit.map(|(limit, window)| serde_json::json!({"limit": limit, "window_seconds": window / 1000})),
        "status": status,
        "is_active": status == "active" || status == "rotated",
        "source": k.source,
        "device_name": k.device_name,
        "created_by_user_id": k.created_by_user_id,
        "created_at": rfc3339(k.created_at),
        "last_used_at": k.last_used_at.map(rfc3339),
        "expires_at": k.expires_at.map(rfc3339),
        "rotated_at": k.rotated_at.map(rfc3339),
        "grace_expires_at": k.grace_expires_at.map(rfc3339),
        "revoked_at": k.revoked_at.map(rfc3339),
        "replaces_key_id": k.replaces_key_id,
        "replaced_by_key_id": k.replaced_by_key_id,
    })
}

impl App {
    /// `quorate api-key create`: a secret key for an organization's first root user, minted
    /// offline (all scopes unless narrowed).
    pub async fn admin_create_key(
        &self,
        org_id: &str,
        name: &str,
        scopes: Option<Vec<String>>,
        live: bool,
    ) -> MgmtResult<(BearerKeyRecord, bearer::BearerKey)> {
        let org = self
            .store
            .reader()
            .await?
            .get_organization(org_id)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "no such organization"))?;
        let user = org
            .v1
            .operator_user_id
            .clone()
            .or_else(|| org.root_user_ids.first().cloned())
            .ok_or_else(|| MgmtError::new("not_found", "the organization has no root user"))?;
        let all: Vec<String> = quorate_domain::bearer::SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        let scopes = scopes.unwrap_or_else(|| all.clone());
        for (i, s) in scopes.iter().enumerate() {
            if !all.contains(s) {
                return Err(invalid(
                    &format!("scopes[{i}]"),
                    format!("unknown scope `{s}`"),
                ));
            }
        }
        let prefix = self
            .setting::<KeyPrefixes>()
            .unwrap_or_default()
            .secret
            .clone();
        let secret = bearer::generate(&prefix, live)
            .map_err(|e| MgmtError::new("internal", e.to_string()))?;
        let mut record = new_key_record(
            &secret,
            &org.id,
            &user,
            &display_name("name", name)?,
            self.clock.now_ms(),
            "cli",
        );
        record.scopes = scopes;
        let mut tx = self.store.begin(&org.id).await?;
        tx.insert_bearer_key(&record).await?;
        tx.commit().await?;
        Ok((record, secret))
    }

    /// `quorate api-key set-rate-limit`: a key's own limit, or `None` for the default.
    pub async fn admin_set_rate_limit(
        &self,
        key_id: &str,
        limit: Option<(i64, i64)>,
    ) -> MgmtResult<()> {
        let mut tx = self.store.begin_batch().await?;
        store::set_rate_limit(tx.db_handle()?, key_id, limit)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => not_found(),
                other => other.into(),
            })?;
        tx.commit().await?;
        self.auth.invalidate();
        Ok(())
    }
}
