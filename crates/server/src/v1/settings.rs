//! `/v1` routes: organization settings — knowledge pruning and automatic token swaps
//! (docs/design/management-api.md §2).

use super::schema::{array, boolean, nullable, object};
use super::{body, Caller, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use quorate_app::mgmt::Access;
use quorate_store::mgmt::settings::{AutoSwap, KnowledgeSettings};
use serde::Deserialize;
use serde_json::{json, Value};

const KNOWLEDGE: &str = "/v1/organizations/{org_id}/knowledge-settings";
const AUTO_SWAP: &str = "/v1/organizations/{org_id}/auto-swap-settings";

pub(super) static ROUTES: &[V1Route] = &[
    route!(
        GET,
        KNOWLEDGE,
        "knowledge:read",
        "Knowledge auto-pruning settings; {enabled: false, …} until configured",
        None,
        knowledge_schema
    ),
    route!(
        PUT,
        KNOWLEDGE,
        "organizations:update",
        "Replaces the knowledge auto-pruning settings",
        Some(knowledge_put_schema),
        knowledge_schema
    ),
    route!(
        GET,
        AUTO_SWAP,
        "settings:read",
        "Automatic token swap settings; a disabled default until configured",
        None,
        auto_swap_schema
    ),
    route!(
        PUT,
        AUTO_SWAP,
        "settings:manage",
        "Replaces the automatic token swap settings (the acting user must be an owner)",
        Some(auto_swap_put_schema),
        auto_swap_schema
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(KNOWLEDGE, get(get_knowledge).put(put_knowledge))
        .route(AUTO_SWAP, get(get_auto_swap).put(put_auto_swap))
}

fn int_range(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn address() -> Value {
    json!({"type": "string", "pattern": "^0[xX][0-9a-fA-F]{40}$"})
}

fn knowledge_schema() -> Value {
    object(
        &["enabled", "max_entries", "max_age_days"],
        &[
            ("enabled", boolean()),
            ("max_entries", nullable(int_range(1, 1_000_000))),
            ("max_age_days", nullable(int_range(1, 3650))),
        ],
    )
}

fn knowledge_put_schema() -> Value {
    object(
        &["enabled"],
        &[
            ("enabled", boolean()),
            ("max_entries", nullable(int_range(1, 1_000_000))),
            ("max_age_days", nullable(int_range(1, 3650))),
        ],
    )
}

fn auto_swap_props() -> Vec<(&'static str, Value)> {
    vec![
        ("enabled", boolean()),
        (
            "chain_id",
            nullable(json!({"type": "integer", "minimum": 1})),
        ),
        ("target_token", nullable(address())),
        ("source_tokens", array(address())),
        ("slippage_bps", int_range(1, 5000)),
        (
            "min_amount",
            json!({"type": "string", "pattern": "^(0|[1-9][0-9]{0,77})$"}),
        ),
    ]
}

fn auto_swap_schema() -> Value {
    object(
        &[
            "enabled",
            "chain_id",
            "target_token",
            "source_tokens",
            "slippage_bps",
            "min_amount",
        ],
        &auto_swap_props(),
    )
}

fn auto_swap_put_schema() -> Value {
    object(&["enabled"], &auto_swap_props())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeBody {
    enabled: bool,
    #[serde(default)]
    max_entries: Option<i64>,
    #[serde(default)]
    max_age_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoSwapBody {
    enabled: bool,
    #[serde(default)]
    chain_id: Option<i64>,
    #[serde(default)]
    target_token: Option<String>,
    #[serde(default)]
    source_tokens: Option<Vec<String>>,
    #[serde(default)]
    slippage_bps: Option<i64>,
    #[serde(default)]
    min_amount: Option<String>,
}

/// `GET O/knowledge-settings`.
async fn get_knowledge(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Read).await?;
        let s = state.app.v1_knowledge_settings(p, &t).await?;
        Reply::ok(s.to_json())
    }
    .await;
    caller.reply(result)
}

/// `PUT O/knowledge-settings`: omitted limits are null (no limit).
async fn put_knowledge(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Write).await?;
        let b: KnowledgeBody = body(&bytes)?;
        let s = KnowledgeSettings {
            enabled: b.enabled,
            max_entries: b.max_entries,
            max_age_days: b.max_age_days,
        };
        let s = state.app.v1_put_knowledge_settings(p, &t, s).await?;
        Reply::ok(s.to_json())
    }
    .await;
    caller.reply(result)
}

/// `GET O/auto-swap-settings`.
async fn get_auto_swap(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Read).await?;
        let s = state.app.v1_auto_swap_settings(p, &t).await?;
        Reply::ok(s.to_json())
    }
    .await;
    caller.reply(result)
}

/// `PUT O/auto-swap-settings`: omitted fields take the defaults.
async fn put_auto_swap(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Write).await?;
        let b: AutoSwapBody = body(&bytes)?;
        let d = AutoSwap::default();
        let s = AutoSwap {
            enabled: b.enabled,
            chain_id: b.chain_id,
            target_token: b.target_token,
            source_tokens: b.source_tokens.unwrap_or_default(),
            slippage_bps: b.slippage_bps.unwrap_or(d.slippage_bps),
            min_amount: b.min_amount.unwrap_or(d.min_amount),
        };
        let s = state.app.v1_put_auto_swap_settings(p, &t, s).await?;
        Reply::ok(s.to_json())
    }
    .await;
    caller.reply(result)
}
