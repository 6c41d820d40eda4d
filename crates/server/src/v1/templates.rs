//! `/v1` routes: an organization's templates, and the public list of its published ones
//! (docs/design/management-api.md §2).

use super::schema::{any_object, boolean, nullable, object, one_of, string, timestamp};
use super::{body, Caller, Query, Reply, V1Route};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, patch};
use axum::Router;
use quorate_app::mgmt::{rfc3339, Access, MgmtError, MgmtResult};
use quorate_store::mgmt::templates::Template;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

const LIST: &str = "/v1/organizations/{org_id}/templates";
const ONE: &str = "/v1/organizations/{org_id}/templates/{template_id}";
const PUBLIC: &str = "/v1/organizations/{org_id}/templates/public";

pub(super) static ROUTES: &[V1Route] = &[
    V1Route {
        method: Method::GET,
        path: LIST,
        scope: Some("templates:read"),
        publishable: false,
        summary: "Every template of the organization, newest first",
        request: None,
        response: template_schema,
        status: 200,
        list: true,
        sessions: false,
    },
    V1Route {
        method: Method::POST,
        path: LIST,
        scope: Some("templates:manage"),
        publishable: false,
        summary: "Creates a template (content: a JSON object of at most 256 KiB)",
        request: Some(create_schema),
        response: template_schema,
        status: 201,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::PATCH,
        path: ONE,
        scope: Some("templates:manage"),
        publishable: false,
        summary: "Changes a template; published: true publishes it, false withdraws it",
        request: Some(patch_schema),
        response: template_schema,
        status: 200,
        list: false,
        sessions: false,
    },
    V1Route {
        method: Method::GET,
        path: PUBLIC,
        scope: None,
        publishable: true,
        summary: "The organization's published templates, newest first; no authentication",
        request: None,
        response: template_schema,
        status: 200,
        list: true,
        sessions: false,
    },
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route(PUBLIC, get(public))
        .route(ONE, patch(update))
}

fn name_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 256})
}

fn description_schema() -> Value {
    nullable(json!({"type": "string", "maxLength": 4096}))
}

fn template_schema() -> Value {
    object(
        &[
            "id",
            "object",
            "organization_id",
            "name",
            "description",
            "content",
            "published",
            "created_at",
            "updated_at",
        ],
        &[
            ("id", string()),
            ("object", one_of(&["template"])),
            ("organization_id", string()),
            ("name", string()),
            ("description", nullable(string())),
            ("content", any_object()),
            ("published", boolean()),
            ("created_at", timestamp()),
            ("updated_at", timestamp()),
        ],
    )
}

fn create_schema() -> Value {
    object(
        &["name", "content"],
        &[
            ("name", name_schema()),
            ("description", description_schema()),
            ("content", any_object()),
            ("published", boolean()),
        ],
    )
}

fn patch_schema() -> Value {
    object(
        &[],
        &[
            ("name", name_schema()),
            ("description", description_schema()),
            ("content", any_object()),
            ("published", boolean()),
        ],
    )
}

fn template_json(t: &Template) -> MgmtResult<Value> {
    let content: Value = serde_json::from_str(&t.content)
        .map_err(|e| MgmtError::new("internal", format!("stored template content: {e}")))?;
    Ok(json!({
        "id": t.id,
        "object": "template",
        "organization_id": t.organization_id,
        "name": t.name,
        "description": t.description,
        "content": content,
        "published": t.published,
        "created_at": rfc3339(t.created_at),
        "updated_at": rfc3339(t.updated_at),
    }))
}

fn page_json(
    page: quorate_app::mgmt::PageOut<Template>,
) -> MgmtResult<quorate_app::mgmt::PageOut<Value>> {
    let items = page
        .items
        .iter()
        .map(template_json)
        .collect::<MgmtResult<Vec<_>>>()?;
    Ok(quorate_app::mgmt::PageOut {
        items,
        next: page.next,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    description: Option<String>,
    content: Value,
    #[serde(default)]
    published: Option<bool>,
}

/// `Some(null)` for an explicit `null`, `None` (via `default`) when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    published: Option<bool>,
}

/// `GET O/templates`.
async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    q: Query,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Read).await?;
        let (limit, page) = state.app.v1_list_templates(p, &t, &q.0).await?;
        Reply::list(limit, page_json(page)?)
    }
    .await;
    caller.reply(result)
}

/// `GET O/templates/public`.
async fn public(
    caller: Caller,
    State(state): State<AppState>,
    Path(org_id): Path<String>,
    q: Query,
) -> Response {
    let result = async {
        let (limit, page) = state.app.v1_public_templates(&org_id, &q.0).await?;
        Reply::list(limit, page_json(page)?)
    }
    .await;
    caller.reply(result)
}

/// `POST O/templates`.
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
        let created = state
            .app
            .v1_create_template(
                p,
                &t,
                &b.name,
                b.description,
                &b.content,
                b.published.unwrap_or(false),
            )
            .await?;
        Reply::created(template_json(&created)?)
    }
    .await;
    caller.reply(result)
}

/// `PATCH O/templates/{templateId}`.
async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path((org_id, template_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let p = caller.p()?;
        let t = state.app.v1_reach(p, &org_id, Access::Write).await?;
        let b: PatchBody = body(&bytes)?;
        let updated = state
            .app
            .v1_update_template(
                p,
                &t,
                &template_id,
                b.name.as_deref(),
                b.description,
                b.content.as_ref(),
                b.published,
            )
            .await?;
        Reply::ok(template_json(&updated)?)
    }
    .await;
    caller.reply(result)
}
