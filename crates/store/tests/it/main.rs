//! Runs the store conformance suite (`conformance.rs`) against both backends: every check is one
//! `sqlite_…` and one `postgres_…` test with identical assertions. PostgreSQL runs in a
//! throwaway cluster the test binary starts itself (`quorate_testkit::pg`).

// clippy.toml's allow-*-in-tests covers `#[test]` fns only, not the helpers of an integration
// test crate; this whole crate is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;

use conformance::DynStore;
use quorate_store::{Backend, SqlStore, Store};
use std::sync::Arc;

/// A fresh, migrated store and whatever must outlive it.
struct Harness {
    store: Arc<SqlStore>,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = SqlStore::sqlite_url_for_dir(dir.path());
        let store = SqlStore::open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        Harness {
            store: Arc::new(store),
            url,
            _dir: Some(dir),
        }
    }

    async fn postgres(hint: &str) -> Harness {
        let hint = hint.to_string();
        // Starting the shared cluster (first caller) and CREATE DATABASE block: keep them off
        // the runtime's workers.
        let url = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            quorate_testkit::pg::shared_cluster()?.create_database(&hint)
        })
        .await
        .unwrap()
        .unwrap();
        let store = SqlStore::open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        Harness {
            store: Arc::new(store),
            url,
            _dir: None,
        }
    }

    fn store(&self) -> DynStore {
        self.store.clone()
    }

    /// Another store on the same database (runs migrations again).
    async fn reopen(&self) -> DynStore {
        Arc::new(SqlStore::open(&self.url).await.unwrap())
    }

    async fn close(self) {
        self.store.close().await;
    }
}

/// `check => sqlite_test, postgres_test;` — one test per backend running the same check.
macro_rules! conformance {
    ($($check:ident => $sqlite:ident, $postgres:ident;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $sqlite() {
                let h = Harness::sqlite().await;
                conformance::$check(h.store()).await;
                h.close().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $postgres() {
                let h = Harness::postgres(stringify!($check)).await;
                conformance::$check(h.store()).await;
                h.close().await;
            }
        )*
    };
}

conformance! {
    init_once => sqlite_init_once, postgres_init_once;
    concurrent_init => sqlite_concurrent_init, postgres_concurrent_init;
    organizations => sqlite_organizations, postgres_organizations;
    cursors_are_scoped => sqlite_cursors_are_scoped, postgres_cursors_are_scoped;
    users => sqlite_users, postgres_users;
    api_keys => sqlite_api_keys, postgres_api_keys;
    tags => sqlite_tags, postgres_tags;
    activities => sqlite_activities, postgres_activities;
    log_and_rollback => sqlite_log_and_rollback, postgres_log_and_rollback;
    same_org_writers_serialize => sqlite_same_org_writers_serialize, postgres_same_org_writers_serialize;
    different_org_writers => sqlite_different_org_writers, postgres_different_org_writers;
    concurrent_appends => sqlite_concurrent_appends, postgres_concurrent_appends;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reopen_keeps_data() {
    let h = Harness::sqlite().await;
    conformance::reopen_keeps_data(h.store(), h.reopen()).await;
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reopen_keeps_data() {
    let h = Harness::postgres("reopen_keeps_data").await;
    conformance::reopen_keeps_data(h.store(), h.reopen()).await;
    h.close().await;
}
