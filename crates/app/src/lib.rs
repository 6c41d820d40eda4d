//! quorate-app: the use cases behind both API faces — authenticate, open the activity,
//! decide, execute, record — and the reads. No HTTP here: errors carry stable codes that the
//! server maps to statuses.

pub mod admin;
pub mod auth;
pub mod chain;
pub mod command;
pub mod consensus;
pub mod engine;
pub mod error;
pub mod exec;
pub mod mgmt;
pub mod policy;
pub mod query;
pub mod vault;

pub use error::{AppError, Result};

use quorate_domain::{Clock, SystemClock};
use quorate_store::{Backend, Store};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Cache resolved credentials in memory. Only sound when this process is the store's only
    /// writer (SQLite); with PostgreSQL other nodes may change credentials at any time.
    pub cache_principals: bool,
}

impl AppConfig {
    pub fn for_backend(backend: Backend) -> Self {
        AppConfig {
            cache_principals: backend == Backend::Sqlite,
        }
    }
}

/// The application: a store, a clock and the caches, shared by every request.
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) auth: auth::AuthCache,
    /// Set once by [`App::unlock`] (or `init`): nothing touches secrets before.
    pub(crate) vault: std::sync::OnceLock<Arc<vault::Vault>>,
    pub(crate) policies: policy::PolicyCache,
    /// Deployment settings of the management API's modules (tiers, chains, …), by type: each
    /// module defines its own settings type, the CLI sets it with [`App::set_setting`].
    settings: std::sync::RwLock<Vec<Arc<dyn std::any::Any + Send + Sync>>>,
    pub(crate) limiter: mgmt::ratelimit::RateLimiter,
    pub(crate) bookkeeping: mgmt::audit::Bookkeeping,
    pub(crate) bearer_cache: mgmt::BearerCache,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: AppConfig) -> Self {
        Self::with_clock(store, config, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn Store>, config: AppConfig, clock: Arc<dyn Clock>) -> Self {
        App {
            store,
            clock,
            auth: auth::AuthCache::new(config.cache_principals),
            vault: std::sync::OnceLock::new(),
            policies: policy::PolicyCache::default(),
            settings: Default::default(),
            limiter: mgmt::ratelimit::RateLimiter::new(),
            bookkeeping: Default::default(),
            bearer_cache: Default::default(),
        }
    }

    /// The current time, by the injected clock.
    pub fn now_ms(&self) -> quorate_domain::Millis {
        self.clock.now_ms()
    }

    /// Sets (replaces) the deployment setting of type `T`.
    pub fn set_setting<T: std::any::Any + Send + Sync>(&self, value: T) {
        if let Ok(mut all) = self.settings.write() {
            all.retain(|s| !s.is::<T>());
            all.push(Arc::new(value));
        }
    }

    /// The deployment setting of type `T`, if one was set.
    pub fn setting<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let all = self.settings.read().ok()?;
        all.iter().find_map(|s| s.clone().downcast::<T>().ok())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The unlocked vault; activities need it (see [`App::unlock`]).
    pub(crate) fn vault(&self) -> Result<Arc<vault::Vault>> {
        self.vault.get().cloned().ok_or_else(|| {
            AppError::new(
                quorate_proto::ErrorCode::Unavailable,
                "the vault is locked: the server was started without its master key",
            )
        })
    }

    /// The public key that signs export and import bundles (uncompressed P-256, hex).
    pub fn signer_public_key(&self) -> Result<String> {
        Ok(self.vault()?.signer().public_key_uncompressed_hex())
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await.map_err(AppError::from)
    }
}
