//! `/v1` routes: members (docs/design/management-api.md §2). Not built yet.

use super::V1Route;
use crate::AppState;
use axum::Router;

pub(super) static ROUTES: &[V1Route] = &[];

pub(super) fn router() -> Router<AppState> {
    Router::new()
}
