//! Wire types of the key vault: wallets, accounts, private keys, signing, export and import
//! (field names as in Turnkey's public API).

use quorate_domain as domain;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::null_default;
use crate::types::{Pagination, Timestamp};

// ---- intents ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WalletAccountParams {
    pub curve: String,
    pub path_format: String,
    pub path: String,
    pub address_format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `create_wallet` parameters, and the `wallet` of `create_sub_organization`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWalletIntent {
    pub wallet_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub accounts: Vec<WalletAccountParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnemonic_length: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWalletAccountsIntent {
    pub wallet_id: String,
    pub accounts: Vec<WalletAccountParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWalletIntent {
    pub wallet_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeleteWalletsIntent {
    pub wallet_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_without_export: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportWalletIntent {
    pub wallet_id: String,
    pub target_public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportWalletAccountIntent {
    pub address: String,
    pub target_public_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitImportIntent {
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportWalletIntent {
    pub user_id: String,
    pub wallet_name: String,
    pub encrypted_bundle: String,
    #[serde(default, deserialize_with = "null_default")]
    pub accounts: Vec<WalletAccountParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportPrivateKeyIntent {
    pub user_id: String,
    pub private_key_name: String,
    pub encrypted_bundle: String,
    pub curve: String,
    #[serde(default, deserialize_with = "null_default")]
    pub address_formats: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateKeyParams {
    pub private_key_name: String,
    pub curve: String,
    #[serde(default, deserialize_with = "null_default")]
    pub private_key_tags: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub address_formats: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePrivateKeysIntent {
    /// Sent as `null` by the Rust SDK; quorate has no external signers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_signer_pubkey: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_signer_wrapping_key_id: Option<String>,

    pub private_keys: Vec<PrivateKeyParams>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletePrivateKeysIntent {
    pub private_key_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_without_export: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportPrivateKeyIntent {
    pub private_key_id: String,
    pub target_public_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePrivateKeyTagIntent {
    pub private_key_tag_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub private_key_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePrivateKeyTagIntent {
    pub private_key_tag_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_private_key_tag_name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub add_private_key_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub remove_private_key_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletePrivateKeyTagsIntent {
    pub private_key_tag_ids: Vec<String>,
}

/// `sign_raw_payload`: V2 names the key `signWith`, V1 `privateKeyId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRawPayloadIntent {
    /// Sent as `null` by the Rust SDK; quorate has no external signers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_signer_pubkey: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    pub payload: String,
    pub encoding: String,
    pub hash_function: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignRawPayloadsIntent {
    /// Sent as `null` by the Rust SDK; quorate has no external signers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_signer_pubkey: Option<String>,

    pub sign_with: String,
    pub payloads: Vec<String>,
    pub encoding: String,
    pub hash_function: String,
}

/// `sign_transaction`: V2 names the key `signWith`, V1 `privateKeyId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignTransactionIntent {
    /// Sent as `null` by the Rust SDK; quorate has no external signers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_signer_pubkey: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    pub unsigned_transaction: String,
    #[serde(rename = "type")]
    pub transaction_type: String,
}

// ---- records ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    pub wallet_id: String,
    pub wallet_name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub exported: bool,
    pub imported: bool,
}

impl From<&domain::Wallet> for Wallet {
    fn from(w: &domain::Wallet) -> Self {
        Wallet {
            wallet_id: w.id.clone(),
            wallet_name: w.name.clone(),
            created_at: Timestamp::from_ms(w.created_at),
            updated_at: Timestamp::from_ms(w.updated_at),
            exported: w.exported,
            imported: w.imported,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletAccount {
    pub wallet_account_id: String,
    pub organization_id: String,
    pub wallet_id: String,
    pub curve: String,
    pub path_format: String,
    pub path: String,
    pub address_format: String,
    pub address: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_details: Option<Wallet>,
}

impl From<&domain::WalletAccount> for WalletAccount {
    fn from(a: &domain::WalletAccount) -> Self {
        WalletAccount {
            wallet_account_id: a.id.clone(),
            organization_id: a.organization_id.clone(),
            wallet_id: a.wallet_id.clone(),
            curve: a.curve.clone(),
            path_format: a.path_format.clone(),
            path: a.path.clone(),
            address_format: a.address_format.clone(),
            address: a.address.clone(),
            created_at: Timestamp::from_ms(a.created_at),
            updated_at: Timestamp::from_ms(a.updated_at),
            public_key: a.public_key.clone(),
            name: a.name.clone(),
            wallet_details: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub format: String,
    pub address: String,
}

impl From<&domain::KeyAddress> for Address {
    fn from(a: &domain::KeyAddress) -> Self {
        Address {
            format: a.format.clone(),
            address: a.address.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKey {
    pub private_key_id: String,
    pub public_key: String,
    pub private_key_name: String,
    pub curve: String,
    pub addresses: Vec<Address>,
    pub private_key_tags: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub exported: bool,
    pub imported: bool,
}

impl From<&domain::PrivateKey> for PrivateKey {
    fn from(k: &domain::PrivateKey) -> Self {
        PrivateKey {
            private_key_id: k.id.clone(),
            public_key: k.public_key.clone(),
            private_key_name: k.name.clone(),
            curve: k.curve.clone(),
            addresses: k.addresses.iter().map(Address::from).collect(),
            private_key_tags: k.tag_ids.clone(),
            created_at: Timestamp::from_ms(k.created_at),
            updated_at: Timestamp::from_ms(k.updated_at),
            exported: k.exported,
            imported: k.imported,
        }
    }
}

// ---- queries ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetWalletRequest {
    pub organization_id: String,
    pub wallet_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetWalletAccountsRequest {
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_wallet_details: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination_options: Option<Pagination>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetWalletAccountRequest {
    pub organization_id: String,
    pub wallet_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetPrivateKeyRequest {
    pub organization_id: String,
    pub private_key_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetWalletResponse {
    pub wallet: Wallet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetWalletsResponse {
    pub wallets: Vec<Wallet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetWalletAccountResponse {
    pub account: WalletAccount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetWalletAccountsResponse {
    pub accounts: Vec<WalletAccount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPrivateKeyResponse {
    pub private_key: PrivateKey,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetPrivateKeysResponse {
    pub private_keys: Vec<PrivateKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListPrivateKeyTagsResponse {
    pub private_key_tags: Vec<crate::types::Tag>,
}

/// `GET /public/v1/signer`: the key that signs export and import bundles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignerResponse {
    /// Uncompressed P-256 public key, lowercase hex: pass it to `@turnkey/crypto` as
    /// `dangerouslyOverrideSignerPublicKey`.
    pub signer_public_key: String,
}
