//! The next state of a tune after a rating, from FSRS-6 through the `fsrs` crate with its
//! default parameters. The crate gives memory states and fractional intervals; the
//! rest is ours, as its own scheduling example does it: whole days (rounded, at least
//! one: a traditional musician practises a tune once a day at most), capped at the
//! repertoire's maximum, due that many days after the rating, and a small card state
//! (learning, review, relearning) that counts repetitions and lapses.

use fsrs::{FSRS, MemoryState};

use super::{CardState, DAY_MS, Memory, Rating, Review, Schedule, Settings};

/// Why no next state could be computed (the crate refused its input, e.g. a memory
/// state written by a broken client). Retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the practice scheduler failed: {0}")]
pub struct SchedulerError(String);

impl From<SchedulerError> for crate::error::DbError {
    fn from(e: SchedulerError) -> Self {
        crate::error::DbError::Practice(e.to_string())
    }
}

/// FSRS with its default parameters.
pub struct Scheduler {
    fsrs: FSRS,
}

impl Scheduler {
    /// The scheduler with FSRS-6's default parameters.
    pub fn new() -> Result<Scheduler, SchedulerError> {
        let fsrs = FSRS::new(&fsrs::DEFAULT_PARAMETERS).map_err(|e| SchedulerError(e.to_string()))?;
        Ok(Scheduler { fsrs })
    }

    /// What each of the four ratings would do to a tune whose schedule is `current`
    /// (`None`: never rated) if given at `now` (milliseconds), in [`Rating::ALL`] order.
    pub fn previews(
        &self,
        current: Option<&Schedule>,
        now: i64,
        settings: &Settings,
    ) -> Result<[Review; 4], SchedulerError> {
        let last = current.and_then(|s| s.last);
        let memory = last.map(|(_, r)| MemoryState {
            stability: r.memory.stability as f32,
            difficulty: r.memory.difficulty as f32,
        });
        let elapsed_days = last.map_or(0, |(at, _)| ((now - at).max(0) / DAY_MS) as u32);
        let next = self
            .fsrs
            .next_states(memory, settings.desired_retention as f32, elapsed_days)
            .map_err(|e| SchedulerError(e.to_string()))?;
        let prior = last.map(|(_, r)| r);
        let states = [next.again, next.hard, next.good, next.easy];
        Ok(std::array::from_fn(|i| {
            let rating = Rating::ALL[i];
            let interval_days =
                (states[i].interval.round().max(1.0) as i64).min(i64::from(settings.max_interval_days));
            let (state, lapses) = next_card_state(prior, rating);
            Review {
                rating,
                due: now + interval_days * DAY_MS,
                interval_days,
                memory: Memory {
                    stability: round4(states[i].memory.stability),
                    difficulty: round4(states[i].memory.difficulty),
                },
                state,
                reps: prior.map_or(0, |p| p.reps) + 1,
                lapses,
            }
        }))
    }

    /// What `rating` at `now` does to a tune whose schedule is `current`.
    pub fn review(
        &self,
        current: Option<&Schedule>,
        rating: Rating,
        now: i64,
        settings: &Settings,
    ) -> Result<Review, SchedulerError> {
        Ok(self.previews(current, now, settings)?[rating.index()])
    }
}

/// Four decimals: stored and synced as a number both databases print the same way.
fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

/// The card state and lapse count after `rating`, given the latest review in force.
fn next_card_state(prior: Option<Review>, rating: Rating) -> (CardState, i64) {
    let lapses = prior.map_or(0, |p| p.lapses);
    match (prior.map(|p| p.state), rating) {
        (Some(CardState::Review), Rating::Again) => (CardState::Relearning, lapses + 1),
        (Some(CardState::Relearning), Rating::Again) => (CardState::Relearning, lapses),
        (_, Rating::Again) => (CardState::Learning, lapses),
        _ => (CardState::Review, lapses),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_268_800_000; // 2026-01-01T12:00:00Z

    /// Rates a tune through `steps` (days since the previous rating, rating) and returns
    /// (interval days, stability, difficulty) after each.
    fn run(steps: &[(i64, Rating)], settings: &Settings) -> Vec<(i64, f64, f64)> {
        let scheduler = Scheduler::new().unwrap();
        let mut schedule: Option<Schedule> = None;
        let mut now = T0;
        steps
            .iter()
            .map(|&(days, rating)| {
                now += days * DAY_MS;
                let review = scheduler.review(schedule.as_ref(), rating, now, settings).unwrap();
                schedule = Some(Schedule { due: review.due, last: Some((now, review)) });
                (review.interval_days, review.memory.stability, review.memory.difficulty)
            })
            .collect()
    }

    #[test]
    fn a_new_tune_follows_the_crates_documented_example() {
        // fsrs 6.6 `FSRS::next_states` doc example (new card, retention 0.9):
        // stabilities 0.212 / 1.2931 / 2.3065 / 8.2956, difficulties
        // 6.4133 / 5.1121707 / 2.118104 / 1.0; whole days as its `schedule` example rounds
        // them (round, at least 1).
        let p = Scheduler::new().unwrap().previews(None, T0, &Settings::default()).unwrap();
        let got: Vec<_> =
            p.iter().map(|r| (r.interval_days, r.memory.stability, r.memory.difficulty)).collect();
        assert_eq!(got, [(1, 0.212, 6.4133), (1, 1.2931, 5.1122), (2, 2.3065, 2.1181), (8, 8.2956, 1.0)]);
        assert!(p.iter().all(|r| r.reps == 1 && r.due == T0 + r.interval_days * DAY_MS));
    }

    #[test]
    fn review_sequences_match_the_reference_implementation() {
        use Rating::*;
        // Expected values from py-fsrs 6.3.2 (the reference implementation) with its
        // default FSRS-6 parameters, retention 0.9, no learning steps, no fuzzing:
        // Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False),
        // review_card at 12:00 UTC each day; (due - review).days, stability, difficulty.
        type Case<'a> = (&'a [(i64, Rating)], &'a [(i64, f64, f64)]);
        let table: &[Case] = &[
            (
                &[(0, Good), (2, Good), (9, Good)],
                &[(2, 2.3065, 2.1181), (11, 10.9643, 2.1112), (41, 41.4645, 2.1043)],
            ),
            (
                &[(0, Again), (1, Good), (3, Good), (8, Good)],
                &[(1, 0.212, 6.4133), (2, 1.8868, 6.4021), (8, 7.6382, 6.3909), (22, 21.6078, 6.3798)],
            ),
            (
                &[(0, Easy), (8, Hard), (10, Again), (1, Good)],
                &[(8, 8.2956, 1.0), (27, 26.7042, 4.0106), (2, 2.0531, 8.0166), (4, 3.7348, 8.0038)],
            ),
            (
                &[(0, Hard), (1, Hard), (2, Easy)],
                &[(1, 1.2931, 5.1122), (3, 3.2494, 6.7405), (11, 11.2117, 5.6365)],
            ),
            (&[(0, Good), (30, Good)], &[(2, 2.3065, 2.1181), (37, 37.4206, 2.1112)]),
        ];
        for (steps, expected) in table {
            let got = run(steps, &Settings::default());
            assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(expected.iter()) {
                assert_eq!(g.0, e.0, "interval for {steps:?}: {got:?}");
                assert!(
                    (g.1 - e.1).abs() < 2e-3 && (g.2 - e.2).abs() < 2e-3,
                    "{steps:?}: {got:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn the_maximum_interval_caps_and_states_count_lapses() {
        use Rating::*;
        let capped = Settings { max_interval_days: 5, ..Settings::default() };
        assert_eq!(run(&[(0, Easy)], &capped)[0].0, 5);
        let scheduler = Scheduler::new().unwrap();
        let s = Settings::default();
        let first = scheduler.review(None, Again, T0, &s).unwrap();
        assert_eq!((first.state, first.lapses), (CardState::Learning, 0));
        let good = scheduler
            .review(Some(&Schedule { due: first.due, last: Some((T0, first)) }), Good, T0 + DAY_MS, &s)
            .unwrap();
        assert_eq!((good.state, good.lapses, good.reps), (CardState::Review, 0, 2));
        let lapse = scheduler
            .review(
                Some(&Schedule { due: good.due, last: Some((T0 + DAY_MS, good)) }),
                Again,
                T0 + 3 * DAY_MS,
                &s,
            )
            .unwrap();
        assert_eq!((lapse.state, lapse.lapses, lapse.reps), (CardState::Relearning, 1, 3));
    }
}
