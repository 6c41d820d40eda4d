//! `/v1` end-to-end tests: wallets (list, create through the engine, archive, default),
//! withdrawals against a real Ethereum node (ganache 7 from `sdk-tests/node_modules`, chain id
//! 1337 on loopback: native coin and an ERC-20, idempotent replay without double spend, a
//! DENY policy, consensus then broadcast) and wallet sessions (exact limits, revocation and
//! expiry on the next request).

use crate::on_both_stores;
use crate::support::*;
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::ApiKeyCurve;
use quorate_testkit::v1::V1Answer;
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

on_both_stores!(wallets, withdrawals);

const FOREIGN: &str = "7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f";
const CHAIN: u64 = 1337;
/// Ganache's first deterministic account (`--wallet.deterministic`), unlocked and funded.
const FUNDER: &str = "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1";
const ETH: u128 = 1_000_000_000_000_000_000;

fn ok(a: &V1Answer, status: u16) -> &Value {
    assert_eq!(a.status, status, "{:?}", a.body);
    a.data()
}

fn err(a: &V1Answer, status: u16, code: &str) {
    assert_eq!((a.status, a.code()), (status, code), "{:?}", a.body);
}

/// A ganache 7 node on a free loopback port, stopped at the end of the test.
struct Ganache {
    child: tokio::process::Child,
    url: String,
    http: reqwest::Client,
}

impl Ganache {
    async fn start() -> Ganache {
        let cli = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../sdk-tests/node_modules/ganache/dist/node/cli.js");
        assert!(
            cli.exists(),
            "ganache 7 is not installed: run `npm ci` in sdk-tests/ (devDependency `ganache`)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new("node")
            .arg(&cli)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain.chainId", "1337", "--wallet.deterministic"])
            .arg("--logging.quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("cannot run node");
        let g = Ganache {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(id) = g.try_rpc("eth_chainId", json!([])).await {
                assert_eq!(id, json!("0x539"));
                return g;
            }
            assert!(Instant::now() < deadline, "ganache did not start");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let v: Value = self
            .http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match v.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(v["result"].clone()),
        }
    }

    async fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Sends from an unlocked account and waits for the receipt (instamine).
    async fn send(&self, tx: Value) -> Value {
        let hash = self.rpc("eth_sendTransaction", json!([tx])).await;
        let receipt = self.rpc("eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
        receipt
    }

    async fn balance(&self, address: &str) -> u128 {
        quantity(&self.rpc("eth_getBalance", json!([address, "latest"])).await)
    }

    async fn token_balance(&self, token: &str, address: &str) -> u128 {
        let data = format!("0x70a08231{:0>64}", address.trim_start_matches("0x"));
        quantity(
            &self
                .rpc("eth_call", json!([{"to": token, "data": data}, "latest"]))
                .await,
        )
    }

    async fn receipt(&self, hash: &str) -> Value {
        self.rpc("eth_getTransactionReceipt", json!([hash])).await
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

fn quantity(v: &Value) -> u128 {
    let h = v.as_str().unwrap().trim_start_matches("0x");
    let h = h.trim_start_matches('0');
    if h.is_empty() {
        0
    } else {
        u128::from_str_radix(h, 16).unwrap()
    }
}

/// A fresh address that holds nothing.
fn fresh_address(tag: u8) -> String {
    let id = quorate_domain::new_id().replace('-', "");
    format!("0x{:02x}{}{}", tag, &id[..30], "00000000")
}

async fn wallets(backend: Backend) {
    let s = TestServer::start(backend, "v1_wallets").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let base = format!("/v1/organizations/{org}/wallets");

    let empty = root.get(&base).await;
    assert_eq!(ok(&empty, 200), &json!([]));

    // The first wallet becomes the default; one Ethereum account at m/44'/60'/0'/0/0.
    let a = root
        .post(&base, json!({"name": "treasury", "idempotency_key": "w1"}))
        .await;
    let treasury = ok(&a, 201).clone();
    let treasury_id = treasury["id"].as_str().unwrap().to_string();
    assert_eq!(treasury["object"], json!("wallet"));
    assert_eq!(treasury["is_default"], json!(true));
    assert_eq!(treasury["archived_at"], json!(null));
    let accounts = treasury["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["path"], json!("m/44'/60'/0'/0/0"));
    assert_eq!(
        accounts[0]["address_format"],
        json!("ADDRESS_FORMAT_ETHEREUM")
    );
    assert_eq!(accounts[0]["curve"], json!("CURVE_SECP256K1"));
    // Idempotent replay: the same wallet, no second one.
    let again = root
        .post(&base, json!({"name": "treasury", "idempotency_key": "w1"}))
        .await;
    assert_eq!(ok(&again, 201)["id"], json!(treasury_id));
    // The Turnkey face sees the same wallet.
    let c = s.root_client();
    let listed: Value = c
        .query("list_wallets", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(listed["wallets"].as_array().unwrap().len(), 1);
    assert_eq!(listed["wallets"][0]["walletId"], json!(treasury_id));

    let b = root.post(&base, json!({"name": "ops"})).await;
    let ops_id = ok(&b, 201)["id"].as_str().unwrap().to_string();
    assert_eq!(b.data()["is_default"], json!(false));
    err(
        &root.post(&base, json!({"name": "treasury"})).await,
        409,
        "name_taken",
    );
    let bad = root.post(&base, json!({"name": " "})).await;
    err(&bad, 422, "validation_failed");
    assert!(bad.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`name`"));
    let bad = root
        .post(&base, json!({"name": "x", "colour": "red"}))
        .await;
    err(&bad, 422, "validation_failed");
    let bad = root
        .post(&base, json!({"name": "x", "mnemonic_length": 13}))
        .await;
    err(&bad, 422, "validation_failed");
    assert!(bad.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`mnemonic_length`"));

    // Scopes and reach.
    let reader = key_with(&root, &["wallets:read"]).await;
    let listed = reader.get(&base).await;
    assert_eq!(ok(&listed, 200).as_array().unwrap().len(), 2);
    err(
        &reader.post(&base, json!({"name": "nope"})).await,
        403,
        "scope_missing",
    );
    err(
        &reader.delete(&format!("{base}/{ops_id}")).await,
        403,
        "scope_missing",
    );
    err(
        &reader
            .put(&format!("{base}/{ops_id}/default"), json!({}))
            .await,
        403,
        "scope_missing",
    );
    let foreign = root
        .get(&format!("/v1/organizations/{FOREIGN}/wallets"))
        .await;
    err(&foreign, 404, "not_found");
    err(
        &root
            .post(
                &format!("/v1/organizations/{FOREIGN}/wallets"),
                json!({"name": "x"}),
            )
            .await,
        404,
        "not_found",
    );
    err(
        &root.delete(&format!("{base}/{FOREIGN}")).await,
        404,
        "not_found",
    );
    err(
        &root.get(&format!("{base}?include_archived=maybe")).await,
        422,
        "validation_failed",
    );

    // Paging: oldest first, one per page.
    let p1 = root.get(&format!("{base}?limit=1")).await;
    assert_eq!(ok(&p1, 200)[0]["id"], json!(treasury_id));
    assert_eq!(p1.body["pagination"]["has_more"], json!(true));
    let cursor = p1.body["pagination"]["next_cursor"].as_str().unwrap();
    let p2 = root.get(&format!("{base}?limit=1&cursor={cursor}")).await;
    assert_eq!(ok(&p2, 200)[0]["id"], json!(ops_id));
    assert_eq!(p2.body["pagination"]["has_more"], json!(false));

    // Archive rules: not the default, not the only wallet.
    err(
        &root.delete(&format!("{base}/{treasury_id}")).await,
        409,
        "default_wallet",
    );
    let d = root
        .put(&format!("{base}/{ops_id}/default"), json!({}))
        .await;
    assert_eq!(ok(&d, 200)["is_default"], json!(true));
    let archived = root.delete(&format!("{base}/{treasury_id}")).await;
    let archived = ok(&archived, 200);
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["is_default"], json!(false));
    let listed = root.get(&base).await;
    let ids: Vec<&str> = ok(&listed, 200)
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![ops_id.as_str()]);
    let all = root.get(&format!("{base}?include_archived=true")).await;
    assert_eq!(ok(&all, 200).as_array().unwrap().len(), 2);
    err(
        &root
            .put(&format!("{base}/{treasury_id}/default"), json!({}))
            .await,
        409,
        "wallet_archived",
    );
    err(
        &root.delete(&format!("{base}/{ops_id}")).await,
        409,
        "only_wallet",
    );
    // The archived wallet is untouched on the Turnkey face.
    let tk: Value = c
        .query(
            "get_wallet",
            &json!({"organizationId": org, "walletId": treasury_id}),
        )
        .await
        .unwrap();
    assert_eq!(tk["wallet"]["walletId"], json!(treasury_id));
    // Archiving twice answers the archived wallet.
    let twice = root.delete(&format!("{base}/{treasury_id}")).await;
    assert_eq!(ok(&twice, 200)["archived_at"], archived["archived_at"]);
    let hot = root.post(&base, json!({"name": "hot"})).await;
    let hot_id = ok(&hot, 201)["id"].as_str().unwrap().to_string();
    err(
        &root.delete(&format!("{base}/{ops_id}")).await,
        409,
        "default_wallet",
    );
    let gone = root.delete(&format!("{base}/{hot_id}")).await;
    assert!(ok(&gone, 200)["archived_at"].is_string());
}

/// Funds `address` with ETH and deploys the TestToken fixture, sending it tokens; returns
/// the token's address.
async fn fund(g: &Ganache, address: &str, eth: u128, tokens: u128) -> String {
    g.send(json!({"from": FUNDER, "to": address, "value": format!("0x{:x}", eth * ETH)}))
        .await;
    assert_eq!(g.balance(address).await, eth * ETH);
    let bin = include_str!("../fixtures/TestToken.bin").trim();
    let deployed = g
        .send(json!({"from": FUNDER, "data": format!("0x{bin}"), "gas": "0x2dc6c0"}))
        .await;
    let token = deployed["contractAddress"].as_str().unwrap().to_string();
    let data = format!(
        "0xa9059cbb{:0>64}{:064x}",
        address.trim_start_matches("0x").to_ascii_lowercase(),
        tokens
    );
    g.send(json!({"from": FUNDER, "to": token, "data": data, "gas": "0x30d40"}))
        .await;
    assert_eq!(g.token_balance(&token, address).await, tokens);
    token
}

async fn withdrawals(backend: Backend) {
    let (g, s) = tokio::join!(Ganache::start(), async {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let clock = ManualClock::new(now);
        let s = TestServer::start_with_clock(backend, "v1_withdraw", clock.clone())
            .await
            .unwrap();
        (s, clock)
    });
    let (s, clock) = s;
    s.app
        .set_setting(quorate_chain::settings(&[format!("{CHAIN}={}", g.url)]).unwrap());
    run_withdrawals(&g, &s, &clock).await;
    g.stop().await;
}

async fn run_withdrawals(g: &Ganache, s: &TestServer, clock: &Arc<ManualClock>) {
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let base = format!("/v1/organizations/{org}/wallets");
    let w = root.post(&base, json!({"name": "payouts"})).await;
    let wallet = ok(&w, 201).clone();
    let wallet_id = wallet["id"].as_str().unwrap().to_string();
    let from = wallet["accounts"][0]["address"]
        .as_str()
        .unwrap()
        .to_string();
    let other = root.post(&base, json!({"name": "other"})).await;
    let other_id = ok(&other, 201)["id"].as_str().unwrap().to_string();
    let token = fund(g, &from, 10, 1_000 * ETH).await;
    let withdraw = format!("{base}/{wallet_id}/withdraw");

    // Native coin.
    let alice = fresh_address(0xa1);
    let body =
        json!({"chain_id": CHAIN, "to": alice, "amount": ETH.to_string(), "idempotency_key": "n1"});
    let a = root.post(&withdraw, body.clone()).await;
    let wd = ok(&a, 200).clone();
    assert_eq!(wd["object"], json!("withdrawal"));
    assert_eq!(wd["status"], json!("broadcast"));
    assert_eq!(wd["activity_status"], json!("ACTIVITY_STATUS_COMPLETED"));
    assert_eq!(wd["asset"], json!("native"));
    assert_eq!(wd["amount"], json!(ETH.to_string()));
    assert_eq!(
        wd["from"].as_str().unwrap().to_lowercase(),
        from.to_lowercase()
    );
    assert_eq!(wd["nonce"], json!(0));
    assert!(wd["id"].as_str().unwrap().starts_with("wd_"));
    assert_eq!(g.balance(&alice).await, ETH);
    let receipt = g.receipt(wd["tx_hash"].as_str().unwrap()).await;
    assert_eq!(receipt["status"], json!("0x1"));
    // The signature is an activity on the Turnkey face.
    let act = s
        .root_client()
        .get_activity(&org, wd["activity_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(act.activity_type, "ACTIVITY_TYPE_SIGN_TRANSACTION_V2");
    // Replay: the same withdrawal, no second transfer.
    let replay = root.post(&withdraw, body.clone()).await;
    assert_eq!(ok(&replay, 200)["id"], wd["id"]);
    assert_eq!(replay.data()["tx_hash"], wd["tx_hash"]);
    assert_eq!(g.balance(&alice).await, ETH);
    let mut other_body = body.clone();
    other_body["amount"] = json!("2");
    err(
        &root.post(&withdraw, other_body).await,
        409,
        "idempotency_key_reused",
    );

    // ERC-20.
    let bob = fresh_address(0xb0);
    let t = root
        .post(
            &withdraw,
            json!({"chain_id": CHAIN, "to": bob, "amount": (250 * ETH).to_string(), "asset": token, "idempotency_key": "t1"}),
        )
        .await;
    let twd = ok(&t, 200).clone();
    assert_eq!(twd["asset"], json!(token.to_lowercase()));
    assert_eq!(twd["nonce"], json!(1));
    assert_eq!(g.token_balance(&token, &bob).await, 250 * ETH);
    assert_eq!(g.token_balance(&token, &from).await, 750 * ETH);
    assert_eq!(g.balance(&bob).await, 0);

    // Bad input names the field; unknown chains and foreign organizations.
    for (field, patch) in [
        ("chain_id", json!({"chain_id": 5})),
        ("to", json!({"to": "0x1234"})),
        ("amount", json!({"amount": "1.5"})),
        ("amount", json!({"amount": "0"})),
        ("asset", json!({"asset": "usdc"})),
        ("from", json!({"from": alice})),
    ] {
        let mut b = json!({"chain_id": CHAIN, "to": alice, "amount": "1", "idempotency_key": format!("bad-{field}")});
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let a = root.post(&withdraw, b).await;
        err(&a, 422, "validation_failed");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{field}: {:?}",
            a.body
        );
    }
    let missing = root
        .post(
            &withdraw,
            json!({"chain_id": CHAIN, "to": alice, "amount": "1"}),
        )
        .await;
    err(&missing, 422, "validation_failed");
    err(
        &root
            .post(
                &format!("/v1/organizations/{FOREIGN}/wallets/{wallet_id}/withdraw"),
                body.clone(),
            )
            .await,
        404,
        "not_found",
    );
    err(
        &root
            .post(&format!("{base}/{FOREIGN}/withdraw"), body.clone())
            .await,
        404,
        "not_found",
    );
    let reader = key_with(&root, &["wallets:read", "sessions:manage"]).await;
    err(
        &reader.post(&withdraw, body.clone()).await,
        403,
        "scope_missing",
    );
    // More than the account holds: the node refuses the estimate, nothing is recorded.
    let broke = root
        .post(
            &withdraw,
            json!({"chain_id": CHAIN, "to": alice, "amount": (1_000_000 * ETH).to_string(), "idempotency_key": "broke"}),
        )
        .await;
    err(&broke, 502, "upstream_error");

    // Wallet sessions.
    let sessions = format!("/v1/organizations/{org}/sessions");
    let carol = fresh_address(0xc0);
    let expires = quorate_app::mgmt::rfc3339(clock_now(clock) + 3_600_000);
    let new_session = json!({
        "wallet_id": wallet_id, "chain_id": CHAIN, "max_amount_per_tx": "1000",
        "max_total_amount": "2500", "max_transactions": 5, "allowed_recipients": [carol],
        "expires_at": expires,
    });
    // Creating one needs sessions:manage and wallets:withdraw.
    err(
        &reader.post(&sessions, new_session.clone()).await,
        403,
        "scope_missing",
    );
    err(
        &key_with(&root, &["wallets:withdraw"])
            .await
            .post(&sessions, new_session.clone())
            .await,
        403,
        "scope_missing",
    );
    let created = root.post(&sessions, new_session.clone()).await;
    let session = ok(&created, 201).clone();
    let ws_token = session["revealed_key"].as_str().unwrap().to_string();
    assert!(ws_token.starts_with("ws_live_"), "{ws_token}");
    assert_eq!(session["status"], json!("active"));
    assert_eq!(session["asset"], json!("native"));
    assert_eq!(session["spent_amount"], json!("0"));
    assert_eq!(session["limits"]["allowed_recipients"], json!([carol]));
    let session_id = session["id"].as_str().unwrap().to_string();
    assert!(session_id.starts_with("ses_"));
    let listed = root.get(&sessions).await;
    assert_eq!(ok(&listed, 200)[0]["id"], json!(session_id));
    assert!(listed.data()[0].get("revealed_key").is_none());
    let one = root.get(&format!("{sessions}/{session_id}")).await;
    assert_eq!(ok(&one, 200)["id"], json!(session_id));
    for (field, patch) in [
        (
            "expires_at",
            json!({"expires_at": quorate_app::mgmt::rfc3339(clock_now(clock) + 31 * 86_400_000)}),
        ),
        (
            "expires_at",
            json!({"expires_at": quorate_app::mgmt::rfc3339(clock_now(clock) - 1)}),
        ),
        ("chain_id", json!({"chain_id": 5})),
        ("max_total_amount", json!({"max_total_amount": "-1"})),
        (
            "allowed_recipients[0]",
            json!({"allowed_recipients": ["bob"]}),
        ),
        ("wallet_id", json!({"wallet_id": FOREIGN})),
    ] {
        let mut b = new_session.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let a = root.post(&sessions, b).await;
        err(&a, 422, "validation_failed");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{field}: {:?}",
            a.body
        );
    }
    err(&reader.get(&sessions).await, 403, "scope_missing");
    err(
        &root
            .get(&format!("/v1/organizations/{FOREIGN}/sessions"))
            .await,
        404,
        "not_found",
    );

    let ws = root.with_key(&ws_token);
    let spend = |amount: &str, key: &str| json!({"chain_id": CHAIN, "to": carol, "amount": amount, "idempotency_key": key});
    let a = ws.post(&withdraw, spend("1000", "s1")).await;
    assert_eq!(ok(&a, 200)["status"], json!("broadcast"));
    assert_eq!(g.balance(&carol).await, 1000);
    // Replays do not count twice.
    let a = ws.post(&withdraw, spend("1000", "s1")).await;
    assert_eq!(ok(&a, 200)["status"], json!("broadcast"));
    assert_eq!(g.balance(&carol).await, 1000);
    err(
        &ws.post(&withdraw, spend("1001", "s2")).await,
        403,
        "session_limit",
    );
    let mut elsewhere = spend("1", "s3");
    elsewhere["to"] = json!(alice);
    err(&ws.post(&withdraw, elsewhere).await, 403, "session_limit");
    let mut token_asset = spend("1", "s4");
    token_asset["asset"] = json!(token);
    err(&ws.post(&withdraw, token_asset).await, 403, "session_limit");
    err(
        &ws.post(&format!("{base}/{other_id}/withdraw"), spend("1", "s5"))
            .await,
        403,
        "session_limit",
    );
    // Only the withdraw route takes a session token.
    err(&ws.get(&base).await, 401, "invalid_api_key");
    // Concurrent spends against the total: exactly the ones that fit pass (1000 + 3 × 500 =
    // 2500; the other three are refused).
    let mut tasks = Vec::new();
    for i in 0..6 {
        let ws = ws.clone();
        let url = withdraw.clone();
        let b = spend("500", &format!("c{i}"));
        tasks.push(tokio::spawn(async move { ws.post(&url, b).await }));
    }
    let mut passed = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            200 => passed += 1,
            _ => err(&a, 403, "session_limit"),
        }
    }
    assert_eq!(passed, 3);
    assert_eq!(g.balance(&carol).await, 2500);
    let one = root.get(&format!("{sessions}/{session_id}")).await;
    assert_eq!(ok(&one, 200)["spent_amount"], json!("2500"));
    assert_eq!(one.data()["tx_count"], json!(4));
    err(
        &ws.post(&withdraw, spend("1", "s6")).await,
        403,
        "session_limit",
    );

    // Revocation takes effect on the very next request.
    let second = root.post(&sessions, new_session.clone()).await;
    let second = ok(&second, 201).clone();
    let ws2 = root.with_key(second["revealed_key"].as_str().unwrap());
    let a = ws2.post(&withdraw, spend("10", "r1")).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let revoked = root
        .delete(&format!("{sessions}/{}", second["id"].as_str().unwrap()))
        .await;
    assert_eq!(ok(&revoked, 200)["status"], json!("revoked"));
    assert!(revoked.data()["revoked_at"].is_string());
    err(
        &ws2.post(&withdraw, spend("10", "r2")).await,
        401,
        "api_key_revoked",
    );
    assert_eq!(g.balance(&carol).await, 2510);
    let listed = root.get(&sessions).await;
    assert_eq!(ok(&listed, 200).as_array().unwrap().len(), 1);
    // Expiry, on the injected clock.
    let third = root.post(&sessions, new_session.clone()).await;
    let ws3 = root.with_key(ok(&third, 201)["revealed_key"].as_str().unwrap());
    clock.advance(3_600_001);
    err(
        &ws3.post(&withdraw, spend("10", "e1")).await,
        401,
        "api_key_expired",
    );
    let listed = root.get(&sessions).await;
    assert_eq!(ok(&listed, 200), &json!([]));
    let expired = root.get(&format!("{sessions}/{session_id}")).await;
    assert_eq!(ok(&expired, 200)["status"], json!("expired"));
    err(
        &root
            .with_key("ws_live_0123456789ABCDEFGHIJabcdefghij0000000")
            .post(&withdraw, spend("1", "x"))
            .await,
        401,
        "invalid_api_key",
    );

    // A DENY policy on signing: 403 policy_denied (the root user is exempt from policies
    // while the root quorum is 1, so the quorum becomes 2 of 2).
    let c = s.root_client();
    let deny = c
        .submit(
            "create_policy",
            "ACTIVITY_TYPE_CREATE_POLICY_V3",
            &org,
            json!({"policyName": "no signing", "effect": "EFFECT_DENY",
                   "condition": "activity.resource == 'PRIVATE_KEY' && activity.action == 'SIGN'",
                   "notes": ""}),
        )
        .await
        .unwrap();
    let deny_id = completed(&deny)["policyId"].as_str().unwrap().to_string();
    let approver_key = p256();
    let approver = create_user_with_key(&c, &org, "approver", &approver_key).await;
    completed(
        &c.submit(
            "update_root_quorum",
            "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
            &org,
            json!({"threshold": 2, "userIds": [s.root.user_id, approver]}),
        )
        .await
        .unwrap(),
    );
    let dave = fresh_address(0xd0);
    let denied_body =
        json!({"chain_id": CHAIN, "to": dave, "amount": "7", "idempotency_key": "d1"});
    err(
        &root.post(&withdraw, denied_body.clone()).await,
        403,
        "policy_denied",
    );
    err(
        &root.post(&withdraw, denied_body).await,
        403,
        "policy_denied",
    );
    assert_eq!(g.balance(&dave).await, 0);

    // Without the policy the root user's activities wait for the second root user: 202, and
    // the same request after the approval broadcasts.
    let approver_client = s.client(
        ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &approver_key.private_key_hex()).unwrap(),
    );
    let approve = |fingerprint: String| {
        let client = &approver_client;
        let org = org.clone();
        async move {
            client
                .submit(
                    "approve_activity",
                    "ACTIVITY_TYPE_APPROVE_ACTIVITY",
                    &org,
                    json!({"fingerprint": fingerprint}),
                )
                .await
                .unwrap()
        }
    };
    let drop_policy = c
        .submit(
            "delete_policy",
            "ACTIVITY_TYPE_DELETE_POLICY",
            &org,
            json!({"policyId": deny_id}),
        )
        .await
        .unwrap();
    assert_eq!(drop_policy.status, "ACTIVITY_STATUS_CONSENSUS_NEEDED");
    completed(&approve(drop_policy.fingerprint.clone()).await);
    let waiting_body =
        json!({"chain_id": CHAIN, "to": dave, "amount": "9", "idempotency_key": "q1"});
    let waiting = root.post(&withdraw, waiting_body.clone()).await;
    let pending = ok(&waiting, 202).clone();
    assert_eq!(pending["object"], json!("activity"));
    assert_eq!(pending["status"], json!("ACTIVITY_STATUS_CONSENSUS_NEEDED"));
    assert_eq!(pending["type"], json!("ACTIVITY_TYPE_SIGN_TRANSACTION_V2"));
    let again = root.post(&withdraw, waiting_body.clone()).await;
    assert_eq!(ok(&again, 202)["id"], pending["id"]);
    assert_eq!(g.balance(&dave).await, 0);
    let activity = c
        .get_activity(&org, pending["id"].as_str().unwrap())
        .await
        .unwrap();
    completed(&approve(activity.fingerprint).await);
    let sent = root.post(&withdraw, waiting_body).await;
    assert_eq!(ok(&sent, 200)["status"], json!("broadcast"));
    assert_eq!(sent.data()["activity_id"], pending["id"]);
    assert_eq!(g.balance(&dave).await, 9);
    // Wallet creation waits the same way.
    let w = root.post(&base, json!({"name": "later"})).await;
    assert_eq!(ok(&w, 202)["type"], json!("ACTIVITY_TYPE_CREATE_WALLET"));
}

fn clock_now(clock: &Arc<ManualClock>) -> i64 {
    use quorate_domain::Clock;
    clock.now_ms()
}
