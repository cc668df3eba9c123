//! Background sync, driven from the page: a gloo interval (30 s by default) asks the
//! database worker to push, after making sure the access token is fresh. The decisions
//! (when to run, how long to back off) are the core's [`SyncScheduler`]; this module
//! wires them to timers, online/offline events and the account.

use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Timestamp;
use tunebook_core::supabase::auth::{self, Session};
use tunebook_core::supabase::fetch::FetchTransport;
use tunebook_core::sync::{PullOutcome, PushOutcome, QueueStats, SyncScheduler};

use super::account::Account;
use super::context::AppContext;

/// Renew the access token when it has less than this many seconds left.
const REFRESH_MARGIN_SECS: i64 = 120;

/// The last finished sync run.
#[derive(Clone, Debug, PartialEq)]
pub struct LastRun {
    pub finished_at: Timestamp,
    pub duration_ms: f64,
    /// What happened, in words.
    pub result: String,
    pub ok: bool,
}

/// What the status line and the Sync page show.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncStatus {
    pub online: bool,
    pub running: bool,
    pub stats: QueueStats,
    pub last: Option<LastRun>,
    pub last_success: Option<Timestamp>,
    /// While pulling: rows received so far, and the total when the server said.
    pub pulling: Option<(u64, Option<u64>)>,
}

impl Default for SyncStatus {
    fn default() -> Self {
        let online = web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true);
        Self {
            online,
            running: false,
            stats: QueueStats::default(),
            last: None,
            last_success: None,
            pulling: None,
        }
    }
}

/// Runs sync in the background while signed in.
#[derive(Clone, Copy)]
pub struct SyncController {
    interval: StoredValue<Option<Interval>, LocalStorage>,
    soon: StoredValue<Option<Timeout>, LocalStorage>,
    scheduler: StoredValue<SyncScheduler, LocalStorage>,
    busy: StoredValue<bool>,
    pub status: RwSignal<SyncStatus>,
}

impl SyncController {
    pub fn new() -> Self {
        Self {
            interval: StoredValue::new_local(None),
            soon: StoredValue::new_local(None),
            scheduler: StoredValue::new_local(SyncScheduler::default()),
            busy: StoredValue::new(false),
            status: RwSignal::new(SyncStatus::default()),
        }
    }

    /// Syncs now, then every interval, until [`SyncController::stop`].
    pub fn start(&self, app: AppContext) {
        self.stop();
        let secs = app.settings.with_untracked(|s| s.sync_interval_secs).max(1);
        let this = *self;
        let interval = Interval::new(secs.saturating_mul(1000), move || spawn_local(this.run(app, false)));
        self.interval.set_value(Some(interval));
        spawn_local(self.run(app, true));
    }

    /// Stops the background interval (a run in progress finishes).
    pub fn stop(&self) {
        self.interval.set_value(None);
        self.soon.set_value(None);
    }

    /// After a local write: sync shortly (a burst of edits makes one run), so a change
    /// usually reaches the server in about a second rather than at the next tick.
    pub fn soon(&self, app: AppContext) {
        let this = *self;
        spawn_local(async move { this.refresh_stats(app).await });
        if self.is_started() {
            let timeout = Timeout::new(800, move || spawn_local(this.run(app, false)));
            self.soon.set_value(Some(timeout));
        }
    }

    pub fn is_started(&self) -> bool {
        self.interval.with_value(Option::is_some)
    }

    /// The browser came back online: end any backoff and sync at once.
    pub fn online(&self, app: AppContext) {
        self.status.update(|s| s.online = true);
        self.scheduler.update_value(SyncScheduler::online);
        if self.is_started() {
            spawn_local(self.run(app, true));
        }
    }

    pub fn offline(&self) {
        self.status.update(|s| s.online = false);
    }

    /// Re-reads the queue counts (after a local write, for instance).
    pub async fn refresh_stats(&self, app: AppContext) {
        if let Some(db) = app.db()
            && let Ok(stats) = db.queue_stats().await
        {
            self.status.update(|s| s.stats = stats);
        }
    }

    /// One sync run. A tick respects the backoff; `now` (sign-in, "Sync now", coming
    /// back online) does not.
    pub async fn run(self, app: AppContext, now: bool) {
        let now_ms = tunebook_core::platform::now_millis();
        if self.busy.get_value() || (!now && !self.scheduler.with_value(|s| s.should_run(now_ms))) {
            return;
        }
        let signed_in = app.account.with_untracked(|a| a.session().cloned());
        // The browser knows it is offline: do not try (coming online runs a sync at once).
        let online = self.status.with_untracked(|s| s.online);
        let (Some(db), Some(session), true) = (app.db(), signed_in, online) else {
            self.refresh_stats(app).await;
            return;
        };
        self.busy.set_value(true);
        self.status.update(|s| s.running = true);
        let started = js_sys::Date::now();
        let outcome = match self.push_with_fresh_token(app, &db, session).await {
            // Then bring in what other devices did.
            PushOutcome::Complete | PushOutcome::AlreadyRunning => self.pull_all(app, &db).await,
            failure => failure,
        };
        let random = js_sys::Math::random();
        self.scheduler.update_value(|s| s.record(&outcome, tunebook_core::platform::now_millis(), random));
        let stats = db.queue_stats().await.unwrap_or_default();
        let finished_at = Timestamp::now();
        let (ok, result) = describe(&outcome);
        self.status.update(|s| {
            s.running = false;
            s.stats = stats;
            if ok {
                s.last_success = Some(finished_at);
            }
            s.last = Some(LastRun { finished_at, duration_ms: js_sys::Date::now() - started, result, ok });
        });
        self.busy.set_value(false);
    }

    /// Pulls every page of the account's changes, showing progress, refreshing the token
    /// once if the server refuses it.
    async fn pull_all(&self, app: AppContext, db: &super::db_client::DbClient) -> PushOutcome {
        let mut refreshed = false;
        let mut received = 0u64;
        let mut total = None;
        let mut changed = false;
        let outcome = loop {
            let Some(session) = app.account.with_untracked(|a| a.session().cloned()) else {
                break PushOutcome::Unauthorized { reason: "signed out".into() };
            };
            match db.pull(app.supabase(), session.access_token.clone()).await {
                Ok(PullOutcome::Page(page)) => {
                    received += u64::from(page.rows);
                    total = page.total.or(total);
                    changed |= page.applied > 0 || page.conflicts > 0;
                    if page.more {
                        self.status.update(|s| s.pulling = Some((received, total)));
                        // A long first download fills the list as it goes.
                        if changed && received % 5000 < u64::from(page.rows) {
                            app.data_changed();
                        }
                        continue;
                    }
                    break PushOutcome::Complete;
                }
                Ok(PullOutcome::Unauthorized { reason }) if refreshed => {
                    break PushOutcome::Unauthorized { reason };
                }
                Ok(PullOutcome::Unauthorized { .. }) => {
                    refreshed = true;
                    if let Err(outcome) = refresh_session(app, &session).await {
                        break outcome;
                    }
                }
                Ok(PullOutcome::Retry { reason }) => break PushOutcome::Retry { reason },
                Err(e) => break PushOutcome::Retry { reason: e.to_string() },
            }
        };
        self.status.update(|s| s.pulling = None);
        if changed {
            app.data_changed();
        }
        outcome
    }

    /// Pushes with a token that is fresh, refreshing it first if it is about to expire and
    /// once more if the server refuses it.
    async fn push_with_fresh_token(
        &self,
        app: AppContext,
        db: &super::db_client::DbClient,
        session: Session,
    ) -> PushOutcome {
        let now = tunebook_core::platform::now_millis() / 1000;
        let mut session = session;
        if session.expires_within(now, REFRESH_MARGIN_SECS) {
            match refresh_session(app, &session).await {
                Ok(fresh) => session = fresh,
                Err(outcome) => return outcome,
            }
        }
        let push = |token: String| db.push(app.supabase(), token);
        let outcome = match push(session.access_token.clone()).await {
            Ok(report) => report.outcome,
            Err(e) => return PushOutcome::Retry { reason: e.to_string() },
        };
        if !matches!(outcome, PushOutcome::Unauthorized { .. }) {
            return outcome;
        }
        match refresh_session(app, &session).await {
            Ok(fresh) => match push(fresh.access_token).await {
                Ok(report) => report.outcome,
                Err(e) => PushOutcome::Retry { reason: e.to_string() },
            },
            Err(outcome) => outcome,
        }
    }
}

impl Default for SyncController {
    fn default() -> Self {
        Self::new()
    }
}

/// Renews the session. If the server says the session is over, the account moves to
/// [`Account::Ended`]: the musician is told, and their data and queue stay.
async fn refresh_session(app: AppContext, session: &Session) -> Result<Session, PushOutcome> {
    match auth::refresh(&FetchTransport::default(), &app.supabase(), &session.refresh_token).await {
        Ok(fresh) => {
            if app.account.with_untracked(|a| a.session().map(|s| s.user.id)) == Some(fresh.user.id) {
                app.set_account(Account::SignedIn(fresh.clone()));
            }
            Ok(fresh)
        }
        Err(e) if e.ends_session() => {
            app.sync.stop();
            app.set_account(Account::Ended { user: session.user.clone() });
            Err(PushOutcome::Unauthorized { reason: format!("your session ended: {e}") })
        }
        Err(e) => Err(PushOutcome::Retry { reason: e.to_string() }),
    }
}

/// Whether a run succeeded, and what happened in words.
fn describe(outcome: &PushOutcome) -> (bool, String) {
    match outcome {
        PushOutcome::Complete => (true, "All changes sent".into()),
        PushOutcome::Retry { reason } => (false, format!("Will retry: {reason}")),
        PushOutcome::Unauthorized { reason } => (false, format!("Not signed in: {reason}")),
        PushOutcome::AlreadyRunning => (true, "Already syncing".into()),
    }
}
