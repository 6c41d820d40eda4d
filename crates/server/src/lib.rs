//! quorate-server: the HTTP face (axum only). Routes per resource, the one error→HTTP
//! mapping, request ids, logs, metrics and the OpenAPI document.

mod error;
mod known_paths;
mod observe;
pub mod openapi;
mod ops;
mod turnkey;

pub use error::ApiError;

use axum::Router;
use quorate_app::App;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

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
        .merge(turnkey::router())
        .merge(ops::router())
        .fallback(error::fallback)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(observe::observe))
        .layer(turnkey::cors())
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    observe::install_metrics();
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
