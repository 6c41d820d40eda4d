//! Part 3: what verifying an `X-Stamp` costs next to a raw ring P-256 verification of the same
//! signature — through `verify_header` (decode + key parse + verify), a `PreparedKey` prepared
//! once, and the server's own path (`auth::verify_stamp` with its key cache).

use anyhow::{ensure, Result};
use quorate_app::auth::{verify_stamp, AuthCache};
use quorate_crypto::bench::{p256_uncompressed, ring_p256_verify};
use quorate_crypto::keys::ApiKeyPair;
use quorate_crypto::stamp::{decode_header, verify_header, PreparedKey};
use quorate_crypto::ApiKeyCurve;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Cases run interleaved in this many rounds (plus one warm-up round), so drift in CPU
/// frequency or background load hits every case alike.
const ROUNDS: u32 = 10;
/// Verification should cost at most this multiple of the raw ring verify.
const TARGET_RATIO: f64 = 1.3;

type Case<'a> = (&'static str, Box<dyn Fn() -> bool + 'a>);

pub fn run(iterations: u32) -> Result<()> {
    println!("\n== 3. stamp verification cost (P-256, {iterations} iterations per case, single thread) ==");
    let pair = ApiKeyPair::generate(ApiKeyCurve::P256);
    let body = br#"{"organizationId":"2c8b4a3e-0d1f-4b5a-9c6d-7e8f9a0b1c2d"}"#.to_vec();
    let header = pair.stamp_header(&body);
    let stamp = decode_header(&header)?;
    let prepared = PreparedKey::parse(stamp.scheme, &stamp.public_key)?;
    let raw_pk = p256_uncompressed(&stamp.public_key)?;
    let der_sig = hex::decode(&stamp.signature)?;
    let cache = AuthCache::new(true);

    ensure!(
        ring_p256_verify(&raw_pk, &body, &der_sig),
        "raw verify failed"
    );
    prepared.verify(&body, &stamp.signature)?;
    verify_header(&header, &body)?;
    verify_stamp(&cache, Some(&header), &body)?;

    let cases: Vec<Case> = vec![
        (
            "raw ring_p256_verify (baseline)",
            Box::new(|| {
                ring_p256_verify(black_box(&raw_pk), black_box(&body), black_box(&der_sig))
            }),
        ),
        (
            "PreparedKey::verify (prepared once)",
            Box::new(|| {
                prepared
                    .verify(black_box(&body), black_box(&stamp.signature))
                    .is_ok()
            }),
        ),
        (
            "app::auth::verify_stamp (server path)",
            Box::new(|| verify_stamp(&cache, Some(black_box(&header)), black_box(&body)).is_ok()),
        ),
        (
            "stamp::verify_header (no cache)",
            Box::new(|| verify_header(black_box(&header), black_box(&body)).is_ok()),
        ),
        (
            "  of which decode_header",
            Box::new(|| decode_header(black_box(&header)).is_ok()),
        ),
        (
            "  of which PreparedKey::parse",
            Box::new(|| PreparedKey::parse(stamp.scheme, black_box(&stamp.public_key)).is_ok()),
        ),
    ];

    let per_round = (iterations / ROUNDS).max(1);
    let mut totals = vec![Duration::ZERO; cases.len()];
    for round in 0..=ROUNDS {
        for (i, (name, f)) in cases.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..per_round {
                ensure!(f(), "{name} failed");
            }
            if round > 0 {
                totals[i] += t.elapsed();
            }
        }
    }
    let ops = f64::from(per_round * ROUNDS);
    let us: Vec<f64> = totals.iter().map(|t| t.as_secs_f64() * 1e6 / ops).collect();
    let baseline = us.first().copied().unwrap_or(f64::NAN);
    for (i, ((name, _), us)) in cases.iter().zip(&us).enumerate() {
        let ratio = us / baseline;
        let note = match i {
            0 => String::new(),
            1..=3 => format!(
                "   {ratio:.2}× raw   [target ≤ {TARGET_RATIO}×: {}]",
                if ratio <= TARGET_RATIO {
                    "met"
                } else {
                    "NOT met"
                }
            ),
            _ => format!("   {ratio:.2}× raw"),
        };
        println!("  {name:<40} {us:>8.2} µs/op{note}");
    }
    Ok(())
}
