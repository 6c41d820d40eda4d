//! Policies (stored and validated when written), organization features and the root quorum,
//! through the HTTP server on both stores.

use crate::on_both_stores;
use crate::support::*;
use quorate_proto as wire;
use quorate_proto::policy as pw;
use quorate_testkit::{Backend, TestServer};
use serde_json::json;

on_both_stores!(
    votes_expire,
    policy_crud,
    features_and_root_quorum,
    racing_final_votes_execute_once
);

async fn policy_crud(backend: Backend) {
    let s = TestServer::start(backend, "policy_crud").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let a = c
        .submit(
            "create_policy",
            "ACTIVITY_TYPE_CREATE_POLICY_V3",
            &org,
            json!({
            "policyName": "two approvers", "effect": "EFFECT_ALLOW",
            "condition": "activity.resource == 'WALLET' && activity.action == 'CREATE'",
            "consensus": "approvers.filter(user, user.tags.contains('admin')).count() >= 2",
            "notes": "n"}),
        )
        .await
        .unwrap();
    let id = completed(&a)["policyId"].as_str().unwrap().to_string();
    let got: pw::GetPolicyResponse = c
        .query(
            "get_policy",
            &json!({"organizationId": org, "policyId": id}),
        )
        .await
        .unwrap();
    assert_eq!(got.policy.effect, "EFFECT_ALLOW");
    assert!(got.policy.consensus.contains("approvers.filter"));

    // Invalid expressions are refused with their position, and nothing is stored.
    for (condition, needle) in [
        ("activity.type == \"X\"", "quote"),
        ("activity.nope == 'X'", "nope"),
        ("activity.type ==", ""),
    ] {
        let r = c
            .submit("create_policy", "ACTIVITY_TYPE_CREATE_POLICY_V3", &org, json!({"policyName": "bad", "effect": "EFFECT_DENY", "condition": condition, "notes": ""}))
            .await;
        let (status, _, message) = api_error(r);
        assert_eq!(status, 400, "{condition}: {message}");
        assert!(message.contains("parameters.condition"), "{message}");
        assert!(
            message.to_lowercase().contains(needle),
            "{needle}: {message}"
        );
    }
    let many = c
        .submit("create_policies", "ACTIVITY_TYPE_CREATE_POLICIES", &org, json!({"policies": [
            {"policyName": "deny exports", "effect": "EFFECT_DENY", "condition": "activity.action == 'EXPORT'", "notes": ""},
            {"policyName": "allow all", "effect": "EFFECT_ALLOW", "notes": ""}]}))
        .await
        .unwrap();
    let ids = completed(&many)["policyIds"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2);
    let updated = c
        .submit(
            "update_policy",
            "ACTIVITY_TYPE_UPDATE_POLICY_V2",
            &org,
            json!({"policyId": id, "policyName": "renamed", "policyEffect": "EFFECT_DENY"}),
        )
        .await
        .unwrap();
    assert!(updated.result.get("updatePolicyResultV2").is_some());
    let list: pw::GetPoliciesResponse = c
        .query("list_policies", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(list.policies.len(), 3);
    assert_eq!(
        (
            list.policies[0].policy_name.as_str(),
            list.policies[0].effect.as_str()
        ),
        ("renamed", "EFFECT_DENY")
    );
    completed(
        &c.submit(
            "delete_policy",
            "ACTIVITY_TYPE_DELETE_POLICY",
            &org,
            json!({"policyId": id}),
        )
        .await
        .unwrap(),
    );
    completed(
        &c.submit(
            "delete_policies",
            "ACTIVITY_TYPE_DELETE_POLICIES",
            &org,
            json!({"policyIds": ids}),
        )
        .await
        .unwrap(),
    );
    let list: pw::GetPoliciesResponse = c
        .query("list_policies", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert!(list.policies.is_empty());
    s.stop().await.unwrap();
}

async fn features_and_root_quorum(backend: Backend) {
    let s = TestServer::start(backend, "features_quorum").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let set = c
        .submit(
            "set_organization_feature",
            "ACTIVITY_TYPE_SET_ORGANIZATION_FEATURE",
            &org,
            json!({"name": "FEATURE_NAME_WEBAUTHN_ORIGINS", "value": "https://app.example"}),
        )
        .await
        .unwrap();
    assert_eq!(
        completed(&set)["features"][0]["value"],
        json!("https://app.example")
    );
    let configs: wire::GetOrganizationConfigsResponse = c
        .query("get_organization_configs", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(
        configs.configs.features[0].name,
        "FEATURE_NAME_WEBAUTHN_ORIGINS"
    );
    let bad = c
        .submit(
            "set_organization_feature",
            "ACTIVITY_TYPE_SET_ORGANIZATION_FEATURE",
            &org,
            json!({"name": "FEATURE_NAME_NOPE", "value": ""}),
        )
        .await;
    assert_eq!(api_error(bad).0, 400);
    completed(
        &c.submit(
            "remove_organization_feature",
            "ACTIVITY_TYPE_REMOVE_ORGANIZATION_FEATURE",
            &org,
            json!({"name": "FEATURE_NAME_WEBAUTHN_ORIGINS"}),
        )
        .await
        .unwrap(),
    );
    let configs: wire::GetOrganizationConfigsResponse = c
        .query("get_organization_configs", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert!(configs.configs.features.is_empty());

    // The root quorum can never lock the organization out.
    let second_key = p256();
    let second = create_user_with_key(&c, &org, "second", &second_key).await;
    let outsider_key = p256();
    create_user_with_key(&c, &org, "outsider", &outsider_key).await;
    for (threshold, users) in [
        (0, json!([s.root.user_id])),
        (2, json!([s.root.user_id])),
        (1, json!([])),
    ] {
        let r = c
            .submit(
                "update_root_quorum",
                "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
                &org,
                json!({"threshold": threshold, "userIds": users}),
            )
            .await;
        assert_eq!(api_error(r).0, 400, "{threshold} {users}");
    }
    let unknown = c
        .submit(
            "update_root_quorum",
            "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
            &org,
            json!({"threshold": 1, "userIds": ["7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f"]}),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status, "ACTIVITY_STATUS_FAILED");
    // 2 of 2: the root user's next activity waits for consensus.
    completed(
        &c.submit(
            "update_root_quorum",
            "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
            &org,
            json!({"threshold": 2, "userIds": [s.root.user_id, second]}),
        )
        .await
        .unwrap(),
    );
    let configs: wire::GetOrganizationConfigsResponse = c
        .query("get_organization_configs", &json!({"organizationId": org}))
        .await
        .unwrap();
    assert_eq!(configs.configs.quorum.threshold, 2);
    assert_eq!(configs.configs.quorum.user_ids.len(), 2);
    let waiting = c.create_user(&org, "third", None).await.unwrap().0;
    assert_eq!(waiting.status, "ACTIVITY_STATUS_CONSENSUS_NEEDED");
    assert_eq!(waiting.votes.len(), 1, "the initiator's approval");
    // The second root user approves by fingerprint: the activity executes and is answered.
    let second_client = s.client(
        quorate_crypto::keys::ApiKeyPair::from_private_hex(
            quorate_crypto::ApiKeyCurve::P256,
            &second_key.private_key_hex(),
        )
        .unwrap(),
    );
    let approve = json!({"fingerprint": waiting.fingerprint});
    let done = second_client
        .submit(
            "approve_activity",
            "ACTIVITY_TYPE_APPROVE_ACTIVITY",
            &org,
            approve.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        (done.id.as_str(), done.status.as_str()),
        (waiting.id.as_str(), "ACTIVITY_STATUS_COMPLETED")
    );
    assert_eq!(done.votes.len(), 2);
    assert!(done.result["createUsersResult"]["userIds"][0].is_string());
    let users = c.list_users(&org).await.unwrap();
    assert_eq!(users.iter().filter(|u| u.user_name == "third").count(), 1);
    // Voting again changes nothing; a finished activity takes no new votes.
    let again = second_client
        .submit(
            "approve_activity",
            "ACTIVITY_TYPE_APPROVE_ACTIVITY",
            &org,
            approve,
        )
        .await
        .unwrap();
    assert_eq!(again.status, "ACTIVITY_STATUS_COMPLETED");
    // A rejection ends the next one.
    let next = c.create_user(&org, "fourth", None).await.unwrap().0;
    let rejected = second_client
        .submit(
            "reject_activity",
            "ACTIVITY_TYPE_REJECT_ACTIVITY",
            &org,
            json!({"fingerprint": next.fingerprint}),
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, "ACTIVITY_STATUS_REJECTED");
    let late = c
        .submit(
            "approve_activity",
            "ACTIVITY_TYPE_APPROVE_ACTIVITY",
            &org,
            json!({"fingerprint": next.fingerprint}),
        )
        .await;
    // The initiator already voted: the answer is the (rejected) activity.
    assert_eq!(late.unwrap().status, "ACTIVITY_STATUS_REJECTED");
    // Unknown fingerprints are 404.
    let pending = c.create_user(&org, "fifth", None).await.unwrap().0;
    let outsider = s.client(
        quorate_crypto::keys::ApiKeyPair::from_private_hex(
            quorate_crypto::ApiKeyCurve::P256,
            &outsider_key.private_key_hex(),
        )
        .unwrap(),
    );
    // An approval from outside the quorum is recorded but decides nothing; a rejection from
    // outside the quorum is refused.
    let counted = outsider
        .submit(
            "approve_activity",
            "ACTIVITY_TYPE_APPROVE_ACTIVITY",
            &org,
            json!({"fingerprint": pending.fingerprint}),
        )
        .await
        .unwrap();
    assert_eq!(
        (counted.status.as_str(), counted.votes.len()),
        ("ACTIVITY_STATUS_CONSENSUS_NEEDED", 2)
    );
    let other = c.create_user(&org, "sixth", None).await.unwrap().0;
    let denied = outsider
        .submit(
            "reject_activity",
            "ACTIVITY_TYPE_REJECT_ACTIVITY",
            &org,
            json!({"fingerprint": other.fingerprint}),
        )
        .await;
    assert_eq!(api_error(denied).0, 403);
    let unknown = second_client
        .submit(
            "approve_activity",
            "ACTIVITY_TYPE_APPROVE_ACTIVITY",
            &org,
            json!({"fingerprint": "sha256:00"}),
        )
        .await;
    assert_eq!(api_error(unknown).0, 404);
    s.stop().await.unwrap();
}

async fn racing_final_votes_execute_once(backend: Backend) {
    let s = TestServer::start(backend, "racing_votes").await.unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let (k2, k3) = (p256(), p256());
    let u2 = create_user_with_key(&c, &org, "r2", &k2).await;
    let u3 = create_user_with_key(&c, &org, "r3", &k3).await;
    completed(
        &c.submit(
            "update_root_quorum",
            "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
            &org,
            json!({"threshold": 2, "userIds": [s.root.user_id, u2, u3]}),
        )
        .await
        .unwrap(),
    );
    for round in 0..5 {
        let pending = c
            .create_user(&org, &format!("raced-{round}"), None)
            .await
            .unwrap()
            .0;
        assert_eq!(pending.status, "ACTIVITY_STATUS_CONSENSUS_NEEDED");
        let body = json!({"fingerprint": pending.fingerprint});
        let (a2, a3) = (
            s.client(
                quorate_crypto::keys::ApiKeyPair::from_private_hex(
                    quorate_crypto::ApiKeyCurve::P256,
                    &k2.private_key_hex(),
                )
                .unwrap(),
            ),
            s.client(
                quorate_crypto::keys::ApiKeyPair::from_private_hex(
                    quorate_crypto::ApiKeyCurve::P256,
                    &k3.private_key_hex(),
                )
                .unwrap(),
            ),
        );
        let (b2, b3) = (body.clone(), body);
        let org2 = org.clone();
        let org3 = org.clone();
        let (r2, r3) = tokio::join!(
            async move {
                a2.submit(
                    "approve_activity",
                    "ACTIVITY_TYPE_APPROVE_ACTIVITY",
                    &org2,
                    b2,
                )
                .await
            },
            async move {
                a3.submit(
                    "approve_activity",
                    "ACTIVITY_TYPE_APPROVE_ACTIVITY",
                    &org3,
                    b3,
                )
                .await
            },
        );
        // One vote decides; the other finds it decided (400) or already completed.
        let completed_answers = [&r2, &r3]
            .iter()
            .filter(|r| matches!(r, Ok(a) if a.status == "ACTIVITY_STATUS_COMPLETED"))
            .count();
        assert!(completed_answers >= 1, "{r2:?} {r3:?}");
        let users = c.list_users(&org).await.unwrap();
        assert_eq!(
            users
                .iter()
                .filter(|u| u.user_name == format!("raced-{round}"))
                .count(),
            1
        );
    }
    s.stop().await.unwrap();
}

mod decisions {
    use super::*;
    use quorate_client::Client;
    use quorate_crypto::keys::ApiKeyPair;
    use quorate_crypto::ApiKeyCurve;

    on_both_stores!(policies_decide_for_non_root_users);

    fn client_of(s: &TestServer, key: &ApiKeyPair) -> Client {
        s.client(ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &key.private_key_hex()).unwrap())
    }

    async fn policy(
        c: &Client,
        org: &str,
        name: &str,
        effect: &str,
        condition: &str,
        consensus: &str,
    ) -> String {
        let a = c
            .submit("create_policy", "ACTIVITY_TYPE_CREATE_POLICY_V3", org, json!({"policyName": name, "effect": effect, "condition": condition, "consensus": consensus, "notes": ""}))
            .await
            .unwrap();
        completed(&a)["policyId"].as_str().unwrap().to_string()
    }

    async fn policies_decide_for_non_root_users(backend: Backend) {
        let s = TestServer::start(backend, "policy_decisions")
            .await
            .unwrap();
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
        let tag = completed(&tag)["userTagId"].as_str().unwrap().to_string();
        let (ka, kb) = (p256(), p256());
        let alice = create_user_with_key(&c, &org, "alice", &ka).await;
        let bob = create_user_with_key(&c, &org, "bob", &kb).await;
        for u in [&alice, &bob] {
            completed(
                &c.submit(
                    "update_user",
                    "ACTIVITY_TYPE_UPDATE_USER",
                    &org,
                    json!({"userId": u, "userTagIds": [tag]}),
                )
                .await
                .unwrap(),
            );
        }
        let (a, b) = (client_of(&s, &ka), client_of(&s, &kb));
        let wallet = json!({"walletName": "alice's", "accounts": [{"curve": "CURVE_SECP256K1", "pathFormat": "PATH_FORMAT_BIP32", "path": "m/44'/60'/0'/0/0", "addressFormat": "ADDRESS_FORMAT_ETHEREUM"}]});

        // Nothing allows it yet: implicit deny.
        let denied = a
            .submit(
                "create_wallet",
                "ACTIVITY_TYPE_CREATE_WALLET",
                &org,
                wallet.clone(),
            )
            .await;
        assert_eq!(api_error(denied).0, 403);

        // An allow naming alice.
        policy(
            &c,
            &org,
            "alice creates wallets",
            "EFFECT_ALLOW",
            "activity.resource == 'WALLET' && activity.action == 'CREATE'",
            &format!("approvers.any(user, user.id == '{alice}')"),
        )
        .await;
        let created = a
            .submit("create_wallet", "ACTIVITY_TYPE_CREATE_WALLET", &org, wallet)
            .await
            .unwrap();
        let address = completed(&created)["addresses"][0]
            .as_str()
            .unwrap()
            .to_string();

        // Two traders must approve signing: alice's request waits; bob's approval signs.
        policy(
            &c,
            &org,
            "two traders sign",
            "EFFECT_ALLOW",
            "activity.type == 'ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2'",
            &format!("approvers.filter(user, user.tags.contains('{tag}')).count() >= 2"),
        )
        .await;
        let sign = json!({"signWith": address, "payload": "hello", "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": "HASH_FUNCTION_KECCAK256"});
        let waiting = a
            .submit(
                "sign_raw_payload",
                "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
                &org,
                sign,
            )
            .await
            .unwrap();
        assert_eq!(waiting.status, "ACTIVITY_STATUS_CONSENSUS_NEEDED");
        let signed = b
            .submit(
                "approve_activity",
                "ACTIVITY_TYPE_APPROVE_ACTIVITY",
                &org,
                json!({"fingerprint": waiting.fingerprint}),
            )
            .await
            .unwrap();
        assert_eq!(signed.status, "ACTIVITY_STATUS_COMPLETED");
        // Explain: one evaluation at submit (consensus pending), one at bob's vote (allowed).
        let explained: pw::GetPolicyEvaluationsResponse = c
            .query(
                "get_policy_evaluations",
                &json!({"organizationId": org, "activityId": signed.id}),
            )
            .await
            .unwrap();
        assert_eq!(explained.policy_evaluations.len(), 2, "{explained:?}");
        // The first evaluation is against the initiator's stored approval.
        assert_eq!(
            explained.policy_evaluations[0]["voteId"].as_str(),
            Some(waiting.votes[0].id.as_str())
        );
        let outcomes = |i: usize| -> Vec<String> {
            explained.policy_evaluations[i]["policyEvaluations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["outcome"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(
            outcomes(0).contains(&"OUTCOME_REQUIRES_CONSENSUS".to_string()),
            "{:?}",
            outcomes(0)
        );
        assert!(
            outcomes(1).contains(&"OUTCOME_ALLOW".to_string()),
            "{:?}",
            outcomes(1)
        );
        assert_eq!(
            signed.result["signRawPayloadResult"]["r"]
                .as_str()
                .unwrap()
                .len(),
            64
        );

        // Deny beats allow, and names the denying policy.
        policy(
            &c,
            &org,
            "alice exports",
            "EFFECT_ALLOW",
            "activity.action == 'EXPORT'",
            &format!("approvers.any(user, user.id == '{alice}')"),
        )
        .await;
        let deny = policy(
            &c,
            &org,
            "nobody exports",
            "EFFECT_DENY",
            "activity.action == 'EXPORT'",
            "",
        )
        .await;
        let target =
            quorate_crypto::hpke_bundle::ImportKey::generate().public_key_uncompressed_hex();
        let export = a
            .submit(
                "export_wallet_account",
                "ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT",
                &org,
                json!({"address": address, "targetPublicKey": target}),
            )
            .await;
        match export {
            Err(quorate_client::ClientError::Api { status, body }) => {
                assert_eq!(status, 403);
                let detail = body
                    .details
                    .iter()
                    .filter_map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join(" ");
                assert!(detail.contains(&deny), "{detail}");
            }
            other => panic!("expected a denial, got {other:?}"),
        }
        s.stop().await.unwrap();
    }
}

async fn votes_expire(backend: Backend) {
    let clock = quorate_testkit::ManualClock::new(1_800_000_000_000);
    let s = TestServer::start_with_clock(backend, "votes_expire", clock.clone())
        .await
        .unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let k2 = p256();
    let u2 = create_user_with_key(&c, &org, "r2", &k2).await;
    completed(
        &c.submit(
            "update_root_quorum",
            "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
            &org,
            json!({"threshold": 2, "userIds": [s.root.user_id, u2]}),
        )
        .await
        .unwrap(),
    );
    let pending = c.create_user(&org, "late", None).await.unwrap().0;
    clock.advance(24 * 60 * 60 * 1000 + 1);
    let second = s.client(
        quorate_crypto::keys::ApiKeyPair::from_private_hex(
            quorate_crypto::ApiKeyCurve::P256,
            &k2.private_key_hex(),
        )
        .unwrap(),
    );
    let late = second
        .submit(
            "approve_activity",
            "ACTIVITY_TYPE_APPROVE_ACTIVITY",
            &org,
            json!({"fingerprint": pending.fingerprint}),
        )
        .await;
    let (status, _, message) = api_error(late);
    assert_eq!(status, 400);
    assert!(message.contains("expired"), "{message}");
    s.stop().await.unwrap();
}
