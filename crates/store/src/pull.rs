//! The pull: brings the account's changes to every synced table from Supabase into this
//! device, a page at a time, in the server's commit order (`pull_changes`). The cursor is the server's per-account change
//! number, which increases in commit order, so no row is ever skipped (client clocks and
//! `now()` timestamps cannot promise that). Each page and the cursor advance commit in
//! one local transaction. A row this device cannot read is set aside (quarantined, shown
//! on the Sync page) and the cursor moves past it: one bad row never stops the pull.

use std::cell::RefCell;

use futures_channel::oneshot;
use tunebook_core::supabase::rest::{self, RestError};
use tunebook_core::supabase::{HttpRequest, HttpResponse, NetworkError, SupabaseConfig, Transport};
use tunebook_core::sync::{PullOutcome, PullReport};

use crate::db::Database;

/// A reply on its way.
pub type Pending = oneshot::Receiver<Result<HttpResponse, NetworkError>>;

/// Reads the next page while the one before is applied, so a long pull waits on the
/// server and on the database at once rather than in turn (the browser worker; natively
/// a blocking transport has nothing to overlap). The page asked for ahead is used only by
/// a pull from the same cursor with the same token; [`ReadAhead::forget`] drops it, as
/// before a push (whose changes it could predate).
pub struct ReadAhead {
    next: RefCell<Option<PageAhead>>,
    /// Sends a request in the background.
    send: Box<dyn Fn(HttpRequest) -> Pending>,
}

struct PageAhead {
    after: i64,
    token: String,
    reply: Pending,
}

impl ReadAhead {
    /// `send` starts a request in the background and returns where its reply will arrive.
    pub fn new(send: impl Fn(HttpRequest) -> Pending + 'static) -> Self {
        Self { next: RefCell::new(None), send: Box::new(send) }
    }

    /// Drops the page asked for ahead, if any.
    pub fn forget(&self) {
        self.next.borrow_mut().take();
    }

    fn take(&self, after: i64, token: &str) -> Option<Pending> {
        let ahead = self.next.borrow_mut().take()?;
        (ahead.after == after && ahead.token == token).then_some(ahead.reply)
    }

    fn ask(&self, config: &SupabaseConfig, token: &str, after: i64) {
        let reply = (self.send)(rest::pull_changes(config, token, after, false));
        *self.next.borrow_mut() = Some(PageAhead { after, token: token.to_string(), reply });
    }
}

/// Pulls and applies one page (at most [`rest::PULL_PAGE`] rows). With `ahead`, the
/// next page is asked for before this one is applied, and a page asked for by the call
/// before is used instead of asking again.
pub async fn pull_page<T: Transport>(
    db: &RefCell<Database>,
    transport: &T,
    config: &SupabaseConfig,
    access_token: &str,
    ahead: Option<&ReadAhead>,
) -> PullOutcome {
    let cursor = match db.borrow().pull_cursor() {
        Ok(cursor) => cursor,
        Err(e) => return PullOutcome::local(&e),
    };
    let early = ahead.and_then(|a| a.take(cursor, access_token));
    let reply = match early {
        // A dropped sender (the worker stopping it) reads as a network failure.
        Some(pending) => pending.await.unwrap_or_else(|_| Err(NetworkError::Unreachable("cancelled".into()))),
        // From the very start, ask for the total too, for a progress indicator.
        None => transport.send(rest::pull_changes(config, access_token, cursor, cursor == 0)).await,
    };
    let response = match reply {
        Ok(response) => response,
        Err(e) => return PullOutcome::Retry { reason: e.to_string() },
    };
    if !response.is_success() {
        return match rest::classify(&response) {
            RestError::Unauthorized(reason) => PullOutcome::Unauthorized { reason },
            RestError::Retryable(reason) | RestError::Rejected(reason) => PullOutcome::Retry { reason },
        };
    }
    let page = match rest::parse_pulled(&response.body) {
        Ok(page) => page,
        Err(e) => return PullOutcome::Retry { reason: format!("unreadable reply: {e}") },
    };
    let full_page = page.len() as u32 >= rest::PULL_PAGE;
    if let Some(ahead) = ahead.filter(|_| full_page) {
        ahead.ask(config, access_token, page.cursor_after(cursor));
    }
    match db.borrow_mut().apply_pulled(&page) {
        Ok(report) => PullOutcome::Page(PullReport { more: full_page, ..report }),
        Err(e) => {
            if let Some(ahead) = ahead {
                ahead.forget();
            }
            PullOutcome::local(&e)
        }
    }
}
