//! `/v1` routes: wallets and withdrawals (docs/design/management-api.md §2, §2.2).

use super::schema::{array, boolean, integer, nullable, object, one_of, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::Router;
use quorate_app::mgmt::{invalid, MgmtError, MgmtResult, PageReq};
use serde_json::Value;

const WALLETS: &str = "/v1/organizations/{org_id}/wallets";
const WALLET: &str = "/v1/organizations/{org_id}/wallets/{wallet_id}";
const DEFAULT: &str = "/v1/organizations/{org_id}/wallets/{wallet_id}/default";
const WITHDRAW: &str = "/v1/organizations/{org_id}/wallets/{wallet_id}/withdraw";

pub(super) static ROUTES: &[V1Route] = &[
    V1Route {
        method: Method::GET,
        path: WALLETS,
        scope: Some("wallets:read"),
        publishable: false,
        summary: "The organization's wallets, oldest first (archived ones with include_archived=true)",
        request: None,
        response: wallet_schema,
        status: 200,
        list: true,
        sessions: false,
    },
    V1Route {
        method: Method::POST,
        path: WALLETS,
        scope: Some("wallets:manage"),
        publishable: false,
        summary: "Creates a wallet with one Ethereum account (m/44'/60'/0'/0/0) through a CREATE_WALLET activity; the first wallet becomes the default",
        request: Some(create_schema),
        response: wallet_schema,
        status: 201,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::DELETE,
        path: WALLET,
        scope: Some("wallets:manage"),
        publishable: false,
        summary: "Archives a wallet (key material and the Turnkey API untouched); not the default or only wallet",
        request: None,
        response: wallet_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::PUT,
        path: DEFAULT,
        scope: Some("wallets:manage"),
        publishable: false,
        summary: "Makes a wallet the organization's default",
        request: None,
        response: wallet_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::POST,
        path: WITHDRAW,
        scope: Some("wallets:withdraw"),
        publishable: false,
        summary: "Withdraws native coin or an ERC-20 token: signed through a SIGN_TRANSACTION_V2 activity (policies apply) and broadcast; idempotent per idempotency_key. Also accepts a wallet-session token (ws_…)",
        request: Some(withdraw_schema),
        response: withdrawal_schema,
        status: 200,
        list: false,
        sessions: true,
    },
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(WALLETS, get(list).post(create))
        .route(WALLET, delete(archive))
        .route(DEFAULT, put(set_default))
        .route(WITHDRAW, post(withdraw))
}

fn address() -> Value {
    serde_json::json!({"type": "string", "pattern": "^0[xX][0-9a-fA-F]{40}$"})
}

fn decimal() -> Value {
    serde_json::json!({"type": "string", "pattern": "^[0-9]{1,78}$"})
}

pub(crate) fn wallet_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "name",
            "is_default",
            "archived_at",
            "accounts",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["wallet"])),
            ("name", string()),
            ("is_default", boolean()),
            ("archived_at", nullable(timestamp())),
            (
                "accounts",
                array(object(
                    &["address", "address_format", "curve", "path"],
                    &[
                        ("address", string()),
                        ("address_format", string()),
                        ("curve", string()),
                        ("path", string()),
                    ],
                )),
            ),
            ("created_at", timestamp()),
        ],
    )
}

fn create_schema() -> Value {
    object(
        &["name"],
        &[
            ("name", string()),
            (
                "mnemonic_length",
                serde_json::json!({"type": "integer", "enum": [12, 15, 18, 21, 24]}),
            ),
            ("idempotency_key", string()),
        ],
    )
}

fn withdraw_schema() -> Value {
    object(
        &["chain_id", "to", "amount", "idempotency_key"],
        &[
            ("chain_id", integer()),
            ("to", address()),
            ("amount", decimal()),
            (
                "asset",
                serde_json::json!({"anyOf": [{"type": "string", "enum": ["native"]}, address()]}),
            ),
            ("from", address()),
            ("idempotency_key", string()),
        ],
    )
}

fn withdrawal_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "activity_id",
            "activity_status",
            "status",
            "chain_id",
            "from",
            "to",
            "asset",
            "amount",
            "nonce",
            "tx_hash",
            "created_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["withdrawal"])),
            ("activity_id", string()),
            ("activity_status", string()),
            (
                "status",
                one_of(&[
                    "broadcast",
                    "consensus_needed",
                    "failed",
                    "broadcast_failed",
                ]),
            ),
            ("chain_id", integer()),
            ("from", string()),
            ("to", string()),
            ("asset", string()),
            ("amount", string()),
            ("nonce", integer()),
            ("tx_hash", nullable(string())),
            ("created_at", timestamp()),
        ],
    )
}

fn flag(q: &Query, name: &str) -> MgmtResult<bool> {
    match q.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid(name, "must be `true` or `false`")),
    }
}

/// A reply with the status the use case chose (201/202, 200/202).
fn with_status(status: u16, data: Value) -> MgmtResult<Reply> {
    Ok(Reply {
        status: StatusCode::from_u16(status)
            .map_err(|e| MgmtError::new("internal", e.to_string()))?,
        data,
        pagination: None,
    })
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
            let archived = flag(&q, "include_archived")?;
            let out = state
                .app
                .v1_list_wallets(caller.p()?, &org_id, archived, &page)
                .await?;
            Reply::list(page.limit, out.map(|w| w.json()))
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
            let out = state
                .app
                .v1_create_wallet(caller.p()?, &org_id, req)
                .await?;
            with_status(out.status(), out.json())
        }
        .await,
    )
}

async fn archive(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, wallet_id)): Path<(String, String)>,
) -> Response {
    caller.reply(
        async {
            let w = state
                .app
                .v1_archive_wallet(caller.p()?, &org_id, &wallet_id)
                .await?;
            Reply::ok(w.json())
        }
        .await,
    )
}

async fn set_default(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, wallet_id)): Path<(String, String)>,
) -> Response {
    caller.reply(
        async {
            let w = state
                .app
                .v1_set_default_wallet(caller.p()?, &org_id, &wallet_id)
                .await?;
            Reply::ok(w.json())
        }
        .await,
    )
}

async fn withdraw(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, wallet_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    caller.reply(
        async {
            let req = body(&bytes)?;
            let out = match &caller.session_token {
                Some(token) => {
                    state
                        .app
                        .v1_withdraw_with_session(token, &org_id, &wallet_id, req)
                        .await?
                }
                None => {
                    state
                        .app
                        .v1_withdraw_with_key(caller.p()?, &org_id, &wallet_id, req)
                        .await?
                }
            };
            with_status(out.status(), out.json())
        }
        .await,
    )
}
