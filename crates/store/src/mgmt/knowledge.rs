//! Management-API storage: knowledge entries and their pruning (docs/design/management-api.md
//! §2.2 "Knowledge", §8 `knowledge_entries`).

use crate::exec::{args, Arg, Row};
use crate::{Db, Result, StoreError};
use quorate_domain::Millis;

/// A stored knowledge entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Insertion order: the list keyset.
    pub n: i64,
    /// `kn_…`.
    pub id: String,
    pub organization_id: String,
    pub project_id: Option<String>,
    pub source_type: String,
    pub title: Option<String>,
    pub content: String,
    pub pinned: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What a new entry carries (the caller validated it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub source_type: String,
    pub content: String,
    pub title: Option<String>,
    pub pinned: bool,
    pub project_id: Option<String>,
}

/// Which entries a list or a bulk delete sees: `project` restricts to one project (a
/// project-scoped key); the rest are the list's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub project_id: Option<String>,
    pub source_type: Option<String>,
    pub pinned: Option<bool>,
}

const COLUMNS: &str =
    "n, id, organization_id, project_id, source_type, title, content, pinned, created_at, updated_at";

fn entry(r: &Row) -> Result<Entry> {
    Ok(Entry {
        n: r.int("n")?,
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        project_id: r.opt_text("project_id")?,
        source_type: r.text("source_type")?,
        title: r.opt_text("title")?,
        content: r.text("content")?,
        pinned: r.int("pinned")? != 0,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

/// `WHERE organization_id = $1` plus the filter's conditions, with their arguments.
fn conditions(org: &str, f: &Filter) -> (String, Vec<Arg>) {
    let mut sql = String::from("organization_id = $1");
    let mut a = args![org];
    if let Some(p) = &f.project_id {
        a.push(Arg::from(p));
        sql.push_str(&format!(" AND project_id = ${}", a.len()));
    }
    if let Some(s) = &f.source_type {
        a.push(Arg::from(s));
        sql.push_str(&format!(" AND source_type = ${}", a.len()));
    }
    if let Some(p) = f.pinned {
        a.push(Arg::from(i64::from(p)));
        sql.push_str(&format!(" AND pinned = ${}", a.len()));
    }
    (sql, a)
}

/// Inserts an entry; returns it as stored.
pub async fn insert(db: Db<'_>, org: &str, id: &str, new: &NewEntry, at: Millis) -> Result<Entry> {
    let mut db = db.0;
    let row = db
        .row(
            &format!(
                "INSERT INTO knowledge_entries (id, organization_id, project_id, source_type, title, content, pinned, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLUMNS}"
            ),
            args![
                id,
                org,
                new.project_id.clone(),
                &new.source_type,
                new.title.clone(),
                &new.content,
                i64::from(new.pinned),
                at
            ],
        )
        .await?
        .ok_or_else(|| StoreError::Other("INSERT … RETURNING gave no row".into()))?;
    entry(&row)
}

/// One entry of the organization (of one project when `project` is set).
pub async fn get(db: Db<'_>, org: &str, project: Option<&str>, id: &str) -> Result<Option<Entry>> {
    let mut db = db.0;
    let f = Filter {
        project_id: project.map(str::to_string),
        ..Filter::default()
    };
    let (cond, mut a) = conditions(org, &f);
    a.push(Arg::from(id));
    let sql = format!(
        "SELECT {COLUMNS} FROM knowledge_entries WHERE {cond} AND id = ${}",
        a.len()
    );
    db.row(&sql, a).await?.as_ref().map(entry).transpose()
}

/// Entries matching `f`, newest first, after row `before_n` (the previous page's last row), at
/// most `limit` rows.
pub async fn list(
    db: Db<'_>,
    org: &str,
    f: &Filter,
    before_n: Option<i64>,
    limit: u32,
) -> Result<Vec<Entry>> {
    let mut db = db.0;
    let (mut cond, mut a) = conditions(org, f);
    if let Some(n) = before_n {
        a.push(Arg::from(n));
        cond.push_str(&format!(" AND n < ${}", a.len()));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM knowledge_entries WHERE {cond} ORDER BY n DESC LIMIT {limit}"
    );
    db.rows(&sql, a).await?.iter().map(entry).collect()
}

/// Pins or unpins an entry; `NotFound` when the organization (or project) has no such entry.
pub async fn set_pinned(
    db: Db<'_>,
    org: &str,
    project: Option<&str>,
    id: &str,
    pinned: bool,
    at: Millis,
) -> Result<Entry> {
    let mut db = db.0;
    let f = Filter {
        project_id: project.map(str::to_string),
        ..Filter::default()
    };
    let (cond, mut a) = conditions(org, &f);
    a.push(Arg::from(id));
    let id_at = a.len();
    a.push(Arg::from(i64::from(pinned)));
    a.push(Arg::from(at));
    let sql = format!(
        "UPDATE knowledge_entries SET pinned = ${}, updated_at = ${} WHERE {cond} AND id = ${id_at} RETURNING {COLUMNS}",
        id_at + 1,
        id_at + 2
    );
    match db.row(&sql, a).await? {
        Some(r) => entry(&r),
        None => Err(StoreError::NotFound),
    }
}

/// Deletes the entries matching `f` (pinned or not); returns how many.
pub async fn delete_matching(db: Db<'_>, org: &str, f: &Filter) -> Result<u64> {
    let mut db = db.0;
    let (cond, a) = conditions(org, f);
    db.run(&format!("DELETE FROM knowledge_entries WHERE {cond}"), a)
        .await
}

/// Deletes the entries with these ids among those matching `f`; returns how many existed.
pub async fn delete_ids(db: Db<'_>, org: &str, f: &Filter, ids: &[String]) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut db = db.0;
    let (cond, mut a) = conditions(org, f);
    let mut marks = Vec::with_capacity(ids.len());
    for id in ids {
        a.push(Arg::from(id));
        marks.push(format!("${}", a.len()));
    }
    let sql = format!(
        "DELETE FROM knowledge_entries WHERE {cond} AND id IN ({})",
        marks.join(", ")
    );
    db.run(&sql, a).await
}

/// Deletes the organization's unpinned entries created before `before`; returns how many.
pub async fn prune_older_than(db: Db<'_>, org: &str, before: Millis) -> Result<u64> {
    let mut db = db.0;
    db.run(
        "DELETE FROM knowledge_entries WHERE organization_id = $1 AND pinned = 0 AND created_at < $2",
        args![org, before],
    )
    .await
}

/// Keeps the organization's `keep` newest unpinned entries and deletes the older unpinned
/// ones (pinned entries neither count nor go); returns how many went. One statement: the
/// subquery finds the newest entry beyond the limit on the `(organization_id, pinned, n)`
/// index, and finds none (NULL, so nothing matches) while the limit is not exceeded.
pub async fn prune_beyond(db: Db<'_>, org: &str, keep: i64) -> Result<u64> {
    let mut db = db.0;
    db.run(
        "DELETE FROM knowledge_entries WHERE organization_id = $1 AND pinned = 0 AND n <= \
         (SELECT n FROM knowledge_entries WHERE organization_id = $1 AND pinned = 0 ORDER BY n DESC LIMIT 1 OFFSET $2)",
        args![org, keep],
    )
    .await
}

/// Whether the organization has this live project.
pub async fn project_exists(db: Db<'_>, org: &str, project_id: &str) -> Result<bool> {
    let mut db = db.0;
    Ok(db
        .row(
            "SELECT id FROM projects WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL",
            args![project_id, org],
        )
        .await?
        .is_some())
}
