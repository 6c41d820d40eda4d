//! The data-driven corpus (`tests/corpus.json`): expressions with their expected value over
//! shared request documents, whole decisions (policies + request → decision and each policy's
//! outcome), and sources that must be rejected with a message and position.

use std::collections::BTreeMap;

use quorate_policy::{
    evaluate, parse, Effect, EvalErrorKind, Input, Limits, Outcome, Policy, PolicyOutcome,
    PolicySet, Value,
};
use serde_json::Value as Json;

use crate::support;

fn corpus() -> Json {
    serde_json::from_str(include_str!("../corpus.json")).expect("corpus.json parses")
}

fn docs(c: &Json) -> BTreeMap<String, Value> {
    c["docs"]
        .as_object()
        .expect("docs")
        .iter()
        .map(|(k, v)| (k.clone(), support::value(v)))
        .collect()
}

/// A document: a name in `docs`, or inline JSON.
fn doc(docs: &BTreeMap<String, Value>, j: &Json) -> Value {
    match j {
        Json::String(name) => docs
            .get(name)
            .unwrap_or_else(|| panic!("no doc {name}"))
            .clone(),
        Json::Null => Value::Map(Default::default()),
        other => support::value(other),
    }
}

#[test]
fn expressions() {
    let c = corpus();
    let docs = docs(&c);
    let cases = c["exprs"].as_array().expect("exprs");
    assert!(cases.len() >= 100, "corpus shrank: {}", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let src = case["src"].as_str().expect("src");
        let scope = support::scope(case["scope"].as_str().unwrap_or("condition"));
        let expr = match parse(src, scope) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{src}: does not parse: {e}"));
                continue;
            }
        };
        let d = doc(&docs, &case["doc"]);
        let got = evaluate(&expr, &d, &Limits::default());
        let want = &case["expect"];
        let ok = match (want, &got) {
            (Json::Bool(b), Ok(Value::Bool(v))) => b == v,
            (Json::String(s), Err(e)) if s == "error" => true,
            (Json::String(s), Err(e)) if s == "error:missing" => {
                e.kind == EvalErrorKind::MissingField
            }
            (Json::String(s), Err(e)) if s == "error:range" => e.kind == EvalErrorKind::OutOfRange,
            (Json::String(s), Err(e)) if s == "error:type" => e.kind == EvalErrorKind::Type,
            _ => false,
        };
        if !ok {
            failures.push(format!("{src}: expected {want}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn outcome_name(o: PolicyOutcome) -> &'static str {
    match o {
        PolicyOutcome::Allow => "allow",
        PolicyOutcome::Deny => "deny",
        PolicyOutcome::NotApplicable => "not_applicable",
        PolicyOutcome::ConsensusPending => "consensus_pending",
        PolicyOutcome::TimeInactive => "time_inactive",
        PolicyOutcome::Error => "error",
    }
}

#[test]
fn decisions() {
    let c = corpus();
    let docs = docs(&c);
    let cases = c["decisions"].as_array().expect("decisions");
    assert!(cases.len() >= 20, "corpus shrank: {}", cases.len());
    let limits = Limits::default();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let policies: Vec<Policy> = case["policies"]
            .as_array()
            .expect("policies")
            .iter()
            .map(|p| {
                Policy::compile(
                    p["id"].as_str().expect("id"),
                    Effect::from_wire(p["effect"].as_str().expect("effect")).expect("effect"),
                    p["condition"].as_str(),
                    p["consensus"].as_str(),
                    p["time"].as_str(),
                    &limits,
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"))
            })
            .collect();
        let set = PolicySet::new(policies);
        let input = Input {
            condition: doc(&docs, &case["input"]["condition"]),
            consensus: doc(&docs, &case["input"]["consensus"]),
        };
        let root = case["root_quorum"].as_bool().unwrap_or(false);
        let d = set.decide(&input, root, &limits);
        let ids = |v: &[std::sync::Arc<str>]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (kind, got_ids) = match &d.outcome {
            Outcome::Allow {
                by_root_quorum: true,
                ..
            } => ("allow_root_quorum", vec![]),
            Outcome::Allow { policy_ids, .. } => ("allow", ids(policy_ids)),
            Outcome::Deny { policy_ids } => ("deny", ids(policy_ids)),
            Outcome::ConsensusNeeded { policy_ids } => ("consensus_needed", ids(policy_ids)),
            Outcome::ImplicitDeny => ("implicit_deny", vec![]),
        };
        assert_eq!(
            kind,
            case["decision"].as_str().expect("decision"),
            "{name}:\n{d}"
        );
        if let Some(want) = case["ids"].as_array() {
            let want: Vec<String> = want.iter().map(|s| s.as_str().unwrap().into()).collect();
            assert_eq!(got_ids, want, "{name}:\n{d}");
        }
        if let Some(outcomes) = case["outcomes"].as_object() {
            assert_eq!(
                outcomes.len(),
                d.evaluations.len(),
                "{name}: outcomes listed"
            );
            for e in &d.evaluations {
                let want = outcomes[&*e.policy_id].as_str().expect("outcome");
                assert_eq!(
                    outcome_name(e.outcome),
                    want,
                    "{name}: policy {}:\n{d}",
                    e.policy_id
                );
            }
        }
        if let Some(detail) = case["detail"].as_str() {
            assert_eq!(d.outcome.denial_detail().as_deref(), Some(detail), "{name}");
        }
    }
}

#[test]
fn rejects() {
    let c = corpus();
    let cases = c["rejects"].as_array().expect("rejects");
    assert!(cases.len() >= 40, "corpus shrank: {}", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let src = case["src"].as_str().expect("src");
        let scope = support::scope(case["scope"].as_str().unwrap_or("condition"));
        match parse(src, scope) {
            Ok(_) => failures.push(format!("{src}: accepted")),
            Err(e) => {
                let needle = case["contains"].as_str().expect("contains");
                if !e.message.contains(needle) {
                    failures.push(format!("{src}: message {:?} lacks {needle:?}", e.message));
                }
                if let Some(line) = case["line"].as_u64() {
                    if e.line as u64 != line {
                        failures.push(format!("{src}: line {} not {line}", e.line));
                    }
                }
                if let Some(col) = case["col"].as_u64() {
                    if e.col as u64 != col {
                        failures.push(format!("{src}: col {} not {col} ({e})", e.col));
                    }
                }
                if let Some(off) = case["offset"].as_u64() {
                    if e.offset as u64 != off {
                        failures.push(format!("{src}: offset {} not {off}", e.offset));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The corpus exercises every operator, function and keyword of the grammar.
#[test]
fn corpus_covers_the_grammar() {
    let c = corpus();
    let mut text = String::new();
    for case in c["exprs"].as_array().unwrap() {
        text.push_str(case["src"].as_str().unwrap());
        text.push('\n');
    }
    for case in c["decisions"].as_array().unwrap() {
        for p in case["policies"].as_array().unwrap() {
            for f in ["condition", "consensus", "time"] {
                if let Some(s) = p[f].as_str() {
                    text.push_str(s);
                    text.push('\n');
                }
            }
        }
    }
    for needle in [
        "&&",
        "||",
        "!(",
        "==",
        "!=",
        " < ",
        " > ",
        " <= ",
        " >= ",
        " in ",
        "][",
        "..",
        ".all(",
        ".any(",
        ".filter(",
        ".contains(",
        ".count()",
        ".count ",
        "['",
        "Timestamp('",
        "true",
        "false",
        "-170141183460469231731687303715884105728",
        "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        "approvers",
        "credentials",
        "activity.type",
        "activity.kind",
        "activity.resource",
        "activity.action",
        "activity.params",
        "wallet.id",
        "wallet.imported",
        "wallet.exported",
        "wallet.label",
        "wallets",
        "wallet_account.address",
        "private_key.id",
        "private_key.tags",
        "eth.tx.from",
        "eth.tx.to",
        "eth.tx.data",
        "eth.tx.value",
        "eth.tx.gas",
        "eth.tx.gas_price",
        "eth.tx.chain_id",
        "eth.tx.nonce",
        "eth.tx.type",
        "eth.tx.function_name",
        "eth.tx.contract_call_args",
        "eth.eip_712",
        "eth.eip_7702_authorization",
        "solana.tx.account_keys",
        "solana.tx.program_keys",
        "solana.tx.instructions",
        "solana.tx.transfers",
        "solana.tx.spl_transfers",
        "solana.tx.address_table_lookups",
        "tron.tx",
        "bitcoin.tx",
        "tempo.tx",
        "time.now",
    ] {
        assert!(text.contains(needle), "no corpus case uses {needle:?}");
    }
    let decisions: Vec<&str> = c["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap())
        .collect();
    for d in [
        "allow",
        "deny",
        "consensus_needed",
        "implicit_deny",
        "allow_root_quorum",
    ] {
        assert!(decisions.contains(&d), "no decision case ends in {d}");
    }
}
