//! Management-API storage: templates (docs/design/management-api.md §8 `templates`).

use crate::exec::{args, Arg, Row};
use crate::{Db, Result, StoreError};
use quorate_domain::Millis;

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Insertion order: the list keyset.
    pub n: i64,
    /// `tpl_…`.
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: Option<String>,
    /// A JSON object, as text.
    pub content: String,
    pub published: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

const COLUMNS: &str =
    "n, id, organization_id, name, description, content, published, created_at, updated_at";

fn template(r: &Row) -> Result<Template> {
    Ok(Template {
        n: r.int("n")?,
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        name: r.text("name")?,
        description: r.opt_text("description")?,
        content: r.text("content")?,
        published: r.int("published")? != 0,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
    })
}

/// Inserts `t` (its `n` is ignored); returns it as stored.
pub async fn insert(db: Db<'_>, t: &Template) -> Result<Template> {
    let mut db = db.0;
    let row = db
        .row(
            &format!(
                "INSERT INTO templates (id, organization_id, name, description, content, published, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
            ),
            args![
                &t.id,
                &t.organization_id,
                &t.name,
                t.description.clone(),
                &t.content,
                i64::from(t.published),
                t.created_at,
                t.updated_at
            ],
        )
        .await?
        .ok_or_else(|| StoreError::Other("INSERT … RETURNING gave no row".into()))?;
    template(&row)
}

/// One template of the organization.
pub async fn get(db: Db<'_>, org: &str, id: &str) -> Result<Option<Template>> {
    let mut db = db.0;
    db.row(
        &format!("SELECT {COLUMNS} FROM templates WHERE organization_id = $1 AND id = $2"),
        args![org, id],
    )
    .await?
    .as_ref()
    .map(template)
    .transpose()
}

/// Rewrites the changeable fields of `t` (found by organization and id); `NotFound` when
/// there is no such template.
pub async fn update(db: Db<'_>, t: &Template) -> Result<Template> {
    let mut db = db.0;
    let row = db
        .row(
            &format!(
                "UPDATE templates SET name = $3, description = $4, content = $5, published = $6, updated_at = $7 \
                 WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
            ),
            args![
                &t.organization_id,
                &t.id,
                &t.name,
                t.description.clone(),
                &t.content,
                i64::from(t.published),
                t.updated_at
            ],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    template(&row)
}

/// The organization's templates (only published ones when `published_only`), newest first,
/// after row `before_n`, at most `limit` rows.
pub async fn list(
    db: Db<'_>,
    org: &str,
    published_only: bool,
    before_n: Option<i64>,
    limit: u32,
) -> Result<Vec<Template>> {
    let mut db = db.0;
    let mut cond = String::from("organization_id = $1");
    let mut a: Vec<Arg> = args![org];
    if published_only {
        cond.push_str(" AND published = 1");
    }
    if let Some(n) = before_n {
        a.push(Arg::from(n));
        cond.push_str(&format!(" AND n < ${}", a.len()));
    }
    db.rows(
        &format!("SELECT {COLUMNS} FROM templates WHERE {cond} ORDER BY n DESC LIMIT {limit}"),
        a,
    )
    .await?
    .iter()
    .map(template)
    .collect()
}
