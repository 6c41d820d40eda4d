//! Bad input gets a clear, stable 4xx in the SDK's error format; observability endpoints.

use crate::support::*;
use quorate_client::{Client, RawResponse};
use quorate_proto::ErrorBody;
use quorate_testkit::{Backend, TestServer};
use serde_json::json;

fn error_of(raw: &RawResponse) -> ErrorBody {
    assert_eq!(
        raw.content_type.as_deref(),
        Some("application/json"),
        "exact content type"
    );
    assert!(
        raw.request_id.is_some(),
        "every response carries a request id"
    );
    serde_json::from_slice(&raw.body)
        .unwrap_or_else(|e| panic!("error body {e}: {}", String::from_utf8_lossy(&raw.body)))
}

fn expect(raw: &RawResponse, status: u16, grpc: i32, code: &str) -> String {
    let body = error_of(raw);
    assert_eq!(
        (
            raw.status,
            body.code,
            body.turnkey_error_code().unwrap_or("")
        ),
        (status, grpc, code),
        "{}",
        body.message
    );
    body.message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamps_are_checked() {
    let s = TestServer::start(Backend::Sqlite, "stamps").await.unwrap();
    let c = s.root_client();
    let org = &s.root.organization_id;
    let body = json!({"organizationId": org}).to_string().into_bytes();
    let whoami = "/public/v1/query/whoami";

    let raw = c.post_with_stamp(whoami, body.clone(), None).await.unwrap();
    expect(&raw, 401, 16, "STAMP_MISSING");
    let raw = c
        .post_with_stamp(whoami, body.clone(), Some("not*base64".into()))
        .await
        .unwrap();
    expect(&raw, 401, 16, "STAMP_MALFORMED");
    // A valid stamp over different bytes: the body was altered after stamping.
    let stamp = c.key().stamp_header(&body);
    let mut altered = body.clone();
    altered.push(b' ');
    let raw = c
        .post_with_stamp(whoami, altered, Some(stamp.clone()))
        .await
        .unwrap();
    expect(&raw, 401, 16, "SIGNATURE_INVALID");
    let raw = c
        .post_with_stamp(whoami, body.clone(), Some(stamp))
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(raw.content_type.as_deref(), Some("application/json"));
    // Unknown key.
    let stranger = s.client(p256());
    let raw = stranger.post_raw(whoami, body.clone()).await.unwrap();
    expect(&raw, 401, 16, "PUBLIC_KEY_NOT_FOUND");
    // A live key of an unrelated organization.
    let other = TestServer::start(Backend::Sqlite, "stamps2").await.unwrap();
    let raw = c
        .post_raw(
            whoami,
            json!({"organizationId": other.root.organization_id})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap();
    expect(&raw, 403, 7, "ORGANIZATION_MISMATCH");
    other.stop().await.unwrap();
    // The WIRE.md example stamp is well-formed but from an unregistered key.
    let example = "eyJwdWJsaWNLZXkiOiIwMzYwNzZlNzgwMzhkZTVhMmQ0NDhlYTEyNzAxMTFhMzczYjY3Yzk1Nzg0ZTBkMzY5ZmQ5NjQyZDdmMDQxNDk5YjAiLCJzY2hlbWUiOiJTSUdOQVRVUkVfU0NIRU1FX1RLX0FQSV9QMjU2Iiwic2lnbmF0dXJlIjoiMzA0NjAyMjEwMGQwMGJjNTVmMTc3ZmI2OWIwN2I5Y2NkOWEyN2E3OTk4NzIwOThkMDBlOGE5MWFiZTg0NmMzODNiMDhiNGQwMjQwMjIxMDBkN2RhYzE0YTk2ODFiYThjODZiNTVkMDg0ZjgzZWNkNTc0MTU0ZmJjMGVlYWRiNGUwOTNkOWEzOTUzMDRhMGI3In0";
    let raw = c
        .post_with_stamp(
            whoami,
            br#"{"organizationId":"2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d"}"#.to_vec(),
            Some(example.into()),
        )
        .await
        .unwrap();
    expect(&raw, 401, 16, "PUBLIC_KEY_NOT_FOUND");
    // SDKs concatenate `baseUrl + "/public/…"`: a trailing slash in the base URL still works.
    let raw = c
        .post_raw("//public/v1/query/whoami", body.clone())
        .await
        .unwrap();
    assert_eq!(raw.status, 200, "{}", String::from_utf8_lossy(&raw.body));
    assert!(c.whoami(org).await.is_ok(), "still serving");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx() {
    let s = TestServer::start(Backend::Sqlite, "badinput")
        .await
        .unwrap();
    let c = s.root_client();
    let org = s.root.organization_id.clone();
    let submit = |path: &'static str, body: serde_json::Value| {
        let c = &c;
        async move {
            c.post_raw(
                &format!("/public/v1/submit/{path}"),
                body.to_string().into_bytes(),
            )
            .await
            .unwrap()
        }
    };
    let env = |ty: &str, params: serde_json::Value| json!({"type": ty, "timestampMs": "1700000000000", "organizationId": org, "parameters": params});

    let raw = c
        .post_raw("/public/v1/submit/create_users", b"{not json".to_vec())
        .await
        .unwrap();
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("not valid JSON"));
    let raw = submit(
        "create_users",
        env(
            "ACTIVITY_TYPE_CREATE_USERS_V4",
            json!({"users": [{"apiKeys": []}]}),
        ),
    )
    .await;
    let msg = expect(&raw, 400, 3, "REQUEST_INVALID");
    assert!(
        msg.contains("parameters.users[0]") && msg.contains("userName"),
        "{msg}"
    );
    let raw = submit(
        "create_users",
        env(
            "ACTIVITY_TYPE_CREATE_USERS_V4",
            json!({"users": [user_params("a", json!([]), json!([]))], "surprise": 1}),
        ),
    )
    .await;
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("unknown field `surprise`"));
    let raw = submit(
        "create_users",
        env("ACTIVITY_TYPE_CREATE_PRIVATE_KEYS_V2", json!({})),
    )
    .await;
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("`type`"));
    let raw = submit(
        "create_api_keys",
        env("ACTIVITY_TYPE_CREATE_API_KEYS_V2", json!({"userId": s.root.user_id, "apiKeys": [{"apiKeyName": "k", "publicKey": p256().public_key_hex(), "curveType": "API_KEY_CURVE_RSA"}]})),
    )
    .await;
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("`parameters.apiKeys[0].curveType`"));
    let raw = submit("create_api_keys", env("ACTIVITY_TYPE_CREATE_API_KEYS_V2", json!({"userId": s.root.user_id, "apiKeys": [{"apiKeyName": "k", "publicKey": "02abcd", "curveType": "API_KEY_CURVE_P256"}]}))).await;
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("`parameters.apiKeys[0].publicKey`"));
    let raw = submit(
        "delete_users",
        env(
            "ACTIVITY_TYPE_DELETE_USERS",
            json!({"userIds": ["not-a-uuid"]}),
        ),
    )
    .await;
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("`parameters.userIds[0]`"));
    let nul = env(
        "ACTIVITY_TYPE_CREATE_USERS_V4",
        json!({"users": [user_params("a\u{0}b", json!([]), json!([]))]}),
    );
    let raw = submit("create_users", nul).await;
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("control characters"));
    let mut missing = env("ACTIVITY_TYPE_DELETE_USERS", json!({"userIds": []}));
    missing.as_object_mut().unwrap().remove("timestampMs");
    assert!(expect(
        &submit("delete_users", missing).await,
        400,
        3,
        "REQUEST_INVALID"
    )
    .contains("timestampMs"));
    let raw = c
        .post_raw(
            "/public/v1/query/list_activities",
            json!({"organizationId": org, "filterByStatus": ["ACTIVITY_STATUS_NOPE"]})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap();
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("filterByStatus[0]"));
    let raw = c
        .post_raw(
            "/public/v1/query/list_activities",
            json!({"organizationId": org, "paginationOptions": {"limit": "1000"}})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap();
    assert!(expect(&raw, 400, 3, "REQUEST_INVALID").contains("paginationOptions.limit"));
    let raw = c
        .post_raw(
            "/public/v1/query/get_user",
            json!({"organizationId": org, "userId": "7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f"})
                .to_string()
                .into_bytes(),
        )
        .await
        .unwrap();
    expect(&raw, 404, 5, "NOT_FOUND");
    // Oversize body.
    let big = vec![b' '; quorate_server::MAX_BODY + 10];
    let raw = c
        .post_raw("/public/v1/submit/create_users", big)
        .await
        .unwrap();
    expect(&raw, 413, 3, "PAYLOAD_TOO_LARGE");
    // Unknown and not-yet-implemented routes.
    let raw = c
        .post_raw("/public/v1/submit/no_such_thing", b"{}".to_vec())
        .await
        .unwrap();
    expect(&raw, 404, 5, "ROUTE_NOT_FOUND");
    let raw = c
        .post_raw("/public/v1/submit/create_invitations", b"{}".to_vec())
        .await
        .unwrap();
    expect(&raw, 501, 12, "NOT_IMPLEMENTED");
    let raw = c
        .post_raw("/public/v1/query/get_authenticators", b"{}".to_vec())
        .await
        .unwrap();
    expect(&raw, 501, 12, "NOT_IMPLEMENTED");
    let raw = c.post_raw("/elsewhere", b"{}".to_vec()).await.unwrap();
    expect(&raw, 404, 5, "ROUTE_NOT_FOUND");
    // Authenticators are not supported yet: a clear 501, not a crash.
    let raw = submit(
        "create_users",
        env("ACTIVITY_TYPE_CREATE_USERS_V4", json!({"users": [{"userName": "p", "apiKeys": [], "authenticators": [{"authenticatorName": "a", "challenge": "c", "attestation": {}}], "oauthProviders": [], "userTags": []}]})),
    )
    .await;
    expect(&raw, 501, 12, "NOT_IMPLEMENTED");
    // The Rust SDK sends unset optionals as null.
    let raw = submit("create_users", json!({"type": "ACTIVITY_TYPE_CREATE_USERS_V4", "timestampMs": "1700000000001", "organizationId": org, "parameters": {"users": [{"userName": "n", "userEmail": null, "userPhoneNumber": null, "apiKeys": [], "authenticators": [], "oauthProviders": [], "userTags": []}]}, "generateAppProofs": null})).await;
    assert_eq!(raw.status, 200, "{}", String::from_utf8_lossy(&raw.body));
    assert!(c.whoami(&org).await.is_ok());
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_endpoints() {
    let s = TestServer::start(Backend::Sqlite, "ops").await.unwrap();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", s.base_url)).send();
    assert_eq!(get("/health").await.unwrap().status(), 200);
    let ready = get("/ready").await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().contains("sqlite"));
    let c = s.root_client();
    c.whoami(&s.root.organization_id).await.unwrap();
    c.create_user(&s.root.organization_id, "m", None)
        .await
        .unwrap();
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("quorate_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/public/v1/query/whoami\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("quorate_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(metrics.contains("quorate_activities_total"), "{metrics}");
    // The OpenAPI document covers every served route.
    let doc: serde_json::Value = get("/openapi.json").await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/v1/organizations/{org_id}/public",
        "/public/v1/query/whoami",
        "/public/v1/submit/create_sub_organization",
        "/public/v1/submit/create_wallet",
    ] {
        assert!(paths.contains_key(p), "{p} missing from openapi");
    }
    for name in quorate_app::query::QUERY_PATHS {
        assert!(
            paths[&format!("/public/v1/query/{name}")]["post"]["responses"]["200"].is_object(),
            "{name}"
        );
    }
    for name in quorate_domain::catalog::implemented_paths() {
        assert!(
            paths[&format!("/public/v1/submit/{name}")]["post"]["responses"]["200"].is_object(),
            "{name}"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for r in doc.to_string().match_indices("#/components/schemas/") {
        let rest = &doc.to_string()[r.0 + 21..];
        let name: String = rest.chars().take_while(|c| *c != '"').collect();
        assert!(schemas.contains_key(&name), "dangling schema ref {name}");
    }
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_allows_stamp_headers() {
    let s = TestServer::start(Backend::Sqlite, "cors").await.unwrap();
    let resp = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/public/v1/query/whoami", s.base_url),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-stamp")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("x-stamp"), "{allowed}");
    let _ = Client::new(&s.base_url, p256());
    s.stop().await.unwrap();
}

/// The management API answers in its own envelope: data + meta, or error + meta.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_envelope() {
    let s = TestServer::start(Backend::Sqlite, "v1_envelope")
        .await
        .unwrap();
    let org = s.root.organization_id.clone();
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{}{path}", s.base_url))
            .header("x-request-id", "req-1")
            .send()
    };
    for path in [
        format!("/v1/organizations/{org}/public"),
        format!("/v1/orgs/{org}/public"),
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["data"]["id"], json!(org));
        assert_eq!(body["data"]["object"], json!("organization_public"));
        assert_eq!(body["data"]["name"], json!("root"));
        assert_eq!(body["meta"]["request_id"], json!("req-1"));
    }
    for (path, status) in [
        (
            "/v1/organizations/7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f/public".to_string(),
            404,
        ),
        ("/v1/organizations/not-an-id/public".to_string(), 404),
        ("/v1/nothing/here".to_string(), 404),
    ] {
        let r = get(path.clone()).await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], json!("not_found"), "{path}");
        assert!(body["error"]["message"].is_string());
        assert_eq!(body["meta"]["request_id"], json!("req-1"));
    }
    s.stop().await.unwrap();
}

/// A management-API secret key: init mints one for the root user; it reads its organization
/// and sub-organizations, nothing else; bad, unknown and missing keys are 401s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_bearer_keys() {
    let s = TestServer::start(Backend::Sqlite, "v1_bearer")
        .await
        .unwrap();
    let org = s.root.organization_id.clone();
    let sub_key = p256();
    let (sub, _) = create_sub_org(&s.root_client(), &org, "tenant", &sub_key).await;
    let http = reqwest::Client::new();
    let get = |path: String, auth: Option<String>| {
        let mut r = http.get(format!("{}{path}", s.base_url));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let bearer = Some(format!("Bearer {}", s.root.secret_key));
    assert!(s.root.secret_key.starts_with("sk_live_"));
    quorate_crypto::bearer::parse(&s.root.secret_key).unwrap();
    for id in [&org, &sub] {
        let r = get(format!("/v1/organizations/{id}"), bearer.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (body["data"]["id"].as_str(), body["data"]["object"].as_str()),
            (Some(id.as_str()), Some("organization"))
        );
        assert!(body["data"]["created_at"].as_str().unwrap().ends_with('Z'));
    }
    let mut typo = s.root.secret_key.clone().into_bytes();
    typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
    let unknown = quorate_crypto::bearer::generate("sk", true).unwrap();
    for (auth, code) in [
        (None, "unauthenticated"),
        (Some("Basic abc".to_string()), "unauthenticated"),
        (
            Some(format!("Bearer {}", String::from_utf8(typo).unwrap())),
            "invalid_api_key",
        ),
        (
            Some(format!("Bearer {}", unknown.expose())),
            "invalid_api_key",
        ),
    ] {
        let r = get(format!("/v1/organizations/{org}"), auth.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], json!(code), "{auth:?}");
    }
    let elsewhere = get(
        "/v1/organizations/7d3c4b8e-1f2a-4b5c-9d6e-0a1b2c3d4e5f".to_string(),
        bearer,
    )
    .await
    .unwrap();
    assert_eq!(elsewhere.status(), 404);
    s.stop().await.unwrap();
}

/// `/v1/api-keys`: create with at most the caller's scopes (secret shown once), list without
/// secrets, revoke (the key stops working at once), scope checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_api_keys() {
    let s = TestServer::start(Backend::Sqlite, "v1_api_keys")
        .await
        .unwrap();
    let org = s.root.organization_id.clone();
    let http = reqwest::Client::new();
    let root = format!("Bearer {}", s.root.secret_key);
    let url = |p: &str| format!("{}{p}", s.base_url);
    let create = |auth: String, body: serde_json::Value| {
        http.post(url("/v1/api-keys"))
            .header("authorization", auth)
            .json(&body)
            .send()
    };

    let r = create(
        root.clone(),
        json!({"name": "reader", "scopes": ["organizations:read"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let secret = body["data"]["revealed_key"].as_str().unwrap().to_string();
    let key_id = body["data"]["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sk_live_") && key_id.starts_with("key_"));
    assert_eq!(body["data"]["key_prefix"].as_str().unwrap(), &secret[..12]);
    assert_eq!(body["data"]["created_by_user_id"], json!(s.root.user_id));

    // The new key reads its organization, and nothing its scopes do not cover.
    let reader = format!("Bearer {secret}");
    let r = http
        .get(url(&format!("/v1/organizations/{org}")))
        .header("authorization", &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(url("/v1/api-keys"))
        .header("authorization", &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("scope_missing"));

    // Listing never shows a secret.
    let r = http
        .get(url("/v1/api-keys"))
        .header("authorization", &root)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        !text.contains(&secret[8..]),
        "a secret leaked into the listing"
    );
    let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert!(listed["pagination"].is_object());

    // Bad requests name the field; a key cannot grant what it does not hold.
    for (body, code) in [
        (
            json!({"name": "x", "scopes": ["nope:read"]}),
            "validation_failed",
        ),
        (json!({"name": "x", "scopes": []}), "validation_failed"),
        (
            json!({"name": "x", "type": "publishable", "scopes": [], "allowed_origins": []}),
            "validation_failed",
        ),
        (
            json!({"name": "x", "scopes": ["organizations:read"], "extra": 1}),
            "validation_failed",
        ),
        (
            json!({"name": "x", "scopes": ["organizations:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            "validation_failed",
        ),
    ] {
        let r = create(root.clone(), body.clone()).await.unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], json!(code), "{body}");
    }
    let manager = create(
        root.clone(),
        json!({"name": "manager", "scopes": ["api_keys:manage"]}),
    )
    .await
    .unwrap();
    let manager: serde_json::Value = manager.json().await.unwrap();
    let manager = format!(
        "Bearer {}",
        manager["data"]["revealed_key"].as_str().unwrap()
    );
    let r = create(
        manager.clone(),
        json!({"name": "escalate", "scopes": ["organizations:read"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], json!("scope_escalation"));
    let pk = create(root.clone(), json!({"name": "browser", "type": "publishable", "allowed_origins": ["https://app.example.com"]})).await.unwrap();
    assert_eq!(pk.status(), 201);
    let pk: serde_json::Value = pk.json().await.unwrap();
    assert!(pk["data"]["revealed_key"]
        .as_str()
        .unwrap()
        .starts_with("pk_live_"));

    // Revoke: the key stops at once; revoking again is 404.
    let r = http
        .delete(url(&format!("/v1/api-keys/{key_id}")))
        .header("authorization", &root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (
            b["data"]["revoked"].as_bool(),
            b["data"]["is_active"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let r = http
        .get(url(&format!("/v1/organizations/{org}")))
        .header("authorization", &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], json!("api_key_revoked"));
    let r = http
        .delete(url(&format!("/v1/api-keys/{key_id}")))
        .header("authorization", &root)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    s.stop().await.unwrap();
}
