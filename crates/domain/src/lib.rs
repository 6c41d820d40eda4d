//! quorate-domain: identifiers, value types, entities and the activity catalog. No I/O, no async.

pub mod activity;
pub mod activity_kinds;
pub mod bearer;
pub mod catalog;
pub mod entity;
pub mod id;
pub mod policy;
pub mod time;
pub mod vault;

pub use activity::{Activity, ActivityStatus, Failure, Vote};
pub use bearer::BearerKeyRecord;
pub use catalog::{ActivitySpec, CATALOG};
pub use entity::{ApiKey, OrgV1, Organization, Tag, TagKind, User};
pub use id::{new_id, IdError};
pub use policy::Policy;
pub use time::{Clock, Millis, SystemClock};
pub use vault::{KeyAddress, KeyRef, PrivateKey, Sealed, Wallet, WalletAccount, WalletSecrets};
