//! Practice records as events, and the schedule folded from them.
//!
//! Undo is a record of its own (`kind = "undo"`, `undoes` = the rating's id) rather than
//! a delete or an edit of the rating: practice records sync insert-only and so can never
//! conflict, and an undo made on one device must reach the others even when the rating
//! it takes back was pushed long ago. The fold skips every rating some undo names.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::{CardState, Memory, Rating, Review, Schedule};
use crate::domain::Uuid;
use crate::record::Record;

/// What a practice record says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventKind {
    /// A rating, with the scheduler's state after it.
    Rated(Review),
    /// "Schedule for…": the tune is next due then, once (the next rating schedules it
    /// again).
    ScheduledFor { due: i64 },
    /// Takes back the rating with this id.
    Undo { of: Uuid },
}

/// One practice record of a tune in a repertoire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub repertoire_id: Uuid,
    pub tune_id: Uuid,
    /// When, in milliseconds since the epoch.
    pub at: i64,
    pub kind: EventKind,
}

impl Event {
    /// Reads a `practice_record` row; `None` if it is not one this version understands
    /// (it is then left out, not fatal: history from a newer client stays stored).
    pub fn from_record(record: &Record) -> Option<Event> {
        let c = &record.content;
        let int = |name: &str| c.get(name).as_i64();
        let uuid = |name: &str| c.get(name).as_str().and_then(|s| s.parse::<Uuid>().ok());
        let kind = match c.get("kind").as_str()? {
            "rating" => EventKind::Rated(Review {
                rating: Rating::from_number(int("rating")?)?,
                due: int("due")?,
                interval_days: int("interval_days")?,
                memory: Memory {
                    stability: c.get("stability").as_f64()?,
                    difficulty: c.get("difficulty").as_f64()?,
                },
                state: CardState::parse(c.get("state").as_str()?)?,
                reps: int("reps")?,
                lapses: int("lapses")?,
            }),
            "schedule" => EventKind::ScheduledFor { due: int("due")? },
            "undo" => EventKind::Undo { of: uuid("undoes")? },
            _ => return None,
        };
        Some(Event {
            id: record.id,
            repertoire_id: uuid("repertoire_id")?,
            tune_id: uuid("tune_id")?,
            at: int("practised_at")?,
            kind,
        })
    }

    /// The record's columns.
    pub fn to_fields(&self) -> BTreeMap<String, Value> {
        let mut f: Vec<(&str, Value)> = vec![
            ("repertoire_id", self.repertoire_id.to_string().into()),
            ("tune_id", self.tune_id.to_string().into()),
            ("practised_at", self.at.into()),
        ];
        match self.kind {
            EventKind::Rated(r) => f.extend([
                ("kind", "rating".into()),
                ("rating", r.rating.number().into()),
                ("due", r.due.into()),
                ("interval_days", r.interval_days.into()),
                ("stability", r.memory.stability.into()),
                ("difficulty", r.memory.difficulty.into()),
                ("state", r.state.as_str().into()),
                ("reps", r.reps.into()),
                ("lapses", r.lapses.into()),
            ]),
            EventKind::ScheduledFor { due } => f.extend([("kind", "schedule".into()), ("due", due.into())]),
            EventKind::Undo { of } => f.extend([("kind", "undo".into()), ("undoes", of.to_string().into())]),
        }
        f.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

/// The events in force, in (time, id) order: undos and the ratings they take back left
/// out.
pub fn in_force(events: &[Event]) -> Vec<&Event> {
    let undone: HashSet<Uuid> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Undo { of } => Some(of),
            _ => None,
        })
        .collect();
    let mut kept: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Undo { .. }) && !undone.contains(&e.id))
        .collect();
    kept.sort_by_key(|e| (e.at, e.id));
    kept
}

/// The (time, id) of the latest event in force: events after it can be applied on top
/// of the derived schedule with [`apply`] instead of folding everything again.
pub fn latest_key(events: &[Event]) -> Option<(i64, Uuid)> {
    in_force(events).last().map(|e| (e.at, e.id))
}

/// The schedule after `event`, when it is later than everything `schedule` was folded
/// from and nothing undoes it (otherwise fold again with [`derive`]).
pub fn apply(schedule: Option<Schedule>, event: &Event) -> Option<Schedule> {
    match event.kind {
        EventKind::Rated(review) => Some(Schedule { due: review.due, last: Some((event.at, review)) }),
        EventKind::ScheduledFor { due } => Some(Schedule { due, last: schedule.and_then(|s| s.last) }),
        EventKind::Undo { .. } => schedule,
    }
}

/// A tune's schedule from all of its records in one repertoire (any order): the latest
/// rating in force, with a later "schedule for" date overriding its due date. `None`
/// when nothing is in force: the tune is new.
pub fn derive(events: &[Event]) -> Option<Schedule> {
    in_force(events).into_iter().fold(None, apply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::practice::DAY_MS;
    use crate::tables::TableId;

    fn review(rating: Rating, due: i64) -> Review {
        Review {
            rating,
            due,
            interval_days: 1,
            memory: Memory { stability: 1.5, difficulty: 5.0 },
            state: CardState::Review,
            reps: 1,
            lapses: 0,
        }
    }

    fn event(id: u8, at: i64, kind: EventKind) -> Event {
        let mut bytes = [0u8; 10];
        bytes[9] = id;
        Event {
            id: Uuid::v7(1, bytes),
            repertoire_id: Uuid::derived(&["r"]),
            tune_id: Uuid::derived(&["t"]),
            at,
            kind,
        }
    }

    #[test]
    fn the_schedule_is_the_latest_rating_in_force_in_any_arrival_order() {
        let a = event(1, 10, EventKind::Rated(review(Rating::Good, 100)));
        let b = event(2, 20, EventKind::Rated(review(Rating::Hard, 200)));
        let over = event(3, 30, EventKind::ScheduledFor { due: 50 });
        let undo_b = event(4, 40, EventKind::Undo { of: b.id });
        let same_time = event(5, 20, EventKind::Rated(review(Rating::Easy, 300)));
        let cases: &[(&[Event], Option<i64>, Option<Rating>)] = &[
            (&[], None, None),
            (&[a], Some(100), Some(Rating::Good)),
            (&[b, a], Some(200), Some(Rating::Hard)),
            (&[a, b, over], Some(50), Some(Rating::Hard)),
            (&[a, b, undo_b], Some(100), Some(Rating::Good)),
            (&[undo_b, b], None, None),
            (&[over], Some(50), None),
            // Two devices rated at the same millisecond: the larger id wins everywhere.
            (&[same_time, b], Some(300), Some(Rating::Easy)),
            (&[b, same_time], Some(300), Some(Rating::Easy)),
        ];
        for (events, due, rating) in cases {
            let s = derive(events);
            assert_eq!(s.map(|s| s.due), *due, "{events:?}");
            assert_eq!(s.and_then(|s| s.last).map(|(_, r)| r.rating), *rating, "{events:?}");
        }
    }

    #[test]
    fn applying_later_events_one_by_one_agrees_with_the_fold() {
        let events = [
            event(1, 10, EventKind::Rated(review(Rating::Good, 100))),
            event(2, 20, EventKind::ScheduledFor { due: 40 }),
            event(3, 30, EventKind::Rated(review(Rating::Hard, 300))),
            event(4, 40, EventKind::ScheduledFor { due: 70 }),
        ];
        let mut schedule = None;
        for (i, e) in events.iter().enumerate() {
            assert!(latest_key(&events[..i]).is_none_or(|k| k < (e.at, e.id)));
            schedule = apply(schedule, e);
            assert_eq!(schedule, derive(&events[..=i]), "after {} events", i + 1);
        }
    }

    #[test]
    fn events_round_trip_through_records() {
        for kind in [
            EventKind::Rated(review(Rating::Again, 3 * DAY_MS)),
            EventKind::ScheduledFor { due: 7 * DAY_MS },
            EventKind::Undo { of: Uuid::derived(&["x"]) },
        ] {
            let e = event(9, 1_000, kind);
            let mut record = Record {
                table: TableId::PracticeRecord,
                id: e.id,
                content: crate::merge::Content::new(TableId::PracticeRecord, e.to_fields(), false),
                user_id: None,
                created_at: crate::domain::Timestamp(0),
                last_modified_at: crate::domain::Timestamp(0),
                sync_version: 1,
                device_id: "d".into(),
            };
            assert_eq!(Event::from_record(&record), Some(e));
            record.content.fields.insert("kind".into(), "someday".into());
            assert_eq!(Event::from_record(&record), None);
        }
    }
}
