//! The management API's deployment flags and offline commands: `api-key create`,
//! `api-key set-rate-limit`, `org activate|suspend`.

use anyhow::{bail, Context, Result};
use quorate_app::mgmt::audit::AuditRetention;
use quorate_app::mgmt::ratelimit::RateLimits;
use quorate_app::mgmt::KeyPrefixes;
use quorate_app::App;

/// `/v1` settings of `serve`.
#[derive(clap::Args, Clone)]
pub struct V1Args {
    /// Type prefix of new secret keys (`sk` gives `sk_live_…`).
    #[arg(long, env = "QUORATE_KEY_PREFIX_SECRET", default_value = "sk")]
    key_prefix_secret: String,
    /// Type prefix of new publishable keys.
    #[arg(long, env = "QUORATE_KEY_PREFIX_PUBLISHABLE", default_value = "pk")]
    key_prefix_publishable: String,
    /// Default limit of secret keys: `N/Ws` requests per W seconds.
    #[arg(long, env = "QUORATE_RATE_LIMIT_SECRET", default_value = "100/1s")]
    rate_limit_secret: String,
    /// Default limit of publishable keys.
    #[arg(long, env = "QUORATE_RATE_LIMIT_PUBLISHABLE", default_value = "20/1s")]
    rate_limit_publishable: String,
    /// Days the request audit log is kept (0 = forever).
    #[arg(long, env = "QUORATE_AUDIT_RETENTION_DAYS", default_value_t = 30)]
    audit_retention_days: u32,
}

/// `N/Ws` → (N, W in ms).
pub fn parse_rate(s: &str) -> Result<(i64, i64)> {
    let (n, w) = s
        .split_once('/')
        .with_context(|| format!("rate limit `{s}`: expected N/Ws, e.g. 100/1s"))?;
    let n: i64 = n
        .trim()
        .parse()
        .with_context(|| format!("rate limit `{s}`"))?;
    let secs: i64 = w
        .trim()
        .strip_suffix('s')
        .unwrap_or(w)
        .parse()
        .with_context(|| format!("rate limit `{s}`: the window is whole seconds"))?;
    if n < 1 || secs < 1 {
        bail!("rate limit `{s}`: both numbers must be at least 1");
    }
    Ok((n, secs * 1000))
}

fn valid_prefix(p: &str) -> bool {
    let b = p.as_bytes();
    (2..=16).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

impl V1Args {
    pub fn apply(&self, app: &App) -> Result<()> {
        for p in [&self.key_prefix_secret, &self.key_prefix_publishable] {
            if !valid_prefix(p) {
                bail!(
                    "key prefix `{p}`: 2 to 16 lowercase letters or digits, starting with a letter"
                );
            }
        }
        if self.key_prefix_secret == self.key_prefix_publishable
            || self.key_prefix_secret == "ws"
            || self.key_prefix_publishable == "ws"
        {
            bail!("key prefixes must differ from each other and from `ws` (wallet sessions)");
        }
        app.set_setting(KeyPrefixes {
            secret: self.key_prefix_secret.clone(),
            publishable: self.key_prefix_publishable.clone(),
        });
        app.set_setting(RateLimits {
            secret: parse_rate(&self.rate_limit_secret)?,
            publishable: parse_rate(&self.rate_limit_publishable)?,
        });
        app.set_setting(AuditRetention {
            days: self.audit_retention_days,
        });
        Ok(())
    }
}

#[derive(clap::Subcommand)]
pub enum ApiKeyCommand {
    /// Mint a secret key for an organization's root user (printed once).
    Create {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Comma-separated scopes (default: all).
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long)]
        test: bool,
    },
    /// Set a key's rate limit (`N/Ws`), or `default`.
    SetRateLimit {
        #[arg(long)]
        key: String,
        limit: String,
    },
}

#[derive(clap::Subcommand)]
pub enum OrgCommand {
    /// Reactivate a suspended organization.
    Activate { id: String },
    /// Suspend an organization: its credentials and its sub-organizations' stop.
    Suspend { id: String },
}

pub async fn api_key(app: &App, cmd: ApiKeyCommand) -> Result<()> {
    match cmd {
        ApiKeyCommand::Create {
            org,
            name,
            scopes,
            test,
        } => {
            let scopes: Option<Vec<String>> =
                scopes.map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
            let (record, secret) = app
                .admin_create_key(&org, &name, scopes, !test)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            println!(
                "{}",
                serde_json::json!({"id": record.id, "organizationId": record.organization_id, "scopes": record.scopes, "secretKey": secret.expose()})
            );
            Ok(())
        }
        ApiKeyCommand::SetRateLimit { key, limit } => {
            let limit = if limit == "default" {
                None
            } else {
                Some(parse_rate(&limit)?)
            };
            app.admin_set_rate_limit(&key, limit)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            println!("ok");
            Ok(())
        }
    }
}

pub async fn org(app: &App, cmd: OrgCommand) -> Result<()> {
    let (id, suspend) = match cmd {
        OrgCommand::Activate { id } => (id, false),
        OrgCommand::Suspend { id } => (id, true),
    };
    let org = app
        .admin_set_suspended(&id, suspend)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    println!(
        "organization {} is {}",
        org.id,
        if org.v1.suspended {
            "suspended"
        } else {
            "active"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("100/1s").unwrap(), (100, 1000));
        assert_eq!(parse_rate("5/60").unwrap(), (5, 60_000));
        for bad in ["100", "0/1s", "1/0s", "a/1s", "1/1.5s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
