//! `POST …/wallets/{walletId}/withdraw` (docs/design/management-api.md §2.2): build an
//! EIP-1559 transaction from the chain's node (nonce, gas, fees), sign it through the engine
//! (`SIGN_TRANSACTION_V2` as the acting user, so policies and quorum apply) with the
//! `withdrawals` row — and a wallet session's spending — in the activity's transaction, then
//! broadcast it. Idempotent per (organization, idempotency key): a replay answers the same
//! withdrawal (re-broadcasting the same signed transaction), never signs twice.

use super::{address, amount, archived, asset, idempotency_key};
use super::{ChainRpc, FeeQuote, TxCall};
use crate::engine::{v1_fingerprint, InternalSubmit, PostExec};
use crate::mgmt::outcome::{activity_error, submit_error};
use crate::mgmt::sessions::{check_spend, Spend};
use crate::mgmt::{invalid, rfc3339, Access, Actor, BearerPrincipal, MgmtError, MgmtResult};
use crate::App;
use quorate_crypto::tx::eth::{self, NewTx, U256};
use quorate_domain::{Activity, ActivityStatus, Millis};
use quorate_store::mgmt::sessions as session_store;
use quorate_store::mgmt::wallets::{self as store, Withdrawal};
use quorate_store::StoreTx;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

const ROUTE: &str = "POST /v1/organizations/{org_id}/wallets/{wallet_id}/withdraw";

type AccountLocks = HashMap<(u64, String), Weak<tokio::sync::Mutex<()>>>;

static ACCOUNT_LOCKS: LazyLock<Mutex<AccountLocks>> = LazyLock::new(Default::default);

/// The lock of one sending account on one chain (entries go away with their last user).
fn account_lock(chain_id: u64, from: &str) -> Arc<tokio::sync::Mutex<()>> {
    let Ok(mut locks) = ACCOUNT_LOCKS.lock() else {
        // A poisoned map only loses the serialization, never a withdrawal's checks.
        return Arc::new(tokio::sync::Mutex::new(()));
    };
    let key = (chain_id, from.to_ascii_lowercase());
    if let Some(lock) = locks.get(&key).and_then(Weak::upgrade) {
        return lock;
    }
    locks.retain(|_, l| l.strong_count() > 0);
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(key, Arc::downgrade(&lock));
    lock
}

/// `POST …/withdraw` body.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    pub chain_id: u64,
    pub to: String,
    /// Base units, decimal.
    pub amount: String,
    /// `native` (default) or an ERC-20 contract address.
    #[serde(default)]
    pub asset: Option<String>,
    /// One of the wallet's Ethereum accounts; default its first.
    #[serde(default)]
    pub from: Option<String>,
    pub idempotency_key: String,
}

/// Who asks: a key (`wallets:withdraw`) or a wallet-session token.
#[derive(Clone, Copy)]
enum WithdrawAuth<'a> {
    Key(&'a BearerPrincipal),
    Session(&'a str),
}

/// A withdrawal as `/v1` answers it.
#[derive(Debug, Clone)]
pub struct WithdrawalView {
    pub withdrawal: Withdrawal,
    pub activity_status: ActivityStatus,
}

impl WithdrawalView {
    /// 200, or 202 while the signature waits for the root quorum.
    pub fn status(&self) -> u16 {
        if self.withdrawal.status == "consensus_needed" {
            202
        } else {
            200
        }
    }

    /// The withdrawal; while it waits (202), the activity that waits for approvals — the
    /// same request with the same `idempotency_key` then answers the withdrawal.
    pub fn json(&self) -> Value {
        let w = &self.withdrawal;
        if self.status() == 202 {
            return super::pending_activity(&w.activity_id, "ACTIVITY_TYPE_SIGN_TRANSACTION_V2");
        }
        json!({
            "id": w.id,
            "object": "withdrawal",
            "activity_id": w.activity_id,
            "activity_status": self.activity_status.as_str(),
            "status": w.status,
            "chain_id": w.chain_id,
            "from": w.from_address,
            "to": w.to_address,
            "asset": w.asset,
            "amount": w.amount,
            "nonce": w.nonce,
            "tx_hash": w.tx_hash,
            "created_at": rfc3339(w.created_at),
        })
    }
}

fn upstream(what: &str, e: impl std::fmt::Display) -> MgmtError {
    MgmtError::new(
        "upstream_error",
        format!("the chain's node failed ({what}): {e}"),
    )
}

/// Writes the withdrawal (and a session's new totals, checked under the organization's lock)
/// in the signing activity's transaction.
struct Record<'a> {
    row: Withdrawal,
    session: Option<(&'a str, Spend<'a>)>,
    now: Millis,
    /// Why the session refused, when it did (the transaction is then rolled back).
    refused: Mutex<Option<MgmtError>>,
}

#[async_trait::async_trait]
impl PostExec for Record<'_> {
    async fn run(&self, tx: &mut dyn StoreTx, activity: &Activity) -> crate::Result<()> {
        let org = self.row.organization_id.as_str();
        if let Some((id, spend)) = &self.session {
            let s = session_store::get(tx.db_handle()?, org, id)
                .await?
                .ok_or_else(|| crate::AppError::not_found("the wallet session is gone"))?;
            match check_spend(&s, spend, self.now) {
                Err(e) => {
                    let message = e.message.clone();
                    if let Ok(mut r) = self.refused.lock() {
                        *r = Some(e);
                    }
                    return Err(crate::AppError::invalid(message));
                }
                Ok((spent, count)) => {
                    if !matches!(
                        activity.status,
                        ActivityStatus::Failed | ActivityStatus::Rejected
                    ) {
                        session_store::set_spent(
                            tx.db_handle()?,
                            org,
                            id,
                            &spent.to_string(),
                            count,
                        )
                        .await?;
                    }
                }
            }
        }
        let mut row = self.row.clone();
        row.activity_id = activity.id.clone();
        row.status = match activity.status {
            ActivityStatus::Completed => "signed",
            ActivityStatus::ConsensusNeeded => "consensus_needed",
            _ => "failed",
        }
        .to_string();
        if activity.status == ActivityStatus::Completed {
            let (signed, hash) = signed_of(activity)?;
            row.signed_tx = Some(signed);
            row.tx_hash = Some(hash);
        }
        if let Some(f) = &activity.failure {
            row.error = Some(f.message.clone());
        }
        store::insert_withdrawal(tx.db_handle()?, &row).await?;
        Ok(())
    }
}

/// The signed transaction (hex, no `0x`) of a completed signing activity, and its hash.
fn signed_of(activity: &Activity) -> crate::Result<(String, String)> {
    let signed = activity.result["signTransactionResult"]["signedTransaction"]
        .as_str()
        .ok_or_else(|| crate::AppError::internal("no signed transaction in the result"))?;
    let signed = signed.trim_start_matches("0x").to_string();
    let bytes = hex::decode(&signed).map_err(|e| crate::AppError::internal(e.to_string()))?;
    Ok((signed, format!("0x{}", hex::encode(eth::tx_hash(&bytes)))))
}

/// The request's canonical form, hashed: a replay with the same idempotency key must match.
fn request_hash(
    wallet: &str,
    chain: i64,
    from: &str,
    to: &str,
    asset: &str,
    amount: &U256,
) -> String {
    quorate_crypto::sha256_hex(
        format!("{wallet}\n{chain}\n{from}\n{to}\n{asset}\n{amount}").as_bytes(),
    )
}

impl App {
    /// `POST …/wallets/{walletId}/withdraw` with a key holding `wallets:withdraw`.
    pub async fn v1_withdraw_with_key(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        wallet_id: &str,
        req: WithdrawRequest,
    ) -> MgmtResult<WithdrawalView> {
        self.v1_withdraw(WithdrawAuth::Key(p), org_id, wallet_id, req)
            .await
    }

    /// `POST …/wallets/{walletId}/withdraw` with a wallet-session token (`ws_…`): only from
    /// its wallet, within its limits, acting as the session's creator.
    pub async fn v1_withdraw_with_session(
        &self,
        token: &str,
        org_id: &str,
        wallet_id: &str,
        req: WithdrawRequest,
    ) -> MgmtResult<WithdrawalView> {
        self.v1_withdraw(WithdrawAuth::Session(token), org_id, wallet_id, req)
            .await
    }

    async fn v1_withdraw(
        &self,
        auth: WithdrawAuth<'_>,
        org_id: &str,
        wallet_id: &str,
        req: WithdrawRequest,
    ) -> MgmtResult<WithdrawalView> {
        let now = self.clock.now_ms();
        let (org, actor, session): (String, Actor, _) = match auth {
            WithdrawAuth::Key(p) => {
                p.org_level()?;
                let t = self.v1_reach(p, org_id, Access::Write).await?;
                (t.org.id, t.actor, None)
            }
            WithdrawAuth::Session(token) => {
                let c = self.v1_session_caller(token, org_id).await?;
                if c.session.wallet_id != wallet_id {
                    return Err(MgmtError::new(
                        "session_limit",
                        "this wallet session may only withdraw from its wallet",
                    ));
                }
                (c.org.id, c.actor, Some(c.session))
            }
        };
        let wallet = {
            let mut r = self.store.reader().await?;
            let w = store::get(r.db_handle()?, &org, wallet_id).await?;
            w
        }
        .ok_or_else(|| MgmtError::new("not_found", "no such wallet"))?;
        if wallet.archived_at.is_some() {
            return Err(archived());
        }
        idempotency_key("idempotency_key", &req.idempotency_key)?;
        let chain_id =
            i64::try_from(req.chain_id).map_err(|_| invalid("chain_id", "is too large"))?;
        let rpc = self.chain("chain_id", req.chain_id)?;
        let (to, to_bytes) = address("to", &req.to)?;
        let value = amount("amount", &req.amount)?;
        let asset = asset("asset", req.asset.as_deref())?;
        let from = self
            .withdraw_from(&org, wallet_id, req.from.as_deref())
            .await?;
        let hash = request_hash(wallet_id, chain_id, &from, &to, &asset, &value);
        let spend = Spend {
            wallet_id,
            chain_id,
            asset: &asset,
            to: &to,
            amount: value,
        };
        if let Some(existing) = self.find_withdrawal(&org, &req.idempotency_key).await? {
            return self.replay(existing, &hash, rpc).await;
        }
        // Cheap early refusal; checked again exactly under the organization's lock.
        if let Some(s) = &session {
            check_spend(s, &spend, now)?;
        }

        // One withdrawal at a time per sending account (in this process), from reading its
        // nonce to broadcasting, so concurrent withdrawals do not sign the same nonce.
        let account = account_lock(req.chain_id, &from);
        let _sending = account.lock().await;
        // Build the transaction from the node's view.
        let (tx_to, tx_value, data) = if asset == "native" {
            (to_bytes, value, Vec::new())
        } else {
            let (_, token) = address("asset", &asset)?;
            (
                token,
                U256::ZERO,
                eth::erc20_transfer_data(&to_bytes, &value),
            )
        };
        let nonce = rpc
            .pending_nonce(&from)
            .await
            .map_err(|e| upstream("eth_getTransactionCount", e))?;
        let call = TxCall {
            from: from.clone(),
            to: format!("0x{}", hex::encode(tx_to)),
            value: tx_value,
            data: data.clone(),
        };
        let mut gas = rpc
            .estimate_gas(&call)
            .await
            .map_err(|e| upstream("eth_estimateGas", e))?;
        if !data.is_empty() {
            // Contract calls: a margin over the estimate (unused gas is not charged).
            gas = gas.saturating_add(gas / 5);
        }
        let fees = rpc.fees().await.map_err(|e| upstream("fees", e))?;
        let new_tx = NewTx {
            chain_id: req.chain_id,
            nonce,
            gas_limit: gas,
            to: tx_to,
            value: tx_value,
            data,
        };
        let unsigned = match fees {
            FeeQuote::Eip1559 {
                base_fee,
                priority_fee,
            } => {
                let cap = base_fee
                    .checked_mul_small(2)
                    .and_then(|b| b.checked_add(&priority_fee))
                    .ok_or_else(|| upstream("fees", "the base fee overflows"))?;
                eth::encode_unsigned_1559(&new_tx, &priority_fee, &cap)
            }
            FeeQuote::Legacy { gas_price } => eth::encode_unsigned_legacy(&new_tx, &gas_price),
        };

        let row = Withdrawal {
            id: quorate_domain::id::prefixed_id("wd"),
            organization_id: org.clone(),
            wallet_id: wallet_id.to_string(),
            idempotency_key: req.idempotency_key.clone(),
            request_hash: hash.clone(),
            session_id: session.as_ref().map(|s| s.id.clone()),
            activity_id: String::new(),
            chain_id,
            from_address: from.clone(),
            to_address: to.clone(),
            asset: asset.clone(),
            amount: value.to_string(),
            nonce: i64::try_from(nonce).map_err(|_| upstream("nonce", "out of range"))?,
            signed_tx: None,
            tx_hash: None,
            status: String::new(),
            error: None,
            created_at: now,
            updated_at: now,
        };
        let post = Record {
            row,
            session: session.as_ref().map(|s| (s.id.as_str(), spend)),
            now,
            refused: Mutex::new(None),
        };
        let submitted = self
            .submit_internal(InternalSubmit {
                actor: &actor,
                org_id: &org,
                path: "sign_transaction",
                activity_type: "ACTIVITY_TYPE_SIGN_TRANSACTION_V2",
                parameters: json!({
                    "signWith": from,
                    "unsignedTransaction": hex::encode(&unsigned),
                    "type": "TRANSACTION_TYPE_ETHEREUM",
                }),
                fingerprint: v1_fingerprint(ROUTE, &org, Some(&req.idempotency_key)),
                post_exec: Some(&post),
            })
            .await;
        if let Some(e) = post.refused.lock().ok().and_then(|mut r| r.take()) {
            return Err(e);
        }
        let submitted = submitted.map_err(submit_error)?;
        // Read back what is recorded under this key (a racing request may have won).
        let existing = self
            .find_withdrawal(&org, &req.idempotency_key)
            .await?
            .ok_or_else(|| match &submitted.activity.status {
                ActivityStatus::Completed | ActivityStatus::ConsensusNeeded => {
                    MgmtError::new("internal", "the withdrawal was not recorded")
                }
                _ => activity_error(&submitted.activity, submitted.error.as_ref()),
            })?;
        self.replay(existing, &hash, rpc).await
    }

    /// The account to send from: `from` if it is one of the wallet's Ethereum accounts, else
    /// the wallet's first Ethereum account.
    async fn withdraw_from(
        &self,
        org: &str,
        wallet_id: &str,
        from: Option<&str>,
    ) -> MgmtResult<String> {
        let accounts = {
            let mut r = self.store.reader().await?;
            let a = store::accounts(r.db_handle()?, org, &[wallet_id.to_string()]).await?;
            a
        };
        let mut eth_accounts = accounts
            .into_iter()
            .filter(|a| a.address_format == "ADDRESS_FORMAT_ETHEREUM");
        match from {
            None => eth_accounts
                .next()
                .map(|a| a.address)
                .ok_or_else(|| invalid("from", "the wallet has no Ethereum account to send from")),
            Some(f) => {
                let (wanted, _) = address("from", f)?;
                eth_accounts
                    .find(|a| a.address.eq_ignore_ascii_case(&wanted))
                    .map(|a| a.address)
                    .ok_or_else(|| invalid("from", "is not an Ethereum account of this wallet"))
            }
        }
    }

    async fn find_withdrawal(&self, org: &str, key: &str) -> MgmtResult<Option<Withdrawal>> {
        let mut r = self.store.reader().await?;
        let w = store::find_withdrawal(r.db_handle()?, org, key).await?;
        Ok(w)
    }

    async fn save_withdrawal(&self, w: &Withdrawal) -> MgmtResult<()> {
        let mut tx = self.store.begin(&w.organization_id).await?;
        store::update_withdrawal(tx.db_handle()?, w).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Answers a recorded withdrawal: waits (202) while its activity waits, signs off once
    /// the activity completed, broadcasts (again) a signed one, refuses a failed one.
    async fn replay(
        &self,
        mut w: Withdrawal,
        request_hash: &str,
        rpc: Arc<dyn ChainRpc>,
    ) -> MgmtResult<WithdrawalView> {
        if w.request_hash != request_hash {
            return Err(MgmtError::new(
                "idempotency_key_reused",
                "this idempotency_key was used for a different withdrawal",
            ));
        }
        let activity = self
            .store
            .reader()
            .await?
            .get_activity(&w.organization_id, &w.activity_id)
            .await?
            .ok_or_else(|| MgmtError::new("internal", "the withdrawal's activity is gone"))?;
        let now = self.clock.now_ms();
        match (w.status.as_str(), activity.status) {
            ("consensus_needed", ActivityStatus::ConsensusNeeded) => {
                return Ok(WithdrawalView {
                    withdrawal: w,
                    activity_status: activity.status,
                })
            }
            ("consensus_needed", ActivityStatus::Completed) => {
                let (signed, hash) = signed_of(&activity).map_err(MgmtError::from)?;
                w.signed_tx = Some(signed);
                w.tx_hash = Some(hash);
                w.status = "signed".into();
                w.updated_at = now;
                self.save_withdrawal(&w).await?;
            }
            ("consensus_needed", _) => {
                w.status = "failed".into();
                w.error = Some(activity_error(&activity, None).message);
                w.updated_at = now;
                self.save_withdrawal(&w).await?;
                return Err(activity_error(&activity, None));
            }
            ("failed", _) => return Err(activity_error(&activity, None)),
            _ => {}
        }
        self.broadcast(w, activity.status, rpc).await
    }

    /// Sends a signed withdrawal unless the node already knows it (then it counts as sent).
    async fn broadcast(
        &self,
        mut w: Withdrawal,
        activity_status: ActivityStatus,
        rpc: Arc<dyn ChainRpc>,
    ) -> MgmtResult<WithdrawalView> {
        let signed = w
            .signed_tx
            .as_deref()
            .and_then(|s| hex::decode(s).ok())
            .ok_or_else(|| MgmtError::new("internal", "no signed transaction to send"))?;
        let hash = w.tx_hash.clone().unwrap_or_default();
        // A transaction the node already has (pending or mined) is not sent again: some
        // nodes (ganache 7) would execute a resent, already mined transaction a second time.
        let sent = match rpc.transaction_known(&hash).await {
            Ok(true) => Ok(()),
            _ => match rpc.send_raw_transaction(&signed).await {
                Ok(_) => Ok(()),
                Err(e) => match rpc.transaction_known(&hash).await {
                    Ok(true) => Ok(()),
                    _ => Err(e),
                },
            },
        };
        let now = self.clock.now_ms();
        match sent {
            Ok(()) => {
                if w.status != "broadcast" {
                    w.status = "broadcast".into();
                    w.error = None;
                    w.updated_at = now;
                    self.save_withdrawal(&w).await?;
                }
                Ok(WithdrawalView {
                    withdrawal: w,
                    activity_status,
                })
            }
            Err(e) => {
                w.status = "broadcast_failed".into();
                w.error = Some(e.0.clone());
                w.updated_at = now;
                self.save_withdrawal(&w).await?;
                Err(MgmtError::new(
                    "upstream_error",
                    format!(
                        "withdrawal {} is signed but the chain's node refused it ({e}); retry with the same idempotency_key to send it again",
                        w.id
                    ),
                ))
            }
        }
    }
}
