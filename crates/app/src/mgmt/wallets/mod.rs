//! `/v1` wallets (docs/design/management-api.md §2): the organization's vault wallets with an
//! archive flag and a default, created through the activity engine (so policies apply), and
//! withdrawals from them ([`withdraw`]) over a chain's JSON-RPC node ([`ChainRpc`]).

mod withdraw;

use super::outcome::{activity_error, submit_error};
use super::{invalid, rfc3339, Access, BearerPrincipal, MgmtError, MgmtResult, PageOut, PageReq};
use crate::engine::{v1_fingerprint, InternalSubmit, PostExec};
use crate::App;
use quorate_crypto::tx::eth::U256;
use quorate_domain::{Activity, ActivityStatus};
use quorate_store::mgmt::wallets::{self as store, AccountRow, WalletRow};
use quorate_store::StoreTx;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// What a withdrawal asks a chain's node (implemented over JSON-RPC by the `quorate-chain`
/// crate; the CLI configures one per chain id in [`ChainSettings`]).
#[async_trait::async_trait]
pub trait ChainRpc: Send + Sync {
    /// `eth_getTransactionCount(address, "pending")`.
    async fn pending_nonce(&self, address: &str) -> Result<u64, ChainError>;
    /// `eth_estimateGas` of the call.
    async fn estimate_gas(&self, call: &TxCall) -> Result<u64, ChainError>;
    /// The latest block's base fee and `eth_maxPriorityFeePerGas`; `eth_gasPrice` on a chain
    /// without a base fee.
    async fn fees(&self) -> Result<FeeQuote, ChainError>;
    /// `eth_sendRawTransaction`; answers the transaction hash.
    async fn send_raw_transaction(&self, signed: &[u8]) -> Result<String, ChainError>;
    /// Whether the node knows a transaction (`eth_getTransactionByHash` is not null).
    async fn transaction_known(&self, hash: &str) -> Result<bool, ChainError>;
}

/// A call to estimate: addresses `0x…`, `value` in wei.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxCall {
    pub from: String,
    pub to: String,
    pub value: U256,
    pub data: Vec<u8>,
}

/// Fees for a new transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeQuote {
    /// EIP-1559: `maxFeePerGas = 2 × base_fee + priority_fee`.
    Eip1559 { base_fee: U256, priority_fee: U256 },
    /// A chain without a base fee: a legacy (EIP-155) transaction at this price.
    Legacy { gas_price: U256 },
}

/// A node that failed or refused (answered as 502 `upstream_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError(pub String);

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The chains withdrawals may use, by chain id (deployment setting: `--chain ID=URL`).
#[derive(Clone, Default)]
pub struct ChainSettings(pub HashMap<u64, Arc<dyn ChainRpc>>);

impl App {
    /// The node of `chain_id`, or 422 naming `field`.
    pub(crate) fn chain(&self, field: &str, chain_id: u64) -> MgmtResult<Arc<dyn ChainRpc>> {
        let settings = self.setting::<ChainSettings>();
        if let Some(rpc) = settings.as_ref().and_then(|s| s.0.get(&chain_id)) {
            return Ok(rpc.clone());
        }
        let mut known: Vec<u64> = settings
            .map(|s| s.0.keys().copied().collect())
            .unwrap_or_default();
        known.sort_unstable();
        let known = if known.is_empty() {
            "none is configured (`quorate serve --chain ID=URL`)".to_string()
        } else {
            format!(
                "configured: {}",
                known
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(invalid(
            field,
            format!("chain {chain_id} is not configured on this server; {known}"),
        ))
    }
}

/// `0x` + 40 hex digits → the lowercase address and its bytes.
pub(crate) fn address(field: &str, s: &str) -> MgmtResult<(String, [u8; 20])> {
    let hex_part = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .filter(|h| h.len() == 40)
        .ok_or_else(|| invalid(field, "must be an address: 0x and 40 hex digits"))?;
    let mut out = [0u8; 20];
    hex::decode_to_slice(hex_part, &mut out)
        .map_err(|_| invalid(field, "must be an address: 0x and 40 hex digits"))?;
    Ok((format!("0x{}", hex::encode(out)), out))
}

/// A positive amount of base units in decimal (u256).
pub(crate) fn amount(field: &str, s: &str) -> MgmtResult<U256> {
    let bad = || {
        invalid(
            field,
            "must be a positive integer of base units in decimal, like \"1000000000000000000\"",
        )
    };
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let v = U256::from_dec_str(s).ok_or_else(bad)?;
    if v.is_zero() {
        return Err(bad());
    }
    Ok(v)
}

/// A non-negative stored amount (trusted text written by this module).
pub(crate) fn stored_amount(s: &str) -> MgmtResult<U256> {
    U256::from_dec_str(s).ok_or_else(|| MgmtError::new("internal", "stored amount is not a u256"))
}

/// `native` or an ERC-20 contract address (lowercase).
pub(crate) fn asset(field: &str, s: Option<&str>) -> MgmtResult<String> {
    match s {
        None | Some("native") => Ok("native".to_string()),
        Some(a) => address(field, a)
            .map(|(a, _)| a)
            .map_err(|_| invalid(field, "must be `native` or an ERC-20 contract address")),
    }
}

fn not_found() -> MgmtError {
    MgmtError::new("not_found", "no such wallet")
}

pub(crate) fn archived() -> MgmtError {
    MgmtError::new(
        "wallet_archived",
        "this wallet is archived; it cannot be the default or withdraw",
    )
}

/// A wallet as `/v1` answers it.
#[derive(Debug, Clone)]
pub struct WalletView {
    pub wallet: WalletRow,
    pub is_default: bool,
    pub accounts: Vec<AccountRow>,
}

impl WalletView {
    pub fn json(&self) -> Value {
        json!({
            "id": self.wallet.id,
            "object": "wallet",
            "name": self.wallet.name,
            "is_default": self.is_default,
            "archived_at": self.wallet.archived_at.map(rfc3339),
            "accounts": self.accounts.iter().map(|a| json!({
                "address": a.address,
                "address_format": a.address_format,
                "curve": a.curve,
                "path": a.path,
            })).collect::<Vec<_>>(),
            "created_at": rfc3339(self.wallet.created_at),
        })
    }
}

/// `POST …/wallets` body.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWallet {
    pub name: String,
    /// 12, 15, 18, 21 or 24 (default 12).
    #[serde(default)]
    pub mnemonic_length: Option<i64>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// What `POST …/wallets` did: created the wallet, or it waits for the root quorum.
#[derive(Debug, Clone)]
pub enum WalletCreated {
    Created(WalletView),
    ConsensusNeeded { activity_id: String },
}

impl WalletCreated {
    /// 201 or 202.
    pub fn status(&self) -> u16 {
        match self {
            WalletCreated::Created(_) => 201,
            WalletCreated::ConsensusNeeded { .. } => 202,
        }
    }

    pub fn json(&self) -> Value {
        match self {
            WalletCreated::Created(w) => w.json(),
            WalletCreated::ConsensusNeeded { activity_id } => {
                pending_activity(activity_id, "ACTIVITY_TYPE_CREATE_WALLET")
            }
        }
    }
}

/// The 202 answer's `data`: the activity that waits for approvals (Turnkey face:
/// `approve_activity`).
pub(crate) fn pending_activity(id: &str, activity_type: &str) -> Value {
    json!({
        "object": "activity",
        "id": id,
        "type": activity_type,
        "status": ActivityStatus::ConsensusNeeded.as_str(),
    })
}

/// An idempotency key: 1 to 128 printable characters.
pub(crate) fn idempotency_key(field: &str, k: &str) -> MgmtResult<()> {
    if k.is_empty() || k.chars().count() > 128 || k.chars().any(char::is_control) {
        return Err(invalid(field, "must be 1 to 128 printable characters"));
    }
    Ok(())
}

/// The first wallet of an organization becomes its default, in the creating activity's
/// transaction.
struct FirstIsDefault<'a> {
    org: &'a str,
}

#[async_trait::async_trait]
impl PostExec for FirstIsDefault<'_> {
    async fn run(&self, tx: &mut dyn StoreTx, activity: &Activity) -> crate::Result<()> {
        if activity.status != ActivityStatus::Completed {
            return Ok(());
        }
        let Some(id) = activity.result["createWalletResult"]["walletId"].as_str() else {
            return Ok(());
        };
        let current = store::default_wallet_id(tx.db_handle()?, self.org).await?;
        let usable = match current {
            None => false,
            Some(c) => store::get(tx.db_handle()?, self.org, &c)
                .await?
                .is_some_and(|w| w.archived_at.is_none()),
        };
        if !usable {
            quorate_store::mgmt::orgs::set_default_wallet(tx.db_handle()?, self.org, Some(id))
                .await?;
        }
        Ok(())
    }
}

impl App {
    async fn wallet_views(&self, org: &str, rows: Vec<WalletRow>) -> MgmtResult<Vec<WalletView>> {
        let mut r = self.store.reader().await?;
        let ids: Vec<String> = rows.iter().map(|w| w.id.clone()).collect();
        let default = store::default_wallet_id(r.db_handle()?, org).await?;
        let mut accounts = store::accounts(r.db_handle()?, org, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|wallet| {
                let (mine, rest) = accounts.drain(..).partition(|a| a.wallet_id == wallet.id);
                accounts = rest;
                WalletView {
                    is_default: default.as_deref() == Some(wallet.id.as_str()),
                    accounts: mine,
                    wallet,
                }
            })
            .collect())
    }

    async fn wallet_view(&self, org: &str, id: &str) -> MgmtResult<WalletView> {
        let row = {
            let mut r = self.store.reader().await?;
            let w = store::get(r.db_handle()?, org, id).await?;
            w
        }
        .ok_or_else(not_found)?;
        self.wallet_views(org, vec![row])
            .await?
            .pop()
            .ok_or_else(not_found)
    }

    /// `GET …/wallets` (`wallets:read`): live wallets, oldest first; archived ones with
    /// `include_archived`.
    pub async fn v1_list_wallets(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        include_archived: bool,
        page: &PageReq,
    ) -> MgmtResult<PageOut<WalletView>> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Read).await?;
        let rows = {
            let mut r = self.store.reader().await?;
            let rows = store::list(
                r.db_handle()?,
                &t.org.id,
                include_archived,
                page.after_n()?,
                page.limit + 1,
            )
            .await?;
            rows
        };
        let page = PageOut::from_rows(rows, page.limit, |w| w.n.to_string());
        let items = self.wallet_views(&t.org.id, page.items).await?;
        Ok(PageOut {
            items,
            next: page.next,
        })
    }

    /// `POST …/wallets` (`wallets:manage`): a `CREATE_WALLET` activity with one Ethereum
    /// account (`m/44'/60'/0'/0/0`), so the organization's policies and quorum apply; the
    /// first wallet becomes the default.
    pub async fn v1_create_wallet(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        req: NewWallet,
    ) -> MgmtResult<WalletCreated> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let name = super::display_name("name", &req.name)?;
        if let Some(n) = req.mnemonic_length {
            if ![12, 15, 18, 21, 24].contains(&n) {
                return Err(invalid("mnemonic_length", "must be 12, 15, 18, 21 or 24"));
            }
        }
        if let Some(k) = &req.idempotency_key {
            idempotency_key("idempotency_key", k)?;
        }
        let mut parameters = json!({
            "walletName": name,
            "accounts": [{
                "curve": "CURVE_SECP256K1",
                "pathFormat": "PATH_FORMAT_BIP32",
                "path": "m/44'/60'/0'/0/0",
                "addressFormat": "ADDRESS_FORMAT_ETHEREUM",
            }],
        });
        if let Some(n) = req.mnemonic_length {
            parameters["mnemonicLength"] = json!(n);
        }
        let post = FirstIsDefault { org: &t.org.id };
        let submitted = self
            .submit_internal(InternalSubmit {
                actor: &t.actor,
                org_id: &t.org.id,
                path: "create_wallet",
                activity_type: "ACTIVITY_TYPE_CREATE_WALLET",
                parameters,
                fingerprint: v1_fingerprint(
                    "POST /v1/organizations/{org_id}/wallets",
                    &t.org.id,
                    req.idempotency_key.as_deref(),
                ),
                post_exec: Some(&post),
            })
            .await
            .map_err(submit_error)?;
        let a = &submitted.activity;
        match a.status {
            ActivityStatus::Completed => {
                let id = a.result["createWalletResult"]["walletId"]
                    .as_str()
                    .ok_or_else(|| MgmtError::new("internal", "no wallet id in the result"))?;
                Ok(WalletCreated::Created(
                    self.wallet_view(&t.org.id, id).await?,
                ))
            }
            ActivityStatus::ConsensusNeeded => Ok(WalletCreated::ConsensusNeeded {
                activity_id: a.id.clone(),
            }),
            _ => Err(activity_error(a, submitted.error.as_ref())),
        }
    }

    /// `DELETE …/wallets/{walletId}` (`wallets:manage`): archives the wallet — hidden from
    /// the list, no withdrawals; key material and the Turnkey face are untouched. The default
    /// and the only wallet cannot be archived.
    pub async fn v1_archive_wallet(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        wallet_id: &str,
    ) -> MgmtResult<WalletView> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let org = t.org.id.as_str();
        let mut tx = self.store.begin(org).await?;
        let w = store::get(tx.db_handle()?, org, wallet_id)
            .await?
            .ok_or_else(not_found)?;
        if w.archived_at.is_none() {
            if store::count_active(tx.db_handle()?, org).await? <= 1 {
                return Err(MgmtError::new(
                    "only_wallet",
                    "this is the organization's only wallet; create another one first",
                ));
            }
            if store::default_wallet_id(tx.db_handle()?, org)
                .await?
                .as_deref()
                == Some(wallet_id)
            {
                return Err(MgmtError::new(
                    "default_wallet",
                    "this is the organization's default wallet; make another one the default first",
                ));
            }
            store::archive(tx.db_handle()?, org, wallet_id, self.clock.now_ms()).await?;
            tx.commit().await?;
        }
        self.wallet_view(org, wallet_id).await
    }

    /// `PUT …/wallets/{walletId}/default` (`wallets:manage`).
    pub async fn v1_set_default_wallet(
        &self,
        p: &BearerPrincipal,
        org_id: &str,
        wallet_id: &str,
    ) -> MgmtResult<WalletView> {
        p.org_level()?;
        let t = self.v1_reach(p, org_id, Access::Write).await?;
        let org = t.org.id.as_str();
        let mut tx = self.store.begin(org).await?;
        let w = store::get(tx.db_handle()?, org, wallet_id)
            .await?
            .ok_or_else(not_found)?;
        if w.archived_at.is_some() {
            return Err(archived());
        }
        quorate_store::mgmt::orgs::set_default_wallet(tx.db_handle()?, org, Some(wallet_id))
            .await?;
        tx.commit().await?;
        self.wallet_view(org, wallet_id).await
    }
}
