//! The tune domain: identifiers, timestamps, the tune record and the rules a tune must obey.
//!
//! Plain Rust with no I/O, shared by the browser worker, the UI and native tests.

pub mod id;
pub mod time;
pub mod tune;
pub mod validate;

pub use id::Uuid;
pub use time::Timestamp;
pub use tune::{Field, FieldErrors, TUNE_TYPES, Tune, TuneDraft, TuneFields, TuneSummary};
pub use validate::validate;
