//! quorate-testkit.
pub mod pg;
