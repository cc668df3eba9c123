//! One sync run with the store's push and pull, driven by core's sans-I/O
//! [`SyncRun`]: the same decisions the app's background sync makes, for native tests and
//! tools. (The app drives the same machine through the database worker.)

use std::cell::RefCell;

use tunebook_core::supabase::auth::{self, Session};
use tunebook_core::supabase::{SupabaseConfig, Transport};
use tunebook_core::sync::{PullOutcome, PullReport, PushReport};
use tunebook_core::sync_run::{Event, RefreshFailed, RunOutcome, Step, SyncRun};

use crate::db::Database;
use crate::{pull, push};

/// A token this close to expiring (seconds) is renewed before a run sends anything.
pub const REFRESH_MARGIN_SECS: i64 = 120;

/// What a run did: how it ended, the push's report and each pulled page's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    pub outcome: RunOutcome,
    pub push: PushReport,
    pub pages: Vec<PullReport>,
}

impl RunReport {
    /// New conflicts found by the pull.
    pub fn conflicts(&self) -> u32 {
        self.pages.iter().map(|p| p.conflicts).sum()
    }
}

/// Pushes, then pulls every page, refreshing `session` when needed (the renewed
/// session replaces it). `now_secs`: the current Unix time.
pub async fn sync<T: Transport>(
    db: &RefCell<Database>,
    transport: &T,
    config: &SupabaseConfig,
    session: &mut Session,
    now_secs: i64,
) -> RunReport {
    let (mut run, mut step) = SyncRun::start(session.expires_within(now_secs, REFRESH_MARGIN_SECS));
    let mut report = RunReport {
        outcome: RunOutcome::Complete { changed: false },
        push: PushReport::default(),
        pages: Vec::new(),
    };
    loop {
        let event = match step {
            Step::Done(outcome) => {
                report.outcome = outcome;
                return report;
            }
            Step::RefreshToken => {
                Event::Refreshed(match auth::refresh(transport, config, &session.refresh_token).await {
                    Ok(fresh) => {
                        *session = fresh;
                        Ok(())
                    }
                    Err(e) if e.ends_session() => Err(RefreshFailed::SessionEnded(e.to_string())),
                    Err(e) => Err(RefreshFailed::Retry(e.to_string())),
                })
            }
            Step::Push => {
                report.push = push::push(db, transport, config, &session.access_token).await;
                Event::Pushed(report.push.outcome.clone())
            }
            Step::PullPage => {
                let outcome = pull::pull_page(db, transport, config, &session.access_token, None).await;
                if let PullOutcome::Page(page) = &outcome {
                    report.pages.push(page.clone());
                }
                Event::Pulled(outcome)
            }
        };
        step = run.next(event);
    }
}
