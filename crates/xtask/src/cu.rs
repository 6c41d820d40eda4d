//! Part: usage metering (docs/design/management-api.md §8 "CU at 1 M runs per org"). Ingests
//! 1,000,000 runs (500 workflows over 365 days, batches of 1,000 through the `App` use case)
//! into one organization per backend, prints ingestion runs/s, checks that the `cu_daily`
//! rollup equals the raw `cu_runs` sums, then measures p50/p99 of 50 HTTP calls of each
//! aggregation endpoint and prints each statement's query plan.

use anyhow::{anyhow, bail, Context, Result};
use quorate_app::mgmt::rfc3339;
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::{json, Value};
use sqlx::{Connection, Row};
use std::time::{Duration, Instant};

use crate::BenchArgs;

const RUNS: u64 = 1_000_000;
const BATCH: u64 = 1_000;
const WORKFLOWS: u64 = 500;
const DAYS: u64 = 365;
const DAY: i64 = 86_400_000;
/// 2026-01-15T12:00:00Z: the runs finish over the 365 days before.
const NOW: i64 = 1_768_478_400_000;
const CALLS: usize = 50;

pub async fn run(args: &BenchArgs) -> Result<()> {
    println!("\n== usage metering: 1,000,000 CU runs, 500 workflows, 365 days, batches of 1,000 through App::v1_ingest_runs ==");
    scenario(Backend::Sqlite).await?;
    if !args.skip_postgres {
        scenario(Backend::Postgres).await?;
    }
    Ok(())
}

/// splitmix64: a deterministic data set.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Batch `b`: runs in the order they finish (as a metering client reports them), spread evenly
/// over the 365 days before `NOW`; random run ids (like UUIDs: inserts all over the unique
/// index), random workflows, 1…100 CU, 1 in 10 runs naming its workflow.
fn batch(b: u64) -> Value {
    let span = DAYS as i64 * DAY;
    let runs: Vec<Value> = (b * BATCH..(b + 1) * BATCH)
        .map(|i| {
            let r = mix(i);
            let wf = r % WORKFLOWS;
            let finished = NOW - span + (i as i64) * (span / RUNS as i64);
            let started = finished - ((r >> 8) % 60_000) as i64;
            let mut run = json!({
                "run_id": format!("{:016x}{:016x}", r, mix(r)),
                "workflow_id": format!("wf-{wf:03}"),
                "cu_cost": (r >> 48) % 100 + 1,
                "started_at": rfc3339(started),
                "finished_at": rfc3339(finished),
            });
            if i % 10 == 0 {
                run["workflow_name"] = json!(format!("Workflow {wf}"));
            }
            run
        })
        .collect();
    json!({ "runs": runs })
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let last = sorted.len() - 1;
    sorted[((last as f64) * q).round() as usize].as_secs_f64() * 1e3
}

async fn scenario(backend: Backend) -> Result<()> {
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL (fsync off)",
    };
    println!("  -- {name} --");
    let clock = ManualClock::new(NOW);
    let s = TestServer::start_with_clock(backend, "bench_cu", clock.clone()).await?;
    let org = s.root.organization_id.clone();
    let p = s
        .app
        .authenticate_bearer(Some(&format!("Bearer {}", s.root.secret_key)))
        .await
        .map_err(|e| anyhow!("{}: {}", e.code, e.message))?;

    // Ingestion through the use case, one batch after the other.
    let started = Instant::now();
    let mut in_use_case = Duration::ZERO;
    let mut batch_times = Vec::with_capacity((RUNS / BATCH) as usize);
    for b in 0..RUNS / BATCH {
        let body = batch(b);
        let t = Instant::now();
        let answer = s
            .app
            .v1_ingest_runs(&p, &org, serde_json::from_value(body)?)
            .await
            .map_err(|e| anyhow!("batch {b}: {}: {}", e.code, e.message))?;
        let took = t.elapsed();
        in_use_case += took;
        batch_times.push(took);
        if answer.len() != BATCH as usize || answer.iter().any(|a| a["status"] != "created") {
            bail!("batch {b}: not every run was created");
        }
        if (b + 1) % 250 == 0 {
            println!(
                "    {:>9} runs   {:>7.0} runs/s so far",
                (b + 1) * BATCH,
                ((b + 1) * BATCH) as f64 / in_use_case.as_secs_f64()
            );
        }
    }
    let wall = started.elapsed();
    batch_times.sort_unstable();
    println!(
        "  ingestion: {RUNS} runs in {:.1} s in the use case ({:.1} s wall incl. building the JSON): {:.0} runs/s; per batch of {BATCH}: p50 {:.1} ms, p99 {:.1} ms",
        in_use_case.as_secs_f64(),
        wall.as_secs_f64(),
        RUNS as f64 / in_use_case.as_secs_f64(),
        quantile(&batch_times, 0.5),
        quantile(&batch_times, 0.99),
    );
    // The rollup equals the raw sums.
    {
        let t = Instant::now();
        let (raw, rollup) = s
            .app
            .v1_cu_totals(&org)
            .await
            .map_err(|e| anyhow!("{}: {}", e.code, e.message))?;
        let verdict = if raw == rollup { "equal" } else { "DIFFERENT" };
        println!(
            "  SUM over cu_runs = (cu {}, runs {}), over cu_daily = (cu {}, runs {}) → {verdict} ({:.0} ms for both)",
            raw.0,
            raw.1,
            rollup.0,
            rollup.1,
            t.elapsed().as_secs_f64() * 1e3
        );
        if raw != rollup {
            bail!("the rollup differs from the raw sums");
        }
    }
    replay(&s, &p, &org, "", 0).await?;
    if backend == Backend::Postgres {
        // A database this new has no statistics yet: the read-back of known runs is planned as a
        // bitmap scan of the whole organization (~330 ms per 1,000 ids) until autovacuum's
        // first ANALYZE (within a minute or so in a running deployment), then as an index scan
        // of (organization_id, run_id).
        let mut c = sqlx::PgConnection::connect(&s.database_url).await?;
        sqlx::query("ANALYZE").execute(&mut c).await?;
        c.close().await?;
        replay(&s, &p, &org, " after ANALYZE (other batches)", 11).await?;
    }

    // Aggregation endpoints over HTTP (one keep-alive connection, sequential calls).
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let base = format!("{}/v1/organizations/{org}", s.base_url);
    let auth = format!("Bearer {}", s.root.secret_key);
    // The clock is frozen: each call moves it one second on, into a fresh rate-limit window of
    // the key (100 requests per second by default). The whole series stays on 2026-01-15.
    let get = |url: String| {
        let (http, auth, clock) = (http.clone(), auth.clone(), clock.clone());
        async move {
            loop {
                clock.advance(1_000);
                let t = Instant::now();
                let r = http.get(&url).header("authorization", &auth).send().await?;
                let status = r.status().as_u16();
                let body: Value = r.json().await?;
                let took = t.elapsed();
                if status == 429 {
                    continue;
                }
                if status != 200 {
                    bail!("{url}: {status} {body}");
                }
                return Ok::<_, anyhow::Error>((took, body));
            }
        }
    };
    let today = "2026-01-15";
    let cases = [
        ("GET …/cu (balance)", format!("{base}/cu")),
        (
            "GET …/cu/usage 30 days",
            format!("{base}/cu/usage?from=2025-12-17&to={today}&limit=30"),
        ),
        (
            "GET …/cu/usage 366 days (100/page)",
            format!("{base}/cu/usage?from=2025-01-15&to={today}&limit=100"),
        ),
        (
            "GET …/cu/usage-by-workflow 30 days",
            format!("{base}/cu/usage-by-workflow?from=2025-12-17&to={today}&limit=100"),
        ),
        (
            "GET …/cu/usage-by-workflow 366 d",
            format!("{base}/cu/usage-by-workflow?from=2025-01-15&to={today}&limit=100"),
        ),
        (
            "GET …/cu/runs first page (100)",
            format!("{base}/cu/runs?limit=100"),
        ),
        (
            "GET …/cu/runs of one workflow",
            format!("{base}/cu/runs?limit=100&workflow_id=wf-007"),
        ),
    ];
    for (label, url) in &cases {
        measure(label, || get(url.clone())).await?;
    }
    // 10,000 rows deep: follow the cursor 100 pages, then measure the page there.
    let mut cursor = String::new();
    for _ in 0..100 {
        let url = if cursor.is_empty() {
            format!("{base}/cu/runs?limit=100")
        } else {
            format!("{base}/cu/runs?limit=100&cursor={cursor}")
        };
        let (_, body) = get(url).await?;
        cursor = body["pagination"]["next_cursor"]
            .as_str()
            .context("no next cursor")?
            .to_string();
    }
    let deep = format!("{base}/cu/runs?limit=100&cursor={cursor}");
    measure("GET …/cu/runs 10,000 rows deep", || get(deep.clone())).await?;
    // The whole 366-day series (4 pages of 100 days) as one client would fetch it.
    let full = || {
        let get = &get;
        let base = &base;
        async move {
            let mut total = Duration::ZERO;
            let mut cursor: Option<String> = None;
            loop {
                let url = match &cursor {
                    None => format!("{base}/cu/usage?from=2025-01-15&to={today}&limit=100"),
                    Some(c) => {
                        format!("{base}/cu/usage?from=2025-01-15&to={today}&limit=100&cursor={c}")
                    }
                };
                let (took, body) = get(url).await?;
                total += took;
                match body["pagination"]["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => return Ok::<_, anyhow::Error>((total, body)),
                }
            }
        }
    };
    measure("…/cu/usage 366 days, all 4 pages", full).await?;

    explain(backend, &s, &org, &cursor).await?;
    if backend == Backend::Sqlite {
        let path = s
            .database_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        if let Ok(m) = std::fs::metadata(&path) {
            println!(
                "  SQLite file: {:.0} MiB (WAL not included)",
                m.len() as f64 / 1048576.0
            );
        }
    }
    s.stop().await?;
    Ok(())
}

/// Re-sends 20 batches (every 37th, from `offset`): every run a duplicate, read back and
/// compared.
async fn replay(
    s: &TestServer,
    p: &quorate_app::mgmt::BearerPrincipal,
    org: &str,
    when: &str,
    offset: u64,
) -> Result<()> {
    let t = Instant::now();
    for b in 0..20 {
        let answer = s
            .app
            .v1_ingest_runs(p, org, serde_json::from_value(batch(b * 37 + offset))?)
            .await
            .map_err(|e| anyhow!("replay: {}: {}", e.code, e.message))?;
        if answer.iter().any(|a| a["status"] != "duplicate") {
            bail!("a replayed run was not a duplicate");
        }
    }
    println!(
        "  replayed batches (all duplicates){when}: {:.0} runs/s",
        20.0 * BATCH as f64 / t.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn measure<F, Fut>(label: &str, mut call: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(Duration, Value)>>,
{
    call().await?; // warm-up
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        times.push(call().await?.0);
    }
    times.sort_unstable();
    println!(
        "  {label:<40} p50 {:>7.2} ms   p99 {:>7.2} ms   (n={CALLS})",
        quantile(&times, 0.5),
        quantile(&times, 0.99)
    );
    Ok(())
}

/// A plan line without the long literal lists (1,000 run ids).
fn short(plan: &str) -> String {
    plan.split(" | ")
        .map(|l| {
            if l.chars().count() > 160 {
                format!("{}…", l.chars().take(160).collect::<String>())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Each aggregation statement's plan: `EXPLAIN QUERY PLAN` (SQLite) or `EXPLAIN` (PostgreSQL).
async fn explain(backend: Backend, s: &TestServer, org: &str, cursor: &str) -> Result<()> {
    let keyset = quorate_app::mgmt::cursor_decode(cursor)
        .ok()
        .and_then(|k| {
            let (t, n) = k.split_once(':')?;
            Some((t.parse::<i64>().ok()?, n.parse::<i64>().ok()?))
        })
        .unwrap_or((NOW - DAY, 500_000));
    let today = NOW.div_euclid(DAY);
    let known = batch(37);
    let ids: Vec<&str> = known["runs"]
        .as_array()
        .context("runs")?
        .iter()
        .filter_map(|r| r["run_id"].as_str())
        .collect();
    let statements = s.app.v1_cu_statements(org, today, keyset, &ids);
    println!("  query plans:");
    match backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&s.database_url).await?;
            for (name, sql) in &statements {
                let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .fetch_all(&mut c)
                    .await?;
                let plan: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>("detail"))
                    .collect::<std::result::Result<_, _>>()?;
                println!("    {name}: {}", short(&plan.join(" | ")));
            }
            c.close().await?;
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&s.database_url).await?;
            for (name, sql) in &statements {
                let rows = sqlx::query(&format!("EXPLAIN {sql}"))
                    .fetch_all(&mut c)
                    .await?;
                let plan: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(0).map(|l| l.trim().to_string()))
                    .collect::<std::result::Result<_, _>>()?;
                println!("    {name}: {}", short(&plan.join(" | ")));
            }
            c.close().await?;
        }
    }
    Ok(())
}
