//! `/v1` end-to-end tests: usage metering (compute units) and plans — idempotent ingestion
//! with the daily rollup, balance with top-ups and thresholds, usage per day and per workflow,
//! the run list's keyset paging, tiers and prorated plan changes, scopes, reach and project keys.

use crate::on_both_stores;
use crate::support::*;
use quorate_app::mgmt::rfc3339;
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

on_both_stores!(
    ingestion,
    concurrent_duplicates,
    balance_and_top_ups,
    usage_per_day_and_workflow,
    run_list_paging,
    plans,
    scopes_reach_and_projects,
    answers_match_the_openapi_schemas,
);

/// 2025-01-21T12:00:00Z: 10.5 of January's 31 days are left.
const T0: i64 = 1_737_460_800_000;
const DAY: i64 = 86_400_000;
const FOREIGN: &str = "7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f";

fn run(id: &str, workflow: &str, cu: i64, finished: i64) -> Value {
    json!({"run_id": id, "workflow_id": workflow, "cu_cost": cu, "started_at": rfc3339(finished - 1_000), "finished_at": rfc3339(finished)})
}

async fn start(backend: Backend, name: &str) -> (TestServer, std::sync::Arc<ManualClock>) {
    let clock = ManualClock::new(T0);
    let s = TestServer::start_with_clock(backend, name, clock.clone())
        .await
        .unwrap();
    (s, clock)
}

fn statuses(a: &quorate_testkit::v1::V1Answer) -> Vec<String> {
    a.data()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {:?}", a.body))
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

fn assert_422(a: &quorate_testkit::v1::V1Answer, field: &str) {
    assert_eq!(
        (a.status, a.code()),
        (422, "validation_failed"),
        "{:?}",
        a.body
    );
    let msg = a.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains(field), "`{field}` not named in: {msg}");
}

/// `SUM(cu), COUNT(*)` over `cu_runs` and `SUM(cu), SUM(runs)` over `cu_daily`.
async fn totals(s: &TestServer, org: &str) -> ((i64, i64), (i64, i64)) {
    use quorate_store::mgmt::usage;
    let mut r = s.app.store().reader().await.unwrap();
    let raw = usage::raw_total(r.db_handle().unwrap(), org).await.unwrap();
    let rollup = usage::rollup_total(r.db_handle().unwrap(), org)
        .await
        .unwrap();
    (raw, rollup)
}

async fn ingestion(backend: Backend) {
    let (s, _clock) = start(backend, "v1_usage_ingest").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let path = format!("/v1/organizations/{org}/cu/runs");

    // 12 runs over 3 days and 2 workflows.
    let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut batch = Vec::new();
    for i in 0..12i64 {
        let wf = if i % 2 == 0 { "wf-a" } else { "wf-b" };
        let mut r = run(&format!("r{i:02}"), wf, 10 + i, T0 - (i % 3) * DAY);
        if wf == "wf-a" {
            r["workflow_name"] = json!("Alpha");
        }
        let e = expected.entry(wf.to_string()).or_default();
        e.0 += 10 + i;
        e.1 += 1;
        batch.push(r);
    }
    let a = root.post(&path, json!({"runs": batch})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(statuses(&a), vec!["created"; 12]);
    assert_eq!(
        a.data()[3]["run_id"],
        json!("r03"),
        "answers keep the request order"
    );
    // A replay changes nothing.
    let again = root.post(&path, json!({"runs": batch})).await;
    assert_eq!(statuses(&again), vec!["duplicate"; 12]);
    // Known and new runs mixed.
    let mixed = root
        .post(
            &path,
            json!({"runs": [batch[0].clone(), run("r100", "wf-b", 7, T0)]}),
        )
        .await;
    assert_eq!(statuses(&mixed), ["duplicate", "created"]);
    expected.get_mut("wf-b").unwrap().0 += 7;
    expected.get_mut("wf-b").unwrap().1 += 1;
    // A known id with other content: 409 naming it, and nothing of the batch is recorded.
    let mut changed = batch[1].clone();
    changed["cu_cost"] = json!(999);
    let c = root
        .post(
            &path,
            json!({"runs": [run("r200", "wf-a", 1, T0), changed]}),
        )
        .await;
    assert_eq!((c.status, c.code()), (409, "run_conflict"), "{:?}", c.body);
    assert!(c.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("runs[1].run_id"));
    let later = root
        .post(&path, json!({"runs": [run("r200", "wf-a", 1, T0)]}))
        .await;
    assert_eq!(
        statuses(&later),
        ["created"],
        "the rejected batch left nothing behind"
    );
    expected.get_mut("wf-a").unwrap().0 += 1;
    expected.get_mut("wf-a").unwrap().1 += 1;
    // Another workflow name on a replayed run is other content too.
    let mut renamed = batch[0].clone();
    renamed["workflow_name"] = json!("Renamed");
    let c = root.post(&path, json!({"runs": [renamed]})).await;
    assert_eq!(c.code(), "run_conflict");

    // Bad input names the field.
    let dup = root
        .post(
            &path,
            json!({"runs": [run("x1", "w", 1, T0), run("x1", "w", 1, T0)]}),
        )
        .await;
    assert_422(&dup, "runs[1].run_id");
    assert_422(&root.post(&path, json!({"runs": []})).await, "`runs`");
    let many: Vec<Value> = (0..1001)
        .map(|i| run(&format!("m{i}"), "w", 1, T0))
        .collect();
    assert_422(&root.post(&path, json!({"runs": many})).await, "`runs`");
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut r = run("bad", "w", 1, T0);
        f(&mut r);
        json!({"runs": [run("ok", "w", 1, T0), r]})
    };
    for (body, field) in [
        (bad(&|r| r["cu_cost"] = json!(-1)), "runs[1].cu_cost"),
        (bad(&|r| r["cu_cost"] = json!(1.5)), "runs[1].cu_cost"),
        (
            bad(&|r| r["started_at"] = json!("yesterday")),
            "runs[1].started_at",
        ),
        (
            bad(&|r| r["started_at"] = json!(rfc3339(T0 + 1))),
            "runs[1].finished_at",
        ),
        (
            bad(&|r| r["finished_at"] = json!(rfc3339(T0 + 2 * 3_600_000))),
            "runs[1].finished_at",
        ),
        (bad(&|r| r["run_id"] = json!("")), "runs[1].run_id"),
        (
            bad(&|r| r["run_id"] = json!("x".repeat(129))),
            "runs[1].run_id",
        ),
        (
            bad(&|r| r["workflow_id"] = json!("")),
            "runs[1].workflow_id",
        ),
        (
            bad(&|r| r["project_id"] = json!("prj_nope")),
            "runs[1].project_id",
        ),
        (bad(&|r| r["color"] = json!("red")), "color"),
        (
            bad(&|r| {
                r.as_object_mut().unwrap().remove("workflow_id");
            }),
            "workflow_id",
        ),
    ] {
        assert_422(&root.post(&path, body).await, field);
    }
    let not_object = root.post(&path, json!([1])).await;
    assert_eq!(
        (not_object.status, not_object.code()),
        (400, "invalid_request")
    );
    // RFC 3339 with an offset is the same instant.
    let off = root
        .post(&path, json!({"runs": [{"run_id": "tz", "workflow_id": "wf-a", "cu_cost": 0, "started_at": "2025-01-21T13:00:00+01:00", "finished_at": "2025-01-21T07:00:00.5-05:00"}]}))
        .await;
    assert_eq!(statuses(&off), ["created"]);
    expected.get_mut("wf-a").unwrap().1 += 1;
    let listed = root.get(&format!("{path}?workflow_id=wf-a&limit=1")).await;
    assert_eq!(listed.data()[0]["run_id"], json!("tz"));
    assert_eq!(listed.data()[0]["started_at"], json!(rfc3339(T0)));
    assert_eq!(listed.data()[0]["finished_at"], json!(rfc3339(T0 + 500)));

    // The rollup equals the raw sums, and the endpoints agree with what was sent.
    let (raw, rollup) = totals(&s, &org).await;
    let sent: (i64, i64) = expected
        .values()
        .fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    assert_eq!(raw, sent);
    assert_eq!(rollup, sent);
    let w = root
        .get(&format!(
            "/v1/organizations/{org}/cu/usage-by-workflow?from=2025-01-01&to=2025-01-31"
        ))
        .await;
    assert_eq!(w.status, 200, "{:?}", w.body);
    let got: BTreeMap<String, (i64, i64)> = w
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["workflow_id"].as_str().unwrap().to_string(),
                (r["cu"].as_i64().unwrap(), r["runs"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        w.data()[0]["workflow_name"]
            .as_str()
            .or(w.data()[1]["workflow_name"].as_str()),
        Some("Alpha")
    );
    s.stop().await.unwrap();
}

/// The same batch sent 4 times at once: every run is created exactly once and counted once.
async fn concurrent_duplicates(backend: Backend) {
    let (s, _clock) = start(backend, "v1_usage_concurrent").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let path = format!("/v1/organizations/{org}/cu/runs");
    let batch: Vec<Value> = (0..200)
        .map(|i| {
            run(
                &format!("c{i:03}"),
                &format!("wf-{}", i % 7),
                i,
                T0 - (i % 5) * DAY,
            )
        })
        .collect();
    let body = json!({"runs": batch});
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (root, path, body) = (root.clone(), path.clone(), body.clone());
            tokio::spawn(async move { root.post(&path, body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    let mut created = 0;
    for a in &answers {
        assert_eq!(a.status, 200, "{:?}", a.body);
        created += statuses(a).iter().filter(|s| *s == "created").count();
    }
    assert_eq!(
        created, 200,
        "each run is created by exactly one of the batches"
    );
    let (raw, rollup) = totals(&s, &org).await;
    assert_eq!(raw, ((0..200).sum(), 200));
    assert_eq!(rollup, raw);
    s.stop().await.unwrap();
}

async fn balance_and_top_ups(backend: Backend) {
    let (s, clock) = start(backend, "v1_usage_balance").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let cu = format!("/v1/organizations/{org}/cu");
    let jan = 1_735_689_600_000; // 2025-01-01T00:00:00Z
    let feb = jan + 31 * DAY;

    let b = root.get(&cu).await;
    assert_eq!(b.status, 200, "{:?}", b.body);
    assert_eq!(
        *b.data(),
        json!({"object": "cu_balance", "organization_id": org, "tier_id": "free", "period_start": rfc3339(jan), "period_end": rfc3339(feb),
               "allotment": 1000, "top_ups": 0, "used": 0, "balance": 1000, "alert_threshold": null, "below_threshold": false})
    );
    // Only runs finishing in this period count (by the UTC day of finished_at).
    let a = root
        .post(
            &format!("{cu}/runs"),
            json!({"runs": [
                run("dec", "w", 5000, T0 - 30 * DAY),
                run("dec-last-ms", "w", 7, jan - 1),
                run("jan-first-ms", "w", 200, jan),
                run("today", "w", 300, T0),
            ]}),
        )
        .await;
    assert_eq!(statuses(&a), vec!["created"; 4]);
    let b = root.get(&cu).await;
    assert_eq!(
        (b.data()["used"].as_i64(), b.data()["balance"].as_i64()),
        (Some(500), Some(500))
    );

    // Top-ups: idempotent on reference.
    let t = root
        .post(
            &format!("{cu}/top-ups"),
            json!({"cu": 250, "reference": "inv-1", "note": "January"}),
        )
        .await;
    assert_eq!(t.status, 201, "{:?}", t.body);
    let id = t.data()["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("top_"));
    assert_eq!(t.data()["object"], json!("cu_top_up"));
    let replay = root
        .post(
            &format!("{cu}/top-ups"),
            json!({"cu": 250, "reference": "inv-1", "note": "January"}),
        )
        .await;
    assert_eq!(
        (replay.status, replay.data()["id"].as_str()),
        (200, Some(id.as_str()))
    );
    let reused = root
        .post(
            &format!("{cu}/top-ups"),
            json!({"cu": 251, "reference": "inv-1", "note": "January"}),
        )
        .await;
    assert_eq!((reused.status, reused.code()), (409, "reference_reused"));
    assert_422(
        &root
            .post(&format!("{cu}/top-ups"), json!({"cu": 0, "reference": "x"}))
            .await,
        "`cu`",
    );
    assert_422(
        &root
            .post(&format!("{cu}/top-ups"), json!({"cu": 5, "reference": ""}))
            .await,
        "`reference`",
    );
    assert_422(
        &root.post(&format!("{cu}/top-ups"), json!({"cu": 5})).await,
        "reference",
    );
    let b = root.get(&cu).await;
    assert_eq!(
        (b.data()["top_ups"].as_i64(), b.data()["balance"].as_i64()),
        (Some(250), Some(750))
    );

    // The alert threshold.
    let p = root.patch(&cu, json!({"alert_threshold": 800})).await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    assert_eq!(
        (
            p.data()["alert_threshold"].as_i64(),
            p.data()["below_threshold"].as_bool()
        ),
        (Some(800), Some(true))
    );
    let p = root.patch(&cu, json!({"alert_threshold": 750})).await;
    assert_eq!(
        p.data()["below_threshold"],
        json!(false),
        "at the threshold is not below it"
    );
    assert_eq!(root.get(&cu).await.data()["alert_threshold"], json!(750));
    assert_422(
        &root.patch(&cu, json!({"alert_threshold": -1})).await,
        "alert_threshold",
    );
    assert_422(&root.patch(&cu, json!({})).await, "alert_threshold");
    assert_422(
        &root.patch(&cu, json!({"alert_threshold": "1"})).await,
        "alert_threshold",
    );
    let p = root.patch(&cu, json!({"alert_threshold": null})).await;
    assert_eq!(
        (
            p.data()["alert_threshold"].clone(),
            p.data()["below_threshold"].clone()
        ),
        (json!(null), json!(false))
    );

    // Usage beyond the allotment: the balance goes negative.
    root.post(
        &format!("{cu}/runs"),
        json!({"runs": [run("big", "w", 2000, T0)]}),
    )
    .await;
    let b = root.get(&cu).await;
    assert_eq!(b.data()["balance"], json!(-1250));

    // A new period: no roll-over of top-ups, usage starts again; the threshold stays.
    root.patch(&cu, json!({"alert_threshold": 10})).await;
    clock.advance(12 * DAY);
    let b = root.get(&cu).await;
    assert_eq!(
        (
            b.data()["period_start"].clone(),
            b.data()["used"].clone(),
            b.data()["top_ups"].clone(),
            b.data()["balance"].clone(),
            b.data()["alert_threshold"].clone()
        ),
        (
            json!(rfc3339(feb)),
            json!(0),
            json!(0),
            json!(1000),
            json!(10)
        )
    );
    s.stop().await.unwrap();
}

async fn usage_per_day_and_workflow(backend: Backend) {
    let (s, _clock) = start(backend, "v1_usage_days").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let base = format!("/v1/organizations/{org}/cu");
    let mut gamma = run("g", "wf-c", 30, T0);
    gamma["workflow_name"] = json!("Gamma");
    let a = root
        .post(
            &format!("{base}/runs"),
            json!({"runs": [
                run("a1", "wf-a", 10, T0 - 2 * DAY), run("b1", "wf-b", 5, T0 - 2 * DAY),
                run("a2", "wf-a", 1, T0), gamma, run("d1", "wf-d", 5, T0 - 40 * DAY),
            ]}),
        )
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    let u = root
        .get(&format!(
            "{base}/usage?from=2025-01-18&to=2025-01-21&limit=10"
        ))
        .await;
    assert_eq!(u.status, 200, "{:?}", u.body);
    assert_eq!(
        *u.data(),
        json!([
            {"date": "2025-01-18", "cu": 0, "runs": 0},
            {"date": "2025-01-19", "cu": 15, "runs": 2},
            {"date": "2025-01-20", "cu": 0, "runs": 0},
            {"date": "2025-01-21", "cu": 31, "runs": 2},
        ])
    );
    assert_eq!(u.body["pagination"]["has_more"], json!(false));
    // Paged by days.
    let p1 = root
        .get(&format!(
            "{base}/usage?from=2025-01-18&to=2025-01-21&limit=3"
        ))
        .await;
    assert_eq!(p1.data().as_array().unwrap().len(), 3);
    assert_eq!(p1.body["pagination"]["has_more"], json!(true));
    let cursor = p1.body["pagination"]["next_cursor"].as_str().unwrap();
    let p2 = root
        .get(&format!(
            "{base}/usage?from=2025-01-18&to=2025-01-21&limit=3&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        *p2.data(),
        json!([{"date": "2025-01-21", "cu": 31, "runs": 2}])
    );
    assert_eq!(p2.body["pagination"]["next_cursor"], json!(null));
    // A range of a single day; 366 days is the longest (2024 is a leap year).
    let one = root
        .get(&format!("{base}/usage?from=2025-01-21&to=2025-01-21"))
        .await;
    assert_eq!(
        *one.data(),
        json!([{"date": "2025-01-21", "cu": 31, "runs": 2}])
    );
    let long = root
        .get(&format!(
            "{base}/usage?from=2024-01-02&to=2025-01-01&limit=100"
        ))
        .await;
    assert_eq!(
        (long.status, long.data()[0]["date"].as_str()),
        (200, Some("2024-01-02"))
    );
    // Range validation names the parameter.
    for (q, field) in [
        ("to=2025-01-21", "`from`"),
        ("from=2025-01-21", "`to`"),
        ("from=2025-1-21&to=2025-01-22", "`from`"),
        ("from=2025-02-30&to=2025-03-01", "`from`"),
        ("from=2025-01-21&to=yesterday", "`to`"),
        ("from=2025-01-21&to=2025-01-20", "`to`"),
        ("from=2024-01-01&to=2025-01-01", "`to`"),
        ("from=2025-01-01&to=2025-01-02&limit=0", "`limit`"),
        ("from=2025-01-01&to=2025-01-02&cursor=nope", "`cursor`"),
    ] {
        assert_422(&root.get(&format!("{base}/usage?{q}")).await, field);
        assert_422(
            &root.get(&format!("{base}/usage-by-workflow?{q}")).await,
            field,
        );
    }

    // By workflow: most CU first, ties by workflow id; the range bounds apply.
    let w = root
        .get(&format!(
            "{base}/usage-by-workflow?from=2024-12-01&to=2025-01-31"
        ))
        .await;
    assert_eq!(
        *w.data(),
        json!([
            {"workflow_id": "wf-c", "workflow_name": "Gamma", "cu": 30, "runs": 1},
            {"workflow_id": "wf-a", "workflow_name": null, "cu": 11, "runs": 2},
            {"workflow_id": "wf-b", "workflow_name": null, "cu": 5, "runs": 1},
            {"workflow_id": "wf-d", "workflow_name": null, "cu": 5, "runs": 1},
        ])
    );
    let jan = root
        .get(&format!(
            "{base}/usage-by-workflow?from=2025-01-01&to=2025-01-31&limit=2"
        ))
        .await;
    let ids: Vec<&str> = jan
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workflow_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wf-c", "wf-a"]);
    let cursor = jan.body["pagination"]["next_cursor"].as_str().unwrap();
    let rest = root
        .get(&format!(
            "{base}/usage-by-workflow?from=2025-01-01&to=2025-01-31&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        *rest.data(),
        json!([{"workflow_id": "wf-b", "workflow_name": null, "cu": 5, "runs": 1}])
    );
    assert_eq!(rest.body["pagination"]["has_more"], json!(false));
    s.stop().await.unwrap();
}

async fn run_list_paging(backend: Backend) {
    let (s, _clock) = start(backend, "v1_usage_runs").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let path = format!("/v1/organizations/{org}/cu/runs");
    // 25 runs one second apart; the last 5 share one finished_at (ties: the later row first).
    let finished = |i: i64| T0 - i.min(20) * 1_000;
    let batch: Vec<Value> = (0..25)
        .map(|i| {
            run(
                &format!("run-{i:02}"),
                if i % 2 == 0 { "even" } else { "odd" },
                i,
                finished(i),
            )
        })
        .collect();
    assert_eq!(root.post(&path, json!({"runs": batch})).await.status, 200);
    let mut want: Vec<String> = (0..20).map(|i| format!("run-{i:02}")).collect();
    want.extend((20..25).rev().map(|i| format!("run-{i:02}")));

    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            None => format!("{path}?limit=10"),
            Some(c) => format!("{path}?limit=10&cursor={c}"),
        };
        let a = root.get(&q).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        pages += 1;
        got.extend(
            a.data()
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["run_id"].as_str().unwrap().to_string()),
        );
        match a.body["pagination"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!((pages, &got), (3, &want));
    let first = root.get(&format!("{path}?limit=1")).await;
    assert_eq!(
        first.data()[0],
        json!({"object": "cu_run", "run_id": "run-00", "project_id": null, "workflow_id": "even", "workflow_name": null, "cu_cost": 0,
               "started_at": rfc3339(T0 - 1_000), "finished_at": rfc3339(T0), "created_at": rfc3339(T0)})
    );
    // Filters: workflow, and from ≤ finished_at < to.
    let odd = root.get(&format!("{path}?workflow_id=odd&limit=100")).await;
    assert_eq!(odd.data().as_array().unwrap().len(), 12);
    assert!(odd
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["workflow_id"] == json!("odd")));
    let window = root
        .get(&format!(
            "{path}?from={}&to={}",
            rfc3339(T0 - 5_000),
            rfc3339(T0 - 1_000)
        ))
        .await;
    let ids: Vec<&str> = window
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["run-02", "run-03", "run-04", "run-05"]);
    let day = root.get(&format!("{path}?from=2025-01-22")).await;
    assert_eq!(day.data().as_array().unwrap().len(), 0);
    assert_422(
        &root
            .get(&format!("{path}?from=2025-01-21&to=2025-01-21"))
            .await,
        "`to`",
    );
    assert_422(&root.get(&format!("{path}?from=soon")).await, "`from`");
    assert_422(
        &root.get(&format!("{path}?cursor=djE6eA")).await,
        "`cursor`",
    );
    s.stop().await.unwrap();
}

async fn plans(backend: Backend) {
    let (s, clock) = start(backend, "v1_usage_plans").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let options = format!("/v1/organizations/{org}/plan-options");
    let plan = format!("/v1/organizations/{org}/plan");
    let jan = rfc3339(1_735_689_600_000);
    let feb = rfc3339(1_735_689_600_000 + 31 * DAY);

    let t = root.get("/v1/tiers").await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    let ids: Vec<&str> = t
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["free", "starter", "pro", "enterprise"]);
    assert_eq!(
        t.data()[1],
        json!({"id": "starter", "object": "tier", "name": "Starter", "cu_allotment": 50000, "price_minor": 2900, "currency": "USD", "period": "month"})
    );

    // From free, 252 of 744 hours left: price × 252/744, rounded half-up.
    let o = root.get(&options).await;
    assert_eq!(o.status, 200, "{:?}", o.body);
    let got: Vec<(String, String, i64, i64)> = o
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["to_tier_id"].as_str().unwrap().into(),
                o["kind"].as_str().unwrap().into(),
                o["prorated_price_minor"].as_i64().unwrap(),
                o["period_allotment"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("starter".into(), "upgrade".into(), 982, 17_597),
            ("pro".into(), "upgrade".into(), 6_740, 170_016),
            ("enterprise".into(), "upgrade".into(), 33_837, 1_694_210),
        ]
    );
    assert_eq!(
        o.data()[1],
        json!({"object": "plan_option", "from_tier_id": "free", "to_tier_id": "pro", "kind": "upgrade", "effective_at": rfc3339(T0),
               "prorated_price_minor": 6740, "full_price_minor": 19900, "currency": "USD", "period_start": jan, "period_end": feb, "period_allotment": 170016})
    );

    let p = root.put(&plan, json!({"tier_id": "pro"})).await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    assert_eq!(
        *p.data(),
        json!({"object": "plan", "organization_id": org, "tier_id": "pro", "pending_tier_id": null, "period_start": jan, "period_end": feb,
               "period_allotment": 170016, "charged_minor": 6740, "currency": "USD"})
    );
    let b = root.get(&format!("/v1/organizations/{org}/cu")).await;
    assert_eq!(
        (b.data()["tier_id"].as_str(), b.data()["allotment"].as_i64()),
        (Some("pro"), Some(170_016))
    );
    let same = root.put(&plan, json!({"tier_id": "pro"})).await;
    assert_eq!((same.status, same.code()), (409, "same_tier"));
    assert_422(
        &root.put(&plan, json!({"tier_id": "platinum"})).await,
        "tier_id",
    );
    assert_422(&root.put(&plan, json!({})).await, "tier_id");

    // A day later, a downgrade credits: −19,900 × 228/744 → −6,098.
    clock.advance(DAY);
    let o = root.get(&options).await;
    let free = o
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["to_tier_id"] == json!("free"))
        .unwrap()
        .clone();
    assert_eq!(
        (
            free["from_tier_id"].as_str(),
            free["kind"].as_str(),
            free["prorated_price_minor"].as_i64(),
            free["period_allotment"].as_i64()
        ),
        (Some("pro"), Some("downgrade"), Some(-6_098), Some(17_097))
    );
    let p = root.put(&plan, json!({"tier_id": "free"})).await;
    assert_eq!(
        (
            p.data()["charged_minor"].as_i64(),
            p.data()["period_allotment"].as_i64()
        ),
        (Some(-6_098), Some(17_097))
    );
    // Paging of the options.
    let o = root.get(&format!("{options}?limit=2")).await;
    assert_eq!(
        (
            o.data().as_array().unwrap().len(),
            o.body["pagination"]["has_more"].as_bool()
        ),
        (2, Some(true))
    );
    // The next period starts with the tier's full allotment.
    clock.advance(11 * DAY);
    let b = root.get(&format!("/v1/organizations/{org}/cu")).await;
    assert_eq!(
        (b.data()["tier_id"].as_str(), b.data()["allotment"].as_i64()),
        (Some("free"), Some(1000))
    );

    // Deployments configure their own tiers; the first is the default.
    s.app
        .v1_load_tiers(r#"[{"id":"basic","name":"Basic","cu_allotment":10,"price_minor":0,"currency":"EUR"},{"id":"max","name":"Max","cu_allotment":100,"price_minor":500,"currency":"EUR"}]"#)
        .unwrap();
    assert!(s.app.v1_load_tiers("[]").is_err());
    let t = root.get("/v1/tiers").await;
    assert_eq!(t.data().as_array().unwrap().len(), 2);
    // The stored tier `free` is no longer configured: the organization is on the default.
    let b = root.get(&format!("/v1/organizations/{org}/cu")).await;
    assert_eq!(
        (b.data()["tier_id"].as_str(), b.data()["allotment"].as_i64()),
        (Some("basic"), Some(10))
    );
    let o = root.get(&options).await;
    assert_eq!(o.data()[0]["currency"], json!("EUR"));
    s.stop().await.unwrap();
}

async fn scopes_reach_and_projects(backend: Backend) {
    let (s, _clock) = start(backend, "v1_usage_access").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let o = |p: &str| format!("/v1/organizations/{org}{p}");
    let days = "?from=2025-01-01&to=2025-01-31";

    // Scopes.
    let reader = key_in_project(&root, &["usage:read"], None).await;
    let writer = key_in_project(&root, &["usage:write"], None).await;
    let denied = [
        reader
            .post(&o("/cu/runs"), json!({"runs": [run("s", "w", 1, T0)]}))
            .await,
        reader.patch(&o("/cu"), json!({"alert_threshold": 1})).await,
        reader
            .post(&o("/cu/top-ups"), json!({"cu": 1, "reference": "r"}))
            .await,
        reader.put(&o("/plan"), json!({"tier_id": "pro"})).await,
        writer.get(&o("/cu")).await,
        writer.get(&o("/cu/runs")).await,
        writer.get(&o(&format!("/cu/usage{days}"))).await,
        writer
            .get(&o(&format!("/cu/usage-by-workflow{days}")))
            .await,
        writer.get(&o("/plan-options")).await,
        writer.get("/v1/tiers").await,
    ];
    for a in &denied {
        assert_eq!((a.status, a.code()), (403, "scope_missing"), "{:?}", a.body);
    }
    assert_eq!(reader.get(&o("/cu")).await.status, 200);
    assert_eq!(reader.get("/v1/tiers").await.status, 200);
    assert_eq!(
        writer
            .post(&o("/cu/runs"), json!({"runs": [run("s", "w", 1, T0)]}))
            .await
            .status,
        200
    );

    // A publishable key reads the tiers from its origins only.
    let pk = root
        .post("/v1/api-keys", json!({"name": "web", "type": "publishable", "allowed_origins": ["https://app.example.com"]}))
        .await;
    assert_eq!(pk.status, 201, "{:?}", pk.body);
    let pk = root.with_key(pk.data()["revealed_key"].as_str().unwrap());
    let ok = pk
        .request(
            reqwest::Method::GET,
            "/v1/tiers",
            None,
            &[("origin", "https://app.example.com")],
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let bad = pk
        .request(
            reqwest::Method::GET,
            "/v1/tiers",
            None,
            &[("origin", "https://evil.example.com")],
        )
        .await;
    assert_eq!((bad.status, bad.code()), (403, "origin_not_allowed"));
    let no = pk
        .request(
            reqwest::Method::GET,
            &o("/cu"),
            None,
            &[("origin", "https://app.example.com")],
        )
        .await;
    assert_eq!(no.status, 403);

    // Foreign organizations are not found, exactly like a random id.
    let f = |p: &str| format!("/v1/organizations/{FOREIGN}{p}");
    let answers = [
        root.get(&f("/cu")).await,
        root.patch(&f("/cu"), json!({"alert_threshold": 1})).await,
        root.post(&f("/cu/runs"), json!({"runs": [run("f", "w", 1, T0)]}))
            .await,
        root.get(&f("/cu/runs")).await,
        root.get(&f(&format!("/cu/usage{days}"))).await,
        root.get(&f(&format!("/cu/usage-by-workflow{days}"))).await,
        root.post(&f("/cu/top-ups"), json!({"cu": 1, "reference": "r"}))
            .await,
        root.get(&f("/plan-options")).await,
        root.put(&f("/plan"), json!({"tier_id": "pro"})).await,
        root.get("/v1/organizations/not-a-uuid/cu").await,
    ];
    for a in &answers {
        assert_eq!((a.status, a.code()), (404, "not_found"), "{:?}", a.body);
        assert_eq!(a.body["error"], answers[0].body["error"]);
    }

    // A Turnkey-created sub-organization: its parent reads, does not write.
    let (sub, _) = create_sub_org(&s.root_client(), &org, "end-user", &p256()).await;
    let so = |p: &str| format!("/v1/organizations/{sub}{p}");
    assert_eq!(root.get(&so("/cu")).await.status, 200);
    assert_eq!(root.get(&so("/cu/runs")).await.status, 200);
    let w = root
        .post(&so("/cu/runs"), json!({"runs": [run("x", "w", 1, T0)]}))
        .await;
    assert_eq!((w.status, w.code()), (403, "parent_read_only"));
    // A /v1-created one is writable and metered on its own.
    let acme = root
        .post(
            "/v1/organizations",
            json!({"name": "Acme", "slug": "acme-usage"}),
        )
        .await;
    assert_eq!(acme.status, 201, "{:?}", acme.body);
    let acme = acme.data()["id"].as_str().unwrap().to_string();
    let a = root
        .post(
            &format!("/v1/organizations/{acme}/cu/runs"),
            json!({"runs": [run("s", "w", 40, T0)]}),
        )
        .await;
    assert_eq!(statuses(&a), ["created"], "run ids are per organization");
    let b = root.get(&format!("/v1/organizations/{acme}/cu")).await;
    assert_eq!(b.data()["used"], json!(40));
    assert_eq!(root.get(&o("/cu")).await.data()["used"], json!(1));

    // Project keys: only their project's runs and usage; organization-level endpoints closed.
    let projects = o("/projects");
    let mk = |name: &str| root.post(&projects, json!({"name": name}));
    let alpha = mk("alpha").await;
    assert_eq!(alpha.status, 201, "{:?}", alpha.body);
    let alpha = alpha.data()["id"].as_str().unwrap().to_string();
    let beta = mk("beta").await.data()["id"].as_str().unwrap().to_string();
    let mut in_alpha = run("pa", "wf-a", 3, T0);
    in_alpha["project_id"] = json!(alpha);
    let mut in_beta = run("pb", "wf-b", 5, T0);
    in_beta["project_id"] = json!(beta);
    let a = root
        .post(&o("/cu/runs"), json!({"runs": [in_alpha, in_beta]}))
        .await;
    assert_eq!(statuses(&a), ["created", "created"]);
    let pkey = key_in_project(
        &root,
        &["usage:read", "usage:write", "usage:manage"],
        Some(&alpha),
    )
    .await;
    let a = pkey
        .post(&o("/cu/runs"), json!({"runs": [run("pa2", "wf-a", 4, T0)]}))
        .await;
    assert_eq!(statuses(&a), ["created"], "{:?}", a.body);
    let mut other = run("pb2", "wf-b", 1, T0);
    other["project_id"] = json!(beta);
    let x = pkey.post(&o("/cu/runs"), json!({"runs": [other]})).await;
    assert_eq!((x.status, x.code()), (403, "project_scope"));
    let runs = pkey.get(&o("/cu/runs")).await;
    let ids: HashSet<&str> = runs
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, HashSet::from(["pa", "pa2"]));
    assert!(runs
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["project_id"] == json!(alpha)));
    let u = pkey
        .get(&o("/cu/usage?from=2025-01-21&to=2025-01-21"))
        .await;
    assert_eq!(
        *u.data(),
        json!([{"date": "2025-01-21", "cu": 7, "runs": 2}])
    );
    let w = pkey.get(&o(&format!("/cu/usage-by-workflow{days}"))).await;
    assert_eq!(
        *w.data(),
        json!([{"workflow_id": "wf-a", "workflow_name": null, "cu": 7, "runs": 2}])
    );
    let x = pkey.get(&o(&format!("/cu/runs?project_id={beta}"))).await;
    assert_eq!((x.status, x.code()), (403, "project_scope"));
    // The organization's key may filter by project; without a filter it sees everything.
    let u = root
        .get(&o(&format!(
            "/cu/usage?from=2025-01-21&to=2025-01-21&project_id={beta}"
        )))
        .await;
    assert_eq!(
        *u.data(),
        json!([{"date": "2025-01-21", "cu": 5, "runs": 1}])
    );
    let u = root
        .get(&o("/cu/usage?from=2025-01-21&to=2025-01-21"))
        .await;
    assert_eq!(
        *u.data(),
        json!([{"date": "2025-01-21", "cu": 13, "runs": 4}])
    );
    for a in [
        pkey.get(&o("/cu")).await,
        pkey.patch(&o("/cu"), json!({"alert_threshold": 1})).await,
        pkey.post(&o("/cu/top-ups"), json!({"cu": 1, "reference": "r"}))
            .await,
        pkey.get(&o("/plan-options")).await,
        pkey.put(&o("/plan"), json!({"tier_id": "pro"})).await,
    ] {
        assert_eq!((a.status, a.code()), (403, "project_scope"), "{:?}", a.body);
    }
    // A project key has no reach into sub-organizations.
    let x = pkey.get(&format!("/v1/organizations/{acme}/cu/runs")).await;
    assert_eq!(x.status, 404);
    s.stop().await.unwrap();
}

/// Checks `value` against the JSON Schema subset the `/v1` route tables use (`type`,
/// `required`, `properties`, `additionalProperties: false`, `enum`, `anyOf`, `items`, `$ref`);
/// returns the first mismatch's path.
fn mismatch(doc: &Value, schema: &Value, value: &Value, path: &str) -> Option<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return mismatch(doc, &doc["components"]["schemas"][name], value, path);
    }
    if let Some(any) = schema["anyOf"].as_array() {
        return if any.iter().any(|s| mismatch(doc, s, value, path).is_none()) {
            None
        } else {
            Some(format!("{path}: {value} matches no anyOf branch"))
        };
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Some(format!("{path}: {value} not in {allowed:?}"));
        }
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some("null") => value.is_null(),
        _ => true,
    };
    if !ok {
        return Some(format!("{path}: {value} is not of type {}", schema["type"]));
    }
    if let Some(obj) = value.as_object() {
        let props = schema["properties"].as_object();
        for r in schema["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                return Some(format!("{path}: required `{r}` missing"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => {
                    if let Some(m) = mismatch(doc, s, v, &format!("{path}.{k}")) {
                        return Some(m);
                    }
                }
                None if schema["additionalProperties"] == json!(false) => {
                    return Some(format!("{path}: `{k}` is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, v) in items.iter().enumerate() {
            if let Some(m) = mismatch(doc, &schema["items"], v, &format!("{path}[{i}]")) {
                return Some(m);
            }
        }
    }
    None
}

/// Every usage endpoint's success answer matches its OpenAPI operation (status and body).
async fn answers_match_the_openapi_schemas(backend: Backend) {
    let (s, _clock) = start(backend, "v1_usage_contract").await;
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let doc: Value = reqwest::get(format!("{}/openapi.json", s.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let o = |p: &str| format!("/v1/organizations/{org}{p}");
    let mut named = run("n1", "wf-a", 5, T0);
    named["workflow_name"] = json!("Alpha");
    let days = "from=2025-01-20&to=2025-01-21";
    let calls: Vec<(&str, &str, quorate_testkit::v1::V1Answer)> = vec![
        (
            "post",
            "/v1/organizations/{org_id}/cu/runs",
            root.post(
                &o("/cu/runs"),
                json!({"runs": [named, run("n2", "wf-b", 0, T0 - DAY)]}),
            )
            .await,
        ),
        (
            "get",
            "/v1/organizations/{org_id}/cu",
            root.get(&o("/cu")).await,
        ),
        (
            "patch",
            "/v1/organizations/{org_id}/cu",
            root.patch(&o("/cu"), json!({"alert_threshold": 5})).await,
        ),
        (
            "get",
            "/v1/organizations/{org_id}/cu/runs",
            root.get(&o("/cu/runs?limit=1")).await,
        ),
        (
            "get",
            "/v1/organizations/{org_id}/cu/usage",
            root.get(&o(&format!("/cu/usage?{days}"))).await,
        ),
        (
            "get",
            "/v1/organizations/{org_id}/cu/usage-by-workflow",
            root.get(&o(&format!("/cu/usage-by-workflow?{days}"))).await,
        ),
        (
            "post",
            "/v1/organizations/{org_id}/cu/top-ups",
            root.post(&o("/cu/top-ups"), json!({"cu": 9, "reference": "c1"}))
                .await,
        ),
        ("get", "/v1/tiers", root.get("/v1/tiers?limit=2").await),
        (
            "get",
            "/v1/organizations/{org_id}/plan-options",
            root.get(&o("/plan-options")).await,
        ),
        (
            "put",
            "/v1/organizations/{org_id}/plan",
            root.put(&o("/plan"), json!({"tier_id": "starter"})).await,
        ),
    ];
    for (method, path, a) in &calls {
        let op = &doc["paths"][*path][*method];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        let response = &op["responses"][a.status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path}: status {} undocumented: {:?}",
            a.status,
            a.body
        );
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema["properties"]["data"].is_object(),
            "{method} {path}: no data schema"
        );
        if let Some(m) = mismatch(&doc, schema, &a.body, "") {
            panic!("{method} {path}: {m}\n{:#}", a.body);
        }
    }
    // The checker does reject what the schemas do not allow.
    let balance = &doc["paths"]["/v1/organizations/{org_id}/cu"]["get"]["responses"]["200"]
        ["content"]["application/json"]["schema"];
    let mut extra = calls[1].2.body.clone();
    extra["data"]["surprise"] = json!(1);
    assert!(mismatch(&doc, balance, &extra, "").is_some());
    let mut wrong = calls[1].2.body.clone();
    wrong["data"]["balance"] = json!("10");
    assert!(mismatch(&doc, balance, &wrong, "").is_some());
    // Errors match the error component.
    let e = root.get(&o("/cu/usage")).await;
    let schema = &doc["paths"]["/v1/organizations/{org_id}/cu/usage"]["get"]["responses"]["422"]
        ["content"]["application/json"]["schema"];
    assert_eq!(mismatch(&doc, schema, &e.body, ""), None);
    s.stop().await.unwrap();
}
