//! quorate-server: the HTTP face (axum only). Routes per resource, the one error→HTTP
//! mapping, request ids, logs, metrics and the OpenAPI document.

mod error;
mod known_paths;
mod observe;
pub mod openapi;
mod ops;
mod turnkey;
mod v1;

pub use error::ApiError;

use axum::Router;
use quorate_app::App;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::Layer;

/// Largest request body accepted (bytes).
pub const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
}

/// Every route, merged in one place.
pub fn router(app: Arc<App>) -> Router {
    let state = AppState { app };
    Router::new()
        // CORS differs by face: the Turnkey face answers any origin (turnkey::cors: stamps,
        // not cookies, authenticate it); `/v1` lets browsers read only public routes and
        // answers to publishable keys from their own origins (v1::preflight and the guard).
        .merge(turnkey::router())
        .merge(ops::router())
        .merge(v1::router(state.clone()))
        .fallback(error::fallback)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(observe::observe))
        .layer(axum::middleware::from_fn(turnkey::cors))
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish and writes the
/// management API's buffered bookkeeping (audit log, last-used times).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    observe::install_metrics();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // On a blocking thread: SQLite batch writes run synchronously and would otherwise hold a
    // runtime worker (and the requests queued on it) for the length of a batch.
    let bookkeeping = {
        let app = app.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || runtime.block_on(app.run_bookkeeping(stopped)))
    };
    // Rewritten before routing: SDKs concatenate `baseUrl + "/public/…"`, so a base URL with a
    // trailing slash yields `//public/…`.
    let service = tower::util::MapRequestLayer::new(collapse_leading_slashes).layer(router(app));
    let served = axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(service),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stop.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(10), bookkeeping)
        .await
        .is_err()
    {
        tracing::error!("bookkeeping did not finish within 10 s of shutdown");
    }
    served
}

fn collapse_leading_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.starts_with("//") {
        let trimmed = format!("/{}", path.trim_start_matches('/'));
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(p) = pq.parse() {
            parts.path_and_query = Some(p);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}
