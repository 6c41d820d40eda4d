//! Part 1: stamped `whoami` requests per second. The body is stamped once and re-sent (the stamp
//! covers only the body), so the client spends almost nothing per request while the server still
//! verifies the signature every time.

use anyhow::{bail, Context, Result};
use quorate_testkit::{Backend, TestServer};
use std::sync::Arc;
use std::time::Instant;

use crate::load::{self, Window};
use crate::BenchArgs;

pub async fn run(args: &BenchArgs) -> Result<()> {
    println!("\n== 1. stamped whoami (SQLite store, principal cache on) ==");
    let server = TestServer::start(Backend::Sqlite, "bench").await?;
    let url = format!("{}/public/v1/query/whoami", server.base_url);
    let body = serde_json::json!({ "organizationId": server.root.organization_id })
        .to_string()
        .into_bytes();
    let stamp = server.root.key().stamp_header(&body);

    // One checked request first: the stamp must be accepted and answer with the root user.
    let probe = load::post_stamped(
        &load::single_connection_client()?,
        &url,
        body.clone(),
        &stamp,
    )
    .await
    .map_err(anyhow::Error::msg)
    .context("probe whoami")?;
    let answer: serde_json::Value = serde_json::from_slice(&probe)?;
    if answer["userId"] != server.root.user_id.as_str() {
        bail!("unexpected whoami answer: {answer}");
    }

    let shared = Arc::new((url, body, stamp));
    let window = Window::starting_now(args.warmup(), args.measure());
    let outcome = load::run_workers(args.concurrency, window, |_, mut rec| {
        let shared = shared.clone();
        async move {
            let (url, body, stamp) = &*shared;
            let http = load::single_connection_client()?;
            while rec.running() {
                let t = Instant::now();
                let r = load::post_stamped(&http, url, body.clone(), stamp).await;
                rec.record(t, r.map(drop));
            }
            Ok(rec)
        }
    })
    .await?;
    outcome.print("whoami", "req/s", Some((10_000.0, "req/s")));
    server.stop().await?;
    Ok(())
}
