//! Figures for xtask: the cost of one decision over `n` realistic policies (printed, never
//! asserted). The policies mix Turnkey's documented shapes — activity type and resource
//! checks, `eth.tx` recipients and wei limits, wallet ids, Solana transfers (which error on an
//! Ethereum request, as they do in Turnkey), `approvers.any` and tag-count consensus — and the
//! request is an Ethereum `SIGN_TRANSACTION_V2` with a wallet and three approvers.

use std::time::Instant;

use crate::{Effect, Input, Int, Limits, Policy, PolicySet, Timestamp, Value};

/// The `i`-th sample policy.
fn sample_policy(i: usize, limits: &Limits) -> Option<Policy> {
    let (effect, condition, consensus): (Effect, String, Option<String>) = match i % 7 {
        0 => (
            Effect::Allow,
            format!(
                "activity.type == 'ACTIVITY_TYPE_SIGN_TRANSACTION_V2' && eth.tx.to == \
                 '0x{i:040x}'"
            ),
            Some(format!("approvers.any(user, user.id == 'user-{i}')")),
        ),
        1 => (
            Effect::Deny,
            "eth.tx.value > 1000000000000000000000000".to_string(),
            None,
        ),
        2 => (Effect::Allow, format!("wallet.id == 'wallet-{i}'"), None),
        3 => (
            Effect::Allow,
            "solana.tx.transfers.all(t, t.to == 'So1anaRecipient1111111111111111111111111')"
                .to_string(),
            None,
        ),
        4 => (
            Effect::Allow,
            "activity.resource == 'WALLET' && activity.action in ['CREATE', 'UPDATE']".to_string(),
            Some("approvers.filter(user, user.tags.contains('admins')).count() >= 2".into()),
        ),
        5 => (
            Effect::Deny,
            format!(
                "eth.tx.chain_id == {} && eth.tx.data[0..10] == '0xa9059cbb'",
                1000 + i
            ),
            None,
        ),
        _ => (
            Effect::Allow,
            "activity.kind == 'SIGN_TRANSACTION' && time.now < Timestamp('2099-01-01T00:00:00Z')"
                .to_string(),
            Some(format!(
                "credentials.any(c, c.type == 'CREDENTIAL_TYPE_API_KEY_P256' && c.user_id == \
                 'user-{i}')"
            )),
        ),
    };
    Policy::compile(
        format!("policy-{i}"),
        effect,
        Some(&condition),
        consensus.as_deref(),
        None,
        limits,
    )
    .ok()
}

/// `n` sample policies, compiled.
pub fn sample_set(n: usize) -> PolicySet {
    let limits = Limits::default();
    PolicySet::new((0..n).filter_map(|i| sample_policy(i, &limits)).collect())
}

/// The sample request: an Ethereum transaction signed with a wallet, approved by three users.
pub fn sample_input() -> Input {
    let user = |id: &str, tags: &[&str]| {
        Value::map([
            ("id", Value::from(id)),
            ("tags", Value::strings(tags.iter().copied())),
            ("email", Value::from(format!("{id}@example.com"))),
            ("alias", Value::from(id)),
        ])
    };
    let cred = |user_id: &str| {
        Value::map([
            ("id", Value::from(format!("key-{user_id}"))),
            ("user_id", Value::from(user_id)),
            ("type", Value::from("CREDENTIAL_TYPE_API_KEY_P256")),
            ("credential_id", Value::from("")),
            ("public_key", Value::from("02".repeat(33))),
        ])
    };
    let wei: Int = "2500000000000000000000".parse().unwrap_or(Int::ZERO);
    Input {
        condition: Value::map([
            (
                "activity",
                Value::map([
                    ("type", Value::from("ACTIVITY_TYPE_SIGN_TRANSACTION_V2")),
                    ("kind", Value::from("SIGN_TRANSACTION")),
                    ("resource", Value::from("PRIVATE_KEY")),
                    ("action", Value::from("SIGN")),
                    (
                        "params",
                        Value::map([("type", Value::from("TRANSACTION_TYPE_ETHEREUM"))]),
                    ),
                ]),
            ),
            (
                "wallet",
                Value::map([
                    ("id", Value::from("wallet-2")),
                    ("imported", Value::Bool(false)),
                    ("exported", Value::Bool(false)),
                    ("label", Value::from("treasury")),
                ]),
            ),
            (
                "wallet_account",
                Value::map([("address", Value::from(format!("0x{:040x}", 7)))]),
            ),
            (
                "eth",
                Value::map([(
                    "tx",
                    Value::map([
                        ("from", Value::from(format!("0x{:040x}", 7))),
                        ("to", Value::from(format!("0x{:040x}", 0))),
                        (
                            "data",
                            Value::from(format!("0xa9059cbb{}", "00".repeat(64))),
                        ),
                        ("value", Value::Int(wei)),
                        ("gas", Value::from(21_000u64)),
                        ("gas_price", Value::from(30_000_000_000u64)),
                        ("chain_id", Value::from(1u64)),
                        ("nonce", Value::from(3u64)),
                        ("type", Value::from("TYPE_2")),
                    ]),
                )]),
            ),
            (
                "time",
                Value::map([(
                    "now",
                    Value::Timestamp(Timestamp::from_unix(1_800_000_000, 0)),
                )]),
            ),
        ]),
        consensus: Value::map([
            (
                "approvers",
                Value::List(vec![
                    user("user-0", &["admins"]),
                    user("user-1", &["ops"]),
                    user("user-2", &["admins", "ops"]),
                ]),
            ),
            (
                "credentials",
                Value::List(vec![cred("user-0"), cred("user-1"), cred("user-2")]),
            ),
        ]),
    }
}

/// Decide the sample request against `n_policies` sample policies `iterations` times (after a
/// warm-up) and return the (p50, p99) latency in nanoseconds.
pub fn bench_decide_iters(n_policies: usize, iterations: usize) -> (u64, u64) {
    let set = sample_set(n_policies);
    let input = sample_input();
    let limits = Limits::default();
    for _ in 0..iterations.min(200) {
        std::hint::black_box(set.decide(&input, false, &limits));
    }
    let mut samples: Vec<u64> = (0..iterations.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(set.decide(std::hint::black_box(&input), false, &limits));
            u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX)
        })
        .collect();
    samples.sort_unstable();
    let pct = |p: usize| samples[(samples.len() - 1) * p / 100];
    (pct(50), pct(99))
}

/// [`bench_decide_iters`] with 2,000 iterations.
pub fn bench_decide(n_policies: usize) -> (u64, u64) {
    bench_decide_iters(n_policies, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, PolicyOutcome};

    #[test]
    fn sample_policies_all_compile_and_decide() {
        let set = sample_set(50);
        assert_eq!(set.len(), 50);
        let d = set.decide(&sample_input(), false, &Limits::default());
        // policy-1 (DENY over 10^24 wei) does not apply; the Solana ones error; policy-2
        // allows the wallet; nothing denies.
        assert!(matches!(d.outcome, Outcome::Allow { .. }), "{d}");
        assert!(d
            .evaluations
            .iter()
            .any(|e| e.outcome == PolicyOutcome::Error));
        let (p50, p99) = bench_decide_iters(50, 20);
        assert!(p50 <= p99);
    }
}
