//! `/v1` end-to-end tests: members (roles, role changes, the last owner, removal through the
//! engine) and invites (create, list, revoke, expiry on a controllable clock, and acceptance by
//! a user of another organization with the invited email).

use crate::on_both_stores;
use crate::support::*;
use quorate_client::Client;
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::{json, Value};

on_both_stores!(
    members_and_roles,
    removal,
    invites,
    invite_expiry,
    accept_flow
);

const FOREIGN: &str = "7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f";

/// Creates users (name, email) in `org` through the Turnkey face; returns their ids.
async fn create_users(client: &Client, org: &str, users: &[(&str, Option<&str>)]) -> Vec<String> {
    let params: Vec<Value> = users
        .iter()
        .map(|(name, email)| {
            let mut u = user_params(name, json!([]), json!([]));
            if let Some(e) = email {
                u["userEmail"] = json!(e);
            }
            u
        })
        .collect();
    let a = client
        .submit(
            "create_users",
            "ACTIVITY_TYPE_CREATE_USERS_V4",
            org,
            json!({ "users": params }),
        )
        .await
        .unwrap();
    completed(&a)["userIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn roles(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn assert_field(r: &quorate_testkit::v1::V1Answer, field: &str) {
    assert_eq!(
        (r.status, r.code()),
        (422, "validation_failed"),
        "{:?}",
        r.body
    );
    let msg = r.body["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("`{field}")), "{field}: {msg}");
}

async fn members_and_roles(backend: Backend) {
    let s = TestServer::start(backend, "v1_members").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let root_user = s.root.user_id.clone();
    let ids = create_users(
        &s.root_client(),
        &org,
        &[
            ("bob", Some("bob@example.com")),
            ("carol", None),
            ("dave", None),
        ],
    )
    .await;
    let (bob, carol, dave) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let base = format!("/v1/organizations/{org}/members");

    // The root user is an owner, everyone else a member; both paths answer the same.
    let l = root.get(&base).await;
    assert_eq!(l.status, 200, "{:?}", l.body);
    // Oldest first (users made by one activity share a creation time: then by id).
    let mut order = vec![root_user.clone()];
    let mut same_time = vec![bob.clone(), carol.clone(), dave.clone()];
    same_time.sort();
    order.extend(same_time);
    let expected: Vec<(String, String)> = order
        .iter()
        .map(|u| {
            (
                u.clone(),
                if *u == root_user { "owner" } else { "member" }.to_string(),
            )
        })
        .collect();
    assert_eq!(roles(l.data()), expected);
    let first = &l.data()[0];
    let bob_at = order.iter().position(|u| *u == bob).unwrap();
    assert_eq!(first["id"], json!(root_user));
    assert_eq!(first["object"], json!("member"));
    assert_eq!(first["organization_id"], json!(org));
    assert_eq!(first["is_root_user"], json!(true));
    assert_eq!(first["email"], json!(null));
    assert_eq!(l.data()[bob_at]["email"], json!("bob@example.com"));
    assert_eq!(l.data()[bob_at]["is_root_user"], json!(false));
    let alias = root.get(&format!("/v1/orgs/{org}/members")).await;
    assert_eq!((alias.status, alias.data()), (200, l.data()));

    // Pagination walks every member once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}?limit=3&cursor={c}"),
            None => format!("{base}?limit=3"),
        };
        let p = root.get(&path).await;
        assert_eq!(p.status, 200, "{:?}", p.body);
        seen.extend(roles(p.data()).into_iter().map(|(u, _)| u));
        match p.body["pagination"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, order);

    // The owner makes bob an admin; the role filter sees it.
    let r = root
        .patch(&format!("{base}/{bob}"), json!({"role": "admin"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.data()["role"].as_str(), r.data()["user_id"].as_str()),
        (Some("admin"), Some(bob.as_str()))
    );
    let admins = root.get(&format!("{base}?role=admin")).await;
    assert_eq!(
        roles(admins.data()),
        vec![(bob.clone(), "admin".to_string())]
    );
    let owners = root.get(&format!("{base}?role=owner")).await;
    assert_eq!(
        roles(owners.data()),
        vec![(root_user.clone(), "owner".to_string())]
    );

    // The last owner can be neither demoted nor removed.
    let r = root
        .patch(&format!("{base}/{root_user}"), json!({"role": "admin"}))
        .await;
    assert_eq!((r.status, r.code()), (409, "last_owner"), "{:?}", r.body);
    let r = root.delete(&format!("{base}/{root_user}")).await;
    assert_eq!((r.status, r.code()), (409, "last_owner"), "{:?}", r.body);

    // An admin changes members and admins, not owners.
    let as_bob = key_for(&s, &org, &bob).await;
    let r = as_bob
        .patch(&format!("{base}/{carol}"), json!({"role": "admin"}))
        .await;
    assert_eq!(
        (r.status, r.data()["role"].as_str()),
        (200, Some("admin")),
        "{:?}",
        r.body
    );
    let r = as_bob
        .patch(&format!("{base}/{carol}"), json!({"role": "member"}))
        .await;
    assert_eq!(
        (r.status, r.data()["role"].as_str()),
        (200, Some("member")),
        "{:?}",
        r.body
    );
    let r = as_bob
        .patch(&format!("{base}/{dave}"), json!({"role": "owner"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "role_required"), "{:?}", r.body);
    let r = as_bob
        .patch(&format!("{base}/{root_user}"), json!({"role": "member"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "role_required"), "{:?}", r.body);
    // A member changes nothing.
    let as_carol = key_for(&s, &org, &carol).await;
    let r = as_carol
        .patch(&format!("{base}/{dave}"), json!({"role": "admin"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "role_required"), "{:?}", r.body);
    let r = as_carol.delete(&format!("{base}/{dave}")).await;
    assert_eq!((r.status, r.code()), (403, "role_required"), "{:?}", r.body);

    // With a second owner, the first may step down (and then no longer grants owner).
    let r = root
        .patch(&format!("{base}/{dave}"), json!({"role": "owner"}))
        .await;
    assert_eq!(
        (r.status, r.data()["role"].as_str()),
        (200, Some("owner")),
        "{:?}",
        r.body
    );
    let r = root
        .patch(&format!("{base}/{root_user}"), json!({"role": "admin"}))
        .await;
    assert_eq!(
        (r.status, r.data()["role"].as_str()),
        (200, Some("admin")),
        "{:?}",
        r.body
    );
    assert_eq!(
        r.data()["is_root_user"],
        json!(true),
        "roles leave the root quorum alone"
    );
    let r = root
        .patch(&format!("{base}/{carol}"), json!({"role": "owner"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "role_required"), "{:?}", r.body);
    // dave, now the only owner, is the last owner.
    let as_dave = key_for(&s, &org, &dave).await;
    let r = as_dave
        .patch(&format!("{base}/{dave}"), json!({"role": "member"}))
        .await;
    assert_eq!((r.status, r.code()), (409, "last_owner"), "{:?}", r.body);
    let r = as_dave
        .patch(&format!("{base}/{root_user}"), json!({"role": "owner"}))
        .await;
    assert_eq!(
        (r.status, r.data()["role"].as_str()),
        (200, Some("owner")),
        "{:?}",
        r.body
    );

    // Bad input names the field.
    assert_field(
        &root
            .patch(&format!("{base}/{carol}"), json!({"role": "boss"}))
            .await,
        "role",
    );
    assert_field(
        &root.patch(&format!("{base}/{carol}"), json!({})).await,
        "role",
    );
    assert_field(
        &root
            .patch(&format!("{base}/{carol}"), json!({"role": "admin", "x": 1}))
            .await,
        "x",
    );
    assert_field(&root.get(&format!("{base}?role=boss")).await, "role");
    assert_field(&root.get(&format!("{base}?limit=0")).await, "limit");
    assert_field(&root.get(&format!("{base}?cursor=zzz")).await, "cursor");
    let r = root
        .patch(&format!("{base}/{carol}"), json!(["admin"]))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_request"));
    // Unknown members and organizations out of reach are not found.
    let r = root
        .patch(&format!("{base}/{FOREIGN}"), json!({"role": "admin"}))
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = root.delete(&format!("{base}/{FOREIGN}")).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let foreign = root
        .get(&format!("/v1/organizations/{FOREIGN}/members"))
        .await;
    let garbage = root.get("/v1/organizations/not-an-id/members").await;
    assert_eq!((foreign.status, foreign.code()), (404, "not_found"));
    assert_eq!(foreign.body["error"], garbage.body["error"]);
    let r = root
        .patch(
            &format!("/v1/orgs/{org}/members/{carol}"),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 404, "the alias serves the list only");

    // A Turnkey-created sub-organization: its parent reads its members, changes nothing.
    let (sub, sub_root) = create_sub_org(&s.root_client(), &org, "turnkey-sub", &p256()).await;
    let r = root.get(&format!("/v1/organizations/{sub}/members")).await;
    assert_eq!(
        roles(r.data()),
        vec![(sub_root.clone(), "owner".to_string())]
    );
    let r = root
        .patch(
            &format!("/v1/organizations/{sub}/members/{sub_root}"),
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "parent_read_only"),
        "{:?}",
        r.body
    );
    // From the sub-organization, the parent is out of reach.
    let sub_key = key_for(&s, &sub, &sub_root).await;
    let r = sub_key.get(&base).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));

    // Scopes.
    let read_only = key_with(&root, &["members:read"]).await;
    assert_eq!(read_only.get(&base).await.status, 200);
    let r = read_only
        .patch(&format!("{base}/{carol}"), json!({"role": "admin"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let r = read_only.delete(&format!("{base}/{carol}")).await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let manage_only = key_with(&root, &["members:manage"]).await;
    let r = manage_only.get(&base).await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let r = manage_only.get(&format!("/v1/orgs/{org}/members")).await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    s.stop().await.unwrap();
}

async fn removal(backend: Backend) {
    let s = TestServer::start(backend, "v1_member_rm").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let root_user = s.root.user_id.clone();
    let client = s.root_client();
    let ids = create_users(
        &client,
        &org,
        &[("bob", None), ("carol", None), ("dave", None)],
    )
    .await;
    let (bob, carol, dave) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let base = format!("/v1/organizations/{org}/members");

    // The owner (the root user) removes carol: a completed DELETE_USERS activity.
    let r = root
        .patch(&format!("{base}/{carol}"), json!({"role": "admin"}))
        .await;
    assert_eq!(r.status, 200);
    let r = root.delete(&format!("{base}/{carol}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.data()["removed"], json!(true));
    assert_eq!(r.data()["user_id"], json!(carol));
    assert_eq!(r.data()["role"], json!("admin"));
    assert_eq!(r.data()["activity_status"], json!("completed"));
    let activity_id = r.data()["activity_id"].as_str().unwrap().to_string();
    let a = client.get_activity(&org, &activity_id).await.unwrap();
    assert_eq!(a.activity_type, "ACTIVITY_TYPE_DELETE_USERS");
    assert_eq!(a.status, "ACTIVITY_STATUS_COMPLETED");
    // Gone on both faces.
    let users = client.list_users(&org).await.unwrap();
    assert!(!users.iter().any(|u| u.user_id == carol), "{users:?}");
    let got: Result<Value, _> = client
        .query("get_user", &json!({"organizationId": org, "userId": carol}))
        .await;
    assert_eq!(api_error(got).0, 404);
    let l = root.get(&base).await;
    assert_eq!(
        roles(l.data())
            .into_iter()
            .map(|(u, _)| u)
            .collect::<Vec<_>>(),
        {
            let mut rest = vec![bob.clone(), dave.clone()];
            rest.sort();
            [vec![root_user.clone()], rest].concat()
        }
    );
    let r = root.delete(&format!("{base}/{carol}")).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));

    // Policies apply: bob, an admin but no root user, is denied by the engine (no policy
    // allows him), and nothing changes.
    let r = root
        .patch(&format!("{base}/{bob}"), json!({"role": "admin"}))
        .await;
    assert_eq!(r.status, 200);
    let as_bob = key_for(&s, &org, &bob).await;
    let r = as_bob.delete(&format!("{base}/{dave}")).await;
    assert_eq!((r.status, r.code()), (403, "policy_denied"), "{:?}", r.body);
    assert!(client
        .list_users(&org)
        .await
        .unwrap()
        .iter()
        .any(|u| u.user_id == dave));
    // A policy allowing bob to delete users lets the same request through.
    let policy = client
        .submit(
            "create_policy",
            "ACTIVITY_TYPE_CREATE_POLICY_V3",
            &org,
            json!({
                "policyName": "bob deletes users",
                "effect": "EFFECT_ALLOW",
                "consensus": format!("approvers.any(user, user.id == '{bob}')"),
                "condition": "activity.type == 'ACTIVITY_TYPE_DELETE_USERS'",
                "notes": "",
            }),
        )
        .await
        .unwrap();
    completed(&policy);
    let r = as_bob.delete(&format!("{base}/{dave}")).await;
    assert_eq!(
        (r.status, r.data()["removed"].as_bool()),
        (200, Some(true)),
        "{:?}",
        r.body
    );

    // A root quorum of two: the owner's removal waits for consensus (202), nothing removed yet.
    let ids = create_users(&client, &org, &[("erin", None), ("frank", None)]).await;
    let (erin, frank) = (ids[0].clone(), ids[1].clone());
    let q = client
        .submit(
            "update_root_quorum",
            "ACTIVITY_TYPE_UPDATE_ROOT_QUORUM",
            &org,
            json!({"threshold": 2, "userIds": [root_user, erin]}),
        )
        .await
        .unwrap();
    completed(&q);
    let r = root.delete(&format!("{base}/{frank}")).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.data()["removed"], json!(false));
    assert_eq!(r.data()["activity_status"], json!("consensus_needed"));
    assert!(client
        .list_users(&org)
        .await
        .unwrap()
        .iter()
        .any(|u| u.user_id == frank));
    let a = client
        .get_activity(&org, r.data()["activity_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(a.status, "ACTIVITY_STATUS_CONSENSUS_NEEDED");
    // erin is an owner now too (a root user), so the root user is no longer the last owner.
    let owners = root.get(&format!("{base}?role=owner")).await;
    assert_eq!(roles(owners.data()).len(), 2, "{:?}", owners.body);
    s.stop().await.unwrap();
}

async fn invites(backend: Backend) {
    let s = TestServer::start(backend, "v1_invites").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let root_user = s.root.user_id.clone();
    let ids = create_users(&s.root_client(), &org, &[("bob", Some("Bob@Example.com"))]).await;
    let bob = ids[0].clone();
    let base = format!("/v1/organizations/{org}/invites");

    let r = root
        .post(
            &base,
            json!({"email": "  Alice@Example.COM ", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let alice = r.data().clone();
    let alice_id = alice["id"].as_str().unwrap().to_string();
    assert!(alice_id.starts_with("inv_"), "{alice_id}");
    assert_eq!(alice["object"], json!("invite"));
    assert_eq!(alice["organization_id"], json!(org));
    assert_eq!(alice["email"], json!("alice@example.com"));
    assert_eq!(alice["role"], json!("admin"));
    assert_eq!(alice["status"], json!("pending"));
    assert_eq!(alice["invited_by_user_id"], json!(root_user));
    assert_eq!(alice["accepted_at"], json!(null));
    assert_eq!(alice["revoked_at"], json!(null));
    // Default role member, default lifetime 7 days.
    let r = root.post(&base, json!({"email": "zoe@example.com"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.data()["role"], json!("member"));
    let zoe_id = r.data()["id"].as_str().unwrap().to_string();

    // One pending invite per email; members cannot be invited.
    let r = root
        .post(&base, json!({"email": "ALICE@example.com"}))
        .await;
    assert_eq!((r.status, r.code()), (409, "invite_exists"), "{:?}", r.body);
    let r = root.post(&base, json!({"email": "bob@example.com"})).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "already_member"),
        "{:?}",
        r.body
    );

    // Lists: pending by default, oldest first, paginated; the alias answers the same.
    let l = root.get(&base).await;
    assert_eq!(l.status, 200, "{:?}", l.body);
    let listed: Vec<&str> = l
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![alice_id.as_str(), zoe_id.as_str()]);
    assert_eq!(l.data()[0], alice);
    let alias = root.get(&format!("/v1/orgs/{org}/invites")).await;
    assert_eq!((alias.status, alias.data()), (200, l.data()));
    let p1 = root.get(&format!("{base}?limit=1")).await;
    assert_eq!(p1.data().as_array().unwrap().len(), 1);
    assert_eq!(p1.body["pagination"]["has_more"], json!(true));
    let c = p1.body["pagination"]["next_cursor"].as_str().unwrap();
    let p2 = root.get(&format!("{base}?limit=1&cursor={c}")).await;
    assert_eq!(p2.data()[0]["id"], json!(zoe_id));
    assert_eq!(p2.body["pagination"]["has_more"], json!(false));

    // Revoke: the invite with status revoked; a second revoke is a conflict.
    let r = root.delete(&format!("{base}/{zoe_id}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.data()["status"], json!("revoked"));
    assert!(r.data()["revoked_at"].is_string());
    let r = root.delete(&format!("{base}/{zoe_id}")).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "invite_not_pending"),
        "{:?}",
        r.body
    );
    let r = root
        .delete(&format!("{base}/inv_00000000000000000000000000000000"))
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let l = root.get(&base).await;
    assert_eq!(l.data().as_array().unwrap().len(), 1);
    let revoked = root.get(&format!("{base}?status=revoked")).await;
    assert_eq!(revoked.data()[0]["id"], json!(zoe_id));
    let all = root.get(&format!("{base}?status=all")).await;
    assert_eq!(all.data().as_array().unwrap().len(), 2);
    // After revocation the email may be invited again.
    let r = root
        .post(&base, json!({"email": "zoe@example.com", "role": "owner"}))
        .await;
    assert_eq!(
        (r.status, r.data()["role"].as_str()),
        (201, Some("owner")),
        "{:?}",
        r.body
    );

    // Role rules: an admin invites members and admins, not owners; a member invites nobody.
    let r = s
        .v1()
        .patch(
            &format!("/v1/organizations/{org}/members/{bob}"),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let as_bob = key_for(&s, &org, &bob).await;
    let r = as_bob
        .post(&base, json!({"email": "x@example.com", "role": "owner"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "role_required"), "{:?}", r.body);
    let r = as_bob
        .post(&base, json!({"email": "x@example.com", "role": "admin"}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.data()["invited_by_user_id"], json!(bob));

    // Bad input names the field.
    assert_field(&root.post(&base, json!({})).await, "email");
    assert_field(
        &root.post(&base, json!({"email": "not-an-email"})).await,
        "email",
    );
    assert_field(&root.post(&base, json!({"email": "a@b@c"})).await, "email");
    assert_field(
        &root
            .post(&base, json!({"email": "a@b.c", "role": "boss"}))
            .await,
        "role",
    );
    assert_field(
        &root
            .post(&base, json!({"email": "a@b.c", "expires_in_seconds": 0}))
            .await,
        "expires_in_seconds",
    );
    assert_field(
        &root
            .post(
                &base,
                json!({"email": "a@b.c", "expires_in_seconds": 2_592_001}),
            )
            .await,
        "expires_in_seconds",
    );
    assert_field(
        &root
            .post(&base, json!({"email": "a@b.c", "colour": "red"}))
            .await,
        "colour",
    );
    assert_field(&root.get(&format!("{base}?status=maybe")).await, "status");
    let r = root
        .post(
            &base,
            json!({"email": "a@b.c", "expires_in_seconds": 2_592_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // Scopes and reach.
    let read_only = key_with(&root, &["invites:read"]).await;
    assert_eq!(read_only.get(&base).await.status, 200);
    let r = read_only
        .post(&base, json!({"email": "y@example.com"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let r = read_only.delete(&format!("{base}/{alice_id}")).await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let r = read_only
        .post(&format!("/v1/invites/{alice_id}/accept"), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let manage_only = key_with(&root, &["invites:manage"]).await;
    let r = manage_only.get(&format!("/v1/orgs/{org}/invites")).await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let r = manage_only.get("/v1/invites").await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    for r in [
        root.get(&format!("/v1/organizations/{FOREIGN}/invites"))
            .await,
        root.get(&format!("/v1/orgs/{FOREIGN}/invites")).await,
        root.post(
            &format!("/v1/organizations/{FOREIGN}/invites"),
            json!({"email": "q@example.com"}),
        )
        .await,
        root.delete(&format!("/v1/organizations/{FOREIGN}/invites/{alice_id}"))
            .await,
    ] {
        assert_eq!((r.status, r.code()), (404, "not_found"), "{:?}", r.body);
    }
    // Another organization's invite id is not found in this one.
    let (sub, sub_root) = create_sub_org(&s.root_client(), &org, "turnkey-sub", &p256()).await;
    let r = root
        .delete(&format!("/v1/organizations/{sub}/invites/{alice_id}"))
        .await;
    assert_eq!((r.status, r.code()), (403, "parent_read_only"));
    let sub_key = key_for(&s, &sub, &sub_root).await;
    let r = sub_key
        .delete(&format!("/v1/organizations/{sub}/invites/{alice_id}"))
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = sub_key
        .get(&format!("/v1/organizations/{sub}/invites?status=all"))
        .await;
    assert_eq!((r.status, r.data()), (200, &json!([])));
    s.stop().await.unwrap();
}

async fn invite_expiry(backend: Backend) {
    let clock = ManualClock::new(1_800_000_000_000);
    let s = TestServer::start_with_clock(backend, "v1_invite_exp", clock.clone())
        .await
        .unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let base = format!("/v1/organizations/{org}/invites");
    let r = root
        .post(
            &base,
            json!({"email": "late@example.com", "expires_in_seconds": 60}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.data()["id"].as_str().unwrap().to_string();
    assert_eq!(r.data()["expires_at"], json!("2027-01-15T08:01:00.000Z"));
    assert_eq!(r.data()["created_at"], json!("2027-01-15T08:00:00.000Z"));
    // The default lifetime is 7 days.
    let week = root.post(&base, json!({"email": "week@example.com"})).await;
    assert_eq!(week.data()["expires_at"], json!("2027-01-22T08:00:00.000Z"));

    clock.advance(59_999);
    assert_eq!(root.get(&base).await.data()[0]["status"], json!("pending"));
    clock.advance(1);
    // Past expires_at it reads as expired, is no longer pending, cannot be revoked...
    let pending = root.get(&base).await;
    assert_eq!(pending.data().as_array().unwrap().len(), 1);
    assert_eq!(pending.data()[0]["email"], json!("week@example.com"));
    let expired = root.get(&format!("{base}?status=expired")).await;
    assert_eq!(expired.data()[0]["id"], json!(id));
    assert_eq!(expired.data()[0]["status"], json!("expired"));
    let r = root.delete(&format!("{base}/{id}")).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "invite_not_pending"),
        "{:?}",
        r.body
    );
    // ...and the email may be invited again (the old row is flipped in the same transaction).
    let r = root.post(&base, json!({"email": "late@example.com"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let all = root.get(&format!("{base}?status=all")).await;
    let statuses: Vec<&str> = all
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["expired", "pending", "pending"]);
    s.stop().await.unwrap();
}

async fn accept_flow(backend: Backend) {
    let s = TestServer::start(backend, "v1_accept").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let root_user = s.root.user_id.clone();
    let base = format!("/v1/organizations/{org}/invites");

    // Alice and Mallory are users of their own (Turnkey-created) organization; each has a key.
    let home_key = p256();
    let (home, _) = create_sub_org(&s.root_client(), &org, "home", &home_key).await;
    let ids = create_users(
        &s.client(home_key),
        &home,
        &[
            ("Alice", Some("Alice@Example.com")),
            ("Mallory", Some("mallory@example.com")),
        ],
    )
    .await;
    let alice = key_for(&s, &home, &ids[0]).await;
    let mallory = key_for(&s, &home, &ids[1]).await;
    let alice_no_accept = key_for_scopes(&s, &home, &ids[0], &["invites:read"]).await;

    let inv = root
        .post(
            &base,
            json!({"email": "alice@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(inv.status, 201, "{:?}", inv.body);
    let inv_id = inv.data()["id"].as_str().unwrap().to_string();
    let other = root
        .post(&base, json!({"email": "someone@example.com"}))
        .await;
    let other_id = other.data()["id"].as_str().unwrap().to_string();

    // Alice sees her invite, across organizations; Mallory does not.
    let mine = alice.get("/v1/invites").await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    assert_eq!(mine.data(), &json!([inv.data()]));
    assert_eq!(mallory.get("/v1/invites").await.data(), &json!([]));
    // The root user has no email: no invites.
    assert_eq!(root.get("/v1/invites").await.data(), &json!([]));

    // Someone else's invite, or an unknown one, is not found; the scope is required.
    let r = mallory
        .post(&format!("/v1/invites/{inv_id}/accept"), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"), "{:?}", r.body);
    let r = alice
        .post(&format!("/v1/invites/{other_id}/accept"), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = alice
        .post(
            "/v1/invites/inv_00000000000000000000000000000000/accept",
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = alice_no_accept
        .post(&format!("/v1/invites/{inv_id}/accept"), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));

    // Alice accepts: a user in the inviting organization, with the invite's role.
    let r = alice
        .post(&format!("/v1/invites/{inv_id}/accept"), json!({}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let member = r.data().clone();
    let new_user = member["user_id"].as_str().unwrap().to_string();
    assert_eq!(member["object"], json!("member"));
    assert_eq!(member["organization_id"], json!(org));
    assert_eq!(member["role"], json!("admin"));
    assert_eq!(member["name"], json!("Alice"));
    assert_eq!(member["email"], json!("Alice@Example.com"));
    assert_eq!(member["is_root_user"], json!(false));
    assert_ne!(new_user, ids[0]);
    // The Turnkey face sees the user, created by a CREATE_USERS activity of the inviter.
    let users = s.root_client().list_users(&org).await.unwrap();
    let u = users
        .iter()
        .find(|u| u.user_id == new_user)
        .expect("new user");
    assert_eq!(u.user_email.as_deref(), Some("Alice@Example.com"));
    let acts = s.app.store().list_all_activities(&org).await.unwrap();
    let created = acts
        .iter()
        .find(|a| a.result["createUsersResult"]["userIds"][0] == json!(new_user))
        .expect("the create_users activity");
    assert_eq!(created.activity_type, "ACTIVITY_TYPE_CREATE_USERS_V3");
    assert_eq!(created.status, quorate_domain::ActivityStatus::Completed);
    assert_eq!(created.user_id, root_user, "the inviter acts");
    let members = root
        .get(&format!("/v1/organizations/{org}/members?role=admin"))
        .await;
    assert_eq!(
        roles(members.data()),
        vec![(new_user.clone(), "admin".to_string())]
    );

    // Accepted: not again, not pending any more, listed as accepted; she is now a member.
    let r = alice
        .post(&format!("/v1/invites/{inv_id}/accept"), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "invite_not_pending"),
        "{:?}",
        r.body
    );
    assert_eq!(alice.get("/v1/invites").await.data(), &json!([]));
    let accepted = root.get(&format!("{base}?status=accepted")).await;
    assert_eq!(accepted.data()[0]["id"], json!(inv_id));
    assert!(accepted.data()[0]["accepted_at"].is_string());
    let r = root
        .post(&base, json!({"email": "ALICE@example.com"}))
        .await;
    assert_eq!((r.status, r.code()), (409, "already_member"));

    // A revoked invite cannot be accepted.
    let m = root
        .post(&base, json!({"email": "mallory@example.com"}))
        .await;
    let m_id = m.data()["id"].as_str().unwrap().to_string();
    assert_eq!(root.delete(&format!("{base}/{m_id}")).await.status, 200);
    let r = mallory
        .post(&format!("/v1/invites/{m_id}/accept"), json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "invite_not_pending"),
        "{:?}",
        r.body
    );
    s.stop().await.unwrap();
}
