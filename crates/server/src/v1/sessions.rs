//! `/v1` routes: wallet sessions (docs/design/management-api.md §2, §2.2) — `ws_…` tokens that
//! may only withdraw from one wallet within limits.

use super::schema::{array, integer, nullable, object, one_of, require, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use quorate_app::mgmt::PageReq;
use serde_json::{json, Value};

const SESSIONS: &str = "/v1/organizations/{org_id}/sessions";
const SESSION: &str = "/v1/organizations/{org_id}/sessions/{session_id}";

pub(super) static ROUTES: &[V1Route] = &[
    V1Route {
        method: Method::GET,
        path: SESSIONS,
        scope: Some("sessions:list"),
        publishable: false,
        summary: "The organization's active wallet sessions, oldest first",
        request: None,
        response: session_schema,
        status: 200,
        list: true,
        sessions: false,
    },
    V1Route {
        method: Method::POST,
        path: SESSIONS,
        scope: Some("sessions:manage"),
        publishable: false,
        summary: "Creates a wallet session (the key must also hold wallets:withdraw); its token is in data.revealed_key, once",
        request: Some(create_schema),
        response: created_schema,
        status: 201,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::GET,
        path: SESSION,
        scope: Some("sessions:read"),
        publishable: false,
        summary: "A wallet session, whatever its status",
        request: None,
        response: session_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::DELETE,
        path: SESSION,
        scope: Some("sessions:manage"),
        publishable: false,
        summary: "Revokes a wallet session: its token is refused from the next request on",
        request: None,
        response: session_schema,
        status: 200,
        list: false,
        sessions: false,
    },
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(SESSIONS, get(list).post(create))
        .route(SESSION, get(read).delete(revoke))
}

fn amount() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{1,78}$"})
}

fn address() -> Value {
    json!({"type": "string", "pattern": "^0[xX][0-9a-fA-F]{40}$"})
}

fn session_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "wallet_id",
            "chain_id",
            "asset",
            "limits",
            "spent_amount",
            "tx_count",
            "key_prefix",
            "created_by_user_id",
            "expires_at",
            "revoked_at",
            "status",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["wallet_session"])),
            ("wallet_id", string()),
            ("chain_id", integer()),
            ("asset", string()),
            (
                "limits",
                object(
                    &[
                        "max_amount_per_tx",
                        "max_total_amount",
                        "max_transactions",
                        "allowed_recipients",
                    ],
                    &[
                        ("max_amount_per_tx", nullable(string())),
                        ("max_total_amount", nullable(string())),
                        ("max_transactions", nullable(integer())),
                        ("allowed_recipients", array(string())),
                    ],
                ),
            ),
            ("spent_amount", string()),
            ("tx_count", integer()),
            ("key_prefix", string()),
            ("created_by_user_id", string()),
            ("expires_at", timestamp()),
            ("revoked_at", nullable(timestamp())),
            ("status", one_of(&["active", "revoked", "expired"])),
            ("created_at", timestamp()),
            ("revealed_key", string()),
        ],
    )
}

fn created_schema() -> Value {
    require(session_schema(), "revealed_key")
}

fn create_schema() -> Value {
    object(
        &["chain_id", "expires_at"],
        &[
            ("wallet_id", string()),
            ("chain_id", integer()),
            (
                "asset",
                json!({"anyOf": [{"type": "string", "enum": ["native"]}, address()]}),
            ),
            ("max_amount_per_tx", amount()),
            ("max_total_amount", amount()),
            ("max_transactions", json!({"type": "integer", "minimum": 1})),
            ("allowed_recipients", array(address())),
            ("expires_at", timestamp()),
        ],
    )
}

async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    q: Query,
) -> Response {
    caller.reply(
        async {
            let page = PageReq::from_query(&q)?;
            let out = state
                .app
                .v1_list_sessions(caller.p()?, &org_id, &page)
                .await?;
            Reply::list(page.limit, out.map(|s| s.json()))
        }
        .await,
    )
}

async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    caller.reply(
        async {
            let req = body(&bytes)?;
            let (view, token) = state
                .app
                .v1_create_session(caller.p()?, &org_id, req)
                .await?;
            let mut data = view.json();
            data["revealed_key"] = json!(token.expose());
            Reply::created(data)
        }
        .await,
    )
}

async fn read(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, session_id)): Path<(String, String)>,
) -> Response {
    caller.reply(
        async {
            let s = state
                .app
                .v1_get_session(caller.p()?, &org_id, &session_id)
                .await?;
            Reply::ok(s.json())
        }
        .await,
    )
}

async fn revoke(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, session_id)): Path<(String, String)>,
) -> Response {
    caller.reply(
        async {
            let s = state
                .app
                .v1_revoke_session(caller.p()?, &org_id, &session_id)
                .await?;
            Reply::ok(s.json())
        }
        .await,
    )
}
