//! `/v1` routes: usage metering in compute units and plans (docs/design/management-api.md §2,
//! §2.2, §8) — `…/cu`, `…/cu/runs`, `…/cu/usage`, `…/cu/usage-by-workflow`, `…/cu/top-ups`,
//! `/v1/tiers`, `…/plan-options`, `…/plan`. Handlers parse, call one `App` use case and wrap
//! its answer.

use super::schema::{array, boolean, integer, nullable, object, one_of, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};

/// Largest `cu_cost` of a run and `cu` of a top-up (the use cases enforce it).
const MAX_CU: i64 = 1_000_000_000_000;

const CU: &str = "/v1/organizations/{org_id}/cu";
const RUNS: &str = "/v1/organizations/{org_id}/cu/runs";
const USAGE: &str = "/v1/organizations/{org_id}/cu/usage";
const BY_WORKFLOW: &str = "/v1/organizations/{org_id}/cu/usage-by-workflow";
const TOP_UPS: &str = "/v1/organizations/{org_id}/cu/top-ups";
const TIERS: &str = "/v1/tiers";
const PLAN_OPTIONS: &str = "/v1/organizations/{org_id}/plan-options";
const PLAN: &str = "/v1/organizations/{org_id}/plan";

pub(super) static ROUTES: &[V1Route] = &[
    route!(GET, CU, "usage:read", false, "The CU balance of the current period: allotment + top-ups − usage (may be negative)", None, balance_schema, 200, false),
    route!(PATCH, CU, "usage:manage", false, "Sets (or clears with null) the balance alert threshold", Some(patch_schema), balance_schema, 200, false),
    route!(POST, RUNS, "usage:write", false, "Records 1…1000 workflow runs, idempotently on run_id; a run id known with other content is 409 run_conflict and nothing is recorded", Some(ingest_schema), ingested_schema, 200, false),
    route!(GET, RUNS, "usage:read", false, "Recorded runs, newest finished_at first; filters from, to (RFC 3339 or YYYY-MM-DD), workflow_id, project_id", None, run_schema, 200, true),
    route!(GET, USAGE, "usage:read", false, "CU and runs per UTC day from `from` to `to` (YYYY-MM-DD, inclusive, at most 366 days), days without usage included", None, day_schema, 200, true),
    route!(GET, BY_WORKFLOW, "usage:read", false, "CU and runs per workflow from `from` to `to` (YYYY-MM-DD), most CU first", None, workflow_schema, 200, true),
    route!(POST, TOP_UPS, "usage:manage", false, "Adds CU to the current period; idempotent on reference (a replay answers 200 with the same top-up)", Some(top_up_request_schema), top_up_schema, 201, false),
    route!(GET, TIERS, "usage:read", true, "The deployment's plan tiers (monthly CU allotment and price)", None, tier_schema, 200, true),
    route!(GET, PLAN_OPTIONS, "usage:read", false, "Every tier the organization can switch to now, with the prorated price for the rest of the period", None, option_schema, 200, true),
    route!(PUT, PLAN, "usage:manage", false, "Switches the organization's tier now, charging or crediting the prorated difference", Some(plan_request_schema), plan_schema, 200, false),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(CU, get(balance).patch(set_alert))
        .route(RUNS, post(ingest).get(list_runs))
        .route(USAGE, get(usage))
        .route(BY_WORKFLOW, get(usage_by_workflow))
        .route(TOP_UPS, post(top_up))
        .route(TIERS, get(tiers))
        .route(PLAN_OPTIONS, get(plan_options))
        .route(PLAN, put(change_plan))
}

/// `schema` with extra JSON Schema keywords.
fn with(mut schema: Value, extra: Value) -> Value {
    if let (Some(s), Value::Object(e)) = (schema.as_object_mut(), extra) {
        s.extend(e);
    }
    schema
}

fn balance_schema() -> Value {
    let fields = [
        ("object", one_of(&["cu_balance"])),
        ("organization_id", string()),
        ("tier_id", string()),
        ("period_start", timestamp()),
        ("period_end", timestamp()),
        ("allotment", integer()),
        ("top_ups", integer()),
        ("used", integer()),
        ("balance", integer()),
        ("alert_threshold", nullable(integer())),
        ("below_threshold", boolean()),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    object(&names, &fields)
}

fn patch_schema() -> Value {
    object(
        &["alert_threshold"],
        &[(
            "alert_threshold",
            nullable(with(integer(), json!({"minimum": 0}))),
        )],
    )
}

fn ingest_schema() -> Value {
    let id = || with(string(), json!({"minLength": 1, "maxLength": 128}));
    let run = object(
        &[
            "run_id",
            "workflow_id",
            "cu_cost",
            "started_at",
            "finished_at",
        ],
        &[
            ("run_id", id()),
            ("workflow_id", id()),
            (
                "workflow_name",
                with(string(), json!({"minLength": 1, "maxLength": 256})),
            ),
            (
                "cu_cost",
                with(integer(), json!({"minimum": 0, "maximum": MAX_CU})),
            ),
            ("started_at", timestamp()),
            ("finished_at", timestamp()),
            ("project_id", id()),
        ],
    );
    object(
        &["runs"],
        &[(
            "runs",
            with(array(run), json!({"minItems": 1, "maxItems": 1000})),
        )],
    )
}

fn ingested_schema() -> Value {
    array(object(
        &["run_id", "status"],
        &[
            ("run_id", string()),
            ("status", one_of(&["created", "duplicate"])),
        ],
    ))
}

fn run_schema() -> Value {
    let fields = [
        ("object", one_of(&["cu_run"])),
        ("run_id", string()),
        ("project_id", nullable(string())),
        ("workflow_id", string()),
        ("workflow_name", nullable(string())),
        ("cu_cost", integer()),
        ("started_at", timestamp()),
        ("finished_at", timestamp()),
        ("created_at", timestamp()),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    object(&names, &fields)
}

fn day_schema() -> Value {
    object(
        &["date", "cu", "runs"],
        &[
            ("date", json!({"type": "string", "format": "date"})),
            ("cu", integer()),
            ("runs", integer()),
        ],
    )
}

fn workflow_schema() -> Value {
    object(
        &["workflow_id", "workflow_name", "cu", "runs"],
        &[
            ("workflow_id", string()),
            ("workflow_name", nullable(string())),
            ("cu", integer()),
            ("runs", integer()),
        ],
    )
}

fn top_up_request_schema() -> Value {
    object(
        &["cu", "reference"],
        &[
            (
                "cu",
                with(integer(), json!({"minimum": 1, "maximum": MAX_CU})),
            ),
            (
                "reference",
                with(string(), json!({"minLength": 1, "maxLength": 128})),
            ),
            ("note", with(string(), json!({"maxLength": 1000}))),
        ],
    )
}

fn top_up_schema() -> Value {
    let fields = [
        ("id", string()),
        ("object", one_of(&["cu_top_up"])),
        ("organization_id", string()),
        ("cu", integer()),
        ("reference", string()),
        ("note", nullable(string())),
        ("created_at", timestamp()),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    object(&names, &fields)
}

fn tier_schema() -> Value {
    let fields = [
        ("id", string()),
        ("object", one_of(&["tier"])),
        ("name", string()),
        ("cu_allotment", integer()),
        ("price_minor", integer()),
        ("currency", string()),
        ("period", one_of(&["month"])),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    object(&names, &fields)
}

fn option_schema() -> Value {
    let fields = [
        ("object", one_of(&["plan_option"])),
        ("from_tier_id", string()),
        ("to_tier_id", string()),
        ("kind", one_of(&["upgrade", "downgrade", "lateral"])),
        ("effective_at", timestamp()),
        ("prorated_price_minor", integer()),
        ("full_price_minor", integer()),
        ("currency", string()),
        ("period_start", timestamp()),
        ("period_end", timestamp()),
        ("period_allotment", integer()),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    object(&names, &fields)
}

fn plan_request_schema() -> Value {
    object(&["tier_id"], &[("tier_id", string())])
}

fn plan_schema() -> Value {
    let fields = [
        ("object", one_of(&["plan"])),
        ("organization_id", string()),
        ("tier_id", string()),
        ("pending_tier_id", nullable(string())),
        ("period_start", timestamp()),
        ("period_end", timestamp()),
        ("period_allotment", integer()),
        ("charged_minor", integer()),
        ("currency", string()),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    object(&names, &fields)
}

async fn balance(caller: Caller, State(s): State<AppState>, Path(org): Path<String>) -> Response {
    let r = async { Reply::ok(s.app.v1_cu_balance(caller.p()?, &org).await?) }.await;
    caller.reply(r)
}

async fn set_alert(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    b: Bytes,
) -> Response {
    let r = async { Reply::ok(s.app.v1_set_cu_alert(caller.p()?, &org, body(&b)?).await?) }.await;
    caller.reply(r)
}

async fn ingest(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    b: Bytes,
) -> Response {
    let r = async { Reply::ok(s.app.v1_ingest_runs(caller.p()?, &org, body(&b)?).await?) }.await;
    caller.reply(r)
}

async fn list_runs(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    let r = async {
        let (limit, page) = s.app.v1_list_cu_runs(caller.p()?, &org, &q).await?;
        Reply::list(limit, page)
    }
    .await;
    caller.reply(r)
}

async fn usage(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    let r = async {
        let (limit, page) = s.app.v1_cu_usage(caller.p()?, &org, &q).await?;
        Reply::list(limit, page)
    }
    .await;
    caller.reply(r)
}

async fn usage_by_workflow(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    let r = async {
        let (limit, page) = s.app.v1_cu_usage_by_workflow(caller.p()?, &org, &q).await?;
        Reply::list(limit, page)
    }
    .await;
    caller.reply(r)
}

async fn top_up(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    b: Bytes,
) -> Response {
    let r = async {
        let (data, created) = s.app.v1_top_up(caller.p()?, &org, body(&b)?).await?;
        let mut reply = Reply::created(data)?;
        if !created {
            reply.status = StatusCode::OK;
        }
        Ok(reply)
    }
    .await;
    caller.reply(r)
}

async fn tiers(caller: Caller, State(s): State<AppState>, q: Query) -> Response {
    let r = async {
        let (limit, page) = s.app.v1_tiers(&q)?;
        Reply::list(limit, page)
    }
    .await;
    caller.reply(r)
}

async fn plan_options(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    q: Query,
) -> Response {
    let r = async {
        let (limit, page) = s.app.v1_plan_options(caller.p()?, &org, &q).await?;
        Reply::list(limit, page)
    }
    .await;
    caller.reply(r)
}

async fn change_plan(
    caller: Caller,
    State(s): State<AppState>,
    Path(org): Path<String>,
    b: Bytes,
) -> Response {
    let r = async { Reply::ok(s.app.v1_change_plan(caller.p()?, &org, body(&b)?).await?) }.await;
    caller.reply(r)
}
