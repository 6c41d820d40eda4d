//! The policy language as the activity engine uses it: checked when a policy is written.

/// Which expression of a policy: `condition` sees the activity and its resources,
/// `consensus` sees approvers and credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Condition,
    Consensus,
}

/// Parses and checks `src`; the error names the problem and its position.
pub fn check(src: &str, scope: Scope) -> Result<(), String> {
    let scope = match scope {
        Scope::Condition => quorate_policy::Scope::Condition,
        Scope::Consensus => quorate_policy::Scope::Consensus,
    };
    quorate_policy::parse(src, scope)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
