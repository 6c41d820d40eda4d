//! quorate driven by Turnkey's official Rust client, `turnkey_client` 0.17.1, unmodified:
//! every request is stamped by `turnkey_api_key_stamper` and every response must decode into
//! the crate's generated types (WIRE.md §10b).

// The helpers below are test code too; clippy's `allow-*-in-tests` only covers test fns.
#![allow(clippy::unwrap_used, clippy::panic)]

use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::ApiKeyCurve as QuorateCurve;
use quorate_testkit::{Backend, TestServer};
use serde_json::Value;
use turnkey_api_key_stamper::Stamp;
use turnkey_client::generated::external::options::v1::Pagination;
use turnkey_client::generated::immutable::activity::v1::{intent, result};
use turnkey_client::generated::immutable::common::v1::ApiKeyCurve;
use turnkey_client::generated::{
    ActivityStatus, ActivityType, ApiKeyParamsV2, CreateApiKeysIntentV2,
    CreateSubOrganizationIntentV8, CreateUsersIntentV4, DeleteApiKeysIntent, DeleteUsersIntent,
    GetActivitiesRequest, GetActivityRequest, GetApiKeysRequest, GetOrganizationConfigsRequest,
    GetUserRequest, GetUsersRequest, GetWhoamiRequest, RootUserParamsV5, UserParamsV4,
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
