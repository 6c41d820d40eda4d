//! `/v1` organization settings: knowledge pruning (`O/knowledge-settings`) and automatic token
//! swaps (`O/auto-swap-settings`, owners only) (docs/design/management-api.md §2).

use super::members::Role;
use super::{invalid, BearerPrincipal, MgmtError, MgmtResult, Target};
use crate::App;
use quorate_store::mgmt::settings::{self, AutoSwap, KnowledgeSettings};

/// Most source tokens one auto-swap setting may list.
pub const AUTO_SWAP_SOURCES_MAX: usize = 100;
/// 2²⁵⁶ − 1, the largest base-unit amount.
const U256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

/// `0x` + 40 hex digits (any case); returned lowercase.
fn address(field: &str, a: &str) -> MgmtResult<String> {
    let ok = a.len() == 42
        && (a.starts_with("0x") || a.starts_with("0X"))
        && a[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(format!("0x{}", a[2..].to_ascii_lowercase()))
    } else {
        Err(invalid(field, "must be a 20-byte hex address like 0x…"))
    }
}

/// A decimal number of base units: digits, no sign or leading zeros, at most 2²⁵⁶ − 1.
fn base_units(field: &str, s: &str) -> MgmtResult<()> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let canonical = s == "0" || !s.starts_with('0');
    let fits = s.len() < U256_MAX.len() || (s.len() == U256_MAX.len() && s <= U256_MAX);
    if digits && canonical && fits {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be a decimal string of base units (digits only, no leading zeros, at most 2^256 - 1)",
        ))
    }
}

impl App {
    /// `GET O/knowledge-settings` (`knowledge:read`): the stored settings, or the default
    /// (pruning off).
    pub async fn v1_knowledge_settings(
        &self,
        p: &BearerPrincipal,
        t: &Target,
    ) -> MgmtResult<KnowledgeSettings> {
        p.org_level()?;
        let mut reader = self.store.reader().await?;
        let stored = settings::get(reader.db_handle()?, &t.org.id, KnowledgeSettings::NAME).await?;
        match stored {
            Some(s) => Ok(KnowledgeSettings::from_json(&s.value)?),
            None => Ok(KnowledgeSettings::default()),
        }
    }

    /// `PUT O/knowledge-settings` (`organizations:update`): replaces the settings. Pruning
    /// applies from the next insert or pruning pass on.
    pub async fn v1_put_knowledge_settings(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        s: KnowledgeSettings,
    ) -> MgmtResult<KnowledgeSettings> {
        p.org_level()?;
        if s.max_entries.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
            return Err(invalid("max_entries", "must be from 1 to 1000000, or null"));
        }
        if s.max_age_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(invalid("max_age_days", "must be from 1 to 3650, or null"));
        }
        let value = s.to_json().to_string();
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        settings::put(
            tx.db_handle()?,
            org,
            KnowledgeSettings::NAME,
            &value,
            &t.actor.user_id,
            self.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// `GET O/auto-swap-settings` (`settings:read`): the stored settings, or the disabled
    /// default.
    pub async fn v1_auto_swap_settings(
        &self,
        p: &BearerPrincipal,
        t: &Target,
    ) -> MgmtResult<AutoSwap> {
        p.org_level()?;
        let mut reader = self.store.reader().await?;
        let stored = settings::get(reader.db_handle()?, &t.org.id, AutoSwap::NAME).await?;
        match stored {
            Some(s) => Ok(AutoSwap::from_json(&s.value)?),
            None => Ok(AutoSwap::default()),
        }
    }

    /// `PUT O/auto-swap-settings` (`settings:manage`, and the acting user must be an owner):
    /// replaces the settings. Enabled settings need a target token and a chain configured on
    /// this server; disabled ones may name any chain id.
    pub async fn v1_put_auto_swap_settings(
        &self,
        p: &BearerPrincipal,
        t: &Target,
        mut s: AutoSwap,
    ) -> MgmtResult<AutoSwap> {
        p.org_level()?;
        let role = self.v1_role(t).await?;
        if role != Role::Owner {
            return Err(MgmtError::new(
                "role_required",
                format!(
                    "only owners may change auto-swap settings; the acting user is `{}`",
                    role.as_str()
                ),
            ));
        }
        if s.chain_id.is_some_and(|c| c <= 0) {
            return Err(invalid("chain_id", "must be a positive integer"));
        }
        if let Some(a) = &s.target_token {
            s.target_token = Some(address("target_token", a)?);
        }
        if s.source_tokens.len() > AUTO_SWAP_SOURCES_MAX {
            return Err(invalid(
                "source_tokens",
                format!("must list at most {AUTO_SWAP_SOURCES_MAX} tokens"),
            ));
        }
        let mut sources = Vec::with_capacity(s.source_tokens.len());
        for (i, a) in s.source_tokens.iter().enumerate() {
            let field = format!("source_tokens[{i}]");
            let a = address(&field, a)?;
            if sources.contains(&a) {
                return Err(invalid(&field, "is listed twice"));
            }
            if s.target_token.as_ref() == Some(&a) {
                return Err(invalid(&field, "is the target token"));
            }
            sources.push(a);
        }
        s.source_tokens = sources;
        if !(1..=5000).contains(&s.slippage_bps) {
            return Err(invalid("slippage_bps", "must be from 1 to 5000"));
        }
        base_units("min_amount", &s.min_amount)?;
        if s.enabled {
            let Some(chain_id) = s.chain_id else {
                return Err(invalid("chain_id", "is required when `enabled` is true"));
            };
            if s.target_token.is_none() {
                return Err(invalid(
                    "target_token",
                    "is required when `enabled` is true",
                ));
            }
            // Enabled swaps need a chain this deployment serves (`--chain ID=URL`).
            self.chain("chain_id", chain_id.unsigned_abs())?;
        }
        let value = s.to_json().to_string();
        let org = &t.org.id;
        let mut tx = self.store.begin(org).await?;
        settings::put(
            tx.db_handle()?,
            org,
            AutoSwap::NAME,
            &value,
            &t.actor.user_id,
            self.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }
}
