//! Part 5: the policy engine — what deciding one activity costs over 1, 10 and 50 realistic
//! policies (`quorate_policy::bench`), its share of a signed activity, and the same decision
//! made by an independent engine (CEL, the `cel-interpreter` crate) over equivalent policies:
//! agreement on a handful of requests, then p50/p99 of each. Single thread; printed, never
//! asserted.

use anyhow::{anyhow, Result};
use cel_interpreter::{Context, Program};
use quorate_policy::bench::bench_decide_iters;
use quorate_policy::{Effect, Input, Limits, Outcome, Policy, PolicySet, Value};
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

/// Timed decisions per case (after a warm-up).
const ITERATIONS: usize = 20_000;
/// Target: one decision over 50 policies, p99.
const TARGET_P99_50_US: f64 = 10.0;
/// `--only vault` on the development machine (README): process CPU per durable signed
/// activity, server and load generator together.
const SIGNED_ACTIVITY_CPU_US: (f64, f64) = (478.0, 557.0);

pub fn run() -> Result<()> {
    println!("\n== 5. policy engine (single thread) ==");
    println!(
        "  decision over n sample policies (quorate_policy::bench: type/resource, eth.tx \
         recipients and wei limits, wallet ids, Solana transfers, approvers and credentials \
         consensus; an Ethereum SIGN_TRANSACTION_V2 request, 3 approvers), {ITERATIONS} \
         decisions each:"
    );
    let mut p50_50 = 0.0;
    for n in [1, 10, 50] {
        let (p50, p99) = bench_decide_iters(n, ITERATIONS);
        let (p50, p99) = (us(p50), us(p99));
        let target = if n == 50 {
            p50_50 = p50;
            format!(
                "   (target p99 ≤ {TARGET_P99_50_US:.0} µs: {})",
                if p99 <= TARGET_P99_50_US {
                    "met"
                } else {
                    "not met"
                }
            )
        } else {
            String::new()
        };
        println!("    {n:>2} policies   p50 {p50:>6.2} µs   p99 {p99:>6.2} µs{target}");
    }

    let (verify, open, sign) = crate::vault::floor_parts()?;
    let floor = verify + open + sign;
    println!(
        "  crypto floor of a signed activity (mean): stamp verify {verify:.1} + unseal {open:.1} \
         + keccak/sign {sign:.1} = {floor:.1} µs"
    );
    println!(
        "  policy evaluation (50 policies, p50) = {p50_50:.2} µs = {:.1}% of the {floor:.0} µs \
         crypto floor",
        100.0 * p50_50 / floor
    );
    let (lo, hi) = SIGNED_ACTIVITY_CPU_US;
    println!(
        "  … = {:.1}–{:.1}% of the {lo:.0}–{hi:.0} µs process CPU per durable sign_raw_payload \
         activity (`--only vault`, README; not re-measured here)",
        100.0 * p50_50 / hi,
        100.0 * p50_50 / lo
    );

    compare_with_cel()
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

// ---------------------------------------------------------------------------------------------
// The comparison with CEL.

fn addr(i: usize) -> String {
    format!("0x{i:040x}")
}

/// One policy written in both languages.
struct Equivalent {
    id: String,
    effect: Effect,
    quorate: (String, Option<String>),
    cel: (String, Option<String>),
}

/// The `i`-th equivalent policy. Policy 0 is the headline: sign with a private key, to one
/// recipient, under 1 ETH, approved by two admins. Neither language's `||` is used (quorate
/// does not short-circuit, CEL does: `true || error` would differ); `&&` errors the same way
/// in effect (an error neither allows nor denies, a `false` does not apply).
fn equivalent(i: usize) -> Equivalent {
    let admins2 = (
        "approvers.filter(user, user.tags.contains('admins')).count() >= 2".to_string(),
        "approvers.filter(user, 'admins' in user.tags).size() >= 2".to_string(),
    );
    let (effect, (qc, cc), cons) = match i % 5 {
        0 => {
            let c = |uint: &str| {
                format!(
                    "activity.resource == 'PRIVATE_KEY' && activity.action == 'SIGN' && \
                     eth.tx.to == '{}' && eth.tx.value < 1000000000000000000{uint}",
                    addr(i)
                )
            };
            (Effect::Allow, (c(""), c("u")), Some(admins2))
        }
        1 => {
            let c = format!("eth.tx.to == '{}'", addr(1000 + i));
            (Effect::Deny, (c.clone(), c), None)
        }
        2 => (
            Effect::Allow,
            (
                format!(
                    "activity.type == 'ACTIVITY_TYPE_SIGN_TRANSACTION_V2' && wallet.id == \
                     'wallet-{i}'"
                ),
                format!(
                    "activity.type == 'ACTIVITY_TYPE_SIGN_TRANSACTION_V2' && wallet.id == \
                     'wallet-{i}'"
                ),
            ),
            Some((
                format!("approvers.any(user, user.id == 'user-{}')", i % 3),
                format!("approvers.exists(user, user.id == 'user-{}')", i % 3),
            )),
        ),
        3 => (
            Effect::Deny,
            (
                format!(
                    "eth.tx.chain_id == {} && eth.tx.data[0..10] == '0xa9059cbb'",
                    1000 + i
                ),
                format!(
                    "eth.tx.chain_id == {}u && eth.tx.data.startsWith('0xa9059cbb')",
                    1000 + i
                ),
            ),
            None,
        ),
        _ => (
            Effect::Allow,
            (
                "activity.resource == 'WALLET' && activity.action in ['CREATE', 'UPDATE']"
                    .to_string(),
                "activity.resource == 'WALLET' && activity.action in ['CREATE', 'UPDATE']"
                    .to_string(),
            ),
            Some((
                "credentials.any(c, c.type == 'CREDENTIAL_TYPE_API_KEY_P256' && c.user_id == \
                 'user-0')"
                    .to_string(),
                "credentials.exists(c, c.type == 'CREDENTIAL_TYPE_API_KEY_P256' && c.user_id \
                 == 'user-0')"
                    .to_string(),
            )),
        ),
    };
    let (qs, cs) = match cons {
        Some((q, c)) => (Some(q), Some(c)),
        None => (None, None),
    };
    Equivalent {
        id: format!("policy-{i}"),
        effect,
        quorate: (qc, qs),
        cel: (cc, cs),
    }
}

/// A CEL policy: compiled condition and consensus.
struct CelPolicy {
    effect: Effect,
    condition: Program,
    consensus: Option<Program>,
}

/// The same set in both engines.
struct Sets {
    quorate: PolicySet,
    cel: Vec<CelPolicy>,
}

fn sets(n: usize) -> Result<Sets> {
    let limits = Limits::default();
    let mut q = Vec::new();
    let mut c = Vec::new();
    for i in 0..n {
        let e = equivalent(i);
        q.push(
            Policy::compile(
                e.id.clone(),
                e.effect,
                Some(&e.quorate.0),
                e.quorate.1.as_deref(),
                None,
                &limits,
            )
            .map_err(|err| anyhow!("{}: {err}", e.id))?,
        );
        let compile = |src: &str| Program::compile(src).map_err(|err| anyhow!("{}: {err}", e.id));
        c.push(CelPolicy {
            condition: compile(&e.cel.0)?,
            consensus: e.cel.1.as_deref().map(compile).transpose()?,
            effect: e.effect,
        });
    }
    Ok(Sets {
        quorate: PolicySet::new(q),
        cel: c,
    })
}

/// A request: its condition and consensus documents, as JSON.
struct Request {
    name: &'static str,
    condition: serde_json::Value,
    consensus: serde_json::Value,
}

fn user(id: &str, tags: &[&str]) -> serde_json::Value {
    json!({"id": id, "tags": tags, "email": format!("{id}@example.com"), "alias": id})
}

fn cred(user_id: &str) -> serde_json::Value {
    json!({"id": format!("key-{user_id}"), "user_id": user_id,
           "type": "CREDENTIAL_TYPE_API_KEY_P256", "credential_id": "",
           "public_key": "02".repeat(33)})
}

fn eth_sign(to: &str, wei: u64, chain_id: u64, data: &str) -> serde_json::Value {
    json!({
        "activity": {"type": "ACTIVITY_TYPE_SIGN_TRANSACTION_V2", "kind": "SIGN_TRANSACTION",
                     "resource": "PRIVATE_KEY", "action": "SIGN",
                     "params": {"type": "TRANSACTION_TYPE_ETHEREUM"}},
        "wallet": {"id": "wallet-2", "imported": false, "exported": false, "label": "treasury"},
        "wallet_account": {"address": addr(7)},
        "eth": {"tx": {"from": addr(7), "to": to, "data": data, "value": wei,
                       "gas": 21_000u64, "gas_price": 30_000_000_000u64,
                       "chain_id": chain_id, "nonce": 3u64, "type": "TYPE_2"}},
    })
}

fn consensus(approvers: &[serde_json::Value]) -> serde_json::Value {
    let creds: Vec<_> = approvers
        .iter()
        .filter_map(|a| a["id"].as_str().map(cred))
        .collect();
    json!({"approvers": approvers, "credentials": creds})
}

/// The requests both engines decide. The first is the one timed. Amounts stay below 2^64 wei
/// (~18.4 ETH): CEL's integers are 64-bit, quorate's go to 2^256.
fn requests() -> Vec<Request> {
    const ETH: u64 = 1_000_000_000_000_000_000;
    let two_admins = consensus(&[
        user("user-0", &["admins"]),
        user("user-1", &["ops"]),
        user("user-3", &["admins", "ops"]),
    ]);
    let one_admin = consensus(&[user("user-3", &["admins"]), user("user-4", &["ops"])]);
    let transfer = format!("0xa9059cbb{}", "00".repeat(64));
    vec![
        Request {
            name: "0.5 ETH to the allowed recipient, 2 admins",
            condition: eth_sign(&addr(0), ETH / 2, 1, "0x"),
            consensus: two_admins.clone(),
        },
        Request {
            name: "2 ETH to the allowed recipient, 2 admins",
            condition: eth_sign(&addr(0), 2 * ETH, 1, "0x"),
            consensus: two_admins.clone(),
        },
        Request {
            name: "0.5 ETH to the allowed recipient, 1 admin",
            condition: eth_sign(&addr(0), ETH / 2, 1, "0x"),
            consensus: one_admin.clone(),
        },
        Request {
            name: "0.5 ETH to policy-1's blocked recipient, 2 admins",
            condition: eth_sign(&addr(1001), ETH / 2, 1, "0x"),
            consensus: two_admins.clone(),
        },
        Request {
            name: "ERC-20 transfer on policy-3's blocked chain 1003",
            condition: eth_sign(&addr(0), 0, 1003, &transfer),
            consensus: two_admins.clone(),
        },
        Request {
            name: "create a wallet (no eth, no wallet), user-0's key",
            condition: json!({"activity": {"type": "ACTIVITY_TYPE_CREATE_WALLET",
                "kind": "CREATE_WALLET", "resource": "WALLET", "action": "CREATE",
                "params": {}}}),
            consensus: two_admins.clone(),
        },
        Request {
            name: "create a wallet, only user-4's key",
            condition: json!({"activity": {"type": "ACTIVITY_TYPE_CREATE_WALLET",
                "kind": "CREATE_WALLET", "resource": "WALLET", "action": "CREATE",
                "params": {}}}),
            consensus: consensus(&[user("user-4", &["ops"])]),
        },
    ]
}

fn quorate_input(r: &Request) -> Result<Input> {
    Ok(Input {
        condition: Value::from_json(&r.condition).map_err(|e| anyhow!("{e}"))?,
        consensus: Value::from_json(&r.consensus).map_err(|e| anyhow!("{e}"))?,
    })
}

fn cel_context(r: &Request) -> Result<Context<'static>> {
    let mut ctx = Context::default();
    for doc in [&r.condition, &r.consensus] {
        if let Some(m) = doc.as_object() {
            for (k, v) in m {
                ctx.add_variable(k.as_str(), v)
                    .map_err(|e| anyhow!("{k}: {e}"))?;
            }
        }
    }
    Ok(ctx)
}

/// The decision, engine-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Allow,
    Deny,
    ConsensusNeeded,
    ImplicitDeny,
}

fn quorate_verdict(o: &Outcome) -> Verdict {
    match o {
        Outcome::Allow { .. } => Verdict::Allow,
        Outcome::Deny { .. } => Verdict::Deny,
        Outcome::ConsensusNeeded { .. } => Verdict::ConsensusNeeded,
        Outcome::ImplicitDeny => Verdict::ImplicitDeny,
    }
}

/// `Some(b)` for a boolean result, `None` for an error or a non-boolean.
fn cel_bool(p: &Program, ctx: &Context) -> Option<bool> {
    match p.execute(ctx) {
        Ok(cel_interpreter::Value::Bool(b)) => Some(b),
        _ => None,
    }
}

/// quorate's decision rule over CEL results: every policy evaluated; an error neither allows
/// nor denies; the consensus only when the condition holds; an ALLOW whose consensus is
/// false is pending, a DENY whose consensus is false does not apply; deny over allow over
/// pending over implicit deny.
fn cel_decide(set: &[CelPolicy], ctx: &Context) -> Verdict {
    let (mut allow, mut deny, mut pending) = (false, false, false);
    for p in set {
        if cel_bool(&p.condition, ctx) != Some(true) {
            continue;
        }
        let consensus = match &p.consensus {
            None => Some(true),
            Some(c) => cel_bool(c, ctx),
        };
        match (p.effect, consensus) {
            (Effect::Allow, Some(true)) => allow = true,
            (Effect::Allow, Some(false)) => pending = true,
            (Effect::Deny, Some(true)) => deny = true,
            _ => {}
        }
    }
    if deny {
        Verdict::Deny
    } else if allow {
        Verdict::Allow
    } else if pending {
        Verdict::ConsensusNeeded
    } else {
        Verdict::ImplicitDeny
    }
}

/// p50 and p99 (ns) of `iterations` timed calls of each case, run interleaved in rounds so
/// drift in CPU frequency or background load hits both alike.
fn timed_pair(iterations: usize, mut cases: [&mut dyn FnMut(); 2]) -> [(u64, u64); 2] {
    const ROUNDS: usize = 10;
    for _ in 0..200 {
        for f in cases.iter_mut() {
            f();
        }
    }
    let per = (iterations / ROUNDS).max(1);
    let mut samples = [
        Vec::with_capacity(per * ROUNDS),
        Vec::with_capacity(per * ROUNDS),
    ];
    for _ in 0..ROUNDS {
        for (s, f) in samples.iter_mut().zip(cases.iter_mut()) {
            for _ in 0..per {
                let t = Instant::now();
                f();
                s.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
            }
        }
    }
    samples.map(|mut s| {
        s.sort_unstable();
        let pct = |p: usize| s[(s.len() - 1) * p / 100];
        (pct(50), pct(99))
    })
}

fn compare_with_cel() -> Result<()> {
    println!(
        "  vs CEL (cel-interpreter 0.10, tree-walking) over equivalent policies — headline: \
         ALLOW resource PRIVATE_KEY, action SIGN, eth.tx.to == 0x…00, value < 10^18 wei, \
         approvers with tag 'admins' ≥ 2; the 50-policy set adds recipient DENYs, wallet-id \
         ALLOWs with an approver, ERC-20-on-chain DENYs, wallet CREATE/UPDATE ALLOWs with a \
         credential:"
    );
    let limits = Limits::default();
    let requests = requests();
    let inputs: Vec<(Input, Context)> = requests
        .iter()
        .map(|r| Ok((quorate_input(r)?, cel_context(r)?)))
        .collect::<Result<_>>()?;
    for n in [1, 50] {
        let s = sets(n)?;
        let mut agree = 0;
        for (r, (input, ctx)) in requests.iter().zip(&inputs) {
            let q = quorate_verdict(&s.quorate.decide(input, false, &limits).outcome);
            let c = cel_decide(&s.cel, ctx);
            if q == c {
                agree += 1;
            }
            println!(
                "    {n:>2} policies  {:<52} quorate {:<15} CEL {:<15} {}",
                r.name,
                format!("{q:?}"),
                format!("{c:?}"),
                if q == c { "agree" } else { "DISAGREE" }
            );
        }
        println!(
            "    {n:>2} policies  agreement: {agree}/{} requests",
            requests.len()
        );
        let Some((input, ctx)) = inputs.first() else {
            continue;
        };
        let [(q50, q99), (c50, c99)] = timed_pair(
            ITERATIONS,
            [
                &mut || {
                    black_box(s.quorate.decide(black_box(input), false, &limits));
                },
                &mut || {
                    black_box(cel_decide(black_box(&s.cel), black_box(ctx)));
                },
            ],
        );
        println!(
            "    {n:>2} policies  quorate p50 {:>7.2} µs p99 {:>7.2} µs | CEL p50 {:>7.2} µs p99 \
             {:>7.2} µs | quorate/CEL p50 {:.2}×, p99 {:.2}×",
            us(q50),
            us(q99),
            us(c50),
            us(c99),
            q50 as f64 / c50.max(1) as f64,
            q99 as f64 / c99.max(1) as f64
        );
    }
    println!(
        "    (quorate's decide also builds the per-policy explanation; the CEL side computes \
         the verdict only)"
    );
    Ok(())
}
