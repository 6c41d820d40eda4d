//! JSON Schema builders for the `/v1` route tables (OpenAPI 3.1 dialect), and the shared
//! envelope components.

use serde_json::{json, Value};

pub(crate) fn string() -> Value {
    json!({"type": "string"})
}

pub(crate) fn integer() -> Value {
    json!({"type": "integer"})
}

pub(crate) fn boolean() -> Value {
    json!({"type": "boolean"})
}

/// An RFC 3339 UTC timestamp.
pub(crate) fn timestamp() -> Value {
    json!({"type": "string", "format": "date-time"})
}

pub(crate) fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// One of the listed strings.
pub(crate) fn one_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// `schema` or `null`.
pub(crate) fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

/// An object with these properties; `required` names must be among them. Unknown properties
/// are refused in requests (the decoder rejects them) and absent from answers.
pub(crate) fn object(required: &[&str], props: &[(&str, Value)]) -> Value {
    let mut properties = serde_json::Map::new();
    for (k, v) in props {
        properties.insert((*k).to_string(), v.clone());
    }
    json!({"type": "object", "required": required, "properties": properties, "additionalProperties": false})
}

/// `schema` (an [`object`]) with `name` also required.
pub(crate) fn require(mut schema: Value, name: &str) -> Value {
    if let Some(r) = schema["required"].as_array_mut() {
        r.push(json!(name));
    }
    schema
}

/// A free-form JSON object.
pub(crate) fn any_object() -> Value {
    json!({"type": "object"})
}

/// The `/v1` envelope components referenced by every operation.
pub(crate) fn components() -> serde_json::Map<String, Value> {
    let mut c = serde_json::Map::new();
    c.insert(
        "V1Meta".into(),
        object(&["request_id"], &[("request_id", string())]),
    );
    c.insert(
        "V1Pagination".into(),
        object(
            &["limit", "has_more", "next_cursor"],
            &[
                ("limit", integer()),
                ("has_more", boolean()),
                ("next_cursor", nullable(string())),
            ],
        ),
    );
    c.insert(
        "V1PendingActivity".into(),
        object(
            &["object", "id", "type", "status"],
            &[
                ("object", one_of(&["activity"])),
                ("id", string()),
                ("type", string()),
                ("status", string()),
            ],
        ),
    );
    c.insert(
        "V1Error".into(),
        object(
            &["error", "meta"],
            &[
                (
                    "error",
                    object(
                        &["code", "message"],
                        &[("code", string()), ("message", string())],
                    ),
                ),
                ("meta", json!({"$ref": "#/components/schemas/V1Meta"})),
            ],
        ),
    );
    c
}
