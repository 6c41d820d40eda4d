//! Tenant isolation matrix: every query path quorate answers and every submit path it executes ×
//! {root user, non-root user with an allowing policy, non-root user without one, deleted user,
//! deleted API key} × {own organization, its sub-organization, its parent, an unrelated
//! organization}. Every answer is classified and compared with one rule, [`expected`]; the run
//! prints the matrix and the number of unexpected allows, which must be 0.
//!
//! Layout: the root organization R with two sub-organizations S1 and S2 (sub-organizations do
//! not nest). Principals live in R and in S1, so every relation that exists is covered:
//! R→R own, R→S1 sub-organization, S1→S1 own, S1→R parent, S1→S2 unrelated.

use crate::support::*;
use quorate_client::{Client, RawResponse};
use quorate_crypto::hd::{self, Curve, Mnemonic};
use quorate_crypto::hpke_bundle::{self, ImportKey};
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::ApiKeyCurve;
use quorate_domain::catalog;
use quorate_proto as wire;
use quorate_testkit::{Backend, TestServer};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_matrix_sqlite() {
    isolation_matrix(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_matrix_postgres() {
    isolation_matrix(Backend::Postgres).await
}

// ---- the rule ----

/// Who sends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A root user; the root quorum threshold is 1.
    Root,
    /// A non-root user named by an ALLOW policy (`activity.type != ''`, consensus: this user).
    Allowed,
    /// A non-root user no policy names.
    NoPolicy,
    /// A user that was deleted (its keys with it); it was named by the allowing policy.
    DeletedUser,
    /// A deleted API key of the root user.
    DeletedKey,
}

const KINDS: [Kind; 5] = [
    Kind::Root,
    Kind::Allowed,
    Kind::NoPolicy,
    Kind::DeletedUser,
    Kind::DeletedKey,
];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Root => "root",
            Kind::Allowed => "allowed",
            Kind::NoPolicy => "no-policy",
            Kind::DeletedUser => "deleted-user",
            Kind::DeletedKey => "deleted-key",
        }
    }
}

/// The target organization as seen from the principal's organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Own,
    SubOrg,
    Parent,
    Unrelated,
}

const RELATIONS: [Relation; 4] = [
    Relation::Own,
    Relation::SubOrg,
    Relation::Parent,
    Relation::Unrelated,
];

impl Relation {
    fn label(self) -> &'static str {
        match self {
            Relation::Own => "own",
            Relation::SubOrg => "sub-org",
            Relation::Parent => "parent",
            Relation::Unrelated => "unrelated",
        }
    }
}

/// What kind of permission an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// A read.
    Query,
    /// `whoami`: answers with the caller's own identity.
    Whoami,
    /// An activity the policies decide.
    Governed,
    /// An activity only the root quorum may take (quorum, features).
    RootQuorumOnly,
    /// Implicitly allowed on one's own credentials: create/delete own API keys, rename self.
    OwnCredential,
    /// `approve_activity`: any user of the organization may vote.
    Approve,
    /// `reject_activity`: root quorum members, the initiator, and users whose approval would
    /// change a policy's outcome may (the allowed user is named by the policy's consensus).
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allow,
    Deny,
}

/// The whole rule of the matrix.
fn expected(kind: Kind, relation: Relation, endpoint: Endpoint) -> Expect {
    use Expect::{Allow, Deny};
    // A deleted user's or a deleted key's stamp never acts anywhere.
    if matches!(kind, Kind::DeletedUser | Kind::DeletedKey) {
        return Deny;
    }
    match endpoint {
        // Reads in the own organization and its sub-organizations are implicit.
        Endpoint::Query => match relation {
            Relation::Own | Relation::SubOrg => Allow,
            Relation::Parent | Relation::Unrelated => Deny,
        },
        // Documented (README, Turnkey-compatible): `whoami` at a parent with a
        // sub-organization's credential answers with the sub-organization's identity. The run
        // checks that the answer names the caller's own organization, so nothing of the parent
        // is disclosed.
        Endpoint::Whoami => match relation {
            Relation::Unrelated => Deny,
            Relation::Own | Relation::SubOrg | Relation::Parent => Allow,
        },
        // Activities only in the own organization: a parent's credential cannot write into a
        // sub-organization.
        _ if relation != Relation::Own => Deny,
        Endpoint::Governed | Endpoint::Reject => match kind {
            Kind::Root | Kind::Allowed => Allow,
            _ => Deny,
        },
        Endpoint::RootQuorumOnly => match kind {
            Kind::Root => Allow,
            _ => Deny,
        },
        Endpoint::OwnCredential | Endpoint::Approve => Allow,
    }
}

/// What the server did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 2xx: the request was let through (the activity completed, or failed for state reasons).
    Allow,
    /// 2xx with the activity waiting in `ACTIVITY_STATUS_CONSENSUS_NEEDED`: recorded, not
    /// executed. Acceptable only where the caller may submit but a policy's consensus is unmet.
    Held,
    /// 401 / 403 / 404.
    Deny,
    /// `whoami` answered with an identity other than the caller's own.
    Disclosed,
    /// Anything else (400, 409, 5xx, 501): a setup problem of this test.
    Other,
}

fn classify(endpoint: Endpoint, home_org: &str, raw: &RawResponse) -> Outcome {
    match raw.status {
        200..=299 => {
            let v: Value = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
            match endpoint {
                Endpoint::Whoami if v["organizationId"].as_str() != Some(home_org) => {
                    Outcome::Disclosed
                }
                Endpoint::Governed | Endpoint::RootQuorumOnly | Endpoint::OwnCredential
                    if v["activity"]["status"] == "ACTIVITY_STATUS_CONSENSUS_NEEDED" =>
                {
                    Outcome::Held
                }
                _ => Outcome::Allow,
            }
        }
        401 | 403 | 404 => Outcome::Deny,
        _ => Outcome::Other,
    }
}

// ---- the endpoints ----

struct Ep {
    label: String,
    path: &'static str,
    query: bool,
    /// The own-credential variant of a submit (acts on the caller's own user).
    own: bool,
    endpoint: Endpoint,
}

fn endpoints() -> Vec<Ep> {
    let mut out = Vec::new();
    for &path in quorate_app::query::QUERY_PATHS {
        out.push(Ep {
            label: format!("query/{path}"),
            path,
            query: true,
            own: false,
            endpoint: if path == "whoami" {
                Endpoint::Whoami
            } else {
                Endpoint::Query
            },
        });
    }
    for path in catalog::implemented_paths() {
        let endpoint = match path {
            "update_root_quorum" | "set_organization_feature" | "remove_organization_feature" => {
                Endpoint::RootQuorumOnly
            }
            _ => Endpoint::Governed,
        };
        out.push(Ep {
            label: format!("submit/{path}"),
            path,
            query: false,
            own: false,
            endpoint,
        });
        if matches!(path, "update_user" | "create_api_keys" | "delete_api_keys") {
            out.push(Ep {
                label: format!("submit/{path} (self)"),
                path,
                query: false,
                own: true,
                endpoint: Endpoint::OwnCredential,
            });
        }
    }
    for (path, endpoint) in [
        ("approve_activity", Endpoint::Approve),
        ("reject_activity", Endpoint::Reject),
    ] {
        out.push(Ep {
            label: format!("submit/{path}"),
            path,
            query: false,
            own: false,
            endpoint,
        });
    }
    out
}

fn activity_type(path: &str) -> &'static str {
    match path {
        "approve_activity" => "ACTIVITY_TYPE_APPROVE_ACTIVITY",
        "reject_activity" => "ACTIVITY_TYPE_REJECT_ACTIVITY",
        _ => catalog::types_for_path(path)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no activity type for {path}")),
    }
}

// ---- bodies ----

static SEQ: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    SEQ.fetch_add(1, Ordering::SeqCst)
}

fn uniq(prefix: &str) -> String {
    format!("{prefix}-{}", next())
}

/// A submit body whose `timestampMs` is unique in this run, so no two bodies share a
/// fingerprint (an identical body returns the stored activity instead of a new decision).
fn submit_body(path: &str, org: &str, parameters: Value) -> Vec<u8> {
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    json!({"type": activity_type(path), "timestampMs": (base + next()).to_string(),
           "organizationId": org, "parameters": parameters})
    .to_string()
    .into_bytes()
}

fn api_key(key: &ApiKeyPair) -> Value {
    json!({"apiKeyName": uniq("key"), "publicKey": key.public_key_hex(), "curveType": "API_KEY_CURVE_P256"})
}

fn eth(i: u64) -> Value {
    json!({"curve": "CURVE_SECP256K1", "pathFormat": "PATH_FORMAT_BIP32",
           "path": format!("m/44'/60'/0'/0/{i}"), "addressFormat": "ADDRESS_FORMAT_ETHEREUM"})
}

/// A policy that never matches: created and updated freely without changing any decision.
fn inert_policy() -> Value {
    json!({"policyName": uniq("inert"), "effect": "EFFECT_DENY",
           "condition": "activity.type == 'ACTIVITY_TYPE_NONE'", "notes": ""})
}

fn dup(s: &TestServer, key: &ApiKeyPair) -> Client {
    s.client(ApiKeyPair::from_private_hex(ApiKeyCurve::P256, &key.private_key_hex()).unwrap())
}

/// Submits as `c`; the activity must complete. Returns its result.
async fn act(c: &Client, org: &str, path: &str, params: Value) -> Value {
    let a = c
        .submit_body(path, submit_body(path, org, params))
        .await
        .unwrap_or_else(|e| panic!("setup {path}: {e}"));
    completed(&a).clone()
}

// ---- the organizations ----

/// A principal: one of [`KINDS`] in some organization.
struct Member {
    kind: Kind,
    client: Client,
    user_id: String,
    /// For the deleted kinds: a key id of theirs (deleted), for their own-credential requests.
    stale_key: Option<String>,
}

/// An organization with one principal of every kind and one object of every sort.
struct Org {
    name: String,
    id: String,
    root: Client,
    root_user: String,
    members: Vec<Member>,
    /// A non-root user without policy: its activities wait for the allowed user's approval.
    pender: Client,
    victim_user: String,
    victim_key: String,
    wallet: String,
    address: String,
    private_key: String,
    policy: String,
    activity: String,
    user_tag: String,
    pk_tag: String,
}

impl Org {
    fn member(&self, kind: Kind) -> &Member {
        self.members
            .iter()
            .find(|m| m.kind == kind)
            .unwrap_or_else(|| panic!("{} has no {kind:?}", self.name))
    }

    async fn new_user(&self) -> String {
        let r = act(
            &self.root,
            &self.id,
            "create_users",
            json!({"users": [user_params(&uniq("u"), json!([]), json!([]))]}),
        )
        .await;
        r["userIds"][0].as_str().unwrap().to_string()
    }

    async fn new_key(&self, user: &str) -> String {
        let r = act(
            &self.root,
            &self.id,
            "create_api_keys",
            json!({"userId": user, "apiKeys": [api_key(&p256())]}),
        )
        .await;
        r["apiKeyIds"][0].as_str().unwrap().to_string()
    }

    async fn new_policy(&self) -> String {
        let r = act(&self.root, &self.id, "create_policy", inert_policy()).await;
        r["policyId"].as_str().unwrap().to_string()
    }

    async fn new_user_tag(&self) -> String {
        let r = act(
            &self.root,
            &self.id,
            "create_user_tag",
            json!({"userTagName": uniq("tag"), "userIds": []}),
        )
        .await;
        r["userTagId"].as_str().unwrap().to_string()
    }

    async fn new_pk_tag(&self) -> String {
        let r = act(
            &self.root,
            &self.id,
            "create_private_key_tag",
            json!({"privateKeyTagName": uniq("pktag"), "privateKeyIds": []}),
        )
        .await;
        r["privateKeyTagId"].as_str().unwrap().to_string()
    }

    async fn new_wallet(&self) -> (String, String) {
        let r = act(
            &self.root,
            &self.id,
            "create_wallet",
            json!({"walletName": uniq("wallet"), "accounts": [eth(0)]}),
        )
        .await;
        (
            r["walletId"].as_str().unwrap().to_string(),
            r["addresses"][0].as_str().unwrap().to_string(),
        )
    }

    async fn new_private_key(&self) -> String {
        let r = act(&self.root, &self.id, "create_private_keys", json!({"privateKeys": [{"privateKeyName": uniq("pk"), "curve": "CURVE_SECP256K1", "privateKeyTags": [], "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]}]})).await;
        r["privateKeys"][0]["privateKeyId"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The fingerprint of a fresh activity waiting for consensus.
    async fn new_pending(&self) -> String {
        let path = "create_user_tag";
        let a = self
            .pender
            .submit_body(
                path,
                submit_body(
                    path,
                    &self.id,
                    json!({"userTagName": uniq("pending"), "userIds": []}),
                ),
            )
            .await
            .unwrap();
        assert_eq!(a.status, "ACTIVITY_STATUS_CONSENSUS_NEEDED", "{a:?}");
        a.fingerprint
    }

    /// An `encryptedBundle` for the root user's fresh import (`init_import_*` by the root).
    async fn new_import(&self, signer: &str, wallet: bool) -> String {
        let path = if wallet {
            "init_import_wallet"
        } else {
            "init_import_private_key"
        };
        let r = act(
            &self.root,
            &self.id,
            path,
            json!({"userId": self.root_user}),
        )
        .await;
        let bundle = r["importBundle"].as_str().unwrap();
        let secret: Vec<u8> = if wallet {
            Mnemonic::generate(12).unwrap().phrase().as_bytes().to_vec()
        } else {
            hd::generate_private_key(Curve::Secp256k1).unwrap().to_vec()
        };
        hpke_bundle::encrypt_to_import_bundle(bundle, &self.id, &self.root_user, signer, &secret)
            .unwrap()
    }
}

impl Org {
    /// Deletes the deleted user and the deleted key (until then they act like any other).
    async fn retire(&self) {
        let user = &self.member(Kind::DeletedUser).user_id;
        act(
            &self.root,
            &self.id,
            "delete_users",
            json!({"userIds": [user]}),
        )
        .await;
        let key = self.member(Kind::DeletedKey).stale_key.clone();
        act(
            &self.root,
            &self.id,
            "delete_api_keys",
            json!({"userId": self.root_user, "apiKeyIds": [key]}),
        )
        .await;
    }
}

/// Creates a sub-organization of `parent` and populates it.
async fn sub_org(s: &TestServer, parent: &Org, name: &str) -> Org {
    let key = p256();
    let (id, root_user) = create_sub_org(&parent.root, &parent.id, name, &key).await;
    populate(s, name, id, key, root_user).await
}

/// Adds the principals and objects to an organization whose root user holds `root_key`.
async fn populate(
    s: &TestServer,
    name: &str,
    id: String,
    root_key: ApiKeyPair,
    root_user: String,
) -> Org {
    let root = dup(s, &root_key);
    let (ka, kn, kd, kp, kv) = (p256(), p256(), p256(), p256(), p256());
    let allowed = create_user_with_key(&root, &id, &uniq("allowed"), &ka).await;
    let none = create_user_with_key(&root, &id, &uniq("none"), &kn).await;
    let deleted = create_user_with_key(&root, &id, &uniq("deleted"), &kd).await;
    create_user_with_key(&root, &id, &uniq("pender"), &kp).await;
    let victim_user = create_user_with_key(&root, &id, &uniq("victim"), &kv).await;
    let key_of = |user: String| {
        let (root, id) = (&root, &id);
        async move {
            let keys: wire::GetApiKeysResponse = root
                .query(
                    "get_api_keys",
                    &json!({"organizationId": id, "userId": user}),
                )
                .await
                .unwrap();
            keys.api_keys[0].api_key_id.clone()
        }
    };
    let victim_key = key_of(victim_user.clone()).await;
    let deleted_key = key_of(deleted.clone()).await;
    // The allowing policy names the allowed user and the user deleted by `retire`.
    act(&root, &id, "create_policy", json!({
        "policyName": "allow", "effect": "EFFECT_ALLOW", "condition": "activity.type != ''",
        "consensus": format!("approvers.any(user, user.id == '{allowed}' || user.id == '{deleted}')"),
        "notes": ""})).await;
    // A second key of the root user, deleted by `retire`.
    let kk = p256();
    let r = act(
        &root,
        &id,
        "create_api_keys",
        json!({"userId": root_user, "apiKeys": [api_key(&kk)]}),
    )
    .await;
    let dead_key = r["apiKeyIds"][0].as_str().unwrap().to_string();
    let members = vec![
        Member {
            kind: Kind::Root,
            client: dup(s, &root_key),
            user_id: root_user.clone(),
            stale_key: None,
        },
        Member {
            kind: Kind::Allowed,
            client: s.client(ka),
            user_id: allowed,
            stale_key: None,
        },
        Member {
            kind: Kind::NoPolicy,
            client: s.client(kn),
            user_id: none,
            stale_key: None,
        },
        Member {
            kind: Kind::DeletedUser,
            client: s.client(kd),
            user_id: deleted,
            stale_key: Some(deleted_key),
        },
        Member {
            kind: Kind::DeletedKey,
            client: s.client(kk),
            user_id: root_user.clone(),
            stale_key: Some(dead_key),
        },
    ];
    let mut org = Org {
        name: name.to_string(),
        id,
        root,
        root_user,
        members,
        pender: s.client(kp),
        victim_user,
        victim_key,
        wallet: String::new(),
        address: String::new(),
        private_key: String::new(),
        policy: String::new(),
        activity: String::new(),
        user_tag: String::new(),
        pk_tag: String::new(),
    };
    (org.wallet, org.address) = org.new_wallet().await;
    org.private_key = org.new_private_key().await;
    org.policy = org.new_policy().await;
    org.user_tag = org.new_user_tag().await;
    org.pk_tag = org.new_pk_tag().await;
    let listed: wire::GetActivitiesResponse = org
        .root
        .query("list_activities", &json!({"organizationId": org.id}))
        .await
        .unwrap();
    org.activity = listed.activities[0].id.clone();
    org
}

// ---- requests ----

fn query_body(path: &str, t: &Org) -> Value {
    let mut b = json!({"organizationId": t.id});
    match path {
        "whoami"
        | "get_organization"
        | "get_organization_configs"
        | "list_suborgs"
        | "list_users"
        | "list_user_tags"
        | "get_api_keys"
        | "list_activities"
        | "list_wallets"
        | "list_private_keys"
        | "list_private_key_tags"
        | "list_policies" => {}
        "get_user" => b["userId"] = json!(t.victim_user),
        "get_api_key" => b["apiKeyId"] = json!(t.victim_key),
        "get_activity" | "get_policy_evaluations" => b["activityId"] = json!(t.activity),
        "get_wallet" => b["walletId"] = json!(t.wallet),
        "get_wallet_account" => {
            b["walletId"] = json!(t.wallet);
            b["address"] = json!(t.address);
        }
        "list_wallet_accounts" => b["walletId"] = json!(t.wallet),
        "get_private_key" => b["privateKeyId"] = json!(t.private_key),
        "get_policy" => b["policyId"] = json!(t.policy),
        other => panic!("isolation.rs has no body for query `{other}`: add one"),
    }
    b
}

/// Minimal valid parameters of `ep` by `m` (of `home`) targeting objects of `t`; fresh objects
/// are made (by `t`'s root) wherever the request would consume one.
async fn submit_params(ep: &Ep, m: &Member, home: &Org, t: &Org, signer: &str) -> Value {
    let target = || ImportKey::generate().public_key_uncompressed_hex();
    match (ep.path, ep.own) {
        ("update_user", true) => json!({"userId": m.user_id, "userName": uniq("renamed")}),
        ("create_api_keys", true) => {
            json!({"userId": m.user_id, "apiKeys": [api_key(&p256())]})
        }
        ("delete_api_keys", true) => {
            let key = match &m.stale_key {
                Some(k) => k.clone(),
                None => home.new_key(&m.user_id).await,
            };
            json!({"userId": m.user_id, "apiKeyIds": [key]})
        }
        ("create_sub_organization", _) => json!({
            "subOrganizationName": uniq("sub"), "rootQuorumThreshold": 1,
            "rootUsers": [user_params("root", json!([api_key(&p256())]), json!([]))]}),
        ("delete_sub_organization", _) => json!({"deleteWithoutExport": true}),
        ("create_users", _) => {
            json!({"users": [user_params(&uniq("user"), json!([]), json!([]))]})
        }
        ("create_api_only_users", _) => {
            json!({"apiOnlyUsers": [user_params(&uniq("bot"), json!([api_key(&p256())]), json!([]))]})
        }
        ("update_user", _) => json!({"userId": t.victim_user, "userName": uniq("renamed")}),
        ("delete_users", _) => json!({"userIds": [t.new_user().await]}),
        ("create_user_tag", _) => json!({"userTagName": uniq("tag"), "userIds": []}),
        ("update_user_tag", _) => json!({"userTagId": t.user_tag, "newUserTagName": uniq("tag"),
                                         "addUserIds": [], "removeUserIds": []}),
        ("delete_user_tags", _) => json!({"userTagIds": [t.new_user_tag().await]}),
        ("create_api_keys", _) => {
            json!({"userId": t.victim_user, "apiKeys": [api_key(&p256())]})
        }
        ("delete_api_keys", _) => {
            json!({"userId": t.victim_user, "apiKeyIds": [t.new_key(&t.victim_user).await]})
        }
        ("create_policy", _) => inert_policy(),
        ("create_policies", _) => json!({"policies": [inert_policy()]}),
        ("update_policy", _) => json!({"policyId": t.policy, "policyName": uniq("inert")}),
        ("delete_policy", _) => json!({"policyId": t.new_policy().await}),
        ("delete_policies", _) => json!({"policyIds": [t.new_policy().await]}),
        ("set_organization_feature", _) => json!({"name": "FEATURE_NAME_WEBAUTHN_ORIGINS",
                                                  "value": format!("https://{}.example", uniq("o"))}),
        ("remove_organization_feature", _) => json!({"name": "FEATURE_NAME_WEBAUTHN_ORIGINS"}),
        ("update_root_quorum", _) => json!({"threshold": 1, "userIds": [t.root_user]}),
        ("create_wallet", _) => json!({"walletName": uniq("wallet"), "accounts": [eth(0)]}),
        ("create_wallet_accounts", _) => {
            json!({"walletId": t.wallet, "accounts": [eth(1000 + next())]})
        }
        ("update_wallet", _) => json!({"walletId": t.wallet, "walletName": uniq("wallet")}),
        ("delete_wallets", _) => {
            json!({"walletIds": [t.new_wallet().await.0], "deleteWithoutExport": true})
        }
        ("export_wallet", _) => json!({"walletId": t.wallet, "targetPublicKey": target()}),
        ("export_wallet_account", _) => {
            json!({"address": t.address, "targetPublicKey": target()})
        }
        ("init_import_wallet" | "init_import_private_key", _) => {
            json!({"userId": t.root_user})
        }
        ("import_wallet", _) => json!({"userId": t.root_user, "walletName": uniq("imported"),
                                       "encryptedBundle": t.new_import(signer, true).await,
                                       "accounts": [eth(0)]}),
        ("import_private_key", _) => json!({"userId": t.root_user,
                                            "privateKeyName": uniq("imported"),
                                            "encryptedBundle": t.new_import(signer, false).await,
                                            "curve": "CURVE_SECP256K1",
                                            "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]}),
        ("create_private_keys", _) => json!({"privateKeys": [{"privateKeyName": uniq("pk"),
            "curve": "CURVE_SECP256K1", "privateKeyTags": [], "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]}]}),
        ("delete_private_keys", _) => json!({"privateKeyIds": [t.new_private_key().await],
                                             "deleteWithoutExport": true}),
        ("export_private_key", _) => {
            json!({"privateKeyId": t.private_key, "targetPublicKey": target()})
        }
        ("create_private_key_tag", _) => {
            json!({"privateKeyTagName": uniq("pktag"), "privateKeyIds": []})
        }
        ("update_private_key_tag", _) => json!({"privateKeyTagId": t.pk_tag,
            "newPrivateKeyTagName": uniq("pktag"), "addPrivateKeyIds": [], "removePrivateKeyIds": []}),
        ("delete_private_key_tags", _) => json!({"privateKeyTagIds": [t.new_pk_tag().await]}),
        ("sign_raw_payload", _) => json!({"signWith": t.address, "payload": uniq("payload"),
            "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": "HASH_FUNCTION_KECCAK256"}),
        ("sign_raw_payloads", _) => {
            json!({"signWith": t.address, "payloads": [uniq("a"), uniq("b")],
            "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": "HASH_FUNCTION_SHA256"})
        }
        ("sign_transaction", _) => {
            json!({"signWith": t.address, "type": "TRANSACTION_TYPE_ETHEREUM",
            "unsignedTransaction": "02f00180843b9aca008509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c8881158e460913d000080c0"})
        }
        ("approve_activity" | "reject_activity", _) => {
            json!({"fingerprint": t.new_pending().await})
        }
        (other, _) => panic!("isolation.rs has no parameters for submit `{other}`: add them"),
    }
}

// ---- the run ----

struct Mismatch {
    who: String,
    relation: Relation,
    target: String,
    label: String,
    expect: Expect,
    outcome: Outcome,
    status: u16,
    request: String,
    response: String,
}

#[derive(Default)]
struct Tally {
    checks: usize,
    unexpected_allows: usize,
    unexpected_denies: usize,
    errors: usize,
    held: usize,
    /// Submits let through whose activity failed for state reasons (endpoint labels).
    failed: Vec<String>,
    /// Denials by HTTP status and `turnkeyErrorCode`, with their count.
    denials: Vec<(u16, String, usize)>,
    mismatches: Vec<Mismatch>,
    /// (who, relation) → (allowed, total)
    cells: Vec<(String, Relation, usize, usize)>,
}

fn cut(bytes: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.into_owned()
    }
}

async fn check(
    tally: &mut Tally,
    ep: &Ep,
    m: &Member,
    home: &Org,
    relation: Relation,
    t: &Org,
    signer: &str,
) {
    let (url, body) = if ep.query {
        (
            format!("/public/v1/query/{}", ep.path),
            query_body(ep.path, t).to_string().into_bytes(),
        )
    } else {
        let params = submit_params(ep, m, home, t, signer).await;
        (
            format!("/public/v1/submit/{}", ep.path),
            submit_body(ep.path, &t.id, params),
        )
    };
    let raw = m.client.post_raw(&url, body.clone()).await.unwrap();
    let outcome = classify(ep.endpoint, &home.id, &raw);
    let expect = expected(m.kind, relation, ep.endpoint);
    let held_ok =
        relation == Relation::Own && m.kind == Kind::NoPolicy && ep.endpoint == Endpoint::Governed;
    let who = format!(
        "{}/{}",
        home.name.split('-').next().unwrap_or(""),
        m.kind.label()
    );
    tally.checks += 1;
    match tally
        .cells
        .iter_mut()
        .find(|(w, r, _, _)| *w == who && *r == relation)
    {
        Some(cell) => {
            cell.2 += usize::from(outcome == Outcome::Allow);
            cell.3 += 1;
        }
        None => tally.cells.push((
            who.clone(),
            relation,
            usize::from(outcome == Outcome::Allow),
            1,
        )),
    }
    if outcome == Outcome::Deny {
        let v: Value = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
        let code = v["details"][0]["turnkeyErrorCode"]
            .as_str()
            .unwrap_or("-")
            .to_string();
        match tally
            .denials
            .iter_mut()
            .find(|(st, c, _)| *st == raw.status && *c == code)
        {
            Some(d) => d.2 += 1,
            None => tally.denials.push((raw.status, code, 1)),
        }
    }
    if outcome == Outcome::Allow && !ep.query {
        let v: Value = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
        if v["activity"]["status"] == "ACTIVITY_STATUS_FAILED" {
            let l = format!("{} in {}", ep.label, t.name);
            if !tally.failed.contains(&l) {
                tally.failed.push(l);
            }
        }
    }
    let bad = match (expect, outcome) {
        (Expect::Allow, Outcome::Allow) | (Expect::Deny, Outcome::Deny) => false,
        (Expect::Deny, Outcome::Held) if held_ok => {
            tally.held += 1;
            false
        }
        (Expect::Deny, Outcome::Allow | Outcome::Held) | (_, Outcome::Disclosed) => {
            tally.unexpected_allows += 1;
            true
        }
        (Expect::Allow, Outcome::Deny | Outcome::Held) => {
            tally.unexpected_denies += 1;
            true
        }
        (_, Outcome::Other) => {
            tally.errors += 1;
            true
        }
    };
    if bad {
        tally.mismatches.push(Mismatch {
            who,
            relation,
            target: t.name.clone(),
            label: ep.label.clone(),
            expect,
            outcome,
            status: raw.status,
            request: cut(&body, 400),
            response: cut(&raw.body, 400),
        });
    }
}

async fn isolation_matrix(backend: Backend) {
    let started = Instant::now();
    let s = TestServer::start(backend, "isolation").await.unwrap();
    let signer = s.app.signer_public_key().unwrap();
    let r = populate(
        &s,
        "R",
        s.root.organization_id.clone(),
        s.root.key(),
        s.root.user_id.clone(),
    )
    .await;
    let s1 = sub_org(&s, &r, "S1").await;
    let s2 = sub_org(&s, &r, "S2").await;
    // (principal organization, relation, target)
    let pairs: [(&Org, Relation, &Org); 5] = [
        (&r, Relation::Own, &r),
        (&r, Relation::SubOrg, &s1),
        (&s1, Relation::Own, &s1),
        (&s1, Relation::Parent, &r),
        (&s1, Relation::Unrelated, &s2),
    ];
    // The credentials to be deleted act first everywhere (warming any cache of resolved
    // credentials), then are deleted: their later requests must not be answered from a cache.
    for (home, _, target) in pairs {
        for kind in [Kind::DeletedUser, Kind::DeletedKey] {
            let c = &home.member(kind).client;
            for q in ["whoami", "list_users"] {
                let body = json!({"organizationId": target.id})
                    .to_string()
                    .into_bytes();
                c.post_raw(&format!("/public/v1/query/{q}"), body)
                    .await
                    .unwrap();
            }
            let params = json!({"userTagName": uniq("warm"), "userIds": []});
            let body = submit_body("create_user_tag", &target.id, params);
            let raw = c
                .post_raw("/public/v1/submit/create_user_tag", body)
                .await
                .unwrap();
            if target.id == home.id {
                assert_eq!(raw.status, 200, "{kind:?} acts before it is deleted");
            }
        }
    }
    for org in [&r, &s1, &s2] {
        org.retire().await;
    }
    let setup = started.elapsed();

    let eps = endpoints();
    let mut tally = Tally::default();
    for (home, relation, target) in pairs {
        for kind in KINDS {
            for ep in &eps {
                if ep.path == "delete_sub_organization" && target.id != r.id {
                    // Executed, it deletes the target: each such check gets organizations of
                    // its own. In the own sub-organization, the principal of this kind of a
                    // fresh copy of it; elsewhere, a fresh target of the same relation.
                    let fresh = sub_org(&s, &r, &format!("{}-copy-{}", target.name, next())).await;
                    fresh.retire().await;
                    if relation == Relation::Own {
                        check(
                            &mut tally,
                            ep,
                            fresh.member(kind),
                            &fresh,
                            relation,
                            &fresh,
                            &signer,
                        )
                        .await;
                    } else {
                        check(
                            &mut tally,
                            ep,
                            home.member(kind),
                            home,
                            relation,
                            &fresh,
                            &signer,
                        )
                        .await;
                    }
                    continue;
                }
                check(
                    &mut tally,
                    ep,
                    home.member(kind),
                    home,
                    relation,
                    target,
                    &signer,
                )
                .await;
            }
        }
    }

    // The matrix: requests let through (2xx) of requests sent, per principal and relation.
    // Printed at once: the two backends' runs share stdout.
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "isolation matrix, {:?} ({} endpoints: {} query, {} submit; setup {:.1?}, total {:.1?})",
        backend,
        eps.len(),
        eps.iter().filter(|e| e.query).count(),
        eps.iter().filter(|e| !e.query).count(),
        setup,
        started.elapsed()
    );
    let _ = write!(out, "{:<18}", "principal");
    for rel in RELATIONS {
        let _ = write!(out, "{:>12}", rel.label());
    }
    let _ = writeln!(out);
    let mut rows: Vec<String> = Vec::new();
    for (who, _, _, _) in &tally.cells {
        if !rows.contains(who) {
            rows.push(who.clone());
        }
    }
    for who in rows {
        let _ = write!(out, "{who:<18}");
        for rel in RELATIONS {
            let cell = tally
                .cells
                .iter()
                .find(|(w, r, _, _)| *w == who && *r == rel)
                .map(|(_, _, allowed, total)| format!("{allowed}/{total}"))
                .unwrap_or_else(|| "-".to_string());
            let _ = write!(out, "{cell:>12}");
        }
        let _ = writeln!(out);
    }
    let denials: Vec<String> = tally
        .denials
        .iter()
        .map(|(status, code, n)| format!("{status} {code} ×{n}"))
        .collect();
    let _ = writeln!(out, "denials: {}", denials.join(", "));
    let _ = writeln!(
        out,
        "let through but FAILED for state reasons: {}",
        tally.failed.join(", ")
    );
    let _ = writeln!(
        out,
        "isolation: {} checks, {} unexpected allows, {} unexpected denies, {} errors ({} held for consensus as expected)",
        tally.checks, tally.unexpected_allows, tally.unexpected_denies, tally.errors, tally.held
    );
    for m in tally.mismatches.iter().take(15) {
        let _ = writeln!(
            out,
            "  MISMATCH {} → {} ({}) {}: expected {:?}, got {:?} (HTTP {})\n    request:  {}\n    response: {}",
            m.who,
            m.target,
            m.relation.label(),
            m.label,
            m.expect,
            m.outcome,
            m.status,
            m.request,
            m.response
        );
    }
    print!("{out}");
    assert_eq!(tally.unexpected_allows, 0, "unexpected allows (see above)");
    assert_eq!(tally.unexpected_denies, 0, "unexpected denies (see above)");
    assert_eq!(
        tally.errors, 0,
        "requests the matrix could not classify (see above)"
    );
    s.stop().await.unwrap();
}
