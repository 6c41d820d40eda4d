//! Management-API storage: per-organization settings (docs/design/management-api.md §8
//! `org_settings`): one JSON value per (organization, name) — `knowledge`, `auto_swap`.

use crate::exec::args;
use crate::{Db, Result};
use quorate_domain::Millis;

/// A stored setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub organization_id: String,
    pub name: String,
    /// JSON text.
    pub value: String,
    pub updated_by_user_id: String,
    pub updated_at: Millis,
}

fn setting(r: &crate::exec::Row) -> Result<Setting> {
    Ok(Setting {
        organization_id: r.text("organization_id")?,
        name: r.text("name")?,
        value: r.text("value")?,
        updated_by_user_id: r.text("updated_by_user_id")?,
        updated_at: r.int("updated_at")?,
    })
}

/// The organization's setting `name`, if it was ever written.
pub async fn get(db: Db<'_>, org: &str, name: &str) -> Result<Option<Setting>> {
    let mut db = db.0;
    db.row(
        "SELECT organization_id, name, value, updated_by_user_id, updated_at FROM org_settings WHERE organization_id = $1 AND name = $2",
        args![org, name],
    )
    .await?
    .as_ref()
    .map(setting)
    .transpose()
}

/// Writes (inserts or replaces) the organization's setting `name`.
pub async fn put(
    db: Db<'_>,
    org: &str,
    name: &str,
    value: &str,
    by_user_id: &str,
    at: Millis,
) -> Result<()> {
    let mut db = db.0;
    db.run(
        "INSERT INTO org_settings (organization_id, name, value, updated_by_user_id, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (organization_id, name) DO UPDATE SET value = excluded.value, \
         updated_by_user_id = excluded.updated_by_user_id, updated_at = excluded.updated_at",
        args![org, name, value, by_user_id, at],
    )
    .await?;
    Ok(())
}

/// Every organization's setting `name` (for housekeeping across organizations).
pub async fn list_by_name(db: Db<'_>, name: &str) -> Result<Vec<Setting>> {
    let mut db = db.0;
    db.rows(
        "SELECT organization_id, name, value, updated_by_user_id, updated_at FROM org_settings WHERE name = $1 ORDER BY organization_id",
        args![name],
    )
    .await?
    .iter()
    .map(setting)
    .collect()
}

/// The `knowledge` setting: auto-pruning of knowledge entries (off by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnowledgeSettings {
    pub enabled: bool,
    pub max_entries: Option<i64>,
    pub max_age_days: Option<i64>,
}

impl KnowledgeSettings {
    pub const NAME: &'static str = "knowledge";

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.enabled,
            "max_entries": self.max_entries,
            "max_age_days": self.max_age_days,
        })
    }

    /// The stored value (fields it lacks take their defaults).
    pub fn from_json(text: &str) -> Result<Self> {
        let v: serde_json::Value = parse(text)?;
        Ok(KnowledgeSettings {
            enabled: v["enabled"].as_bool().unwrap_or(false),
            max_entries: v["max_entries"].as_i64(),
            max_age_days: v["max_age_days"].as_i64(),
        })
    }
}

/// The `auto_swap` setting: automatic token swaps (disabled by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoSwap {
    pub enabled: bool,
    pub chain_id: Option<i64>,
    /// `0x` + 40 lowercase hex.
    pub target_token: Option<String>,
    pub source_tokens: Vec<String>,
    pub slippage_bps: i64,
    /// Decimal base units (u256).
    pub min_amount: String,
}

impl Default for AutoSwap {
    fn default() -> Self {
        AutoSwap {
            enabled: false,
            chain_id: None,
            target_token: None,
            source_tokens: Vec::new(),
            slippage_bps: 50,
            min_amount: "0".to_string(),
        }
    }
}

impl AutoSwap {
    pub const NAME: &'static str = "auto_swap";

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.enabled,
            "chain_id": self.chain_id,
            "target_token": self.target_token,
            "source_tokens": self.source_tokens,
            "slippage_bps": self.slippage_bps,
            "min_amount": self.min_amount,
        })
    }

    /// The stored value (fields it lacks take their defaults).
    pub fn from_json(text: &str) -> Result<Self> {
        let v: serde_json::Value = parse(text)?;
        let d = AutoSwap::default();
        Ok(AutoSwap {
            enabled: v["enabled"].as_bool().unwrap_or(d.enabled),
            chain_id: v["chain_id"].as_i64(),
            target_token: v["target_token"].as_str().map(str::to_string),
            source_tokens: v["source_tokens"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            slippage_bps: v["slippage_bps"].as_i64().unwrap_or(d.slippage_bps),
            min_amount: v["min_amount"]
                .as_str()
                .map(str::to_string)
                .unwrap_or(d.min_amount),
        })
    }
}

fn parse(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| crate::StoreError::Other(format!("stored setting is not JSON: {e}")))
}
