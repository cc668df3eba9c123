//! The values practice works with: ratings, memory states, one review's outcome and a
//! tune's current schedule.

use serde::{Deserialize, Serialize};

/// How a tune went, the four answers FSRS knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rating {
    Again = 1,
    Hard = 2,
    Good = 3,
    Easy = 4,
}

impl Rating {
    /// The four ratings, in button order (keys 1–4).
    pub const ALL: [Rating; 4] = [Rating::Again, Rating::Hard, Rating::Good, Rating::Easy];

    /// The button's text.
    pub fn label(self) -> &'static str {
        match self {
            Rating::Again => "Again",
            Rating::Hard => "Hard",
            Rating::Good => "Good",
            Rating::Easy => "Easy",
        }
    }

    /// The stored number (1–4).
    pub fn number(self) -> i64 {
        self as i64
    }

    /// The rating stored as `n`.
    pub fn from_number(n: i64) -> Option<Rating> {
        Self::ALL.into_iter().find(|r| r.number() == n)
    }

    /// Position in [`Rating::ALL`].
    pub fn index(self) -> usize {
        self as usize - 1
    }
}

/// Where a practised tune stands. A tune never rated has no state: it is new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// Rated "Again" before it was ever recalled.
    Learning,
    /// Recalled at its last practice.
    Review,
    /// Forgotten after it had been recalled.
    Relearning,
}

impl CardState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Learning => "learning",
            CardState::Review => "review",
            CardState::Relearning => "relearning",
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Option<CardState> {
        [CardState::Learning, CardState::Review, CardState::Relearning]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// FSRS's memory of a tune: stability (days until recall falls to 90%) and difficulty
/// (1–10).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub stability: f64,
    pub difficulty: f64,
}

/// What one rating produced: stored in its record, so the schedule never needs
/// recomputing when records arrive from another device.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub rating: Rating,
    /// When it comes back, in milliseconds since the epoch.
    pub due: i64,
    pub interval_days: i64,
    pub memory: Memory,
    pub state: CardState,
    /// Ratings so far, this one included.
    pub reps: i64,
    /// Times it was forgotten after being recalled.
    pub lapses: i64,
}

/// A tune's schedule in one repertoire, derived from its records.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// When it is next due (a "schedule for" date overrides the latest rating's).
    pub due: i64,
    /// The latest rating in force, with when it was given; `None` when the tune was only
    /// scheduled by hand and never rated.
    pub last: Option<(i64, Review)>,
}

impl Schedule {
    /// When it was last rated.
    pub fn last_practised(&self) -> Option<i64> {
        self.last.map(|(at, _)| at)
    }
}
