//! `/v1` routes: an organization's knowledge entries (docs/design/management-api.md §2).

use super::schema::{boolean, nullable, object, one_of, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get, patch};
use axum::Router;
use quorate_app::mgmt::{invalid, rfc3339, Access, MgmtResult};
use quorate_store::mgmt::knowledge::{Entry, NewEntry};
use serde::Deserialize;
use serde_json::{json, Value};

const LIST: &str = "/v1/organizations/{org_id}/knowledge";
const PIN: &str = "/v1/organizations/{org_id}/knowledge/{id}/pin";
const BULK: &str = "/v1/organizations/{org_id}/knowledge/bulk";

pub(super) static ROUTES: &[V1Route] = &[
    route!(
        GET,
        LIST,
        "knowledge:read",
        "Knowledge entries, newest first; query `source_type`, `pinned` (true|false) filter",
        None,
        entry_schema,
        200,
        true
    ),
    route!(
        POST,
        LIST,
        "knowledge:manage",
        "Adds a knowledge entry (auto-pruning, when enabled, runs in the same transaction)",
        Some(create_schema),
        entry_schema,
        201,
        false
    ),
    route!(
        PATCH,
        PIN,
        "knowledge:manage",
        "Pins or unpins an entry; pinned entries are never auto-pruned",
        Some(pin_schema),
        entry_schema,
        200,
        false
    ),
    route!(
        DELETE,
        BULK,
        "knowledge:manage",
        "Deletes the entries of one source_type, or up to 1000 ids: exactly one of the two, in the body or the query (ids comma-separated)",
        Some(bulk_schema),
        deleted_schema,
        200,
        false
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route(PIN, patch(pin))
        .route(BULK, delete(bulk_delete))
}

fn entry_schema() -> Value {
    let fields = [
        "id",
        "object",
        "organization_id",
        "project_id",
        "source_type",
        "title",
        "content",
        "pinned",
        "created_at",
        "updated_at",
    ];
    object(
        &fields,
        &[
            ("id", string()),
            ("object", one_of(&["knowledge_entry"])),
            ("organization_id", string()),
            ("project_id", nullable(string())),
            ("source_type", string()),
            ("title", nullable(string())),
            ("content", string()),
            ("pinned", boolean()),
            ("created_at", timestamp()),
            ("updated_at", timestamp()),
        ],
    )
}

fn source_type_schema() -> Value {
    json!({"type": "string", "pattern": "^[a-z0-9_]{1,32}$"})
}

fn create_schema() -> Value {
    object(
        &["source_type", "content"],
        &[
            ("source_type", source_type_schema()),
            (
                "content",
                json!({"type": "string", "minLength": 1, "maxLength": 65536}),
            ),
            (
                "title",
                nullable(json!({"type": "string", "maxLength": 256})),
            ),
            ("pinned", boolean()),
            ("project_id", nullable(string())),
        ],
    )
}

fn pin_schema() -> Value {
    object(&["pinned"], &[("pinned", boolean())])
}

fn bulk_schema() -> Value {
    object(
        &[],
        &[
            ("source_type", source_type_schema()),
            (
                "ids",
                json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1000}),
            ),
        ],
    )
}

fn deleted_schema() -> Value {
    object(
        &["deleted"],
        &[("deleted", json!({"type": "integer", "minimum": 0}))],
    )
}

pub(crate) fn entry_json(e: &Entry) -> Value {
    json!({
        "id": e.id,
        "object": "knowledge_entry",
        "organization_id": e.organization_id,
        "project_id": e.project_id,
        "source_type": e.source_type,
        "title": e.title,
        "content": e.content,
        "pinned": e.pinned,
        "created_at": rfc3339(e.created_at),
        "updated_at": rfc3339(e.updated_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    source_type: String,
    content: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    pinned: Option<bool>,
    #[serde(default)]
    project_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinBody {
    pinned: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    ids: Option<Vec<String>>,
}

/// `GET O/knowledge`.
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    q: Query,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Read).await?;
        let (limit, page) = state.app.v1_list_knowledge(p, &t, &q.0).await?;
        Reply::list(limit, page.map(|e| entry_json(&e)))
    }
    .await;
    caller.reply(result)
}

/// `POST O/knowledge`.
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Write).await?;
        let b: CreateBody = body(&bytes)?;
        let new = NewEntry {
            source_type: b.source_type,
            content: b.content,
            title: b.title,
            pinned: b.pinned.unwrap_or(false),
            project_id: b.project_id,
        };
        let entry = state.app.v1_create_knowledge(p, &t, new).await?;
        Reply::created(entry_json(&entry))
    }
    .await;
    caller.reply(result)
}

/// `PATCH O/knowledge/{id}/pin`.
async fn pin(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Write).await?;
        let b: PinBody = body(&bytes)?;
        let entry = state.app.v1_pin_knowledge(p, &t, &id, b.pinned).await?;
        Reply::ok(entry_json(&entry))
    }
    .await;
    caller.reply(result)
}

/// The one place a field of the bulk delete comes from: the body or the query, not both.
fn one_place<T>(field: &str, from_body: Option<T>, from_query: Option<T>) -> MgmtResult<Option<T>> {
    match (from_body, from_query) {
        (Some(_), Some(_)) => Err(invalid(field, "given in both the body and the query")),
        (b, q) => Ok(b.or(q)),
    }
}

/// `DELETE O/knowledge/bulk`.
async fn bulk_delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    q: Query,
    bytes: Bytes,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Write).await?;
        let b: BulkBody = body(&bytes)?;
        let query_ids = q.0.get("ids").map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        });
        let source = one_place(
            "source_type",
            b.source_type,
            q.0.get("source_type").cloned(),
        )?;
        let ids = one_place("ids", b.ids, query_ids)?;
        let deleted = state
            .app
            .v1_bulk_delete_knowledge(p, &t, source, ids)
            .await?;
        Reply::ok(json!({ "deleted": deleted }))
    }
    .await;
    caller.reply(result)
}
