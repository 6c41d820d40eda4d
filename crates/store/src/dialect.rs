//! What differs between SQLite and PostgreSQL: connecting, migrations and how writers lock.

use crate::{Result, StoreError};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Other(format!(
                "unsupported database url scheme in `{}` (use sqlite: or postgres:)",
                redact_url(url)
            )))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Appended to the organization read that opens a write transaction: it takes the
    /// organization's row lock on PostgreSQL. SQLite has one writer at a time (an in-process
    /// mutex), so a plain read suffices there.
    pub(crate) fn lock_suffix(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// Hides a password in a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) async fn connect(url: &str, backend: Backend) -> Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let options = AnyConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid database url: {e}")))?;
    let pool = match backend {
        Backend::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(8)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        let sync = sqlite_synchronous();
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(format!("PRAGMA synchronous = {sync}").as_str())
                            .await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
        }
    }
    .map_err(|e| StoreError::Unavailable(format!("cannot connect to {}: {e}", backend.as_str())))?;
    Ok(pool)
}

/// WAL: readers never block the writer. NORMAL sync in WAL mode keeps every committed
/// transaction across a process crash; FULL (QUORATE_SQLITE_SYNCHRONOUS=FULL) also across
/// power loss.
fn sqlite_synchronous() -> &'static str {
    std::env::var("QUORATE_SQLITE_SYNCHRONOUS")
        .ok()
        .filter(|s| s.eq_ignore_ascii_case("full"))
        .map_or("NORMAL", |_| "FULL")
}

/// The SQLite writer connection for the database file of `url`.
pub(crate) fn sqlite_writer(url: &str) -> Result<rusqlite::Connection> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    let conn = rusqlite::Connection::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {path}: {e}")))?;
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA busy_timeout = 10000;",
        sqlite_synchronous()
    );
    conn.execute_batch(&pragmas)
        .map_err(|e| StoreError::Unavailable(format!("cannot configure {path}: {e}")))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

pub(crate) async fn migrate(pool: &AnyPool, backend: Backend) -> Result<()> {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator
        .run(pool)
        .await
        .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
