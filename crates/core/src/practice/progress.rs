//! The Progress page's figures: tunes practised per day, tunes due per day, and how
//! many tunes are new, learning or known.

use serde::{Deserialize, Serialize};

use super::Schedule;
use super::queue::LocalDay;

/// A tune counts as known once its interval reaches this many days (it is then
/// recalled three weeks after practice); before that it is learning.
pub const KNOWN_INTERVAL_DAYS: i64 = 21;

/// How far along a tune is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    New,
    Learning,
    Known,
}

impl Stage {
    /// The stage of a tune with this schedule (`None`: never practised).
    pub fn of(schedule: Option<&Schedule>) -> Stage {
        match schedule.and_then(|s| s.last) {
            None => Stage::New,
            Some((_, r)) if r.interval_days >= KNOWN_INTERVAL_DAYS => Stage::Known,
            Some(_) => Stage::Learning,
        }
    }
}

/// The Progress page's data for one repertoire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Ratings per day, oldest first, ending today.
    pub practised_per_day: Vec<u32>,
    /// Tunes due per day, starting today (overdue tunes count today).
    pub due_per_day: Vec<u32>,
    pub new: u32,
    pub learning: u32,
    pub known: u32,
}

/// Counts `times` (ratings) on each of the `days` days ending with `today`.
pub fn per_day_back(times: impl IntoIterator<Item = i64>, today: LocalDay, days: usize) -> Vec<u32> {
    let mut counts = vec![0u32; days];
    for t in times {
        let back = -today.days_until(t);
        if (0..days as i64).contains(&back) {
            counts[days - 1 - back as usize] += 1;
        }
    }
    counts
}

/// Counts schedules due on each of the `days` days starting `today`, overdue ones today.
pub fn due_per_day<'a>(
    schedules: impl IntoIterator<Item = &'a Schedule>,
    today: LocalDay,
    days: usize,
) -> Vec<u32> {
    let mut counts = vec![0u32; days];
    for s in schedules {
        let ahead = today.days_until(s.due).max(0);
        if ahead < days as i64 {
            counts[ahead as usize] += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::practice::{CardState, DAY_MS, Memory, Rating, Review};

    const T: i64 = 1_773_144_000_000;

    fn schedule(due: i64, interval_days: i64) -> Schedule {
        let r = Review {
            rating: Rating::Good,
            due,
            interval_days,
            memory: Memory { stability: 1.0, difficulty: 5.0 },
            state: CardState::Review,
            reps: 2,
            lapses: 0,
        };
        Schedule { due, last: Some((due - interval_days * DAY_MS, r)) }
    }

    #[test]
    fn days_are_counted_where_they_fall() {
        let today = LocalDay::containing(T, 0);
        let back = per_day_back([T, T - 1, T - DAY_MS, T - 3 * DAY_MS, T - 9 * DAY_MS, T + DAY_MS], today, 4);
        assert_eq!(back, [1, 0, 1, 2]);
        let s = [
            schedule(T - 5 * DAY_MS, 3),
            schedule(T, 3),
            schedule(T + 2 * DAY_MS, 30),
            schedule(T + 40 * DAY_MS, 50),
        ];
        assert_eq!(due_per_day(&s, today, 3), [2, 0, 1]);
    }

    #[test]
    fn stages_follow_the_interval() {
        assert_eq!(Stage::of(None), Stage::New);
        assert_eq!(Stage::of(Some(&schedule(T, 3))), Stage::Learning);
        assert_eq!(Stage::of(Some(&schedule(T, 21))), Stage::Known);
        assert_eq!(Stage::of(Some(&Schedule { due: T, last: None })), Stage::New);
    }
}
