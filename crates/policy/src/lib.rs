//! quorate-policy: Turnkey's policy language — parser, checker, bounded evaluator and the
//! decision rule. Pure: no I/O, no async; never panics on any input.
//!
//! # Using it
//!
//! ```
//! use quorate_policy::{Effect, Input, Limits, Outcome, Policy, PolicySet, Value};
//!
//! let limits = Limits::default();
//! // When a policy is written: compile it (a `PolicyError` has the message and position).
//! let p = Policy::compile(
//!     "p1",
//!     Effect::Allow,
//!     Some("activity.resource == 'WALLET' && activity.action == 'CREATE'"),
//!     Some("approvers.any(user, user.id == 'u1')"),
//!     None,
//!     &limits,
//! )
//! .unwrap();
//! let set = PolicySet::new(vec![p]);
//! // Per request: the two documents, then the decision with its explanation.
//! let input = Input {
//!     condition: Value::map([(
//!         "activity",
//!         Value::map([("resource", "WALLET".into()), ("action", "CREATE".into())]),
//!     )]),
//!     consensus: Value::map([(
//!         "approvers",
//!         Value::List(vec![Value::map([("id", "u1".into())])]),
//!     )]),
//! };
//! let d = set.decide(&input, false, &limits);
//! assert!(matches!(d.outcome, Outcome::Allow { .. }));
//! ```
//!
//! - [`parse`] / [`parse_with`]: source → checked [`Expr`] for a [`Scope`], or a [`PolicyError`]
//!   `{message, offset, line, col}`.
//! - [`evaluate`]: one expression over one document → [`Value`] or [`EvalError`]
//!   `{kind, message, offset}` ([`EvalError::position`] gives line and column).
//! - [`Policy::compile`] (an [`InvalidPolicy`] names the field), [`PolicySet::new`],
//!   [`PolicySet::decide`] → [`Decision`] `{outcome, evaluations}`: the [`Outcome`] (with the
//!   denying or allowing policy ids, and Turnkey's denial text via
//!   [`Outcome::denial_detail`]) and, per policy, a [`PolicyEvaluation`]
//!   `{policy_id, effect, outcome, message, error}`; `Display` prints the explanation.
//! - Documents are [`Value`]s: maps ([`Map`]), lists, strings, bools, [`Int`]s (build wei
//!   amounts with [`Int::from_be_bytes`]), [`Timestamp`]s; [`Value::from_json`] converts JSON.
//! - [`bench::bench_decide`]: p50/p99 of a decision over `n` realistic policies.
//!
//! # The language (tkhq/docs `features/policies/language.mdx`)
//!
//! - Logical `&&`, `||` (chains are n-ary), `!` (Turnkey documents it for the `time` field,
//!   `features/policies/time-based-policies.mdx`; accepted everywhere).
//! - Comparison `==`, `!=` (same types), `<`, `>`, `<=`, `>=` (ints or timestamps), `x in list`.
//!   Comparisons do not chain (`1 < x < 3` is an error: parenthesize).
//! - Access `x.field`, `x[i]` (lists, and strings: a one-character string), `x['key']` (maps and
//!   structs: `eth.tx.contract_call_args['wad']`, `eth.eip_712.message['permitted'][0]['token']`),
//!   `x[a..b]` (end exclusive; lists and strings, counted in characters).
//! - List functions `.all(v, pred)`, `.any(v, pred)`, `.filter(v, pred)`, `.contains(x)`,
//!   `.count()`; `.count` without parentheses is accepted on lists too, because Turnkey's Solana
//!   examples write `solana.tx.transfers.count == 1`.
//! - Literals: integers from -2^127 to 2^256 - 1 (Turnkey's `int` is i128, `uint` u256: one
//!   [`Int`] domain here, compared exactly across widths); single-quoted strings with no
//!   escapes (double quotes are rejected with a message saying so); `true`, `false`; lists
//!   `[a, b]` of one type; `Timestamp('2026-01-01T00:00:00Z')` (RFC 3339, zero offset only).
//!   `CronSpan(…)` is rejected (it needs a time-zone database this crate does not carry).
//! - Keywords by scope ([`schema`]): consensus — `approvers`, `credentials`; condition —
//!   `activity`, `wallet`, `wallets`, `wallet_account`, `private_key`, `eth.tx`, `eth.eip_712`,
//!   `eth.eip_7702_authorization`, `solana.tx`, `tron.tx`, `bitcoin.tx`, `tempo.tx`,
//!   `time.now`; time — `time.now`. An unknown keyword or field, a keyword of the other scope,
//!   or a type error is rejected when the policy is written, with its position.
//!
//! # Semantics (decisions where the docs are silent are marked *ours*)
//!
//! - **No short-circuit** (Turnkey: "our policy engine does not short circuit during
//!   evaluation … if any clause within the condition field results in an error, the evaluated
//!   outcome for that policy will be an error"): both sides of `&&`/`||`, and a predicate on
//!   every element, are evaluated; any error makes the expression an error.
//! - **Missing data is an error**, not `false`: reading a keyword or field the request does not
//!   have (`wallet.id` on a private-key request, an `activity.params` field the activity does
//!   not expose — Turnkey's `MissingField`), an index out of range, or a free-form value of the
//!   wrong kind. A `null` reads as missing (*ours*).
//! - `==` between different kinds of free-form values is an error; lists of different lengths
//!   are simply unequal (*ours*).
//! - **Policy outcome** ([`PolicyOutcome`]): `time` false → time-inactive; condition false →
//!   not applicable; any expression errors → error (neither allows nor denies — so an erroring
//!   DENY does not deny, as in Turnkey; split complex policies); condition true and consensus
//!   true → allow / deny; an ALLOW whose consensus is false → consensus pending; a DENY whose
//!   consensus is false does not apply (a DENY's consensus names whom it targets, as in
//!   Turnkey's "deny all delete actions for users with a specific tag" example). An absent
//!   field holds. Consensus is evaluated only when the condition holds (*ours*: a condition
//!   that is false makes a consensus error irrelevant).
//! - **Decision** ([`PolicySet::decide`]): root quorum → allow; else any DENY → deny (with the
//!   denying ids); else any ALLOW → allow; else any ALLOW pending consensus → consensus needed;
//!   else implicit deny (tkhq/docs `snippets/shared/policy-engine.mdx`).
//!
//! # Bounds
//!
//! [`Limits`]: source length, tree depth and node count are enforced while parsing (neither the
//! parser nor the evaluator recurses deeper than `max_depth`); `max_steps` bounds each
//! evaluation (quantifiers over large lists, deep equality, slices), so a policy's cost per
//! request is bounded whatever the request holds.
//!
//! # Cost
//!
//! Compile once: each expression is a flat node arena with keyword paths interned, and a
//! [`PolicySet`] interns paths across all its policies, so each path (`activity.type`) is
//! resolved at most once per request; values are borrowed from the input, not copied. The
//! common comparison of a path, variable or variable's field with a literal is one node
//! evaluated without visiting its children. A decision over the 50 sample policies of
//! [`mod@bench`] costs about 53,000 instructions (callgrind), 6–9 µs on the development machine.

pub mod bench;
mod check;
mod decide;
mod error;
mod eval;
mod expr;
mod int;
mod lex;
mod parse;
pub mod schema;
mod value;

pub use decide::{
    decide, Decision, Effect, Input, InvalidPolicy, Outcome, Policy, PolicyEvaluation,
    PolicyOutcome, PolicySet,
};
pub use error::{EvalError, EvalErrorKind, PolicyError, Position};
pub use expr::Expr;
pub use int::{Int, IntError};
pub use value::{Map, Timestamp, TimestampError, Value, ValueError};

/// Which field of a policy an expression is: it decides which keywords it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `condition`: what the request is.
    Condition,
    /// `consensus`: who approved it.
    Consensus,
    /// `time`: when the policy is active.
    Time,
}

impl Scope {
    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Condition => "condition",
            Scope::Consensus => "consensus",
            Scope::Time => "time",
        }
    }
}

/// Bounds on parsing and evaluation. Exceeding one is a clear error, never a crash or a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest source, in bytes.
    pub max_src_len: usize,
    /// Deepest nesting of the syntax tree (a `&&`/`||` chain counts once).
    pub max_depth: usize,
    /// Most syntax-tree nodes.
    pub max_nodes: usize,
    /// Most evaluation steps per expression per request.
    pub max_steps: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_src_len: 16 * 1024,
            max_depth: 64,
            max_nodes: 4096,
            max_steps: 100_000,
        }
    }
}

/// Parse and check `src` for `scope` with the default [`Limits`].
pub fn parse(src: &str, scope: Scope) -> Result<Expr, PolicyError> {
    parse_with(src, scope, &Limits::default())
}

/// Parse and check `src` for `scope`.
pub fn parse_with(src: &str, scope: Scope, limits: &Limits) -> Result<Expr, PolicyError> {
    let ast = parse::parse(src, limits)?;
    check::check(src, &ast, scope, limits)
}

/// Evaluate `expr` over `doc`, the document of its scope (a map holding its keywords: for a
/// condition `{"activity": …, "wallet": …}`, for a consensus `{"approvers": …}`).
pub fn evaluate(expr: &Expr, doc: &Value, limits: &Limits) -> Result<Value, EvalError> {
    let mut res = eval::Resolver::new(&expr.paths, doc, doc);
    let mut vars = Vec::new();
    let mut m = eval::Machine::new(expr, None, &mut res, &mut vars, limits);
    m.run().map(eval::Val::into_owned)
}
