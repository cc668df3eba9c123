//! What the practice pages show, as the database worker answers it.

use serde::{Deserialize, Serialize};

use super::queue::Bucket;
use super::{Rating, Settings};
use crate::domain::Uuid;

/// What one button would do: the rating and how many days until the tune comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub rating: Rating,
    pub interval_days: i64,
}

/// One tune of today's queue, with what the card shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub tune_id: Uuid,
    pub title: String,
    pub tune_type: Option<String>,
    pub mode: Option<String>,
    pub structure: Option<String>,
    pub incipit: Option<String>,
    /// The tune's whole ABC, when it has one.
    pub abc: Option<String>,
    /// The musician's most recently changed note on the tune.
    pub latest_note: Option<String>,
    pub bucket: Bucket,
    /// Again, Hard, Good, Easy.
    pub previews: Vec<Preview>,
}

/// Today's practice for one repertoire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PracticeDay {
    pub repertoire_id: Uuid,
    /// What is left for today, in order.
    pub cards: Vec<Card>,
    /// Tunes already rated today.
    pub done_today: u32,
    /// Today's ratings in force, by rating (Again, Hard, Good, Easy).
    pub rated_today: [u32; 4],
    /// Tunes due tomorrow.
    pub due_tomorrow: u32,
    pub settings: Settings,
}

/// A rating just stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rated {
    /// The practice record's id (what Undo takes back).
    pub record_id: Uuid,
    /// When the tune now comes back.
    pub due: i64,
}

/// One rating in a tune's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When, in milliseconds since the epoch.
    pub at: i64,
    pub rating: Rating,
}

/// A tune's practice in one repertoire it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunePractice {
    pub repertoire_id: Uuid,
    pub repertoire_name: String,
    /// When it is next due (`None`: never practised there, so it is new).
    pub due: Option<i64>,
    /// Ratings in force, newest first.
    pub history: Vec<HistoryEntry>,
}
