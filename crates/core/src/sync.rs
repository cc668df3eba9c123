//! The sync engine's decisions, as pure functions and a small state machine: how queued
//! changes to one record coalesce, how long to wait after a failure, and when the
//! background sync may run. The store and the UI carry them out.

use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;

/// A queued change's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Insert,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "insert" => Some(Operation::Insert),
            "update" => Some(Operation::Update),
            "delete" => Some(Operation::Delete),
            _ => None,
        }
    }
}

/// Where a queued change stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueStatus {
    /// Waiting to be pushed.
    Pending,
    /// In a push request right now (back to pending if the app stops meanwhile).
    Syncing,
    /// Pushed; the item is removed at once, so this is only ever transient.
    Synced,
    /// The server refused it for good; kept, with the server's message, until the
    /// musician retries or discards it.
    Failed,
}

impl QueueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueStatus::Pending => "pending",
            QueueStatus::Syncing => "syncing",
            QueueStatus::Synced => "synced",
            QueueStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(QueueStatus::Pending),
            "syncing" => Some(QueueStatus::Syncing),
            "synced" => Some(QueueStatus::Synced),
            "failed" => Some(QueueStatus::Failed),
            _ => None,
        }
    }
}

/// One row of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: i64,
    pub table_name: String,
    pub record_id: String,
    pub operation: Operation,
    /// The full row as JSON; `None` for deletes.
    pub data: Option<String>,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub last_attempt_at: Option<Timestamp>,
    pub error: Option<String>,
    pub status: QueueStatus,
}

/// Counts the Sync page and the status line show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub pending: u64,
    pub syncing: u64,
    pub failed: u64,
    /// Tunes changed here and elsewhere, waiting for the musician to decide.
    pub conflicts: u64,
    /// How far the pull has got (the server's change number).
    pub pull_cursor: i64,
    /// When the oldest pending change was made.
    pub oldest_pending_at: Option<Timestamp>,
}

impl QueueStats {
    /// Changes not yet on the server (pending, in flight, refused, or in conflict).
    pub fn unsynced(&self) -> u64 {
        self.pending + self.syncing + self.failed + self.conflicts
    }
}

/// What to do with a new change to a record, given its open (not in-flight) queue item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coalesce {
    /// No open item can absorb it: queue a new item with this operation.
    Append(Operation),
    /// Rewrite the open item with this operation and the latest data.
    Replace(Operation),
    /// Remove the open item: nothing needs to be sent at all.
    Drop,
}

/// The coalescing rules. `open` is the record's queued item that is not in flight (its
/// operation and how many push attempts it has had), if any.
///
/// - insert, then updates: one insert of the latest row;
/// - updates: one update of the latest row;
/// - insert, then delete, of a row never sent: nothing is sent. If a push was attempted,
///   the server may have the row (the reply may have been lost), so a delete is sent;
/// - update, then delete: one delete.
pub fn coalesce(open: Option<(Operation, u32)>, new: Operation) -> Coalesce {
    use Operation::*;
    match (open, new) {
        (None, op) => Coalesce::Append(op),
        (Some((Insert, _)), Update) => Coalesce::Replace(Insert),
        (Some((Insert, 0)), Delete) => Coalesce::Drop,
        (Some((Insert, _)), Delete) => Coalesce::Replace(Delete),
        (Some((Update, _)), Update) => Coalesce::Replace(Update),
        (Some((Update, _)), Delete) => Coalesce::Replace(Delete),
        // Nothing edits a deleted or not-yet-created record; keep every change anyway.
        (Some(_), op) => Coalesce::Append(op),
    }
}

/// How a push run ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PushOutcome {
    /// Every pushable change was sent (some may have been refused: see `failed`).
    #[default]
    Complete,
    /// The network or the server failed; the changes stay queued for a later try.
    Retry { reason: String },
    /// The access token was refused: refresh it and push again.
    Unauthorized { reason: String },
    /// Another push was already running; this one did nothing.
    AlreadyRunning,
    /// This device's database failed in a way retrying will not fix (damaged, written
    /// by a newer version); the changes stay queued.
    Stopped { reason: String },
}

impl PushOutcome {
    /// The outcome for a local database failure: retry later only if that can help.
    pub fn local(e: &crate::error::DbError) -> PushOutcome {
        let reason = format!("local database: {e}");
        if e.is_retryable() { PushOutcome::Retry { reason } } else { PushOutcome::Stopped { reason } }
    }
}

/// What a push run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReport {
    /// Changes the server accepted.
    pub pushed: u32,
    /// Changes the server refused for good in this run.
    pub failed: u32,
    /// Changes that met a newer server version and need the musician (merged ones are
    /// pushed again, not counted here).
    pub conflicts: u32,
    /// HTTP requests made.
    pub requests: u32,
    /// Changes whose parent row has not reached the server yet: still queued, sent again
    /// on the next run.
    #[serde(default)]
    pub waiting: u32,
    pub outcome: PushOutcome,
}

/// How a pull request ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullOutcome {
    /// A page was applied.
    Page(PullReport),
    /// The network or the server failed; nothing changed here.
    Retry { reason: String },
    /// The access token was refused: refresh it and pull again.
    Unauthorized { reason: String },
    /// This device's database failed in a way retrying will not fix.
    Stopped { reason: String },
}

impl PullOutcome {
    /// The outcome for a local database failure: retry later only if that can help.
    pub fn local(e: &crate::error::DbError) -> PullOutcome {
        let reason = format!("local database: {e}");
        if e.is_retryable() { PullOutcome::Retry { reason } } else { PullOutcome::Stopped { reason } }
    }
}

/// What one pulled page did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    /// Rows received.
    pub rows: u32,
    /// Rows that changed this device's tunes.
    pub applied: u32,
    /// New conflicts.
    pub conflicts: u32,
    /// Whether more pages follow.
    pub more: bool,
    /// All rows to pull from the start of this pull, when the server said (first page).
    pub total: Option<u64>,
    /// The cursor after this page.
    pub cursor: i64,
    /// Rows this device could not read, set aside (see [`UnreadableRow`]).
    #[serde(default)]
    pub quarantined: u32,
}

/// A pulled row this device could not read (a value out of range, a missing field):
/// kept aside with the reason and shown on the Sync page, so that the page around it is
/// applied and the pull goes on instead of failing forever.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableRow {
    pub table_name: String,
    pub record_id: String,
    pub change_number: i64,
    pub reason: String,
    /// The row as received (JSON).
    pub raw: String,
}

/// Exponential backoff with jitter, capped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u64,
    pub cap_ms: u64,
}

impl Default for Backoff {
    /// 2 s after the first failure, doubling, never more than 5 minutes.
    fn default() -> Self {
        Self { base_ms: 2_000, cap_ms: 300_000 }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures (0 means no wait). `random01` in
    /// [0, 1) spreads devices apart ("equal jitter": between half and all of the step),
    /// so many clients coming back at once do not hammer the server together.
    pub fn delay_ms(&self, failures: u32, random01: f64) -> u64 {
        if failures == 0 {
            return 0;
        }
        let step = self.base_ms.saturating_mul(1u64 << (failures - 1).min(30)).min(self.cap_ms);
        let jitter = (step as f64 / 2.0 * random01.clamp(0.0, 1.0)) as u64;
        step / 2 + jitter
    }
}

/// When the background sync may run: every tick, unless it is backing off after
/// failures. Success or the browser coming back online ends the backoff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncScheduler {
    backoff: Backoff,
    failures: u32,
    not_before_ms: i64,
}

impl SyncScheduler {
    pub fn new(backoff: Backoff) -> Self {
        Self { backoff, failures: 0, not_before_ms: 0 }
    }

    /// Whether a tick at `now_ms` should start a sync.
    pub fn should_run(&self, now_ms: i64) -> bool {
        now_ms >= self.not_before_ms
    }

    /// Consecutive failed runs so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the next run may start (Unix ms); 0 when not backing off.
    pub fn not_before_ms(&self) -> i64 {
        self.not_before_ms
    }

    /// Records how a run ended. A stopped run (a damaged database) stops the schedule
    /// until the musician asks again ("Sync now") or the browser comes back online.
    pub fn record(&mut self, outcome: &crate::sync_run::RunOutcome, now_ms: i64, random01: f64) {
        use crate::sync_run::RunOutcome;
        match outcome {
            RunOutcome::Complete { .. } => self.reset(),
            RunOutcome::Retry { .. } | RunOutcome::Unauthorized { .. } => {
                self.failures = self.failures.saturating_add(1);
                self.not_before_ms = now_ms + self.backoff.delay_ms(self.failures, random01) as i64;
            }
            RunOutcome::Stopped { .. } => {
                self.failures = self.failures.saturating_add(1);
                self.not_before_ms = i64::MAX;
            }
        }
    }

    /// The browser came back online: try at once.
    pub fn online(&mut self) {
        self.reset();
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.not_before_ms = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    #[test]
    fn coalescing_table() {
        let cases = [
            (None, Insert, Coalesce::Append(Insert)),
            (None, Update, Coalesce::Append(Update)),
            (None, Delete, Coalesce::Append(Delete)),
            (Some((Insert, 0)), Update, Coalesce::Replace(Insert)),
            (Some((Insert, 3)), Update, Coalesce::Replace(Insert)),
            (Some((Insert, 0)), Delete, Coalesce::Drop),
            (Some((Insert, 1)), Delete, Coalesce::Replace(Delete)),
            (Some((Update, 0)), Update, Coalesce::Replace(Update)),
            (Some((Update, 2)), Delete, Coalesce::Replace(Delete)),
            (Some((Delete, 0)), Update, Coalesce::Append(Update)),
            (Some((Insert, 0)), Insert, Coalesce::Append(Insert)),
        ];
        for (open, new, expected) in cases {
            assert_eq!(coalesce(open, new), expected, "{open:?} + {new:?}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(0, 0.5), 0);
        assert_eq!((b.delay_ms(1, 0.0), b.delay_ms(1, 0.999)), (1_000, 1_999));
        // The whole schedule, worked out by hand from "2 s doubling, capped at 5 min, equal
        // jitter" (step / 2 + step / 2 × random): (failures, random) → ms.
        let schedule = [
            (2, 0.0, 2_000),
            (3, 0.0, 4_000),
            (4, 0.5, 12_000),
            (5, 0.75, 28_000),
            (6, 0.5, 48_000),
            (7, 0.75, 112_000),
            (8, 0.0, 128_000),
            (8, 0.75, 224_000),
            // 2 s × 2^8 = 512 s passes the 300 s cap from the 9th failure on.
            (9, 0.0, 150_000),
            (9, 0.5, 225_000),
            (10, 0.75, 262_500),
            (20, 0.0, 150_000),
            (64, 0.5, 225_000),
            (u32::MAX, 0.75, 262_500),
            // Out-of-range randomness is clamped.
            (1, 7.0, 2_000),
            (1, -1.0, 1_000),
        ];
        for (failures, random, expected) in schedule {
            assert_eq!(b.delay_ms(failures, random), expected, "{failures} failures, random {random}");
        }
        let mut previous = 0;
        for failures in 1..12 {
            let d = b.delay_ms(failures, 0.0);
            assert!(d >= previous);
            previous = d;
        }
    }

    #[test]
    fn scheduler_backs_off_and_resets() {
        use crate::sync_run::RunOutcome;
        let mut s = SyncScheduler::default();
        assert!(s.should_run(0));
        let retry = RunOutcome::Retry { reason: "down".into() };
        s.record(&retry, 10_000, 0.0);
        assert_eq!(s.failures(), 1);
        assert!(!s.should_run(10_999) && s.should_run(11_000));
        s.record(&retry, 11_000, 0.0);
        assert!(!s.should_run(12_999) && s.should_run(13_000));
        s.record(&RunOutcome::Complete { changed: false }, 13_000, 0.0);
        assert!(s.should_run(13_000) && s.failures() == 0);
        s.record(&RunOutcome::Unauthorized { reason: "expired".into() }, 20_000, 0.5);
        assert!(!s.should_run(20_001));
        s.online();
        assert!(s.should_run(20_001));
        // A damaged database does not back off forever: it stops until asked again.
        s.record(&RunOutcome::Stopped { reason: "malformed".into() }, 30_000, 0.5);
        assert!(!s.should_run(i64::MAX - 1), "no background runs");
        s.online();
        assert!(s.should_run(30_001));
    }

    #[test]
    fn names_round_trip() {
        for op in [Insert, Update, Delete] {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
        }
        for st in [QueueStatus::Pending, QueueStatus::Syncing, QueueStatus::Synced, QueueStatus::Failed] {
            assert_eq!(QueueStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(Operation::parse("upsert"), None);
    }
}
