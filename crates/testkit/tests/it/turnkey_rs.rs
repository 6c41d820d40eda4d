//! quorate driven by Turnkey's official Rust client, `turnkey_client` 0.17.1, unmodified:
//! every request is stamped by `turnkey_api_key_stamper` and every response must decode into
//! the crate's generated types (WIRE.md §10b).

// The helpers below are test code too; clippy's `allow-*-in-tests` only covers test fns.
#![allow(clippy::unwrap_used, clippy::panic)]

use quorate_crypto::address::{self, AddressFormat};
use quorate_crypto::hd::Curve;
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::sign::{self, HashFunction, PayloadEncoding};
use quorate_crypto::ApiKeyCurve as QuorateCurve;
use quorate_testkit::{Backend, TestServer};
use serde_json::Value;
use turnkey_api_key_stamper::Stamp;
use turnkey_client::generated::external::data::v1::WalletAccount;
use turnkey_client::generated::external::options::v1::Pagination;
use turnkey_client::generated::immutable::activity::v1::{intent, result};
use turnkey_client::generated::immutable::common::v1 as common;
use turnkey_client::generated::immutable::common::v1::ApiKeyCurve;
use turnkey_client::generated::{
    ActivityStatus, ActivityType, ApiKeyParamsV2, CreateApiKeysIntentV2, CreatePrivateKeysIntentV2,
    CreateSubOrganizationIntentV8, CreateUsersIntentV4, CreateWalletAccountsIntent,
    CreateWalletIntent, DeleteApiKeysIntent, DeleteUsersIntent, GetActivitiesRequest,
    GetActivityRequest, GetApiKeysRequest, GetOrganizationConfigsRequest, GetPrivateKeyRequest,
    GetPrivateKeysRequest, GetUserRequest, GetUsersRequest, GetWalletAccountRequest,
    GetWalletAccountsRequest, GetWalletRequest, GetWalletsRequest, GetWhoamiRequest,
    PrivateKeyParams, RootUserParamsV5, SignRawPayloadIntentV2, SignRawPayloadResult,
    SignRawPayloadsIntent, SignTransactionIntentV2, UpdateWalletIntent, UserParamsV4,
    WalletAccountParams,
};
use turnkey_client::{
    TurnkeyClient, TurnkeyClientError, TurnkeyP256ApiKey, TurnkeySecp256k1ApiKey,
};

/// A `turnkey_client` pointed at the test server, stamping with `key`.
fn tk<S: Stamp>(server: &TestServer, key: S) -> TurnkeyClient<S> {
    TurnkeyClient::builder()
        .api_key(key)
        .base_url(server.base_url.clone())
        .build()
        .unwrap()
}

/// The official P-256 stamper loaded from a quorate key pair (hex strings, public key checked).
fn p256_key(pair: &ApiKeyPair) -> TurnkeyP256ApiKey {
    let private_hex = pair.private_key_hex();
    TurnkeyP256ApiKey::from_strings(private_hex.as_str(), Some(pair.public_key_hex().as_str()))
        .unwrap()
}

fn root_tk(server: &TestServer) -> TurnkeyClient<TurnkeyP256ApiKey> {
    tk(server, p256_key(&server.root.key()))
}

fn api_key_params(name: &str, public_key_hex: &str, curve: ApiKeyCurve) -> ApiKeyParamsV2 {
    ApiKeyParamsV2 {
        api_key_name: name.to_string(),
        public_key: public_key_hex.to_string(),
        curve_type: curve,
        expiration_seconds: None,
    }
}

fn user_params(name: &str, email: Option<&str>, api_keys: Vec<ApiKeyParamsV2>) -> UserParamsV4 {
    UserParamsV4 {
        user_name: name.to_string(),
        user_email: email.map(str::to_string),
        user_phone_number: None,
        api_keys,
        authenticators: vec![],
        oauth_providers: vec![],
        user_tags: vec![],
    }
}

/// Creates one user in `org` with the root client and returns its id.
async fn create_user<S: Stamp>(
    client: &TurnkeyClient<S>,
    org: &str,
    name: &str,
    api_keys: Vec<ApiKeyParamsV2>,
) -> String {
    let out = client
        .create_users(
            org.to_string(),
            client.current_timestamp(),
            CreateUsersIntentV4 {
                users: vec![user_params(name, None, api_keys)],
            },
        )
        .await
        .unwrap();
    assert_eq!(out.status, ActivityStatus::Completed);
    assert_eq!(out.result.user_ids.len(), 1, "{:?}", out.result);
    out.result.user_ids[0].clone()
}

/// The HTTP status and decoded error body of an `UnexpectedHttpStatus` error.
fn http_error(err: TurnkeyClientError) -> (u16, Value) {
    match err {
        TurnkeyClientError::UnexpectedHttpStatus(status, body) => {
            let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
            (status, json)
        }
        other => panic!("expected an HTTP status error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_returns_root_identity() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_whoami")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();

    let who = client
        .get_whoami(GetWhoamiRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap();
    assert_eq!(who.organization_id, org);
    assert_eq!(who.user_id, server.root.user_id);
    assert_eq!(who.organization_name, "root");
    assert_eq!(who.username, "root");

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_activities() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_users")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();

    let created = client
        .create_users(
            org.clone(),
            client.current_timestamp(),
            CreateUsersIntentV4 {
                users: vec![user_params("alice", Some("alice@example.com"), vec![])],
            },
        )
        .await
        .unwrap();
    assert_eq!(created.status, ActivityStatus::Completed);
    assert_eq!(created.result.user_ids.len(), 1);
    let alice = created.result.user_ids[0].clone();
    assert!(!created.activity_id.is_empty());

    // get_user
    let user = client
        .get_user(GetUserRequest {
            organization_id: org.clone(),
            user_id: alice.clone(),
        })
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(user.user_id, alice);
    assert_eq!(user.user_name, "alice");
    assert_eq!(user.user_email.as_deref(), Some("alice@example.com"));
    assert!(user.api_keys.is_empty());

    // get_users: root and alice
    let users = client
        .get_users(GetUsersRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap()
        .users;
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(users
        .iter()
        .any(|u| u.user_id == alice && u.user_name == "alice"));
    let root = users
        .iter()
        .find(|u| u.user_id == server.root.user_id)
        .unwrap();
    assert_eq!(root.user_name, "root");
    assert_eq!(root.api_keys.len(), 1, "{root:?}");
    assert_eq!(root.api_keys[0].api_key_id, server.root.api_key_id);

    // get_activity on the create activity
    let activity = client
        .get_activity(GetActivityRequest {
            organization_id: org.clone(),
            activity_id: created.activity_id.clone(),
        })
        .await
        .unwrap()
        .activity
        .unwrap();
    assert_eq!(activity.id, created.activity_id);
    assert_eq!(activity.organization_id, org);
    assert_eq!(activity.status, ActivityStatus::Completed);
    assert_eq!(activity.r#type, ActivityType::CreateUsersV4);
    assert!(
        activity.fingerprint.starts_with("sha256:"),
        "{}",
        activity.fingerprint
    );
    assert!(activity.created_at.is_some());
    assert!(activity.failure.is_none());
    match activity.intent.and_then(|i| i.inner) {
        Some(intent::Inner::CreateUsersIntentV4(i)) => {
            assert_eq!(i.users.len(), 1);
            assert_eq!(i.users[0].user_name, "alice");
        }
        other => panic!("unexpected intent {other:?}"),
    }
    match activity.result.and_then(|r| r.inner) {
        Some(result::Inner::CreateUsersResult(r)) => assert_eq!(r.user_ids, vec![alice.clone()]),
        other => panic!("unexpected result {other:?}"),
    }

    // Resubmitting the identical body (same timestampMs) returns the same activity (§3).
    let ts = client.current_timestamp();
    let intent = || CreateUsersIntentV4 {
        users: vec![user_params("dora", None, vec![])],
    };
    let first = client
        .create_users(org.clone(), ts, intent())
        .await
        .unwrap();
    let again = client
        .create_users(org.clone(), ts, intent())
        .await
        .unwrap();
    assert_eq!(again.activity_id, first.activity_id);
    assert_eq!(again.result.user_ids, first.result.user_ids);

    // An activity that fails in execution decodes as ActivityFailed with code and message.
    let missing_user = "00000000-0000-4000-8000-000000000000".to_string();
    let err = client
        .delete_users(
            org.clone(),
            client.current_timestamp(),
            DeleteUsersIntent {
                user_ids: vec![missing_user],
            },
        )
        .await
        .unwrap_err();
    match err {
        TurnkeyClientError::ActivityFailed(Some(status)) => {
            assert_ne!(status.code, 0, "{status:?}");
            assert!(!status.message.is_empty(), "{status:?}");
        }
        other => panic!("expected ActivityFailed, got {other:?}"),
    }

    // get_activities filtered by status (pagination as null, then as the client's usual shape)
    let completed = client
        .get_activities(GetActivitiesRequest {
            organization_id: org.clone(),
            filter_by_status: vec![ActivityStatus::Completed],
            pagination_options: None,
            filter_by_type: vec![],
        })
        .await
        .unwrap()
        .activities;
    assert!(
        completed.iter().any(|a| a.id == created.activity_id),
        "{completed:?}"
    );
    assert!(completed
        .iter()
        .all(|a| a.status == ActivityStatus::Completed));

    let failed = client
        .get_activities(GetActivitiesRequest {
            organization_id: org.clone(),
            filter_by_status: vec![ActivityStatus::Failed],
            pagination_options: Some(Pagination {
                limit: "10".into(),
                before: String::new(),
                after: String::new(),
            }),
            filter_by_type: vec![],
        })
        .await
        .unwrap()
        .activities;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed.iter().all(|a| a.status == ActivityStatus::Failed),
        "{failed:?}"
    );
    assert_eq!(failed[0].r#type, ActivityType::DeleteUsers);
    assert!(failed[0].failure.is_some(), "{failed:?}");
    assert!(!failed.iter().any(|a| a.id == created.activity_id));

    let by_type = client
        .get_activities(GetActivitiesRequest {
            organization_id: org.clone(),
            filter_by_status: vec![],
            pagination_options: None,
            filter_by_type: vec![ActivityType::CreateUsersV4],
        })
        .await
        .unwrap()
        .activities;
    let mut ids: Vec<&str> = by_type.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![created.activity_id.as_str(), first.activity_id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "{by_type:?}");
    assert!(by_type
        .iter()
        .all(|a| a.r#type == ActivityType::CreateUsersV4));

    // delete_users: alice disappears
    let deleted = client
        .delete_users(
            org.clone(),
            client.current_timestamp(),
            DeleteUsersIntent {
                user_ids: vec![alice.clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.status, ActivityStatus::Completed);
    assert_eq!(deleted.result.user_ids, vec![alice.clone()]);
    let users = client
        .get_users(GetUsersRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap()
        .users;
    assert!(!users.iter().any(|u| u.user_id == alice), "{users:?}");
    let err = client
        .get_user(GetUserRequest {
            organization_id: org.clone(),
            user_id: alice.clone(),
        })
        .await
        .unwrap_err();
    let (status, body) = http_error(err);
    assert_eq!(status, 404, "{body}");

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_lifecycle_and_revocation() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_api_keys")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();
    let bob = create_user(&client, &org, "bob", vec![]).await;

    let pair = ApiKeyPair::generate(QuorateCurve::P256);
    let created = client
        .create_api_keys(
            org.clone(),
            client.current_timestamp(),
            CreateApiKeysIntentV2 {
                api_keys: vec![api_key_params(
                    "bob-key",
                    &pair.public_key_hex(),
                    ApiKeyCurve::P256,
                )],
                user_id: bob.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.status, ActivityStatus::Completed);
    assert_eq!(created.result.api_key_ids.len(), 1);
    let key_id = created.result.api_key_ids[0].clone();

    let keys = client
        .get_api_keys(GetApiKeysRequest {
            organization_id: org.clone(),
            user_id: Some(bob.clone()),
        })
        .await
        .unwrap()
        .api_keys;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].api_key_id, key_id);
    assert_eq!(keys[0].api_key_name, "bob-key");
    assert_eq!(
        keys[0].credential.as_ref().unwrap().public_key,
        pair.public_key_hex()
    );

    // A second key with an expiry: expirationSeconds travels as a string and decodes as u64.
    let expiring = ApiKeyPair::generate(QuorateCurve::P256);
    let mut params = api_key_params(
        "bob-expiring",
        &expiring.public_key_hex(),
        ApiKeyCurve::P256,
    );
    params.expiration_seconds = Some("3600".to_string());
    let created2 = client
        .create_api_keys(
            org.clone(),
            client.current_timestamp(),
            CreateApiKeysIntentV2 {
                api_keys: vec![params],
                user_id: bob.clone(),
            },
        )
        .await
        .unwrap();
    let expiring_id = created2.result.api_key_ids[0].clone();
    let keys = client
        .get_api_keys(GetApiKeysRequest {
            organization_id: org.clone(),
            user_id: Some(bob.clone()),
        })
        .await
        .unwrap()
        .api_keys;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let k = keys.iter().find(|k| k.api_key_id == expiring_id).unwrap();
    assert_eq!(k.expiration_seconds, Some(3600));
    client
        .delete_api_keys(
            org.clone(),
            client.current_timestamp(),
            DeleteApiKeysIntent {
                user_id: bob.clone(),
                api_key_ids: vec![expiring_id],
            },
        )
        .await
        .unwrap();

    // The new key authenticates as bob.
    let bob_client = tk(&server, p256_key(&pair));
    let who = bob_client
        .get_whoami(GetWhoamiRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap();
    assert_eq!(who.user_id, bob);
    assert_eq!(who.username, "bob");
    assert_eq!(who.organization_id, org);

    let deleted = client
        .delete_api_keys(
            org.clone(),
            client.current_timestamp(),
            DeleteApiKeysIntent {
                user_id: bob.clone(),
                api_key_ids: vec![key_id.clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(deleted.status, ActivityStatus::Completed);
    assert_eq!(deleted.result.api_key_ids, vec![key_id.clone()]);

    let keys = client
        .get_api_keys(GetApiKeysRequest {
            organization_id: org.clone(),
            user_id: Some(bob.clone()),
        })
        .await
        .unwrap()
        .api_keys;
    assert!(keys.is_empty(), "{keys:?}");

    // A client stamping with the deleted key is refused with 401.
    let err = bob_client
        .get_whoami(GetWhoamiRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap_err();
    let (status, body) = http_error(err);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], 16, "{body}");

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_organization_root_user_key() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_suborg")
        .await
        .unwrap();
    let client = root_tk(&server);
    let parent = server.root.organization_id.clone();

    let pair = ApiKeyPair::generate(QuorateCurve::P256);
    let created = client
        .create_sub_organization(
            parent.clone(),
            client.current_timestamp(),
            CreateSubOrganizationIntentV8 {
                sub_organization_name: "sub-one".to_string(),
                root_users: vec![RootUserParamsV5 {
                    user_name: "sub-root".to_string(),
                    user_email: None,
                    user_phone_number: None,
                    api_keys: vec![api_key_params(
                        "sub-root-key",
                        &pair.public_key_hex(),
                        ApiKeyCurve::P256,
                    )],
                    authenticators: vec![],
                    oauth_providers: vec![],
                }],
                root_quorum_threshold: 1,
                wallet: None,
                disable_email_recovery: None,
                disable_email_auth: None,
                disable_sms_auth: None,
                disable_otp_email_auth: None,
                verification_token: None,
                client_signature: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.status, ActivityStatus::Completed);
    let sub = created.result.sub_organization_id.clone();
    assert!(!sub.is_empty());
    assert_ne!(sub, parent);
    assert!(created.result.wallet.is_none(), "{:?}", created.result);
    assert_eq!(created.result.root_user_ids.len(), 1);
    let sub_root = created.result.root_user_ids[0].clone();

    let sub_client = tk(&server, p256_key(&pair));
    let who = sub_client
        .get_whoami(GetWhoamiRequest {
            organization_id: sub.clone(),
        })
        .await
        .unwrap();
    assert_eq!(who.organization_id, sub);
    assert_eq!(who.organization_name, "sub-one");
    assert_eq!(who.user_id, sub_root);
    assert_eq!(who.username, "sub-root");

    let configs = sub_client
        .get_organization_configs(GetOrganizationConfigsRequest {
            organization_id: sub.clone(),
        })
        .await
        .unwrap()
        .configs
        .unwrap();
    let quorum = configs.quorum.unwrap();
    assert_eq!(quorum.threshold, 1);
    assert_eq!(quorum.user_ids, vec![sub_root.clone()]);

    // whoami at the parent with a sub-org credential answers with the sub-org identity (§2).
    let who = sub_client
        .get_whoami(GetWhoamiRequest {
            organization_id: parent.clone(),
        })
        .await
        .unwrap();
    assert_eq!(who.organization_id, sub);
    assert_eq!(who.user_id, sub_root);

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secp256k1_stamp() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_secp256k1")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();

    let key = TurnkeySecp256k1ApiKey::generate();
    let public_hex = hex_lower(&key.compressed_public_key());
    let created = client
        .create_api_keys(
            org.clone(),
            client.current_timestamp(),
            CreateApiKeysIntentV2 {
                api_keys: vec![api_key_params(
                    "root-k1",
                    &public_hex,
                    ApiKeyCurve::Secp256k1,
                )],
                user_id: server.root.user_id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.result.api_key_ids.len(), 1);

    let k1_client = tk(&server, key);
    let who = k1_client
        .get_whoami(GetWhoamiRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap();
    assert_eq!(who.organization_id, org);
    assert_eq!(who.user_id, server.root.user_id);

    // An activity stamped with the secp256k1 key also goes through.
    let carol = create_user(&k1_client, &org, "carol", vec![]).await;
    let keys = k1_client
        .get_api_keys(GetApiKeysRequest {
            organization_id: org.clone(),
            user_id: Some(server.root.user_id.clone()),
        })
        .await
        .unwrap()
        .api_keys;
    let k1 = keys
        .iter()
        .find(|k| k.api_key_id == created.result.api_key_ids[0])
        .unwrap();
    assert_eq!(k1.credential.as_ref().unwrap().public_key, public_hex);
    assert!(!carol.is_empty());

    server.stop().await.unwrap();
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- key vault ----

const ETH_PATH: &str = "m/44'/60'/0'/0/0";
const SOL_PATH: &str = "m/44'/501'/0'/0'";
const BTC_PATH: &str = "m/84'/0'/0'/0/0";
/// An unsigned EIP-1559 transaction (chain 1, nonce 0, 1 ETH to 0x7099…79C8).
const UNSIGNED_1559: &str = "02f00180843b9aca008509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c8881158e460913d000080c0";

fn account_params(
    curve: common::Curve,
    path: &str,
    format: common::AddressFormat,
) -> WalletAccountParams {
    WalletAccountParams {
        curve,
        path_format: common::PathFormat::Bip32,
        path: path.to_string(),
        address_format: format,
        name: None,
    }
}

fn eth_account(path: &str) -> WalletAccountParams {
    account_params(
        common::Curve::Secp256k1,
        path,
        common::AddressFormat::Ethereum,
    )
}

fn sol_account() -> WalletAccountParams {
    account_params(
        common::Curve::Ed25519,
        SOL_PATH,
        common::AddressFormat::Solana,
    )
}

fn btc_account() -> WalletAccountParams {
    account_params(
        common::Curve::Secp256k1,
        BTC_PATH,
        common::AddressFormat::BitcoinMainnetP2wpkh,
    )
}

/// Creates a wallet with `accounts` and returns its id and addresses (in request order).
async fn create_wallet<S: Stamp>(
    client: &TurnkeyClient<S>,
    org: &str,
    name: &str,
    accounts: Vec<WalletAccountParams>,
) -> (String, Vec<String>) {
    let n = accounts.len();
    let out = client
        .create_wallet(
            org.to_string(),
            client.current_timestamp(),
            CreateWalletIntent {
                wallet_name: name.to_string(),
                accounts,
                mnemonic_length: Some(12),
            },
        )
        .await
        .unwrap();
    assert_eq!(out.status, ActivityStatus::Completed);
    assert!(!out.result.wallet_id.is_empty(), "{:?}", out.result);
    assert_eq!(out.result.addresses.len(), n, "{:?}", out.result);
    (out.result.wallet_id, out.result.addresses)
}

/// The quorate address format matching one of the crate's.
fn quorate_format(format: common::AddressFormat) -> AddressFormat {
    AddressFormat::parse(format.as_str_name()).unwrap()
}

/// Checks an account as decoded by the crate: identity fields, and its address re-derived from
/// the returned public key.
fn check_account(a: &WalletAccount, org: &str, wallet_id: &str) {
    assert!(!a.wallet_account_id.is_empty(), "{a:?}");
    assert_eq!(a.organization_id, org, "{a:?}");
    assert_eq!(a.wallet_id, wallet_id, "{a:?}");
    assert_eq!(a.path_format, common::PathFormat::Bip32, "{a:?}");
    assert!(a.created_at.is_some() && a.updated_at.is_some(), "{a:?}");
    let public = hex::decode(a.public_key.as_deref().unwrap()).unwrap();
    assert_eq!(
        address::encode(quorate_format(a.address_format), &public).unwrap(),
        a.address,
        "{a:?}"
    );
    let want_curve = match a.address_format {
        common::AddressFormat::Solana => common::Curve::Ed25519,
        _ => common::Curve::Secp256k1,
    };
    assert_eq!(a.curve, want_curve, "{a:?}");
}

/// Recovers the signer of a secp256k1 `sign_raw_payload` result over `digest` and returns its
/// Ethereum address.
fn recovered_eth_address(digest: &[u8; 32], sig: &SignRawPayloadResult) -> String {
    assert_eq!((sig.r.len(), sig.s.len()), (64, 64), "{sig:?}");
    let recid = u8::from_str_radix(&sig.v, 16).unwrap();
    assert!(recid <= 1, "{sig:?}");
    let public = sign::recover_secp256k1(
        digest,
        &hex::decode(&sig.r).unwrap().try_into().unwrap(),
        &hex::decode(&sig.s).unwrap().try_into().unwrap(),
        recid,
    )
    .unwrap();
    address::encode(AddressFormat::Ethereum, &public).unwrap()
}

/// The digest a secp256k1 key signs for a hex payload under `hash`.
fn digest(payload: &str, hash: HashFunction) -> [u8; 32] {
    *sign::prepare(
        Curve::Secp256k1,
        payload,
        PayloadEncoding::Hexadecimal,
        hash,
    )
    .unwrap()
    .digest()
    .unwrap()
}

fn raw_payload(
    sign_with: &str,
    payload: &str,
    hash: common::HashFunction,
) -> SignRawPayloadIntentV2 {
    SignRawPayloadIntentV2 {
        sign_with: sign_with.to_string(),
        payload: payload.to_string(),
        encoding: common::PayloadEncoding::Hexadecimal,
        hash_function: hash,
        external_signer_pubkey: None,
    }
}

fn page(limit: &str, after: &str) -> Option<Pagination> {
    Some(Pagination {
        limit: limit.to_string(),
        before: String::new(),
        after: after.to_string(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_through_the_rust_sdk() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_wallets")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();

    let (wallet_id, addresses) = create_wallet(
        &client,
        &org,
        "main",
        vec![eth_account(ETH_PATH), sol_account(), btc_account()],
    )
    .await;
    assert!(
        addresses[0].starts_with("0x") && addresses[0].len() == 42,
        "{addresses:?}"
    );
    assert_eq!(
        bs58::decode(&addresses[1]).into_vec().unwrap().len(),
        32,
        "{addresses:?}"
    );
    assert!(addresses[2].starts_with("bc1q"), "{addresses:?}");

    // get_wallets / get_wallet
    let wallets = client
        .get_wallets(GetWalletsRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap()
        .wallets;
    assert_eq!(wallets.len(), 1, "{wallets:?}");
    assert_eq!(wallets[0].wallet_id, wallet_id);
    assert_eq!(wallets[0].wallet_name, "main");
    assert!(wallets[0].created_at.is_some(), "{wallets:?}");
    assert!(!wallets[0].exported && !wallets[0].imported, "{wallets:?}");
    let wallet = client
        .get_wallet(GetWalletRequest {
            organization_id: org.clone(),
            wallet_id: wallet_id.clone(),
        })
        .await
        .unwrap()
        .wallet
        .unwrap();
    assert_eq!(wallet, wallets[0]);

    // get_wallet_accounts: by wallet, then organization-wide, with and without pagination.
    let accounts = |wallet: Option<&str>, pagination: Option<Pagination>| {
        let client = &client;
        let req = GetWalletAccountsRequest {
            organization_id: org.clone(),
            wallet_id: wallet.map(str::to_string),
            include_wallet_details: None,
            pagination_options: pagination,
        };
        async move { client.get_wallet_accounts(req).await.unwrap().accounts }
    };
    let by_wallet = accounts(Some(&wallet_id), None).await;
    let mut got: Vec<&str> = by_wallet.iter().map(|a| a.address.as_str()).collect();
    let mut want: Vec<&str> = addresses.iter().map(String::as_str).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{by_wallet:?}");
    for a in &by_wallet {
        check_account(a, &org, &wallet_id);
    }
    let paths: Vec<(&str, common::AddressFormat)> = addresses
        .iter()
        .map(|addr| {
            let a = by_wallet.iter().find(|a| &a.address == addr).unwrap();
            (a.path.as_str(), a.address_format)
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            (ETH_PATH, common::AddressFormat::Ethereum),
            (SOL_PATH, common::AddressFormat::Solana),
            (BTC_PATH, common::AddressFormat::BitcoinMainnetP2wpkh),
        ]
    );
    let org_wide = accounts(None, page("10", "")).await;
    assert_eq!(org_wide, by_wallet);
    // Pages of two: the cursor is the last account id of the previous page.
    let first = accounts(Some(&wallet_id), page("2", "")).await;
    assert_eq!(first.len(), 2, "{first:?}");
    let rest = accounts(Some(&wallet_id), page("2", &first[1].wallet_account_id)).await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    let paged: Vec<&WalletAccount> = first.iter().chain(rest.iter()).collect();
    assert_eq!(paged, by_wallet.iter().collect::<Vec<_>>());
    // With wallet details.
    let detailed = client
        .get_wallet_accounts(GetWalletAccountsRequest {
            organization_id: org.clone(),
            wallet_id: Some(wallet_id.clone()),
            include_wallet_details: Some(true),
            pagination_options: None,
        })
        .await
        .unwrap()
        .accounts;
    assert_eq!(detailed.len(), 3, "{detailed:?}");
    assert!(
        detailed
            .iter()
            .all(|a| a.wallet_details.as_ref() == Some(&wallet)),
        "{detailed:?}"
    );

    // get_wallet_account by address and by path.
    let by_address = client
        .get_wallet_account(GetWalletAccountRequest {
            organization_id: org.clone(),
            wallet_id: wallet_id.clone(),
            address: Some(addresses[1].clone()),
            path: None,
        })
        .await
        .unwrap()
        .account
        .unwrap();
    check_account(&by_address, &org, &wallet_id);
    assert_eq!(by_address.path, SOL_PATH);
    let by_path = client
        .get_wallet_account(GetWalletAccountRequest {
            organization_id: org.clone(),
            wallet_id: wallet_id.clone(),
            address: None,
            path: Some(BTC_PATH.to_string()),
        })
        .await
        .unwrap()
        .account
        .unwrap();
    assert_eq!(by_path.address, addresses[2]);

    // create_wallet_accounts: the next Ethereum index.
    let added = client
        .create_wallet_accounts(
            org.clone(),
            client.current_timestamp(),
            CreateWalletAccountsIntent {
                wallet_id: wallet_id.clone(),
                accounts: vec![eth_account("m/44'/60'/0'/0/1")],
                persist: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(added.status, ActivityStatus::Completed);
    assert_eq!(added.result.addresses.len(), 1, "{:?}", added.result);
    let new_address = added.result.addresses[0].clone();
    assert!(!addresses.contains(&new_address));
    let after_add = accounts(Some(&wallet_id), None).await;
    assert_eq!(after_add.len(), 4, "{after_add:?}");
    let new_account = after_add.iter().find(|a| a.address == new_address).unwrap();
    check_account(new_account, &org, &wallet_id);
    assert_eq!(new_account.path, "m/44'/60'/0'/0/1");

    // update_wallet renames it.
    let updated = client
        .update_wallet(
            org.clone(),
            client.current_timestamp(),
            UpdateWalletIntent {
                wallet_id: wallet_id.clone(),
                wallet_name: "renamed".to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.status, ActivityStatus::Completed);
    assert_eq!(updated.result.wallet_id, wallet_id);
    let wallet = client
        .get_wallet(GetWalletRequest {
            organization_id: org.clone(),
            wallet_id: wallet_id.clone(),
        })
        .await
        .unwrap()
        .wallet
        .unwrap();
    assert_eq!(wallet.wallet_name, "renamed");

    // An unknown wallet is a 404.
    let err = client
        .get_wallet(GetWalletRequest {
            organization_id: org.clone(),
            wallet_id: "00000000-0000-4000-8000-000000000000".to_string(),
        })
        .await
        .unwrap_err();
    let (status, body) = http_error(err);
    assert_eq!(status, 404, "{body}");

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_through_the_rust_sdk() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_signing")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();
    let (_, addresses) = create_wallet(
        &client,
        &org,
        "signer",
        vec![eth_account(ETH_PATH), sol_account()],
    )
    .await;

    // secp256k1 over keccak256(payload): the signer recovers to the account's address.
    let payload = hex_lower(b"quorate through turnkey_client");
    let signed = client
        .sign_raw_payload(
            org.clone(),
            client.current_timestamp(),
            raw_payload(&addresses[0], &payload, common::HashFunction::Keccak256),
        )
        .await
        .unwrap();
    assert_eq!(signed.status, ActivityStatus::Completed);
    assert_eq!(
        recovered_eth_address(&digest(&payload, HashFunction::Keccak256), &signed.result),
        addresses[0]
    );

    // Ed25519 signs the message itself.
    let message = b"solana via the rust sdk";
    let ed = client
        .sign_raw_payload(
            org.clone(),
            client.current_timestamp(),
            raw_payload(
                &addresses[1],
                &hex_lower(message),
                common::HashFunction::NotApplicable,
            ),
        )
        .await
        .unwrap()
        .result;
    let sig = hex::decode(format!("{}{}", ed.r, ed.s)).unwrap();
    let public = bs58::decode(&addresses[1]).into_vec().unwrap();
    assert!(sign::verify_ed25519(&public, message, &sig), "{ed:?}");

    // Several payloads at once, in order.
    let payloads = ["01", "0203", "deadbeef"];
    let many = client
        .sign_raw_payloads(
            org.clone(),
            client.current_timestamp(),
            SignRawPayloadsIntent {
                sign_with: addresses[0].clone(),
                payloads: payloads.iter().map(|p| p.to_string()).collect(),
                encoding: common::PayloadEncoding::Hexadecimal,
                hash_function: common::HashFunction::Sha256,
                external_signer_pubkey: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(many.status, ActivityStatus::Completed);
    assert_eq!(
        many.result.signatures.len(),
        payloads.len(),
        "{:?}",
        many.result
    );
    for (p, sig) in payloads.iter().zip(&many.result.signatures) {
        assert_eq!(
            recovered_eth_address(&digest(p, HashFunction::Sha256), sig),
            addresses[0],
            "{p}"
        );
    }

    // An EIP-1559 transaction comes back signed, still typed 0x02.
    let tx = client
        .sign_transaction(
            org.clone(),
            client.current_timestamp(),
            SignTransactionIntentV2 {
                sign_with: addresses[0].clone(),
                unsigned_transaction: UNSIGNED_1559.to_string(),
                r#type: common::TransactionType::Ethereum,
                external_signer_pubkey: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(tx.status, ActivityStatus::Completed);
    let signed_tx = tx.result.signed_transaction;
    assert!(
        signed_tx.starts_with("02") && signed_tx.len() > UNSIGNED_1559.len(),
        "{signed_tx}"
    );
    assert!(hex::decode(&signed_tx).is_ok(), "{signed_tx}");

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_keys_through_the_rust_sdk() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_private_keys")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();

    let created = client
        .create_private_keys(
            org.clone(),
            client.current_timestamp(),
            CreatePrivateKeysIntentV2 {
                private_keys: vec![PrivateKeyParams {
                    private_key_name: "hot-key".to_string(),
                    curve: common::Curve::Secp256k1,
                    private_key_tags: vec![],
                    address_formats: vec![common::AddressFormat::Ethereum],
                }],
                external_signer_pubkey: None,
                external_signer_wrapping_key_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(created.status, ActivityStatus::Completed);
    assert_eq!(created.result.private_keys.len(), 1, "{:?}", created.result);
    let created = &created.result.private_keys[0];
    let key_id = created.private_key_id.clone();
    assert_eq!(created.addresses.len(), 1, "{created:?}");
    assert_eq!(created.addresses[0].format, common::AddressFormat::Ethereum);
    let eth_address = created.addresses[0].address.clone();

    let key = client
        .get_private_key(GetPrivateKeyRequest {
            organization_id: org.clone(),
            private_key_id: key_id.clone(),
        })
        .await
        .unwrap()
        .private_key
        .unwrap();
    assert_eq!(key.private_key_id, key_id);
    assert_eq!(key.private_key_name, "hot-key");
    assert_eq!(key.curve, common::Curve::Secp256k1);
    assert!(
        key.created_at.is_some() && key.updated_at.is_some(),
        "{key:?}"
    );
    assert!(!key.exported && !key.imported, "{key:?}");
    assert!(key.private_key_tags.is_empty(), "{key:?}");
    assert_eq!(key.addresses.len(), 1, "{key:?}");
    assert_eq!(key.addresses[0].format, common::AddressFormat::Ethereum);
    assert_eq!(key.addresses[0].address, eth_address);
    let public = hex::decode(&key.public_key).unwrap();
    assert_eq!(
        address::encode(AddressFormat::Ethereum, &public).unwrap(),
        eth_address
    );

    let keys = client
        .get_private_keys(GetPrivateKeysRequest {
            organization_id: org.clone(),
        })
        .await
        .unwrap()
        .private_keys;
    assert_eq!(keys, vec![key]);

    // signWith = the private key id; the signature recovers to the key's address.
    let payload = "00112233445566778899aabbccddeeff";
    let signed = client
        .sign_raw_payload(
            org.clone(),
            client.current_timestamp(),
            raw_payload(&key_id, payload, common::HashFunction::Keccak256),
        )
        .await
        .unwrap();
    assert_eq!(signed.status, ActivityStatus::Completed);
    assert_eq!(
        recovered_eth_address(&digest(payload, HashFunction::Keccak256), &signed.result),
        eth_address
    );
    // signWith = the key's address works as well.
    let by_address = client
        .sign_raw_payload(
            org.clone(),
            client.current_timestamp(),
            raw_payload(&eth_address, payload, common::HashFunction::Keccak256),
        )
        .await
        .unwrap();
    assert_eq!(by_address.result, signed.result);

    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_with_an_unknown_key_is_not_found() {
    let server = TestServer::start(Backend::Sqlite, "tkrs_sign_unknown")
        .await
        .unwrap();
    let client = root_tk(&server);
    let org = server.root.organization_id.clone();

    for sign_with in [
        "0x000000000000000000000000000000000000dEaD",
        "00000000-0000-4000-8000-000000000000",
    ] {
        let err = client
            .sign_raw_payload(
                org.clone(),
                client.current_timestamp(),
                raw_payload(sign_with, "00", common::HashFunction::Keccak256),
            )
            .await
            .unwrap_err();
        let (status, body) = http_error(err);
        assert_eq!(status, 404, "{sign_with}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let err = client
        .sign_transaction(
            org.clone(),
            client.current_timestamp(),
            SignTransactionIntentV2 {
                sign_with: "0x000000000000000000000000000000000000dEaD".to_string(),
                unsigned_transaction: UNSIGNED_1559.to_string(),
                r#type: common::TransactionType::Ethereum,
                external_signer_pubkey: None,
            },
        )
        .await
        .unwrap_err();
    let (status, body) = http_error(err);
    assert_eq!(status, 404, "{body}");

    server.stop().await.unwrap();
}
