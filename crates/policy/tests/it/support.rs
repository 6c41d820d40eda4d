//! Shared helpers: corpus JSON → [`Value`] (with `{"$int": "…"}` for integers beyond 64 bits
//! and `{"$time": "…"}` for timestamps), scope names.

use quorate_policy::{Int, Scope, Timestamp, Value};

/// Convert corpus JSON to a [`Value`].
pub fn value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Object(m) if m.len() == 1 && m.contains_key("$int") => {
            let s = m["$int"].as_str().expect("$int takes a string");
            Value::Int(s.parse::<Int>().expect("$int"))
        }
        serde_json::Value::Object(m) if m.len() == 1 && m.contains_key("$time") => {
            let s = m["$time"].as_str().expect("$time takes a string");
            Value::Timestamp(Timestamp::parse_rfc3339(s).expect("$time"))
        }
        serde_json::Value::Object(m) => {
            Value::Map(m.iter().map(|(k, v)| (k.clone(), value(v))).collect())
        }
        serde_json::Value::Array(items) => Value::List(items.iter().map(value).collect()),
        other => Value::from_json(other).expect("plain JSON value"),
    }
}

pub fn scope(name: &str) -> Scope {
    match name {
        "condition" => Scope::Condition,
        "consensus" => Scope::Consensus,
        "time" => Scope::Time,
        other => panic!("unknown scope {other}"),
    }
}
