//! quorate-app: the use cases behind both API faces — authenticate, open the activity,
//! decide, execute, record — and the reads. No HTTP here: errors carry stable codes that the
//! server maps to statuses.

pub mod admin;
pub mod auth;
pub mod chain;
pub mod command;
pub mod engine;
pub mod error;
pub mod exec;
pub mod query;

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
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> Result<()> {
        self.store.ping().await.map_err(AppError::from)
    }
}
