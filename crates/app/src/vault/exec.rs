//! Executing vault commands inside the organization's write transaction. Secrets are opened
//! here, used, and dropped (zeroized) before the transaction commits; only sealed values and
//! public data are written.

use super::command::{AccountSpec, ImportKind, NewPrivateKey, NewWallet, VaultCommand};
use super::{SecretKind, Vault};
use crate::exec::{failed, Ctx, ExecError, Result};
use quorate_crypto::address;
use quorate_crypto::envelope::DataKey;
use quorate_crypto::hd::{self, Curve, Mnemonic, Seed};
use quorate_crypto::hpke_bundle::{self, ImportKey};
use quorate_crypto::{sign, tx as txn};
use quorate_domain::{
    new_id, KeyAddress, KeyRef, PrivateKey, Sealed, TagKind, Wallet, WalletAccount, WalletSecrets,
};
use quorate_proto::ErrorCode;
use quorate_store::{StoreError, StoreTx};
use serde_json::{json, Value};
use zeroize::Zeroizing;

fn vault_err(e: crate::AppError) -> ExecError {
    ExecError::Failed(e.code, e.message)
}

/// The caller's mistake is a 400 naming it; anything else is internal (and says nothing more).
fn client_or_internal<E: std::fmt::Display>(
    is_client: impl Fn(&E) -> bool,
) -> impl Fn(E) -> ExecError {
    move |e| {
        if is_client(&e) {
            invalid(e.to_string())
        } else {
            failed(ErrorCode::Internal, e.to_string())
        }
    }
}

fn not_found(msg: String) -> ExecError {
    failed(ErrorCode::NotFound, msg)
}

fn invalid(msg: impl Into<String>) -> ExecError {
    failed(ErrorCode::RequestInvalid, msg)
}

/// A unique-index conflict becomes a failure naming what clashed.
fn conflict(what: String) -> impl FnOnce(StoreError) -> ExecError {
    move |e| match e {
        StoreError::Conflict(_) => failed(ErrorCode::Conflict, what),
        other => ExecError::Store(other),
    }
}

pub async fn execute(tx: &mut dyn StoreTx, ctx: &Ctx<'_>, cmd: &VaultCommand) -> Result<Value> {
    let org = ctx.org.id.as_str();
    let vault = ctx.vault;
    match cmd {
        VaultCommand::CreateWallet(w) => {
            let (wallet_id, addresses) = create_wallet(tx, ctx, org, w).await?;
            Ok(json!({"walletId": wallet_id, "addresses": addresses}))
        }
        VaultCommand::CreateWalletAccounts {
            wallet_id,
            accounts,
            persist,
        } => {
            let dk = data_key(vault, tx, org).await?;
            let secrets = live_wallet(tx, org, wallet_id).await?;
            let seed = open_seed(&dk, org, &secrets)?;
            let mut addresses = Vec::new();
            for spec in accounts {
                let derived = derive(&seed, spec)?;
                if *persist {
                    insert_account(tx, ctx, org, &dk, wallet_id, spec, &derived).await?;
                }
                addresses.push(derived.address);
            }
            Ok(json!({ "addresses": addresses }))
        }
        VaultCommand::UpdateWallet { wallet_id, name } => {
            let mut w = live_wallet(tx, org, wallet_id).await?.wallet;
            if let Some(n) = name {
                w.name = n.clone();
            }
            w.updated_at = ctx.now;
            tx.update_wallet(&w).await.map_err(conflict(format!(
                "a wallet named `{}` already exists",
                w.name
            )))?;
            Ok(json!({ "walletId": wallet_id }))
        }
        VaultCommand::DeleteWallets {
            ids,
            without_export,
        } => {
            for id in ids {
                let w = live_wallet(tx, org, id).await?.wallet;
                if !w.exported && !without_export {
                    return Err(invalid(format!("wallet `{id}` has not been exported; export it first, or set `deleteWithoutExport` to delete it anyway")));
                }
            }
            for id in ids {
                tx.delete_wallet(org, id, ctx.now).await?;
            }
            Ok(json!({ "walletIds": ids }))
        }
        VaultCommand::ExportWallet { wallet_id, target } => {
            let dk = data_key(vault, tx, org).await?;
            let secrets = live_wallet(tx, org, wallet_id).await?;
            let phrase = Vault::open(&dk, SecretKind::Mnemonic, org, wallet_id, &secrets.mnemonic)
                .map_err(vault_err)?;
            let bundle = hpke_bundle::export_bundle(vault.signer(), target, org, &phrase)
                .map_err(|e| invalid(format!("`parameters.targetPublicKey`: {e}")))?;
            let mut w = secrets.wallet;
            w.exported = true;
            w.updated_at = ctx.now;
            tx.update_wallet(&w).await?;
            Ok(json!({"walletId": wallet_id, "exportBundle": bundle}))
        }
        VaultCommand::ExportWalletAccount { address, target } => {
            let (key, sealed) = match tx.find_key(org, address).await? {
                Some((k @ KeyRef::Account(_), s)) => (k, s),
                _ => {
                    return Err(not_found(format!(
                        "no wallet account with address `{address}` in organization `{org}`"
                    )))
                }
            };
            let private = open_key(vault, tx, org, &key, &sealed).await?;
            let bundle = hpke_bundle::export_bundle(vault.signer(), target, org, &private[..])
                .map_err(|e| invalid(format!("`parameters.targetPublicKey`: {e}")))?;
            Ok(json!({"address": address, "exportBundle": bundle}))
        }
        VaultCommand::InitImport { user_id } => {
            existing_user(tx, org, user_id).await?;
            let dk = vault
                .data_key_or_create(tx, org, ctx.now)
                .await
                .map_err(vault_err)?;
            let key = ImportKey::generate();
            let bundle = hpke_bundle::import_bundle_for(vault.signer(), &key, org, user_id)
                .map_err(|_| failed(ErrorCode::Internal, "cannot sign the import bundle"))?;
            let sealed = Vault::seal(&dk, SecretKind::ImportKey, org, user_id, &key.to_bytes())
                .map_err(vault_err)?;
            tx.set_import_key(org, user_id, &sealed, ctx.now).await?;
            Ok(json!({ "importBundle": bundle }))
        }
        VaultCommand::Import {
            user_id,
            bundle,
            kind,
        } => import(tx, ctx, org, user_id, bundle, kind).await,
        VaultCommand::CreatePrivateKeys { keys, ids_only } => {
            let dk = vault
                .data_key_or_create(tx, org, ctx.now)
                .await
                .map_err(vault_err)?;
            let mut out = Vec::new();
            for k in keys {
                let private = hd::generate_private_key(k.curve)
                    .map_err(|_| failed(ErrorCode::Internal, "random number generator failed"))?;
                let key = insert_private_key(tx, ctx, &dk, k, &private, false).await?;
                out.push(key);
            }
            if *ids_only {
                let ids: Vec<&str> = out.iter().map(|k| k.id.as_str()).collect();
                return Ok(json!({ "privateKeyIds": ids }));
            }
            let keys: Vec<Value> = out
                .iter()
                .map(|k| json!({"privateKeyId": k.id, "addresses": addresses_json(&k.addresses)}))
                .collect();
            Ok(json!({ "privateKeys": keys }))
        }
        VaultCommand::DeletePrivateKeys {
            ids,
            without_export,
        } => {
            for id in ids {
                let k = live_private_key(tx, org, id).await?;
                if !k.exported && !without_export {
                    return Err(invalid(format!("private key `{id}` has not been exported; export it first, or set `deleteWithoutExport` to delete it anyway")));
                }
            }
            for id in ids {
                tx.delete_private_key(org, id, ctx.now).await?;
            }
            Ok(json!({ "privateKeyIds": ids }))
        }
        VaultCommand::ExportPrivateKey { id, target } => {
            // `find_key` reads only live keys of this organization.
            let (key, sealed) = match tx.find_key(org, id).await? {
                Some((k @ KeyRef::PrivateKey(_), s)) => (k, s),
                _ => {
                    return Err(not_found(format!(
                        "private key `{id}` not found in organization `{org}`"
                    )))
                }
            };
            let private = open_key(vault, tx, org, &key, &sealed).await?;
            let bundle = hpke_bundle::export_bundle(vault.signer(), target, org, &private[..])
                .map_err(|e| invalid(format!("`parameters.targetPublicKey`: {e}")))?;
            tx.mark_private_key_exported(org, id, ctx.now).await?;
            Ok(json!({"privateKeyId": id, "exportBundle": bundle}))
        }
        VaultCommand::CreatePrivateKeyTag { name, key_ids } => {
            let tag = crate::exec::create_tag(tx, ctx, TagKind::PrivateKey, name, key_ids).await?;
            Ok(json!({"privateKeyTagId": tag, "privateKeyIds": key_ids}))
        }
        VaultCommand::UpdatePrivateKeyTag {
            tag_id,
            new_name,
            add,
            remove,
        } => {
            crate::exec::update_tag(
                tx,
                ctx,
                TagKind::PrivateKey,
                tag_id,
                new_name.as_deref(),
                add,
                remove,
            )
            .await?;
            Ok(json!({ "privateKeyTagId": tag_id }))
        }
        VaultCommand::DeletePrivateKeyTags(ids) => {
            let members = crate::exec::delete_tags(tx, ctx, TagKind::PrivateKey, ids).await?;
            Ok(json!({"privateKeyTagIds": ids, "privateKeyIds": members}))
        }
        VaultCommand::SignRawPayloads {
            sign_with,
            payloads,
            encoding,
            hash,
            single,
        } => {
            let (key, sealed) = signing_key(tx, org, sign_with).await?;
            let curve = key_curve(&key)?;
            // Check every payload before opening the key.
            let prepared = payloads
                .iter()
                .map(|p| sign::prepare(curve, p, *encoding, *hash))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(client_or_internal(|e: &sign::SignError| {
                    e.is_client_error()
                }))?;
            let private = open_key(vault, tx, org, &key, &sealed).await?;
            let private = key_bytes(&private)?;
            let mut sigs = Vec::with_capacity(prepared.len());
            for p in &prepared {
                let s = sign::sign_prepared(curve, &private, p).map_err(client_or_internal(
                    |e: &sign::SignError| e.is_client_error(),
                ))?;
                sigs.push(json!({"r": s.r, "s": s.s, "v": s.v}));
            }
            if *single {
                Ok(sigs.into_iter().next().unwrap_or_default())
            } else {
                Ok(json!({ "signatures": sigs }))
            }
        }
        VaultCommand::SignTransaction { sign_with, parsed } => {
            let (key, sealed) = signing_key(tx, org, sign_with).await?;
            let curve = key_curve(&key)?;
            let public = hex::decode(key.public_key())
                .map_err(|_| failed(ErrorCode::Internal, "stored public key is not hex"))?;
            let private = open_key(vault, tx, org, &key, &sealed).await?;
            let private = key_bytes(&private)?;
            let signed = txn::sign(parsed, curve, &private, &public)
                .map_err(client_or_internal(|e: &txn::TxError| e.is_client_error()))?;
            Ok(json!({ "signedTransaction": signed }))
        }
    }
}

/// Creates a wallet (fresh mnemonic) with its accounts; also used by `create_sub_organization`.
pub(crate) async fn create_wallet(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    org: &str,
    w: &NewWallet,
) -> Result<(String, Vec<String>)> {
    let mnemonic = Mnemonic::generate(w.words).map_err(|e| {
        failed(
            ErrorCode::Internal,
            format!("cannot generate a mnemonic: {e}"),
        )
    })?;
    store_wallet(tx, ctx, org, &w.name, &mnemonic, &w.accounts, false).await
}

async fn store_wallet(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    org: &str,
    name: &str,
    mnemonic: &Mnemonic,
    accounts: &[AccountSpec],
    imported: bool,
) -> Result<(String, Vec<String>)> {
    let dk = ctx
        .vault
        .data_key_or_create(tx, org, ctx.now)
        .await
        .map_err(vault_err)?;
    let seed = mnemonic.to_seed("");
    let id = new_id();
    let wallet = Wallet {
        id: id.clone(),
        organization_id: org.to_string(),
        name: name.to_string(),
        exported: false,
        imported,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let phrase = mnemonic.phrase();
    let secrets = WalletSecrets {
        wallet,
        mnemonic: Vault::seal(&dk, SecretKind::Mnemonic, org, &id, phrase.as_bytes())
            .map_err(vault_err)?,
        seed: Vault::seal(&dk, SecretKind::Seed, org, &id, seed.as_bytes()).map_err(vault_err)?,
    };
    tx.insert_wallet(&secrets)
        .await
        .map_err(conflict(format!("a wallet named `{name}` already exists")))?;
    let mut addresses = Vec::new();
    for spec in accounts {
        let derived = derive(&seed, spec)?;
        insert_account(tx, ctx, org, &dk, &id, spec, &derived).await?;
        addresses.push(derived.address);
    }
    Ok((id, addresses))
}

struct Derived {
    private: Zeroizing<[u8; 32]>,
    public: Vec<u8>,
    address: String,
}

fn derive(seed: &Seed, spec: &AccountSpec) -> Result<Derived> {
    // Paths and curves were checked with the request: a failure here is ours.
    let key = hd::derive(seed, spec.curve, &spec.indexes)
        .map_err(|e| failed(ErrorCode::Internal, format!("derivation failed: {e}")))?;
    let public = key.public_key();
    let address = address::encode(spec.format, &public).map_err(|e| invalid(e.to_string()))?;
    Ok(Derived {
        private: key.private_key().clone(),
        public,
        address,
    })
}

/// Inserts a derived account of `wallet_id` in `org` (which is not `ctx.org` when
/// `create_sub_organization` creates the sub-organization's wallet).
async fn insert_account(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    org: &str,
    dk: &DataKey,
    wallet_id: &str,
    spec: &AccountSpec,
    derived: &Derived,
) -> Result<()> {
    let account = WalletAccount {
        id: new_id(),
        organization_id: org.to_string(),
        wallet_id: wallet_id.to_string(),
        curve: spec.curve.as_str().to_string(),
        path_format: "PATH_FORMAT_BIP32".to_string(),
        path: spec.path.clone(),
        address_format: spec.format.as_str().to_string(),
        address: derived.address.clone(),
        public_key: hex::encode(&derived.public),
        name: spec.name.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let sealed = Vault::seal(
        dk,
        SecretKind::AccountKey,
        org,
        &account.id,
        &derived.private[..],
    )
    .map_err(vault_err)?;
    tx.insert_wallet_account(&account, &sealed)
        .await
        .map_err(conflict(format!(
            "wallet `{wallet_id}` already has an account at path `{}` with format {}",
            spec.path, spec.format
        )))
}

fn addresses_json(addresses: &[KeyAddress]) -> Vec<Value> {
    addresses
        .iter()
        .map(|a| json!({"format": a.format, "address": a.address}))
        .collect()
}

async fn insert_private_key(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    dk: &DataKey,
    k: &NewPrivateKey,
    private: &[u8; 32],
    imported: bool,
) -> Result<PrivateKey> {
    let org = ctx.org.id.as_str();
    for t in &k.tag_ids {
        crate::exec::existing_tag(tx, org, TagKind::PrivateKey, t).await?;
    }
    let public = hd::public_key_from_private(k.curve, private)
        .map_err(|_| invalid(format!("the key is not a valid {} private key", k.curve)))?;
    let addresses = k
        .formats
        .iter()
        .map(|f| {
            address::encode(*f, &public)
                .map(|address| KeyAddress {
                    format: f.as_str().to_string(),
                    address,
                })
                .map_err(|e| invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let key = PrivateKey {
        id: new_id(),
        organization_id: org.to_string(),
        name: k.name.clone(),
        curve: k.curve.as_str().to_string(),
        public_key: hex::encode(&public),
        addresses,
        tag_ids: k.tag_ids.clone(),
        exported: false,
        imported,
        created_at: ctx.now,
        updated_at: ctx.now,
    };
    let sealed =
        Vault::seal(dk, SecretKind::PrivateKey, org, &key.id, private).map_err(vault_err)?;
    tx.insert_private_key(&key, &sealed)
        .await
        .map_err(conflict(format!(
            "a private key named `{}` already exists",
            k.name
        )))?;
    for t in &k.tag_ids {
        tx.add_tag_member(t, &key.id).await?;
    }
    Ok(key)
}

async fn import(
    tx: &mut dyn StoreTx,
    ctx: &Ctx<'_>,
    org: &str,
    user_id: &str,
    bundle: &str,
    kind: &ImportKind,
) -> Result<Value> {
    let vault = ctx.vault;
    existing_user(tx, org, user_id).await?;
    let Some(sealed) = tx.get_import_key(org, user_id).await? else {
        return Err(invalid(format!("user `{user_id}` has no import in progress; call init_import_wallet or init_import_private_key first")));
    };
    let dk = data_key(vault, tx, org).await?;
    let key_bytes =
        Vault::open(&dk, SecretKind::ImportKey, org, user_id, &sealed).map_err(vault_err)?;
    let import_key = ImportKey::from_bytes(&key_bytes)
        .map_err(|_| failed(ErrorCode::Internal, "stored import key is invalid"))?;
    let plaintext = hpke_bundle::decrypt_import(&import_key, bundle).map_err(|e| {
        invalid(format!("`parameters.encryptedBundle` does not open with this user's pending import key ({e}); encrypt to the importBundle of the latest init_import_* call"))
    })?;
    tx.delete_import_key(org, user_id).await?;
    match kind {
        ImportKind::Wallet { name, accounts } => {
            let phrase = std::str::from_utf8(&plaintext)
                .map_err(|_| invalid("the imported wallet is not a UTF-8 mnemonic"))?;
            let mnemonic = Mnemonic::parse(phrase)
                .map_err(|e| invalid(format!("the imported mnemonic is invalid: {e}")))?;
            let (wallet_id, addresses) =
                store_wallet(tx, ctx, org, name, &mnemonic, accounts, true).await?;
            Ok(json!({"walletId": wallet_id, "addresses": addresses}))
        }
        ImportKind::PrivateKey {
            name,
            curve,
            formats,
        } => {
            // Filled in place: no unwiped copy of the key on the stack.
            let mut private = Zeroizing::new([0u8; 32]);
            match plaintext.len() {
                32 => private.copy_from_slice(&plaintext[..]),
                // A Solana keypair (secret ‖ public): the public half must be the secret's.
                64 if *curve == Curve::Ed25519 => {
                    let public = hd::public_key_from_private(Curve::Ed25519, &plaintext[..32])
                        .map_err(|_| invalid("the imported key is not a valid ed25519 key"))?;
                    if public[..] != plaintext[32..] {
                        return Err(invalid("the imported 64-byte ed25519 keypair's public half does not belong to its secret half"));
                    }
                    private.copy_from_slice(&plaintext[..32]);
                }
                n => {
                    return Err(invalid(format!(
                        "the imported private key must be 32 raw bytes, got {n}"
                    )))
                }
            }
            let new = NewPrivateKey {
                name: name.clone(),
                curve: *curve,
                tag_ids: Vec::new(),
                formats: formats.clone(),
            };
            let key = insert_private_key(tx, ctx, &dk, &new, &private, true).await?;
            Ok(json!({"privateKeyId": key.id, "addresses": addresses_json(&key.addresses)}))
        }
    }
}

async fn data_key(
    vault: &Vault,
    tx: &mut dyn StoreTx,
    org: &str,
) -> Result<std::sync::Arc<DataKey>> {
    vault
        .data_key(tx, org)
        .await
        .map_err(vault_err)?
        .ok_or_else(|| {
            failed(
                ErrorCode::Internal,
                "the organization holds secrets but has no data key",
            )
        })
}

async fn live_wallet(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<WalletSecrets> {
    tx.get_wallet_secrets(org, id)
        .await?
        .ok_or_else(|| not_found(format!("wallet `{id}` not found in organization `{org}`")))
}

async fn live_private_key(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<PrivateKey> {
    tx.get_private_key(org, id).await?.ok_or_else(|| {
        not_found(format!(
            "private key `{id}` not found in organization `{org}`"
        ))
    })
}

async fn existing_user(tx: &mut dyn StoreTx, org: &str, id: &str) -> Result<()> {
    tx.get_user(org, id)
        .await?
        .map(|_| ())
        .ok_or_else(|| not_found(format!("user `{id}` not found in organization `{org}`")))
}

fn open_seed(dk: &DataKey, org: &str, w: &WalletSecrets) -> Result<Seed> {
    let bytes = Vault::open(dk, SecretKind::Seed, org, &w.wallet.id, &w.seed).map_err(vault_err)?;
    Seed::from_bytes(&bytes).map_err(|_| failed(ErrorCode::Internal, "stored seed is invalid"))
}

async fn signing_key(tx: &mut dyn StoreTx, org: &str, sign_with: &str) -> Result<(KeyRef, Sealed)> {
    tx.find_key(org, sign_with).await?.ok_or_else(|| {
        not_found(format!("`signWith` `{sign_with}` is not a wallet account address, private key id or private key address in organization `{org}`"))
    })
}

async fn open_key(
    vault: &Vault,
    tx: &mut dyn StoreTx,
    org: &str,
    key: &KeyRef,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>> {
    let dk = data_key(vault, tx, org).await?;
    let kind = match key {
        KeyRef::Account(_) => SecretKind::AccountKey,
        KeyRef::PrivateKey(_) => SecretKind::PrivateKey,
    };
    Vault::open(&dk, kind, org, key.row_id(), sealed).map_err(vault_err)
}

fn key_bytes(private: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    if private.len() != 32 {
        return Err(failed(
            ErrorCode::Internal,
            "stored private key has the wrong length",
        ));
    }
    // Filled in place: no unwiped copy of the key on the stack.
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(private);
    Ok(out)
}

fn key_curve(key: &KeyRef) -> Result<Curve> {
    Curve::parse(key.curve())
        .map_err(|_| failed(ErrorCode::Internal, "stored key has an unknown curve"))
}
