//! Policies as stored: the expressions as written (validated when written, compiled by the
//! policy engine when evaluated).

use crate::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    /// `EFFECT_ALLOW` or `EFFECT_DENY`.
    pub effect: String,
    /// Empty when absent.
    pub condition: String,
    /// Empty when absent.
    pub consensus: String,
    pub notes: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}
