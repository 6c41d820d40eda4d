//! `/v1` use cases: usage metering in compute units (CU) and plans
//! (docs/design/management-api.md §2, §2.2 "CU"/"Plans", §8 "CU at 1 M runs per org").
//!
//! * Ingestion is idempotent on `(organization, run_id)`: one multi-row insert that skips known
//!   ids, then the skipped ones are read back and compared (equal → `duplicate`, different →
//!   409 `run_conflict`, the whole batch rolled back). Only the runs actually inserted are
//!   summed per (UTC day of `finished_at`, project, workflow) and added to `cu_daily` in the
//!   same transaction, so the rollup equals the raw sum by construction.
//! * Balance, usage and usage-by-workflow read only `cu_daily`; the run list is a keyset scan.
//! * A project-scoped key ingests and reads only its project's runs and usage; the balance,
//!   threshold, top-ups and plans are organization-level (403 `project_scope`).
//! * Answers are built here as JSON (the server wraps them in the envelope).

mod plan;

pub use plan::{Tier, TierSettings};

use super::{invalid, rfc3339, Access, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq};
use crate::App;
use plan::{day_of, format_date, month_period, parse_date, DAY_MS};
use quorate_domain::Millis;
use quorate_store::mgmt::usage as store;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

type QueryMap = HashMap<String, String>;

/// Most runs per ingestion request.
pub const MAX_BATCH: usize = 1000;
/// Largest `cu_cost` of one run (keeps every sum far inside `i64`).
pub const MAX_RUN_CU: i64 = 1_000_000_000_000;
/// How far in the future a run may finish (client clock skew).
const FUTURE_SLACK_MS: Millis = 3_600_000;
/// Longest usage range, in days.
const MAX_DAYS: i64 = 366;

/// `POST …/cu/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBatch {
    pub runs: Vec<RunIn>,
}

/// One reported run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunIn {
    pub run_id: String,
    pub workflow_id: String,
    #[serde(default)]
    pub workflow_name: Option<String>,
    pub cu_cost: i64,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339; the run is charged on this instant's UTC day.
    pub finished_at: String,
    #[serde(default)]
    pub project_id: Option<String>,
}

/// `PATCH …/cu`: `alert_threshold` (required; `null` clears it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CuPatch {
    #[serde(default, deserialize_with = "present")]
    pub alert_threshold: Option<Option<i64>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `POST …/cu/top-ups`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTopUp {
    pub cu: i64,
    /// The caller's idempotency reference (an invoice or payment id).
    pub reference: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// `PUT …/plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    pub tier_id: String,
}

fn project_scope(msg: &str) -> MgmtError {
    MgmtError::new("project_scope", msg)
}

/// A short text field: 1…`max` characters, no control characters.
fn text(field: &str, v: &str, max: usize) -> MgmtResult<()> {
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("must be 1 to {max} characters without control characters"),
        ));
    }
    Ok(())
}

/// An RFC 3339 instant with any UTC offset, in ms since the epoch.
fn instant(field: &str, s: &str) -> MgmtResult<Millis> {
    let b = s.as_bytes();
    let n = b.len();
    let mut offset_min: i64 = 0;
    let mut base = std::borrow::Cow::Borrowed(s);
    if n > 6 && (b[n - 6] == b'+' || b[n - 6] == b'-') && b[n - 3] == b':' {
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
        };
        match (digits(n - 5..n - 3), digits(n - 2..n)) {
            (Some(h), Some(m)) if h <= 23 && m <= 59 => {
                offset_min = (h * 60 + m) * if b[n - 6] == b'-' { -1 } else { 1 };
                base = std::borrow::Cow::Owned(format!("{}Z", &s[..n - 6]));
            }
            _ => return Err(invalid(field, "not an RFC 3339 time")),
        }
    }
    let ts = quorate_policy::Timestamp::parse_rfc3339(&base).map_err(|e| invalid(field, e))?;
    Ok(
        ts.unix_secs().saturating_mul(1000) + i64::from(ts.subsec_nanos() / 1_000_000)
            - offset_min * 60_000,
    )
}

/// A query bound: RFC 3339, or `YYYY-MM-DD` (midnight UTC).
fn bound(q: &QueryMap, field: &str) -> MgmtResult<Option<Millis>> {
    q.get(field)
        .map(|v| match parse_date(v) {
            Some(day) => Ok(day * DAY_MS),
            None => instant(field, v),
        })
        .transpose()
}

/// A required `YYYY-MM-DD` query parameter as a day number.
fn date_param(q: &QueryMap, field: &str) -> MgmtResult<i64> {
    let v = q
        .get(field)
        .ok_or_else(|| invalid(field, "required (YYYY-MM-DD, UTC)"))?;
    parse_date(v).ok_or_else(|| invalid(field, format!("`{v}` is not a date like 2025-01-31")))
}

/// `from`/`to` of the usage endpoints: inclusive days, at most 366 of them.
fn day_range(q: &QueryMap) -> MgmtResult<(i64, i64)> {
    let from = date_param(q, "from")?;
    let to = date_param(q, "to")?;
    if to < from {
        return Err(invalid("to", "must not be before `from`"));
    }
    if to - from + 1 > MAX_DAYS {
        return Err(invalid(
            "to",
            format!("the range may span at most {MAX_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// The project a read is restricted to: a project key's own (asking for another is 403), or
/// the optional `project_id` filter of an organization-level key.
fn read_project(p: &BearerPrincipal, q: &QueryMap) -> MgmtResult<Option<String>> {
    let asked = q.get("project_id");
    if let Some(a) = asked {
        text("project_id", a, 128)?;
    }
    match (&p.key.project_id, asked) {
        (Some(mine), Some(a)) if a != mine => Err(project_scope(
            "a project-scoped key reads its own project's usage only",
        )),
        (Some(mine), _) => Ok(Some(mine.clone())),
        (None, a) => Ok(a.cloned()),
    }
}

/// An offset cursor of an aggregate list.
fn offset_of(page: &PageReq) -> MgmtResult<u64> {
    page.after
        .as_deref()
        .map(|a| {
            a.parse::<u64>()
                .map_err(|_| invalid("cursor", "not a cursor of this list"))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// One page of an in-memory list.
fn page_of(items: Vec<Value>, page: &PageReq) -> MgmtResult<PageOut<Value>> {
    let offset = offset_of(page)?;
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(items.len());
    let end = start.saturating_add(page.limit as usize).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok(PageOut {
        items: items.into_iter().skip(start).take(end - start).collect(),
        next,
    })
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// An organization's plan as of now: the row (if any), its tier, the period and its allotment.
struct PlanState {
    row: Option<store::PlanRow>,
    tier: Tier,
    period: (Millis, Millis),
    allotment: i64,
}

fn plan_state(
    tiers: &TierSettings,
    row: Option<store::PlanRow>,
    now: Millis,
) -> MgmtResult<PlanState> {
    let default = tiers
        .default_tier()
        .ok_or_else(|| MgmtError::new("internal", "no tiers are configured"))?;
    // A tier no longer configured falls back to the default tier.
    let tier = row
        .as_ref()
        .and_then(|r| r.tier_id.as_deref())
        .and_then(|id| tiers.find(id))
        .unwrap_or(default)
        .clone();
    let period = month_period(now);
    let allotment = row
        .as_ref()
        .filter(|r| r.period_start == period.0)
        .and_then(|r| r.period_allotment)
        .unwrap_or(tier.cu_allotment);
    Ok(PlanState {
        row,
        tier,
        period,
        allotment,
    })
}

fn tier_json(t: &Tier) -> Value {
    json!({
        "id": t.id,
        "object": "tier",
        "name": t.name,
        "cu_allotment": t.cu_allotment,
        "price_minor": t.price_minor,
        "currency": t.currency,
        "period": "month",
    })
}

fn run_json(r: &store::Run) -> Value {
    json!({
        "object": "cu_run",
        "run_id": r.run_id,
        "project_id": if r.project_id.is_empty() { None } else { Some(&r.project_id) },
        "workflow_id": r.workflow_id,
        "workflow_name": r.workflow_name,
        "cu_cost": r.cu,
        "started_at": rfc3339(r.started_at),
        "finished_at": rfc3339(r.finished_at),
        "created_at": rfc3339(r.created_at),
    })
}

fn top_up_json(t: &store::TopUp) -> Value {
    json!({
        "id": t.id,
        "object": "cu_top_up",
        "organization_id": t.organization_id,
        "cu": t.cu,
        "reference": t.reference,
        "note": t.note,
        "created_at": rfc3339(t.created_at),
    })
}

/// Whether a stored run is the one reported again.
fn same_run(stored: &store::Run, new: &store::Run) -> bool {
    stored.project_id == new.project_id
        && stored.workflow_id == new.workflow_id
        && stored.workflow_name == new.workflow_name
        && stored.cu == new.cu
        && stored.started_at == new.started_at
        && stored.finished_at == new.finished_at
}

impl App {
    /// The deployment's tiers (the built-in defaults unless a tiers file was loaded).
    fn tiers(&self) -> Arc<TierSettings> {
        self.setting::<TierSettings>()
            .unwrap_or_else(|| Arc::new(TierSettings::defaults()))
    }

    /// Loads the deployment's tiers from a tiers file's text (`--tiers-file`); see
    /// [`TierSettings::from_json`].
    pub fn v1_load_tiers(&self, json: &str) -> Result<(), String> {
        self.set_setting(TierSettings::from_json(json)?);
        Ok(())
    }

    /// Verification (benchmarks, operators): `(SUM(cu), COUNT(*))` over an organization's raw
    /// `cu_runs` and `(SUM(cu), SUM(runs))` over its `cu_daily` rollup — always equal.
    pub async fn v1_cu_totals(&self, org: &str) -> MgmtResult<((i64, i64), (i64, i64))> {
        let mut reader = self.store.reader().await?;
        let raw = store::raw_total(reader.db_handle()?, org).await?;
        let rollup = store::rollup_total(reader.db_handle()?, org).await?;
        Ok((raw, rollup))
    }

    /// The statements behind the balance, usage and run-list endpoints and the ingestion's
    /// read-back of `known` runs, with sample arguments (for `EXPLAIN` in the benchmark):
    /// `(name, SQL)`.
    pub fn v1_cu_statements(
        &self,
        org: &str,
        day: i64,
        after: (Millis, i64),
        known: &[&str],
    ) -> Vec<(&'static str, String)> {
        store::explain_statements(org, day, after, known)
    }

    /// `POST …/cu/runs` (`usage:write`): records up to 1,000 runs, idempotently; answers `{run_id,
    /// status: created | duplicate}` per run, in request order.
    pub async fn v1_ingest_runs(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        batch: RunBatch,
    ) -> MgmtResult<Vec<Value>> {
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let org = t.org.id.as_str();
        if batch.runs.is_empty() || batch.runs.len() > MAX_BATCH {
            return Err(invalid("runs", format!("must hold 1 to {MAX_BATCH} runs")));
        }
        let now = self.clock.now_ms();
        let mut runs = Vec::with_capacity(batch.runs.len());
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(batch.runs.len());
        let mut projects: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, r) in batch.runs.iter().enumerate() {
            let f = |name: &str| format!("runs[{i}].{name}");
            text(&f("run_id"), &r.run_id, 128)?;
            if let Some(j) = seen.insert(r.run_id.as_str(), i) {
                return Err(invalid(
                    &f("run_id"),
                    format!("repeats runs[{j}].run_id in the same batch"),
                ));
            }
            text(&f("workflow_id"), &r.workflow_id, 128)?;
            if let Some(name) = &r.workflow_name {
                text(&f("workflow_name"), name, 256)?;
            }
            if !(0..=MAX_RUN_CU).contains(&r.cu_cost) {
                return Err(invalid(
                    &f("cu_cost"),
                    format!("must be an integer from 0 to {MAX_RUN_CU}"),
                ));
            }
            let started_at = instant(&f("started_at"), &r.started_at)?;
            let finished_at = instant(&f("finished_at"), &r.finished_at)?;
            if finished_at < started_at {
                return Err(invalid(
                    &f("finished_at"),
                    "must not be before `started_at`",
                ));
            }
            if finished_at > now + FUTURE_SLACK_MS {
                return Err(invalid(
                    &f("finished_at"),
                    "must not be more than an hour in the future",
                ));
            }
            let project_id = match (&p.key.project_id, &r.project_id) {
                (Some(mine), Some(asked)) if asked != mine => {
                    return Err(project_scope(&format!(
                        "`{}`: a project-scoped key records runs of its own project only",
                        f("project_id")
                    )))
                }
                (Some(mine), _) => mine.clone(),
                (None, Some(asked)) => {
                    text(&f("project_id"), asked, 128)?;
                    projects.entry(asked.as_str()).or_insert(i);
                    asked.clone()
                }
                (None, None) => String::new(),
            };
            runs.push(store::Run {
                run_id: r.run_id.clone(),
                project_id,
                workflow_id: r.workflow_id.clone(),
                workflow_name: r.workflow_name.clone(),
                cu: r.cu_cost,
                started_at,
                finished_at,
                day: day_of(finished_at),
                created_at: now,
            });
        }
        if !projects.is_empty() {
            let mut reader = self.store.reader().await?;
            for (project, i) in &projects {
                if !store::project_is_live(reader.db_handle()?, org, project).await? {
                    return Err(invalid(
                        &format!("runs[{i}].project_id"),
                        format!("no live project `{project}` in this organization"),
                    ));
                }
            }
        }
        // Sorted by id: concurrent batches take index locks in one order.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| runs[a].run_id.cmp(&runs[b].run_id));
        let sorted: Vec<store::Run> = order.iter().map(|&i| runs[i].clone()).collect();

        let mut tx = self.store.begin_batch().await?;
        let inserted = store::insert_runs(tx.db_handle()?, org, &p.key.id, &sorted).await?;
        if inserted.len() < runs.len() {
            let known: Vec<&str> = runs
                .iter()
                .filter(|r| !inserted.contains(&r.run_id))
                .map(|r| r.run_id.as_str())
                .collect();
            let stored: HashMap<String, store::Run> = store::get_runs(tx.db_handle()?, org, &known)
                .await?
                .into_iter()
                .map(|r| (r.run_id.clone(), r))
                .collect();
            for (i, r) in runs.iter().enumerate() {
                if inserted.contains(&r.run_id) {
                    continue;
                }
                match stored.get(&r.run_id) {
                    Some(s) if same_run(s, r) => {}
                    _ => {
                        return Err(MgmtError::new(
                            "run_conflict",
                            format!(
                                "`runs[{i}].run_id`: run `{}` was already recorded with different content; the batch was not recorded",
                                r.run_id
                            ),
                        ))
                    }
                }
            }
        }
        let mut daily: BTreeMap<(i64, &str, &str), (i64, i64)> = BTreeMap::new();
        let mut workflows: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for r in runs.iter().filter(|r| inserted.contains(&r.run_id)) {
            let e = daily
                .entry((r.day, r.project_id.as_str(), r.workflow_id.as_str()))
                .or_default();
            e.0 += r.cu;
            e.1 += 1;
            let name = workflows.entry(r.workflow_id.as_str()).or_default();
            if r.workflow_name.is_some() {
                *name = r.workflow_name.as_deref();
            }
        }
        if !daily.is_empty() {
            let rows: Vec<store::Daily> = daily
                .into_iter()
                .map(|((day, project, workflow), (cu, runs))| store::Daily {
                    day,
                    project_id: project.to_string(),
                    workflow_id: workflow.to_string(),
                    cu,
                    runs,
                })
                .collect();
            store::add_daily(tx.db_handle()?, org, &rows).await?;
            let names: Vec<(String, Option<String>)> = workflows
                .into_iter()
                .map(|(id, name)| (id.to_string(), name.map(str::to_string)))
                .collect();
            store::upsert_workflows(tx.db_handle()?, org, &names, now).await?;
        }
        tx.commit().await?;
        Ok(runs
            .iter()
            .map(|r| {
                let status = if inserted.contains(&r.run_id) {
                    "created"
                } else {
                    "duplicate"
                };
                json!({"run_id": r.run_id, "status": status})
            })
            .collect())
    }

    /// The balance of the current period (`cu_balance`).
    async fn cu_balance(&self, org: &str, state: &PlanState) -> MgmtResult<Value> {
        let (start, end) = state.period;
        let mut reader = self.store.reader().await?;
        let used = store::used(reader.db_handle()?, org, day_of(start), day_of(end)).await?;
        let top_ups = store::top_ups_total(reader.db_handle()?, org, start, end).await?;
        let balance = clamp(i128::from(state.allotment) + i128::from(top_ups) - i128::from(used));
        let threshold = state.row.as_ref().and_then(|r| r.alert_threshold);
        Ok(json!({
            "object": "cu_balance",
            "organization_id": org,
            "tier_id": state.tier.id,
            "period_start": rfc3339(start),
            "period_end": rfc3339(end),
            "allotment": state.allotment,
            "top_ups": top_ups,
            "used": used,
            "balance": balance,
            "alert_threshold": threshold,
            "below_threshold": threshold.is_some_and(|t| balance < t),
        }))
    }

    async fn plan_row(&self, org: &str) -> MgmtResult<Option<store::PlanRow>> {
        let mut reader = self.store.reader().await?;
        let row = store::get_plan(reader.db_handle()?, org).await?;
        Ok(row)
    }

    /// `GET …/cu` (`usage:read`, organization level): allotment + top-ups − usage of the
    /// current period (may be negative), and the alert threshold.
    pub async fn v1_cu_balance(&self, p: &BearerPrincipal, org_id: &str) -> MgmtResult<Value> {
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        p.org_level()?;
        let row = self.plan_row(&t.org.id).await?;
        let state = plan_state(&self.tiers(), row, self.clock.now_ms())?;
        self.cu_balance(&t.org.id, &state).await
    }

    /// `PATCH …/cu` (`usage:manage`, organization level): sets or clears `alert_threshold`.
    pub async fn v1_set_cu_alert(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        patch: CuPatch,
    ) -> MgmtResult<Value> {
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        p.org_level()?;
        let threshold = patch
            .alert_threshold
            .ok_or_else(|| invalid("alert_threshold", "required (an integer ≥ 0, or null)"))?;
        if threshold.is_some_and(|v| v < 0) {
            return Err(invalid("alert_threshold", "must be ≥ 0 (or null)"));
        }
        let org = t.org.id.as_str();
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(org).await?;
        let row = store::get_plan(tx.db_handle()?, org).await?;
        let mut new = row.clone().unwrap_or_else(|| store::PlanRow {
            organization_id: org.to_string(),
            period_start: month_period(now).0,
            ..store::PlanRow::default()
        });
        new.alert_threshold = threshold;
        new.updated_at = now;
        store::put_plan(tx.db_handle()?, &new).await?;
        tx.commit().await?;
        let state = plan_state(&self.tiers(), Some(new), now)?;
        self.cu_balance(org, &state).await
    }

    /// `GET …/cu/runs` (`usage:read`): newest `finished_at` first; filters `from`, `to`
    /// (RFC 3339 or `YYYY-MM-DD`; `from` ≤ finished_at < `to`), `workflow_id`, `project_id`.
    pub async fn v1_list_cu_runs(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        q: &QueryMap,
    ) -> MgmtResult<(u32, PageOut<Value>)> {
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let page = PageReq::from_query(q)?;
        let project_id = read_project(p, q)?;
        let from = bound(q, "from")?;
        let to = bound(q, "to")?;
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err(invalid("to", "must be after `from`"));
            }
        }
        let workflow_id = q.get("workflow_id").cloned();
        if let Some(w) = &workflow_id {
            text("workflow_id", w, 128)?;
        }
        let after = page
            .after
            .as_deref()
            .map(|a| {
                a.split_once(':')
                    .and_then(|(t, n)| Some((t.parse::<i64>().ok()?, n.parse::<i64>().ok()?)))
                    .ok_or_else(|| invalid("cursor", "not a cursor of this list"))
            })
            .transpose()?;
        let filter = store::RunFilter {
            project_id,
            workflow_id,
            from,
            to,
        };
        let mut reader = self.store.reader().await?;
        let rows = store::list_runs(
            reader.db_handle()?,
            &t.org.id,
            &filter,
            after,
            page.limit + 1,
        )
        .await?;
        let out = PageOut::from_rows(rows, page.limit, |(n, r)| format!("{}:{n}", r.finished_at));
        Ok((page.limit, out.map(|(_, r)| run_json(&r))))
    }

    /// `GET …/cu/usage` (`usage:read`): `{date, cu, runs}` for every day of `from..=to`
    /// (`YYYY-MM-DD`, UTC, ≤ 366 days), zeros included; paged by days.
    pub async fn v1_cu_usage(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        q: &QueryMap,
    ) -> MgmtResult<(u32, PageOut<Value>)> {
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let page = PageReq::from_query(q)?;
        let project_id = read_project(p, q)?;
        let (from, to) = day_range(q)?;
        let offset = i64::try_from(offset_of(&page)?).unwrap_or(i64::MAX);
        let start = from.saturating_add(offset);
        if start > to {
            return Ok((
                page.limit,
                PageOut {
                    items: Vec::new(),
                    next: None,
                },
            ));
        }
        let end = to.min(start + i64::from(page.limit) - 1);
        let mut reader = self.store.reader().await?;
        let rows = store::daily_usage(
            reader.db_handle()?,
            &t.org.id,
            project_id.as_deref(),
            start,
            end,
        )
        .await?;
        let by_day: HashMap<i64, (i64, i64)> = rows
            .into_iter()
            .map(|(d, cu, runs)| (d, (cu, runs)))
            .collect();
        let items = (start..=end)
            .map(|d| {
                let (cu, runs) = by_day.get(&d).copied().unwrap_or((0, 0));
                json!({"date": format_date(d), "cu": cu, "runs": runs})
            })
            .collect();
        let next = (end < to).then(|| (offset + i64::from(page.limit)).to_string());
        Ok((page.limit, PageOut { items, next }))
    }

    /// `GET …/cu/usage-by-workflow` (`usage:read`): `{workflow_id, workflow_name, cu, runs}`
    /// over `from..=to`, most CU first (ties by workflow id).
    pub async fn v1_cu_usage_by_workflow(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        q: &QueryMap,
    ) -> MgmtResult<(u32, PageOut<Value>)> {
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let page = PageReq::from_query(q)?;
        let project_id = read_project(p, q)?;
        let (from, to) = day_range(q)?;
        let offset = offset_of(&page)?;
        let mut reader = self.store.reader().await?;
        let mut rows = store::usage_by_workflow(
            reader.db_handle()?,
            &t.org.id,
            project_id.as_deref(),
            from,
            to,
            offset,
            page.limit + 1,
        )
        .await?;
        let more = rows.len() > page.limit as usize;
        rows.truncate(page.limit as usize);
        let items = rows
            .iter()
            .map(|w| {
                json!({"workflow_id": w.workflow_id, "workflow_name": w.workflow_name, "cu": w.cu, "runs": w.runs})
            })
            .collect();
        let next = more.then(|| (offset + u64::from(page.limit)).to_string());
        Ok((page.limit, PageOut { items, next }))
    }

    /// `POST …/cu/top-ups` (`usage:manage`, organization level): adds CU to the current
    /// period. Idempotent on `reference`: the same top-up again answers the stored one
    /// (`false` = not created now); other content under a used reference is 409
    /// `reference_reused`.
    pub async fn v1_top_up(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        req: NewTopUp,
    ) -> MgmtResult<(Value, bool)> {
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        p.org_level()?;
        if !(1..=MAX_RUN_CU).contains(&req.cu) {
            return Err(invalid(
                "cu",
                format!("must be an integer from 1 to {MAX_RUN_CU}"),
            ));
        }
        text("reference", &req.reference, 128)?;
        if let Some(note) = &req.note {
            if note.chars().count() > 1000 {
                return Err(invalid("note", "must be at most 1000 characters"));
            }
        }
        let org = t.org.id.as_str();
        let top_up = store::TopUp {
            id: quorate_domain::id::prefixed_id("top"),
            organization_id: org.to_string(),
            reference: req.reference,
            cu: req.cu,
            note: req.note,
            key_id: p.key.id.clone(),
            created_at: self.clock.now_ms(),
        };
        let mut tx = self.store.begin_batch().await?;
        if store::insert_top_up(tx.db_handle()?, &top_up).await? {
            tx.commit().await?;
            return Ok((top_up_json(&top_up), true));
        }
        let stored = store::top_up_by_reference(tx.db_handle()?, org, &top_up.reference)
            .await?
            .ok_or_else(|| MgmtError::new("internal", "top-up vanished"))?;
        drop(tx);
        if stored.cu != top_up.cu || stored.note != top_up.note {
            return Err(MgmtError::new(
                "reference_reused",
                format!(
                    "`reference`: `{}` was already used for a different top-up",
                    top_up.reference
                ),
            ));
        }
        Ok((top_up_json(&stored), false))
    }

    /// `GET /v1/tiers` (`usage:read`, publishable keys too): the deployment's tiers.
    pub fn v1_tiers(&self, q: &QueryMap) -> MgmtResult<(u32, PageOut<Value>)> {
        let page = PageReq::from_query(q)?;
        let items = self.tiers().0.iter().map(tier_json).collect();
        Ok((page.limit, page_of(items, &page)?))
    }

    /// `GET …/plan-options` (`usage:read`, organization level): every other tier with the
    /// prorated price of switching now (see [`plan`] for the arithmetic).
    pub async fn v1_plan_options(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        q: &QueryMap,
    ) -> MgmtResult<(u32, PageOut<Value>)> {
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        p.org_level()?;
        let page = PageReq::from_query(q)?;
        let now = self.clock.now_ms();
        let tiers = self.tiers();
        let state = plan_state(&tiers, self.plan_row(&t.org.id).await?, now)?;
        let (start, end) = state.period;
        let items = tiers
            .0
            .iter()
            .filter(|to| to.id != state.tier.id)
            .map(|to| {
                let c = plan::change(&state.tier, to, state.allotment, now, state.period);
                json!({
                    "object": "plan_option",
                    "from_tier_id": state.tier.id,
                    "to_tier_id": to.id,
                    "kind": c.kind.as_str(),
                    "effective_at": rfc3339(now),
                    "prorated_price_minor": c.prorated_price_minor,
                    "full_price_minor": to.price_minor,
                    "currency": to.currency,
                    "period_start": rfc3339(start),
                    "period_end": rfc3339(end),
                    "period_allotment": c.period_allotment,
                })
            })
            .collect();
        Ok((page.limit, page_of(items, &page)?))
    }

    /// `PUT …/plan` (`usage:manage`, organization level): switches tier now, charging (or
    /// crediting) the prorated difference and moving the period's allotment by the same
    /// proration; 409 `same_tier` when already on it.
    pub async fn v1_change_plan(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        req: PlanChange,
    ) -> MgmtResult<Value> {
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        p.org_level()?;
        let tiers = self.tiers();
        let to = tiers
            .find(&req.tier_id)
            .ok_or_else(|| {
                invalid(
                    "tier_id",
                    format!("no tier `{}` (see GET /v1/tiers)", req.tier_id),
                )
            })?
            .clone();
        let org = t.org.id.as_str();
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(org).await?;
        let row = store::get_plan(tx.db_handle()?, org).await?;
        let state = plan_state(&tiers, row, now)?;
        if state.tier.id == to.id {
            return Err(MgmtError::new(
                "same_tier",
                format!("the organization is already on the tier `{}`", to.id),
            ));
        }
        let c = plan::change(&state.tier, &to, state.allotment, now, state.period);
        let new = store::PlanRow {
            organization_id: org.to_string(),
            tier_id: Some(to.id.clone()),
            pending_tier_id: None,
            period_start: state.period.0,
            period_allotment: Some(c.period_allotment),
            charged_minor: Some(c.prorated_price_minor),
            alert_threshold: state.row.as_ref().and_then(|r| r.alert_threshold),
            updated_at: now,
        };
        store::put_plan(tx.db_handle()?, &new).await?;
        tx.commit().await?;
        Ok(json!({
            "object": "plan",
            "organization_id": org,
            "tier_id": to.id,
            "pending_tier_id": null,
            "period_start": rfc3339(state.period.0),
            "period_end": rfc3339(state.period.1),
            "period_allotment": c.period_allotment,
            "charged_minor": c.prorated_price_minor,
            "currency": to.currency,
        }))
    }
}
