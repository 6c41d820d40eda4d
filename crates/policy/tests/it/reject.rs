//! Limits: over-deep, over-long and over-large sources are rejected with a position, and an
//! evaluation that would take too many steps stops with an error — never a crash or a hang.

use quorate_policy::{evaluate, parse, parse_with, EvalErrorKind, Limits, Scope, Value};

#[test]
fn over_deep_nesting_is_rejected_with_a_position() {
    for (src, what) in [
        (
            format!("{}true{}", "(".repeat(5000), ")".repeat(5000)),
            "parentheses",
        ),
        (format!("{}true", "!".repeat(5000)), "negations"),
        (
            format!("[1]{}", "[0]".repeat(200)).replace("[1]", "[[1]]"),
            "indexes",
        ),
        (
            format!("{}1{} == []", "[".repeat(300), "]".repeat(300)),
            "list literals",
        ),
        (
            (0..100).fold("true".to_string(), |acc, i| {
                format!("[true].all(v{i}, {acc})")
            }),
            "quantifiers",
        ),
    ] {
        let e = parse(&src, Scope::Condition).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{what}: {e}");
        assert_eq!(e.line, 1, "{what}");
        assert!(e.offset < src.len(), "{what}");
    }
    // Just inside the limit parses.
    let limits = Limits::default();
    let ok = format!(
        "{}true{}",
        "(".repeat(limits.max_depth - 2),
        ")".repeat(limits.max_depth - 2)
    );
    assert!(parse(&ok, Scope::Condition).is_ok());
}

#[test]
fn long_chains_are_not_deep() {
    // 1,000 alternatives (a long allowlist written as a chain) stay within every limit.
    let src = (0..1000)
        .map(|i| format!("activity.type == 'T{i}'"))
        .collect::<Vec<_>>()
        .join(" || ");
    let limits = Limits {
        max_src_len: 64 * 1024,
        ..Limits::default()
    };
    let e = parse_with(&src, Scope::Condition, &limits).unwrap();
    let doc = Value::map([("activity", Value::map([("type", Value::from("T999"))]))]);
    assert_eq!(evaluate(&e, &doc, &limits).unwrap(), Value::Bool(true));
}

#[test]
fn over_long_and_over_large_sources_are_rejected() {
    let limits = Limits::default();
    let long = format!("'{}' == ''", "a".repeat(limits.max_src_len));
    let e = parse(&long, Scope::Condition).unwrap_err();
    assert!(e.message.contains("too long"), "{e}");
    assert_eq!(e.offset, limits.max_src_len);

    let many = format!(
        "1 in [{}]",
        (0..5000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let e = parse_with(
        &many,
        Scope::Condition,
        &Limits {
            max_src_len: 1 << 20,
            ..limits
        },
    )
    .unwrap_err();
    assert!(e.message.contains("too large"), "{e}");
}

#[test]
fn evaluation_is_bounded_by_steps() {
    let limits = Limits {
        max_steps: 10_000,
        ..Limits::default()
    };
    let approvers: Vec<Value> = (0..1000)
        .map(|i| Value::map([("id", Value::from(format!("u-{i}")))]))
        .collect();
    let doc = Value::map([("approvers", Value::List(approvers))]);
    // 1,000 × 1,000 comparisons: far over the limit.
    let e = parse(
        "approvers.all(a, approvers.any(b, a.id == b.id))",
        Scope::Consensus,
    )
    .unwrap();
    let err = evaluate(&e, &doc, &limits).unwrap_err();
    assert_eq!(err.kind, EvalErrorKind::StepLimit, "{err}");
    // A single pass fits.
    let e = parse("approvers.any(a, a.id == 'u-999')", Scope::Consensus).unwrap();
    assert_eq!(evaluate(&e, &doc, &limits).unwrap(), Value::Bool(true));
}

#[test]
fn deep_input_values_do_not_overflow_equality() {
    let mut v = Value::from(1u64);
    for _ in 0..10_000 {
        v = Value::List(vec![v]);
    }
    let doc = Value::map([("activity", Value::map([("params", Value::map([("x", v)]))]))]);
    let e = parse("activity.params.x == activity.params.x", Scope::Condition).unwrap();
    let err = evaluate(&e, &doc, &Limits::default()).unwrap_err();
    assert!(err.message.contains("nested too deeply"), "{err}");
    // Dropping a deeply nested value must not overflow the stack either.
    let mut v = Value::from(1u64);
    for _ in 0..10_000 {
        v = Value::List(vec![v]);
    }
    drop(v);
}
