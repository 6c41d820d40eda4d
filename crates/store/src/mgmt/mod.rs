//! Storage of the management API (`/v1`): one module per resource, each a set of functions
//! over a [`crate::Db`] (from `Reader::db_handle`, on a connection or inside a transaction),
//! so `/v1` tables need no methods on the core `Reader`/`StoreTx` traits.

pub mod audit;
pub mod invites;
pub mod keys;
pub mod knowledge;
pub mod members;
pub mod orgs;
pub mod sessions;
pub mod settings;
pub mod templates;
pub mod usage;
pub mod wallets;
