//! `/v1` end-to-end tests: organizations (create, list, patch, suspension on both faces), API
//! keys (get, patch, rotation with a grace period on a controllable clock, project scoping),
//! projects, scopes and reach.

use crate::on_both_stores;
use crate::support::*;
use quorate_testkit::v1::V1;
use quorate_testkit::{Backend, ManualClock, TestServer};
use serde_json::json;

on_both_stores!(
    organizations,
    suspension,
    api_key_lifecycle,
    rotation_grace,
    projects,
    rate_limit_exact,
    audit_and_last_used,
    organizations_of_the_current_user,
);

const FOREIGN: &str = "7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f";

async fn organizations(backend: Backend) {
    let s = TestServer::start(backend, "v1_orgs").await.unwrap();
    let root = s.v1();
    let parent = s.root.organization_id.clone();

    let a = root
        .post(
            "/v1/organizations",
            json!({"name": "Acme", "slug": "acme", "idempotency_key": "k1"}),
        )
        .await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let acme = a.data()["id"].as_str().unwrap().to_string();
    assert_eq!(a.data()["slug"], json!("acme"));
    assert_eq!(a.data()["status"], json!("active"));
    assert_eq!(a.data()["parent_organization_id"], json!(parent));
    // Idempotent replay: the same organization, no second one.
    let again = root
        .post(
            "/v1/organizations",
            json!({"name": "Acme", "slug": "acme", "idempotency_key": "k1"}),
        )
        .await;
    assert_eq!(
        (again.status, again.data()["id"].as_str()),
        (201, Some(acme.as_str()))
    );
    // Slug taken by another request.
    let taken = root
        .post(
            "/v1/organizations",
            json!({"name": "Other", "slug": "acme"}),
        )
        .await;
    assert_eq!(
        (taken.status, taken.code()),
        (409, "slug_taken"),
        "{:?}",
        taken.body
    );
    // The organization is the Turnkey face's sub-organization, with the operator as root user.
    let ids: serde_json::Value = s
        .root_client()
        .query("list_suborgs", &json!({"organizationId": parent}))
        .await
        .unwrap();
    assert!(
        ids["organizationIds"]
            .as_array()
            .unwrap()
            .contains(&json!(acme)),
        "{ids:?}"
    );

    // Bad input names the field; unknown fields are refused.
    for (body, field) in [
        (json!({"name": "x", "slug": "-bad"}), "slug"),
        (json!({"name": "", "slug": "good-slug"}), "name"),
        (
            json!({"name": "x", "slug": "good-slug", "color": 1}),
            "color",
        ),
        (json!({"slug": "good-slug"}), "name"),
    ] {
        let r = root.post("/v1/organizations", body).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "validation_failed"),
            "{:?}",
            r.body
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(field),
            "{:?}",
            r.body
        );
    }
    let not_object = root.post("/v1/organizations", json!([1])).await;
    assert_eq!(
        (not_object.status, not_object.code()),
        (400, "invalid_request")
    );

    // List: own organization first, then sub-organizations, paginated by cursor.
    for i in 0..3 {
        let r = root
            .post(
                "/v1/organizations",
                json!({"name": format!("T{i}"), "slug": format!("tenant-{i}")}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/organizations?limit=2&cursor={c}"),
            None => "/v1/organizations?limit=2".to_string(),
        };
        let page = root.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for o in page.data().as_array().unwrap() {
            seen.push((
                o["id"].as_str().unwrap().to_string(),
                o["role"].as_str().unwrap().to_string(),
            ));
        }
        match page.body["pagination"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen[0], (parent.clone(), "owner".to_string()));
    assert_eq!(seen[1].0, acme);
    let bad_cursor = root.get("/v1/organizations?cursor=%%%").await;
    assert_eq!(
        (bad_cursor.status, bad_cursor.code()),
        (422, "validation_failed")
    );
    let bad_limit = root.get("/v1/organizations?limit=0").await;
    assert_eq!(bad_limit.status, 422);

    // PATCH: rename; read back.
    let r = root
        .patch(
            &format!("/v1/organizations/{acme}"),
            json!({"name": "Acme Inc"}),
        )
        .await;
    assert_eq!(
        (r.status, r.data()["name"].as_str()),
        (200, Some("Acme Inc"))
    );
    let g = root.get(&format!("/v1/organizations/{acme}")).await;
    assert_eq!(g.data()["name"], json!("Acme Inc"));
    let public = V1::new(&s.base_url, None)
        .get(&format!("/v1/organizations/{acme}/public"))
        .await;
    assert_eq!(public.data()["slug"], json!("acme"));

    // Wrong scope, foreign organization, Turnkey-created sub-organization (read-only reach).
    let reader = key_with(&root, &["organizations:read"]).await;
    let r = reader
        .post("/v1/organizations", json!({"name": "n", "slug": "nope"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let r = reader
        .patch(&format!("/v1/organizations/{acme}"), json!({"name": "n"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_missing"));
    let missing = root.get(&format!("/v1/organizations/{FOREIGN}")).await;
    let foreign_patch = root
        .patch(
            &format!("/v1/organizations/{FOREIGN}"),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!((missing.status, foreign_patch.status), (404, 404));
    assert_eq!(missing.body["error"], foreign_patch.body["error"]);
    let (turnkey_sub, _) = create_sub_org(&s.root_client(), &parent, "end-user", &p256()).await;
    let r = root.get(&format!("/v1/organizations/{turnkey_sub}")).await;
    assert_eq!(r.status, 200);
    let r = root
        .patch(
            &format!("/v1/organizations/{turnkey_sub}"),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "parent_read_only"));

    // A key of the sub-organization cannot create organizations (sub-organizations do not nest).
    let sub_key = root
        .post(
            &format!("/v1/organizations/{acme}/api-keys"),
            json!({"name": "tenant"}),
        )
        .await;
    assert_eq!(sub_key.status, 201, "{:?}", sub_key.body);
    let tenant = root.with_key(sub_key.data()["revealed_key"].as_str().unwrap());
    assert_eq!(sub_key.data()["organization_id"], json!(acme));
    let r = tenant
        .post("/v1/organizations", json!({"name": "n", "slug": "nested"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = tenant.get(&format!("/v1/organizations/{parent}")).await;
    assert_eq!(r.status, 404);
    s.stop().await.unwrap();
}

async fn suspension(backend: Backend) {
    let s = TestServer::start(backend, "v1_suspend").await.unwrap();
    let root = s.v1();
    let a = root
        .post("/v1/organizations", json!({"name": "Acme", "slug": "acme"}))
        .await;
    let acme = a.data()["id"].as_str().unwrap().to_string();
    let k = root
        .post(
            &format!("/v1/organizations/{acme}/api-keys"),
            json!({"name": "tenant"}),
        )
        .await;
    let tenant = root.with_key(k.data()["revealed_key"].as_str().unwrap());
    assert_eq!(
        tenant
            .get(&format!("/v1/organizations/{acme}"))
            .await
            .status,
        200
    );
    // A key cannot change its own organization's status.
    let own = tenant
        .patch(
            &format!("/v1/organizations/{acme}"),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!((own.status, own.code()), (403, "forbidden"));
    let r = root
        .patch(
            &format!("/v1/organizations/{acme}"),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(
        (r.status, r.data()["status"].as_str()),
        (200, Some("suspended")),
        "{:?}",
        r.body
    );
    let r = tenant.get(&format!("/v1/organizations/{acme}")).await;
    assert_eq!((r.status, r.code()), (403, "organization_suspended"));
    let r = root.get(&format!("/v1/organizations/{acme}")).await;
    assert_eq!((r.status, r.code()), (403, "organization_suspended"));
    let bad = root
        .patch(
            &format!("/v1/organizations/{acme}"),
            json!({"status": "frozen"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    // Reactivated: the key works again.
    let r = root
        .patch(
            &format!("/v1/organizations/{acme}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        tenant
            .get(&format!("/v1/organizations/{acme}"))
            .await
            .status,
        200
    );

    // Turnkey face: suspending the root organization stops its stamps (the operator's CLI
    // way; a key cannot suspend its own organization).
    let parent = s.root.organization_id.clone();
    s.app.admin_set_suspended(&parent, true).await.unwrap();
    let e = s.root_client().whoami(&parent).await.unwrap_err();
    assert!(format!("{e:?}").contains("suspended"), "{e:?}");
    let r = root.get(&format!("/v1/organizations/{parent}")).await;
    assert_eq!((r.status, r.code()), (403, "organization_suspended"));
    s.app.admin_set_suspended(&parent, false).await.unwrap();
    s.root_client().whoami(&parent).await.unwrap();
    s.stop().await.unwrap();
}

async fn api_key_lifecycle(backend: Backend) {
    let s = TestServer::start(backend, "v1_keys").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let created = root
        .post(
            &format!("/v1/organizations/{org}/api-keys"),
            json!({"name": "svc", "environment": "test", "scopes": ["api_keys:read", "organizations:read"], "device_name": "ci"}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let d = created.data().clone();
    let secret = d["revealed_key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sk_test_"));
    let id = d["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("key_"));
    assert_eq!(d["key_prefix"].as_str().unwrap(), &secret[..12]);
    assert_eq!(
        d["key_preview"].as_str().unwrap(),
        format!("{}…{}", &secret[..12], &secret[secret.len() - 4..])
    );
    assert_eq!(
        d["display_key"].as_str().unwrap(),
        format!("sk_test_••••{}", &secret[secret.len() - 4..])
    );
    assert_eq!(
        (
            d["status"].as_str(),
            d["is_active"].as_bool(),
            d["source"].as_str()
        ),
        (Some("active"), Some(true), Some("api"))
    );
    assert_eq!(d["created_by_user_id"], json!(s.root.user_id));
    // GET one, in both families, never with the secret.
    for path in [
        format!("/v1/api-keys/{id}"),
        format!("/v1/organizations/{org}/api-keys/{id}"),
    ] {
        let g = root.get(&path).await;
        assert_eq!(g.status, 200, "{path}");
        assert!(g.data().get("revealed_key").is_none());
        assert!(!g.body.to_string().contains(&secret));
    }
    // PATCH: name and scopes; type, environment are immutable; scopes at most the caller's.
    let svc = root.with_key(&secret);
    let p = root
        .patch(
            &format!("/v1/api-keys/{id}"),
            json!({"name": "svc2", "scopes": ["api_keys:read"]}),
        )
        .await;
    assert_eq!(
        (p.status, p.data()["name"].as_str()),
        (200, Some("svc2")),
        "{:?}",
        p.body
    );
    assert_eq!(p.data()["scopes"], json!(["api_keys:read"]));
    assert_eq!(
        svc.get(&format!("/v1/organizations/{org}")).await.code(),
        "scope_missing"
    );
    let imm = root
        .patch(
            &format!("/v1/api-keys/{id}"),
            json!({"environment": "live"}),
        )
        .await;
    assert_eq!(imm.status, 422);
    let origins = root
        .patch(
            &format!("/v1/api-keys/{id}"),
            json!({"allowed_origins": ["https://a.example"]}),
        )
        .await;
    assert_eq!(origins.status, 422);
    let esc = key_with(&root, &["api_keys:manage", "api_keys:read"]).await;
    let r = esc
        .patch(
            &format!("/v1/api-keys/{id}"),
            json!({"scopes": ["members:manage"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "scope_escalation"));
    let r = esc
        .post(
            "/v1/api-keys",
            json!({"name": "x", "scopes": ["organizations:manage"]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("organizations:create"));
    // Omitted scopes: the creator's own.
    let r = esc.post("/v1/api-keys", json!({"name": "same"})).await;
    assert_eq!(
        r.data()["scopes"],
        json!(["api_keys:manage", "api_keys:read"])
    );
    // List filters.
    let l = root
        .get("/v1/api-keys?type=secret&status=active&limit=100")
        .await;
    assert!(l.data().as_array().unwrap().len() >= 4);
    let bad = root.get("/v1/api-keys?status=sleeping").await;
    assert_eq!(bad.status, 422);
    // Publishable keys: origins only, accepted only on public routes from their origins.
    let pk = root
        .post("/v1/api-keys", json!({"name": "web", "type": "publishable", "allowed_origins": ["https://app.example.com"]}))
        .await;
    assert_eq!(pk.status, 201, "{:?}", pk.body);
    let pk_secret = pk.data()["revealed_key"].as_str().unwrap().to_string();
    assert!(pk_secret.starts_with("pk_live_"));
    let web = root.with_key(&pk_secret);
    let r = web
        .request(
            reqwest::Method::GET,
            &format!("/v1/organizations/{org}"),
            None,
            &[("origin", "https://app.example.com")],
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    // Revoke: the key stops at once; revoking twice is 404.
    let r = root
        .delete(&format!("/v1/organizations/{org}/api-keys/{id}"))
        .await;
    assert_eq!(
        (
            r.status,
            r.data()["revoked"].as_bool(),
            r.data()["status"].as_str()
        ),
        (200, Some(true), Some("revoked"))
    );
    assert_eq!(svc.get("/v1/api-keys").await.code(), "api_key_revoked");
    assert_eq!(root.delete(&format!("/v1/api-keys/{id}")).await.status, 404);
    let r = root.get("/v1/api-keys?status=revoked").await;
    assert!(r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == json!(id)));
    // Foreign organization and unknown key: 404.
    assert_eq!(
        root.get(&format!("/v1/organizations/{FOREIGN}/api-keys"))
            .await
            .status,
        404
    );
    assert_eq!(
        root.get("/v1/api-keys/key_00000000000000000000000000000000")
            .await
            .status,
        404
    );
    s.stop().await.unwrap();
}

async fn rotation_grace(backend: Backend) {
    let clock = ManualClock::new(1_800_000_000_000);
    let s = TestServer::start_with_clock(backend, "v1_rotate", clock.clone())
        .await
        .unwrap();
    let root = s.v1();
    let created = root
        .post(
            "/v1/api-keys",
            json!({"name": "svc", "scopes": ["api_keys:read"]}),
        )
        .await;
    let old_id = created.data()["id"].as_str().unwrap().to_string();
    let old = root.with_key(created.data()["revealed_key"].as_str().unwrap());
    let r = root
        .post(
            &format!("/v1/api-keys/{old_id}/rotations"),
            json!({"grace_period_seconds": 3600}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let new = root.with_key(r.data()["revealed_key"].as_str().unwrap());
    assert_eq!(r.data()["replaces_key_id"], json!(old_id));
    assert_eq!(r.data()["source"], json!("rotation"));
    assert_eq!(r.data()["scopes"], json!(["api_keys:read"]));
    assert_eq!(r.data()["previous_key"]["status"], json!("rotated"));
    assert_eq!(r.data()["previous_key"]["is_active"], json!(true));
    // Rotating the rotated key again is refused.
    let again = root
        .post(&format!("/v1/api-keys/{old_id}/rotations"), json!({}))
        .await;
    assert_eq!((again.status, again.code()), (409, "not_rotatable"));
    let bad = root
        .post(
            &format!("/v1/api-keys/{old_id}/rotations"),
            json!({"grace_period_seconds": 604801}),
        )
        .await;
    assert_eq!(bad.status, 422);
    // Both work within the grace period, the old one until grace − 1 ms.
    assert_eq!(old.get("/v1/api-keys").await.status, 200);
    assert_eq!(new.get("/v1/api-keys").await.status, 200);
    clock.advance(3_600_000 - 1);
    assert_eq!(old.get("/v1/api-keys").await.status, 200);
    clock.advance(1);
    let r = old.get("/v1/api-keys").await;
    assert_eq!((r.status, r.code()), (401, "api_key_expired"));
    assert_eq!(new.get("/v1/api-keys").await.status, 200);
    let g = root.get(&format!("/v1/api-keys/{old_id}")).await;
    assert_eq!(
        (g.data()["status"].as_str(), g.data()["is_active"].as_bool()),
        (Some("expired"), Some(false))
    );
    // An expiring key: valid until expires_at.
    let exp = root
        .post("/v1/api-keys", json!({"name": "short", "scopes": ["api_keys:read"], "expires_at": "2027-06-01T00:00:00Z"}))
        .await;
    assert_eq!(exp.status, 201, "{:?}", exp.body);
    let short = root.with_key(exp.data()["revealed_key"].as_str().unwrap());
    assert_eq!(short.get("/v1/api-keys").await.status, 200);
    clock.advance(1_000 * 86_400 * 365);
    assert_eq!(short.get("/v1/api-keys").await.code(), "api_key_expired");
    let past = root
        .post(
            "/v1/api-keys",
            json!({"name": "p", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status, 422);
    s.stop().await.unwrap();
}

async fn projects(backend: Backend) {
    let s = TestServer::start(backend, "v1_projects").await.unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let base = format!("/v1/organizations/{org}/projects");
    let a = root.post(&base, json!({"name": "alpha"})).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    let alpha = a.data()["id"].as_str().unwrap().to_string();
    assert!(alpha.starts_with("prj_"));
    let dup = root.post(&base, json!({"name": "alpha"})).await;
    assert_eq!((dup.status, dup.code()), (409, "name_taken"));
    let beta = root.post(&base, json!({"name": "beta"})).await.data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(root.get(&base).await.data().as_array().unwrap().len(), 2);
    // A project key sees and makes only its project's keys; org-level resources are closed.
    let k = root
        .post("/v1/api-keys", json!({"name": "p", "project_id": alpha, "scopes": ["api_keys:read", "api_keys:manage", "organizations:update", "projects:manage"]}))
        .await;
    assert_eq!(
        (k.status, k.data()["project_id"].as_str()),
        (201, Some(alpha.as_str())),
        "{:?}",
        k.body
    );
    let pkey = root.with_key(k.data()["revealed_key"].as_str().unwrap());
    let unknown = root
        .post(
            "/v1/api-keys",
            json!({"name": "p", "project_id": "prj_nope"}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    let listed = pkey.get("/v1/api-keys").await;
    assert_eq!(listed.status, 200);
    let keys = listed.data().as_array().unwrap();
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k["project_id"] == json!(alpha)),
        "{keys:?}"
    );
    let made = pkey.post("/v1/api-keys", json!({"name": "child"})).await;
    assert_eq!(made.data()["project_id"], json!(alpha));
    let other = pkey
        .post("/v1/api-keys", json!({"name": "x", "project_id": beta}))
        .await;
    assert_eq!((other.status, other.code()), (403, "project_scope"));
    let r = pkey
        .patch(&format!("/v1/organizations/{org}"), json!({"name": "n"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "project_scope"));
    let root_key_id = root.get("/v1/api-keys").await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = pkey.get(&format!("/v1/api-keys/{root_key_id}")).await;
    assert_eq!(r.status, 404);
    // Deleting the project revokes its keys at once.
    let d = root.delete(&format!("{base}/{alpha}")).await;
    assert_eq!((d.status, d.data()["deleted_at"].is_string()), (200, true));
    assert_eq!(pkey.get("/v1/api-keys").await.code(), "api_key_revoked");
    assert_eq!(root.delete(&format!("{base}/{alpha}")).await.status, 404);
    assert_eq!(root.get(&base).await.data().as_array().unwrap().len(), 1);
    s.stop().await.unwrap();
}

/// Limit N = 100 on a frozen clock: of 256 concurrent requests on their own connections exactly
/// 100 pass and 156 get 429 with `Retry-After`; every answer carries the rate-limit headers.
async fn rate_limit_exact(backend: Backend) {
    let clock = ManualClock::new(1_800_000_000_250);
    let s = TestServer::start_with_clock(backend, "v1_rate", clock.clone())
        .await
        .unwrap();
    let root = s.v1();
    let k = root
        .post(
            "/v1/api-keys",
            json!({"name": "limited", "scopes": ["organizations:read"]}),
        )
        .await;
    let key_id = k.data()["id"].as_str().unwrap().to_string();
    let secret = k.data()["revealed_key"].as_str().unwrap().to_string();
    s.app
        .admin_set_rate_limit(&key_id, Some((100, 60_000)))
        .await
        .unwrap();
    let g = root.get(&format!("/v1/api-keys/{key_id}")).await;
    assert_eq!(
        g.data()["rate_limit"],
        json!({"limit": 100, "window_seconds": 60})
    );
    let org = s.root.organization_id.clone();
    let mut tasks = Vec::new();
    for _ in 0..256 {
        // One client each: every request on its own connection.
        let c = V1::new(&s.base_url, Some(&secret));
        let path = format!("/v1/organizations/{org}");
        tasks.push(tokio::spawn(async move { c.get(&path).await }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        let a = t.await.unwrap();
        assert_eq!(a.headers["x-ratelimit-limit"], "100");
        // The window [1_800_000_000_000, +60 s) ends at 1_800_000_060 s.
        assert_eq!(a.headers["x-ratelimit-reset"], "1800000060");
        match a.status {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_eq!(a.code(), "rate_limited");
                assert_eq!(a.headers["retry-after"], "60");
                assert_eq!(a.headers["x-ratelimit-remaining"], "0");
            }
            other => panic!("unexpected {other}: {:?}", a.body),
        }
    }
    assert_eq!((ok, limited), (100, 156));
    // Another key is not affected; the next window admits again.
    assert_eq!(
        root.get(&format!("/v1/organizations/{org}")).await.status,
        200
    );
    clock.advance(60_000);
    let a = V1::new(&s.base_url, Some(&secret))
        .get(&format!("/v1/organizations/{org}"))
        .await;
    assert_eq!(
        (
            a.status,
            a.headers["x-ratelimit-remaining"].to_str().unwrap()
        ),
        (200, "99")
    );
    s.stop().await.unwrap();
}

/// Every authenticated /v1 request lands in the audit log (filterable by key, status and
/// time); last use shows at once on this node and reaches the store by the flush; shutdown
/// drains the buffer; retention deletes only old rows.
async fn audit_and_last_used(backend: Backend) {
    let clock = ManualClock::new(1_800_000_000_000);
    let s = TestServer::start_with_clock(backend, "v1_audit", clock.clone())
        .await
        .unwrap();
    let root = s.v1();
    let org = s.root.organization_id.clone();
    let k = root
        .post(
            "/v1/api-keys",
            json!({"name": "svc", "scopes": ["organizations:read"]}),
        )
        .await;
    let key_id = k.data()["id"].as_str().unwrap().to_string();
    let svc = root.with_key(k.data()["revealed_key"].as_str().unwrap());
    assert!(k.data()["last_used_at"].is_null());
    for _ in 0..5 {
        assert_eq!(
            svc.get(&format!("/v1/organizations/{org}")).await.status,
            200
        );
    }
    let denied = svc
        .request(
            reqwest::Method::GET,
            "/v1/api-keys",
            None,
            &[
                ("origin", "https://x.example"),
                ("x-forwarded-for", "203.0.113.9, 10.0.0.1"),
            ],
        )
        .await;
    assert_eq!(denied.status, 403);
    let all = root
        .get(&format!("/v1/api-keys/requests?key_id={key_id}&limit=100"))
        .await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    let rows = all.data().as_array().unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    // Newest first: the denied one.
    assert_eq!(rows[0]["status"], json!(403));
    assert_eq!(rows[0]["route"], json!("/v1/api-keys"));
    assert_eq!(rows[0]["origin"], json!("https://x.example"));
    assert_eq!(rows[0]["ip"], json!("203.0.113.9"));
    assert_eq!(rows[1]["route"], json!("/v1/organizations/{org_id}"));
    assert_eq!(rows[1]["target_organization_id"], json!(org));
    assert_eq!(rows[1]["actor_user_id"], json!(s.root.user_id));
    assert_eq!(rows[1]["method"], json!("GET"));
    assert!(rows[1]["request_id"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    let f = root
        .get(&format!("/v1/api-keys/requests?key_id={key_id}&status=4xx"))
        .await;
    assert_eq!(f.data().as_array().unwrap().len(), 1);
    let f = root
        .get(&format!("/v1/api-keys/requests?key_id={key_id}&status=200"))
        .await;
    assert_eq!(f.data().as_array().unwrap().len(), 5);
    let f = root
        .get("/v1/api-keys/requests?from=2030-01-01T00:00:00Z")
        .await;
    assert!(f.data().as_array().unwrap().is_empty());
    let page = root
        .get(&format!("/v1/api-keys/requests?key_id={key_id}&limit=4"))
        .await;
    let next = page.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let rest = root
        .get(&format!(
            "/v1/api-keys/requests?key_id={key_id}&limit=4&cursor={next}"
        ))
        .await;
    assert_eq!(rest.data().as_array().unwrap().len(), 2);
    assert_eq!(
        root.get("/v1/api-keys/requests?status=abc").await.status,
        422
    );
    // The key's scope is checked: reading the log needs api_keys:read.
    assert_eq!(
        svc.get("/v1/api-keys/requests").await.code(),
        "scope_missing"
    );
    // Last use: shown at once (this node's pending value), stored after the flush.
    let g = root.get(&format!("/v1/api-keys/{key_id}")).await;
    assert_eq!(g.data()["last_used_at"], json!("2027-01-15T08:00:00.000Z"));
    s.app.v1_flush().await;
    let mut r = s.app.store().reader().await.unwrap();
    let stored = r.get_bearer_key(&org, &key_id).await.unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(1_800_000_000_000));
    drop(r);
    // Retention: 1 day; rows older than that go, newer stay.
    s.app
        .set_setting(quorate_app::mgmt::audit::AuditRetention { days: 1 });
    clock.advance(2 * 86_400_000);
    assert_eq!(
        svc.get(&format!("/v1/organizations/{org}")).await.status,
        200
    );
    s.app.v1_flush().await;
    let deleted = s.app.v1_apply_retention().await.unwrap();
    assert!(deleted >= 6, "{deleted}");
    let left = root
        .get(&format!("/v1/api-keys/requests?key_id={key_id}"))
        .await;
    assert_eq!(left.data().as_array().unwrap().len(), 1);
    // Shutdown drains what is buffered.
    for _ in 0..3 {
        svc.get(&format!("/v1/organizations/{org}")).await;
    }
    let app = s.app.clone();
    let _dir = s.stop_keeping_store().await.unwrap();
    let mut r = app.store().reader().await.unwrap();
    let rows = quorate_store::mgmt::audit::list(
        r.db_handle().unwrap(),
        &org,
        &quorate_store::mgmt::audit::RequestFilter {
            key_id: Some(key_id.clone()),
            ..Default::default()
        },
        None,
        100,
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
}

/// `GET /v1/organizations` also names organizations outside the key's tree where the key's
/// creator (by email, case-insensitively) is a member, with the role there.
async fn organizations_of_the_current_user(backend: Backend) {
    let s = TestServer::start(backend, "v1_orgs_mine").await.unwrap();
    let parent = s.root.organization_id.clone();
    let (ka, kb) = (p256(), p256());
    let (a, _) = create_sub_org(&s.root_client(), &parent, "a", &ka).await;
    let (b, _) = create_sub_org(&s.root_client(), &parent, "b", &kb).await;
    let mut bob = Vec::new();
    for (org, key, email) in [(&a, ka, "Bob@Example.com"), (&b, kb, "bob@example.com")] {
        let act = s
            .client(key)
            .submit(
                "create_users",
                "ACTIVITY_TYPE_CREATE_USERS_V3",
                org,
                json!({"users": [{"userName": "bob", "userEmail": email, "apiKeys": [], "authenticators": [], "oauthProviders": [], "userTags": []}]}),
            )
            .await
            .unwrap();
        bob.push(completed(&act)["userIds"][0].as_str().unwrap().to_string());
    }
    let bob_a = key_for(&s, &a, &bob[0]).await;
    let listed = bob_a.get("/v1/organizations").await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let orgs: Vec<(String, String)> = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        orgs,
        vec![
            (a.clone(), "member".to_string()),
            (b.clone(), "member".to_string())
        ]
    );
    // Listed is not reach: the other organization's resources stay out of this key's reach.
    assert_eq!(
        bob_a.get(&format!("/v1/organizations/{b}")).await.status,
        404
    );
    // Paging keeps every organization exactly once.
    let first = bob_a.get("/v1/organizations?limit=1").await;
    assert_eq!(first.data().as_array().unwrap().len(), 1);
    let next = first.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let rest = bob_a
        .get(&format!("/v1/organizations?limit=1&cursor={next}"))
        .await;
    assert_eq!(rest.data()[0]["id"], json!(b), "{:?}", rest.body);
    assert!(rest.body["pagination"]["next_cursor"].is_null());
    s.stop().await.unwrap();
}
