//! `/v1` wallet sessions (docs/design/management-api.md §2.2): a `ws_…` token that may only
//! withdraw from one wallet, on one chain and asset, within limits. Stored as its SHA-256;
//! read from the store on every request (never cached) and its limits checked and advanced
//! in the signing activity's transaction, so they are exact and a revocation takes effect on
//! the very next request.

use super::wallets::{address, amount, asset, stored_amount};
use super::{invalid, rfc3339, Access, Actor, BearerPrincipal, MgmtError, MgmtResult};
use super::{PageOut, PageReq};
use crate::App;
use quorate_crypto::bearer;
use quorate_crypto::tx::eth::U256;
use quorate_domain::Millis;
use quorate_store::mgmt::sessions::{self as store, WalletSession};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// The longest a session may live.
pub const MAX_SESSION_MS: Millis = 30 * 24 * 3600 * 1000;

/// `POST …/sessions` body.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWalletSession {
    /// Default: the organization's default wallet.
    #[serde(default)]
    pub wallet_id: Option<String>,
    pub chain_id: u64,
    /// `native` (default) or an ERC-20 contract address.
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub max_amount_per_tx: Option<String>,
    #[serde(default)]
    pub max_total_amount: Option<String>,
    #[serde(default)]
    pub max_transactions: Option<i64>,
    #[serde(default)]
    pub allowed_recipients: Option<Vec<String>>,
    /// RFC 3339, at most 30 days ahead.
    pub expires_at: String,
}

/// A session as `/v1` answers it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub session: WalletSession,
    pub now: Millis,
}

impl SessionView {
    /// `active`, `revoked` or `expired`.
    pub fn status(&self) -> &'static str {
        if self.session.revoked_at.is_some() {
            "revoked"
        } else if self.session.expires_at <= self.now {
            "expired"
        } else {
            "active"
        }
    }

    pub fn json(&self) -> Value {
        let s = &self.session;
        json!({
            "id": s.id,
            "object": "wallet_session",
            "wallet_id": s.wallet_id,
            "chain_id": s.chain_id,
            "asset": s.asset,
            "limits": {
                "max_amount_per_tx": s.max_amount_per_tx,
                "max_total_amount": s.max_total_amount,
                "max_transactions": s.max_transactions,
                "allowed_recipients": s.allowed_recipients,
            },
            "spent_amount": s.spent_amount,
            "tx_count": s.tx_count,
            "key_prefix": s.key_prefix,
            "created_by_user_id": s.created_by_user_id,
            "expires_at": rfc3339(s.expires_at),
            "revoked_at": s.revoked_at.map(rfc3339),
            "status": self.status(),
            "created_at": rfc3339(s.created_at),
        })
    }
}

fn not_found() -> MgmtError {
    MgmtError::new("not_found", "no such wallet session")
}

fn limit(message: impl Into<String>) -> MgmtError {
    MgmtError::new("session_limit", message)
}

/// Refuses a revoked or expired session (401).
pub(crate) fn check_live(s: &WalletSession, now: Millis) -> MgmtResult<()> {
    if s.revoked_at.is_some() {
        return Err(MgmtError::new(
            "api_key_revoked",
            "this wallet session has been revoked",
        ));
    }
    if s.expires_at <= now {
        return Err(MgmtError::new(
            "api_key_expired",
            "this wallet session has expired",
        ));
    }
    Ok(())
}

/// What a withdrawal through a session asks.
pub(crate) struct Spend<'a> {
    pub wallet_id: &'a str,
    pub chain_id: i64,
    pub asset: &'a str,
    pub to: &'a str,
    pub amount: U256,
}

/// Checks a withdrawal against the session (live, its wallet, chain, asset, recipients and
/// limits); answers the session's totals after it: `(spent_amount, tx_count)`.
pub(crate) fn check_spend(
    s: &WalletSession,
    spend: &Spend<'_>,
    now: Millis,
) -> MgmtResult<(U256, i64)> {
    check_live(s, now)?;
    if s.wallet_id != spend.wallet_id {
        return Err(limit(
            "this wallet session may only withdraw from its wallet",
        ));
    }
    if s.chain_id != spend.chain_id {
        return Err(limit(format!(
            "this wallet session may only withdraw on chain {}",
            s.chain_id
        )));
    }
    if s.asset != spend.asset {
        return Err(limit(format!(
            "this wallet session may only withdraw the asset `{}`",
            s.asset
        )));
    }
    if !s.allowed_recipients.is_empty() && !s.allowed_recipients.iter().any(|r| r == spend.to) {
        return Err(limit(
            "this wallet session may not pay this recipient (not in allowed_recipients)",
        ));
    }
    if let Some(max) = &s.max_amount_per_tx {
        if spend.amount > stored_amount(max)? {
            return Err(limit(format!(
                "the amount exceeds this wallet session's max_amount_per_tx ({max})"
            )));
        }
    }
    let spent = stored_amount(&s.spent_amount)?
        .checked_add(&spend.amount)
        .ok_or_else(|| limit("the session's total would overflow"))?;
    if let Some(max) = &s.max_total_amount {
        if spent > stored_amount(max)? {
            return Err(limit(format!(
                "this withdrawal would exceed the wallet session's max_total_amount ({max}; {} spent)",
                s.spent_amount
            )));
        }
    }
    let count = s.tx_count.saturating_add(1);
    if let Some(max) = s.max_transactions {
        if count > max {
            return Err(limit(format!(
                "this wallet session has made its max_transactions ({max})"
            )));
        }
    }
    Ok((spent, count))
}

/// A resolved session token: the session, and who it acts as.
pub(crate) struct SessionCaller {
    pub session: WalletSession,
    pub actor: Actor,
    pub org: quorate_domain::Organization,
}

impl App {
    /// Resolves a `ws_…` token presented for `org_id`: shape and checksum first, then the
    /// stored hash (constant-time), liveness, the organization (and its parent) not
    /// suspended, the creating key not revoked. Read from the store every time.
    pub(crate) async fn v1_session_caller(
        &self,
        token: &str,
        org_id: &str,
    ) -> MgmtResult<SessionCaller> {
        bearer::parse(token).map_err(|e| MgmtError::new("invalid_api_key", e.to_string()))?;
        let hash = bearer::hash(token);
        let mut r = self.store.reader().await?;
        let session = store::find_by_hash(r.db_handle()?, &hash)
            .await?
            .filter(|s| bool::from(s.secret_hash.as_bytes().ct_eq(hash.as_bytes())))
            .ok_or_else(|| MgmtError::new("invalid_api_key", "unknown wallet session token"))?;
        check_live(&session, self.clock.now_ms())?;
        if session.organization_id != org_id {
            return Err(MgmtError::new("not_found", "no such organization"));
        }
        let org = r
            .get_organization(org_id)
            .await?
            .ok_or_else(|| MgmtError::new("not_found", "no such organization"))?;
        let suspended = || {
            MgmtError::new(
                "organization_suspended",
                "this wallet session's organization is suspended",
            )
        };
        if org.v1.suspended {
            return Err(suspended());
        }
        if let Some(parent) = &org.parent_id {
            if r.get_organization(parent)
                .await?
                .is_some_and(|p| p.v1.suspended)
            {
                return Err(suspended());
            }
        }
        let key = r
            .get_bearer_key(
                &session.created_by_key_organization_id,
                &session.created_by_key_id,
            )
            .await?;
        if key.is_none_or(|k| k.revoked_at.is_some()) {
            return Err(MgmtError::new(
                "api_key_revoked",
                "the API key that created this wallet session has been revoked",
            ));
        }
        let actor = Actor {
            user_id: session.created_by_user_id.clone(),
            key_organization_id: session.created_by_key_organization_id.clone(),
            key_id: session.created_by_key_id.clone(),
        };
        Ok(SessionCaller {
            session,
            actor,
            org,
        })
    }

    /// `POST …/sessions` (`sessions:manage`, and the key must hold `wallets:withdraw`): a
    /// session token for one wallet, chain and asset, within limits; revealed once.
    pub async fn v1_create_session(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        req: NewWalletSession,
    ) -> MgmtResult<(SessionView, bearer::BearerKey)> {
        p.org_level()?;
        p.require("wallets:withdraw").map_err(|_| {
            MgmtError::new(
                "scope_missing",
                "creating a wallet session also requires the scope `wallets:withdraw`",
            )
        })?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let org = t.org.id.clone();
        let now = self.clock.now_ms();
        let chain_id =
            i64::try_from(req.chain_id).map_err(|_| invalid("chain_id", "is too large"))?;
        self.chain("chain_id", req.chain_id)?;
        let asset = asset("asset", req.asset.as_deref())?;
        let positive = |field: &str, v: &Option<String>| -> MgmtResult<Option<String>> {
            v.as_deref()
                .map(|s| amount(field, s).map(|a| a.to_string()))
                .transpose()
        };
        let max_amount_per_tx = positive("max_amount_per_tx", &req.max_amount_per_tx)?;
        let max_total_amount = positive("max_total_amount", &req.max_total_amount)?;
        if let Some(n) = req.max_transactions {
            if n < 1 {
                return Err(invalid("max_transactions", "must be at least 1"));
            }
        }
        let recipients = req.allowed_recipients.unwrap_or_default();
        if recipients.len() > 100 {
            return Err(invalid("allowed_recipients", "has more than 100 entries"));
        }
        let mut allowed = Vec::with_capacity(recipients.len());
        for (i, r) in recipients.iter().enumerate() {
            let (a, _) = address(&format!("allowed_recipients[{i}]"), r)?;
            if !allowed.contains(&a) {
                allowed.push(a);
            }
        }
        let expires_at = super::millis_of("expires_at", &req.expires_at)?;
        if expires_at <= now {
            return Err(invalid("expires_at", "must be in the future"));
        }
        if expires_at > now + MAX_SESSION_MS {
            return Err(invalid("expires_at", "must be at most 30 days ahead"));
        }
        let mut tx = self.store.begin(&org).await?;
        let wallet_id = match req.wallet_id {
            Some(w) => w,
            None => quorate_store::mgmt::wallets::default_wallet_id(tx.db_handle()?, &org)
                .await?
                .ok_or_else(|| {
                    invalid(
                        "wallet_id",
                        "the organization has no default wallet; name one",
                    )
                })?,
        };
        let wallet = quorate_store::mgmt::wallets::get(tx.db_handle()?, &org, &wallet_id)
            .await?
            .ok_or_else(|| invalid("wallet_id", "no such wallet in this organization"))?;
        if wallet.archived_at.is_some() {
            return Err(invalid("wallet_id", "this wallet is archived"));
        }
        let token = bearer::generate("ws", p.key.environment == "live")
            .map_err(|e| MgmtError::new("internal", e.to_string()))?;
        let exposed = token.expose();
        let session = WalletSession {
            n: 0,
            id: quorate_domain::id::prefixed_id("ses"),
            organization_id: org.clone(),
            wallet_id,
            chain_id,
            asset,
            secret_hash: bearer::hash(exposed),
            key_prefix: token.preview(),
            key_last4: exposed[exposed.len().saturating_sub(4)..].to_string(),
            max_amount_per_tx,
            max_total_amount,
            max_transactions: req.max_transactions,
            allowed_recipients: allowed,
            spent_amount: "0".to_string(),
            tx_count: 0,
            created_by_user_id: t.actor.user_id.clone(),
            created_by_key_id: p.key.id.clone(),
            created_by_key_organization_id: p.key.organization_id.clone(),
            expires_at,
            revoked_at: None,
            created_at: now,
        };
        store::insert(tx.db_handle()?, &session).await?;
        tx.commit().await?;
        Ok((SessionView { session, now }, token))
    }

    /// `GET …/sessions` (`sessions:list`): active sessions, oldest first.
    pub async fn v1_list_sessions(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        page: &PageReq,
    ) -> MgmtResult<PageOut<SessionView>> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let now = self.clock.now_ms();
        let mut r = self.store.reader().await?;
        let rows = store::list_active(
            r.db_handle()?,
            &t.org.id,
            now,
            page.after_n()?,
            page.limit + 1,
        )
        .await?;
        Ok(PageOut::from_rows(rows, page.limit, |s| s.n.to_string())
            .map(|session| SessionView { session, now }))
    }

    /// `GET …/sessions/{id}` (`sessions:read`), whatever its status.
    pub async fn v1_get_session(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        id: &str,
    ) -> MgmtResult<SessionView> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let mut r = self.store.reader().await?;
        let session = store::get(r.db_handle()?, &t.org.id, id)
            .await?
            .ok_or_else(not_found)?;
        Ok(SessionView {
            session,
            now: self.clock.now_ms(),
        })
    }

    /// `DELETE …/sessions/{id}` (`sessions:manage`): revoked at once (the next request with
    /// the token is refused).
    pub async fn v1_revoke_session(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        id: &str,
    ) -> MgmtResult<SessionView> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let org = t.org.id.as_str();
        let now = self.clock.now_ms();
        let mut tx = self.store.begin(org).await?;
        if store::get(tx.db_handle()?, org, id).await?.is_none() {
            return Err(not_found());
        }
        store::revoke(tx.db_handle()?, org, id, now).await?;
        let session = store::get(tx.db_handle()?, org, id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(SessionView { session, now })
    }
}
