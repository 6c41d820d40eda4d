//! Reads of the vault (`get_wallet`, `list_wallet_accounts`, `get_private_key`, …). Public
//! data only: no sealed value leaves the store through here.

use crate::auth::Access;
use crate::error::{AppError, Result};
use crate::query::{id, page, to_value};
use crate::App;
use quorate_domain::TagKind;
use quorate_proto::vault as vw;
use quorate_store::StoreError;
use serde_json::Value;

impl App {
    pub(crate) async fn vault_query(
        &self,
        path: &str,
        body: &[u8],
        stamp: Option<&str>,
    ) -> Result<Value> {
        match path {
            "get_wallet" => {
                let (req, org, _) = self
                    .authenticate::<vw::GetWalletRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let wallet_id = id("walletId", &req.wallet_id)?;
                let w = self
                    .store
                    .reader()
                    .await?
                    .get_wallet(&org, &wallet_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!("wallet `{wallet_id}` not found"))
                    })?;
                to_value(vw::GetWalletResponse {
                    wallet: vw::Wallet::from(&w),
                })
            }
            "list_wallets" => {
                let org = self.read_org(body, stamp).await?;
                let list = self.store.reader().await?.list_wallets(&org).await?;
                to_value(vw::GetWalletsResponse {
                    wallets: list.iter().map(vw::Wallet::from).collect(),
                })
            }
            "get_wallet_account" => {
                let (req, org, _) = self
                    .authenticate::<vw::GetWalletAccountRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let wallet_id = id("walletId", &req.wallet_id)?;
                let address = req
                    .address
                    .as_deref()
                    .map(str::trim)
                    .filter(|a| !a.is_empty());
                let path = req.path.as_deref().map(str::trim).filter(|p| !p.is_empty());
                if address.is_none() && path.is_none() {
                    return Err(AppError::invalid("one of `address` or `path` is required"));
                }
                let a = self
                    .store
                    .reader()
                    .await?
                    .get_wallet_account(&org, &wallet_id, address, path)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!(
                            "no account with that {} in wallet `{wallet_id}`",
                            if address.is_some() { "address" } else { "path" }
                        ))
                    })?;
                to_value(vw::GetWalletAccountResponse {
                    account: vw::WalletAccount::from(&a),
                })
            }
            "list_wallet_accounts" => {
                let (req, org, _) = self
                    .authenticate::<vw::GetWalletAccountsRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let wallet_id = match req.wallet_id.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(w) => Some(id("walletId", w)?),
                };
                let page = page(req.pagination_options.as_ref())?;
                let mut reader = self.store.reader().await?;
                if let Some(w) = &wallet_id {
                    if reader.get_wallet(&org, w).await?.is_none() {
                        return Err(AppError::not_found(format!("wallet `{w}` not found")));
                    }
                }
                let accounts = reader
                    .list_wallet_accounts(&org, wallet_id.as_deref(), &page)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => AppError::invalid(
                            "`paginationOptions` cursor does not name an account of this listing",
                        ),
                        other => other.into(),
                    })?;
                let mut out: Vec<vw::WalletAccount> =
                    accounts.iter().map(vw::WalletAccount::from).collect();
                if req.include_wallet_details == Some(true) {
                    for a in &mut out {
                        a.wallet_details = reader
                            .get_wallet(&org, &a.wallet_id)
                            .await?
                            .as_ref()
                            .map(vw::Wallet::from);
                    }
                }
                to_value(vw::GetWalletAccountsResponse { accounts: out })
            }
            "get_private_key" => {
                let (req, org, _) = self
                    .authenticate::<vw::GetPrivateKeyRequest>(body, stamp, Access::Read, |r| {
                        &r.organization_id
                    })
                    .await?;
                let key_id = id("privateKeyId", &req.private_key_id)?;
                let k = self
                    .store
                    .reader()
                    .await?
                    .get_private_key(&org, &key_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!("private key `{key_id}` not found"))
                    })?;
                to_value(vw::GetPrivateKeyResponse {
                    private_key: vw::PrivateKey::from(&k),
                })
            }
            "list_private_keys" => {
                let org = self.read_org(body, stamp).await?;
                let keys = self.store.reader().await?.list_private_keys(&org).await?;
                to_value(vw::GetPrivateKeysResponse {
                    private_keys: keys.iter().map(vw::PrivateKey::from).collect(),
                })
            }
            "list_private_key_tags" => {
                let org = self.read_org(body, stamp).await?;
                to_value(vw::ListPrivateKeyTagsResponse {
                    private_key_tags: self.tags(&org, TagKind::PrivateKey).await?,
                })
            }
            other => Err(AppError::not_implemented(format!(
                "/public/v1/query/{other} is not implemented yet"
            ))),
        }
    }
}
