//! Management-API storage: knowledge entries and their pruning (docs/design/management-api.md
//! §2.2 "Knowledge", §8 `knowledge_entries`).

use crate::exec::{args, Arg, Exec, Row};
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
    if !new.pinned {
        bump(db.as_mut(), org, 1).await?;
    }
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
    let before = db
        .row(
            &format!("SELECT pinned FROM knowledge_entries WHERE {cond} AND id = ${id_at}"),
            a.clone(),
        )
        .await?
        .ok_or(StoreError::NotFound)?
        .int("pinned")?
        != 0;
    a.push(Arg::from(i64::from(pinned)));
    a.push(Arg::from(at));
    let sql = format!(
        "UPDATE knowledge_entries SET pinned = ${}, updated_at = ${} WHERE {cond} AND id = ${id_at} RETURNING {COLUMNS}",
        id_at + 1,
        id_at + 2
    );
    let row = db.row(&sql, a).await?.ok_or(StoreError::NotFound)?;
    if before != pinned {
        bump(db.as_mut(), org, if pinned { -1 } else { 1 }).await?;
    }
    entry(&row)
}

/// Runs a `DELETE … RETURNING pinned`, keeps the unpinned count exact; returns how many rows
/// went.
async fn delete_counted(db: &mut dyn Exec, org: &str, sql: &str, a: Vec<Arg>) -> Result<u64> {
    let rows = db.rows(sql, a).await?;
    let mut unpinned = 0;
    for r in &rows {
        if r.int("pinned")? == 0 {
            unpinned += 1;
        }
    }
    if unpinned > 0 {
        bump(db, org, -unpinned).await?;
    }
    Ok(rows.len() as u64)
}

/// Deletes the entries matching `f` (pinned or not); returns how many.
pub async fn delete_matching(db: Db<'_>, org: &str, f: &Filter) -> Result<u64> {
    let mut db = db.0;
    let (cond, a) = conditions(org, f);
    let sql = format!("DELETE FROM knowledge_entries WHERE {cond} RETURNING pinned");
    delete_counted(db.as_mut(), org, &sql, a).await
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
        "DELETE FROM knowledge_entries WHERE {cond} AND id IN ({}) RETURNING pinned",
        marks.join(", ")
    );
    delete_counted(db.as_mut(), org, &sql, a).await
}

/// Deletes the organization's unpinned entries created before `before` (a range of the
/// `(organization_id, pinned, created_at)` index); returns how many.
pub async fn prune_older_than(db: Db<'_>, org: &str, before: Millis) -> Result<u64> {
    let mut db = db.0;
    let n = db
        .run(
            "DELETE FROM knowledge_entries WHERE organization_id = $1 AND pinned = 0 AND created_at < $2",
            args![org, before],
        )
        .await?;
    if n > 0 {
        bump(db.as_mut(), org, -(n as i64)).await?;
    }
    Ok(n)
}

/// Keeps the organization's `keep` newest unpinned entries and deletes the older unpinned
/// ones (pinned entries neither count nor go); returns how many went. The organization's
/// unpinned count (`knowledge_counts`, kept exact by every write here) says how many are too
/// many, so the cost is that of the deleted rows, not of the `keep` kept ones.
pub async fn prune_beyond(db: Db<'_>, org: &str, keep: i64) -> Result<u64> {
    let mut db = db.0;
    let count = match unpinned(db.as_mut(), org).await? {
        Some(c) => c,
        None => recount_in(db.as_mut(), org).await?,
    };
    let excess = count - keep;
    if excess <= 0 {
        return Ok(0);
    }
    let n = db
        .run(
            "DELETE FROM knowledge_entries WHERE n IN \
             (SELECT n FROM knowledge_entries WHERE organization_id = $1 AND pinned = 0 ORDER BY n LIMIT $2)",
            args![org, excess],
        )
        .await?;
    if n > 0 {
        bump(db.as_mut(), org, -(n as i64)).await?;
    }
    Ok(n)
}

/// Recounts the organization's unpinned entries into `knowledge_counts` (the periodic pass
/// does, so the count cannot drift for long whatever happens); returns the count.
pub async fn recount(db: Db<'_>, org: &str) -> Result<i64> {
    let mut db = db.0;
    recount_in(db.as_mut(), org).await
}

async fn recount_in(db: &mut dyn Exec, org: &str) -> Result<i64> {
    let c = db
        .row(
            "SELECT COUNT(*) AS c FROM knowledge_entries WHERE organization_id = $1 AND pinned = 0",
            args![org],
        )
        .await?
        .map(|r| r.int("c"))
        .transpose()?
        .unwrap_or(0);
    db.run(
        "INSERT INTO knowledge_counts (organization_id, unpinned) VALUES ($1, $2) \
         ON CONFLICT (organization_id) DO UPDATE SET unpinned = excluded.unpinned",
        args![org, c],
    )
    .await?;
    Ok(c)
}

async fn unpinned(db: &mut dyn Exec, org: &str) -> Result<Option<i64>> {
    db.row(
        "SELECT unpinned FROM knowledge_counts WHERE organization_id = $1",
        args![org],
    )
    .await?
    .map(|r| r.int("unpinned"))
    .transpose()
}

/// Adds `delta` to the organization's unpinned count.
async fn bump(db: &mut dyn Exec, org: &str, delta: i64) -> Result<()> {
    db.run(
        "INSERT INTO knowledge_counts (organization_id, unpinned) VALUES ($1, $2) \
         ON CONFLICT (organization_id) DO UPDATE SET unpinned = knowledge_counts.unpinned + excluded.unpinned",
        args![org, delta],
    )
    .await?;
    Ok(())
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
