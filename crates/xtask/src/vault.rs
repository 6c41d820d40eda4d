//! Part 4: the key vault — the crypto floor of a signed activity (stamp verify + unseal +
//! sign), the cost of creating a wallet with one account and of deriving one more, and
//! durable `sign_raw_payload` activities per second on SQLite and PostgreSQL.

use anyhow::{Context, Result};
use quorate_app::auth::{verify_stamp, AuthCache};
use quorate_client::Client;
use quorate_crypto::address::{self, AddressFormat};
use quorate_crypto::envelope::{aad, DataKey};
use quorate_crypto::hd::{self, Curve, Mnemonic};
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::sign::{self, HashFunction, PayloadEncoding};
use quorate_crypto::ApiKeyCurve;
use quorate_testkit::{Backend, TestServer};
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

use crate::activities::{self, Durability, Org, Workload};
use crate::BenchArgs;

const SIGN: Workload = Workload {
    path: "sign_raw_payload",
    activity_type: "ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2",
    params: |org, unique| json!({"signWith": org.sign_with, "payload": unique, "encoding": "PAYLOAD_ENCODING_TEXT_UTF8", "hashFunction": "HASH_FUNCTION_KECCAK256"}),
};

const ETH_PATH: &str = "m/44'/60'/0'/0/0";

fn eth_account(i: u32) -> serde_json::Value {
    json!({"curve": "CURVE_SECP256K1", "pathFormat": "PATH_FORMAT_BIP32", "path": format!("m/44'/60'/0'/0/{i}"), "addressFormat": "ADDRESS_FORMAT_ETHEREUM"})
}

/// Mean µs per call of `f` over `n` calls.
pub(crate) fn per_call_us(n: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

pub async fn run(args: &BenchArgs) -> Result<()> {
    println!("\n== 4. key vault ==");
    let floor = tokio::task::spawn_blocking(crypto_floor).await??;
    wallet_latency().await?;
    println!("  durable sign_raw_payload (secp256k1, keccak256, a unique payload per request):");
    let mut plan = vec![(Durability::SqliteNormal, 1)];
    if !args.skip_postgres {
        plan.extend([(Durability::PgNoFsync, 1), (Durability::PgNoFsync, 16)]);
    }
    for (durability, orgs) in plan {
        activities::scenario(args, SIGN, durability, orgs, 4_000.0, Some(with_wallet)).await?;
    }
    println!("  crypto floor per signed activity (from above): {floor:.0} µs; target: process CPU per activity ≤ 3× floor = {:.0} µs", 3.0 * floor);
    Ok(())
}

/// Gives the organization a wallet with one Ethereum account to sign with.
fn with_wallet<'a>(
    server: &'a TestServer,
    org: &'a mut Org,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(async move {
        let client = server.client(ApiKeyPair::from_private_hex(
            ApiKeyCurve::P256,
            &org.key_hex,
        )?);
        let a = client
            .submit(
                "create_wallet",
                "ACTIVITY_TYPE_CREATE_WALLET",
                &org.id,
                json!({"walletName": "bench", "accounts": [eth_account(0)]}),
            )
            .await?;
        org.sign_with = a.result["createWalletResult"]["addresses"][0]
            .as_str()
            .context("no address in createWalletResult")?
            .to_string();
        Ok(())
    })
}

/// The CPU a signed activity cannot avoid, single thread, mean µs per call: verify the P-256
/// stamp (server path, key cached), open the sealed key, prepare (keccak) and sign (RFC 6979).
pub(crate) fn floor_parts() -> Result<(f64, f64, f64)> {
    let pair = ApiKeyPair::generate(ApiKeyCurve::P256);
    let body =
        br#"{"type":"ACTIVITY_TYPE_SIGN_RAW_PAYLOAD_V2","organizationId":"x","parameters":{}}"#;
    let header = pair.stamp_header(body);
    let cache = AuthCache::new(true);
    verify_stamp(&cache, Some(&header), body)?;
    let verify = per_call_us(2_000, || {
        black_box(verify_stamp(&cache, Some(black_box(&header)), black_box(body)).is_ok());
    });
    let dk = DataKey::generate();
    let key = hd::generate_private_key(Curve::Secp256k1)?;
    let ad = aad(&[b"account-key", b"org", b"row"]);
    let sealed = dk.seal(&key[..], &ad)?;
    let open = per_call_us(20_000, || {
        black_box(dk.open(black_box(&sealed), &ad).is_ok());
    });
    let mut n = 0u64;
    let sign = per_call_us(2_000, || {
        n += 1;
        let p = sign::prepare(
            Curve::Secp256k1,
            &format!("payload {n}"),
            PayloadEncoding::TextUtf8,
            HashFunction::Keccak256,
        );
        if let Ok(p) = p {
            black_box(sign::sign_prepared(Curve::Secp256k1, &key, &p).is_ok());
        }
    });
    Ok((verify, open, sign))
}

/// Prints the crypto floor and the wallet-creation costs; returns the floor.
fn crypto_floor() -> Result<f64> {
    println!("  crypto floor (single thread, mean per call):");
    let (verify, open, sign) = floor_parts()?;
    let floor = verify + open + sign;
    println!("    stamp verify (P-256, server path)   {verify:>8.1} µs");
    println!("    unseal key (AES-256-GCM)            {open:>8.1} µs");
    println!("    keccak + sign (secp256k1, RFC 6979) {sign:>8.1} µs");
    println!("    floor                               {floor:>8.1} µs");

    let dk = DataKey::generate();
    let ad = aad(&[b"account-key", b"org", b"row"]);
    // Creating a wallet with one account: mnemonic, PBKDF2 seed, derivation, address, seals.
    let create = per_call_us(50, || {
        if let Ok(m) = Mnemonic::generate(12) {
            let seed = m.to_seed("");
            if let Ok(path) = hd::parse_path(ETH_PATH) {
                if let Ok(k) = hd::derive(&seed, Curve::Secp256k1, &path) {
                    black_box(address::encode(AddressFormat::Ethereum, &k.public_key()).ok());
                    black_box(dk.seal(&k.private_key()[..], &ad).ok());
                }
            }
            black_box(dk.seal(m.phrase().as_bytes(), &ad).ok());
            black_box(dk.seal(seed.as_bytes(), &ad).ok());
        }
    });
    let m = Mnemonic::generate(12)?;
    let seed = m.to_seed("");
    let mut i = 0u32;
    let extra = per_call_us(500, || {
        i += 1;
        if let Ok(path) = hd::parse_path(&format!("m/44'/60'/0'/0/{i}")) {
            if let Ok(k) = hd::derive(&seed, Curve::Secp256k1, &path) {
                black_box(address::encode(AddressFormat::Ethereum, &k.public_key()).ok());
                black_box(dk.seal(&k.private_key()[..], &ad).ok());
            }
        }
    });
    println!("    create wallet + 1 account (crypto)  {create:>8.1} µs   (target ≤ 2,000 µs)");
    println!("    derive one more account (crypto)    {extra:>8.1} µs   (target ≤ 50 µs)");
    Ok(floor)
}

/// End-to-end latency of the wallet activities, one request at a time, on SQLite.
async fn wallet_latency() -> Result<()> {
    let server = TestServer::start(Backend::Sqlite, "bench_wallets").await?;
    let c: Client = server.root_client();
    let org = server.root.organization_id.clone();
    let n = 100u32;
    let t = Instant::now();
    let mut wallet_id = String::new();
    for i in 0..n {
        let a = c
            .submit(
                "create_wallet",
                "ACTIVITY_TYPE_CREATE_WALLET",
                &org,
                json!({"walletName": format!("w{i}"), "accounts": [eth_account(0)]}),
            )
            .await?;
        wallet_id = a.result["createWalletResult"]["walletId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    let create = t.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    let t = Instant::now();
    for i in 1..=n {
        c.submit(
            "create_wallet_accounts",
            "ACTIVITY_TYPE_CREATE_WALLET_ACCOUNTS",
            &org,
            json!({"walletId": wallet_id, "accounts": [eth_account(i)]}),
        )
        .await?;
    }
    let extra = t.elapsed().as_secs_f64() * 1e3 / f64::from(n);
    println!("  through the server (SQLite, sequential, stamp + HTTP + durable commit included):");
    println!("    create_wallet with 1 account        {create:>8.2} ms per activity");
    println!("    create_wallet_accounts (1 account)  {extra:>8.2} ms per activity");
    server.stop().await?;
    Ok(())
}
