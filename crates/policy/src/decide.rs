//! Policies and the decision rule: [`Policy`] (compiled once when written), [`PolicySet`] (an
//! organization's policies with their keyword paths interned across all of them) and
//! [`PolicySet::decide`], which evaluates every policy against one request and applies Turnkey's
//! rule, with an explanation of each policy's outcome.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{EvalError, PolicyError};
use crate::eval::{Machine, Resolver, Val};
use crate::expr::{Expr, PathSpec};
use crate::value::Value;
use crate::{parse_with, Limits, Scope};

/// A policy's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    /// From the wire form `EFFECT_ALLOW` / `EFFECT_DENY`.
    pub fn from_wire(s: &str) -> Option<Effect> {
        match s {
            "EFFECT_ALLOW" => Some(Effect::Allow),
            "EFFECT_DENY" => Some(Effect::Deny),
            _ => None,
        }
    }

    /// The wire form.
    pub fn wire(self) -> &'static str {
        match self {
            Effect::Allow => "EFFECT_ALLOW",
            Effect::Deny => "EFFECT_DENY",
        }
    }
}

/// A policy whose expression does not compile: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {}: {error}", scope.name())]
pub struct InvalidPolicy {
    /// The field: `condition`, `consensus` or `time`.
    pub scope: Scope,
    pub error: PolicyError,
}

/// A compiled policy. `None` (or an empty string when compiled) for a field means the field is
/// absent, which always holds.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: Arc<str>,
    pub effect: Effect,
    /// What the request must be (`activity`, `wallet`, `eth.tx` …).
    pub condition: Option<Expr>,
    /// Who must have approved (`approvers`, `credentials`).
    pub consensus: Option<Expr>,
    /// When the policy is active (`time.now`); a `false` skips the policy entirely.
    pub time: Option<Expr>,
}

impl Policy {
    /// Compile a policy's expressions (each absent when `None` or blank).
    pub fn compile(
        id: impl Into<Arc<str>>,
        effect: Effect,
        condition: Option<&str>,
        consensus: Option<&str>,
        time: Option<&str>,
        limits: &Limits,
    ) -> Result<Policy, InvalidPolicy> {
        let one = |src: Option<&str>, scope: Scope| -> Result<Option<Expr>, InvalidPolicy> {
            match src {
                Some(s) if !s.trim().is_empty() => parse_with(s, scope, limits)
                    .map(Some)
                    .map_err(|error| InvalidPolicy { scope, error }),
                _ => Ok(None),
            }
        };
        Ok(Policy {
            id: id.into(),
            effect,
            condition: one(condition, Scope::Condition)?,
            consensus: one(consensus, Scope::Consensus)?,
            time: one(time, Scope::Time)?,
        })
    }
}

/// What one request looks like to the policies: two documents (maps), one per scope.
///
/// - `condition`: `activity {type, kind, resource, action, params}`, and whichever of `wallet`,
///   `wallets`, `wallet_account`, `private_key`, `eth {tx | eip_712 | eip_7702_authorization}`,
///   `solana {tx}`, `tron {tx}`, `bitcoin {tx}`, `tempo {tx}` the request has (leave the others
///   out: reading them is an error, as in Turnkey), and `time {now}` (also read by `time`).
/// - `consensus`: `approvers` (list of `{id, tags, email, alias}`) and `credentials` (list of
///   `{id, user_id, type, credential_id, public_key}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub condition: Value,
    pub consensus: Value,
}

impl Default for Input {
    /// Two empty documents.
    fn default() -> Input {
        Input {
            condition: Value::Map(Default::default()),
            consensus: Value::Map(Default::default()),
        }
    }
}

/// One policy's outcome for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyOutcome {
    /// An ALLOW whose condition holds and whose consensus is met.
    Allow,
    /// A DENY whose condition holds and whose consensus (if any) is met.
    Deny,
    /// The condition is false (or a DENY's consensus is not met): the policy does not apply.
    NotApplicable,
    /// An ALLOW whose condition holds but whose consensus is not met yet.
    ConsensusPending,
    /// The `time` expression is false: the policy is skipped.
    TimeInactive,
    /// An expression errored (e.g. a missing field): the policy neither allows nor denies.
    Error,
}

impl PolicyOutcome {
    /// Turnkey's name for the outcome (`OUTCOME_…`). A policy that does not apply is reported
    /// as `OUTCOME_DENY_IMPLICIT` (it grants nothing).
    pub fn wire(self) -> &'static str {
        match self {
            PolicyOutcome::Allow => "OUTCOME_ALLOW",
            PolicyOutcome::Deny => "OUTCOME_DENY_EXPLICIT",
            PolicyOutcome::NotApplicable => "OUTCOME_DENY_IMPLICIT",
            PolicyOutcome::ConsensusPending => "OUTCOME_REQUIRES_CONSENSUS",
            PolicyOutcome::TimeInactive => "OUTCOME_TIME_INACTIVE",
            PolicyOutcome::Error => "OUTCOME_ERROR",
        }
    }
}

/// One line of the explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEvaluation {
    pub policy_id: Arc<str>,
    pub effect: Effect,
    pub outcome: PolicyOutcome,
    /// Why: which expression decided it (for an error: which one errored).
    pub message: Cow<'static, str>,
    /// The error, for [`PolicyOutcome::Error`]; its offset is into the source of the field
    /// named by `message` (see [`EvalError::position`]).
    pub error: Option<EvalError>,
}

/// The final decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed: by the root quorum (policies bypassed) or by these ALLOW policies.
    Allow {
        by_root_quorum: bool,
        policy_ids: Vec<Arc<str>>,
    },
    /// Denied explicitly by these DENY policies.
    Deny { policy_ids: Vec<Arc<str>> },
    /// Nothing denies and these ALLOW policies would allow once their consensus is met.
    ConsensusNeeded { policy_ids: Vec<Arc<str>> },
    /// No policy allows.
    ImplicitDeny,
}

impl Outcome {
    /// Turnkey's name for the final outcome.
    pub fn wire(&self) -> &'static str {
        match self {
            Outcome::Allow { .. } => "OUTCOME_ALLOW",
            Outcome::Deny { .. } => "OUTCOME_DENY_EXPLICIT",
            Outcome::ConsensusNeeded { .. } => "OUTCOME_REQUIRES_CONSENSUS",
            Outcome::ImplicitDeny => "OUTCOME_DENY_IMPLICIT",
        }
    }

    /// The text Turnkey puts in a denial's `PolicyEnginePermissionError` detail, if denied.
    pub fn denial_detail(&self) -> Option<String> {
        match self {
            Outcome::Deny { policy_ids } => Some(format!(
                "The following policies denied this action: {}",
                policy_ids
                    .iter()
                    .map(|s| &**s)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Outcome::ImplicitDeny => Some("No policies evaluated to outcome: Allow".into()),
            _ => None,
        }
    }
}

/// The decision and its explanation: every policy's outcome, in the set's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub evaluations: Vec<PolicyEvaluation>,
}

impl fmt::Display for Decision {
    /// A human-readable explanation, one policy a line, then the decision.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.evaluations {
            write!(
                f,
                "{} {}: {} — {}",
                e.effect.wire(),
                e.policy_id,
                e.outcome.wire(),
                e.message
            )?;
            match &e.error {
                Some(err) => writeln!(f, ": {err}")?,
                None => writeln!(f)?,
            }
        }
        match &self.outcome {
            Outcome::Allow {
                by_root_quorum: true,
                ..
            } => write!(f, "ALLOW: the root quorum approved (policies bypassed)"),
            Outcome::Allow { policy_ids, .. } => {
                write!(f, "ALLOW: by {}", join(policy_ids))
            }
            Outcome::Deny { policy_ids } => write!(f, "DENY: by {}", join(policy_ids)),
            Outcome::ConsensusNeeded { policy_ids } => {
                write!(f, "CONSENSUS NEEDED: for {}", join(policy_ids))
            }
            Outcome::ImplicitDeny => write!(f, "DENY (implicit): no policy allows"),
        }
    }
}

fn join(ids: &[Arc<str>]) -> String {
    ids.iter().map(|s| &**s).collect::<Vec<_>>().join(", ")
}

/// An organization's compiled policies, ready to decide requests. Keyword paths are interned
/// across all policies, so a path that many policies read (`activity.type`) is resolved once per
/// request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    paths: Vec<PathSpec>,
    /// Per policy: local → set path index for condition, consensus, time.
    maps: Vec<[Vec<u32>; 3]>,
}

impl PolicySet {
    pub fn new(policies: Vec<Policy>) -> PolicySet {
        let mut paths: Vec<PathSpec> = Vec::new();
        let mut index: HashMap<(crate::expr::Doc, Box<str>), u32> = HashMap::new();
        let mut maps = Vec::with_capacity(policies.len());
        for p in &policies {
            let mut intern = |e: &Option<Expr>| -> Vec<u32> {
                let Some(e) = e else { return Vec::new() };
                e.paths
                    .iter()
                    .map(|spec| {
                        *index
                            .entry((spec.doc, spec.text.clone()))
                            .or_insert_with(|| {
                                paths.push(spec.clone());
                                (paths.len() - 1) as u32
                            })
                    })
                    .collect()
            };
            maps.push([intern(&p.condition), intern(&p.consensus), intern(&p.time)]);
        }
        PolicySet {
            policies,
            paths,
            maps,
        }
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Decide one request. The rule, exactly:
    ///
    /// 1. the root quorum approved → allow (policies are still evaluated, for the explanation);
    /// 2. else any DENY applies (condition and consensus hold) → deny, naming those policies;
    /// 3. else any ALLOW applies (condition and consensus hold) → allow;
    /// 4. else any ALLOW whose condition holds awaits consensus → consensus needed;
    /// 5. else → implicit deny.
    ///
    /// A policy whose expression errors is reported as *error* and counts for nothing.
    pub fn decide(&self, input: &Input, root_quorum_met: bool, limits: &Limits) -> Decision {
        let mut res = Resolver::new(&self.paths, &input.condition, &input.consensus);
        let mut vars: Vec<Val<'_>> = Vec::new();
        let mut evaluations = Vec::with_capacity(self.policies.len());
        for (p, map) in self.policies.iter().zip(&self.maps) {
            let (outcome, message, error) = evaluate_policy(p, map, &mut res, &mut vars, limits);
            evaluations.push(PolicyEvaluation {
                policy_id: p.id.clone(),
                effect: p.effect,
                outcome,
                message: Cow::Borrowed(message),
                error,
            });
        }
        let ids = |want: PolicyOutcome| -> Vec<Arc<str>> {
            evaluations
                .iter()
                .filter(|e| e.outcome == want)
                .map(|e| e.policy_id.clone())
                .collect()
        };
        let outcome = if root_quorum_met {
            Outcome::Allow {
                by_root_quorum: true,
                policy_ids: Vec::new(),
            }
        } else {
            let deny = ids(PolicyOutcome::Deny);
            if !deny.is_empty() {
                Outcome::Deny { policy_ids: deny }
            } else {
                let allow = ids(PolicyOutcome::Allow);
                if !allow.is_empty() {
                    Outcome::Allow {
                        by_root_quorum: false,
                        policy_ids: allow,
                    }
                } else {
                    let pending = ids(PolicyOutcome::ConsensusPending);
                    if !pending.is_empty() {
                        Outcome::ConsensusNeeded {
                            policy_ids: pending,
                        }
                    } else {
                        Outcome::ImplicitDeny
                    }
                }
            }
        };
        Decision {
            outcome,
            evaluations,
        }
    }
}

/// Decide one request against `set` (see [`PolicySet::decide`]).
pub fn decide(set: &PolicySet, input: &Input, root_quorum_met: bool, limits: &Limits) -> Decision {
    set.decide(input, root_quorum_met, limits)
}

fn evaluate_policy<'a>(
    p: &'a Policy,
    map: &'a [Vec<u32>; 3],
    res: &mut Resolver<'a>,
    vars: &mut Vec<Val<'a>>,
    limits: &Limits,
) -> (PolicyOutcome, &'static str, Option<EvalError>) {
    let mut run = |e: &'a Option<Expr>, m: &'a [u32]| -> Result<bool, EvalError> {
        match e {
            None => Ok(true),
            Some(e) => Machine::new(e, Some(m), res, vars, limits).run_bool(),
        }
    };
    match run(&p.time, &map[2]) {
        Err(e) => return (PolicyOutcome::Error, "time errored", Some(e)),
        Ok(false) => return (PolicyOutcome::TimeInactive, "time is false", None),
        Ok(true) => {}
    }
    match run(&p.condition, &map[0]) {
        Err(e) => return (PolicyOutcome::Error, "condition errored", Some(e)),
        Ok(false) => return (PolicyOutcome::NotApplicable, "condition is false", None),
        Ok(true) => {}
    }
    let consensus = match run(&p.consensus, &map[1]) {
        Err(e) => return (PolicyOutcome::Error, "consensus errored", Some(e)),
        Ok(c) => c,
    };
    let has_cond = p.condition.is_some();
    let has_consensus = p.consensus.is_some();
    let (outcome, message) = match (p.effect, consensus) {
        (Effect::Allow, true) => (
            PolicyOutcome::Allow,
            match (has_cond, has_consensus) {
                (true, true) => "condition holds; consensus met",
                (true, false) => "condition holds; no consensus required",
                (false, true) => "no condition; consensus met",
                (false, false) => "no condition; no consensus required",
            },
        ),
        (Effect::Allow, false) => (
            PolicyOutcome::ConsensusPending,
            "condition holds; consensus not met yet",
        ),
        (Effect::Deny, true) => (
            PolicyOutcome::Deny,
            if has_cond {
                "condition holds; denies"
            } else {
                "no condition; denies"
            },
        ),
        (Effect::Deny, false) => (
            PolicyOutcome::NotApplicable,
            "condition holds but the consensus is not met, so this deny does not apply",
        ),
    };
    (outcome, message, None)
}
