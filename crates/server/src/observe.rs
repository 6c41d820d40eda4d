//! Request ids, structured request logs and Prometheus metrics for every request. Nothing
//! from headers or bodies is logged: stamps and keys never reach a log line.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls are no-ops).
pub(crate) fn install_metrics() {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("quorate_http_request_duration_seconds".to_string()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            )
            .ok()
            .and_then(|b| b.install_recorder().ok())
    });
}

pub(crate) fn render_metrics() -> String {
    install_metrics();
    HANDLE
        .get()
        .and_then(|h| h.as_ref())
        .map(|h| h.render())
        .unwrap_or_default()
}

/// Route label with bounded cardinality: known paths verbatim, anything else `other`.
fn route_label(path: &str) -> String {
    let known = match path.strip_prefix("/public/v1/") {
        Some(rest) => match rest.split_once('/') {
            Some(("query", n)) => crate::known_paths::QUERY.contains(&n),
            Some(("submit", n)) => crate::known_paths::SUBMIT.contains(&n),
            _ => false,
        },
        None => matches!(path, "/health" | "/ready" | "/metrics" | "/openapi.json"),
    };
    if known {
        path.to_string()
    } else {
        "other".to_string()
    }
}

pub(crate) async fn observe(mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let method = req.method().clone();
    let route = route_label(req.uri().path());
    let mut response = next.run(req).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    metrics::counter!("quorate_http_requests_total", "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("quorate_http_request_duration_seconds", "route" => route.clone())
        .record(elapsed.as_secs_f64());
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        latency_us = elapsed.as_micros() as u64,
        "request"
    );
    response
}
