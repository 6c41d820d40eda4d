//! `/v1` API keys: both families (`/v1/api-keys` for the caller's organization and
//! `/v1/organizations/{orgId}/api-keys`), creation, revocation, patching and rotation.

use super::{invalid, rfc3339, BearerPrincipal, MgmtError, MgmtResult, Target};
use crate::App;
use quorate_crypto::bearer;
use quorate_domain::BearerKeyRecord;

/// `POST /v1/api-keys` body.
#[derive(Debug, Clone, serde::Deserialize)]
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
    /// RFC 3339.
    #[serde(default)]
    pub expires_at: Option<String>,
}

fn origin(field: &str, o: &str) -> MgmtResult<String> {
    let ok = (o.starts_with("https://") || o.starts_with("http://"))
        && !o["https://".len().min(o.len())..].contains('/')
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

impl App {
    /// `GET /v1/api-keys` (`api_keys:read`): the caller's organization's keys.
    pub async fn v1_list_api_keys(&self, t: &Target) -> MgmtResult<Vec<BearerKeyRecord>> {
        Ok(self
            .store
            .reader()
            .await?
            .list_bearer_keys(&t.org.id)
            .await?)
    }

    /// `POST /v1/api-keys` (`api_keys:manage`): a new key acting as the caller's user, with at
    /// most the caller's scopes; the secret is returned once.
    pub async fn v1_create_api_key(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        req: NewApiKey,
    ) -> MgmtResult<(BearerKeyRecord, bearer::BearerKey)> {
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
            return Err(invalid("name", "must be 1 to 256 printable characters"));
        }
        let key_type = req.r#type.as_deref().unwrap_or("secret");
        let (prefix, publishable) = match key_type {
            "secret" => ("sk", false),
            "publishable" => ("pk", true),
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
        let scopes = req.scopes.unwrap_or_default();
        for (i, s) in scopes.iter().enumerate() {
            if !quorate_domain::bearer::SCOPES.contains(&s.as_str()) {
                return Err(invalid(
                    &format!("scopes[{i}]"),
                    format!("unknown scope `{s}`"),
                ));
            }
            if !p.key.scopes.contains(s) {
                return Err(MgmtError::new(
                    "scope_escalation",
                    format!("`scopes[{i}]`: this key does not hold `{s}` and cannot grant it"),
                ));
            }
        }
        if publishable && !scopes.is_empty() {
            return Err(invalid(
                "scopes",
                "publishable keys carry no management scopes",
            ));
        }
        if !publishable && scopes.is_empty() {
            return Err(invalid("scopes", "a secret key needs at least one scope"));
        }
        let origins = req
            .allowed_origins
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, o)| origin(&format!("allowed_origins[{i}]"), o))
            .collect::<MgmtResult<Vec<_>>>()?;
        if publishable && origins.is_empty() {
            return Err(invalid(
                "allowed_origins",
                "a publishable key needs at least one origin",
            ));
        }
        let now = self.clock.now_ms();
        let expires_at = match req.expires_at.as_deref() {
            None => None,
            Some(t) => {
                let ts = quorate_policy::Timestamp::parse_rfc3339(t)
                    .map_err(|e| invalid("expires_at", e))?;
                let ms =
                    ts.unix_secs().saturating_mul(1000) + i64::from(ts.subsec_nanos() / 1_000_000);
                if ms <= now {
                    return Err(invalid("expires_at", "must be in the future"));
                }
                Some(ms)
            }
        };
        let secret = bearer::generate(prefix, live)
            .map_err(|e| MgmtError::new("internal", e.to_string()))?;
        let record = BearerKeyRecord {
            id: format!("key_{}", quorate_domain::new_id().replace('-', "")),
            organization_id: t.org.id.clone(),
            project_id: None,
            key_type: key_type.to_string(),
            environment: if live { "live" } else { "test" }.to_string(),
            name: name.to_string(),
            key_prefix: secret.preview(),
            secret_hash: bearer::hash(secret.expose()),
            allowed_origins: origins,
            scopes,
            source: "api".to_string(),
            created_by_user_id: t.actor.user_id.clone(),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            expires_at,
            grace_expires_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin(&t.org.id).await?;
        tx.insert_bearer_key(&record).await?;
        tx.commit().await?;
        Ok((record, secret))
    }

    /// `DELETE /v1/api-keys/{keyId}` (`api_keys:manage`): revokes a key of the caller's
    /// organization; the revoked key stops working at once.
    pub async fn v1_revoke_api_key(&self, t: &Target, key_id: &str) -> MgmtResult<BearerKeyRecord> {
        let now = self.clock.now_ms();
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        tx.revoke_bearer_key(org, key_id, now)
            .await
            .map_err(|e| match e {
                quorate_store::StoreError::NotFound => {
                    MgmtError::new("not_found", "no such live API key")
                }
                other => other.into(),
            })?;
        // Read back in the same transaction: the row as revoked.
        let revoked = tx
            .get_bearer_key(org, key_id)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "no such API key"))?;
        tx.commit().await?;
        Ok(revoked)
    }
}

/// The `/v1` shape of a key (never the secret).
pub fn api_key_json(k: &BearerKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "object": "api_key",
        "name": k.name,
        "type": k.key_type,
        "environment": k.environment,
        "key_prefix": k.key_prefix,
        "scopes": k.scopes,
        "allowed_origins": k.allowed_origins,
        "project_id": k.project_id,
        "created_by_user_id": k.created_by_user_id,
        "source": k.source,
        "is_active": k.revoked_at.is_none(),
        "created_at": rfc3339(k.created_at),
        "last_used_at": k.last_used_at.map(rfc3339),
        "expires_at": k.expires_at.map(rfc3339),
        "revoked_at": k.revoked_at.map(rfc3339),
    })
}
