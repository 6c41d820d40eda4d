//! `/v1` end-to-end tests: knowledge entries and their pruning, knowledge and auto-swap
//! settings, templates (docs/design/management-api.md §2), on both stores.

use crate::support::{create_sub_org, create_user_with_key, key_in_project, p256};
use quorate_app::mgmt::{ChainError, ChainRpc, ChainSettings, FeeQuote, TxCall};
use quorate_testkit::v1::{V1Answer, V1};
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;

fn o(org: &str, rest: &str) -> String {
    format!("/v1/organizations/{org}{rest}")
}

#[track_caller]
fn status(a: &V1Answer, want: u16) {
    assert_eq!(a.status, want, "unexpected answer: {}", a.body);
}

/// A 422 whose message names `field`.
#[track_caller]
fn invalid(a: &V1Answer, field: &str) {
    assert_eq!(a.status, 422, "expected 422 for `{field}`: {}", a.body);
    assert_eq!(a.code(), "validation_failed");
    let msg = a.body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(field),
        "message does not name `{field}`: {msg}"
    );
}

#[track_caller]
fn error(a: &V1Answer, want: u16, code: &str) {
    assert_eq!(
        (a.status, a.code()),
        (want, code),
        "unexpected answer: {}",
        a.body
    );
}

async fn add(v1: &V1, org: &str, source: &str, content: &str, pinned: bool) -> Value {
    let a = v1
        .post(
            &o(org, "/knowledge"),
            json!({"source_type": source, "content": content, "pinned": pinned}),
        )
        .await;
    status(&a, 201);
    a.data().clone()
}

async fn contents(v1: &V1, org: &str, query: &str) -> Vec<String> {
    let a = v1
        .get(&o(org, &format!("/knowledge?limit=100{query}")))
        .await;
    status(&a, 200);
    a.data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["content"].as_str().unwrap().to_string())
        .collect()
}

/// Follows `next_cursor` from `first` to the end; answers every item's `field`.
async fn walk(v1: &V1, first: &str, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = first.to_string();
    loop {
        let a = v1.get(&path).await;
        status(&a, 200);
        for e in a.data().as_array().unwrap() {
            out.push(e[field].as_str().unwrap().to_string());
        }
        let p = &a.body["pagination"];
        if !p["has_more"].as_bool().unwrap() {
            assert!(p["next_cursor"].is_null());
            return out;
        }
        let sep = if first.contains('?') { '&' } else { '?' };
        path = format!("{first}{sep}cursor={}", p["next_cursor"].as_str().unwrap());
    }
}

async fn knowledge_entries(backend: Backend) {
    let s = TestServer::start(backend, "v1_content_knowledge")
        .await
        .unwrap();
    let v1 = s.v1();
    let org = s.root.organization_id.clone();

    let first = add(&v1, &org, "chat", "c0", false).await;
    assert!(first["id"].as_str().unwrap().starts_with("kn_"));
    assert_eq!(first["object"], "knowledge_entry");
    assert_eq!(first["organization_id"], org.as_str());
    assert_eq!(first["source_type"], "chat");
    assert_eq!(first["pinned"], false);
    assert!(first["title"].is_null() && first["project_id"].is_null());
    for i in 1..5 {
        add(&v1, &org, "chat", &format!("c{i}"), i == 2).await;
    }
    let a = v1
        .post(
            &o(&org, "/knowledge"),
            json!({"source_type": "doc_2", "content": "d0", "title": "Doc zero"}),
        )
        .await;
    status(&a, 201);
    assert_eq!(a.data()["title"], "Doc zero");
    add(&v1, &org, "doc_2", "d1", false).await;

    // Newest first; filters.
    assert_eq!(
        contents(&v1, &org, "").await,
        ["d1", "d0", "c4", "c3", "c2", "c1", "c0"]
    );
    assert_eq!(
        contents(&v1, &org, "&source_type=doc_2").await,
        ["d1", "d0"]
    );
    assert_eq!(contents(&v1, &org, "&pinned=true").await, ["c2"]);
    assert_eq!(
        contents(&v1, &org, "&pinned=false&source_type=chat").await,
        ["c4", "c3", "c1", "c0"]
    );
    invalid(&v1.get(&o(&org, "/knowledge?pinned=yes")).await, "pinned");
    invalid(
        &v1.get(&o(&org, "/knowledge?source_type=Chat")).await,
        "source_type",
    );
    invalid(&v1.get(&o(&org, "/knowledge?limit=0")).await, "limit");
    invalid(
        &v1.get(&o(&org, "/knowledge?cursor=%21%21")).await,
        "cursor",
    );

    // Pages of 2 by cursor: every entry once, in order.
    let a = v1.get(&o(&org, "/knowledge?limit=2")).await;
    status(&a, 200);
    assert_eq!(a.body["pagination"]["limit"], 2);
    assert_eq!(a.body["pagination"]["has_more"], true);
    let all = walk(&v1, &o(&org, "/knowledge?limit=2"), "content").await;
    assert_eq!(all, ["d1", "d0", "c4", "c3", "c2", "c1", "c0"]);
    let chats = walk(
        &v1,
        &o(&org, "/knowledge?limit=3&source_type=chat"),
        "content",
    )
    .await;
    assert_eq!(chats, ["c4", "c3", "c2", "c1", "c0"]);

    // Bad input.
    let post = |b: Value| {
        let v1 = v1.clone();
        let path = o(&org, "/knowledge");
        async move { v1.post(&path, b).await }
    };
    invalid(
        &post(json!({"source_type": "Bad-Type", "content": "x"})).await,
        "source_type",
    );
    invalid(
        &post(json!({"source_type": "", "content": "x"})).await,
        "source_type",
    );
    invalid(
        &post(json!({"source_type": "a".repeat(33), "content": "x"})).await,
        "source_type",
    );
    invalid(&post(json!({"source_type": "chat"})).await, "content");
    invalid(&post(json!({"content": "x"})).await, "source_type");
    invalid(
        &post(json!({"source_type": "chat", "content": ""})).await,
        "content",
    );
    invalid(
        &post(json!({"source_type": "chat", "content": "x".repeat(64 * 1024 + 1)})).await,
        "content",
    );
    status(
        &post(json!({"source_type": "chat", "content": "x".repeat(64 * 1024)})).await,
        201,
    );
    invalid(
        &post(json!({"source_type": "chat", "content": "x", "extra": 1})).await,
        "extra",
    );
    invalid(
        &post(json!({"source_type": "chat", "content": 5})).await,
        "content",
    );
    invalid(
        &post(json!({"source_type": "chat", "content": "x", "project_id": "prj_nope"})).await,
        "project_id",
    );
    let a = v1
        .request(
            reqwest::Method::POST,
            &o(&org, "/knowledge"),
            Some(json!([1, 2])),
            &[],
        )
        .await;
    error(&a, 400, "invalid_request");

    // Pin / unpin.
    let id = first["id"].as_str().unwrap();
    let a = v1
        .patch(
            &o(&org, &format!("/knowledge/{id}/pin")),
            json!({"pinned": true}),
        )
        .await;
    status(&a, 200);
    assert_eq!(a.data()["pinned"], true);
    assert_eq!(a.data()["id"], id);
    assert_eq!(contents(&v1, &org, "&pinned=true").await, ["c2", "c0"]);
    let a = v1
        .patch(
            &o(&org, &format!("/knowledge/{id}/pin")),
            json!({"pinned": false}),
        )
        .await;
    assert_eq!(a.data()["pinned"], false);
    invalid(
        &v1.patch(&o(&org, &format!("/knowledge/{id}/pin")), json!({}))
            .await,
        "pinned",
    );
    invalid(
        &v1.patch(
            &o(&org, &format!("/knowledge/{id}/pin")),
            json!({"pinned": "yes"}),
        )
        .await,
        "pinned",
    );
    let a = v1
        .patch(&o(&org, "/knowledge/kn_nope/pin"), json!({"pinned": true}))
        .await;
    error(&a, 404, "not_found");

    // Bulk delete: exactly one of source_type and ids, from the body or the query.
    let bulk = o(&org, "/knowledge/bulk");
    let del = |path: String, b: Option<Value>| {
        let v1 = v1.clone();
        async move { v1.call(reqwest::Method::DELETE, &path, b).await }
    };
    invalid(&del(bulk.clone(), None).await, "source_type");
    invalid(&del(bulk.clone(), Some(json!({}))).await, "source_type");
    invalid(
        &del(
            bulk.clone(),
            Some(json!({"source_type": "chat", "ids": [id]})),
        )
        .await,
        "source_type",
    );
    invalid(
        &del(
            format!("{bulk}?source_type=chat"),
            Some(json!({"ids": [id]})),
        )
        .await,
        "source_type",
    );
    invalid(
        &del(
            format!("{bulk}?source_type=chat"),
            Some(json!({"source_type": "chat"})),
        )
        .await,
        "source_type",
    );
    invalid(&del(bulk.clone(), Some(json!({"ids": []}))).await, "ids");
    let many: Vec<String> = (0..1001).map(|i| format!("kn_{i}")).collect();
    invalid(
        &del(bulk.clone(), Some(json!({ "ids": many }))).await,
        "ids",
    );
    invalid(
        &del(bulk.clone(), Some(json!({"source_type": "NO"}))).await,
        "source_type",
    );
    invalid(&del(bulk.clone(), Some(json!({"what": 1}))).await, "what");

    let a = del(bulk.clone(), Some(json!({"source_type": "doc_2"}))).await;
    status(&a, 200);
    assert_eq!(a.data(), &json!({"deleted": 2}));
    let ids: Vec<String> = {
        let a = v1
            .get(&o(&org, "/knowledge?source_type=chat&limit=100"))
            .await;
        a.data()
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| ["c3", "c4"].contains(&e["content"].as_str().unwrap()))
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids.len(), 2);
    let a = del(format!("{bulk}?ids={},{},kn_unknown", ids[0], ids[1]), None).await;
    status(&a, 200);
    assert_eq!(a.data()["deleted"], 2);
    let a = del(bulk.clone(), Some(json!({"ids": ids}))).await;
    assert_eq!(a.data()["deleted"], 0);
    // Pinned entries go too when asked by source type.
    let a = del(format!("{bulk}?source_type=chat"), None).await;
    assert_eq!(a.data()["deleted"], 4, "{}", a.body);
    assert!(contents(&v1, &org, "&source_type=chat").await.is_empty());
    s.stop().await.unwrap();
}

async fn knowledge_pruning(backend: Backend) {
    let clock = ManualClock::new(1_700_000_000_000);
    let s = TestServer::start_with_clock(backend, "v1_content_prune", clock.clone())
        .await
        .unwrap();
    let v1 = s.v1();
    let org = s.root.organization_id.clone();
    let settings = o(&org, "/knowledge-settings");

    // Off by default: nothing is pruned.
    let a = v1
        .put(&settings, json!({"enabled": false, "max_entries": 1}))
        .await;
    status(&a, 200);
    for i in 0..3 {
        add(&v1, &org, "note", &format!("off{i}"), false).await;
    }
    assert_eq!(contents(&v1, &org, "").await.len(), 3);
    status(
        &v1.delete(&o(&org, "/knowledge/bulk?source_type=note"))
            .await,
        200,
    );

    // By count: the 3 newest unpinned stay, pinned entries are kept and do not count.
    let a = v1
        .put(&settings, json!({"enabled": true, "max_entries": 3}))
        .await;
    status(&a, 200);
    assert_eq!(
        a.data(),
        &json!({"enabled": true, "max_entries": 3, "max_age_days": null})
    );
    add(&v1, &org, "note", "p0", true).await;
    for i in 0..3 {
        add(&v1, &org, "note", &format!("u{i}"), false).await;
    }
    add(&v1, &org, "note", "p1", true).await;
    for i in 3..6 {
        add(&v1, &org, "note", &format!("u{i}"), false).await;
    }
    assert_eq!(
        contents(&v1, &org, "").await,
        ["u5", "u4", "u3", "p1", "p0"]
    );

    // By age, on insert: older unpinned entries go in the inserting transaction.
    let a = v1
        .put(&settings, json!({"enabled": true, "max_age_days": 1}))
        .await;
    status(&a, 200);
    assert_eq!(
        a.data(),
        &json!({"enabled": true, "max_entries": null, "max_age_days": 1})
    );
    clock.advance(DAY_MS + 1);
    add(&v1, &org, "note", "fresh", false).await;
    assert_eq!(contents(&v1, &org, "").await, ["fresh", "p1", "p0"]);

    // By age, from the periodic pass: exactly one day old stays, older goes.
    clock.advance(DAY_MS);
    assert_eq!(s.app.v1_prune_knowledge_all().await.unwrap(), 0);
    clock.advance(1);
    assert_eq!(s.app.v1_prune_knowledge_all().await.unwrap(), 1);
    assert_eq!(contents(&v1, &org, "").await, ["p1", "p0"]);

    // The pass also enforces a lowered count, and unpinned entries become prunable.
    let a = v1
        .put(&settings, json!({"enabled": false, "max_entries": 1}))
        .await;
    status(&a, 200);
    for i in 0..3 {
        add(&v1, &org, "note", &format!("n{i}"), false).await;
    }
    assert_eq!(s.app.v1_prune_knowledge_all().await.unwrap(), 0);
    status(
        &v1.put(&settings, json!({"enabled": true, "max_entries": 1}))
            .await,
        200,
    );
    assert_eq!(s.app.v1_prune_knowledge_all().await.unwrap(), 2);
    assert_eq!(contents(&v1, &org, "").await, ["n2", "p1", "p0"]);

    // Pinning, unpinning and deleting keep the count pruning relies on exact.
    status(
        &v1.delete(&o(&org, "/knowledge/bulk?source_type=note"))
            .await,
        200,
    );
    status(
        &v1.put(&settings, json!({"enabled": true, "max_entries": 2}))
            .await,
        200,
    );
    let e0 = add(&v1, &org, "note", "e0", false).await;
    add(&v1, &org, "note", "e1", false).await;
    let pin = |e: &Value, pinned: bool| {
        let path = o(
            &org,
            &format!("/knowledge/{}/pin", e["id"].as_str().unwrap()),
        );
        let v1 = v1.clone();
        async move { v1.patch(&path, json!({ "pinned": pinned })).await }
    };
    status(&pin(&e0, true).await, 200);
    status(&pin(&e0, true).await, 200);
    let e2 = add(&v1, &org, "note", "e2", false).await;
    assert_eq!(contents(&v1, &org, "").await, ["e2", "e1", "e0"]);
    status(&pin(&e0, false).await, 200);
    // Unpinning prunes nothing by itself; the next insert does (oldest unpinned first).
    assert_eq!(contents(&v1, &org, "").await, ["e2", "e1", "e0"]);
    add(&v1, &org, "note", "e3", false).await;
    assert_eq!(contents(&v1, &org, "").await, ["e3", "e2"]);
    let a = v1
        .call(
            reqwest::Method::DELETE,
            &o(&org, "/knowledge/bulk"),
            Some(json!({"ids": [e2["id"]]})),
        )
        .await;
    assert_eq!(a.data()["deleted"], 1);
    add(&v1, &org, "note", "e4", false).await;
    assert_eq!(contents(&v1, &org, "").await, ["e4", "e3"]);
    add(&v1, &org, "note", "e5", true).await;
    add(&v1, &org, "note", "e6", false).await;
    assert_eq!(contents(&v1, &org, "").await, ["e6", "e5", "e4"]);
    assert_eq!(s.app.v1_prune_knowledge_all().await.unwrap(), 0);
    s.stop().await.unwrap();
}

async fn settings_defaults_and_validation(backend: Backend) {
    let s = TestServer::start(backend, "v1_content_settings")
        .await
        .unwrap();
    let v1 = s.v1();
    let org = s.root.organization_id.clone();
    let ks = o(&org, "/knowledge-settings");
    let sw = o(&org, "/auto-swap-settings");

    let a = v1.get(&ks).await;
    status(&a, 200);
    assert_eq!(
        a.data(),
        &json!({"enabled": false, "max_entries": null, "max_age_days": null})
    );
    let a = v1.get(&sw).await;
    status(&a, 200);
    assert_eq!(
        a.data(),
        &json!({"enabled": false, "chain_id": null, "target_token": null, "source_tokens": [], "slippage_bps": 50, "min_amount": "0"})
    );

    // Knowledge settings.
    invalid(&v1.put(&ks, json!({})).await, "enabled");
    invalid(&v1.put(&ks, json!({"enabled": "yes"})).await, "enabled");
    invalid(
        &v1.put(&ks, json!({"enabled": true, "max_entries": 0}))
            .await,
        "max_entries",
    );
    invalid(
        &v1.put(&ks, json!({"enabled": true, "max_entries": 1_000_001}))
            .await,
        "max_entries",
    );
    invalid(
        &v1.put(&ks, json!({"enabled": true, "max_age_days": 0}))
            .await,
        "max_age_days",
    );
    invalid(
        &v1.put(&ks, json!({"enabled": true, "max_age_days": 3651}))
            .await,
        "max_age_days",
    );
    invalid(
        &v1.put(&ks, json!({"enabled": true, "other": 1})).await,
        "other",
    );
    let want = json!({"enabled": true, "max_entries": 1_000_000, "max_age_days": 3650});
    let a = v1.put(&ks, want.clone()).await;
    status(&a, 200);
    assert_eq!(a.data(), &want);
    assert_eq!(v1.get(&ks).await.data(), &want);

    // Auto-swap settings (the root user is an owner).
    let token = "0xAbCdEf0123456789aBcDeF0123456789abcdef01";
    let src = "0x1111111111111111111111111111111111111111";
    let base = json!({"enabled": false, "chain_id": 1, "target_token": token, "source_tokens": [src], "slippage_bps": 30, "min_amount": "1000"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    invalid(&v1.put(&sw, json!({})).await, "enabled");
    invalid(&v1.put(&sw, with("chain_id", json!(0))).await, "chain_id");
    invalid(&v1.put(&sw, with("chain_id", json!(-5))).await, "chain_id");
    invalid(&v1.put(&sw, with("chain_id", json!("1"))).await, "chain_id");
    invalid(
        &v1.put(&sw, with("target_token", json!("0x1234"))).await,
        "target_token",
    );
    invalid(
        &v1.put(
            &sw,
            with("target_token", json!(format!("0x{}", "g".repeat(40)))),
        )
        .await,
        "target_token",
    );
    invalid(
        &v1.put(&sw, with("source_tokens", json!([src, "nope"])))
            .await,
        "source_tokens[1]",
    );
    let mixed = "0xAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa";
    invalid(
        &v1.put(
            &sw,
            with("source_tokens", json!([mixed, mixed.to_lowercase()])),
        )
        .await,
        "source_tokens[1]",
    );
    invalid(
        &v1.put(&sw, with("source_tokens", json!([token]))).await,
        "source_tokens[0]",
    );
    invalid(
        &v1.put(&sw, with("slippage_bps", json!(0))).await,
        "slippage_bps",
    );
    invalid(
        &v1.put(&sw, with("slippage_bps", json!(5001))).await,
        "slippage_bps",
    );
    let too_big = "9".repeat(79);
    for bad in ["1.5", "01", "-1", "", "1e3", " 1", too_big.as_str()] {
        invalid(
            &v1.put(&sw, with("min_amount", json!(bad))).await,
            "min_amount",
        );
    }
    invalid(
        &v1.put(&sw, with("min_amount", json!(5))).await,
        "min_amount",
    );
    invalid(
        &v1.put(&sw, with("surprise", json!(true))).await,
        "surprise",
    );
    // Enabled: a target token and a chain this server serves are required.
    invalid(&v1.put(&sw, with("enabled", json!(true))).await, "chain_id");
    invalid(
        &v1.put(&sw, json!({"enabled": true, "target_token": token}))
            .await,
        "chain_id",
    );
    invalid(
        &v1.put(&sw, json!({"enabled": true, "chain_id": 1})).await,
        "target_token",
    );

    let a = v1.put(&sw, base.clone()).await;
    status(&a, 200);
    let stored = json!({"enabled": false, "chain_id": 1, "target_token": token.to_lowercase(), "source_tokens": [src], "slippage_bps": 30, "min_amount": "1000"});
    assert_eq!(a.data(), &stored);
    assert_eq!(v1.get(&sw).await.data(), &stored);
    // Omitted fields take their defaults (PUT replaces).
    let a = v1.put(&sw, json!({"enabled": false})).await;
    assert_eq!(
        a.data(),
        &json!({"enabled": false, "chain_id": null, "target_token": null, "source_tokens": [], "slippage_bps": 50, "min_amount": "0"})
    );
    let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    status(&v1.put(&sw, with("min_amount", json!(max))).await, 200);

    s.app.set_setting(ChainSettings(
        [(1337u64, Arc::new(NoNode) as Arc<dyn ChainRpc>)]
            .into_iter()
            .collect(),
    ));
    invalid(&v1.put(&sw, with("enabled", json!(true))).await, "chain_id");
    let mut on = with("enabled", json!(true));
    on["chain_id"] = json!(1337);
    let a = v1.put(&sw, on).await;
    status(&a, 200);
    assert_eq!(a.data()["enabled"], true);
    assert_eq!(a.data()["chain_id"], 1337);
    s.stop().await.unwrap();
}

async fn auto_swap_owner_only(backend: Backend) {
    let s = TestServer::start(backend, "v1_content_owner")
        .await
        .unwrap();
    let v1 = s.v1();
    let org = s.root.organization_id.clone();
    let sw = o(&org, "/auto-swap-settings");

    // A key acting as a non-root user (a `member`), inserted through the store: the API only
    // mints keys acting as the calling key's user.
    let bob = create_user_with_key(&s.root_client(), &org, "bob", &p256()).await;
    let secret = quorate_crypto::bearer::generate("sk", true).unwrap();
    let record = quorate_domain::BearerKeyRecord {
        id: quorate_domain::id::prefixed_id("key"),
        organization_id: org.clone(),
        key_type: "secret".into(),
        environment: "live".into(),
        name: "bob's".into(),
        key_prefix: secret.preview(),
        secret_hash: quorate_crypto::bearer::hash(secret.expose()),
        scopes: quorate_domain::bearer::SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        source: "api".into(),
        created_by_user_id: bob,
        created_at: 1,
        updated_at: 1,
        ..Default::default()
    };
    let mut tx = s.app.store().begin(&org).await.unwrap();
    tx.insert_bearer_key(&record).await.unwrap();
    tx.commit().await.unwrap();
    let bob = v1.with_key(secret.expose());

    status(&bob.get(&sw).await, 200);
    let a = bob
        .put(&sw, json!({"enabled": false, "slippage_bps": 10}))
        .await;
    error(&a, 403, "role_required");
    // A body that does not decode is refused first; values are checked after the role, so a
    // non-owner learns nothing from their validation.
    error(
        &bob.put(&sw, json!({"enabled": 5})).await,
        422,
        "validation_failed",
    );
    error(
        &bob.put(&sw, json!({"enabled": false, "slippage_bps": 0}))
            .await,
        403,
        "role_required",
    );
    // The owner may; the member then reads what the owner wrote.
    status(
        &v1.put(&sw, json!({"enabled": false, "slippage_bps": 10}))
            .await,
        200,
    );
    assert_eq!(bob.get(&sw).await.data()["slippage_bps"], 10);
    // The member may still change knowledge settings (a scope, not a role, guards them).
    status(
        &bob.put(&o(&org, "/knowledge-settings"), json!({"enabled": false}))
            .await,
        200,
    );
    s.stop().await.unwrap();
}

async fn templates(backend: Backend) {
    let s = TestServer::start(backend, "v1_content_templates")
        .await
        .unwrap();
    let v1 = s.v1();
    let anon = V1::new(&s.base_url, None);
    let org = s.root.organization_id.clone();
    let list = o(&org, "/templates");
    let public = o(&org, "/templates/public");

    let content = json!({"steps": [{"kind": "swap", "amount": "10"}], "version": 2});
    let a = v1
        .post(
            &list,
            json!({"name": "Swap flow", "description": "Swaps", "content": content}),
        )
        .await;
    status(&a, 201);
    let t1 = a.data().clone();
    assert!(t1["id"].as_str().unwrap().starts_with("tpl_"));
    assert_eq!(t1["object"], "template");
    assert_eq!(t1["organization_id"], org.as_str());
    assert_eq!(t1["name"], "Swap flow");
    assert_eq!(t1["description"], "Swaps");
    assert_eq!(t1["content"], content);
    assert_eq!(t1["published"], false);
    let a = v1
        .post(
            &list,
            json!({"name": "Second", "content": {}, "published": true}),
        )
        .await;
    status(&a, 201);
    assert!(a.data()["description"].is_null());
    let t2 = a.data().clone();
    for i in 0..3 {
        let a = v1
            .post(
                &list,
                json!({"name": format!("pub{i}"), "content": {"i": i}, "published": true}),
            )
            .await;
        status(&a, 201);
    }

    // Bad input.
    invalid(&v1.post(&list, json!({"content": {}})).await, "name");
    invalid(
        &v1.post(&list, json!({"name": "  ", "content": {}})).await,
        "name",
    );
    invalid(
        &v1.post(&list, json!({"name": "x".repeat(257), "content": {}}))
            .await,
        "name",
    );
    invalid(&v1.post(&list, json!({"name": "x"})).await, "content");
    invalid(
        &v1.post(&list, json!({"name": "x", "content": [1]})).await,
        "content",
    );
    invalid(
        &v1.post(&list, json!({"name": "x", "content": "{}"})).await,
        "content",
    );
    invalid(
        &v1.post(
            &list,
            json!({"name": "x", "content": {"big": "y".repeat(256 * 1024)}}),
        )
        .await,
        "content",
    );
    invalid(
        &v1.post(
            &list,
            json!({"name": "x", "content": {}, "published": "yes"}),
        )
        .await,
        "published",
    );
    invalid(
        &v1.post(&list, json!({"name": "x", "content": {}, "tags": []}))
            .await,
        "tags",
    );

    // With a key: all of them, newest first, by pages.
    let names = walk(&v1, &format!("{list}?limit=2"), "name").await;
    assert_eq!(names, ["pub2", "pub1", "pub0", "Second", "Swap flow"]);
    // Without a key: published ones only, by pages.
    let names = walk(&anon, &format!("{public}?limit=2"), "name").await;
    assert_eq!(names, ["pub2", "pub1", "pub0", "Second"]);
    let a = anon.get(&public).await;
    status(&a, 200);
    assert_eq!(a.data()[3]["content"], json!({}));

    // Publish, rename, clear the description, replace the content.
    let one = format!("{list}/{}", t1["id"].as_str().unwrap());
    let a = v1.patch(&one, json!({"published": true})).await;
    status(&a, 200);
    assert_eq!(a.data()["published"], true);
    assert_eq!(a.data()["name"], "Swap flow");
    assert_eq!(a.data()["description"], "Swaps");
    let names = walk(&anon, &public, "name").await;
    assert_eq!(names, ["pub2", "pub1", "pub0", "Second", "Swap flow"]);
    let a = v1
        .patch(
            &one,
            json!({"name": "Renamed", "description": null, "content": {"v": 3}}),
        )
        .await;
    status(&a, 200);
    assert_eq!(a.data()["name"], "Renamed");
    assert!(a.data()["description"].is_null());
    assert_eq!(a.data()["content"], json!({"v": 3}));
    assert_eq!(a.data()["published"], true);
    // Withdraw it again.
    let a = v1.patch(&one, json!({"published": false})).await;
    assert_eq!(a.data()["published"], false);
    assert!(!walk(&anon, &public, "name")
        .await
        .contains(&"Renamed".to_string()));
    // An empty patch changes nothing.
    let a = v1.patch(&one, json!({})).await;
    status(&a, 200);
    assert_eq!(a.data()["name"], "Renamed");
    invalid(&v1.patch(&one, json!({"content": 1})).await, "content");
    invalid(&v1.patch(&one, json!({"name": ""})).await, "name");
    invalid(&v1.patch(&one, json!({"what": 1})).await, "what");
    error(
        &v1.patch(&format!("{list}/tpl_nope"), json!({"published": true}))
            .await,
        404,
        "not_found",
    );
    let _ = t2;

    // The public list of an unknown organization is 404.
    let random = uuid_like();
    error(
        &anon.get(&o(&random, "/templates/public")).await,
        404,
        "not_found",
    );
    error(
        &anon.get(&o("nope", "/templates/public")).await,
        404,
        "not_found",
    );
    invalid(&anon.get(&format!("{public}?limit=101")).await, "limit");
    s.stop().await.unwrap();
}

fn uuid_like() -> String {
    quorate_domain::new_id()
}

/// Scopes, projects, and organizations outside the key's reach.
async fn access(backend: Backend) {
    let s = TestServer::start(backend, "v1_content_access")
        .await
        .unwrap();
    let v1 = s.v1();
    let org = s.root.organization_id.clone();
    let anon = V1::new(&s.base_url, None);

    // Wrong scope: 403 scope_missing.
    let reader = key_in_project(
        &v1,
        &["knowledge:read", "templates:read", "settings:read"],
        None,
    )
    .await;
    status(&reader.get(&o(&org, "/knowledge")).await, 200);
    status(&reader.get(&o(&org, "/knowledge-settings")).await, 200);
    status(&reader.get(&o(&org, "/auto-swap-settings")).await, 200);
    status(&reader.get(&o(&org, "/templates")).await, 200);
    let denied = [
        reader
            .post(
                &o(&org, "/knowledge"),
                json!({"source_type": "a", "content": "b"}),
            )
            .await,
        reader
            .patch(&o(&org, "/knowledge/kn_x/pin"), json!({"pinned": true}))
            .await,
        reader
            .delete(&o(&org, "/knowledge/bulk?source_type=a"))
            .await,
        reader
            .put(&o(&org, "/knowledge-settings"), json!({"enabled": false}))
            .await,
        reader
            .put(&o(&org, "/auto-swap-settings"), json!({"enabled": false}))
            .await,
        reader
            .post(&o(&org, "/templates"), json!({"name": "a", "content": {}}))
            .await,
        reader
            .patch(&o(&org, "/templates/tpl_x"), json!({"published": true}))
            .await,
    ];
    for a in &denied {
        error(a, 403, "scope_missing");
    }
    let writer = key_in_project(&v1, &["knowledge:manage", "templates:manage"], None).await;
    error(
        &writer.get(&o(&org, "/knowledge")).await,
        403,
        "scope_missing",
    );
    error(
        &writer.get(&o(&org, "/knowledge-settings")).await,
        403,
        "scope_missing",
    );
    error(
        &writer.get(&o(&org, "/templates")).await,
        403,
        "scope_missing",
    );
    error(
        &writer.get(&o(&org, "/auto-swap-settings")).await,
        403,
        "scope_missing",
    );
    error(
        &anon.get(&o(&org, "/knowledge")).await,
        401,
        "unauthenticated",
    );

    // Outside the reach: a random organization reads exactly like a missing one.
    let random = quorate_domain::new_id();
    let paths = [
        (reqwest::Method::GET, "/knowledge", None),
        (
            reqwest::Method::POST,
            "/knowledge",
            Some(json!({"source_type": "a", "content": "b"})),
        ),
        (
            reqwest::Method::PATCH,
            "/knowledge/kn_x/pin",
            Some(json!({"pinned": true})),
        ),
        (
            reqwest::Method::DELETE,
            "/knowledge/bulk",
            Some(json!({"source_type": "a"})),
        ),
        (reqwest::Method::GET, "/knowledge-settings", None),
        (
            reqwest::Method::PUT,
            "/knowledge-settings",
            Some(json!({"enabled": false})),
        ),
        (reqwest::Method::GET, "/auto-swap-settings", None),
        (
            reqwest::Method::PUT,
            "/auto-swap-settings",
            Some(json!({"enabled": false})),
        ),
        (reqwest::Method::GET, "/templates", None),
        (
            reqwest::Method::POST,
            "/templates",
            Some(json!({"name": "a", "content": {}})),
        ),
        (
            reqwest::Method::PATCH,
            "/templates/tpl_x",
            Some(json!({"published": true})),
        ),
    ];
    for (m, rest, b) in &paths {
        let a = v1.call(m.clone(), &o(&random, rest), b.clone()).await;
        error(&a, 404, "not_found");
        let other = v1.call(m.clone(), &o("not-an-id", rest), b.clone()).await;
        assert_eq!(other.body["error"], a.body["error"], "{m} {rest}");
    }

    // A sub-organization created through the Turnkey face: its parent reads, never writes.
    let (sub, _) = create_sub_org(&s.root_client(), &org, "turnkey-sub", &p256()).await;
    status(&v1.get(&o(&sub, "/knowledge")).await, 200);
    status(&v1.get(&o(&sub, "/templates")).await, 200);
    let a = v1.get(&o(&sub, "/knowledge-settings")).await;
    assert_eq!(a.data()["enabled"], false);
    let a = v1
        .post(
            &o(&sub, "/knowledge"),
            json!({"source_type": "a", "content": "b"}),
        )
        .await;
    error(&a, 403, "parent_read_only");
    let a = v1
        .put(&o(&sub, "/auto-swap-settings"), json!({"enabled": false}))
        .await;
    error(&a, 403, "parent_read_only");
    // The sub-organization's own data is its own: the parent's entries do not show there.
    add(&v1, &org, "root_only", "r", false).await;
    assert!(contents(&v1, &sub, "").await.is_empty());
    // Public templates of the sub-organization: none published.
    let a = anon.get(&o(&sub, "/templates/public")).await;
    status(&a, 200);
    assert_eq!(a.data(), &json!([]));

    // Sub-organizations created through /v1: the parent writes there as the operator user (an
    // owner, so auto-swap settings are open); a sub-organization's key sees neither its parent
    // nor its sibling.
    let mut subs = Vec::new();
    for slug in ["acme-co", "beta-co"] {
        let a = v1
            .post("/v1/organizations", json!({"name": slug, "slug": slug}))
            .await;
        status(&a, 201);
        subs.push(a.data()["id"].as_str().unwrap().to_string());
    }
    let (acme, beta_co) = (&subs[0], &subs[1]);
    add(&v1, acme, "in_acme", "a", false).await;
    status(
        &v1.put(
            &o(acme, "/auto-swap-settings"),
            json!({"enabled": false, "slippage_bps": 7}),
        )
        .await,
        200,
    );
    let a = v1
        .post(
            &o(acme, "/templates"),
            json!({"name": "t", "content": {}, "published": true}),
        )
        .await;
    status(&a, 201);
    let acme_template = a.data()["id"].as_str().unwrap().to_string();
    let a = v1
        .post(&o(acme, "/api-keys"), json!({"name": "tenant"}))
        .await;
    status(&a, 201);
    let tenant = v1.with_key(a.data()["revealed_key"].as_str().unwrap());
    assert_eq!(contents(&tenant, acme, "").await, ["a"]);
    assert_eq!(
        tenant.get(&o(acme, "/auto-swap-settings")).await.data()["slippage_bps"],
        7
    );
    for other in [&org, beta_co] {
        let missing = tenant.get(&o(&random, "/knowledge")).await;
        for a in [
            tenant.get(&o(other, "/knowledge")).await,
            tenant.get(&o(other, "/templates")).await,
            tenant.get(&o(other, "/knowledge-settings")).await,
            tenant
                .put(&o(other, "/auto-swap-settings"), json!({"enabled": false}))
                .await,
        ] {
            error(&a, 404, "not_found");
            assert_eq!(a.body["error"], missing.body["error"]);
        }
    }
    // A template id of another organization is not found in this one.
    let a = v1
        .patch(
            &o(&org, &format!("/templates/{acme_template}")),
            json!({"published": false}),
        )
        .await;
    error(&a, 404, "not_found");
    assert_eq!(
        anon.get(&o(acme, "/templates/public")).await.data()[0]["name"],
        "t"
    );
    // A suspended organization's public templates read as not found.
    let a = v1
        .patch(
            &format!("/v1/organizations/{acme}"),
            json!({"status": "suspended"}),
        )
        .await;
    status(&a, 200);
    error(
        &anon.get(&o(acme, "/templates/public")).await,
        404,
        "not_found",
    );
    status(&anon.get(&o(beta_co, "/templates/public")).await, 200);

    // Project-scoped keys: their project's entries only; settings and templates are closed.
    let a = v1
        .post(&o(&org, "/projects"), json!({"name": "alpha"}))
        .await;
    status(&a, 201);
    let alpha = a.data()["id"].as_str().unwrap().to_string();
    let a = v1
        .post(&o(&org, "/projects"), json!({"name": "beta"}))
        .await;
    status(&a, 201);
    let beta = a.data()["id"].as_str().unwrap().to_string();
    let scopes = [
        "knowledge:read",
        "knowledge:manage",
        "templates:read",
        "templates:manage",
        "settings:read",
        "settings:manage",
        "organizations:update",
    ];
    let pk = key_in_project(&v1, &scopes, Some(&alpha)).await;
    let mine = add(&pk, &org, "shared", "alpha-1", false).await;
    assert_eq!(mine["project_id"], alpha.as_str());
    // An organization key may file entries under a project.
    let a = v1
        .post(
            &o(&org, "/knowledge"),
            json!({"source_type": "shared", "content": "beta-1", "project_id": beta}),
        )
        .await;
    status(&a, 201);
    assert_eq!(a.data()["project_id"], beta.as_str());
    let beta_entry = a.data()["id"].as_str().unwrap().to_string();
    add(&v1, &org, "shared", "org-1", false).await;
    assert_eq!(contents(&pk, &org, "").await, ["alpha-1"]);
    assert_eq!(
        contents(&v1, &org, "&source_type=shared").await,
        ["org-1", "beta-1", "alpha-1"]
    );
    let a = pk
        .post(
            &o(&org, "/knowledge"),
            json!({"source_type": "shared", "content": "x", "project_id": beta}),
        )
        .await;
    error(&a, 403, "project_scope");
    let a = pk
        .post(
            &o(&org, "/knowledge"),
            json!({"source_type": "shared", "content": "alpha-2", "project_id": alpha}),
        )
        .await;
    status(&a, 201);
    let a = pk
        .patch(
            &o(&org, &format!("/knowledge/{beta_entry}/pin")),
            json!({"pinned": true}),
        )
        .await;
    error(&a, 404, "not_found");
    let a = pk
        .call(
            reqwest::Method::DELETE,
            &o(&org, "/knowledge/bulk"),
            Some(json!({"ids": [beta_entry]})),
        )
        .await;
    assert_eq!(a.data()["deleted"], 0);
    let a = pk
        .delete(&o(&org, "/knowledge/bulk?source_type=shared"))
        .await;
    assert_eq!(a.data()["deleted"], 2);
    assert_eq!(
        contents(&v1, &org, "&source_type=shared").await,
        ["org-1", "beta-1"]
    );
    for a in [
        pk.get(&o(&org, "/knowledge-settings")).await,
        pk.put(&o(&org, "/knowledge-settings"), json!({"enabled": false}))
            .await,
        pk.get(&o(&org, "/auto-swap-settings")).await,
        pk.put(&o(&org, "/auto-swap-settings"), json!({"enabled": false}))
            .await,
        pk.get(&o(&org, "/templates")).await,
        pk.post(&o(&org, "/templates"), json!({"name": "a", "content": {}}))
            .await,
        pk.patch(&o(&org, "/templates/tpl_x"), json!({"published": true}))
            .await,
    ] {
        error(&a, 403, "project_scope");
    }
    // A project key has no reach into sub-organizations.
    error(&pk.get(&o(&sub, "/knowledge")).await, 404, "not_found");
    s.stop().await.unwrap();
}

/// A chain node that is never called: auto-swap settings only check the chain is configured.
struct NoNode;

type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, ChainError>> + Send + 'a>>;

fn never<'a, T: 'a>() -> Fut<'a, T> {
    Box::pin(async { Err(ChainError("not a node".into())) })
}

impl ChainRpc for NoNode {
    fn pending_nonce<'l0, 'l1, 'at>(&'l0 self, _: &'l1 str) -> Fut<'at, u64>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        never()
    }
    fn estimate_gas<'l0, 'l1, 'at>(&'l0 self, _: &'l1 TxCall) -> Fut<'at, u64>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        never()
    }
    fn fees<'l0, 'at>(&'l0 self) -> Fut<'at, FeeQuote>
    where
        'l0: 'at,
        Self: 'at,
    {
        never()
    }
    fn send_raw_transaction<'l0, 'l1, 'at>(&'l0 self, _: &'l1 [u8]) -> Fut<'at, String>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        never()
    }
    fn transaction_known<'l0, 'l1, 'at>(&'l0 self, _: &'l1 str) -> Fut<'at, bool>
    where
        'l0: 'at,
        'l1: 'at,
        Self: 'at,
    {
        never()
    }
}

crate::on_both_stores!(
    knowledge_entries,
    knowledge_pruning,
    settings_defaults_and_validation,
    auto_swap_owner_only,
    templates,
    access
);
