//! Part 2: durable activity submissions per second — `create_users` (one user, no keys, a
//! unique name per request) answered only after commit — on SQLite and PostgreSQL, into one
//! organization and spread over 16 sub-organizations. Afterwards the store must hold exactly
//! one COMPLETED activity per acknowledged submission.

use anyhow::{bail, Context, Result};
use quorate_client::Client;
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::ApiKeyCurve;
use quorate_domain::ActivityStatus;
use quorate_testkit::{Backend, TestServer};
use serde_json::json;
use sqlx::{Connection, Executor};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{self, Window};
use crate::sign::Stamper;
use crate::BenchArgs;

/// What a run submits: a path, an activity type, and parameters made unique per request.
#[derive(Clone, Copy)]
pub(crate) struct Workload {
    pub path: &'static str,
    pub activity_type: &'static str,
    pub params: fn(&Org, &str) -> serde_json::Value,
}

const CREATE_USERS: Workload = Workload {
    path: "create_users",
    activity_type: "ACTIVITY_TYPE_CREATE_USERS_V4",
    params: |_, unique| json!({"users": [{"userName": unique, "apiKeys": [], "authenticators": [], "oauthProviders": [], "userTags": []}]}),
};
const SPREAD_ORGS: usize = 16;
/// Bodies signed before the first timed window, per second of run, so that signing stays out
/// of the window. Later runs sign 1.5× the best rate seen so far. Workers that run out sign
/// further bodies on the fly (reported).
const FIRST_PREGEN_PER_SECOND: f64 = 3_000.0;
const MIN_PREGEN_PER_SECOND: f64 = 300.0;

/// How a store is set up for a run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// SQLite WAL with `synchronous=NORMAL` (quorate's default).
    SqliteNormal,
    /// SQLite WAL with `synchronous=FULL` (`QUORATE_SQLITE_SYNCHRONOUS=FULL`).
    SqliteFull,
    /// The testkit cluster as configured: fsync, synchronous_commit, full_page_writes off.
    PgNoFsync,
    /// The same cluster switched to fsync, synchronous_commit and full_page_writes on.
    PgFsync,
}

impl Durability {
    pub(crate) fn backend(self) -> Backend {
        match self {
            Self::SqliteNormal | Self::SqliteFull => Backend::Sqlite,
            Self::PgNoFsync | Self::PgFsync => Backend::Postgres,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::SqliteNormal => "sqlite sync=NORMAL",
            Self::SqliteFull => "sqlite sync=FULL",
            Self::PgNoFsync => "postgres fsync=off",
            Self::PgFsync => "postgres fsync=on",
        }
    }
}

pub async fn run(args: &BenchArgs) -> Result<()> {
    println!("\n== 2. durable activity submissions (create_users, one user, no keys) ==");
    println!(
        "  SQLite: WAL, one writer at a time (in-process lock). sync=NORMAL, quorate's default,"
    );
    println!("  survives a process crash but does not fsync each commit; sync=FULL does.");
    let mut plan = vec![
        (Durability::SqliteNormal, 1),
        (Durability::SqliteNormal, SPREAD_ORGS),
        (Durability::SqliteFull, 1),
    ];
    if args.skip_postgres {
        println!("  PostgreSQL skipped (--skip-postgres).");
    } else {
        println!("  PostgreSQL: a throwaway local cluster from quorate-testkit, which runs with fsync=off,");
        println!("  synchronous_commit=off and full_page_writes=off — NOT durable; those figures flatter PostgreSQL.");
        println!("  The fsync=on runs switch the same cluster to fsync/synchronous_commit/full_page_writes=on.");
        plan.extend([
            (Durability::PgNoFsync, 1),
            (Durability::PgNoFsync, SPREAD_ORGS),
            (Durability::PgFsync, 1),
            (Durability::PgFsync, SPREAD_ORGS),
        ]);
    }
    let mut best_rate: Option<f64> = None;
    for (durability, orgs) in plan {
        let pregen_rate = best_rate.map_or(FIRST_PREGEN_PER_SECOND, |r| {
            (1.5 * r).max(MIN_PREGEN_PER_SECOND)
        });
        if durability == Durability::PgFsync {
            set_cluster_fsync(true).await?;
        }
        let rate = scenario(args, CREATE_USERS, durability, orgs, pregen_rate, None).await;
        if durability == Durability::SqliteFull {
            std::env::remove_var("QUORATE_SQLITE_SYNCHRONOUS");
        }
        let rate = rate?;
        best_rate = Some(best_rate.map_or(rate, |b| b.max(rate)));
    }
    Ok(())
}

/// A request body and its `X-Stamp` header, signed ahead of time.
type Signed = (Vec<u8>, String);

/// Target organizations and their keys (private key hex, as `ApiKeyPair` is not `Clone`).
pub(crate) struct Org {
    pub id: String,
    pub key_hex: String,
    /// What signing workloads sign with (filled in by `prepare`), else empty.
    pub sign_with: String,
}

/// Per-organization setup before the timed window (e.g. a wallet to sign with).
pub(crate) type Prepare =
    for<'a> fn(
        &'a TestServer,
        &'a mut Org,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// One run; returns the measured activities per second.
pub(crate) async fn scenario(
    args: &BenchArgs,
    workload: Workload,
    durability: Durability,
    orgs: usize,
    pregen_rate: f64,
    prepare: Option<Prepare>,
) -> Result<f64> {
    if durability == Durability::SqliteFull {
        // Read by the store when it opens each SQLite connection.
        std::env::set_var("QUORATE_SQLITE_SYNCHRONOUS", "FULL");
    }
    let server = TestServer::start(durability.backend(), "bench_activities").await?;
    let mut targets = target_orgs(&server, orgs).await?;
    if let Some(prepare) = prepare {
        for org in &mut targets {
            prepare(&server, org).await?;
        }
    }
    let targets = Arc::new(targets);
    let cpu_before = load::process_cpu_seconds();

    let per_worker = ((args.warmup() + args.measure()).as_secs_f64() * pregen_rate
        / args.concurrency as f64)
        .ceil() as usize;
    let run_tag = format!("{}-{orgs}", durability.label().replace([' ', '='], "-"));
    let t = Instant::now();
    let queues = pregenerate(workload, &targets, args.concurrency, per_worker, &run_tag).await?;
    let cpu_before = load::process_cpu_seconds().or(cpu_before);
    let pregen = t.elapsed();

    let url = Arc::new(format!(
        "{}/public/v1/submit/{}",
        server.base_url, workload.path
    ));
    let live_signed = Arc::new(AtomicU64::new(0));
    let mut queues: Vec<Option<VecDeque<Signed>>> = queues.into_iter().map(Some).collect();
    let mut take = |i: usize| queues.get_mut(i).and_then(Option::take).unwrap_or_default();
    let window = Window::starting_now(args.warmup(), args.measure());
    let outcome = load::run_workers(args.concurrency, window, |i, mut rec| {
        let mut queue = take(i);
        let (url, targets, live_signed) = (url.clone(), targets.clone(), live_signed.clone());
        let run_tag = run_tag.clone();
        async move {
            let org = &targets[i % targets.len()];
            let stamper = Stamper::new(&ApiKeyPair::from_private_hex(
                ApiKeyCurve::P256,
                &org.key_hex,
            )?)?;
            let http = load::single_connection_client()?;
            let mut seq = 0usize;
            while rec.running() {
                let (body, stamp) = match queue.pop_front() {
                    Some(b) => b,
                    None => {
                        live_signed.fetch_add(1, Ordering::Relaxed);
                        seq += 1;
                        signed_body(
                            workload,
                            &stamper,
                            org,
                            &format!("{run_tag}-w{i}-live{seq}"),
                        )?
                    }
                };
                let t = Instant::now();
                let r = load::post_stamped(&http, &url, body, &stamp).await;
                rec.record(t, r.and_then(|b| completed(&b)));
            }
            Ok(rec)
        }
    })
    .await?;
    let cpu = load::process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);

    let label = format!(
        "{} / {orgs} org{}",
        durability.label(),
        if orgs == 1 { "" } else { "s" }
    );
    let target = (durability == Durability::SqliteNormal).then_some((2_000.0, "activities/s"));
    outcome.print(&label, "act/s", target);
    if let (Some(cpu), true) = (cpu, workload.path != CREATE_USERS.path) {
        // Everything the process did from the end of pre-signing to the end of the window
        // (warm-up included), divided by every answered request: server plus HTTP client.
        let answered = outcome.per_worker_ok.iter().sum::<u64>().max(1);
        println!(
            "  {:<34} process CPU per activity (server + load client): {:.0} µs",
            "",
            cpu * 1e6 / answered as f64
        );
    }
    let live = live_signed.load(Ordering::Relaxed);
    println!(
        "  {:<34} {} bodies signed up front in {:.1} s{}",
        "",
        per_worker * args.concurrency,
        pregen.as_secs_f64(),
        if live > 0 {
            format!("; {live} more signed during the run (client CPU competed with the server)")
        } else {
            String::new()
        }
    );
    verify(&server, workload, &targets, &outcome.per_worker_ok).await?;
    server.stop().await?;
    if durability == Durability::PgFsync {
        // Leave the shared cluster as the testkit configured it.
        set_cluster_fsync(false).await?;
    }
    Ok(outcome.rate())
}

/// The root organization, or `n` fresh sub-organizations each with its own root key.
async fn target_orgs(server: &TestServer, n: usize) -> Result<Vec<Org>> {
    if n <= 1 {
        return Ok(vec![Org {
            id: server.root.organization_id.clone(),
            key_hex: server.root.key_hex.clone(),
            sign_with: String::new(),
        }]);
    }
    let root = server.root_client();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let key = ApiKeyPair::generate(ApiKeyCurve::P256);
        let activity = root
            .create_sub_organization(
                &server.root.organization_id,
                &format!("bench-sub-{i}"),
                &key.public_key_hex(),
            )
            .await
            .context("create_sub_organization")?;
        let id = activity
            .result
            .as_object()
            .and_then(|r| r.values().find_map(|v| v["subOrganizationId"].as_str()))
            .with_context(|| format!("no subOrganizationId in {}", activity.result))?;
        out.push(Org {
            id: id.to_string(),
            key_hex: key.private_key_hex().to_string(),
            sign_with: String::new(),
        });
    }
    Ok(out)
}

fn signed_body(workload: Workload, stamper: &Stamper, org: &Org, unique: &str) -> Result<Signed> {
    let body = Client::activity_body(
        workload.activity_type,
        &org.id,
        (workload.params)(org, unique),
    );
    let stamp = stamper.stamp_header(&body)?;
    Ok((body, stamp))
}

/// `per_worker` signed bodies for each worker (worker `i` targets org `i % orgs`), signed on
/// all cores before the timed window.
async fn pregenerate(
    workload: Workload,
    targets: &Arc<Vec<Org>>,
    workers: usize,
    per_worker: usize,
    run_tag: &str,
) -> Result<Vec<VecDeque<Signed>>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut handles = Vec::new();
    for t in 0..threads {
        let (targets, run_tag) = (targets.clone(), run_tag.to_string());
        handles.push(tokio::task::spawn_blocking(move || -> Result<Vec<_>> {
            let stampers = targets
                .iter()
                .map(|o| {
                    Stamper::new(&ApiKeyPair::from_private_hex(
                        ApiKeyCurve::P256,
                        &o.key_hex,
                    )?)
                })
                .collect::<Result<Vec<_>>>()?;
            let mut mine = Vec::new();
            for w in (t..workers).step_by(threads) {
                let org = w % targets.len();
                let queue = (0..per_worker)
                    .map(|n| {
                        let name = format!("{run_tag}-w{w}-{n}");
                        signed_body(workload, &stampers[org], &targets[org], &name)
                    })
                    .collect::<Result<VecDeque<_>>>()?;
                mine.push((w, queue));
            }
            Ok(mine)
        }));
    }
    let mut queues = vec![VecDeque::new(); workers];
    for h in handles {
        for (w, q) in h.await.context("signing task")?? {
            queues[w] = q;
        }
    }
    Ok(queues)
}

/// Ok when the answer is an activity that completed.
fn completed(body: &[u8]) -> std::result::Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("undecodable answer: {e}"))?;
    match v["activity"]["status"].as_str() {
        Some(s) if s == ActivityStatus::Completed.as_str() => Ok(()),
        other => Err(format!("activity status {other:?}")),
    }
}

/// Every acknowledged submission must be exactly one COMPLETED activity in the store.
async fn verify(
    server: &TestServer,
    workload: Workload,
    targets: &[Org],
    per_worker_ok: &[u64],
) -> Result<()> {
    let mut acked = vec![0u64; targets.len()];
    for (w, ok) in per_worker_ok.iter().enumerate() {
        acked[w % targets.len()] += ok;
    }
    let (mut completed, mut other) = (0u64, 0u64);
    for org in targets {
        for a in server.app.store().list_all_activities(&org.id).await? {
            if a.activity_type != workload.activity_type {
                continue;
            }
            if a.status == ActivityStatus::Completed {
                completed += 1;
            } else {
                other += 1;
            }
        }
    }
    let acked: u64 = acked.iter().sum();
    let verdict = if completed == acked && other == 0 {
        "OK"
    } else {
        "MISMATCH"
    };
    println!(
        "  {:<34} verify: {acked} acknowledged (warm-up included) vs {completed} COMPLETED in the store, {other} other → {verdict}",
        ""
    );
    Ok(())
}

/// Switches the testkit's shared PostgreSQL cluster between its fast settings and durable ones.
pub(crate) async fn set_cluster_fsync(on: bool) -> Result<()> {
    let cluster = quorate_testkit::pg::shared_cluster()?;
    let mut conn = sqlx::PgConnection::connect(&cluster.admin_url()).await?;
    let value = if on { "on" } else { "off" };
    for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
        conn.execute(format!("ALTER SYSTEM SET {setting} = {value}").as_str())
            .await?;
    }
    conn.execute("SELECT pg_reload_conf()").await?;
    // The postmaster re-reads its configuration asynchronously; wait until new sessions see it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut probe = sqlx::PgConnection::connect(&cluster.admin_url()).await?;
        let (fsync,): (String,) = sqlx::query_as("SHOW fsync").fetch_one(&mut probe).await?;
        let (sync_commit,): (String,) = sqlx::query_as("SHOW synchronous_commit")
            .fetch_one(&mut probe)
            .await?;
        probe.close().await?;
        if fsync == value && sync_commit == value {
            break;
        }
        if Instant::now() > deadline {
            bail!("PostgreSQL did not apply fsync={value} (shows fsync={fsync}, synchronous_commit={sync_commit})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    conn.close().await?;
    Ok(())
}
