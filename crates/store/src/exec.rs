//! One way to run a statement, whatever the driver: `$n` parameters in, rows of plain values
//! out. sqlx serves PostgreSQL and SQLite reads; rusqlite serves SQLite write transactions,
//! which run synchronously on one connection instead of hopping to a driver thread per
//! statement (that hop dominated the cost of an activity).

use crate::{Result, StoreError};
use async_trait::async_trait;
use sqlx::{AnyConnection, Column, Row as _, TypeInfo, ValueRef};

/// A statement argument.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

/// `args![a, b, c]`: statement arguments from anything convertible.
macro_rules! args {
    ($($a:expr),* $(,)?) => { vec![$($crate::exec::Arg::from($a)),*] };
}
pub(crate) use args;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Text(String),
}

/// A result row: column names and values.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    cols: Vec<(String, Val)>,
}

impl Row {
    fn val(&self, col: &str) -> Result<&Val> {
        self.cols
            .iter()
            .find(|(n, _)| n == col)
            .map(|(_, v)| v)
            .ok_or_else(|| StoreError::Other(format!("missing column `{col}`")))
    }

    pub(crate) fn opt_text(&self, col: &str) -> Result<Option<String>> {
        match self.val(col)? {
            Val::Null => Ok(None),
            Val::Text(s) => Ok(Some(s.clone())),
            Val::Int(i) => Err(StoreError::Other(format!(
                "column `{col}` is an integer ({i}), expected text"
            ))),
        }
    }

    pub(crate) fn text(&self, col: &str) -> Result<String> {
        self.opt_text(col)?
            .ok_or_else(|| StoreError::Other(format!("column `{col}` is null")))
    }

    pub(crate) fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        match self.val(col)? {
            Val::Null => Ok(None),
            Val::Int(i) => Ok(Some(*i)),
            Val::Text(_) => Err(StoreError::Other(format!(
                "column `{col}` is text, expected an integer"
            ))),
        }
    }

    pub(crate) fn int(&self, col: &str) -> Result<i64> {
        self.opt_int(col)?
            .ok_or_else(|| StoreError::Other(format!("column `{col}` is null")))
    }
}

#[async_trait]
pub(crate) trait Exec: Send {
    /// Runs a statement; returns the number of rows it changed.
    async fn run(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64>;
    async fn rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>>;

    async fn row(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<Row>> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }
}

// ---- sqlx ----

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(ref db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(v) => q.bind(v),
            Arg::Int(v) => q.bind(v),
        };
    }
    q
}

fn any_row(row: &sqlx::any::AnyRow) -> Result<Row> {
    let mut cols = Vec::with_capacity(row.columns().len());
    for (i, c) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(db_err)?;
        let val = if raw.is_null() {
            Val::Null
        } else {
            // INTEGER (SQLite), INT8/INT4 (PostgreSQL); checked without allocating per column.
            let ty = raw.type_info();
            if ty
                .name()
                .as_bytes()
                .windows(3)
                .any(|w| w.eq_ignore_ascii_case(b"INT"))
            {
                Val::Int(row.try_get::<i64, _>(i).map_err(db_err)?)
            } else {
                Val::Text(row.try_get::<String, _>(i).map_err(db_err)?)
            }
        };
        cols.push((c.name().to_string(), val));
    }
    Ok(Row { cols })
}

pub(crate) struct SqlxExec<'c>(pub(crate) &'c mut AnyConnection);

#[async_trait]
impl Exec for SqlxExec<'_> {
    async fn run(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64> {
        bind(sqlx::query(sql), args)
            .execute(&mut *self.0)
            .await
            .map(|r| r.rows_affected())
            .map_err(db_err)
    }

    async fn rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>> {
        let rows = bind(sqlx::query(sql), args)
            .fetch_all(&mut *self.0)
            .await
            .map_err(db_err)?;
        rows.iter().map(any_row).collect()
    }
}

// ---- rusqlite ----

pub(crate) fn lite_err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, ref msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint violation".into()))
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

/// `$n` → `?n`: SQLite reads `$n` as a *named* parameter numbered by first appearance, while
/// `?n` is the explicit index sqlx and PostgreSQL mean.
fn lite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if sql.contains('$') {
        std::borrow::Cow::Owned(sql.replace('$', "?"))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

fn lite_params(args: Vec<Arg>) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    args.into_iter()
        .map(|a| match a {
            Arg::Text(Some(s)) => Value::Text(s),
            Arg::Int(Some(i)) => Value::Integer(i),
            Arg::Text(None) | Arg::Int(None) => Value::Null,
        })
        .collect()
}

pub(crate) struct LiteExec<'c>(pub(crate) &'c mut rusqlite::Connection);

#[async_trait]
impl Exec for LiteExec<'_> {
    async fn run(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(&lite_sql(sql)).map_err(lite_err)?;
        stmt.execute(rusqlite::params_from_iter(lite_params(args)))
            .map(|n| n as u64)
            .map_err(lite_err)
    }

    async fn rows(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.0.prepare_cached(&lite_sql(sql)).map_err(lite_err)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(lite_params(args)))
            .map_err(lite_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(lite_err)? {
            let mut cols = Vec::with_capacity(names.len());
            for (i, n) in names.iter().enumerate() {
                let v = match r.get_ref(i).map_err(lite_err)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(i) => Val::Int(i),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Real(f) => Val::Int(f as i64),
                    ValueRef::Blob(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
                };
                cols.push((n.clone(), v));
            }
            out.push(Row { cols });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_explicit_indexes() {
        assert_eq!(
            lite_sql("UPDATE t SET a = $3 WHERE id = $1 AND b = $2"),
            "UPDATE t SET a = ?3 WHERE id = ?1 AND b = ?2"
        );
    }
}
