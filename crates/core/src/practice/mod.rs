//! Practice: when each tune of a repertoire comes back, and what today's queue is.
//!
//! Everything here is derived from `practice_record` rows, which sync insert-only: a
//! rating is never changed or deleted, an undo is a new record that names the rating it
//! takes back, and a "schedule for" date is a record too. A tune's schedule is folded
//! from its records in (practised at, id) order ([`history::derive`]), so two devices
//! that practised offline agree once they hold the same records, and the daily queue
//! ([`queue::build`]) is computed on each device, never synced.
//!
//! The intervals come from FSRS (the `fsrs` crate, behind the `scheduler` feature so
//! that only the database worker links it; see [`scheduler`]).

pub mod history;
pub mod progress;
pub mod queue;
#[cfg(feature = "scheduler")]
pub mod scheduler;
mod settings;
mod types;
pub mod view;

pub use settings::{Settings, SettingsDraft};
pub use types::{CardState, Memory, Rating, Review, Schedule};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
