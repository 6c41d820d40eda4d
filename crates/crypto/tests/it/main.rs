//! Integration tests for quorate-crypto (one binary, one module per area).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod address_vectors;
mod envelope;
mod hd_vectors;
mod hpke_bundle;
mod sign;
mod tx;
