//! Many parallel submissions to one organization and to many lose nothing and duplicate nothing.

use crate::on_both_stores;
use crate::support::*;
use quorate_client::Client;
use quorate_testkit::{Backend, TestServer};
use serde_json::json;
use std::sync::Arc;

on_both_stores!(parallel_submissions, racing_copies_of_a_failing_body);

async fn parallel_submissions(backend: Backend) {
    let s = TestServer::start(backend, "parallel").await.unwrap();
    let root = s.root_client();
    let org = s.root.organization_id.clone();
    // Four organizations: the root and three sub-organizations with their own keys.
    let mut orgs = vec![(org.clone(), Arc::new(root))];
    for i in 0..3 {
        let key = p256();
        let (sub, _) = create_sub_org(&orgs[0].1, &org, &format!("sub{i}"), &key).await;
        orgs.push((sub, Arc::new(s.client(key))));
    }
    const PER_ORG: usize = 40;
    let mut tasks = Vec::new();
    for (o, client) in &orgs {
        for i in 0..PER_ORG {
            let (o, client) = (o.clone(), client.clone());
            tasks.push(tokio::spawn(async move {
                let body = Client::activity_body(
                    "ACTIVITY_TYPE_CREATE_USERS_V4",
                    &o,
                    json!({"users": [user_params(&format!("p{i}"), json!([]), json!([]))]}),
                );
                // Each body is sent twice concurrently: the duplicate must not execute again.
                let (a, b) = tokio::join!(
                    client.submit_body("create_users", body.clone()),
                    client.submit_body("create_users", body)
                );
                let (a, b) = (a.unwrap(), b.unwrap());
                assert_eq!(a.id, b.id);
                completed(&a);
                a.id
            }));
        }
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), orgs.len() * PER_ORG);
    for (i, (o, client)) in orgs.iter().enumerate() {
        let users = client.list_users(o).await.unwrap();
        let expected_roots = 1;
        assert_eq!(users.len(), PER_ORG + expected_roots, "org {i}");
        let mut names: Vec<_> = users.iter().map(|u| u.user_name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            PER_ORG + expected_roots,
            "no duplicate users in org {i}"
        );
        let all = s.app.store().list_all_activities(o).await.unwrap();
        let extra = if i == 0 { 3 } else { 0 }; // the sub-organization creations
        assert_eq!(all.len(), PER_ORG + extra, "org {i}");
    }
    let report = s.app.verify_log().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    s.stop().await.unwrap();
}

async fn racing_copies_of_a_failing_body(backend: Backend) {
    let s = TestServer::start(backend, "racing_failure").await.unwrap();
    let c = Arc::new(s.root_client());
    let org = s.root.organization_id.clone();
    // Fails in execution (unknown tag): the state change is rolled back and the failure recorded.
    let body = Client::activity_body(
        "ACTIVITY_TYPE_CREATE_USERS_V4",
        &org,
        json!({"users": [user_params("x", json!([]), json!(["7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f"]))]}),
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (c, body) = (c.clone(), body.clone());
            tokio::spawn(async move { c.submit_body("create_users", body).await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.status, "ACTIVITY_STATUS_FAILED");
        ids.push(a.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one activity for one body");
    assert_eq!(
        s.app.store().list_all_activities(&org).await.unwrap().len(),
        1
    );
    s.stop().await.unwrap();
}
