//! End-to-end scenarios of the Turnkey face, each run on SQLite and on PostgreSQL.

use crate::on_both_stores;
use crate::support::*;
use quorate_client::Client;
use quorate_crypto::{keys::ApiKeyPair, ApiKeyCurve};
use quorate_proto as wire;
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::json;

on_both_stores!(
    organization_reads,
    sub_organizations,
    users_and_tags,
    api_keys_of_every_curve,
    key_expiry,
    activities_history_and_idempotency,
    non_root_users_are_limited,
    hash_chain_verifies,
);

async fn organization_reads(backend: Backend) {
    let s = TestServer::start(backend, "org_reads").await.unwrap();
    let c = s.root_client();
    let org = &s.root.organization_id;
    let me = c.whoami(org).await.unwrap();
    assert_eq!(me.organization_id, *org);
    assert_eq!(me.user_id, s.root.user_id);
    assert_eq!(me.username, "root");
    let data: wire::GetOrganizationResponse = c
        .query("get_organization", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(data.organization_data.organization_id, *org);
    assert_eq!(data.organization_data.users.len(), 1);
    assert_eq!(
        data.organization_data.root_quorum.user_ids,
        vec![s.root.user_id.clone()]
    );
    let configs: wire::GetOrganizationConfigsResponse = c
        .query("get_organization_configs", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(configs.configs.quorum.threshold, 1);
    s.stop().await.unwrap();
}

async fn sub_organizations(backend: Backend) {
    let s = TestServer::start(backend, "suborgs").await.unwrap();
    let root = s.root_client();
    let org = s.root.organization_id.clone();
    let sub_key = p256();
    let (sub, sub_root) = create_sub_org(&root, &org, "alpha", &sub_key).await;
    let sub_client = s.client(
        ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &sub_key.private_key_hex()).unwrap(),
    );

    // The sub-organization's own key acts inside it.
    let me = sub_client.whoami(&sub).await.unwrap();
    assert_eq!(
        (
            me.organization_id.as_str(),
            me.user_id.as_str(),
            me.organization_name.as_str()
        ),
        (sub.as_str(), sub_root.as_str(), "alpha")
    );
    let (_, uid) = sub_client.create_user(&sub, "member", None).await.unwrap();
    assert!(uid.is_some());
    // Sub-organizations do not nest.
    let nested = sub_client
        .create_sub_organization(&sub, "nested", &p256().public_key_hex())
        .await
        .unwrap();
    assert_eq!(nested.status, "ACTIVITY_STATUS_FAILED");
    assert!(nested
        .failure
        .as_ref()
        .unwrap()
        .message
        .contains("cannot create sub-organizations"));
    // Asked at the parent, a sub-organization credential answers with its own identity.
    let me = sub_client.whoami(&org).await.unwrap();
    assert_eq!(me.organization_id, sub);
    // The parent reads its sub-organization but cannot change it.
    let configs: wire::GetOrganizationConfigsResponse = root
        .query("get_organization_configs", &json!({"organizationId": sub}))
        .await
        .unwrap();
    assert_eq!(configs.configs.quorum.user_ids, vec![sub_root.clone()]);
    let (status, code, _) = api_error(root.create_user(&sub, "intruder", None).await);
    assert_eq!((status, code.as_str()), (403, "REQUEST_NOT_AUTHORIZED"));
    // A sub-organization cannot read its sibling or its parent's users.
    let (sib, _) = create_sub_org(&root, &org, "beta", &p256()).await;
    let (status, code, _) = api_error(sub_client.list_users(&sib).await);
    assert_eq!((status, code.as_str()), (403, "ORGANIZATION_MISMATCH"));
    let (status, code, _) = api_error(sub_client.list_users(&org).await);
    assert_eq!((status, code.as_str()), (403, "ORGANIZATION_MISMATCH"));

    // The older version the SDK may send is accepted, with its own result key.
    let v7 = root
        .submit(
            "create_sub_organization",
            "ACTIVITY_TYPE_CREATE_SUB_ORGANIZATION_V7",
            &org,
            json!({"subOrganizationName": "gamma", "rootQuorumThreshold": 1, "rootUsers": [user_params("r", json!([]), json!([]))]}),
        )
        .await
        .unwrap();
    assert!(
        v7.result.get("createSubOrganizationResultV7").is_some(),
        "{:?}",
        v7.result
    );
    let gamma = completed(&v7)["subOrganizationId"]
        .as_str()
        .unwrap()
        .to_string();

    // Listing with filters and pagination.
    let list = |body: serde_json::Value| {
        let root = &root;
        async move {
            root.query::<wire::GetSubOrgIdsResponse>("list_suborgs", &body)
                .await
                .unwrap()
                .organization_ids
        }
    };
    assert_eq!(
        list(json!({"organizationId": org})).await,
        vec![sub.clone(), sib.clone(), gamma.clone()]
    );
    assert_eq!(
        list(json!({"organizationId": org, "filterType": "NAME", "filterValue": "beta"})).await,
        vec![sib.clone()]
    );
    assert_eq!(
        list(json!({"organizationId": org, "filterType": "USERNAME", "filterValue": "member"}))
            .await,
        vec![sub.clone()]
    );
    assert_eq!(list(json!({"organizationId": org, "filterType": "PUBLIC_KEY", "filterValue": sub_key.public_key_hex()})).await, vec![sub.clone()]);
    assert_eq!(
        list(json!({"organizationId": org, "paginationOptions": {"limit": "2"}})).await,
        vec![sub.clone(), sib.clone()]
    );
    assert_eq!(
        list(json!({"organizationId": org, "paginationOptions": {"limit": "2", "after": sib}}))
            .await,
        vec![gamma.clone()]
    );
    assert_eq!(list(json!({"organizationId": org, "paginationOptions": {"before": gamma, "after": "", "limit": "10"}})).await, vec![sub.clone(), sib.clone()]);

    // Deleting the sub-organization ends its credentials.
    let del = sub_client
        .submit(
            "delete_sub_organization",
            "ACTIVITY_TYPE_DELETE_SUB_ORGANIZATION",
            &sub,
            json!({"deleteWithoutExport": true}),
        )
        .await
        .unwrap();
    assert_eq!(completed(&del)["subOrganizationUuid"], sub.as_str());
    assert!(sub_client.whoami(&sub).await.is_err());
    assert_eq!(
        list(json!({"organizationId": org})).await,
        vec![sib.clone(), gamma]
    );
    // The root organization is not a sub-organization.
    let a = root
        .submit(
            "delete_sub_organization",
            "ACTIVITY_TYPE_DELETE_SUB_ORGANIZATION",
            &org,
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, "ACTIVITY_STATUS_FAILED");
    s.stop().await.unwrap();
}

async fn users_and_tags(backend: Backend) {
    let s = TestServer::start(backend, "users").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let tag = c
        .submit(
            "create_user_tag",
            "ACTIVITY_TYPE_CREATE_USER_TAG",
            &org,
            json!({"userTagName": "trader", "userIds": []}),
        )
        .await
        .unwrap();
    let tag_id = completed(&tag)["userTagId"].as_str().unwrap().to_string();
    let key = p256();
    let created = c
        .submit(
            "create_users",
            "ACTIVITY_TYPE_CREATE_USERS_V4",
            &org,
            json!({"users": [user_params("alice", json!([{"apiKeyName": "k", "publicKey": key.public_key_hex(), "curveType": "API_KEY_CURVE_P256"}]), json!([tag_id]))]}),
        )
        .await
        .unwrap();
    let alice = completed(&created)["userIds"][0]
        .as_str()
        .unwrap()
        .to_string();
    let user: wire::GetUserResponse = c
        .query("get_user", &json!({"organizationId": org, "userId": alice}))
        .await
        .unwrap();
    assert_eq!(user.user.user_name, "alice");
    assert_eq!(user.user.user_tags, vec![tag_id.clone()]);
    assert_eq!(user.user.api_keys.len(), 1);
    assert_eq!(
        user.user.api_keys[0].credential.credential_type,
        "CREDENTIAL_TYPE_API_KEY_P256"
    );

    let upd = c.submit("update_user", "ACTIVITY_TYPE_UPDATE_USER", &org, json!({"userId": alice, "userName": "alice2", "userEmail": "a@example.com", "userTagIds": []})).await.unwrap();
    completed(&upd);
    let user: wire::GetUserResponse = c
        .query("get_user", &json!({"organizationId": org, "userId": alice}))
        .await
        .unwrap();
    assert_eq!(
        (
            user.user.user_name.as_str(),
            user.user.user_email.as_deref()
        ),
        ("alice2", Some("a@example.com"))
    );
    assert!(user.user.user_tags.is_empty());

    let api_only = c
        .submit(
            "create_api_only_users",
            "ACTIVITY_TYPE_CREATE_API_ONLY_USERS",
            &org,
            json!({"apiOnlyUsers": [{"userName": "bot", "userTags": [], "apiKeys": [{"apiKeyName": "bot", "publicKey": p256().public_key_hex()}]}]}),
        )
        .await
        .unwrap();
    let bot = completed(&api_only)["userIds"][0]
        .as_str()
        .unwrap()
        .to_string();

    let upd_tag = c
        .submit("update_user_tag", "ACTIVITY_TYPE_UPDATE_USER_TAG", &org, json!({"userTagId": tag_id, "newUserTagName": "ops", "addUserIds": [alice, bot], "removeUserIds": []}))
        .await
        .unwrap();
    completed(&upd_tag);
    let tags: wire::ListUserTagsResponse = c
        .query("list_user_tags", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(tags.user_tags.len(), 1);
    assert_eq!(tags.user_tags[0].tag_name, "ops");
    assert_eq!(tags.user_tags[0].tag_type, "TAG_TYPE_USER");
    // A second tag with the same name fails the activity.
    let dup = c
        .submit(
            "create_user_tag",
            "ACTIVITY_TYPE_CREATE_USER_TAG",
            &org,
            json!({"userTagName": "ops", "userIds": []}),
        )
        .await
        .unwrap();
    assert_eq!(dup.status, "ACTIVITY_STATUS_FAILED");
    assert!(dup
        .failure
        .as_ref()
        .unwrap()
        .message
        .contains("already exists"));

    let del_tag = c
        .submit(
            "delete_user_tags",
            "ACTIVITY_TYPE_DELETE_USER_TAGS",
            &org,
            json!({"userTagIds": [tag_id]}),
        )
        .await
        .unwrap();
    let r = completed(&del_tag);
    assert_eq!(r["userIds"].as_array().unwrap().len(), 2);

    assert_eq!(c.list_users(&org).await.unwrap().len(), 3);
    let del = c
        .submit(
            "delete_users",
            "ACTIVITY_TYPE_DELETE_USERS",
            &org,
            json!({"userIds": [alice, bot]}),
        )
        .await
        .unwrap();
    completed(&del);
    let users = c.list_users(&org).await.unwrap();
    assert_eq!(users.len(), 1);
    // A deleted user's key no longer authenticates.
    let (status, code, _) = api_error(s.client(key).whoami(&org).await);
    assert_eq!((status, code.as_str()), (401, "API_KEY_DELETED"));
    // The last root user cannot be deleted.
    let a = c
        .submit(
            "delete_users",
            "ACTIVITY_TYPE_DELETE_USERS",
            &org,
            json!({"userIds": [s.root.user_id]}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, "ACTIVITY_STATUS_FAILED");
    assert!(c.whoami(&org).await.is_ok());
    s.stop().await.unwrap();
}

async fn api_keys_of_every_curve(backend: Backend) {
    let s = TestServer::start(backend, "keys").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let user = s.root.user_id.clone();
    for curve in [
        ApiKeyCurve::P256,
        ApiKeyCurve::Secp256k1,
        ApiKeyCurve::Ed25519,
    ] {
        let key = ApiKeyPair::generate(curve);
        let a = c
            .submit("create_api_keys", "ACTIVITY_TYPE_CREATE_API_KEYS_V2", &org, json!({"userId": user, "apiKeys": [{"apiKeyName": format!("{curve:?}"), "publicKey": key.public_key_hex(), "curveType": curve.as_api_str()}]}))
            .await
            .unwrap();
        let key_id = completed(&a)["apiKeyIds"][0].as_str().unwrap().to_string();
        let k: wire::GetApiKeyResponse = c
            .query(
                "get_api_key",
                &json!({"organizationId": org, "apiKeyId": key_id}),
            )
            .await
            .unwrap();
        assert_eq!(k.api_key.credential.public_key, key.public_key_hex());
        assert_eq!(
            k.api_key.credential.credential_type,
            curve.credential_type()
        );
        // A request stamped with the new key authenticates as the root user.
        let other = s.client(key);
        assert_eq!(other.whoami(&org).await.unwrap().user_id, user);
        let del = c
            .submit(
                "delete_api_keys",
                "ACTIVITY_TYPE_DELETE_API_KEYS",
                &org,
                json!({"userId": user, "apiKeyIds": [key_id]}),
            )
            .await
            .unwrap();
        completed(&del);
        let (status, code, _) = api_error(other.whoami(&org).await);
        assert_eq!(
            (status, code.as_str()),
            (401, "API_KEY_DELETED"),
            "{curve:?}"
        );
    }
    let keys: wire::GetApiKeysResponse = c
        .query(
            "get_api_keys",
            &json!({"organizationId": org, "userId": user}),
        )
        .await
        .unwrap();
    assert_eq!(keys.api_keys.len(), 1);
    // The same public key twice in one organization fails the activity.
    let a = c
        .submit("create_api_keys", "ACTIVITY_TYPE_CREATE_API_KEYS_V2", &org, json!({"userId": user, "apiKeys": [{"apiKeyName": "dup", "publicKey": s.root.key().public_key_hex(), "curveType": "API_KEY_CURVE_P256"}]}))
        .await
        .unwrap();
    assert_eq!(a.status, "ACTIVITY_STATUS_FAILED");
    s.stop().await.unwrap();
}

async fn key_expiry(backend: Backend) {
    let clock = ManualClock::new(1_800_000_000_000);
    let s = TestServer::start_with_clock(backend, "expiry", clock.clone())
        .await
        .unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let key = p256();
    let a = c
        .submit("create_api_keys", "ACTIVITY_TYPE_CREATE_API_KEYS_V2", &org, json!({"userId": s.root.user_id, "apiKeys": [{"apiKeyName": "short", "publicKey": key.public_key_hex(), "curveType": "API_KEY_CURVE_P256", "expirationSeconds": "60"}]}))
        .await
        .unwrap();
    completed(&a);
    let short = s.client(key);
    assert!(short.whoami(&org).await.is_ok());
    clock.advance(59_999);
    assert!(short.whoami(&org).await.is_ok());
    clock.advance(1);
    let (status, code, _) = api_error(short.whoami(&org).await);
    assert_eq!((status, code.as_str()), (401, "API_KEY_EXPIRED"));
    s.stop().await.unwrap();
}

async fn activities_history_and_idempotency(backend: Backend) {
    let s = TestServer::start(backend, "activities").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (a, _) = c.create_user(&org, &format!("u{i}"), None).await.unwrap();
        ids.push(a.id);
    }
    // Identical bytes → the same activity, executed once.
    let body = Client::activity_body(
        "ACTIVITY_TYPE_CREATE_USERS_V4",
        &org,
        json!({"users": [user_params("once", json!([]), json!([]))]}),
    );
    let first = c.submit_body("create_users", body.clone()).await.unwrap();
    let again = c.submit_body("create_users", body.clone()).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(
        first.fingerprint,
        format!("sha256:{}", quorate_crypto::sha256_hex(&body))
    );
    assert_eq!(
        c.list_users(&org)
            .await
            .unwrap()
            .iter()
            .filter(|u| u.user_name == "once")
            .count(),
        1
    );
    ids.push(first.id.clone());
    // A failed activity (unknown tag) is recorded with its failure.
    let failed = c
        .submit("create_users", "ACTIVITY_TYPE_CREATE_USERS_V4", &org, json!({"users": [user_params("x", json!([]), json!(["7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f"]))]}))
        .await
        .unwrap();
    assert_eq!(failed.status, "ACTIVITY_STATUS_FAILED");
    assert_eq!(failed.failure.as_ref().unwrap().code, 5);
    assert!(c
        .list_users(&org)
        .await
        .unwrap()
        .iter()
        .all(|u| u.user_name != "x"));

    let got = c.get_activity(&org, &ids[2]).await.unwrap();
    assert_eq!(got.id, ids[2]);
    assert_eq!(got.activity_type, "ACTIVITY_TYPE_CREATE_USERS_V4");
    assert!(got.intent.get("createUsersIntentV4").is_some());

    let list = |body: serde_json::Value| {
        let c = &c;
        async move {
            c.query::<wire::GetActivitiesResponse>("list_activities", &body)
                .await
                .unwrap()
                .activities
        }
    };
    let all = list(json!({"organizationId": org, "paginationOptions": {"limit": "100"}})).await;
    assert_eq!(all.len(), 7);
    assert_eq!(all[0].id, failed.id, "newest first");
    let done = list(json!({"organizationId": org, "filterByStatus": ["ACTIVITY_STATUS_COMPLETED"], "paginationOptions": {"limit": "100"}})).await;
    assert_eq!(
        done.iter().map(|a| a.id.clone()).rev().collect::<Vec<_>>(),
        ids
    );
    let none =
        list(json!({"organizationId": org, "filterByType": ["ACTIVITY_TYPE_CREATE_POLICY_V3"]}))
            .await;
    assert!(none.is_empty());
    let page1 = list(json!({"organizationId": org, "filterByStatus": ["ACTIVITY_STATUS_COMPLETED"], "paginationOptions": {"limit": "2"}})).await;
    let page2 = list(json!({"organizationId": org, "filterByStatus": ["ACTIVITY_STATUS_COMPLETED"], "paginationOptions": {"limit": "2", "after": page1[1].id}})).await;
    assert_eq!(
        page1
            .iter()
            .chain(&page2)
            .map(|a| a.id.clone())
            .collect::<Vec<_>>(),
        ids.iter().rev().take(4).cloned().collect::<Vec<_>>()
    );
    let back = list(json!({"organizationId": org, "filterByStatus": ["ACTIVITY_STATUS_COMPLETED"], "paginationOptions": {"limit": "10", "before": page2[0].id}})).await;
    assert_eq!(
        back.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        page1.iter().map(|a| a.id.clone()).collect::<Vec<_>>()
    );
    s.stop().await.unwrap();
}

async fn non_root_users_are_limited(backend: Backend) {
    let s = TestServer::start(backend, "nonroot").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let key = p256();
    let bob = create_user_with_key(&c, &org, "bob", &key).await;
    let bob_client = s.client(key);
    // Reads are allowed; changing others is denied and the denial is recorded.
    assert_eq!(bob_client.whoami(&org).await.unwrap().user_id, bob);
    let eve = Client::activity_body(
        "ACTIVITY_TYPE_CREATE_USERS_V4",
        &org,
        json!({"users": [user_params("eve", json!([]), json!([]))]}),
    );
    let denied = bob_client.submit_body("create_users", eve.clone()).await;
    let (status, code, message) = api_error(denied);
    assert_eq!((status, code.as_str()), (403, "REQUEST_NOT_AUTHORIZED"));
    assert_eq!(
        message,
        "You don't have sufficient permissions to take this action"
    );
    // Resubmitting the same bytes returns the same denial, not a 200.
    let (status, code, _) = api_error(bob_client.submit_body("create_users", eve).await);
    assert_eq!((status, code.as_str()), (403, "REQUEST_NOT_AUTHORIZED"));
    // Bob may rename himself but not change the email that identifies him.
    let renamed = bob_client
        .submit(
            "update_user",
            "ACTIVITY_TYPE_UPDATE_USER",
            &org,
            json!({"userId": bob, "userName": "robert"}),
        )
        .await
        .unwrap();
    completed(&renamed);
    let (status, _, _) = api_error(
        bob_client
            .submit(
                "update_user",
                "ACTIVITY_TYPE_UPDATE_USER",
                &org,
                json!({"userId": bob, "userEmail": "ceo@example.com"}),
            )
            .await,
    );
    assert_eq!(status, 403);
    let failed = c
        .query::<wire::GetActivitiesResponse>(
            "list_activities",
            &json!({"organizationId": org, "filterByStatus": ["ACTIVITY_STATUS_FAILED"]}),
        )
        .await
        .unwrap();
    assert_eq!(failed.activities.len(), 2, "both denials are recorded");
    assert_eq!(
        failed.activities[0].failure.as_ref().unwrap().message,
        "No policies evaluated to outcome: Allow"
    );
    // Managing one's own credentials is allowed.
    let own = p256();
    let a = bob_client
        .submit("create_api_keys", "ACTIVITY_TYPE_CREATE_API_KEYS_V2", &org, json!({"userId": bob, "apiKeys": [{"apiKeyName": "second", "publicKey": own.public_key_hex(), "curveType": "API_KEY_CURVE_P256"}]}))
        .await
        .unwrap();
    completed(&a);
    let (status, _, _) = api_error(
        bob_client
            .submit("create_api_keys", "ACTIVITY_TYPE_CREATE_API_KEYS_V2", &org, json!({"userId": s.root.user_id, "apiKeys": [{"apiKeyName": "x", "publicKey": p256().public_key_hex(), "curveType": "API_KEY_CURVE_P256"}]}))
            .await,
    );
    assert_eq!(status, 403);
    s.stop().await.unwrap();
}

async fn hash_chain_verifies(backend: Backend) {
    let s = TestServer::start(backend, "chain").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let (sub, _) = create_sub_org(&c, &org, "s", &p256()).await;
    for i in 0..5 {
        c.create_user(&org, &format!("u{i}"), None).await.unwrap();
    }
    let report = s.app.verify_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.organizations, 2);
    assert_eq!(report.activities, 6);
    assert_eq!(report.entries, 6);
    let head = s.app.store().chain_head(&org).await.unwrap();
    assert_eq!(head.seq, 6);
    assert_eq!(s.app.store().chain_head(&sub).await.unwrap().seq, 0);
    s.stop().await.unwrap();
}
