//! The policy language as the activity engine uses it: checked when a policy is written.

/// Which expression of a policy: `condition` sees the activity and its resources,
/// `consensus` sees approvers and credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Condition,
    Consensus,
}

/// Parses and checks `src`; the error names the problem and its position.
pub fn check(src: &str, scope: Scope) -> Result<(), String> {
    let scope = match scope {
        Scope::Condition => quorate_policy::Scope::Condition,
        Scope::Consensus => quorate_policy::Scope::Consensus,
    };
    quorate_policy::parse(src, scope)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

// ---- evaluation: what the engine hands the policy language ----

use crate::command::Command;
use crate::vault::command::VaultCommand;
use quorate_crypto::tx::ParsedTx;
use quorate_domain::{activity_kinds, KeyRef, Organization, Vote};
use quorate_policy::{Effect, Int, Limits, Policy, PolicySet, Timestamp, Value};
use quorate_store::{Reader, Result as StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Compiled policy sets per organization, keyed by the organization's version (bumped in the
/// transaction of every user, tag, policy or quorum change), so a change is never missed.
#[derive(Default)]
pub struct PolicyCache {
    sets: Mutex<HashMap<String, (i64, Arc<PolicySet>)>>,
}

impl PolicyCache {
    /// The organization's policies as of `org.version` (read in `tx`, compiled once).
    pub async fn get(
        &self,
        tx: &mut dyn Reader,
        org: &Organization,
    ) -> StoreResult<Arc<PolicySet>> {
        if let Some((v, set)) = self.sets.lock().ok().and_then(|m| m.get(&org.id).cloned()) {
            if v == org.version {
                return Ok(set);
            }
        }
        let limits = Limits::default();
        let mut compiled = Vec::new();
        for p in tx.list_policies(&org.id).await? {
            let effect = Effect::from_wire(&p.effect).unwrap_or(Effect::Deny);
            let nonempty = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
            // Stored policies were checked when written; one that no longer compiles (e.g. a
            // stricter checker) is skipped rather than blocking the organization.
            if let Ok(c) = Policy::compile(
                p.id.as_str(),
                effect,
                nonempty(&p.condition).as_deref(),
                nonempty(&p.consensus).as_deref(),
                None,
                &limits,
            ) {
                compiled.push(c);
            }
        }
        let set = Arc::new(PolicySet::new(compiled));
        if let Ok(mut m) = self.sets.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(org.id.clone(), (org.version, set.clone()));
        }
        Ok(set)
    }
}

fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for ch in key.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// `activity.params`: the intent's parameters with snake_case names.
fn params(intent: &serde_json::Value) -> Value {
    let Some(obj) = intent
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|p| p.as_object())
    else {
        return Value::map(Vec::<(String, Value)>::new());
    };
    Value::map(
        obj.iter()
            .filter_map(|(k, v)| Value::from_json(v).ok().map(|v| (snake(k), v))),
    )
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn eth_tx(tx: &quorate_crypto::tx::eth::UnsignedTx, from: Option<&str>) -> Value {
    let int = |u: &quorate_crypto::tx::eth::U256| {
        u.to_string()
            .parse::<Int>()
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let mut fields: Vec<(&str, Value)> = vec![
        ("nonce", Value::from(tx.nonce)),
        ("gas", Value::from(tx.gas_limit)),
        ("value", int(&tx.value)),
        ("data", hex0x(&tx.data).into()),
        (
            "type",
            Value::from(match tx.tx_type {
                quorate_crypto::tx::eth::EthTxType::Legacy => 0u64,
                quorate_crypto::tx::eth::EthTxType::Eip2930 => 1,
                quorate_crypto::tx::eth::EthTxType::Eip1559 => 2,
                quorate_crypto::tx::eth::EthTxType::Eip4844 => 3,
                _ => 4,
            }),
        ),
    ];
    if let Some(to) = tx.to {
        fields.push(("to", hex0x(&to).into()));
    }
    if let Some(c) = tx.chain_id {
        fields.push(("chain_id", Value::from(c)));
    }
    if let Some(p) = &tx.gas_price {
        fields.push(("gas_price", int(p)));
    }
    if let Some(f) = from {
        fields.push(("from", f.to_ascii_lowercase().into()));
    }
    Value::map(fields)
}

fn solana_tx(tx: &quorate_crypto::tx::solana::UnsignedTx) -> Value {
    let b58 = |k: &[u8; 32]| Value::from(bs58::encode(k).into_string());
    let keys: Vec<Value> = tx.account_keys.iter().map(b58).collect();
    let programs: Vec<Value> = tx
        .instructions
        .iter()
        .filter_map(|i| tx.account_keys.get(usize::from(i.program_id_index)))
        .map(b58)
        .collect();
    Value::map([
        ("account_keys", Value::List(keys)),
        ("program_keys", Value::List(programs)),
    ])
}

/// The approvers and credentials of the votes so far (consensus document).
pub fn consensus_doc(voters: &[(Vote, Vec<String>, Option<String>)]) -> Value {
    let approvers = voters
        .iter()
        .filter(|(v, _, _)| v.selection == crate::consensus::APPROVED)
        .map(|(v, tags, email)| {
            Value::map([
                ("id", Value::from(v.user_id.as_str())),
                ("tags", Value::strings(tags.iter().cloned())),
                ("email", Value::from(email.clone().unwrap_or_default())),
                ("alias", Value::from(v.user_name.as_str())),
            ])
        })
        .collect();
    let credentials = voters
        .iter()
        .filter(|(v, _, _)| v.selection == crate::consensus::APPROVED)
        .map(|(v, _, _)| {
            Value::map([
                ("id", Value::from(v.public_key.as_str())),
                ("user_id", Value::from(v.user_id.as_str())),
                ("type", Value::from(v.scheme.as_str())),
                ("credential_id", Value::from(v.public_key.as_str())),
                ("public_key", Value::from(v.public_key.as_str())),
            ])
        })
        .collect();
    Value::map([
        ("approvers", Value::List(approvers)),
        ("credentials", Value::List(credentials)),
    ])
}

/// The condition document of an activity: what it is and what it targets.
pub async fn condition_doc(
    tx: &mut dyn Reader,
    org: &str,
    activity_type: &str,
    intent: &serde_json::Value,
    cmd: &Command,
    now: quorate_domain::Millis,
) -> StoreResult<Value> {
    let (resource, action) = activity_kinds::resource_action(activity_type).unwrap_or(("", ""));
    let mut doc: Vec<(&str, Value)> = vec![
        (
            "activity",
            Value::map([
                ("type", Value::from(activity_type)),
                ("kind", Value::from(activity_kinds::kind_of(activity_type))),
                ("resource", Value::from(resource)),
                ("action", Value::from(action)),
                ("params", params(intent)),
            ]),
        ),
        (
            "time",
            Value::map([("now", Value::from(Timestamp::from_unix_millis(now)))]),
        ),
    ];
    let (target, parsed) = match cmd {
        Command::Vault(VaultCommand::SignRawPayloads { sign_with, .. }) => {
            (Some(sign_with.as_str()), None)
        }
        Command::Vault(VaultCommand::SignTransaction { sign_with, parsed }) => {
            (Some(sign_with.as_str()), Some(parsed.as_ref()))
        }
        Command::Vault(VaultCommand::ExportWalletAccount { address, .. }) => {
            (Some(address.as_str()), None)
        }
        Command::Vault(VaultCommand::ExportPrivateKey { id, .. }) => (Some(id.as_str()), None),
        _ => (None, None),
    };
    let mut signer_address = None;
    if let Some(t) = target {
        match tx.find_key(org, t).await? {
            Some((KeyRef::Account(a), _)) => {
                signer_address = Some(a.address.clone());
                doc.push((
                    "wallet_account",
                    Value::map([("address", Value::from(a.address.as_str()))]),
                ));
                if let Some(w) = tx.get_wallet(org, &a.wallet_id).await? {
                    doc.push(("wallet", wallet_doc(&w)));
                }
            }
            Some((KeyRef::PrivateKey(k), _)) => {
                signer_address = k
                    .addresses
                    .iter()
                    .find(|a| a.format == "ADDRESS_FORMAT_ETHEREUM")
                    .map(|a| a.address.clone());
                doc.push((
                    "private_key",
                    Value::map([
                        ("id", Value::from(k.id.as_str())),
                        ("tags", Value::strings(k.tag_ids.iter().cloned())),
                        ("imported", Value::from(k.imported)),
                        ("exported", Value::from(k.exported)),
                        ("label", Value::from(k.name.as_str())),
                    ]),
                ));
            }
            None => {}
        }
    }
    if let Command::Vault(
        VaultCommand::ExportWallet { wallet_id, .. }
        | VaultCommand::UpdateWallet { wallet_id, .. }
        | VaultCommand::CreateWalletAccounts { wallet_id, .. },
    ) = cmd
    {
        if let Some(w) = tx.get_wallet(org, wallet_id).await? {
            doc.push(("wallet", wallet_doc(&w)));
        }
    }
    match parsed {
        Some(ParsedTx::Ethereum(t)) => {
            doc.push((
                "eth",
                Value::map([("tx", eth_tx(t, signer_address.as_deref()))]),
            ));
        }
        Some(ParsedTx::Solana(t)) => doc.push(("solana", Value::map([("tx", solana_tx(t))]))),
        None => {}
    }
    Ok(Value::map(doc))
}

fn wallet_doc(w: &quorate_domain::Wallet) -> Value {
    Value::map([
        ("id", Value::from(w.id.as_str())),
        ("imported", Value::from(w.imported)),
        ("exported", Value::from(w.exported)),
        ("label", Value::from(w.name.as_str())),
    ])
}
