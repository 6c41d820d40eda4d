//! Usage metering and plans (docs/design/management-api.md §8 "CU at 1 M runs per org"):
//! `cu_runs` (raw, unique per organization and run id), the `cu_daily` rollup per (day,
//! project, workflow) that every aggregation reads, `cu_workflows` (names), `cu_top_ups` and
//! `org_plans`. Batches are multi-row statements, chunked under both backends' parameter limits
//! (PostgreSQL 65,535 — kept < 32k — and SQLite 32,766).

use crate::exec::{args, Arg, Row};
use crate::{Db, Result};
use quorate_domain::Millis;
use std::collections::HashSet;

/// Parameters per statement stay below this (both backends).
const MAX_PARAMS: usize = 30_000;

/// A run as stored (`project_id` is `""` for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub run_id: String,
    pub project_id: String,
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub cu: i64,
    pub started_at: Millis,
    pub finished_at: Millis,
    /// UTC day of `finished_at` (days since the epoch), computed by the caller.
    pub day: i64,
    pub created_at: Millis,
}

fn run_of(r: &Row) -> Result<Run> {
    Ok(Run {
        run_id: r.text("run_id")?,
        project_id: r.text("project_id")?,
        workflow_id: r.text("workflow_id")?,
        workflow_name: r.opt_text("workflow_name")?,
        cu: r.int("cu")?,
        started_at: r.int("started_at")?,
        finished_at: r.int("finished_at")?,
        day: r.int("day")?,
        created_at: r.int("created_at")?,
    })
}

const RUN_COLS: &str =
    "run_id, project_id, workflow_id, workflow_name, cu, started_at, finished_at, day, created_at";

/// Inserts the runs whose id the organization does not have yet (one multi-row `INSERT … ON
/// CONFLICT DO NOTHING RETURNING` per chunk) and returns the ids actually inserted. Callers
/// pass runs sorted by id, so concurrent batches lock index entries in the same order.
pub async fn insert_runs(
    db: Db<'_>,
    org: &str,
    key_id: &str,
    runs: &[Run],
) -> Result<HashSet<String>> {
    let mut db = db.0;
    let mut inserted = HashSet::with_capacity(runs.len());
    // $1 organization, $2 key; then 8 per run.
    for chunk in runs.chunks((MAX_PARAMS - 2) / 8) {
        let mut sql = String::with_capacity(64 + chunk.len() * 48);
        sql.push_str("INSERT INTO cu_runs (organization_id, key_id, run_id, project_id, workflow_id, workflow_name, cu, started_at, finished_at, day, created_at) VALUES ");
        let mut a: Vec<Arg> = Vec::with_capacity(2 + chunk.len() * 9);
        a.extend(args![org, key_id]);
        for (i, r) in chunk.iter().enumerate() {
            let b = 3 + i * 9;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "($1,$2,${},${},${},${},${},${},${},${},${})",
                b,
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
            a.extend(args![
                &r.run_id,
                &r.project_id,
                &r.workflow_id,
                r.workflow_name.clone(),
                r.cu,
                r.started_at,
                r.finished_at,
                r.day,
                r.created_at
            ]);
        }
        sql.push_str(" ON CONFLICT (organization_id, run_id) DO NOTHING RETURNING run_id");
        for row in db.rows(&sql, a).await? {
            inserted.insert(row.text("run_id")?);
        }
    }
    Ok(inserted)
}

/// The stored runs among `run_ids` (any order).
pub async fn get_runs(db: Db<'_>, org: &str, run_ids: &[&str]) -> Result<Vec<Run>> {
    let mut db = db.0;
    let mut out = Vec::with_capacity(run_ids.len());
    for chunk in run_ids.chunks(MAX_PARAMS - 1) {
        let (sql, a) = get_runs_sql(org, chunk);
        let rows = db.rows(&sql, a).await?;
        for r in &rows {
            out.push(run_of(r)?);
        }
    }
    Ok(out)
}

fn get_runs_sql(org: &str, run_ids: &[&str]) -> (String, Vec<Arg>) {
    let marks: Vec<String> = (0..run_ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut a: Vec<Arg> = args![org];
    a.extend(run_ids.iter().map(|id| Arg::from(*id)));
    (
        format!(
            "SELECT {RUN_COLS} FROM cu_runs WHERE organization_id = $1 AND run_id IN ({})",
            marks.join(",")
        ),
        a,
    )
}

/// One row of the daily rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daily {
    pub day: i64,
    pub project_id: String,
    pub workflow_id: String,
    pub cu: i64,
    pub runs: i64,
}

/// Adds to the rollup (`DO UPDATE SET cu = cu + excluded.cu, …`). Each (day, project,
/// workflow) must appear once (PostgreSQL refuses an upsert touching a row twice); callers sum
/// first and pass rows sorted by key, so concurrent batches lock rows in the same order.
pub async fn add_daily(db: Db<'_>, org: &str, rows: &[Daily]) -> Result<()> {
    let mut db = db.0;
    for chunk in rows.chunks((MAX_PARAMS - 1) / 5) {
        let mut sql = String::with_capacity(64 + chunk.len() * 32);
        sql.push_str(
            "INSERT INTO cu_daily (organization_id, day, project_id, workflow_id, cu, runs) VALUES ",
        );
        let mut a: Vec<Arg> = args![org];
        for (i, r) in chunk.iter().enumerate() {
            let b = 2 + i * 5;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "($1,${},${},${},${},${})",
                b,
                b + 1,
                b + 2,
                b + 3,
                b + 4
            ));
            a.extend(args![r.day, &r.project_id, &r.workflow_id, r.cu, r.runs]);
        }
        sql.push_str(
            " ON CONFLICT (organization_id, day, project_id, workflow_id) DO UPDATE SET cu = cu_daily.cu + excluded.cu, runs = cu_daily.runs + excluded.runs",
        );
        db.run(&sql, a).await?;
    }
    Ok(())
}

/// Records workflows (ids unique, sorted): new ones are inserted, a given name replaces a
/// different stored one; nothing is written otherwise.
pub async fn upsert_workflows(
    db: Db<'_>,
    org: &str,
    workflows: &[(String, Option<String>)],
    at: Millis,
) -> Result<()> {
    let mut db = db.0;
    for chunk in workflows.chunks((MAX_PARAMS - 2) / 2) {
        let mut sql = String::with_capacity(64 + chunk.len() * 16);
        sql.push_str(
            "INSERT INTO cu_workflows (organization_id, updated_at, workflow_id, workflow_name) VALUES ",
        );
        let mut a: Vec<Arg> = args![org, at];
        for (i, (id, name)) in chunk.iter().enumerate() {
            let b = 3 + i * 2;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("($1,$2,${},${})", b, b + 1));
            a.extend(args![id, name.clone()]);
        }
        sql.push_str(
            " ON CONFLICT (organization_id, workflow_id) DO UPDATE SET workflow_name = excluded.workflow_name, updated_at = excluded.updated_at \
             WHERE excluded.workflow_name IS NOT NULL AND (cu_workflows.workflow_name IS NULL OR cu_workflows.workflow_name <> excluded.workflow_name)",
        );
        db.run(&sql, a).await?;
    }
    Ok(())
}

/// Filters of the run list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this project's runs (`""` = runs without a project).
    pub project_id: Option<String>,
    pub workflow_id: Option<String>,
    /// `finished_at >= from`.
    pub from: Option<Millis>,
    /// `finished_at < to`.
    pub to: Option<Millis>,
}

/// Runs newest `finished_at` first (ties: newest row first) after the keyset `(finished_at,
/// n)`: `(n, run)`, at most `limit` rows. A keyset scan of `(organization_id, finished_at, n)`
/// or of the workflow or project index.
pub async fn list_runs(
    db: Db<'_>,
    org: &str,
    filter: &RunFilter,
    after: Option<(Millis, i64)>,
    limit: u32,
) -> Result<Vec<(i64, Run)>> {
    let mut db = db.0;
    let (sql, a) = list_runs_sql(org, filter, after, limit);
    let rows = db.rows(&sql, a).await?;
    rows.iter().map(|r| Ok((r.int("n")?, run_of(r)?))).collect()
}

fn list_runs_sql(
    org: &str,
    filter: &RunFilter,
    after: Option<(Millis, i64)>,
    limit: u32,
) -> (String, Vec<Arg>) {
    let mut sql = format!("SELECT n, {RUN_COLS} FROM cu_runs WHERE organization_id = $1");
    let mut a: Vec<Arg> = args![org];
    if let Some(p) = &filter.project_id {
        a.push(Arg::from(p));
        sql.push_str(&format!(" AND project_id = ${}", a.len()));
    }
    if let Some(w) = &filter.workflow_id {
        a.push(Arg::from(w));
        sql.push_str(&format!(" AND workflow_id = ${}", a.len()));
    }
    if let Some(from) = filter.from {
        a.push(Arg::from(from));
        sql.push_str(&format!(" AND finished_at >= ${}", a.len()));
    }
    if let Some(to) = filter.to {
        a.push(Arg::from(to));
        sql.push_str(&format!(" AND finished_at < ${}", a.len()));
    }
    if let Some((at, n)) = after {
        a.extend(args![at, n]);
        let (t, m) = (a.len() - 1, a.len());
        sql.push_str(&format!(
            " AND finished_at <= ${t} AND (finished_at < ${t} OR n < ${m})"
        ));
    }
    sql.push_str(&format!(" ORDER BY finished_at DESC, n DESC LIMIT {limit}"));
    (sql, a)
}

/// `(day, cu, runs)` for the days in `from_day..=to_day` that have usage, oldest first.
pub async fn daily_usage(
    db: Db<'_>,
    org: &str,
    project_id: Option<&str>,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<(i64, i64, i64)>> {
    let mut db = db.0;
    let (sql, a) = daily_usage_sql(org, project_id, from_day, to_day);
    let rows = db.rows(&sql, a).await?;
    rows.iter()
        .map(|r| Ok((r.int("day")?, r.int("total_cu")?, r.int("total_runs")?)))
        .collect()
}

fn daily_usage_sql(
    org: &str,
    project_id: Option<&str>,
    from_day: i64,
    to_day: i64,
) -> (String, Vec<Arg>) {
    let mut sql = "SELECT day, CAST(SUM(cu) AS BIGINT) AS total_cu, CAST(SUM(runs) AS BIGINT) AS total_runs FROM cu_daily WHERE organization_id = $1 AND day >= $2 AND day <= $3".to_string();
    let mut a: Vec<Arg> = args![org, from_day, to_day];
    if let Some(p) = project_id {
        a.push(Arg::from(p));
        sql.push_str(" AND project_id = $4");
    }
    sql.push_str(" GROUP BY day ORDER BY day");
    (sql, a)
}

/// Usage per workflow over `from_day..=to_day`, most CU first (ties by workflow id): `offset`
/// rows skipped, at most `limit`.
pub async fn usage_by_workflow(
    db: Db<'_>,
    org: &str,
    project_id: Option<&str>,
    from_day: i64,
    to_day: i64,
    offset: u64,
    limit: u32,
) -> Result<Vec<WorkflowUsage>> {
    let mut db = db.0;
    let (sql, a) = by_workflow_sql(org, project_id, from_day, to_day, offset, limit);
    let rows = db.rows(&sql, a).await?;
    rows.iter()
        .map(|r| {
            Ok(WorkflowUsage {
                workflow_id: r.text("workflow_id")?,
                workflow_name: r.opt_text("workflow_name")?,
                cu: r.int("total_cu")?,
                runs: r.int("total_runs")?,
            })
        })
        .collect()
}

/// One workflow's usage over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowUsage {
    pub workflow_id: String,
    pub workflow_name: Option<String>,
    pub cu: i64,
    pub runs: i64,
}

fn by_workflow_sql(
    org: &str,
    project_id: Option<&str>,
    from_day: i64,
    to_day: i64,
    offset: u64,
    limit: u32,
) -> (String, Vec<Arg>) {
    let project = if project_id.is_some() {
        " AND d.project_id = $4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT t.workflow_id, w.workflow_name, t.total_cu, t.total_runs FROM (\
         SELECT d.workflow_id, CAST(SUM(d.cu) AS BIGINT) AS total_cu, CAST(SUM(d.runs) AS BIGINT) AS total_runs \
         FROM cu_daily d WHERE d.organization_id = $1 AND d.day >= $2 AND d.day <= $3{project} GROUP BY d.workflow_id) t \
         LEFT JOIN cu_workflows w ON w.organization_id = $1 AND w.workflow_id = t.workflow_id \
         ORDER BY t.total_cu DESC, t.workflow_id LIMIT {limit} OFFSET {offset}"
    );
    let mut a: Vec<Arg> = args![org, from_day, to_day];
    if let Some(p) = project_id {
        a.push(Arg::from(p));
    }
    (sql, a)
}

/// Total CU of the days `from_day..to_day` (end excluded), every project.
pub async fn used(db: Db<'_>, org: &str, from_day: i64, to_day: i64) -> Result<i64> {
    let mut db = db.0;
    let (sql, a) = used_sql(org, from_day, to_day);
    match db.row(&sql, a).await? {
        Some(r) => Ok(r.opt_int("total_cu")?.unwrap_or(0)),
        None => Ok(0),
    }
}

fn used_sql(org: &str, from_day: i64, to_day: i64) -> (String, Vec<Arg>) {
    (
        "SELECT CAST(COALESCE(SUM(cu), 0) AS BIGINT) AS total_cu FROM cu_daily WHERE organization_id = $1 AND day >= $2 AND day < $3".to_string(),
        args![org, from_day, to_day],
    )
}

/// The raw sum over `cu_runs` (checks and benchmarks: it must equal the rollup's).
pub async fn raw_total(db: Db<'_>, org: &str) -> Result<(i64, i64)> {
    let mut db = db.0;
    let r = db
        .row(
            "SELECT CAST(COALESCE(SUM(cu), 0) AS BIGINT) AS total_cu, COUNT(*) AS total_runs FROM cu_runs WHERE organization_id = $1",
            args![org],
        )
        .await?;
    match r {
        Some(r) => Ok((
            r.opt_int("total_cu")?.unwrap_or(0),
            r.opt_int("total_runs")?.unwrap_or(0),
        )),
        None => Ok((0, 0)),
    }
}

/// The rollup's total (checks and benchmarks).
pub async fn rollup_total(db: Db<'_>, org: &str) -> Result<(i64, i64)> {
    let mut db = db.0;
    let r = db
        .row(
            "SELECT CAST(COALESCE(SUM(cu), 0) AS BIGINT) AS total_cu, CAST(COALESCE(SUM(runs), 0) AS BIGINT) AS total_runs FROM cu_daily WHERE organization_id = $1",
            args![org],
        )
        .await?;
    match r {
        Some(r) => Ok((
            r.opt_int("total_cu")?.unwrap_or(0),
            r.opt_int("total_runs")?.unwrap_or(0),
        )),
        None => Ok((0, 0)),
    }
}

/// Whether the organization has this live project.
pub async fn project_is_live(db: Db<'_>, org: &str, project_id: &str) -> Result<bool> {
    let mut db = db.0;
    Ok(db
        .row(
            "SELECT id FROM projects WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL",
            args![project_id, org],
        )
        .await?
        .is_some())
}

/// A CU top-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUp {
    /// `top_…`.
    pub id: String,
    pub organization_id: String,
    pub reference: String,
    pub cu: i64,
    pub note: Option<String>,
    pub key_id: String,
    pub created_at: Millis,
}

fn top_up_of(r: &Row) -> Result<TopUp> {
    Ok(TopUp {
        id: r.text("id")?,
        organization_id: r.text("organization_id")?,
        reference: r.text("reference")?,
        cu: r.int("cu")?,
        note: r.opt_text("note")?,
        key_id: r.text("key_id")?,
        created_at: r.int("created_at")?,
    })
}

/// Records a top-up unless the organization already has one with this reference; returns
/// whether it was inserted (the stored one is then read with [`top_up_by_reference`]).
pub async fn insert_top_up(db: Db<'_>, t: &TopUp) -> Result<bool> {
    let mut db = db.0;
    let n = db
        .run(
            "INSERT INTO cu_top_ups (id, organization_id, reference, cu, note, key_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) \
             ON CONFLICT (organization_id, reference) DO NOTHING",
            args![&t.id, &t.organization_id, &t.reference, t.cu, t.note.clone(), &t.key_id, t.created_at],
        )
        .await?;
    Ok(n > 0)
}

pub async fn top_up_by_reference(db: Db<'_>, org: &str, reference: &str) -> Result<Option<TopUp>> {
    let mut db = db.0;
    db.row(
        "SELECT id, organization_id, reference, cu, note, key_id, created_at FROM cu_top_ups WHERE organization_id = $1 AND reference = $2",
        args![org, reference],
    )
    .await?
    .as_ref()
    .map(top_up_of)
    .transpose()
}

/// Total CU of the top-ups recorded in `[from, to)`.
pub async fn top_ups_total(db: Db<'_>, org: &str, from: Millis, to: Millis) -> Result<i64> {
    let mut db = db.0;
    match db
        .row(
            "SELECT CAST(COALESCE(SUM(cu), 0) AS BIGINT) AS total_cu FROM cu_top_ups WHERE organization_id = $1 AND created_at >= $2 AND created_at < $3",
            args![org, from, to],
        )
        .await?
    {
        Some(r) => Ok(r.opt_int("total_cu")?.unwrap_or(0)),
        None => Ok(0),
    }
}

/// An organization's plan row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanRow {
    pub organization_id: String,
    /// `None` = the deployment's default tier.
    pub tier_id: Option<String>,
    pub pending_tier_id: Option<String>,
    /// Start of the period the row was last written in.
    pub period_start: Millis,
    /// The CU allotment of that period after prorated changes (`None`: the tier's full one).
    pub period_allotment: Option<i64>,
    /// What the last change charged (negative: credited), in minor units.
    pub charged_minor: Option<i64>,
    pub alert_threshold: Option<i64>,
    pub updated_at: Millis,
}

pub async fn get_plan(db: Db<'_>, org: &str) -> Result<Option<PlanRow>> {
    let mut db = db.0;
    let row = db
        .row(
            "SELECT organization_id, tier_id, pending_tier_id, period_start, period_allotment, charged_minor, alert_threshold, updated_at FROM org_plans WHERE organization_id = $1",
            args![org],
        )
        .await?;
    row.map(|r| {
        Ok(PlanRow {
            organization_id: r.text("organization_id")?,
            tier_id: r.opt_text("tier_id")?,
            pending_tier_id: r.opt_text("pending_tier_id")?,
            period_start: r.int("period_start")?,
            period_allotment: r.opt_int("period_allotment")?,
            charged_minor: r.opt_int("charged_minor")?,
            alert_threshold: r.opt_int("alert_threshold")?,
            updated_at: r.int("updated_at")?,
        })
    })
    .transpose()
}

/// Writes the whole plan row (insert or replace).
pub async fn put_plan(db: Db<'_>, p: &PlanRow) -> Result<()> {
    let mut db = db.0;
    db.run(
        "INSERT INTO org_plans (organization_id, tier_id, pending_tier_id, period_start, period_allotment, charged_minor, alert_threshold, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (organization_id) DO UPDATE SET tier_id = excluded.tier_id, \
         pending_tier_id = excluded.pending_tier_id, period_start = excluded.period_start, period_allotment = excluded.period_allotment, \
         charged_minor = excluded.charged_minor, alert_threshold = excluded.alert_threshold, updated_at = excluded.updated_at",
        args![
            &p.organization_id,
            p.tier_id.clone(),
            p.pending_tier_id.clone(),
            p.period_start,
            p.period_allotment,
            p.charged_minor,
            p.alert_threshold,
            p.updated_at
        ],
    )
    .await?;
    Ok(())
}

/// The statements behind the balance, usage and run-list endpoints and the ingestion's
/// read-back of known runs, with sample arguments inlined as SQL literals, for `EXPLAIN` in the
/// benchmark: `(name, SQL)`.
pub fn explain_statements(
    org: &str,
    day: i64,
    after: (Millis, i64),
    known_run_ids: &[&str],
) -> Vec<(&'static str, String)> {
    let render = |(sql, a): (String, Vec<Arg>)| -> String {
        // Highest index first so `$1` does not clobber `$10`.
        let mut s = sql;
        for (i, v) in a.iter().enumerate().rev() {
            let lit = match v {
                Arg::Text(Some(t)) => format!("'{}'", t.replace('\'', "''")),
                Arg::Int(Some(n)) => n.to_string(),
                _ => "NULL".to_string(),
            };
            s = s.replace(&format!("${}", i + 1), &lit);
        }
        s
    };
    let filter = RunFilter::default();
    let wf = RunFilter {
        workflow_id: Some("wf-001".into()),
        ..RunFilter::default()
    };
    vec![
        (
            "balance: used CU this period",
            render(used_sql(org, day - 30, day + 1)),
        ),
        (
            "usage per day (366 days)",
            render(daily_usage_sql(org, None, day - 365, day)),
        ),
        (
            "usage by workflow (366 days)",
            render(by_workflow_sql(org, None, day - 365, day, 0, 101)),
        ),
        (
            "runs, first page",
            render(list_runs_sql(org, &filter, None, 21)),
        ),
        (
            "runs, after a cursor",
            render(list_runs_sql(org, &filter, Some(after), 21)),
        ),
        (
            "ingestion: known runs read back",
            render(get_runs_sql(org, known_run_ids)),
        ),
        (
            "runs of one workflow",
            render(list_runs_sql(org, &wf, None, 21)),
        ),
    ]
}
