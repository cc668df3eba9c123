//! Today's practice queue for a repertoire, computed on the device from the tunes'
//! schedules (never stored or synced, so devices cannot disagree about it).
//!
//! A day is the musician's local day. The queue takes, in this order, until the daily
//! limit (minus what was already practised today): tunes due today; tunes overdue by
//! at most [`OVERDUE_WINDOW_DAYS`], oldest first; new tunes (never practised), in the
//! order they joined the repertoire, up to "new tunes per day" (minus new ones already
//! practised today); then older overdue tunes, oldest first.

use serde::{Deserialize, Serialize};

use super::{DAY_MS, Schedule, Settings};
use crate::domain::Uuid;

/// How far back an overdue tune still counts as recently due.
pub const OVERDUE_WINDOW_DAYS: i64 = 21;

/// A local calendar day, as UTC milliseconds `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDay {
    pub start: i64,
    pub end: i64,
}

impl LocalDay {
    /// The local day containing `now`, for a clock `utc_offset_minutes` ahead of UTC
    /// (east positive; JavaScript's `getTimezoneOffset()` is the negation).
    pub fn containing(now: i64, utc_offset_minutes: i32) -> LocalDay {
        let offset = i64::from(utc_offset_minutes) * 60_000;
        let start = (now + offset).div_euclid(DAY_MS) * DAY_MS - offset;
        LocalDay { start, end: start + DAY_MS }
    }

    /// The day `n` days later (earlier when negative). Daylight-saving changes inside
    /// the span are not followed: a day is 24 hours at today's offset.
    pub fn plus(self, n: i64) -> LocalDay {
        LocalDay { start: self.start + n * DAY_MS, end: self.end + n * DAY_MS }
    }

    /// Whether `t` falls on this day.
    pub fn contains(self, t: i64) -> bool {
        (self.start..self.end).contains(&t)
    }

    /// How many days after this one `t` falls (negative before it).
    pub fn days_until(self, t: i64) -> i64 {
        (t - self.start).div_euclid(DAY_MS)
    }
}

/// One tune of the repertoire, as the queue sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub tune_id: Uuid,
    /// When it joined the repertoire: new tunes come oldest first, and in the order of
    /// the candidates when they joined at once.
    pub added_at: i64,
    pub schedule: Option<Schedule>,
}

/// Why a tune is in today's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bucket {
    DueToday,
    Overdue,
    New,
    LongOverdue,
}

/// Today's queue and what was already practised today.
#[derive(Clone, Debug, PartialEq)]
pub struct Queue {
    /// In practice order.
    pub entries: Vec<(Uuid, Bucket)>,
    /// Tunes rated today (their latest rating in force is today's).
    pub done_today: u32,
}

/// Builds today's queue from every tune of a repertoire.
pub fn build(candidates: &[Candidate], today: LocalDay, settings: &Settings) -> Queue {
    let rated_today =
        |c: &&Candidate| c.schedule.and_then(|s| s.last_practised()).is_some_and(|t| today.contains(t));
    let done_today = candidates.iter().filter(rated_today).count() as u32;
    let new_today = candidates
        .iter()
        .filter(rated_today)
        .filter(|c| c.schedule.and_then(|s| s.last).is_some_and(|(_, r)| r.reps == 1))
        .count() as u32;

    let window_start = today.plus(-OVERDUE_WINDOW_DAYS).start;
    let mut due_today = Vec::new();
    let mut overdue = Vec::new();
    let mut long_overdue = Vec::new();
    let mut new = Vec::new();
    for c in candidates {
        match c.schedule {
            // Never rated (or only scheduled by hand for a later day: not yet).
            None => new.push((c.added_at, c.tune_id)),
            Some(s) if s.due >= today.end => {}
            Some(s) if s.due >= today.start => due_today.push((s.due, c.tune_id)),
            Some(s) if s.due >= window_start => overdue.push((s.due, c.tune_id)),
            Some(s) => long_overdue.push((s.due, c.tune_id)),
        }
    }
    for list in [&mut due_today, &mut overdue, &mut long_overdue] {
        list.sort_unstable();
    }
    // Stable: tunes added together keep the order they were given in.
    new.sort_by_key(|(added_at, _)| *added_at);
    let new_allowed = settings.new_per_day.saturating_sub(new_today) as usize;
    let ordered = due_today
        .into_iter()
        .map(|(_, id)| (id, Bucket::DueToday))
        .chain(overdue.into_iter().map(|(_, id)| (id, Bucket::Overdue)))
        .chain(new.into_iter().take(new_allowed).map(|(_, id)| (id, Bucket::New)))
        .chain(long_overdue.into_iter().map(|(_, id)| (id, Bucket::LongOverdue)));
    let entries = match settings.max_reviews_per_day {
        0 => ordered.collect(),
        max => ordered.take(max.saturating_sub(done_today) as usize).collect(),
    };
    Queue { entries, done_today }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::practice::{CardState, Memory, Rating, Review};

    /// 2026-03-10 00:00 in UTC+1 is 2026-03-09T23:00Z.
    const NOON: i64 = 1_773_144_000_000; // 2026-03-10T12:00:00Z

    fn id(n: u8) -> Uuid {
        Uuid::derived(&["tune", &n.to_string()])
    }

    fn rated(due: i64, at: i64, reps: i64) -> Option<Schedule> {
        let review = Review {
            rating: Rating::Good,
            due,
            interval_days: 1,
            memory: Memory { stability: 1.0, difficulty: 5.0 },
            state: CardState::Review,
            reps,
            lapses: 0,
        };
        Some(Schedule { due, last: Some((at, review)) })
    }

    fn tune(n: u8, schedule: Option<Schedule>) -> Candidate {
        Candidate { tune_id: id(n), added_at: i64::from(n), schedule }
    }

    #[test]
    fn local_days_follow_the_offset() {
        let utc = LocalDay::containing(NOON, 0);
        assert_eq!(utc.start, NOON - 12 * 3_600_000);
        // 12:00Z is 23:30 in UTC+11:30 and 00:30 the next day in UTC+12:30.
        assert_eq!(LocalDay::containing(NOON, 690).start, NOON - 23 * 3_600_000 - 1_800_000);
        assert_eq!(LocalDay::containing(NOON, 750).start, NOON - 1_800_000);
        // West of UTC: 12:00Z is 02:00 in UTC-10.
        assert_eq!(LocalDay::containing(NOON, -600).start, NOON - 2 * 3_600_000);
        assert!(utc.contains(NOON) && !utc.contains(utc.end));
        assert_eq!(utc.days_until(NOON + 3 * DAY_MS), 3);
        assert_eq!(utc.days_until(utc.start - 1), -1);
    }

    #[test]
    fn the_queue_takes_the_buckets_in_order_up_to_the_limits() {
        let today = LocalDay::containing(NOON, 0);
        let day = |n: i64| today.start + n * DAY_MS + 3_600_000;
        let tunes = [
            tune(1, None),
            tune(2, rated(day(-30), day(-40), 3)), // long overdue
            tune(3, rated(day(0), day(-2), 2)),    // due today
            tune(4, rated(day(-3), day(-6), 2)),   // overdue, newer
            tune(5, rated(day(-10), day(-12), 2)), // overdue, older
            tune(6, None),
            tune(7, rated(day(2), day(-1), 2)), // not due
            tune(8, None),
        ];
        let s = |max, new| Settings { max_reviews_per_day: max, new_per_day: new, ..Settings::default() };
        let ids = |q: Queue| q.entries.into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        let cases: &[(Settings, &[u8])] = &[
            (s(0, 5), &[3, 5, 4, 1, 6, 8, 2]),
            (s(0, 2), &[3, 5, 4, 1, 6, 2]),
            (s(4, 5), &[3, 5, 4, 1]),
            (s(0, 0), &[3, 5, 4, 2]),
            (s(1, 5), &[3]),
        ];
        for (settings, expected) in cases {
            let want: Vec<Uuid> = expected.iter().map(|n| id(*n)).collect();
            assert_eq!(ids(build(&tunes, today, settings)), want, "{settings:?}");
        }
        let q = build(&tunes, today, &s(0, 5));
        assert_eq!(q.entries[0].1, Bucket::DueToday);
        assert_eq!(q.entries[1].1, Bucket::Overdue);
        assert_eq!(q.entries[3].1, Bucket::New);
        assert_eq!(q.entries[6].1, Bucket::LongOverdue);
    }

    #[test]
    fn what_was_practised_today_counts_against_both_limits() {
        let today = LocalDay::containing(NOON, 0);
        let tomorrow = today.end + 1;
        let tunes = [
            // Practised today: one of them for the first time.
            tune(1, rated(tomorrow, NOON - 1_000, 1)),
            tune(2, rated(tomorrow, NOON - 2_000, 4)),
            tune(3, None),
            tune(4, None),
            tune(5, rated(today.start, today.start - DAY_MS, 2)),
        ];
        let q =
            build(&tunes, today, &Settings { max_reviews_per_day: 3, new_per_day: 2, ..Settings::default() });
        assert_eq!(q.done_today, 2);
        assert_eq!(q.entries, [(id(5), Bucket::DueToday)]);
        let q =
            build(&tunes, today, &Settings { max_reviews_per_day: 0, new_per_day: 2, ..Settings::default() });
        assert_eq!(q.entries, [(id(5), Bucket::DueToday), (id(3), Bucket::New)]);
    }

    #[test]
    fn the_same_instant_is_a_different_day_in_another_time_zone() {
        // Due at 23:30Z on the 10th: today for a musician in UTC, tomorrow in UTC+1.
        let due = NOON + 11 * 3_600_000 + 1_800_000;
        let tunes = [tune(1, rated(due, NOON - 5 * DAY_MS, 2))];
        let s = Settings::default();
        assert_eq!(build(&tunes, LocalDay::containing(NOON, 0), &s).entries.len(), 1);
        assert_eq!(build(&tunes, LocalDay::containing(NOON, 60), &s).entries.len(), 0);
    }
}
