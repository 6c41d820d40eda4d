//! quorate-testkit: spawn a real quorate server on port 0 with a fresh store (SQLite in a
//! temp dir, or a database in a throwaway PostgreSQL cluster) and drive it with the client.

pub mod pg;
pub mod v1;

use anyhow::{Context, Result};
use quorate_app::{App, AppConfig};
use quorate_client::Client;
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::ApiKeyCurve;
use quorate_domain::{Clock, Millis, SystemClock};
use quorate_store::{SqlStore, Store};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}

/// A fresh store's URL (and the temp dir that must outlive it, for SQLite).
pub fn fresh_store_url(
    backend: Backend,
    name: &str,
) -> Result<(String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            Ok((SqlStore::sqlite_url_for_dir(dir.path()), Some(dir)))
        }
        Backend::Postgres => Ok((pg::shared_cluster()?.create_database(name)?, None)),
    }
}

/// The root organization's credentials, as `quorate init` prints them.
pub struct Root {
    pub organization_id: String,
    pub user_id: String,
    pub api_key_id: String,
    pub key_hex: String,
    /// The management-API secret key (`sk_live_…`) `init` minted for the root user.
    pub secret_key: String,
}

impl Root {
    pub fn key(&self) -> ApiKeyPair {
        ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &self.key_hex)
            .unwrap_or_else(|_| ApiKeyPair::generate(ApiKeyCurve::P256))
    }
}

/// A running server.
pub struct TestServer {
    pub backend: Backend,
    pub base_url: String,
    pub app: Arc<App>,
    pub root: Root,
    pub database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0 with a fresh, initialised store.
    pub async fn start(backend: Backend, name: &str) -> Result<TestServer> {
        Self::start_with_clock(backend, name, Arc::new(SystemClock)).await
    }

    /// Like `start`, with an injected clock (see [`ManualClock`]).
    pub async fn start_with_clock(
        backend: Backend,
        name: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<TestServer> {
        let (url, dir) = fresh_store_url(backend, name)?;
        let store = SqlStore::open(&url).await.context("open store")?;
        let config = AppConfig::for_backend(store.backend());
        let app = Arc::new(App::with_clock(Arc::new(store), config, clock));
        let master_key = quorate_crypto::envelope::MasterKey::generate();
        let out = app
            .init("root", "root", &master_key)
            .await
            .map_err(|e| anyhow::anyhow!("init: {e}"))?;
        app.unlock(master_key)
            .await
            .map_err(|e| anyhow::anyhow!("unlock: {e}"))?;
        let root = Root {
            organization_id: out.organization_id.clone(),
            user_id: out.user_id.clone(),
            api_key_id: out.api_key_id.clone(),
            key_hex: out.key_pair.private_key_hex().to_string(),
            secret_key: out.secret_key.expose().to_string(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(quorate_server::serve(listener, app.clone(), async move {
            let _ = rx.await;
        }));
        Ok(TestServer {
            backend,
            base_url,
            app,
            root,
            database_url: url,
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: dir,
        })
    }

    /// A client stamping with the root user's key.
    pub fn root_client(&self) -> Client {
        Client::new(&self.base_url, self.root.key())
    }

    pub fn client(&self, key: ApiKeyPair) -> Client {
        Client::new(&self.base_url, key)
    }

    /// Graceful shutdown; waits for in-flight requests.
    pub async fn stop(self) -> Result<()> {
        self.stop_keeping_store().await.map(|_| ())
    }

    /// Graceful shutdown; the store stays readable (through `app`) while the returned guard
    /// lives.
    pub async fn stop_keeping_store(mut self) -> Result<Option<tempfile::TempDir>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await??;
        }
        Ok(self._dir.take())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Millis) -> Arc<Self> {
        Arc::new(ManualClock(AtomicI64::new(start)))
    }

    pub fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}
