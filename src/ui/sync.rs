//! Background sync, driven from the page: a run refreshes the token if needed, pushes,
//! and pulls every page. Runs start shortly after a local write, when a live change hint
//! says the server has something new (see [`LiveUpdates`]), and at a gloo interval (30 s
//! by default) as the safety net. The decisions (the run's steps, when to run, how long
//! to back off) are core's [`SyncRun`] and [`SyncScheduler`]; this module carries them
//! out through the database worker and wires them to timers, online/offline events, live
//! hints and the account.

use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use leptos::task::spawn_local;
use tunebook_core::domain::Timestamp;
use tunebook_core::supabase::auth::{self, Session};
use tunebook_core::supabase::fetch::FetchTransport;
use tunebook_core::sync::{PullOutcome, PushOutcome, QueueStats, SyncScheduler};
use tunebook_core::sync_run::{Event, LastRun, RefreshFailed, RunStatus, Step, SyncRun};
use tunebook_core::tabs::LeaderSync;

use super::account::Account;
use super::context::AppContext;
use super::live::LiveUpdates;

/// Renew the access token when it has less than this many seconds left.
const REFRESH_MARGIN_SECS: i64 = 120;
/// After a local write, the wait before pushing: edits made together (a double click,
/// ratings in a row) go in one run, and one alone reaches the server at once.
const AFTER_WRITE_MS: u32 = 100;
/// After a live hint, the wait before pulling: a burst of hints makes one pull.
const AFTER_HINT_MS: u32 = 200;

/// What the status line and the Sync page show.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncStatus {
    pub online: bool,
    /// This tab's runs, or the leader tab's when this one follows.
    pub run: RunStatus,
    pub stats: QueueStats,
    /// Why the queue's counts could not be read (the counts shown are then stale).
    pub stats_error: Option<String>,
}

impl SyncStatus {
    /// Takes freshly read queue counts. A failed read keeps the last counts, and the
    /// status says it does not know.
    fn take_stats(&mut self, stats: Result<QueueStats, tunebook_core::protocol::WorkerError>) {
        match stats {
            Ok(stats) => {
                self.stats = stats;
                self.stats_error = None;
            }
            Err(e) => self.stats_error = Some(e.to_string()),
        }
    }
}

impl Default for SyncStatus {
    fn default() -> Self {
        let online = web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true);
        Self { online, run: RunStatus::default(), stats: QueueStats::default(), stats_error: None }
    }
}

/// Runs sync in the background while signed in.
#[derive(Clone, Copy)]
pub struct SyncController {
    interval: StoredValue<Option<Interval>, LocalStorage>,
    soon: StoredValue<Option<Timeout>, LocalStorage>,
    /// A run shortly before the access token expires, whatever the interval: the live
    /// channel needs a valid token too.
    renew: StoredValue<Option<Timeout>, LocalStorage>,
    scheduler: StoredValue<SyncScheduler, LocalStorage>,
    busy: StoredValue<bool>,
    /// An edit was made while a run was running: run again when it ends.
    again: StoredValue<bool>,
    /// The highest live hint received while a run was running: pull again when it ends
    /// unless that run pulled this far.
    hinted: StoredValue<Option<i64>>,
    /// The pull cursor after the last page pulled (hints at or below it are old news).
    pulled_to: StoredValue<Option<i64>>,
    pub status: RwSignal<SyncStatus>,
    /// The live channel that tells this device when the server has changes.
    pub live: LiveUpdates,
}

impl SyncController {
    pub fn new() -> Self {
        Self {
            interval: StoredValue::new_local(None),
            soon: StoredValue::new_local(None),
            renew: StoredValue::new_local(None),
            scheduler: StoredValue::new_local(SyncScheduler::default()),
            busy: StoredValue::new(false),
            again: StoredValue::new(false),
            hinted: StoredValue::new(None),
            pulled_to: StoredValue::new(None),
            status: RwSignal::new(SyncStatus::default()),
            live: LiveUpdates::new(),
        }
    }

    /// Syncs now, then every interval, and joins the live channel, until
    /// [`SyncController::stop`]. Only the leader tab syncs (the others' writes reach its
    /// queue through it); another tab just reads the queue's counts.
    pub fn start(&self, app: AppContext) {
        self.stop();
        if !app.db().is_some_and(|db| db.leads()) {
            // `stop` just cleared what the leader's sync showed here: ask for it again.
            super::tabs::ask_sync_state();
            let this = *self;
            spawn_local(async move { this.refresh_stats(app).await });
            return;
        }
        let secs = app.settings.with_untracked(|s| s.sync_interval_secs).max(1);
        let this = *self;
        let interval = Interval::new(secs.saturating_mul(1000), move || spawn_local(this.run(app, false)));
        self.interval.set_value(Some(interval));
        self.pulled_to.set_value(None);
        self.live.start(app);
        spawn_local(self.run(app, true));
    }

    /// Stops the background interval and the live channel (a run in progress finishes).
    pub fn stop(&self) {
        self.interval.set_value(None);
        self.soon.set_value(None);
        self.renew.set_value(None);
        self.again.set_value(false);
        self.hinted.set_value(None);
        self.live.stop();
    }

    /// After a local write: sync shortly, so the change reaches the server (and the
    /// musician's other devices) in well under a second.
    pub fn soon(&self, app: AppContext) {
        let this = *self;
        spawn_local(async move { this.refresh_stats(app).await });
        self.run_after(app, AFTER_WRITE_MS);
    }

    /// A live hint: the server has changes up to `change_number`. Pulls (shortly, so a
    /// burst of hints makes one run) unless this device has pulled that far already.
    pub fn hint(&self, app: AppContext, change_number: i64) {
        if self.pulled_to.get_value().is_some_and(|cursor| cursor >= change_number) {
            return;
        }
        if self.busy.get_value() {
            // The run in progress may pull this far (its own pushed edit, typically).
            self.hinted.update_value(|h| *h = Some(h.map_or(change_number, |n| n.max(change_number))));
            return;
        }
        self.run_after(app, AFTER_HINT_MS);
    }

    /// Runs in `ms` (a later request within that time replaces this one), or after the
    /// run in progress if there is one.
    fn run_after(&self, app: AppContext, ms: u32) {
        if !self.is_started() {
            return;
        }
        if self.busy.get_value() {
            self.again.set_value(true);
            return;
        }
        let this = *self;
        let timeout = Timeout::new(ms, move || spawn_local(this.run(app, false)));
        self.soon.set_value(Some(timeout));
    }

    /// Runs (refreshing the token) when the session is about to expire. Nothing when it
    /// already is: the next run refreshes it, and retrying here at once would spin.
    fn renew_before_expiry(&self, app: AppContext) {
        let expires_at = app.account.with_untracked(|a| a.session().map(|s| s.expires_at));
        let now_secs = tunebook_core::platform::now_millis() / 1000;
        let wait_secs = expires_at.map_or(0, |at| at - REFRESH_MARGIN_SECS - now_secs);
        if !self.is_started() || wait_secs <= 0 {
            return;
        }
        let this = *self;
        // At most a day: browsers fire longer timeouts at once.
        let ms = u32::try_from(wait_secs.min(86_400) * 1000).unwrap_or(86_400_000);
        self.renew.set_value(Some(Timeout::new(ms, move || spawn_local(this.run(app, false)))));
    }

    pub fn is_started(&self) -> bool {
        self.interval.with_value(Option::is_some)
    }

    /// The browser came back online: end any backoff and sync at once.
    pub fn online(&self, app: AppContext) {
        self.status.update(|s| s.online = true);
        self.scheduler.update_value(SyncScheduler::online);
        if self.is_started() {
            self.live.online(app);
            spawn_local(self.run(app, true));
        }
    }

    pub fn offline(&self) {
        self.status.update(|s| s.online = false);
    }

    /// What this tab's sync is doing, as the other tabs show it while this tab leads
    /// (a tracked read).
    pub fn shown(&self) -> LeaderSync {
        let live = self.live.status.get();
        self.status.with(|s| LeaderSync { run: s.run.clone(), live })
    }

    /// Shows the leader tab's sync in this tab, which follows it; when the leader is not
    /// running, the queue's counts may have changed, so they are read again.
    pub fn follow(&self, app: AppContext, leader: LeaderSync) {
        let idle = !leader.run.running;
        self.status.update(|s| s.run = leader.run);
        self.live.status.set(leader.live);
        if idle {
            let this = *self;
            spawn_local(async move { this.refresh_stats(app).await });
        }
    }

    /// Re-reads the queue counts (after a local write, for instance).
    pub async fn refresh_stats(&self, app: AppContext) {
        if let Some(db) = app.db() {
            let stats = db.queue_stats().await;
            self.status.update(|s| s.take_stats(stats));
        }
    }

    /// One sync run. A tick respects the backoff; `now` (sign-in, "Sync now", coming
    /// back online) does not. The run's steps are decided by core's [`SyncRun`]; this
    /// carries them out through the worker and the auth server.
    pub async fn run(self, app: AppContext, now: bool) {
        let now_ms = tunebook_core::platform::now_millis();
        if self.busy.get_value() || (!now && !self.scheduler.with_value(|s| s.should_run(now_ms))) {
            return;
        }
        let signed_in = app.account.with_untracked(|a| a.session().cloned());
        // The browser knows it is offline: do not try (coming online runs a sync at once).
        let online = self.status.with_untracked(|s| s.online);
        let (Some(db), Some(mut session), true) = (app.db(), signed_in, online) else {
            self.refresh_stats(app).await;
            return;
        };
        self.busy.set_value(true);
        self.status.update(|s| s.run.running = true);
        let started = js_sys::Date::now();
        let expiring = session.expires_within(now_ms / 1000, REFRESH_MARGIN_SECS);
        let (mut machine, mut step) = SyncRun::start(expiring);
        let outcome = loop {
            let event = match step {
                Step::Done(outcome) => break outcome,
                Step::RefreshToken => Event::Refreshed(match refresh_session(app, &session).await {
                    Ok(fresh) => {
                        session = fresh;
                        Ok(())
                    }
                    Err(failed) => Err(failed),
                }),
                Step::Push => {
                    Event::Pushed(match db.push(app.supabase(), session.access_token.clone()).await {
                        Ok(report) => report.outcome,
                        Err(e) if e.is_retryable() => PushOutcome::Retry { reason: e.to_string() },
                        Err(e) => PushOutcome::Stopped { reason: e.to_string() },
                    })
                }
                Step::PullPage => {
                    Event::Pulled(match db.pull(app.supabase(), session.access_token.clone()).await {
                        Ok(outcome) => {
                            if let PullOutcome::Page(report) = &outcome {
                                self.pulled_to.set_value(Some(report.cursor));
                            }
                            outcome
                        }
                        Err(e) if e.is_retryable() => PullOutcome::Retry { reason: e.to_string() },
                        Err(e) => PullOutcome::Stopped { reason: e.to_string() },
                    })
                }
            };
            step = machine.next(event);
            let progress = machine.progress();
            self.status.update(|s| s.run.pulling = progress);
            // A long first download fills the list as it goes.
            if let (Some((rows, _)), true) = (progress, machine.changed())
                && rows % 5000 < 1000
            {
                app.data_changed();
            }
        };
        if machine.changed() {
            app.data_changed();
        }
        let random = js_sys::Math::random();
        self.scheduler.update_value(|s| s.record(&outcome, tunebook_core::platform::now_millis(), random));
        let stats = db.queue_stats().await;
        let finished_at = Timestamp::now();
        self.status.update(|s| {
            s.run.running = false;
            s.run.pulling = None;
            s.take_stats(stats);
            if outcome.is_success() {
                s.run.last_success = Some(finished_at);
            }
            s.run.last = Some(LastRun {
                finished_at,
                duration_ms: js_sys::Date::now() - started,
                result: outcome.describe(),
                ok: outcome.is_success(),
            });
        });
        self.busy.set_value(false);
        self.renew_before_expiry(app);
        // An edit made meanwhile, or a hint this run did not pull as far as: once more.
        let hinted = self.hinted.try_update_value(Option::take).flatten();
        let behind = hinted.is_some_and(|n| self.pulled_to.get_value().is_none_or(|cursor| cursor < n));
        if self.again.get_value() || behind {
            self.again.set_value(false);
            self.run_after(app, 0);
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
async fn refresh_session(app: AppContext, session: &Session) -> Result<Session, RefreshFailed> {
    match auth::refresh(&FetchTransport::default(), &app.supabase(), &session.refresh_token).await {
        Ok(fresh) => {
            if app.account.with_untracked(|a| a.session().map(|s| s.user.id)) == Some(fresh.user.id) {
                app.set_account(Account::SignedIn(fresh.clone()));
                app.sync.live.token(app, fresh.access_token.clone());
            }
            Ok(fresh)
        }
        Err(e) if e.ends_session() => {
            app.sync.stop();
            app.set_account(Account::Ended { user: session.user.clone() });
            Err(RefreshFailed::SessionEnded(e.to_string()))
        }
        Err(e) => Err(RefreshFailed::Retry(e.to_string())),
    }
}
