//! Management API: secret-key authenticated `GET /v1/organizations/{id}` per second at the
//! configured concurrency, with the request audit log and last-used tracking on, then off (the
//! difference is their cost on the request path).

use anyhow::{bail, Result};
use quorate_testkit::{Backend, TestServer};
use std::sync::Arc;
use std::time::Instant;

use crate::load::{self, Window};
use crate::BenchArgs;

async fn get(http: &reqwest::Client, url: &str, auth: &str) -> std::result::Result<(), String> {
    let resp = http
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status().as_u16();
    resp.bytes()
        .await
        .map_err(|e| format!("reading body: {e}"))?;
    if status == 200 {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

pub async fn run(args: &BenchArgs) -> Result<()> {
    println!("\n== management API: secret-key GET /v1/organizations/{{id}} (SQLite) ==");
    let server = TestServer::start(Backend::Sqlite, "bench_v1").await?;
    let url = format!(
        "{}/v1/organizations/{}",
        server.base_url, server.root.organization_id
    );
    let auth = format!("Bearer {}", server.root.secret_key);
    // The bench measures the request path, not the limiter's refusals.
    let keys = server
        .app
        .store()
        .reader()
        .await?
        .list_bearer_keys(&server.root.organization_id)
        .await?;
    let Some(key) = keys.first() else {
        bail!("init minted no key")
    };
    server
        .app
        .admin_set_rate_limit(&key.id, Some((i64::MAX / 2, 1_000)))
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    get(&load::single_connection_client()?, &url, &auth)
        .await
        .map_err(anyhow::Error::msg)?;

    let mut rates = Vec::new();
    for (label, off) in [
        ("audit + last-used on", false),
        ("audit + last-used off", true),
    ] {
        if off {
            server
                .app
                .set_setting(quorate_app::mgmt::audit::BookkeepingOff);
        }
        let shared = Arc::new((url.clone(), auth.clone()));
        let window = Window::starting_now(args.warmup(), args.measure());
        let outcome = load::run_workers(args.concurrency, window, |_, mut rec| {
            let shared = shared.clone();
            async move {
                let (url, auth) = &*shared;
                let http = load::single_connection_client()?;
                while rec.running() {
                    let t = Instant::now();
                    let r = get(&http, url, auth).await;
                    rec.record(t, r);
                }
                Ok(rec)
            }
        })
        .await?;
        outcome.print(label, "req/s", Some((20_000.0, "req/s")));
        rates.push(outcome.rate());
    }
    if let [on, off] = rates[..] {
        println!(
            "  cost of audit log + last-used tracking: {:.1} % of throughput   [target ≤ 10 %: {}]",
            (off - on) / off * 100.0,
            if (off - on) / off <= 0.10 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    server.app.v1_flush().await;
    server.stop().await?;
    Ok(())
}
