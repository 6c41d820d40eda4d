//! The store conformance suite: every check runs, unchanged, against SQLite and PostgreSQL
//! (see `main.rs`). Checks take the store as `Arc<dyn Store>` and only use the trait surface.

use quorate_domain::{Activity, ActivityStatus, ApiKey, Failure, Organization, Tag, TagKind, User};
use quorate_store::{
    ActivityQuery, Backend, ChainHead, LogEntry, Page, Store, StoreError, StoreTx, SubOrgFilter,
};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

pub type DynStore = Arc<dyn Store>;

/// A fixed epoch for deterministic timestamps.
const T0: i64 = 1_700_000_000_000;

/// How long a writer that must be blocked is given to (wrongly) get through. This is a
/// negative check only; ordering is asserted with flags set by the lock holder.
const BLOCKED: Duration = Duration::from_millis(400);
/// Generous bound for things that must happen.
const SOON: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Builders and helpers
// ---------------------------------------------------------------------------------------------

fn genesis(org: &str) -> String {
    format!("genesis:{org}")
}

fn org(id: &str, name: &str, parent: Option<&str>, at: i64) -> Organization {
    Organization {
        id: id.to_string(),
        name: name.to_string(),
        parent_id: parent.map(str::to_string),
        root_quorum_threshold: 1,
        root_user_ids: Vec::new(),
        features: vec![(
            "FEATURE_NAME_WEBHOOK".to_string(),
            "https://example.test/hook".to_string(),
        )],
        version: 0,
        v1: Default::default(),
        created_at: at,
        updated_at: at,
    }
}

fn user(
    org: &str,
    id: &str,
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
    at: i64,
) -> User {
    User {
        id: id.to_string(),
        organization_id: org.to_string(),
        name: name.to_string(),
        email: email.map(str::to_string),
        phone_number: phone.map(str::to_string),
        tag_ids: Vec::new(),
        api_keys: Vec::new(),
        created_at: at,
        updated_at: at,
    }
}

fn key(org: &str, user: &str, id: &str, public_key: &str, at: i64) -> ApiKey {
    ApiKey {
        id: id.to_string(),
        organization_id: org.to_string(),
        user_id: user.to_string(),
        name: format!("key {id}"),
        public_key: public_key.to_string(),
        curve: "API_KEY_CURVE_P256".to_string(),
        expiration_seconds: None,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    }
}

fn tag(org: &str, id: &str, name: &str, kind: TagKind, at: i64) -> Tag {
    Tag {
        id: id.to_string(),
        organization_id: org.to_string(),
        name: name.to_string(),
        kind,
        created_at: at,
        updated_at: at,
    }
}

const TYPE_A: &str = "ACTIVITY_TYPE_CREATE_USERS_V3";
const TYPE_B: &str = "ACTIVITY_TYPE_CREATE_API_KEYS_V2";

fn activity(org: &str, id: &str, ty: &str, status: ActivityStatus, at: i64) -> Activity {
    Activity {
        id: id.to_string(),
        organization_id: org.to_string(),
        activity_type: ty.to_string(),
        status,
        fingerprint: format!("sha256:{id}"),
        intent: json!({ "createUsersIntent": { "users": [{ "userName": id, "n": 1.5 }] } }),
        result: json!({}),
        failure: None,
        votes: Vec::new(),
        user_id: "submitter".to_string(),
        created_at: at,
        updated_at: at,
    }
}

fn entry(org: &str, seq: i64, activity_id: &str, prev_hash: &str) -> LogEntry {
    LogEntry {
        organization_id: org.to_string(),
        seq,
        activity_id: activity_id.to_string(),
        digest: format!("digest:{activity_id}"),
        prev_hash: prev_hash.to_string(),
        hash: format!("hash:{seq}:{activity_id}"),
    }
}

fn page(limit: u32, after: Option<&str>, before: Option<&str>) -> Page {
    Page {
        limit,
        after: after.map(str::to_string),
        before: before.map(str::to_string),
    }
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| id(i).to_string()).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn expect_err<T>(r: quorate_store::Result<T>, what: &str) -> StoreError {
    match r {
        Ok(_) => panic!("{what}: expected an error, got Ok"),
        Err(e) => e,
    }
}

fn assert_conflict<T>(r: quorate_store::Result<T>, what: &str) {
    let e = expect_err(r, what);
    assert!(
        matches!(e, StoreError::Conflict(_)),
        "{what}: expected Conflict, got {e:?}"
    );
}

fn assert_not_found<T>(r: quorate_store::Result<T>, what: &str) {
    let e = expect_err(r, what);
    assert!(
        matches!(e, StoreError::NotFound),
        "{what}: expected NotFound, got {e:?}"
    );
}

async fn begin(store: &DynStore, org: &str) -> Box<dyn StoreTx> {
    store.begin(org).await.unwrap()
}

/// The root organization `init` created.
pub struct Root {
    pub org: String,
    pub user: String,
    pub key: String,
}

/// What `quorate init` does: root org, user and key, quorum, meta row, in one transaction.
async fn init(store: &DynStore) -> Root {
    let root = Root {
        org: "root-org".to_string(),
        user: "root-user".to_string(),
        key: "root-key".to_string(),
    };
    let mut tx = store.begin_init().await.unwrap();
    tx.insert_organization(&org(&root.org, "root", None, T0), &genesis(&root.org))
        .await
        .unwrap();
    tx.insert_user(&user(
        &root.org,
        &root.user,
        "root",
        Some("root@example.test"),
        None,
        T0,
    ))
    .await
    .unwrap();
    tx.insert_api_key(&key(&root.org, &root.user, &root.key, "pk-root", T0))
        .await
        .unwrap();
    tx.set_root_quorum(&root.org, 1, std::slice::from_ref(&root.user))
        .await
        .unwrap();
    tx.set_meta("root_organization_id", &root.org)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    root
}

/// Inserts sub-organizations of `parent` in one transaction, in the given order.
async fn insert_sub_orgs(store: &DynStore, parent: &str, subs: &[(&str, &str)], at: i64) {
    let mut tx = begin(store, parent).await;
    for (i, (id, name)) in subs.iter().enumerate() {
        tx.insert_organization(&org(id, name, Some(parent), at + i as i64), &genesis(id))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// Migrations ran; a fresh store has no root; init is one transaction; a second init is a
/// `Conflict` that changes nothing.
pub async fn init_once(store: DynStore) {
    store.ping().await.unwrap();
    assert_eq!(store.root_organization_id().await.unwrap(), None);
    assert!(store.list_organization_ids().await.unwrap().is_empty());

    // An init transaction dropped without commit leaves nothing behind, not even its claim.
    {
        let mut tx = store.begin_init().await.unwrap();
        assert_eq!(
            tx.chain_head(),
            &ChainHead {
                seq: 0,
                hash: String::new()
            }
        );
        tx.insert_organization(&org("abandoned", "x", None, T0), &genesis("abandoned"))
            .await
            .unwrap();
        tx.set_meta("root_organization_id", "abandoned")
            .await
            .unwrap();
    }
    assert_eq!(store.root_organization_id().await.unwrap(), None);
    assert!(store.list_organization_ids().await.unwrap().is_empty());

    let mut tx = store.begin_init().await.unwrap();
    assert_eq!(
        tx.chain_head(),
        &ChainHead {
            seq: 0,
            hash: String::new()
        }
    );
    tx.insert_organization(&org("root-org", "root", None, T0), &genesis("root-org"))
        .await
        .unwrap();
    tx.insert_user(&user("root-org", "root-user", "root", None, None, T0))
        .await
        .unwrap();
    tx.insert_api_key(&key("root-org", "root-user", "root-key", "pk-root", T0))
        .await
        .unwrap();
    tx.set_root_quorum("root-org", 1, &strings(&["root-user"]))
        .await
        .unwrap();
    tx.set_meta("root_organization_id", "root-org")
        .await
        .unwrap();
    // The transaction sees its own writes; the store does not until commit.
    let in_tx = tx.get_organization("root-org").await.unwrap().unwrap();
    assert_eq!(in_tx.root_user_ids, strings(&["root-user"]));
    assert_eq!(store.root_organization_id().await.unwrap(), None);
    assert_eq!(
        store
            .reader()
            .await
            .unwrap()
            .get_organization("root-org")
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();

    assert_eq!(
        store.root_organization_id().await.unwrap().as_deref(),
        Some("root-org")
    );
    let mut expected = org("root-org", "root", None, T0);
    expected.root_user_ids = strings(&["root-user"]);
    let mut r = store.reader().await.unwrap();
    assert_eq!(
        r.get_organization("root-org").await.unwrap(),
        Some(expected.clone())
    );
    let u = r.get_user("root-org", "root-user").await.unwrap().unwrap();
    assert_eq!(ids(&u.api_keys, |k| &k.id), strings(&["root-key"]));
    drop(r);
    assert_eq!(
        store.chain_head("root-org").await.unwrap(),
        ChainHead {
            seq: 0,
            hash: genesis("root-org")
        }
    );
    assert_eq!(
        store.list_organization_ids().await.unwrap(),
        strings(&["root-org"])
    );

    // A second init fails and changes nothing.
    assert_conflict(store.begin_init().await, "second begin_init");
    assert_conflict(store.begin_init().await, "third begin_init");
    assert_eq!(
        store.root_organization_id().await.unwrap().as_deref(),
        Some("root-org")
    );
    assert_eq!(
        store.list_organization_ids().await.unwrap(),
        strings(&["root-org"])
    );
    let mut r = store.reader().await.unwrap();
    assert_eq!(
        r.get_organization("root-org").await.unwrap(),
        Some(expected)
    );
    assert_eq!(r.list_users("root-org").await.unwrap().len(), 1);
}

/// Two concurrent inits: the second waits for the first; it proceeds when the first rolls
/// back and fails with `Conflict` when the first commits.
pub async fn concurrent_init(store: DynStore) {
    for commit in [false, true] {
        let (held_tx, held_rx) = oneshot::channel::<()>();
        let (go, go_rx) = oneshot::channel::<()>();
        let finishing = Arc::new(AtomicBool::new(false));
        let first = tokio::spawn({
            let store = store.clone();
            let finishing = finishing.clone();
            async move {
                let mut tx = store.begin_init().await.unwrap();
                tx.insert_organization(&org("first", "first", None, T0), &genesis("first"))
                    .await
                    .unwrap();
                tx.set_meta("root_organization_id", "first").await.unwrap();
                held_tx.send(()).unwrap();
                go_rx.await.unwrap();
                finishing.store(true, Ordering::SeqCst);
                if commit {
                    tx.commit().await.unwrap();
                }
            }
        });
        held_rx.await.unwrap();
        let mut second = tokio::spawn({
            let store = store.clone();
            let finishing = finishing.clone();
            async move {
                let r = store.begin_init().await.map(|_tx| ());
                (finishing.load(Ordering::SeqCst), r)
            }
        });
        assert!(
            tokio::time::timeout(BLOCKED, &mut second).await.is_err(),
            "a second begin_init must wait for the first init transaction"
        );
        go.send(()).unwrap();
        tokio::time::timeout(SOON, first).await.unwrap().unwrap();
        let (seen, r) = tokio::time::timeout(SOON, second).await.unwrap().unwrap();
        assert!(
            seen,
            "the second begin_init completed before the first one finished"
        );
        if commit {
            assert_conflict(r, "begin_init racing a committed init");
        } else {
            r.unwrap();
            assert_eq!(store.root_organization_id().await.unwrap(), None);
        }
    }
    assert_eq!(
        store.root_organization_id().await.unwrap().as_deref(),
        Some("first")
    );
    assert_eq!(
        store.list_organization_ids().await.unwrap(),
        strings(&["first"])
    );
}

/// Data and migrations survive reopening the same database (migrations are idempotent).
pub async fn reopen_keeps_data(
    store: DynStore,
    reopened: impl std::future::Future<Output = DynStore>,
) {
    let root = init(&store).await;
    let again = reopened.await;
    assert_eq!(again.backend(), store.backend());
    assert_eq!(
        again.root_organization_id().await.unwrap(),
        Some(root.org.clone())
    );
    assert_conflict(again.begin_init().await, "begin_init after reopen");
    let mut r = again.reader().await.unwrap();
    assert_eq!(
        r.get_organization(&root.org)
            .await
            .unwrap()
            .unwrap()
            .root_user_ids,
        [root.user]
    );
}

/// Organizations: insert/get, root quorum, sub-organization listing with every filter and
/// cursor, soft deletion.
pub async fn organizations(store: DynStore) {
    let root = init(&store).await;
    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_organization("no-such-org").await.unwrap(), None);
    drop(r);

    insert_sub_orgs(
        &store,
        &root.org,
        &[
            ("s1", "alpha"),
            ("s2", "beta"),
            ("s3", "gamma"),
            ("s4", "delta"),
        ],
        T0 + 10,
    )
    .await;
    // Not direct children of the root: must never be listed under it.
    insert_sub_orgs(&store, "s1", &[("s1-child", "alpha")], T0 + 20).await;

    let mut tx = begin(&store, &root.org).await;
    tx.insert_user(&user(
        "s1",
        "u1",
        "alice",
        Some("alice@example.test"),
        Some("+15550001"),
        T0 + 30,
    ))
    .await
    .unwrap();
    tx.insert_user(&user("s1", "u1b", "alice-2", None, None, T0 + 31))
        .await
        .unwrap();
    tx.insert_user(&user(
        "s2",
        "u2",
        "bob",
        Some("bob@example.test"),
        Some("+15550002"),
        T0 + 32,
    ))
    .await
    .unwrap();
    tx.insert_api_key(&key("s2", "u2", "k2", "pk-bob", T0 + 33))
        .await
        .unwrap();
    tx.insert_user(&user(
        "s3",
        "u3",
        "alice",
        Some("alice3@example.test"),
        None,
        T0 + 34,
    ))
    .await
    .unwrap();
    tx.insert_user(&user(
        "s1-child",
        "uc",
        "bob",
        Some("bob@example.test"),
        None,
        T0 + 35,
    ))
    .await
    .unwrap();
    tx.set_root_quorum("s1", 2, &strings(&["u1", "u1b"]))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    let mut expected = org("s1", "alpha", Some(&root.org), T0 + 10);
    expected.root_quorum_threshold = 2;
    expected.root_user_ids = strings(&["u1", "u1b"]);
    assert_eq!(
        r.get_organization("s1").await.unwrap(),
        Some(expected.clone())
    );
    drop(r);

    // set_root_quorum replaces the set; bump_version bumps.
    let mut tx = begin(&store, "s1").await;
    tx.set_root_quorum("s1", 1, &strings(&["u1b"]))
        .await
        .unwrap();
    tx.bump_version("s1", T0 + 40).await.unwrap();
    tx.commit().await.unwrap();
    let got = store
        .reader()
        .await
        .unwrap()
        .get_organization("s1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.root_quorum_threshold, 1);
    assert_eq!(got.root_user_ids, strings(&["u1b"]));
    assert_eq!(got.version, 1);
    assert_eq!(got.updated_at, T0 + 40);
    assert_eq!(got.created_at, T0 + 10);

    let mut r = store.reader().await.unwrap();
    let all = page(10, None, None);
    assert_eq!(
        r.list_sub_organizations(&root.org, &SubOrgFilter::None, &all)
            .await
            .unwrap(),
        strings(&["s1", "s2", "s3", "s4"])
    );
    for (filter, want) in [
        (SubOrgFilter::Name("beta".into()), vec!["s2"]),
        (SubOrgFilter::Name("alpha".into()), vec!["s1"]),
        (SubOrgFilter::Name("nope".into()), vec![]),
        (SubOrgFilter::Username("alice".into()), vec!["s1", "s3"]),
        (SubOrgFilter::Username("bob".into()), vec!["s2"]),
        (SubOrgFilter::Username("carol".into()), vec![]),
        (SubOrgFilter::Email("bob@example.test".into()), vec!["s2"]),
        (
            SubOrgFilter::Email("alice3@example.test".into()),
            vec!["s3"],
        ),
        (SubOrgFilter::PhoneNumber("+15550001".into()), vec!["s1"]),
        (SubOrgFilter::PhoneNumber("+19999999".into()), vec![]),
        (SubOrgFilter::PublicKey("pk-bob".into()), vec!["s2"]),
        (SubOrgFilter::PublicKey("pk-root".into()), vec![]),
        (SubOrgFilter::Nothing, vec![]),
    ] {
        assert_eq!(
            r.list_sub_organizations(&root.org, &filter, &all)
                .await
                .unwrap(),
            strings(&want),
            "filter {filter:?}"
        );
    }
    assert_eq!(
        r.list_sub_organizations("s1", &SubOrgFilter::None, &all)
            .await
            .unwrap(),
        strings(&["s1-child"])
    );
    assert_eq!(
        r.list_sub_organizations("s1", &SubOrgFilter::Username("bob".into()), &all)
            .await
            .unwrap(),
        strings(&["s1-child"])
    );

    // Cursor pagination (oldest first; `after` walks forward, `before` backward, pages keep
    // listing order).
    let none = SubOrgFilter::None;
    for (p, want) in [
        (page(2, None, None), vec!["s1", "s2"]),
        (page(2, Some("s2"), None), vec!["s3", "s4"]),
        (page(2, Some("s4"), None), vec![]),
        (page(10, Some("s1"), None), vec!["s2", "s3", "s4"]),
        (page(10, None, Some("s3")), vec!["s1", "s2"]),
        (page(2, None, Some("s4")), vec!["s2", "s3"]),
        (page(1, None, Some("s4")), vec!["s3"]),
        (page(10, None, Some("s1")), vec![]),
        (page(10, Some("s1"), Some("s4")), vec!["s2", "s3"]),
    ] {
        assert_eq!(
            r.list_sub_organizations(&root.org, &none, &p)
                .await
                .unwrap(),
            strings(&want),
            "page {p:?}"
        );
    }
    assert_eq!(
        r.list_sub_organizations(
            &root.org,
            &SubOrgFilter::Username("alice".into()),
            &page(10, Some("s1"), None)
        )
        .await
        .unwrap(),
        strings(&["s3"])
    );
    assert_eq!(
        r.list_sub_organizations(
            &root.org,
            &SubOrgFilter::Username("alice".into()),
            &page(10, None, Some("s3"))
        )
        .await
        .unwrap(),
        strings(&["s1"])
    );
    // Unknown cursors.
    assert_not_found(
        r.list_sub_organizations(&root.org, &none, &page(10, Some("missing"), None))
            .await,
        "unknown after cursor",
    );
    assert_not_found(
        r.list_sub_organizations(&root.org, &none, &page(10, None, Some("missing")))
            .await,
        "unknown before cursor",
    );
    assert_not_found(
        r.list_sub_organizations(
            &root.org,
            &SubOrgFilter::Name("alpha".into()),
            &page(10, Some("missing"), None),
        )
        .await,
        "unknown cursor with filter",
    );
    drop(r);

    // Soft deletion hides the organization, its users and keys.
    let mut tx = begin(&store, &root.org).await;
    tx.mark_organization_deleted("s2", T0 + 50).await.unwrap();
    // The deleting transaction already sees it gone.
    assert_eq!(tx.get_organization("s2").await.unwrap(), None);
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_organization("s2").await.unwrap(), None);
    assert_eq!(r.get_user("s2", "u2").await.unwrap(), None);
    assert!(r.list_users("s2").await.unwrap().is_empty());
    assert_eq!(r.get_api_key("s2", "k2").await.unwrap(), None);
    assert!(r.list_api_keys("s2", None).await.unwrap().is_empty());
    let found = r.find_api_keys_by_public_key("pk-bob").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "k2");
    assert_eq!(found[0].deleted_at, Some(T0 + 50));
    assert_eq!(
        r.list_sub_organizations(&root.org, &none, &all)
            .await
            .unwrap(),
        strings(&["s1", "s3", "s4"])
    );
    for filter in [
        SubOrgFilter::Name("beta".into()),
        SubOrgFilter::Username("bob".into()),
        SubOrgFilter::Email("bob@example.test".into()),
        SubOrgFilter::PublicKey("pk-bob".into()),
    ] {
        assert!(
            r.list_sub_organizations(&root.org, &filter, &all)
                .await
                .unwrap()
                .is_empty(),
            "{filter:?} still matches a deleted organization"
        );
    }
    // A deleted organization's id still works as a cursor (pages stay stable under deletion).
    assert_eq!(
        r.list_sub_organizations(&root.org, &none, &page(10, Some("s2"), None))
            .await
            .unwrap(),
        strings(&["s3", "s4"])
    );
    // Other organizations are untouched.
    assert_eq!(r.list_users("s1").await.unwrap().len(), 2);
    drop(r);
    // No writes to a deleted organization; its chain head and id remain for verification.
    assert_not_found(store.begin("s2").await, "begin on a deleted organization");
    assert_eq!(
        store.chain_head("s2").await.unwrap(),
        ChainHead {
            seq: 0,
            hash: genesis("s2")
        }
    );
    assert!(store
        .list_organization_ids()
        .await
        .unwrap()
        .contains(&"s2".to_string()));
    assert_not_found(
        store.begin("no-such-org").await,
        "begin on an unknown organization",
    );
}

/// A cursor must be an item of the listing asked for: ids of other organizations' items are
/// unknown cursors.
pub async fn cursors_are_scoped(store: DynStore) {
    let root = init(&store).await;
    insert_sub_orgs(&store, &root.org, &[("p1", "p1"), ("p2", "p2")], T0 + 1).await;
    insert_sub_orgs(&store, "p1", &[("p1-a", "a"), ("p1-b", "b")], T0 + 5).await;
    let mut tx = begin(&store, "p2").await;
    tx.insert_activity(&activity(
        "p2",
        "p2-act",
        TYPE_A,
        ActivityStatus::Completed,
        T0 + 10,
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = begin(&store, "p1").await;
    tx.insert_activity(&activity(
        "p1",
        "p1-act",
        TYPE_A,
        ActivityStatus::Completed,
        T0 + 11,
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    // p1-a is a sub-organization of p1, not of the root.
    assert_not_found(
        r.list_sub_organizations(
            &root.org,
            &SubOrgFilter::None,
            &page(10, Some("p1-a"), None),
        )
        .await,
        "sub-organization cursor of another parent",
    );
    // p2-act belongs to p2, not p1.
    let q = ActivityQuery {
        page: page(10, Some("p2-act"), None),
        ..Default::default()
    };
    assert_not_found(
        r.list_activities("p1", &q).await,
        "activity cursor of another organization",
    );
    let q = ActivityQuery {
        page: page(10, None, Some("p2-act")),
        ..Default::default()
    };
    assert_not_found(
        r.list_activities("p1", &q).await,
        "activity cursor of another organization",
    );
    // Own cursors still work.
    let q = ActivityQuery {
        page: page(10, None, Some("p1-act")),
        ..Default::default()
    };
    assert!(r.list_activities("p1", &q).await.unwrap().is_empty());
}

/// Users: insert/get/list with keys and tags attached, update, soft delete.
pub async fn users(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    insert_sub_orgs(&store, o, &[("sub", "sub")], T0 + 1).await;

    let u1 = user(
        o,
        "u1",
        "alice",
        Some("alice@example.test"),
        Some("+15550001"),
        T0 + 10,
    );
    let u2 = user(o, "u2", "bob", None, None, T0 + 11);
    let k1a = key(o, "u1", "k1a", "pk-1a", T0 + 12);
    let mut k1b = key(o, "u1", "k1b", "pk-1b", T0 + 13);
    k1b.expiration_seconds = Some(3600);
    let k2 = key(o, "u2", "k2", "pk-2", T0 + 14);
    let t_admins = tag(o, "t-admins", "admins", TagKind::User, T0 + 15);
    let t_ops = tag(o, "t-ops", "ops", TagKind::User, T0 + 16);
    let t_keys = tag(o, "t-keys", "keys", TagKind::PrivateKey, T0 + 17);

    let mut tx = begin(&store, o).await;
    tx.insert_user(&u1).await.unwrap();
    tx.insert_user(&u2).await.unwrap();
    for k in [&k1a, &k1b, &k2] {
        tx.insert_api_key(k).await.unwrap();
    }
    for t in [&t_admins, &t_ops, &t_keys] {
        tx.insert_tag(t).await.unwrap();
    }
    tx.add_tag_member("t-admins", "u1").await.unwrap();
    tx.add_tag_member("t-ops", "u1").await.unwrap();
    tx.add_tag_member("t-ops", "u2").await.unwrap();
    tx.add_tag_member("t-keys", "some-private-key")
        .await
        .unwrap();
    tx.set_root_quorum(o, 1, &strings(&[&root.user, "u1"]))
        .await
        .unwrap();
    // Reads inside the transaction see keys and tags attached already.
    let in_tx = tx.get_user(o, "u1").await.unwrap().unwrap();
    assert_eq!(ids(&in_tx.api_keys, |k| &k.id), strings(&["k1a", "k1b"]));
    tx.commit().await.unwrap();

    let mut expected1 = u1.clone();
    expected1.api_keys = vec![k1a.clone(), k1b.clone()];
    expected1.tag_ids = strings(&["t-admins", "t-ops"]);
    let mut expected2 = u2.clone();
    expected2.api_keys = vec![k2.clone()];
    expected2.tag_ids = strings(&["t-ops"]);

    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_user(o, "u1").await.unwrap(), Some(expected1.clone()));
    assert_eq!(r.get_user(o, "u2").await.unwrap(), Some(expected2.clone()));
    assert_eq!(
        r.get_user("sub", "u1").await.unwrap(),
        None,
        "users are scoped to their org"
    );
    assert_eq!(r.get_user(o, "nobody").await.unwrap(), None);
    let listed = r.list_users(o).await.unwrap();
    assert_eq!(ids(&listed, |u| &u.id), strings(&[&root.user, "u1", "u2"]));
    assert_eq!(listed[1], expected1);
    assert_eq!(listed[2], expected2);
    assert!(r.list_users("sub").await.unwrap().is_empty());
    assert_eq!(
        r.get_organization(o).await.unwrap().unwrap().root_user_ids,
        strings(&[&root.user, "u1"])
    );
    drop(r);

    // update_user changes the profile, not keys or tags.
    let mut changed = u1.clone();
    changed.name = "alice-renamed".into();
    changed.email = None;
    changed.phone_number = Some("+15559999".into());
    changed.updated_at = T0 + 20;
    let mut tx = begin(&store, o).await;
    tx.update_user(&changed).await.unwrap();
    let mut missing = u1.clone();
    missing.id = "nobody".into();
    assert_not_found(
        tx.update_user(&missing).await,
        "update_user of a missing user",
    );
    let mut wrong_org = u1.clone();
    wrong_org.organization_id = "sub".into();
    assert_not_found(
        tx.update_user(&wrong_org).await,
        "update_user in the wrong organization",
    );
    assert_not_found(
        tx.delete_user(o, "nobody", T0 + 21).await,
        "delete_user of a missing user",
    );
    assert_not_found(
        tx.delete_user("sub", "u1", T0 + 21).await,
        "delete_user in the wrong org",
    );
    drop(tx);
    // The errors above were in a dropped transaction: redo the update for real.
    let mut tx = begin(&store, o).await;
    tx.update_user(&changed).await.unwrap();
    tx.commit().await.unwrap();
    let mut expected1b = changed.clone();
    expected1b.api_keys = expected1.api_keys.clone();
    expected1b.tag_ids = expected1.tag_ids.clone();
    assert_eq!(
        store
            .reader()
            .await
            .unwrap()
            .get_user(o, "u1")
            .await
            .unwrap(),
        Some(expected1b)
    );

    // Soft delete.
    let mut tx = begin(&store, o).await;
    tx.delete_user(o, "u1", T0 + 30).await.unwrap();
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_user(o, "u1").await.unwrap(), None);
    assert_eq!(
        ids(&r.list_users(o).await.unwrap(), |u| &u.id),
        strings(&[&root.user, "u2"])
    );
    assert!(r.list_api_keys(o, Some("u1")).await.unwrap().is_empty());
    assert_eq!(
        ids(&r.list_api_keys(o, None).await.unwrap(), |k| &k.id),
        strings(&[&root.key, "k2"])
    );
    assert_eq!(r.get_api_key(o, "k1a").await.unwrap(), None);
    let mut deleted = k1a.clone();
    deleted.deleted_at = Some(T0 + 30);
    deleted.updated_at = T0 + 30;
    assert_eq!(
        r.find_api_keys_by_public_key("pk-1a").await.unwrap(),
        vec![deleted]
    );
    let found = r.find_api_keys_by_public_key("pk-1b").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].deleted_at, Some(T0 + 30));
    assert_eq!(found[0].expiration_seconds, Some(3600));
    assert_eq!(
        r.get_organization(o).await.unwrap().unwrap().root_user_ids,
        strings(&[&root.user]),
        "a deleted user is no longer a root user"
    );
    // u2 keeps its own memberships.
    assert_eq!(r.get_user(o, "u2").await.unwrap(), Some(expected2));
    drop(r);
    let mut tx = begin(&store, o).await;
    assert!(tx.tag_members("t-admins").await.unwrap().is_empty());
    assert_eq!(tx.tag_members("t-ops").await.unwrap(), strings(&["u2"]));
    assert_eq!(
        tx.tag_members("t-keys").await.unwrap(),
        strings(&["some-private-key"])
    );
    assert_not_found(
        tx.update_user(&changed).await,
        "update_user of a deleted user",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_not_found(tx.delete_user(o, "u1", T0 + 40).await, "delete_user twice");
    drop(tx);

    // A deleted user's attributes no longer match sub-organization filters.
    let mut tx = begin(&store, o).await;
    tx.insert_user(&user(
        "sub",
        "carol",
        "carol",
        Some("carol@example.test"),
        None,
        T0 + 50,
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let by_name = SubOrgFilter::Username("carol".into());
    let by_email = SubOrgFilter::Email("carol@example.test".into());
    let mut r = store.reader().await.unwrap();
    assert_eq!(
        r.list_sub_organizations(o, &by_name, &page(10, None, None))
            .await
            .unwrap(),
        strings(&["sub"])
    );
    drop(r);
    let mut tx = begin(&store, "sub").await;
    tx.delete_user("sub", "carol", T0 + 51).await.unwrap();
    tx.commit().await.unwrap();
    let mut r = store.reader().await.unwrap();
    assert!(r
        .list_sub_organizations(o, &by_name, &page(10, None, None))
        .await
        .unwrap()
        .is_empty());
    assert!(r
        .list_sub_organizations(o, &by_email, &page(10, None, None))
        .await
        .unwrap()
        .is_empty());
}

/// API keys: insert, get, list by organization and by user, delete, find across organizations.
pub async fn api_keys(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    insert_sub_orgs(&store, o, &[("sub", "sub")], T0 + 1).await;

    let mut ka = key(o, "u1", "ka", "pk-shared", T0 + 10);
    ka.expiration_seconds = Some(60);
    let kb = key(o, "u1", "kb", "pk-b", T0 + 11);
    let kc = key(o, "u2", "kc", "pk-c", T0 + 12);
    let kd = key("sub", "u3", "kd", "pk-shared", T0 + 13);

    let mut tx = begin(&store, o).await;
    tx.insert_user(&user(o, "u1", "one", None, None, T0 + 5))
        .await
        .unwrap();
    tx.insert_user(&user(o, "u2", "two", None, None, T0 + 6))
        .await
        .unwrap();
    tx.insert_user(&user("sub", "u3", "three", None, None, T0 + 7))
        .await
        .unwrap();
    for k in [&ka, &kb, &kc, &kd] {
        tx.insert_api_key(k).await.unwrap();
    }
    assert_eq!(tx.get_api_key(o, "ka").await.unwrap(), Some(ka.clone()));
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_api_key(o, "ka").await.unwrap(), Some(ka.clone()));
    assert_eq!(r.get_api_key("sub", "kd").await.unwrap(), Some(kd.clone()));
    assert_eq!(
        r.get_api_key("sub", "ka").await.unwrap(),
        None,
        "keys are scoped to their org"
    );
    assert_eq!(r.get_api_key(o, "nope").await.unwrap(), None);
    assert_eq!(
        ids(&r.list_api_keys(o, None).await.unwrap(), |k| &k.id),
        strings(&[&root.key, "ka", "kb", "kc"])
    );
    assert_eq!(
        r.list_api_keys(o, Some("u1")).await.unwrap(),
        vec![ka.clone(), kb.clone()]
    );
    assert_eq!(
        r.list_api_keys(o, Some("u2")).await.unwrap(),
        vec![kc.clone()]
    );
    assert!(
        r.list_api_keys(o, Some("u3")).await.unwrap().is_empty(),
        "u3 is in another org"
    );
    assert!(r.list_api_keys(o, Some("nobody")).await.unwrap().is_empty());
    assert_eq!(
        r.list_api_keys("sub", None).await.unwrap(),
        vec![kd.clone()]
    );
    assert_eq!(
        r.find_api_keys_by_public_key("pk-shared").await.unwrap(),
        vec![ka.clone(), kd.clone()]
    );
    assert!(r
        .find_api_keys_by_public_key("pk-none")
        .await
        .unwrap()
        .is_empty());
    drop(r);

    // Duplicate ids are conflicts.
    let mut tx = begin(&store, o).await;
    assert_conflict(
        tx.insert_api_key(&key(o, "u2", "kb", "pk-other", T0 + 20))
            .await,
        "dup key id",
    );
    drop(tx);

    let mut tx = begin(&store, o).await;
    tx.delete_api_key(o, "ka", T0 + 30).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = begin(&store, o).await;
    assert_not_found(
        tx.delete_api_key(o, "ka", T0 + 31).await,
        "delete_api_key twice",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_not_found(
        tx.delete_api_key("sub", "kb", T0 + 31).await,
        "delete in the wrong org",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_not_found(
        tx.delete_api_key(o, "nope", T0 + 31).await,
        "delete of a missing key",
    );
    drop(tx);

    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_api_key(o, "ka").await.unwrap(), None);
    assert_eq!(
        r.list_api_keys(o, Some("u1")).await.unwrap(),
        vec![kb.clone()]
    );
    assert_eq!(
        ids(&r.list_api_keys(o, None).await.unwrap(), |k| &k.id),
        strings(&[&root.key, "kb", "kc"])
    );
    let mut ka_deleted = ka.clone();
    ka_deleted.deleted_at = Some(T0 + 30);
    ka_deleted.updated_at = T0 + 30;
    assert_eq!(
        r.find_api_keys_by_public_key("pk-shared").await.unwrap(),
        vec![ka_deleted, kd.clone()]
    );
    // The user's attached keys follow.
    let u1 = r.get_user(o, "u1").await.unwrap().unwrap();
    assert_eq!(u1.api_keys, vec![kb]);
}

/// Tags: insert, rename, membership, delete, list by kind, name uniqueness.
pub async fn tags(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    insert_sub_orgs(&store, o, &[("sub", "sub")], T0 + 1).await;

    let admins = tag(o, "t-admins", "admins", TagKind::User, T0 + 10);
    let ops = tag(o, "t-ops", "ops", TagKind::User, T0 + 11);
    let keys = tag(o, "t-keys", "keys", TagKind::PrivateKey, T0 + 12);
    // The same name under another kind, and in another organization, is fine.
    let admins_pk = tag(o, "t-admins-pk", "admins", TagKind::PrivateKey, T0 + 13);
    let admins_sub = tag("sub", "t-admins-sub", "admins", TagKind::User, T0 + 14);

    let mut tx = begin(&store, o).await;
    tx.insert_user(&user(o, "u1", "one", None, None, T0 + 2))
        .await
        .unwrap();
    tx.insert_user(&user(o, "u2", "two", None, None, T0 + 3))
        .await
        .unwrap();
    for t in [&admins, &ops, &keys, &admins_pk, &admins_sub] {
        tx.insert_tag(t).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    assert_eq!(
        r.get_tag(o, "t-admins").await.unwrap(),
        Some(admins.clone())
    );
    assert_eq!(r.get_tag(o, "t-keys").await.unwrap(), Some(keys.clone()));
    assert_eq!(
        r.get_tag("sub", "t-admins").await.unwrap(),
        None,
        "tags are scoped to their org"
    );
    assert_eq!(
        r.list_tags(o, TagKind::User).await.unwrap(),
        vec![admins.clone(), ops.clone()]
    );
    assert_eq!(
        r.list_tags(o, TagKind::PrivateKey).await.unwrap(),
        vec![keys.clone(), admins_pk.clone()]
    );
    assert_eq!(
        r.list_tags("sub", TagKind::User).await.unwrap(),
        vec![admins_sub.clone()]
    );
    assert!(r
        .list_tags("sub", TagKind::PrivateKey)
        .await
        .unwrap()
        .is_empty());
    drop(r);

    // Duplicate name within (org, kind), and duplicate id, are conflicts.
    let mut tx = begin(&store, o).await;
    assert_conflict(
        tx.insert_tag(&tag(o, "t-dup", "admins", TagKind::User, T0 + 20))
            .await,
        "duplicate tag name",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_conflict(
        tx.insert_tag(&tag(o, "t-ops", "other", TagKind::User, T0 + 20))
            .await,
        "duplicate tag id",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_conflict(
        tx.rename_tag(o, "t-ops", "admins", T0 + 21).await,
        "rename onto a taken name",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_not_found(
        tx.rename_tag(o, "t-none", "x", T0 + 21).await,
        "rename of a missing tag",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_not_found(
        tx.rename_tag("sub", "t-ops", "x", T0 + 21).await,
        "rename in the wrong org",
    );
    drop(tx);

    // Rename and members.
    let mut tx = begin(&store, o).await;
    tx.rename_tag(o, "t-ops", "operators", T0 + 30)
        .await
        .unwrap();
    tx.add_tag_member("t-admins", "u2").await.unwrap();
    tx.add_tag_member("t-admins", "u1").await.unwrap();
    tx.add_tag_member("t-admins", "u1").await.unwrap(); // idempotent
    tx.add_tag_member("t-ops", "u2").await.unwrap();
    tx.add_tag_member("t-keys", "pk-1").await.unwrap();
    assert_eq!(
        tx.tag_members("t-admins").await.unwrap(),
        strings(&["u1", "u2"])
    );
    tx.commit().await.unwrap();

    let mut tx = begin(&store, o).await;
    tx.add_tag_member("t-admins", "u2").await.unwrap(); // idempotent across transactions
    assert_eq!(
        tx.tag_members("t-admins").await.unwrap(),
        strings(&["u1", "u2"])
    );
    tx.remove_tag_member("t-admins", "u1").await.unwrap();
    tx.remove_tag_member("t-admins", "u1").await.unwrap(); // absent: fine
    tx.remove_tag_member("t-admins", "never").await.unwrap();
    assert_eq!(tx.tag_members("t-admins").await.unwrap(), strings(&["u2"]));
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    let mut renamed = ops.clone();
    renamed.name = "operators".into();
    renamed.updated_at = T0 + 30;
    assert_eq!(r.get_tag(o, "t-ops").await.unwrap(), Some(renamed.clone()));
    assert_eq!(
        r.list_tags(o, TagKind::User).await.unwrap(),
        vec![admins.clone(), renamed.clone()]
    );
    assert_eq!(
        r.get_user(o, "u1").await.unwrap().unwrap().tag_ids,
        Vec::<String>::new()
    );
    assert_eq!(
        r.get_user(o, "u2").await.unwrap().unwrap().tag_ids,
        strings(&["t-admins", "t-ops"])
    );
    drop(r);
    // The old name is free again.
    let mut tx = begin(&store, o).await;
    tx.insert_tag(&tag(o, "t-ops2", "ops", TagKind::User, T0 + 31))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Delete removes the tag and its memberships.
    let mut tx = begin(&store, o).await;
    tx.delete_tag(o, "t-admins").await.unwrap();
    assert!(tx.tag_members("t-admins").await.unwrap().is_empty());
    tx.commit().await.unwrap();
    let mut tx = begin(&store, o).await;
    assert_not_found(tx.delete_tag(o, "t-admins").await, "delete_tag twice");
    drop(tx);

    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_tag(o, "t-admins").await.unwrap(), None);
    assert_eq!(
        ids(&r.list_tags(o, TagKind::User).await.unwrap(), |t| &t.id),
        strings(&["t-ops", "t-ops2"])
    );
    assert_eq!(
        r.get_user(o, "u2").await.unwrap().unwrap().tag_ids,
        strings(&["t-ops"])
    );
    assert_eq!(
        r.list_tags("sub", TagKind::User).await.unwrap(),
        vec![admins_sub]
    );
    drop(r);
    let mut tx = begin(&store, o).await;
    assert!(tx.tag_members("t-admins").await.unwrap().is_empty());
    assert_eq!(tx.tag_members("t-keys").await.unwrap(), strings(&["pk-1"]));
    // Deleted name is free again.
    tx.insert_tag(&tag(o, "t-admins-2", "admins", TagKind::User, T0 + 40))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Activities: insert/get/find/update, fingerprint uniqueness, newest-first listing with filters
/// and cursors, oldest-first full listing.
pub async fn activities(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    insert_sub_orgs(&store, o, &[("sub", "sub")], T0 + 1).await;

    use ActivityStatus::*;
    let mut a = vec![
        activity(o, "a1", TYPE_A, Completed, T0 + 10),
        activity(o, "a2", TYPE_B, Pending, T0 + 11),
        activity(o, "a3", TYPE_A, ConsensusNeeded, T0 + 12),
        activity(o, "a4", TYPE_A, Completed, T0 + 13),
        activity(o, "a5", TYPE_B, Failed, T0 + 14),
        activity(o, "a6", TYPE_A, Completed, T0 + 15),
    ];
    a[0].result = json!({ "createUsersResult": { "userIds": ["x", "y"] } });
    a[4].failure = Some(Failure {
        code: 9,
        message: "quorum \"not\" met".into(),
        reason: "QUORUM_NOT_MET".into(),
    });
    // Another organization may reuse a fingerprint.
    let mut x1 = activity("sub", "x1", TYPE_A, Completed, T0 + 16);
    x1.fingerprint = a[0].fingerprint.clone();

    // Separate transactions for a few, one for the rest: order is insertion order either way.
    for act in &a[..2] {
        let mut tx = begin(&store, o).await;
        tx.insert_activity(act).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = begin(&store, o).await;
    for act in &a[2..] {
        tx.insert_activity(act).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = begin(&store, "sub").await;
    tx.insert_activity(&x1).await.unwrap();
    tx.commit().await.unwrap();

    let mut r = store.reader().await.unwrap();
    for act in &a {
        assert_eq!(
            r.get_activity(o, &act.id).await.unwrap().as_ref(),
            Some(act)
        );
    }
    assert_eq!(
        r.get_activity("sub", "a1").await.unwrap(),
        None,
        "scoped to the org"
    );
    assert_eq!(r.get_activity(o, "nope").await.unwrap(), None);
    assert_eq!(
        r.find_activity_by_fingerprint(o, &a[2].fingerprint)
            .await
            .unwrap()
            .as_ref(),
        Some(&a[2])
    );
    assert_eq!(
        r.find_activity_by_fingerprint("sub", &a[0].fingerprint)
            .await
            .unwrap(),
        Some(x1.clone())
    );
    assert_eq!(
        r.find_activity_by_fingerprint("sub", &a[2].fingerprint)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        r.find_activity_by_fingerprint(o, "sha256:none")
            .await
            .unwrap(),
        None
    );
    drop(r);

    // (organization, fingerprint) and id are unique.
    let mut dup = activity(o, "a-dup", TYPE_A, Created, T0 + 20);
    dup.fingerprint = a[3].fingerprint.clone();
    let mut tx = begin(&store, o).await;
    assert_conflict(tx.insert_activity(&dup).await, "duplicate fingerprint");
    drop(tx);
    let mut tx = begin(&store, o).await;
    assert_conflict(
        tx.insert_activity(&activity(o, "a4", TYPE_A, Created, T0 + 20))
            .await,
        "duplicate activity id",
    );
    drop(tx);

    // update_activity changes status/result/failure/updated_at only.
    let mut a2 = a[1].clone();
    a2.status = Completed;
    a2.result = json!({ "createApiKeysResult": { "apiKeyIds": ["k"] } });
    a2.updated_at = T0 + 30;
    let mut a3 = a[2].clone();
    a3.status = Rejected;
    a3.failure = Some(Failure {
        code: 7,
        message: "rejected".into(),
        reason: "REJECTED".into(),
    });
    a3.updated_at = T0 + 31;
    let mut tx = begin(&store, o).await;
    tx.update_activity(&a2).await.unwrap();
    tx.update_activity(&a3).await.unwrap();
    let mut ghost = a2.clone();
    ghost.id = "ghost".into();
    assert_not_found(
        tx.update_activity(&ghost).await,
        "update of a missing activity",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    tx.update_activity(&a2).await.unwrap();
    tx.update_activity(&a3).await.unwrap();
    // Clearing a failure works too.
    let mut a5 = a[4].clone();
    a5.failure = None;
    a5.status = Completed;
    a5.updated_at = T0 + 32;
    tx.update_activity(&a5).await.unwrap();
    let mut wrong_org = a[0].clone();
    wrong_org.organization_id = "sub".into();
    assert_not_found(
        tx.update_activity(&wrong_org).await,
        "update in the wrong org",
    );
    drop(tx);
    let mut tx = begin(&store, o).await;
    for act in [&a2, &a3, &a5] {
        tx.update_activity(act).await.unwrap();
    }
    tx.commit().await.unwrap();
    a[1] = a2;
    a[2] = a3;
    a[4] = a5;
    // Now: a1 C(A), a2 C(B), a3 Rejected(A), a4 C(A), a5 C(B), a6 C(A). Make a5 Failed again to
    // keep statuses varied.
    let mut a5 = a[4].clone();
    a5.status = Failed;
    a5.failure = Some(Failure {
        code: 2,
        message: "boom".into(),
        reason: "INTERNAL".into(),
    });
    a5.updated_at = T0 + 33;
    let mut tx = begin(&store, o).await;
    tx.update_activity(&a5).await.unwrap();
    tx.commit().await.unwrap();
    a[4] = a5;

    let mut r = store.reader().await.unwrap();
    for act in &a {
        assert_eq!(
            r.get_activity(o, &act.id).await.unwrap().as_ref(),
            Some(act)
        );
    }
    let q = |statuses: &[ActivityStatus], types: &[&str], p: Page| ActivityQuery {
        statuses: statuses.iter().map(|s| s.as_str().to_string()).collect(),
        types: strings(types),
        page: p,
    };
    // Full listing content is exact.
    let full = r
        .list_activities(o, &q(&[], &[], page(100, None, None)))
        .await
        .unwrap();
    let mut newest_first = a.clone();
    newest_first.reverse();
    assert_eq!(full, newest_first);

    for (query, want) in [
        (q(&[], &[], page(2, None, None)), vec!["a6", "a5"]),
        (q(&[], &[], page(2, Some("a5"), None)), vec!["a4", "a3"]),
        (q(&[], &[], page(10, Some("a3"), None)), vec!["a2", "a1"]),
        (q(&[], &[], page(10, Some("a1"), None)), vec![]),
        (q(&[], &[], page(2, None, Some("a3"))), vec!["a5", "a4"]),
        (
            q(&[], &[], page(10, None, Some("a2"))),
            vec!["a6", "a5", "a4", "a3"],
        ),
        (q(&[], &[], page(1, None, Some("a2"))), vec!["a3"]),
        (q(&[], &[], page(10, None, Some("a6"))), vec![]),
        (
            q(&[], &[], page(10, Some("a6"), Some("a3"))),
            vec!["a5", "a4"],
        ),
        (
            q(&[Completed], &[], page(10, None, None)),
            vec!["a6", "a4", "a2", "a1"],
        ),
        (
            q(&[Completed, Failed], &[TYPE_B], page(10, None, None)),
            vec!["a5", "a2"],
        ),
        (
            q(&[], &[TYPE_A], page(10, None, None)),
            vec!["a6", "a4", "a3", "a1"],
        ),
        (
            q(&[], &[TYPE_A, TYPE_B], page(10, None, None)),
            vec!["a6", "a5", "a4", "a3", "a2", "a1"],
        ),
        (q(&[Rejected], &[TYPE_A], page(10, None, None)), vec!["a3"]),
        (q(&[Pending], &[], page(10, None, None)), vec![]),
        (q(&[Rejected], &[TYPE_B], page(10, None, None)), vec![]),
        // Filters with cursors: the cursor need not match the filter.
        (
            q(&[], &[TYPE_A], page(2, Some("a4"), None)),
            vec!["a3", "a1"],
        ),
        (
            q(&[], &[TYPE_A], page(2, Some("a5"), None)),
            vec!["a4", "a3"],
        ),
        (
            q(&[Completed], &[], page(2, None, Some("a3"))),
            vec!["a6", "a4"],
        ),
        (
            q(&[Completed], &[TYPE_A], page(1, None, Some("a1"))),
            vec!["a4"],
        ),
    ] {
        let got = r.list_activities(o, &query).await.unwrap();
        assert_eq!(ids(&got, |x| &x.id), strings(&want), "query {query:?}");
    }
    for p in [
        page(10, Some("missing"), None),
        page(10, None, Some("missing")),
    ] {
        assert_not_found(
            r.list_activities(o, &q(&[], &[], p)).await,
            "unknown activity cursor",
        );
    }
    assert_eq!(
        r.list_activities("sub", &q(&[], &[], page(10, None, None)))
            .await
            .unwrap(),
        vec![x1.clone()]
    );
    drop(r);

    assert_eq!(store.list_all_activities(o).await.unwrap(), a);
    assert_eq!(store.list_all_activities("sub").await.unwrap(), vec![x1]);
    assert!(store
        .list_all_activities("no-such-org")
        .await
        .unwrap()
        .is_empty());
}

/// The log: append_log advances the chain head in the transaction and in the store; list_log is
/// ordered; a dropped transaction leaves nothing.
pub async fn log_and_rollback(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    insert_sub_orgs(&store, o, &[("sub", "sub")], T0 + 1).await;
    let g = genesis(o);
    assert_eq!(
        store.chain_head(o).await.unwrap(),
        ChainHead {
            seq: 0,
            hash: g.clone()
        }
    );
    assert!(store.list_log(o).await.unwrap().is_empty());
    assert_not_found(
        store.chain_head("no-such-org").await,
        "chain_head of an unknown org",
    );

    let e1 = entry(o, 1, "a1", &g);
    let mut tx = begin(&store, o).await;
    assert_eq!(
        tx.chain_head(),
        &ChainHead {
            seq: 0,
            hash: g.clone()
        }
    );
    tx.insert_activity(&activity(
        o,
        "a1",
        TYPE_A,
        ActivityStatus::Completed,
        T0 + 10,
    ))
    .await
    .unwrap();
    tx.append_log(&e1).await.unwrap();
    assert_eq!(
        tx.chain_head(),
        &ChainHead {
            seq: 1,
            hash: e1.hash.clone()
        }
    );
    // Not visible outside before commit.
    assert_eq!(
        store.chain_head(o).await.unwrap(),
        ChainHead {
            seq: 0,
            hash: g.clone()
        }
    );
    assert!(store.list_log(o).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(
        store.chain_head(o).await.unwrap(),
        ChainHead {
            seq: 1,
            hash: e1.hash.clone()
        }
    );

    let mut tx = begin(&store, o).await;
    assert_eq!(
        tx.chain_head(),
        &ChainHead {
            seq: 1,
            hash: e1.hash.clone()
        }
    );
    let e2 = entry(o, 2, "a2", &e1.hash);
    let e3 = entry(o, 3, "a1", &e2.hash); // an activity can be logged again (status change)
    tx.insert_activity(&activity(o, "a2", TYPE_B, ActivityStatus::Pending, T0 + 11))
        .await
        .unwrap();
    tx.append_log(&e2).await.unwrap();
    assert_eq!(tx.chain_head().seq, 2);
    tx.append_log(&e3).await.unwrap();
    assert_eq!(
        tx.chain_head(),
        &ChainHead {
            seq: 3,
            hash: e3.hash.clone()
        }
    );
    tx.commit().await.unwrap();
    assert_eq!(
        store.list_log(o).await.unwrap(),
        vec![e1.clone(), e2.clone(), e3.clone()]
    );
    let head3 = ChainHead {
        seq: 3,
        hash: e3.hash.clone(),
    };
    assert_eq!(store.chain_head(o).await.unwrap(), head3);

    // A sequence number cannot be reused.
    let mut tx = begin(&store, o).await;
    assert_conflict(
        tx.append_log(&entry(o, 3, "a2", &e2.hash)).await,
        "duplicate log seq",
    );
    drop(tx);

    // Rollback: everything a dropped transaction wrote is gone, and the lock is released.
    let counts = |log: usize, acts: usize| (log, acts);
    let before = counts(
        store.list_log(o).await.unwrap().len(),
        store.list_all_activities(o).await.unwrap().len(),
    );
    assert_eq!(before, (3, 2));
    let version_before = store
        .reader()
        .await
        .unwrap()
        .get_organization(o)
        .await
        .unwrap()
        .unwrap();
    {
        let mut tx = begin(&store, o).await;
        tx.insert_activity(&activity(o, "a4", TYPE_A, ActivityStatus::Created, T0 + 20))
            .await
            .unwrap();
        tx.append_log(&entry(o, 4, "a4", &e3.hash)).await.unwrap();
        tx.insert_user(&user(o, "ghost", "ghost", None, None, T0 + 20))
            .await
            .unwrap();
        tx.insert_tag(&tag(o, "t-ghost", "ghost", TagKind::User, T0 + 20))
            .await
            .unwrap();
        tx.bump_version(o, T0 + 20).await.unwrap();
        tx.insert_organization(
            &org("ghost-org", "ghost", Some(o), T0 + 20),
            &genesis("ghost-org"),
        )
        .await
        .unwrap();
        assert_eq!(tx.chain_head().seq, 4);
        assert!(tx.get_activity(o, "a4").await.unwrap().is_some());
        // dropped here without commit
    }
    let mut tx = begin(&store, o).await; // the lock was released
    assert_eq!(tx.chain_head(), &head3);
    assert_eq!(tx.get_activity(o, "a4").await.unwrap(), None);
    drop(tx);
    assert_eq!(store.chain_head(o).await.unwrap(), head3);
    assert_eq!(
        store.list_log(o).await.unwrap(),
        vec![e1.clone(), e2.clone(), e3.clone()]
    );
    assert_eq!(
        counts(
            store.list_log(o).await.unwrap().len(),
            store.list_all_activities(o).await.unwrap().len()
        ),
        before
    );
    let mut r = store.reader().await.unwrap();
    assert_eq!(r.get_activity(o, "a4").await.unwrap(), None);
    assert_eq!(r.get_user(o, "ghost").await.unwrap(), None);
    assert_eq!(r.get_tag(o, "t-ghost").await.unwrap(), None);
    assert_eq!(r.get_organization("ghost-org").await.unwrap(), None);
    assert_eq!(
        r.get_organization(o).await.unwrap().unwrap(),
        version_before
    );
    drop(r);
    assert!(!store
        .list_organization_ids()
        .await
        .unwrap()
        .contains(&"ghost-org".to_string()));

    // Continuing after a rollback yields seq 4.
    let mut tx = begin(&store, o).await;
    let e4 = entry(o, 4, "a2", &e3.hash);
    tx.append_log(&e4).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.list_log(o).await.unwrap(),
        vec![e1, e2, e3, e4.clone()]
    );
    assert_eq!(
        store.chain_head(o).await.unwrap(),
        ChainHead {
            seq: 4,
            hash: e4.hash
        }
    );

    // Each organization has its own chain.
    assert!(store.list_log("sub").await.unwrap().is_empty());
    assert_eq!(
        store.chain_head("sub").await.unwrap(),
        ChainHead {
            seq: 0,
            hash: genesis("sub")
        }
    );
    let mut tx = begin(&store, "sub").await;
    assert_eq!(
        tx.chain_head(),
        &ChainHead {
            seq: 0,
            hash: genesis("sub")
        }
    );
    let s1 = entry("sub", 1, "sa", &genesis("sub"));
    tx.append_log(&s1).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.list_log("sub").await.unwrap(), vec![s1]);
    assert_eq!(store.chain_head(o).await.unwrap().seq, 4);
}

/// Holds `org`'s write transaction in a task until told to commit.
struct Holder {
    committing: Arc<AtomicBool>,
    go: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    entry: LogEntry,
}

async fn hold(store: &DynStore, org: &str) -> Holder {
    let (held_tx, held_rx) = oneshot::channel::<LogEntry>();
    let (go, go_rx) = oneshot::channel::<()>();
    let committing = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn({
        let store = store.clone();
        let org = org.to_string();
        let committing = committing.clone();
        async move {
            let mut tx = store.begin(&org).await.unwrap();
            let head = tx.chain_head().clone();
            let e = entry(&org, head.seq + 1, "held", &head.hash);
            tx.append_log(&e).await.unwrap();
            held_tx.send(e).unwrap();
            go_rx.await.unwrap();
            // Set before committing: whoever gets the lock after us must observe it.
            committing.store(true, Ordering::SeqCst);
            tx.commit().await.unwrap();
        }
    });
    let entry = held_rx.await.unwrap();
    Holder {
        committing,
        go,
        task,
        entry,
    }
}

/// Spawns a task that opens a write transaction on `org` and reports whether the holder had
/// started committing by then, and the chain head it saw.
fn contender(
    store: &DynStore,
    org: &str,
    committing: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(bool, ChainHead)> {
    let store = store.clone();
    let org = org.to_string();
    tokio::spawn(async move {
        let tx = store.begin(&org).await.unwrap();
        let seen = committing.load(Ordering::SeqCst);
        let head = tx.chain_head().clone();
        drop(tx);
        (seen, head)
    })
}

/// Two writers of one organization are serialized: the second `begin` waits for the first
/// commit and then sees its writes. Readers are never blocked by the writer.
pub async fn same_org_writers_serialize(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    let holder = hold(&store, o).await;

    // Reads go on while the lock is held, and see the committed state only.
    assert_eq!(
        tokio::time::timeout(SOON, store.chain_head(o))
            .await
            .unwrap()
            .unwrap(),
        ChainHead {
            seq: 0,
            hash: genesis(o)
        }
    );
    let got = tokio::time::timeout(SOON, async {
        store
            .reader()
            .await
            .unwrap()
            .get_organization(o)
            .await
            .unwrap()
    })
    .await
    .unwrap();
    assert!(got.is_some());

    let mut b = contender(&store, o, holder.committing.clone());
    assert!(
        tokio::time::timeout(BLOCKED, &mut b).await.is_err(),
        "begin on an organization whose lock is held must wait"
    );
    holder.go.send(()).unwrap();
    tokio::time::timeout(SOON, holder.task)
        .await
        .unwrap()
        .unwrap();
    let (seen, head) = tokio::time::timeout(SOON, b).await.unwrap().unwrap();
    assert!(
        seen,
        "the second begin completed before the first transaction committed"
    );
    assert_eq!(
        head,
        ChainHead {
            seq: 1,
            hash: holder.entry.hash.clone()
        }
    );
    assert_eq!(store.list_log(o).await.unwrap(), vec![holder.entry]);
}

/// Writers of different organizations: in parallel on PostgreSQL (row lock per organization);
/// serialized on SQLite, which has a single writer (the store's in-process write lock), so
/// the second organization's `begin` waits there too.
pub async fn different_org_writers(store: DynStore) {
    let root = init(&store).await;
    let o = root.org.as_str();
    insert_sub_orgs(&store, o, &[("other", "other")], T0 + 1).await;
    let holder = hold(&store, o).await;
    let mut b = contender(&store, "other", holder.committing.clone());
    match store.backend() {
        Backend::Postgres => {
            let (seen, head) = tokio::time::timeout(SOON, &mut b)
                .await
                .expect("PostgreSQL: begin on another organization must not wait for the lock")
                .unwrap();
            assert!(
                !seen,
                "PostgreSQL: another organization's writer waited for the holder"
            );
            assert_eq!(
                head,
                ChainHead {
                    seq: 0,
                    hash: genesis("other")
                }
            );
            holder.go.send(()).unwrap();
            tokio::time::timeout(SOON, holder.task)
                .await
                .unwrap()
                .unwrap();
        }
        Backend::Sqlite => {
            assert!(
                tokio::time::timeout(BLOCKED, &mut b).await.is_err(),
                "SQLite has a single writer: begin on another organization waits too"
            );
            holder.go.send(()).unwrap();
            tokio::time::timeout(SOON, holder.task)
                .await
                .unwrap()
                .unwrap();
            let (seen, head) = tokio::time::timeout(SOON, b).await.unwrap().unwrap();
            assert!(
                seen,
                "SQLite: the second writer got in before the first committed"
            );
            assert_eq!(
                head,
                ChainHead {
                    seq: 0,
                    hash: genesis("other")
                }
            );
        }
    }
    assert_eq!(store.chain_head(o).await.unwrap().seq, 1);
    assert_eq!(store.chain_head("other").await.unwrap().seq, 0);
}

/// 50 concurrent transactions each append one entry to the same organization's log: the log
/// ends with seq 1..=50, contiguous, correctly linked, nothing lost.
pub async fn concurrent_appends(store: DynStore) {
    const N: i64 = 50;
    let root = init(&store).await;
    let o = root.org.clone();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let store = store.clone();
            let o = o.clone();
            tokio::spawn(async move {
                let id = format!("c{i:02}");
                let mut tx = store.begin(&o).await.unwrap();
                let head = tx.chain_head().clone();
                tx.insert_activity(&activity(
                    &o,
                    &id,
                    TYPE_A,
                    ActivityStatus::Completed,
                    T0 + i,
                ))
                .await
                .unwrap();
                let e = entry(&o, head.seq + 1, &id, &head.hash);
                tx.append_log(&e).await.unwrap();
                tx.commit().await.unwrap();
                e.seq
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());

    let log = store.list_log(&o).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=N).collect::<Vec<_>>()
    );
    let mut prev = genesis(&o);
    for e in &log {
        assert_eq!(
            e.prev_hash, prev,
            "entry {} does not link to its predecessor",
            e.seq
        );
        assert_eq!(e.hash, format!("hash:{}:{}", e.seq, e.activity_id));
        prev = e.hash.clone();
    }
    let mut logged: Vec<_> = log.iter().map(|e| e.activity_id.clone()).collect();
    logged.sort();
    let expected: Vec<_> = (0..N).map(|i| format!("c{i:02}")).collect();
    assert_eq!(
        logged, expected,
        "every transaction's entry is in the log exactly once"
    );
    assert_eq!(
        store.chain_head(&o).await.unwrap(),
        ChainHead { seq: N, hash: prev }
    );
    let acts = store.list_all_activities(&o).await.unwrap();
    assert_eq!(acts.len(), N as usize);
    // Activities were inserted in lock order, which is log order.
    assert_eq!(
        ids(&acts, |a| &a.id),
        log.iter()
            .map(|e| e.activity_id.clone())
            .collect::<Vec<_>>()
    );
}
