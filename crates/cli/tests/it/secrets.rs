//! Vault secrets never reach the store or the logs.
//!
//! The real `quorate serve` (most verbose log level) imports a known mnemonic and a known raw
//! private key, creates a random wallet and random keys (exported, so the test knows them too),
//! signs payloads and transactions with all of them and answers some bad requests. After a
//! graceful stop, every file of the data dir (SQLite database, WAL, SHM), a plain `pg_dump` of the
//! PostgreSQL database, PostgreSQL's server log and the server's stdout and stderr are searched
//! for every secret in every usual encoding: mnemonic phrases (whole and as 3-word runs), BIP-39
//! entropy and seeds, every private key on the derivation paths (raw bytes, hex in any case,
//! base58, base64, `xprv`), Solana keypairs. Zero hits, with positive controls (public addresses
//! are found where they are stored, every needle is found when planted) so the check cannot pass
//! vacuously.

// clippy.toml's allow-*-in-tests covers `#[test]` fns only, not the helpers of a test crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{free_port, root_client, store_for, Server};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use quorate_client::{Client, ClientError};
use quorate_crypto::address::{self, AddressFormat};
use quorate_crypto::hd::{self, Curve, Mnemonic};
use quorate_crypto::hpke_bundle::{self, ImportKey};
use quorate_proto::Activity;
use quorate_testkit::Backend;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// The first Ethereum address (m/44'/60'/0'/0/0) of [`ABANDON`].
const ABANDON_ETH: &str = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
/// Well-formed words with a wrong checksum: the import fails and must not echo them.
const BAD_CHECKSUM: &str =
    "legal winner thank year wave sausage worth useful legal winner thank thank";
/// The EIP-155 example key and its address.
const RAW_KEY: [u8; 32] = [0x46; 32];
const RAW_KEY_ETH: &str = "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F";
const UNSIGNED_1559: &str = "02f00180843b9aca008509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c8881158e460913d000080c0";
const ETH_PATH: &str = "m/44'/60'/0'/0/0";
const SOL_PATH: &str = "m/44'/501'/0'/0'";
/// Shortest needle: every needle is indexed by its first `PREFIX` bytes.
const PREFIX: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_sqlite_files_or_logs() {
    no_secret_at_rest_or_in_logs(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_pg_dump_or_logs() {
    no_secret_at_rest_or_in_logs(Backend::Postgres).await
}

async fn no_secret_at_rest_or_in_logs(backend: Backend) {
    let (dir, url) = store_for(backend, "secrets");
    let logs = tempfile::tempdir().unwrap();
    let port = free_port();
    let stdout_path = logs.path().join("serve.stdout");
    let stderr_path = logs.path().join("serve.stderr");
    // JSON logs on one backend, text on the other; both at the most verbose level.
    let json_logs = backend == Backend::Sqlite;
    let extra: &[&str] = if json_logs {
        &["--log-format", "json"]
    } else {
        &[]
    };
    let mut server = Server::start_with(
        port,
        dir.path(),
        &url,
        extra,
        &[("QUORATE_LOG", "trace")],
        std::fs::File::create(&stdout_path).unwrap().into(),
        std::fs::File::create(&stderr_path).unwrap().into(),
    )
    .await;

    // `serve` on an empty store initialised it and printed the root credentials.
    let printed = std::fs::read_to_string(&stdout_path).unwrap();
    let creds: Value = serde_json::from_str(
        printed
            .lines()
            .find(|l| l.starts_with('{'))
            .expect("credentials printed"),
    )
    .unwrap();
    let signer: Value = reqwest::get(format!("{}/public/v1/signer", server.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signer = signer["signerPublicKey"].as_str().unwrap().to_string();
    assert_eq!(creds["signerPublicKey"], json!(signer));
    let vault = Vault {
        c: root_client(&server.base_url, &creds),
        org: creds["organizationId"].as_str().unwrap().to_string(),
        user: creds["userId"].as_str().unwrap().to_string(),
        signer,
    };
    let known = vault.exercise().await;
    // The data dir while the server still runs: SQLite's -wal holds the recent pages (after the
    // exit it is sometimes checkpointed and removed, sometimes left as it is).
    let live = data_files(dir.path(), "live");

    server.signal("-TERM");
    assert!(server.child.wait().unwrap().success(), "graceful exit");
    drop(server);

    let needles = known.needles();
    needles.self_check();
    println!(
        "[{backend:?}] {} needles from {} secrets",
        needles.list.len(),
        needles.secrets
    );

    // The sources.
    let mut at_rest = live;
    at_rest.extend(data_files(dir.path(), "after exit"));
    if backend == Backend::Sqlite {
        assert!(
            at_rest
                .iter()
                .any(|(name, _)| name.ends_with("quorate.db-wal")),
            "no SQLite WAL seen while the server ran"
        );
    }
    if let Some(url) = &url {
        at_rest.push((format!("pg_dump {url}"), pg_dump(url)));
    }
    let mut logged = vec![
        (
            "serve stdout".to_string(),
            std::fs::read(&stdout_path).unwrap(),
        ),
        (
            "serve stderr".to_string(),
            std::fs::read(&stderr_path).unwrap(),
        ),
    ];
    if backend == Backend::Postgres {
        let log = quorate_testkit::pg::shared_cluster()
            .unwrap()
            .socket_dir()
            .join("postgres.log");
        let bytes = std::fs::read(&log)
            .unwrap_or_else(|e| panic!("reading the PostgreSQL server log {}: {e}", log.display()));
        logged.push((format!("PostgreSQL server log {}", log.display()), bytes));
    }

    // Positive controls: public data is stored (in the database or its WAL: whether a clean
    // exit checkpoints it varies), requests were logged at the verbose level.
    let stored: Vec<u8> = match backend {
        Backend::Sqlite => at_rest
            .iter()
            .filter(|(name, _)| name.contains("quorate.db"))
            .flat_map(|(_, b)| b.to_ascii_lowercase())
            .collect(),
        Backend::Postgres => at_rest
            .iter()
            .filter(|(name, _)| name.starts_with("pg_dump"))
            .flat_map(|(_, b)| b.to_ascii_lowercase())
            .collect(),
    };
    for public in [ABANDON_ETH, RAW_KEY_ETH]
        .iter()
        .copied()
        .chain(known.public.iter().map(String::as_str))
    {
        let needle = public.to_ascii_lowercase();
        assert!(
            contains(&stored, needle.as_bytes()),
            "[{backend:?}] the public address {public} is not in the stored data: the search looks in the wrong place; {:?}",
            at_rest
                .iter()
                .map(|(name, b)| format!(
                    "{name}: {} bytes, has it: {}",
                    b.len(),
                    contains(&b.to_ascii_lowercase(), needle.as_bytes())
                ))
                .collect::<Vec<_>>()
        );
    }
    if backend == Backend::Postgres {
        for column in ["sealed_mnemonic", "sealed_seed", "sealed_key"] {
            assert!(contains(&stored, column.as_bytes()), "{column} not dumped");
        }
    }
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    for route in [
        "/public/v1/submit/import_wallet",
        "/public/v1/submit/sign_raw_payload",
        "/public/v1/submit/sign_transaction",
        "/public/v1/submit/export_wallet",
        "/public/v1/submit/import_private_key",
    ] {
        assert!(stderr.contains(route), "{route} not logged");
    }
    let levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].map(|level| {
        let n = stderr.lines().filter(|l| l.contains(level)).count();
        format!("{level} {n}")
    });
    println!(
        "[{backend:?}] server log lines by level: {}",
        levels.join(", ")
    );
    if json_logs {
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        }
    }

    let mut hits = Vec::new();
    for (name, bytes) in at_rest.iter().chain(logged.iter()) {
        assert!(
            !bytes.is_empty() || name.contains("-shm"),
            "{name} is empty"
        );
        let found = needles.find(bytes);
        println!(
            "[{backend:?}] searched {name}: {} bytes, {} hits",
            bytes.len(),
            found.len()
        );
        hits.extend(found.into_iter().map(|h| format!("{name}: {h}")));
    }
    let total: usize = at_rest
        .iter()
        .chain(logged.iter())
        .map(|(_, b)| b.len())
        .sum();
    println!(
        "[{backend:?}] {} sources, {total} bytes searched",
        at_rest.len() + logged.len()
    );
    assert!(
        hits.is_empty(),
        "[{backend:?}] secrets found:\n{}",
        hits.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Driving the vault.

struct Vault {
    c: Client,
    org: String,
    user: String,
    signer: String,
}

/// What the test knows after [`Vault::exercise`].
struct Known {
    /// Created wallet's mnemonic (from its export).
    random_phrase: String,
    /// Created private keys (from their exports).
    random_keys: Vec<(Curve, Vec<u8>)>,
    /// Addresses of created wallets and keys (positive controls).
    public: Vec<String>,
}

fn done(a: &Activity) -> Value {
    assert_eq!(
        a.status, "ACTIVITY_STATUS_COMPLETED",
        "activity not completed: {a:?}"
    );
    let obj = a.result.as_object().expect("result object");
    assert_eq!(obj.len(), 1, "{:?}", a.result);
    obj.values().next().unwrap().clone()
}

/// A client error (4xx): errors are expected, internal errors are not.
fn refused(r: Result<Activity, ClientError>, what: &str) {
    match r {
        Err(ClientError::Api { status, body }) => {
            assert!(
                (400..500).contains(&status),
                "{what}: {status} {}",
                body.message
            );
        }
        other => panic!("{what}: expected a client error, got {other:?}"),
    }
}

fn derived_address(seed: &hd::Seed, curve: Curve, path: &str, format: AddressFormat) -> String {
    let key = hd::derive(seed, curve, &hd::parse_path(path).unwrap()).unwrap();
    address::encode(format, &key.public_key()).unwrap()
}

fn eth_account() -> Value {
    json!({"curve": "CURVE_SECP256K1", "pathFormat": "PATH_FORMAT_BIP32", "path": ETH_PATH, "addressFormat": "ADDRESS_FORMAT_ETHEREUM"})
}

fn sol_account() -> Value {
    json!({"curve": "CURVE_ED25519", "pathFormat": "PATH_FORMAT_BIP32", "path": SOL_PATH, "addressFormat": "ADDRESS_FORMAT_SOLANA"})
}

impl Vault {
    async fn submit(&self, path: &str, ty: &str, params: Value) -> Result<Activity, ClientError> {
        self.c.submit(path, ty, &self.org, params).await
    }

    async fn ok(&self, path: &str, ty: &str, params: Value) -> Value {
        done(&self.submit(path, ty, params).await.unwrap())
    }

    /// A fresh `importBundle` from `init_import_wallet` / `init_import_private_key`.
    async fn import_bundle(&self, what: &str) -> String {
        let r = self
            .ok(
                &format!("init_import_{what}"),
                &format!("ACTIVITY_TYPE_INIT_IMPORT_{}", what.to_uppercase()),
                json!({"userId": self.user}),
            )
            .await;
        r["importBundle"].as_str().unwrap().to_string()
    }

    fn encrypt(&self, import_bundle: &str, plaintext: &[u8]) -> String {
        hpke_bundle::encrypt_to_import_bundle(
            import_bundle,
            &self.org,
            &self.user,
            &self.signer,
            plaintext,
        )
        .unwrap()
    }

    /// Exports to a fresh target key and decrypts like `@turnkey/crypto`.
    async fn export(&self, path: &str, ty: &str, mut params: Value) -> Vec<u8> {
        let target = ImportKey::generate();
        params["targetPublicKey"] = json!(target.public_key_uncompressed_hex());
        let r = self.ok(path, ty, params).await;
        hpke_bundle::decrypt_export_bundle(
            r["exportBundle"].as_str().unwrap(),
            &target,
            &self.org,
            &self.signer,
        )
        .unwrap()
        .to_vec()
    }

    async fn sign_text(&self, sign_with: &str, curve: Curve, text: &str) {
        let hash = match curve {
            Curve::Secp256k1 => "HASH_FUNCTION_KECCAK256",
            Curve::Ed25519 => "HASH_FUNCTION_NOT_APPLICABLE",
        };
        let r = self
            .ok(
                "sign_raw_payload",
                "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
                json!({"signWith": sign_with, "payload": text, "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": hash}),
            )
            .await;
        assert_eq!(r["r"].as_str().unwrap().len(), 64, "{r}");
    }

    async fn sign_1559(&self, sign_with: &str) {
        let r = self
            .ok(
                "sign_transaction",
                "ACTIVITY_TYPE_SIGN_TRANSACTION_V2",
                json!({"signWith": sign_with, "unsignedTransaction": UNSIGNED_1559, "type": "TRANSACTION_TYPE_ETHEREUM"}),
            )
            .await;
        let signed = r["signedTransaction"].as_str().unwrap();
        assert!(signed.starts_with("02") && signed.len() > UNSIGNED_1559.len());
    }

    async fn exercise(&self) -> Known {
        let abandon_seed = Mnemonic::parse(ABANDON).unwrap().to_seed("");
        let abandon_sol = derived_address(
            &abandon_seed,
            Curve::Ed25519,
            SOL_PATH,
            AddressFormat::Solana,
        );
        assert!(
            Mnemonic::parse(BAD_CHECKSUM).is_err(),
            "BAD_CHECKSUM must not be a valid mnemonic"
        );

        // Import the known mnemonic.
        let bundle = self.import_bundle("wallet").await;
        let encrypted = self.encrypt(&bundle, ABANDON.as_bytes());
        let imported = self
            .ok(
                "import_wallet",
                "ACTIVITY_TYPE_IMPORT_WALLET",
                json!({"userId": self.user, "walletName": "known", "encryptedBundle": encrypted,
                       "accounts": [eth_account(), sol_account()]}),
            )
            .await;
        assert_eq!(
            imported["addresses"],
            json!([ABANDON_ETH, abandon_sol.clone()])
        );
        let known_wallet = imported["walletId"].as_str().unwrap().to_string();
        // Replaying the bundle, and a phrase with a wrong checksum, are refused.
        refused(
            self.submit(
                "import_wallet",
                "ACTIVITY_TYPE_IMPORT_WALLET",
                json!({"userId": self.user, "walletName": "replay", "encryptedBundle": encrypted, "accounts": []}),
            )
            .await,
            "replayed import",
        );
        let bundle = self.import_bundle("wallet").await;
        refused(
            self.submit(
                "import_wallet",
                "ACTIVITY_TYPE_IMPORT_WALLET",
                json!({"userId": self.user, "walletName": "bad", "encryptedBundle": self.encrypt(&bundle, BAD_CHECKSUM.as_bytes()),
                       "accounts": [eth_account()]}),
            )
            .await,
            "mnemonic with a bad checksum",
        );
        self.sign_text(ABANDON_ETH, Curve::Secp256k1, "hello from abandon")
            .await;
        self.sign_text(&abandon_sol, Curve::Ed25519, "hello from abandon")
            .await;
        self.sign_1559(ABANDON_ETH).await;
        // Exporting it gives the phrase back: the server holds what the needles are made of.
        let phrase = self
            .export(
                "export_wallet",
                "ACTIVITY_TYPE_EXPORT_WALLET",
                json!({"walletId": known_wallet}),
            )
            .await;
        assert_eq!(phrase, ABANDON.as_bytes());

        // Import the known raw key.
        let bundle = self.import_bundle("private_key").await;
        let r = self
            .ok(
                "import_private_key",
                "ACTIVITY_TYPE_IMPORT_PRIVATE_KEY",
                json!({"userId": self.user, "privateKeyName": "known", "encryptedBundle": self.encrypt(&bundle, &RAW_KEY),
                       "curve": "CURVE_SECP256K1", "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]}),
            )
            .await;
        assert_eq!(r["addresses"][0]["address"], json!(RAW_KEY_ETH));
        let raw_key_id = r["privateKeyId"].as_str().unwrap().to_string();
        self.sign_text(RAW_KEY_ETH, Curve::Secp256k1, "hello from 0x46")
            .await;
        self.sign_text(&raw_key_id, Curve::Secp256k1, "hello by id")
            .await;
        self.sign_1559(RAW_KEY_ETH).await;
        refused(
            self.submit(
                "import_private_key",
                "ACTIVITY_TYPE_IMPORT_PRIVATE_KEY",
                json!({"userId": self.user, "privateKeyName": "garbage", "encryptedBundle": "{\"encappedPublic\":\"04\",\"ciphertext\":\"00\"}",
                       "curve": "CURVE_SECP256K1", "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]}),
            )
            .await,
            "import of a malformed bundle",
        );

        // A random wallet, exported so its mnemonic is known.
        let r = self
            .ok(
                "create_wallet",
                "ACTIVITY_TYPE_CREATE_WALLET",
                json!({"walletName": "random", "accounts": [eth_account(), sol_account()], "mnemonicLength": 24}),
            )
            .await;
        let wallet_id = r["walletId"].as_str().unwrap().to_string();
        let addresses: Vec<String> = r["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        self.sign_text(&addresses[0], Curve::Secp256k1, "hello from random")
            .await;
        self.sign_text(&addresses[1], Curve::Ed25519, "hello from random")
            .await;
        self.sign_1559(&addresses[0]).await;
        let phrase = self
            .export(
                "export_wallet",
                "ACTIVITY_TYPE_EXPORT_WALLET",
                json!({"walletId": wallet_id}),
            )
            .await;
        let random_phrase = String::from_utf8(phrase).unwrap();
        let seed = Mnemonic::parse(&random_phrase).unwrap().to_seed("");
        assert_eq!(
            derived_address(&seed, Curve::Secp256k1, ETH_PATH, AddressFormat::Ethereum),
            addresses[0]
        );
        assert_eq!(
            derived_address(&seed, Curve::Ed25519, SOL_PATH, AddressFormat::Solana),
            addresses[1]
        );
        let account_key = self
            .export(
                "export_wallet_account",
                "ACTIVITY_TYPE_EXPORT_WALLET_ACCOUNT",
                json!({"address": addresses[0]}),
            )
            .await;
        let derived = hd::derive(&seed, Curve::Secp256k1, &hd::parse_path(ETH_PATH).unwrap())
            .unwrap()
            .private_key()
            .to_vec();
        assert_eq!(account_key, derived);

        // Random private keys, exported so they are known.
        let r = self
            .ok(
                "create_private_keys",
                "ACTIVITY_TYPE_CREATE_PRIVATE_KEYS_V2",
                json!({"privateKeys": [
                    {"privateKeyName": "random-k1", "curve": "CURVE_SECP256K1", "privateKeyTags": [], "addressFormats": ["ADDRESS_FORMAT_ETHEREUM"]},
                    {"privateKeyName": "random-ed", "curve": "CURVE_ED25519", "privateKeyTags": [], "addressFormats": ["ADDRESS_FORMAT_SOLANA"]}
                ]}),
            )
            .await;
        let mut public = addresses.clone();
        let mut random_keys = Vec::new();
        for (key, (curve, format)) in r["privateKeys"].as_array().unwrap().iter().zip([
            (Curve::Secp256k1, AddressFormat::Ethereum),
            (Curve::Ed25519, AddressFormat::Solana),
        ]) {
            let id = key["privateKeyId"].as_str().unwrap();
            let addr = key["addresses"][0]["address"].as_str().unwrap().to_string();
            self.sign_text(&addr, curve, "hello from a created key")
                .await;
            if curve == Curve::Secp256k1 {
                self.sign_1559(id).await;
            }
            let raw = self
                .export(
                    "export_private_key",
                    "ACTIVITY_TYPE_EXPORT_PRIVATE_KEY",
                    json!({"privateKeyId": id}),
                )
                .await;
            let derived_public = hd::public_key_from_private(curve, &raw).unwrap();
            assert_eq!(address::encode(format, &derived_public).unwrap(), addr);
            public.push(addr);
            random_keys.push((curve, raw));
        }

        // Error paths.
        let sign = |sign_with: &str, hash: &str| json!({"signWith": sign_with, "payload": "00", "encoding": "PAYLOAD_ENCODING_HEXADECIMAL", "hashFunction": hash});
        refused(
            self.submit(
                "sign_raw_payload",
                "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
                sign(
                    "0x0000000000000000000000000000000000000000",
                    "HASH_FUNCTION_KECCAK256",
                ),
            )
            .await,
            "unknown signWith",
        );
        refused(
            self.submit(
                "sign_raw_payload",
                "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
                sign(ABANDON_ETH, "HASH_FUNCTION_NO_OP"),
            )
            .await,
            "no-op hash on secp256k1",
        );
        for unsigned in [
            "zz",
            "02",
            "02e90180843b9aca00850ba43b7400825208943535353535353535",
        ] {
            refused(
                self.submit(
                    "sign_transaction",
                    "ACTIVITY_TYPE_SIGN_TRANSACTION_V2",
                    json!({"signWith": ABANDON_ETH, "unsignedTransaction": unsigned, "type": "TRANSACTION_TYPE_ETHEREUM"}),
                )
                .await,
                "malformed transaction",
            );
        }
        refused(
            self.submit(
                "sign_transaction",
                "ACTIVITY_TYPE_SIGN_TRANSACTION_V2",
                json!({"signWith": abandon_sol, "unsignedTransaction": UNSIGNED_1559, "type": "TRANSACTION_TYPE_ETHEREUM"}),
            )
            .await,
            "ethereum transaction with an ed25519 key",
        );
        refused(
            self.submit(
                "export_wallet",
                "ACTIVITY_TYPE_EXPORT_WALLET",
                json!({"walletId": known_wallet, "targetPublicKey": "04deadbeef"}),
            )
            .await,
            "export to a malformed target key",
        );

        Known {
            random_phrase,
            random_keys,
            public,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Needles and the search.

struct Needle {
    label: String,
    /// ASCII-lowercased when `fold_case`.
    bytes: Vec<u8>,
    fold_case: bool,
}

#[derive(Default)]
struct Needles {
    list: Vec<Needle>,
    seen: HashSet<(Vec<u8>, bool)>,
    /// How many distinct secrets the needles encode.
    secrets: usize,
}

impl Needles {
    fn add(&mut self, label: String, bytes: &[u8], fold_case: bool) {
        assert!(bytes.len() >= PREFIX, "needle too short: {label}");
        let bytes = if fold_case {
            bytes.to_ascii_lowercase()
        } else {
            bytes.to_vec()
        };
        if self.seen.insert((bytes.clone(), fold_case)) {
            self.list.push(Needle {
                label,
                bytes,
                fold_case,
            });
        }
    }

    /// A binary secret as raw bytes, hex (any case), base58 and base64 (standard and URL-safe;
    /// without padding, so padded forms match too).
    fn bytes(&mut self, label: &str, secret: &[u8]) {
        self.secrets += 1;
        self.add(format!("{label} (raw bytes)"), secret, false);
        self.add(
            format!("{label} (hex)"),
            hex::encode(secret).as_bytes(),
            true,
        );
        self.add(
            format!("{label} (base58)"),
            bs58::encode(secret).into_string().as_bytes(),
            false,
        );
        self.add(
            format!("{label} (base64)"),
            STANDARD_NO_PAD.encode(secret).as_bytes(),
            false,
        );
        self.add(
            format!("{label} (base64url)"),
            URL_SAFE_NO_PAD.encode(secret).as_bytes(),
            false,
        );
    }

    /// A mnemonic: the phrase (any case), every run of 3 consecutive words joined by a space, a
    /// comma or `","` (a JSON array), and the phrase's bytes in hex, base58 and base64.
    fn phrase(&mut self, label: &str, phrase: &str) {
        self.add(format!("{label}: the phrase"), phrase.as_bytes(), true);
        let words: Vec<&str> = phrase.split(' ').collect();
        for (i, run) in words.windows(3).enumerate() {
            for sep in [" ", ",", "\",\""] {
                self.add(
                    format!("{label}: words {}-{} joined by {sep:?}", i + 1, i + 3),
                    run.join(sep).as_bytes(),
                    true,
                );
            }
        }
        self.bytes(&format!("{label}: the phrase bytes"), phrase.as_bytes());
    }

    /// A private key; an Ed25519 key also as the 64-byte Solana keypair (seed ‖ public key).
    fn private_key(&mut self, label: &str, curve: Curve, key: &[u8]) {
        self.bytes(label, key);
        if curve == Curve::Ed25519 {
            let public = hd::public_key_from_private(curve, key).unwrap();
            self.bytes(
                &format!("{label} as a Solana keypair"),
                &[key, &public].concat(),
            );
        }
    }

    /// A wallet: its phrase, entropy and seed, and every key on the way to each account (the
    /// master key, every intermediate node, the account key), secp256k1 ones also as `xprv`.
    fn wallet(&mut self, label: &str, phrase: &str, accounts: &[(Curve, &str)]) {
        self.phrase(&format!("{label} mnemonic"), phrase);
        let mnemonic = Mnemonic::parse(phrase).unwrap();
        let entropy = mnemonic.entropy();
        // All-zero entropy (the `abandon … about` phrase) would match any run of zeros.
        if entropy.iter().any(|&b| b != 0) {
            self.bytes(&format!("{label} BIP-39 entropy"), &entropy);
        }
        let seed = mnemonic.to_seed("");
        self.bytes(&format!("{label} BIP-39 seed"), seed.as_bytes());
        for (curve, path) in accounts {
            let indexes = hd::parse_path(path).unwrap();
            let components: Vec<&str> = path.split('/').collect();
            for depth in 0..=indexes.len() {
                let node = components[..=depth].join("/");
                let key = hd::derive(&seed, *curve, &indexes[..depth]).unwrap();
                let key_label = format!("{label} {curve} key at {node}");
                self.private_key(&key_label, *curve, key.private_key().as_slice());
                if let Some(xprv) = key.xprv() {
                    self.add(format!("{key_label} (xprv)"), xprv.as_bytes(), false);
                }
            }
        }
    }

    /// Every needle planted in filler (hex in upper case) must be found: the search works.
    fn self_check(&self) {
        assert!(!self.list.is_empty() && self.secrets > 0, "no needles");
        for n in &self.list {
            let planted = if n.fold_case {
                n.bytes.to_ascii_uppercase()
            } else {
                n.bytes.clone()
            };
            let hay = [b"\x00filler ".as_slice(), &planted, b" filler\x00"].concat();
            assert!(
                self.find(&hay).iter().any(|h| h.starts_with(&n.label)),
                "planted needle not found: {}",
                n.label
            );
        }
    }

    /// Every needle occurrence in `hay`, with its offset and some printable context.
    fn find(&self, hay: &[u8]) -> Vec<String> {
        let folded = hay.to_ascii_lowercase();
        let mut hits = Vec::new();
        for (fold_case, hay) in [(false, hay), (true, folded.as_slice())] {
            let mut by_prefix: HashMap<[u8; PREFIX], Vec<&Needle>> = HashMap::new();
            let mut first_two = vec![false; 1 << 16];
            for n in self.list.iter().filter(|n| n.fold_case == fold_case) {
                let prefix: [u8; PREFIX] = n.bytes[..PREFIX].try_into().unwrap();
                first_two[usize::from(u16::from_le_bytes([prefix[0], prefix[1]]))] = true;
                by_prefix.entry(prefix).or_default().push(n);
            }
            for (at, window) in hay.windows(PREFIX).enumerate() {
                if !first_two[usize::from(u16::from_le_bytes([window[0], window[1]]))] {
                    continue;
                }
                let Some(candidates) = by_prefix.get(window) else {
                    continue;
                };
                for n in candidates {
                    if hay[at..].starts_with(&n.bytes) {
                        let from = at.saturating_sub(60);
                        let to = (at + n.bytes.len() + 60).min(hay.len());
                        hits.push(format!(
                            "{} at byte {at}, context {:?}",
                            n.label,
                            String::from_utf8_lossy(&hay[from..to])
                        ));
                    }
                }
            }
        }
        hits
    }
}

impl Known {
    fn needles(&self) -> Needles {
        let accounts = [(Curve::Secp256k1, ETH_PATH), (Curve::Ed25519, SOL_PATH)];
        let mut needles = Needles::default();
        needles.wallet("imported wallet", ABANDON, &accounts);
        needles.wallet("created wallet", &self.random_phrase, &accounts);
        needles.phrase("refused mnemonic (bad checksum)", BAD_CHECKSUM);
        needles.private_key("imported raw key", Curve::Secp256k1, &RAW_KEY);
        for (i, (curve, key)) in self.random_keys.iter().enumerate() {
            needles.private_key(&format!("created private key #{i} {curve}"), *curve, key);
        }
        needles
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The name and bytes of every file under the data dir `dir`.
fn data_files(dir: &Path, when: &str) -> Vec<(String, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|path| {
            let name = format!(
                "data dir ({when}) {}",
                path.strip_prefix(dir).unwrap().display()
            );
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A plain-SQL `pg_dump` of the database at `url` (run as the current user over TCP, like the
/// testkit's `psql`; `PG*` variables removed so they cannot redirect it).
fn pg_dump(url: &str) -> Vec<u8> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("QUORATE_PG_BINDIR") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from("/usr/lib/postgresql/15/bin"));
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !dir.is_empty() {
            candidates.push(PathBuf::from(dir));
        }
    }
    let bin = candidates
        .iter()
        .map(|dir| dir.join("pg_dump"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("pg_dump not found in {candidates:?}"));
    let mut cmd = Command::new(&bin);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .args([
            "--format=plain",
            "--no-owner",
            "--no-privileges",
            "--dbname",
        ])
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
