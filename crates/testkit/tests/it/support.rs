//! Shared helpers: run a scenario on both stores, make keys, read results.

use quorate_client::{Client, ClientError};
use quorate_crypto::{keys::ApiKeyPair, ApiKeyCurve};
use quorate_proto::Activity;
use serde_json::{json, Value};

/// Defines `<name>_sqlite` and `<name>_postgres` tests running the same scenario.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(quorate_testkit::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(quorate_testkit::Backend::Postgres).await
                }
            )*
        }
    };
}

pub fn p256() -> ApiKeyPair {
    ApiKeyPair::generate(ApiKeyCurve::P256)
}

pub fn completed(a: &Activity) -> &Value {
    assert_eq!(
        a.status, "ACTIVITY_STATUS_COMPLETED",
        "activity not completed: {a:?}"
    );
    let obj = a.result.as_object().expect("result object");
    assert_eq!(
        obj.len(),
        1,
        "result must hold exactly one key: {:?}",
        a.result
    );
    obj.values().next().unwrap()
}

pub fn api_error(r: Result<impl std::fmt::Debug, ClientError>) -> (u16, String, String) {
    match r {
        Err(ClientError::Api { status, body }) => (
            status,
            body.turnkey_error_code().unwrap_or_default().to_string(),
            body.message,
        ),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Creates a user holding `key` (P-256) in `org`; returns the user id.
pub async fn create_user_with_key(
    client: &Client,
    org: &str,
    name: &str,
    key: &ApiKeyPair,
) -> String {
    let (activity, id) = client
        .create_user(org, name, Some(&key.public_key_hex()))
        .await
        .unwrap();
    completed(&activity);
    id.unwrap()
}

pub async fn create_sub_org(
    client: &Client,
    parent: &str,
    name: &str,
    root_key: &ApiKeyPair,
) -> (String, String) {
    let a = client
        .create_sub_organization(parent, name, &root_key.public_key_hex())
        .await
        .unwrap();
    let r = completed(&a);
    assert!(a.result.get("createSubOrganizationResultV8").is_some());
    (
        r["subOrganizationId"].as_str().unwrap().to_string(),
        r["rootUserIds"][0].as_str().unwrap().to_string(),
    )
}

pub fn user_params(name: &str, keys: Value, tags: Value) -> Value {
    json!({"userName": name, "apiKeys": keys, "authenticators": [], "oauthProviders": [], "userTags": tags})
}

/// A `/v1` secret key with exactly these scopes, made with `root`'s key.
pub async fn key_with(root: &quorate_testkit::v1::V1, scopes: &[&str]) -> quorate_testkit::v1::V1 {
    key_in_project(root, scopes, None).await
}

/// A `/v1` secret key with exactly these scopes in a project (or none), made with `root`'s key.
pub async fn key_in_project(
    root: &quorate_testkit::v1::V1,
    scopes: &[&str],
    project: Option<&str>,
) -> quorate_testkit::v1::V1 {
    let mut body = json!({"name": "narrow", "scopes": scopes});
    if let Some(p) = project {
        body["project_id"] = json!(p);
    }
    let a = root.post("/v1/api-keys", body).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    root.with_key(a.data()["revealed_key"].as_str().unwrap())
}

/// A full-scope `/v1` key acting as `user` of `org`, written straight to the store (the way
/// `quorate init` mints the root user's).
pub async fn key_for(
    s: &quorate_testkit::TestServer,
    org: &str,
    user: &str,
) -> quorate_testkit::v1::V1 {
    key_for_scopes(s, org, user, quorate_domain::bearer::SCOPES).await
}

pub async fn key_for_scopes(
    s: &quorate_testkit::TestServer,
    org: &str,
    user: &str,
    scopes: &[&str],
) -> quorate_testkit::v1::V1 {
    let secret = quorate_crypto::bearer::generate("sk", true).unwrap();
    let now = quorate_domain::Clock::now_ms(&quorate_domain::SystemClock);
    let mut record = quorate_app::mgmt::new_key_record(&secret, org, user, "test", now, "cli");
    record.scopes = scopes.iter().map(|s| s.to_string()).collect();
    let mut tx = s.app.store().begin(org).await.unwrap();
    tx.insert_bearer_key(&record).await.unwrap();
    tx.commit().await.unwrap();
    s.v1().with_key(secret.expose())
}
