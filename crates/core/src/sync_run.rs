//! One sync run as a small state machine, with no I/O: the driver (the app's background
//! sync, the native tests, the tools) asks [`SyncRun`] for the next [`Step`], performs
//! it, and feeds back what happened as an [`Event`]. A run refreshes an expiring token
//! first, pushes, then pulls page by page; a refused token is refreshed once per phase;
//! a failure ends the run with an outcome that says whether to try again later.

use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;
use crate::sync::{PullOutcome, PushOutcome};

/// What the driver does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Renew the session (then the run goes on where it was).
    RefreshToken,
    /// Push every queued change.
    Push,
    /// Pull and apply one page.
    PullPage,
    /// The run is over.
    Done(RunOutcome),
}

/// What happened when the driver performed a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Pushed(PushOutcome),
    Pulled(PullOutcome),
    Refreshed(Result<(), RefreshFailed>),
}

/// Why a session could not be renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshFailed {
    /// The server ended the session: the musician must sign in again.
    SessionEnded(String),
    /// The network or the server failed: try again later.
    Retry(String),
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunOutcome {
    /// Everything queued was sent (refused changes aside) and every page pulled.
    /// `changed`: pulled rows changed this device's data.
    Complete { changed: bool },
    /// The network or the server failed: try again later, backing off.
    Retry { reason: String },
    /// The token was refused even after a refresh, or the session ended.
    Unauthorized { reason: String },
    /// This device's database cannot go on (damaged, or written by a newer version):
    /// trying again will not help, so the background sync stops until asked.
    Stopped { reason: String },
}

impl RunOutcome {
    /// Whether the run did what it set out to do.
    pub fn is_success(&self) -> bool {
        matches!(self, RunOutcome::Complete { .. })
    }

    /// What happened, in words, for the Sync page.
    pub fn describe(&self) -> String {
        match self {
            RunOutcome::Complete { .. } => "All changes sent".into(),
            RunOutcome::Retry { reason } => format!("Will retry: {reason}"),
            RunOutcome::Unauthorized { reason } => format!("Not signed in: {reason}"),
            RunOutcome::Stopped { reason } => format!("Stopped: {reason}"),
        }
    }
}

/// The last finished run, as the Sync page shows it (and the leader tab tells the others).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    pub finished_at: Timestamp,
    pub duration_ms: f64,
    /// What happened, in words ([`RunOutcome::describe`]).
    pub result: String,
    pub ok: bool,
}

/// What a device's sync runs show: the one running, if any, and the last ones.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    pub running: bool,
    /// While pulling: rows received so far, and the total when the server said.
    pub pulling: Option<(u64, Option<u64>)>,
    pub last: Option<LastRun>,
    pub last_success: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Push,
    Pull,
}

/// The run's state. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRun {
    phase: Phase,
    /// A refresh already happened in this phase (a second refusal ends the run).
    refreshed: bool,
    rows: u64,
    total: Option<u64>,
    changed: bool,
}

impl SyncRun {
    /// Starts a run; `token_expiring`: the access token expires within the margin, so
    /// it is renewed before anything is sent.
    pub fn start(token_expiring: bool) -> (SyncRun, Step) {
        let run = SyncRun { phase: Phase::Push, refreshed: false, rows: 0, total: None, changed: false };
        (run, if token_expiring { Step::RefreshToken } else { Step::Push })
    }

    /// While pulling: rows received so far and the total when the server said.
    pub fn progress(&self) -> Option<(u64, Option<u64>)> {
        (self.phase == Phase::Pull && self.rows > 0).then_some((self.rows, self.total))
    }

    /// The step after `event`.
    pub fn next(&mut self, event: Event) -> Step {
        match event {
            Event::Refreshed(Ok(())) => self.resume(),
            Event::Refreshed(Err(RefreshFailed::SessionEnded(reason))) => {
                Step::Done(RunOutcome::Unauthorized { reason: format!("your session ended: {reason}") })
            }
            Event::Refreshed(Err(RefreshFailed::Retry(reason))) => Step::Done(RunOutcome::Retry { reason }),
            Event::Pushed(PushOutcome::Complete | PushOutcome::AlreadyRunning) => {
                self.phase = Phase::Pull;
                self.refreshed = false;
                Step::PullPage
            }
            Event::Pushed(PushOutcome::Unauthorized { reason })
            | Event::Pulled(PullOutcome::Unauthorized { reason }) => {
                if self.refreshed {
                    Step::Done(RunOutcome::Unauthorized { reason })
                } else {
                    self.refreshed = true;
                    Step::RefreshToken
                }
            }
            Event::Pushed(PushOutcome::Retry { reason }) | Event::Pulled(PullOutcome::Retry { reason }) => {
                Step::Done(RunOutcome::Retry { reason })
            }
            Event::Pushed(PushOutcome::Stopped { reason })
            | Event::Pulled(PullOutcome::Stopped { reason }) => Step::Done(RunOutcome::Stopped { reason }),
            Event::Pulled(PullOutcome::Page(page)) => {
                self.rows += u64::from(page.rows);
                self.total = page.total.or(self.total);
                self.changed |= page.applied > 0 || page.conflicts > 0;
                if page.more {
                    Step::PullPage
                } else {
                    Step::Done(RunOutcome::Complete { changed: self.changed })
                }
            }
        }
    }

    fn resume(&self) -> Step {
        match self.phase {
            Phase::Push => Step::Push,
            Phase::Pull => Step::PullPage,
        }
    }

    /// Whether pulled rows changed this device's data so far.
    pub fn changed(&self) -> bool {
        self.changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::PullReport;

    fn page(rows: u32, applied: u32, more: bool, total: Option<u64>) -> Event {
        Event::Pulled(PullOutcome::Page(PullReport { rows, applied, more, total, ..PullReport::default() }))
    }

    fn retry(reason: &str) -> String {
        reason.to_string()
    }

    /// Drives a run with scripted events; returns every step it asked for.
    fn drive(expiring: bool, events: Vec<Event>) -> Vec<Step> {
        let (mut run, first) = SyncRun::start(expiring);
        let mut steps = vec![first];
        for event in events {
            steps.push(run.next(event));
        }
        steps
    }

    #[test]
    fn runs_go_push_then_pull_and_refresh_once_per_phase() {
        use Step::*;
        let unauthorized = |r: &str| Event::Pushed(PushOutcome::Unauthorized { reason: r.into() });
        let pull_unauthorized = |r: &str| Event::Pulled(PullOutcome::Unauthorized { reason: r.into() });
        let cases: Vec<(&str, bool, Vec<Event>, Vec<Step>)> = vec![
            (
                "plain run over two pages",
                false,
                vec![
                    Event::Pushed(PushOutcome::Complete),
                    page(1000, 3, true, Some(1500)),
                    page(500, 0, false, None),
                ],
                vec![Push, PullPage, PullPage, Done(RunOutcome::Complete { changed: true })],
            ),
            (
                "expiring token refreshed first",
                true,
                vec![Event::Refreshed(Ok(())), Event::Pushed(PushOutcome::Complete), page(0, 0, false, None)],
                vec![RefreshToken, Push, PullPage, Done(RunOutcome::Complete { changed: false })],
            ),
            (
                "a refused token is refreshed once, then the push is tried again",
                false,
                vec![unauthorized("expired"), Event::Refreshed(Ok(())), Event::Pushed(PushOutcome::Complete)],
                vec![Push, RefreshToken, Push, PullPage],
            ),
            (
                "refused twice in one phase ends the run",
                false,
                vec![unauthorized("expired"), Event::Refreshed(Ok(())), unauthorized("still")],
                vec![Push, RefreshToken, Push, Done(RunOutcome::Unauthorized { reason: "still".into() })],
            ),
            (
                "the pull gets its own refresh",
                false,
                vec![
                    unauthorized("a"),
                    Event::Refreshed(Ok(())),
                    Event::Pushed(PushOutcome::Complete),
                    pull_unauthorized("b"),
                    Event::Refreshed(Ok(())),
                    page(1, 1, false, None),
                ],
                vec![
                    Push,
                    RefreshToken,
                    Push,
                    PullPage,
                    RefreshToken,
                    PullPage,
                    Done(RunOutcome::Complete { changed: true }),
                ],
            ),
            (
                "a push already running still lets this run pull",
                false,
                vec![Event::Pushed(PushOutcome::AlreadyRunning)],
                vec![Push, PullPage],
            ),
            (
                "network failure ends the run for a retry",
                false,
                vec![Event::Pushed(PushOutcome::Retry { reason: retry("offline") })],
                vec![Push, Done(RunOutcome::Retry { reason: "offline".into() })],
            ),
            (
                "a pull failure mid-way ends the run for a retry",
                false,
                vec![
                    Event::Pushed(PushOutcome::Complete),
                    page(1000, 1, true, None),
                    Event::Pulled(PullOutcome::Retry { reason: retry("502") }),
                ],
                vec![Push, PullPage, PullPage, Done(RunOutcome::Retry { reason: "502".into() })],
            ),
            (
                "a damaged database stops the run",
                false,
                vec![Event::Pushed(PushOutcome::Stopped {
                    reason: "database disk image is malformed".into(),
                })],
                vec![Push, Done(RunOutcome::Stopped { reason: "database disk image is malformed".into() })],
            ),
            (
                "an ended session ends the run",
                true,
                vec![Event::Refreshed(Err(RefreshFailed::SessionEnded("revoked".into())))],
                vec![
                    RefreshToken,
                    Done(RunOutcome::Unauthorized { reason: "your session ended: revoked".into() }),
                ],
            ),
            (
                "a refresh that cannot reach the server is retried later",
                true,
                vec![Event::Refreshed(Err(RefreshFailed::Retry("offline".into())))],
                vec![RefreshToken, Done(RunOutcome::Retry { reason: "offline".into() })],
            ),
        ];
        for (name, expiring, events, expected) in cases {
            assert_eq!(drive(expiring, events), expected, "{name}");
        }
    }

    #[test]
    fn progress_counts_pulled_rows() {
        let (mut run, _) = SyncRun::start(false);
        assert_eq!(run.progress(), None);
        run.next(Event::Pushed(PushOutcome::Complete));
        assert_eq!(run.progress(), None, "nothing pulled yet");
        run.next(page(1000, 0, true, Some(12_005)));
        assert_eq!(run.progress(), Some((1000, Some(12_005))));
        run.next(page(1000, 0, true, None));
        assert_eq!(run.progress(), Some((2000, Some(12_005))), "the total is kept");
        assert!(!run.changed());
    }
}
