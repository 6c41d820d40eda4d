//! Vault activity parameters, checked without touching the store or any secret. Anything
//! wrong here is the caller's request (400) and records no activity.

use crate::command::{decode, id, ids, name, non_empty, optional, truncate, MAX_ITEMS};
use crate::error::{AppError, Result};
use quorate_crypto::address::AddressFormat;
use quorate_crypto::hd::{self, Curve};
use quorate_crypto::sign::{HashFunction, PayloadEncoding};
use quorate_crypto::tx::{self, ParsedTx, TransactionType};
use quorate_proto::vault as wire;
use serde_json::Value;

/// Longest `signWith`: an id, or any address format's longest encoding.
const MAX_SIGN_WITH: usize = 128;
/// Submit paths of the vault.
pub const PATHS: &[&str] = &[
    "create_wallet",
    "create_wallet_accounts",
    "update_wallet",
    "delete_wallets",
    "export_wallet",
    "export_wallet_account",
    "init_import_wallet",
    "import_wallet",
    "init_import_private_key",
    "import_private_key",
    "create_private_keys",
    "delete_private_keys",
    "export_private_key",
    "create_private_key_tag",
    "update_private_key_tag",
    "delete_private_key_tags",
    "sign_raw_payload",
    "sign_raw_payloads",
    "sign_transaction",
];

/// Most payloads in one `sign_raw_payloads`.
const MAX_PAYLOADS: usize = 100;

/// One account to derive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    pub curve: Curve,
    pub path: String,
    pub indexes: Vec<u32>,
    pub format: AddressFormat,
    /// Optional display name.
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWallet {
    pub name: String,
    pub accounts: Vec<AccountSpec>,
    pub words: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrivateKey {
    pub name: String,
    pub curve: Curve,
    pub tag_ids: Vec<String>,
    pub formats: Vec<AddressFormat>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportKind {
    Wallet {
        name: String,
        accounts: Vec<AccountSpec>,
    },
    PrivateKey {
        name: String,
        curve: Curve,
        formats: Vec<AddressFormat>,
    },
}

#[derive(Debug, Clone)]
pub enum VaultCommand {
    CreateWallet(NewWallet),
    CreateWalletAccounts {
        wallet_id: String,
        accounts: Vec<AccountSpec>,
        persist: bool,
    },
    UpdateWallet {
        wallet_id: String,
        name: Option<String>,
    },
    DeleteWallets {
        ids: Vec<String>,
        without_export: bool,
    },
    ExportWallet {
        wallet_id: String,
        target: String,
    },
    ExportWalletAccount {
        address: String,
        target: String,
    },
    InitImport {
        user_id: String,
    },
    Import {
        user_id: String,
        bundle: String,
        kind: ImportKind,
    },
    CreatePrivateKeys {
        keys: Vec<NewPrivateKey>,
        /// V1 answers with ids only.
        ids_only: bool,
    },
    DeletePrivateKeys {
        ids: Vec<String>,
        without_export: bool,
    },
    ExportPrivateKey {
        id: String,
        target: String,
    },
    CreatePrivateKeyTag {
        name: String,
        key_ids: Vec<String>,
    },
    UpdatePrivateKeyTag {
        tag_id: String,
        new_name: Option<String>,
        add: Vec<String>,
        remove: Vec<String>,
    },
    DeletePrivateKeyTags(Vec<String>),
    SignRawPayloads {
        sign_with: String,
        payloads: Vec<String>,
        encoding: PayloadEncoding,
        hash: HashFunction,
        /// `sign_raw_payload` answers with one signature, `sign_raw_payloads` with a list.
        single: bool,
    },
    SignTransaction {
        sign_with: String,
        parsed: Box<ParsedTx>,
    },
}

fn curve(field: &str, s: &str) -> Result<Curve> {
    Curve::parse(s).map_err(|_| {
        AppError::invalid(format!(
            "`{field}` must be CURVE_SECP256K1 or CURVE_ED25519, got `{}`",
            truncate(s)
        ))
    })
}

fn format(field: &str, s: &str) -> Result<AddressFormat> {
    AddressFormat::parse(s).map_err(|_| {
        let supported: Vec<&str> = AddressFormat::ALL.iter().map(|f| f.as_str()).collect();
        AppError::invalid(format!(
            "`{field}`: address format `{}` is not supported; supported formats: {}",
            truncate(s),
            supported.join(", ")
        ))
    })
}

fn account(field: &str, p: &wire::WalletAccountParams) -> Result<AccountSpec> {
    let c = curve(&format!("{field}.curve"), &p.curve)?;
    if p.path_format != "PATH_FORMAT_BIP32" {
        return Err(AppError::invalid(format!(
            "`{field}.pathFormat` must be PATH_FORMAT_BIP32, got `{}`",
            truncate(&p.path_format)
        )));
    }
    let f = format(&format!("{field}.addressFormat"), &p.address_format)?;
    if !f.accepts(c) {
        return Err(AppError::invalid(format!(
            "`{field}.addressFormat`: {f} needs a {} key, but the account's curve is {c}",
            f.curve()
        )));
    }
    if p.path.len() > 256 {
        return Err(AppError::invalid(format!(
            "`{field}.path` is longer than 256 characters"
        )));
    }
    let indexes = hd::parse_path(p.path.trim())
        .map_err(|e| AppError::invalid(format!("`{field}.path`: {e}")))?;
    if indexes.len() > 16 {
        return Err(AppError::invalid(format!(
            "`{field}.path` has more than 16 components"
        )));
    }
    if c == Curve::Ed25519 && indexes.iter().any(|i| i & hd::HARDENED == 0) {
        return Err(AppError::invalid(format!(
            "`{field}.path`: ed25519 accounts (SLIP-10) need every path component hardened, e.g. m/44'/501'/0'/0'; got `{}`",
            truncate(&p.path)
        )));
    }
    Ok(AccountSpec {
        curve: c,
        // One spelling per path (`h`/`H` become `'`), so the same account cannot be added
        // twice under two spellings.
        path: canonical_path(&indexes),
        indexes,
        format: f,
        name: p
            .name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(|n| name(&format!("{field}.name"), n))
            .transpose()?,
    })
}

fn accounts(
    field: &str,
    list: &[wire::WalletAccountParams],
    allow_empty: bool,
) -> Result<Vec<AccountSpec>> {
    if list.is_empty() && !allow_empty {
        return Err(AppError::invalid(format!(
            "`{field}` must list at least one account"
        )));
    }
    if list.len() > MAX_ITEMS {
        return Err(AppError::invalid(format!(
            "`{field}` has more than {MAX_ITEMS} entries"
        )));
    }
    let out = list
        .iter()
        .enumerate()
        .map(|(i, p)| account(&format!("{field}[{i}]"), p))
        .collect::<Result<Vec<_>>>()?;
    for (i, a) in out.iter().enumerate() {
        if out[..i]
            .iter()
            .any(|o| o.path == a.path && o.format == a.format)
        {
            return Err(AppError::invalid(format!(
                "`{field}[{i}]` repeats an earlier account (same path and address format)"
            )));
        }
    }
    Ok(out)
}

fn canonical_path(indexes: &[u32]) -> String {
    let mut out = String::from("m");
    for i in indexes {
        if i & hd::HARDENED != 0 {
            out.push_str(&format!("/{}'", i & !hd::HARDENED));
        } else {
            out.push_str(&format!("/{i}"));
        }
    }
    out
}

/// `create_wallet`'s parameters (also the `wallet` of `create_sub_organization`).
pub fn new_wallet(field: &str, p: &wire::CreateWalletIntent) -> Result<NewWallet> {
    let words = match p.mnemonic_length {
        None => 12,
        Some(n @ (12 | 15 | 18 | 21 | 24)) => n as usize,
        Some(n) => {
            return Err(AppError::invalid(format!(
                "`{field}.mnemonicLength` must be 12, 15, 18, 21 or 24, got {n}"
            )))
        }
    };
    Ok(NewWallet {
        name: name(&format!("{field}.walletName"), &p.wallet_name)?,
        accounts: accounts(&format!("{field}.accounts"), &p.accounts, true)?,
        words,
    })
}

fn formats(field: &str, list: &[String], c: Curve) -> Result<Vec<AddressFormat>> {
    if list.len() > 32 {
        return Err(AppError::invalid(format!(
            "`{field}` has more than 32 entries"
        )));
    }
    let mut out: Vec<AddressFormat> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let f = format(&format!("{field}[{i}]"), s)?;
        if !f.accepts(c) {
            return Err(AppError::invalid(format!(
                "`{field}[{i}]`: address format {f} needs a {} key, but the key's curve is {c}",
                f.curve()
            )));
        }
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

fn target(field: &str, s: &str) -> Result<String> {
    let t = s.trim().trim_start_matches("0x").to_ascii_lowercase();
    if t.len() != 130 || !t.starts_with("04") || hex::decode(&t).is_err() {
        return Err(AppError::invalid(format!(
            "`{field}` must be an uncompressed P-256 public key in hex (130 characters starting with 04), got `{}`",
            truncate(s)
        )));
    }
    Ok(t)
}

fn sign_with(field: &str, v: Option<&str>) -> Result<String> {
    let v = v.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        return Err(AppError::invalid(format!("`{field}` must name a wallet account address, a private key id or a private key address")));
    }
    if v.len() > MAX_SIGN_WITH || v.chars().any(char::is_control) {
        return Err(AppError::invalid(format!(
            "`{field}` is not an address or id: `{}`",
            truncate(v)
        )));
    }
    Ok(v.to_string())
}

fn bundle(field: &str, s: &str) -> Result<String> {
    if s.trim().is_empty() || s.len() > 64 * 1024 {
        return Err(AppError::invalid(format!(
            "`{field}` must be the JSON bundle the SDK's encrypt helper produced"
        )));
    }
    Ok(s.to_string())
}

/// External signers (keys held outside quorate) are not supported: only absent or empty.
fn no_external_signer(values: &[&Option<String>]) -> Result<()> {
    if values
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()))
    {
        return Err(AppError::invalid(
            "`parameters.externalSigner…`: external signers are not supported; quorate holds the keys it signs with",
        ));
    }
    Ok(())
}

fn encoding(s: &str) -> Result<PayloadEncoding> {
    PayloadEncoding::parse(s).map_err(|e| AppError::invalid(e.to_string()))
}

fn hash_function(s: &str) -> Result<HashFunction> {
    HashFunction::parse(s).map_err(|e| AppError::invalid(e.to_string()))
}

/// Parses the parameters of a vault submit to `path` (one of [`PATHS`]).
pub fn parse(path: &str, activity_type: &str, params: Value) -> Result<VaultCommand> {
    Ok(match path {
        "create_wallet" => {
            let p: wire::CreateWalletIntent = decode(params)?;
            let w = new_wallet("parameters", &p)?;
            VaultCommand::CreateWallet(w)
        }
        "create_wallet_accounts" => {
            let p: wire::CreateWalletAccountsIntent = decode(params)?;
            VaultCommand::CreateWalletAccounts {
                wallet_id: id("parameters.walletId", &p.wallet_id)?,
                accounts: accounts("parameters.accounts", &p.accounts, false)?,
                persist: p.persist.unwrap_or(true),
            }
        }
        "update_wallet" => {
            let p: wire::UpdateWalletIntent = decode(params)?;
            VaultCommand::UpdateWallet {
                wallet_id: id("parameters.walletId", &p.wallet_id)?,
                name: optional("parameters.walletName", &p.wallet_name)?,
            }
        }
        "delete_wallets" => {
            let p: wire::DeleteWalletsIntent = decode(params)?;
            non_empty("parameters.walletIds", &p.wallet_ids)?;
            VaultCommand::DeleteWallets {
                ids: ids("parameters.walletIds", &p.wallet_ids)?,
                without_export: p.delete_without_export.unwrap_or(false),
            }
        }
        "export_wallet" => {
            let p: wire::ExportWalletIntent = decode(params)?;
            if let Some(lang) = p.language.as_deref().filter(|l| !l.is_empty()) {
                if lang != "MNEMONIC_LANGUAGE_ENGLISH" {
                    return Err(AppError::invalid(format!(
                        "`parameters.language`: only MNEMONIC_LANGUAGE_ENGLISH is supported, got `{}`",
                        truncate(lang)
                    )));
                }
            }
            VaultCommand::ExportWallet {
                wallet_id: id("parameters.walletId", &p.wallet_id)?,
                target: target("parameters.targetPublicKey", &p.target_public_key)?,
            }
        }
        "export_wallet_account" => {
            let p: wire::ExportWalletAccountIntent = decode(params)?;
            VaultCommand::ExportWalletAccount {
                address: sign_with("parameters.address", Some(&p.address))?,
                target: target("parameters.targetPublicKey", &p.target_public_key)?,
            }
        }
        "init_import_wallet" | "init_import_private_key" => {
            let p: wire::InitImportIntent = decode(params)?;
            VaultCommand::InitImport {
                user_id: id("parameters.userId", &p.user_id)?,
            }
        }
        "import_wallet" => {
            let p: wire::ImportWalletIntent = decode(params)?;
            VaultCommand::Import {
                user_id: id("parameters.userId", &p.user_id)?,
                bundle: bundle("parameters.encryptedBundle", &p.encrypted_bundle)?,
                kind: ImportKind::Wallet {
                    name: name("parameters.walletName", &p.wallet_name)?,
                    accounts: accounts("parameters.accounts", &p.accounts, true)?,
                },
            }
        }
        "import_private_key" => {
            let p: wire::ImportPrivateKeyIntent = decode(params)?;
            let c = curve("parameters.curve", &p.curve)?;
            VaultCommand::Import {
                user_id: id("parameters.userId", &p.user_id)?,
                bundle: bundle("parameters.encryptedBundle", &p.encrypted_bundle)?,
                kind: ImportKind::PrivateKey {
                    name: name("parameters.privateKeyName", &p.private_key_name)?,
                    curve: c,
                    formats: formats("parameters.addressFormats", &p.address_formats, c)?,
                },
            }
        }
        "create_private_keys" => {
            let p: wire::CreatePrivateKeysIntent = decode(params)?;
            no_external_signer(&[
                &p.external_signer_pubkey,
                &p.external_signer_wrapping_key_id,
            ])?;
            if p.private_keys.is_empty() || p.private_keys.len() > MAX_ITEMS {
                return Err(AppError::invalid(format!(
                    "`parameters.privateKeys` must list 1 to {MAX_ITEMS} keys"
                )));
            }
            let mut keys = Vec::new();
            for (i, k) in p.private_keys.iter().enumerate() {
                let field = format!("parameters.privateKeys[{i}]");
                let c = curve(&format!("{field}.curve"), &k.curve)?;
                let key = NewPrivateKey {
                    name: name(&format!("{field}.privateKeyName"), &k.private_key_name)?,
                    curve: c,
                    tag_ids: ids(&format!("{field}.privateKeyTags"), &k.private_key_tags)?,
                    formats: formats(&format!("{field}.addressFormats"), &k.address_formats, c)?,
                };
                if keys.iter().any(|o: &NewPrivateKey| o.name == key.name) {
                    return Err(AppError::invalid(format!(
                        "`{field}.privateKeyName` repeats an earlier key's name"
                    )));
                }
                keys.push(key);
            }
            VaultCommand::CreatePrivateKeys {
                keys,
                ids_only: activity_type == "ACTIVITY_TYPE_CREATE_PRIVATE_KEYS",
            }
        }
        "delete_private_keys" => {
            let p: wire::DeletePrivateKeysIntent = decode(params)?;
            non_empty("parameters.privateKeyIds", &p.private_key_ids)?;
            VaultCommand::DeletePrivateKeys {
                ids: ids("parameters.privateKeyIds", &p.private_key_ids)?,
                without_export: p.delete_without_export.unwrap_or(false),
            }
        }
        "export_private_key" => {
            let p: wire::ExportPrivateKeyIntent = decode(params)?;
            VaultCommand::ExportPrivateKey {
                id: id("parameters.privateKeyId", &p.private_key_id)?,
                target: target("parameters.targetPublicKey", &p.target_public_key)?,
            }
        }
        "create_private_key_tag" => {
            let p: wire::CreatePrivateKeyTagIntent = decode(params)?;
            VaultCommand::CreatePrivateKeyTag {
                name: name("parameters.privateKeyTagName", &p.private_key_tag_name)?,
                key_ids: ids("parameters.privateKeyIds", &p.private_key_ids)?,
            }
        }
        "update_private_key_tag" => {
            let p: wire::UpdatePrivateKeyTagIntent = decode(params)?;
            VaultCommand::UpdatePrivateKeyTag {
                tag_id: id("parameters.privateKeyTagId", &p.private_key_tag_id)?,
                new_name: optional(
                    "parameters.newPrivateKeyTagName",
                    &p.new_private_key_tag_name,
                )?,
                add: ids("parameters.addPrivateKeyIds", &p.add_private_key_ids)?,
                remove: ids("parameters.removePrivateKeyIds", &p.remove_private_key_ids)?,
            }
        }
        "delete_private_key_tags" => {
            let p: wire::DeletePrivateKeyTagsIntent = decode(params)?;
            non_empty("parameters.privateKeyTagIds", &p.private_key_tag_ids)?;
            VaultCommand::DeletePrivateKeyTags(ids(
                "parameters.privateKeyTagIds",
                &p.private_key_tag_ids,
            )?)
        }
        "sign_raw_payload" => {
            let p: wire::SignRawPayloadIntent = decode(params)?;
            no_external_signer(&[&p.external_signer_pubkey])?;
            let (field, with) = key_field(activity_type, &p.sign_with, &p.private_key_id);
            VaultCommand::SignRawPayloads {
                sign_with: sign_with(field, with)?,
                payloads: vec![p.payload],
                encoding: encoding(&p.encoding)?,
                hash: hash_function(&p.hash_function)?,
                single: true,
            }
        }
        "sign_raw_payloads" => {
            let p: wire::SignRawPayloadsIntent = decode(params)?;
            no_external_signer(&[&p.external_signer_pubkey])?;
            if p.payloads.is_empty() || p.payloads.len() > MAX_PAYLOADS {
                return Err(AppError::invalid(format!(
                    "`parameters.payloads` must list 1 to {MAX_PAYLOADS} payloads"
                )));
            }
            VaultCommand::SignRawPayloads {
                sign_with: sign_with("parameters.signWith", Some(&p.sign_with))?,
                payloads: p.payloads,
                encoding: encoding(&p.encoding)?,
                hash: hash_function(&p.hash_function)?,
                single: false,
            }
        }
        "sign_transaction" => {
            let p: wire::SignTransactionIntent = decode(params)?;
            no_external_signer(&[&p.external_signer_pubkey])?;
            let (field, with) = key_field(activity_type, &p.sign_with, &p.private_key_id);
            let kind = TransactionType::parse(&p.transaction_type)
                .map_err(|e| AppError::invalid(e.to_string()))?;
            let parsed = tx::parse(kind, &p.unsigned_transaction)
                .map_err(|e| AppError::invalid(e.to_string()))?;
            VaultCommand::SignTransaction {
                sign_with: sign_with(field, with)?,
                parsed: Box::new(parsed),
            }
        }
        other => {
            return Err(AppError::not_implemented(format!(
                "`{other}` is not implemented yet"
            )))
        }
    })
}

/// V2 names the signing key `signWith`, V1 `privateKeyId`.
fn key_field<'a>(
    activity_type: &str,
    sign_with: &'a Option<String>,
    private_key_id: &'a Option<String>,
) -> (&'static str, Option<&'a str>) {
    if activity_type.ends_with("_V2") {
        ("parameters.signWith", sign_with.as_deref())
    } else {
        ("parameters.privateKeyId", private_key_id.as_deref())
    }
}
