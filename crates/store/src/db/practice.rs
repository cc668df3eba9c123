//! Practice in the local database: ratings, undos and "schedule for" dates stored as
//! practice records (each with its outbox entry, in one transaction), the per-tune
//! schedule cache kept in step with the records from any source, and the reads behind
//! the Practice, tune and Progress pages. The decisions (the fold, the queue, the
//! scheduler) are `tunebook_core::practice`; this module only feeds them rows.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};
use tunebook_core::domain::Uuid;
use tunebook_core::practice::history::{self, Event, EventKind};
use tunebook_core::practice::progress::{self, Progress, Stage};
use tunebook_core::practice::queue::{self, Candidate, LocalDay};
use tunebook_core::practice::scheduler::Scheduler;
use tunebook_core::practice::view::{Card, HistoryEntry, PracticeDay, Preview, Rated, TunePractice};
use tunebook_core::practice::{Rating, Schedule, Settings, SettingsDraft};
use tunebook_core::record::Record;
use tunebook_core::tables::TableId;

use super::changes::{edit, put_new};
use super::records::{self, parse_col};
use super::{Database, DbError};

/// Days the Progress page looks back and ahead.
const HISTORY_DAYS: usize = 90;
const AHEAD_DAYS: usize = 30;

/// Every practice record of one tune in one repertoire, as events.
fn events_of(conn: &Connection, repertoire: Uuid, tune: Uuid) -> Result<Vec<Event>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM practice_record WHERE tune_id = ?1 AND repertoire_id = ?2 AND deleted = 0",
        records::all_columns(TableId::PracticeRecord)
    ))?;
    let rows = stmt
        .query_map(params![tune.to_string(), repertoire.to_string()], |r| {
            records::record_from_row(TableId::PracticeRecord, r)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows.iter().filter_map(Event::from_record).collect())
}

/// Stores a tune's schedule (and the latest record it was folded from) in the cache, or
/// drops the row when nothing is in force.
fn store_schedule(
    conn: &Connection,
    repertoire: Uuid,
    tune: Uuid,
    schedule: Option<Schedule>,
    latest: Option<(i64, Uuid)>,
) -> Result<(), DbError> {
    match (schedule, latest) {
        (Some(s), Some((at, id))) => {
            // Plain data: serializing cannot fail.
            let json = serde_json::to_string(&s).unwrap_or_default();
            conn.prepare_cached(
                "INSERT OR REPLACE INTO practice_schedule
                 (repertoire_id, tune_id, due, schedule, latest_at, latest_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![repertoire.to_string(), tune.to_string(), s.due, json, at, id.to_string()])?;
        }
        _ => {
            conn.prepare_cached("DELETE FROM practice_schedule WHERE repertoire_id = ?1 AND tune_id = ?2")?
                .execute(params![repertoire.to_string(), tune.to_string()])?;
        }
    }
    Ok(())
}

/// Folds one tune's schedule again from all of its records into the cache.
fn refold(conn: &Connection, repertoire: Uuid, tune: Uuid) -> Result<Option<Schedule>, DbError> {
    let events = events_of(conn, repertoire, tune)?;
    let schedule = history::derive(&events);
    store_schedule(conn, repertoire, tune, schedule, history::latest_key(&events))?;
    Ok(schedule)
}

/// The cached schedule and the latest record it was folded from; `Err(())` inside when
/// the row is unreadable (an older build's).
type Cached = Option<Result<(Schedule, (i64, Uuid)), ()>>;

fn cached(conn: &Connection, repertoire: Uuid, tune: Uuid) -> Result<Cached, DbError> {
    let row: Option<(String, i64, String)> = conn
        .prepare_cached(
            "SELECT schedule, latest_at, latest_id FROM practice_schedule WHERE repertoire_id = ?1 AND tune_id = ?2",
        )?
        .query_row(params![repertoire.to_string(), tune.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.map(|(json, at, id)| match (serde_json::from_str::<Schedule>(&json), id.parse::<Uuid>()) {
        (Ok(s), Ok(id)) => Ok((s, (at, id))),
        _ => Err(()),
    }))
}

/// Brings a tune's cached schedule up to date with a practice record just stored (made
/// here or pulled): a record later than everything folded so far is applied on top (the
/// common case, one row read), anything else (an undo, a record that arrived out of
/// order from another device) folds the tune's records again.
fn schedule_after(conn: &Connection, event: &Event) -> Result<(), DbError> {
    let (repertoire, tune) = (event.repertoire_id, event.tune_id);
    let current = match cached(conn, repertoire, tune)? {
        None => None,
        Some(Ok((schedule, latest))) if (event.at, event.id) > latest => Some(schedule),
        Some(_) => return refold(conn, repertoire, tune).map(|_| ()),
    };
    let undone: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM practice_record WHERE undoes = ?1 AND deleted = 0")?
        .query_row([event.id.to_string()], |r| r.get(0))
        .optional()?;
    if matches!(event.kind, EventKind::Undo { .. }) || undone.is_some() {
        return refold(conn, repertoire, tune).map(|_| ());
    }
    store_schedule(conn, repertoire, tune, history::apply(current, event), Some((event.at, event.id)))
}

/// Keeps the schedule cache in step after a row of any table was written from outside
/// (a pull).
pub(super) fn after_write(conn: &Connection, record: &Record) -> Result<(), DbError> {
    match Event::from_record(record) {
        Some(event) if record.table == TableId::PracticeRecord => schedule_after(conn, &event),
        _ => Ok(()),
    }
}

/// Rebuilds the whole schedule cache from the records (after adoption).
pub(super) fn rebuild_schedules(conn: &Connection) -> Result<(), DbError> {
    conn.execute("DELETE FROM practice_schedule", [])?;
    let pairs: Vec<(Uuid, Uuid)> = conn
        .prepare("SELECT DISTINCT repertoire_id, tune_id FROM practice_record WHERE deleted = 0")?
        .query_map([], |r| Ok((parse_col(r, 0)?, parse_col(r, 1)?)))?
        .collect::<Result<_, _>>()?;
    for (repertoire, tune) in pairs {
        refold(conn, repertoire, tune)?;
    }
    Ok(())
}

fn cached_schedule(conn: &Connection, repertoire: Uuid, tune: Uuid) -> Result<Option<Schedule>, DbError> {
    match cached(conn, repertoire, tune)? {
        Some(Ok((s, _))) => Ok(Some(s)),
        // A cache row this build cannot read is rebuilt from the records.
        Some(Err(())) => refold(conn, repertoire, tune),
        None => Ok(None),
    }
}

/// Every live tune of a repertoire with its schedule, as the queue and Progress see them,
/// in the order they joined it (then by title).
fn candidates(conn: &Connection, repertoire: Uuid) -> Result<Vec<Candidate>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.tune_id, m.created_at, s.schedule
         FROM repertoire_tune m
         JOIN tune t ON t.id = m.tune_id AND t.deleted = 0
         LEFT JOIN practice_schedule s ON s.repertoire_id = m.repertoire_id AND s.tune_id = m.tune_id
         WHERE m.repertoire_id = ?1 AND m.deleted = 0
         ORDER BY m.created_at, t.title COLLATE NOCASE, t.id",
    )?;
    let rows = stmt
        .query_map([repertoire.to_string()], |r| {
            let added: tunebook_core::domain::Timestamp = parse_col(r, 1)?;
            Ok((parse_col::<Uuid>(r, 0)?, added.millis(), r.get::<_, Option<String>>(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(tune_id, added_at, json)| {
            let schedule = match json.map(|j| serde_json::from_str::<Schedule>(&j)) {
                Some(Ok(s)) => Some(s),
                Some(Err(_)) => refold(conn, repertoire, tune_id)?,
                None => None,
            };
            Ok(Candidate { tune_id, added_at, schedule })
        })
        .collect()
}

/// The ratings in force among a repertoire's records since `since`: (when, rating).
fn ratings_since(conn: &Connection, repertoire: Uuid, since: i64) -> Result<Vec<(i64, Rating)>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, practised_at, rating, undoes FROM practice_record
         WHERE repertoire_id = ?1 AND practised_at >= ?2 AND deleted = 0",
    )?;
    let rows = stmt
        .query_map(params![repertoire.to_string(), since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    // An undo always comes after its rating, so one since `since` sees every undo of them.
    let undone: HashSet<&str> = rows.iter().filter_map(|(_, _, _, _, u)| u.as_deref()).collect();
    Ok(rows
        .iter()
        .filter(|(id, kind, ..)| kind == "rating" && !undone.contains(id.as_str()))
        .filter_map(|(_, _, at, rating, _)| Some((*at, Rating::from_number((*rating)?)?)))
        .collect())
}

impl Database {
    /// A live repertoire's practice settings.
    pub fn practice_settings(&self, repertoire: Uuid) -> Result<Settings, DbError> {
        let row = records::read(&self.conn, TableId::Repertoire, repertoire)?.filter(|r| !r.deleted());
        Ok(Settings::from_repertoire(&row.ok_or(DbError::NotFound)?.content))
    }

    /// Checks and stores a repertoire's practice settings (they sync with the repertoire).
    pub fn set_practice_settings(
        &mut self,
        repertoire: Uuid,
        draft: &SettingsDraft,
    ) -> Result<Settings, DbError> {
        let settings = draft.validate().map_err(DbError::Input)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        let columns = settings.to_columns().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        edit(&tx, TableId::Repertoire, repertoire, columns, now, &self.device_id)?;
        tx.commit()?;
        Ok(settings)
    }

    /// Fails with `NotFound` unless the tune is live and in the live repertoire.
    fn require_member(&self, repertoire: Uuid, tune: Uuid) -> Result<(), DbError> {
        let member = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM repertoire_tune m
                 JOIN tune t ON t.id = m.tune_id AND t.deleted = 0
                 JOIN repertoire r ON r.id = m.repertoire_id AND r.deleted = 0
                 WHERE m.repertoire_id = ?1 AND m.tune_id = ?2 AND m.deleted = 0",
            )?
            .query_row(params![repertoire.to_string(), tune.to_string()], |_| Ok(()))
            .optional()?;
        member.ok_or(DbError::NotFound)
    }

    /// Stores one practice event as a new record (queued to sync) and refreshes the
    /// tune's schedule, in one transaction.
    fn record_practice(&mut self, repertoire: Uuid, tune: Uuid, kind: EventKind) -> Result<Uuid, DbError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        // After everything already folded for the tune, even if this device's clock went
        // back (or two events share a millisecond): the new event must count as the latest.
        let after_latest = match cached(&tx, repertoire, tune)? {
            Some(Ok((_, (at, _)))) => at + 1,
            _ => i64::MIN,
        };
        let at = now.millis().max(after_latest);
        let event = Event { id: Uuid::now_v7(), repertoire_id: repertoire, tune_id: tune, at, kind };
        put_new(&tx, TableId::PracticeRecord, event.id, event.to_fields(), now, &self.device_id)?;
        schedule_after(&tx, &event)?;
        tx.commit()?;
        Ok(event.id)
    }

    /// Rates a tune of a repertoire now: FSRS's next state is stored with the rating.
    pub fn rate_tune(&mut self, repertoire: Uuid, tune: Uuid, rating: Rating) -> Result<Rated, DbError> {
        self.require_member(repertoire, tune)?;
        let settings = self.practice_settings(repertoire)?;
        let current = cached_schedule(&self.conn, repertoire, tune)?;
        let review = Scheduler::new()?.review(current.as_ref(), rating, self.now().millis(), &settings)?;
        let record_id = self.record_practice(repertoire, tune, EventKind::Rated(review))?;
        Ok(Rated { record_id, due: review.due })
    }

    /// Takes back a rating: a new record names it, so the undo syncs like the rating did
    /// (see `tunebook_core::practice::history`). Undoing twice changes nothing more.
    pub fn undo_rating(&mut self, record: Uuid) -> Result<(), DbError> {
        let rating = records::read(&self.conn, TableId::PracticeRecord, record)?
            .as_ref()
            .and_then(Event::from_record)
            .filter(|e| matches!(e.kind, EventKind::Rated(_)))
            .ok_or(DbError::NotFound)?;
        let already: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM practice_record WHERE kind = 'undo' AND undoes = ?1")?
            .query_row([record.to_string()], |r| r.get(0))
            .optional()?;
        if already.is_some() {
            return Ok(());
        }
        self.record_practice(rating.repertoire_id, rating.tune_id, EventKind::Undo { of: record })?;
        Ok(())
    }

    /// "Schedule for…": the tune is next due at `due` (milliseconds), once.
    pub fn schedule_practice(&mut self, repertoire: Uuid, tune: Uuid, due: i64) -> Result<(), DbError> {
        self.require_member(repertoire, tune)?;
        self.record_practice(repertoire, tune, EventKind::ScheduledFor { due })?;
        Ok(())
    }

    /// Today's practice for a repertoire, for a musician whose clock is
    /// `utc_offset_minutes` ahead of UTC.
    pub fn practice_day(&self, repertoire: Uuid, utc_offset_minutes: i32) -> Result<PracticeDay, DbError> {
        let settings = self.practice_settings(repertoire)?;
        let now = self.now().millis();
        let today = LocalDay::containing(now, utc_offset_minutes);
        let candidates = candidates(&self.conn, repertoire)?;
        let queue = queue::build(&candidates, today, &settings);
        let scheduler = Scheduler::new()?;
        let schedules: std::collections::HashMap<Uuid, Option<Schedule>> =
            candidates.iter().map(|c| (c.tune_id, c.schedule)).collect();
        let mut details = self.conn.prepare_cached(
            "SELECT title, type, mode, structure, incipit,
                    (SELECT body FROM note n WHERE n.tune_id = t.id AND n.deleted = 0
                     ORDER BY n.last_modified_at DESC LIMIT 1), abc
             FROM tune t WHERE id = ?1",
        )?;
        let mut cards = Vec::with_capacity(queue.entries.len());
        for (tune_id, bucket) in queue.entries {
            let schedule = schedules.get(&tune_id).copied().flatten();
            let previews = scheduler
                .previews(schedule.as_ref(), now, &settings)?
                .map(|r| Preview { rating: r.rating, interval_days: r.interval_days })
                .to_vec();
            let card = details.query_row([tune_id.to_string()], |r| {
                Ok(Card {
                    tune_id,
                    title: r.get(0)?,
                    tune_type: r.get(1)?,
                    mode: r.get(2)?,
                    structure: r.get(3)?,
                    incipit: r.get(4)?,
                    abc: r.get(6)?,
                    latest_note: r.get(5)?,
                    bucket,
                    previews,
                })
            })?;
            cards.push(card);
        }
        let mut rated_today = [0u32; 4];
        for (_, rating) in ratings_since(&self.conn, repertoire, today.start)? {
            rated_today[rating.index()] += 1;
        }
        let tomorrow = today.plus(1);
        let due_tomorrow =
            candidates.iter().filter(|c| c.schedule.is_some_and(|s| tomorrow.contains(s.due))).count() as u32;
        Ok(PracticeDay {
            repertoire_id: repertoire,
            cards,
            done_today: queue.done_today,
            rated_today,
            due_tomorrow,
            settings,
        })
    }

    /// A tune's practice in each live repertoire it belongs to.
    pub fn tune_practice(&self, tune: Uuid) -> Result<Vec<TunePractice>, DbError> {
        let repertoires: Vec<(Uuid, String)> = self
            .conn
            .prepare_cached(
                "SELECT r.id, r.name FROM repertoire_tune m
                 JOIN repertoire r ON r.id = m.repertoire_id AND r.deleted = 0
                 WHERE m.tune_id = ?1 AND m.deleted = 0
                 ORDER BY r.name COLLATE NOCASE, r.id",
            )?
            .query_map([tune.to_string()], |r| Ok((parse_col(r, 0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        repertoires
            .into_iter()
            .map(|(repertoire_id, repertoire_name)| {
                let events = events_of(&self.conn, repertoire_id, tune)?;
                let mut history: Vec<HistoryEntry> = history::in_force(&events)
                    .into_iter()
                    .filter_map(|e| match e.kind {
                        EventKind::Rated(r) => Some(HistoryEntry { at: e.at, rating: r.rating }),
                        _ => None,
                    })
                    .collect();
                history.reverse();
                let due = cached_schedule(&self.conn, repertoire_id, tune)?.map(|s| s.due);
                Ok(TunePractice { repertoire_id, repertoire_name, due, history })
            })
            .collect()
    }

    /// The Progress page's figures for a repertoire.
    pub fn practice_progress(&self, repertoire: Uuid, utc_offset_minutes: i32) -> Result<Progress, DbError> {
        let today = LocalDay::containing(self.now().millis(), utc_offset_minutes);
        let since = today.plus(1 - HISTORY_DAYS as i64).start;
        let ratings = ratings_since(&self.conn, repertoire, since)?;
        let candidates = candidates(&self.conn, repertoire)?;
        let mut stages = [0u32; 3];
        for c in &candidates {
            stages[Stage::of(c.schedule.as_ref()) as usize] += 1;
        }
        Ok(Progress {
            practised_per_day: progress::per_day_back(ratings.iter().map(|(at, _)| *at), today, HISTORY_DAYS),
            due_per_day: progress::due_per_day(
                candidates.iter().filter_map(|c| c.schedule.as_ref()),
                today,
                AHEAD_DAYS,
            ),
            new: stages[Stage::New as usize],
            learning: stages[Stage::Learning as usize],
            known: stages[Stage::Known as usize],
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::cell::Cell;

    use tunebook_core::domain::library::RepertoireDraft;
    use tunebook_core::domain::{Timestamp, TuneDraft};
    use tunebook_core::practice::DAY_MS;
    use tunebook_core::practice::queue::Bucket;

    use super::*;

    thread_local! {
        static NOW: Cell<i64> = const { Cell::new(1_773_144_000_000) }; // 2026-03-10T12:00Z
    }

    fn clock() -> Timestamp {
        Timestamp(NOW.with(Cell::get))
    }

    fn advance(days: i64) {
        NOW.with(|n| n.set(n.get() + days * DAY_MS));
    }

    /// A database with one repertoire of `n` tunes, on the test clock.
    fn setup(n: usize) -> (Database, Uuid, Vec<Uuid>) {
        let mut db = Database::open_in_memory().unwrap();
        db.set_clock(clock);
        let tunes: Vec<Uuid> = (0..n)
            .map(|i| {
                db.create_tune(&TuneDraft { title: format!("Tune {i}"), ..Default::default() }).unwrap().id
            })
            .collect();
        let rep = db
            .create_repertoire(&RepertoireDraft { name: "Fiddle".into(), ..Default::default() })
            .unwrap()
            .id;
        db.add_to_repertoire(rep, &tunes).unwrap();
        (db, rep, tunes)
    }

    fn queued(db: &Database, rep: Uuid) -> Vec<Uuid> {
        db.practice_day(rep, 0).unwrap().cards.iter().map(|c| c.tune_id).collect()
    }

    fn count(db: &Database, sql: &str) -> i64 {
        db.connection().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_rating_is_a_queued_record_and_undo_is_another() {
        let (mut db, rep, tunes) = setup(3);
        db.add_note(tunes[0], "Watch the B part").unwrap();
        let day = db.practice_day(rep, 0).unwrap();
        assert_eq!(day.cards.len(), 3, "three new tunes, five allowed");
        assert!(day.cards.iter().all(|c| c.bucket == Bucket::New));
        assert_eq!(day.cards[0].latest_note.as_deref(), Some("Watch the B part"));
        let good = day.cards[0].previews[Rating::Good.index()];
        assert_eq!((good.rating, good.interval_days), (Rating::Good, 2));

        let pending = db.queue_stats().unwrap().pending;
        let rated = db.rate_tune(rep, tunes[0], Rating::Good).unwrap();
        assert_eq!(rated.due, clock().millis() + 2 * DAY_MS);
        assert_eq!(db.queue_stats().unwrap().pending, pending + 1, "the record is queued with it");
        let day = db.practice_day(rep, 0).unwrap();
        assert_eq!((day.done_today, day.rated_today), (1, [0, 0, 1, 0]));
        assert_eq!(queued(&db, rep), [tunes[1], tunes[2]]);

        db.undo_rating(rated.record_id).unwrap();
        db.undo_rating(rated.record_id).unwrap();
        assert_eq!(
            count(&db, "SELECT count(*) FROM practice_record WHERE kind = 'undo'"),
            1,
            "undo is idempotent"
        );
        assert_eq!(count(&db, "SELECT count(*) FROM practice_record"), 2, "history is never deleted");
        let day = db.practice_day(rep, 0).unwrap();
        assert_eq!((day.done_today, day.rated_today), (0, [0; 4]));
        assert_eq!(queued(&db, rep), tunes);
        assert!(db.tune_practice(tunes[0]).unwrap()[0].history.is_empty());
    }

    #[test]
    fn the_tune_comes_back_when_due_and_its_history_grows() {
        let (mut db, rep, tunes) = setup(1);
        db.rate_tune(rep, tunes[0], Rating::Again).unwrap();
        assert!(queued(&db, rep).is_empty());
        advance(1);
        let day = db.practice_day(rep, 0).unwrap();
        assert_eq!(
            day.cards.iter().map(|c| (c.tune_id, c.bucket)).collect::<Vec<_>>(),
            [(tunes[0], Bucket::DueToday)]
        );
        db.rate_tune(rep, tunes[0], Rating::Good).unwrap();
        let practice = db.tune_practice(tunes[0]).unwrap();
        assert_eq!(practice.len(), 1);
        assert_eq!(practice[0].repertoire_name, "Fiddle");
        assert_eq!(
            practice[0].history.iter().map(|h| h.rating).collect::<Vec<_>>(),
            [Rating::Good, Rating::Again]
        );
        // Schedule for tomorrow: it overrides the due date once.
        let tomorrow = clock().millis() + DAY_MS;
        db.schedule_practice(rep, tunes[0], tomorrow).unwrap();
        assert_eq!(db.tune_practice(tunes[0]).unwrap()[0].due, Some(tomorrow));
        advance(1);
        assert_eq!(queued(&db, rep), [tunes[0]]);
        let progress = db.practice_progress(rep, 0).unwrap();
        assert_eq!(progress.practised_per_day.iter().sum::<u32>(), 2);
        assert_eq!(progress.practised_per_day[89 - 2..], [1, 1, 0]);
        assert_eq!((progress.new, progress.learning, progress.known), (0, 1, 0));
    }

    #[test]
    fn a_rating_after_the_clock_went_back_still_counts_as_the_latest() {
        let (mut db, rep, tunes) = setup(1);
        db.rate_tune(rep, tunes[0], Rating::Easy).unwrap();
        advance(-3);
        let again = db.rate_tune(rep, tunes[0], Rating::Again).unwrap();
        let practice = db.tune_practice(tunes[0]).unwrap();
        assert_eq!(practice[0].history[0].rating, Rating::Again, "newest first");
        assert_eq!(practice[0].due, Some(again.due));
        advance(3);
    }

    #[test]
    fn refusals_change_nothing() {
        let (mut db, rep, tunes) = setup(1);
        let stray =
            db.create_tune(&TuneDraft { title: "Not in it".into(), ..Default::default() }).unwrap().id;
        let before = db.queue_stats().unwrap().pending;
        assert_eq!(db.rate_tune(rep, stray, Rating::Good), Err(DbError::NotFound));
        assert_eq!(db.undo_rating(tunes[0]), Err(DbError::NotFound), "only a rating can be undone");
        let bad = SettingsDraft { desired_retention: "2".into(), ..Settings::default().to_draft() };
        assert!(
            matches!(db.set_practice_settings(rep, &bad), Err(DbError::Input(e)) if e.field == "desired-retention")
        );
        assert_eq!(db.queue_stats().unwrap().pending, before);
        assert_eq!(count(&db, "SELECT count(*) FROM practice_record"), 0);
    }

    #[test]
    fn settings_are_stored_on_the_repertoire_and_shape_the_queue() {
        let (mut db, rep, _) = setup(8);
        assert_eq!(queued(&db, rep).len(), 5, "five new tunes a day by default");
        let draft = SettingsDraft { new_per_day: "2".into(), ..Settings::default().to_draft() };
        db.set_practice_settings(rep, &draft).unwrap();
        assert_eq!(db.practice_settings(rep).unwrap().new_per_day, 2);
        assert_eq!(queued(&db, rep).len(), 2);
        let renamed = RepertoireDraft { name: "Fiddle tunes".into(), ..Default::default() };
        db.update_repertoire(rep, &renamed).unwrap();
        assert_eq!(db.practice_settings(rep).unwrap().new_per_day, 2, "a rename keeps the settings");
    }
}
