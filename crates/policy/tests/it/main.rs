//! Integration tests for quorate-policy (one binary, one module per area).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench;
mod corpus;
mod differential;
mod reject;
mod support;
