//! The tune domain: identifiers, timestamps, the tune record and the rules a tune must obey.
//!
//! Plain Rust with no I/O, shared by the browser worker, the UI and native tests.

/// Serializes a type as its `Display` text and deserializes it with `FromStr`.
macro_rules! serde_as_text {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
use serde_as_text;

pub mod id;
pub mod library;
pub mod time;
pub mod tune;
pub mod validate;

pub use id::Uuid;
pub use time::Timestamp;
pub use tune::{Field, FieldErrors, TUNE_TYPES, Tune, TuneDraft, TuneFields, TuneSummary};
pub use validate::validate;
