//! The pull: brings the account's changes to every synced table from Supabase into this
//! device, a page at a time, in the server's commit order (`pull_changes`). The cursor is the server's per-account change
//! number, which increases in commit order, so no row is ever skipped (client clocks and
//! `now()` timestamps cannot promise that). Each page and the cursor advance commit in
//! one local transaction. A row this device cannot read is set aside (quarantined, shown
//! on the Sync page) and the cursor moves past it: one bad row never stops the pull.

use std::cell::RefCell;

use tunebook_core::supabase::rest::{self, RestError};
use tunebook_core::supabase::{SupabaseConfig, Transport};
use tunebook_core::sync::{PullOutcome, PullReport};

use crate::db::Database;

/// Pulls and applies one page (at most [`rest::PULL_PAGE`] rows).
pub async fn pull_page<T: Transport>(
    db: &RefCell<Database>,
    transport: &T,
    config: &SupabaseConfig,
    access_token: &str,
) -> PullOutcome {
    let cursor = match db.borrow().pull_cursor() {
        Ok(cursor) => cursor,
        Err(e) => return PullOutcome::local(&e),
    };
    // From the very start, ask for the total too, for a progress indicator.
    let request = rest::pull_changes(config, access_token, cursor, cursor == 0);
    let response = match transport.send(request).await {
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
    match db.borrow_mut().apply_pulled(&page) {
        Ok(report) => PullOutcome::Page(PullReport { more: full_page, ..report }),
        Err(e) => PullOutcome::local(&e),
    }
}
