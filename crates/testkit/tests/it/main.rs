//! Integration tests of quorate through the real HTTP server (testkit, port 0) on SQLite and
//! on a throwaway PostgreSQL, driven by the Rust client and by Turnkey's Rust SDK.

// clippy.toml's allow-*-in-tests covers `#[test]` fns only, not the helpers of a test crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod concurrency;
mod e2e;
mod errors;
mod isolation;
mod policies;
mod support;
mod turnkey_rs;
mod v1_content;
mod v1_members;
mod v1_orgs;
mod v1_usage;
mod v1_wallets;
mod vault;
