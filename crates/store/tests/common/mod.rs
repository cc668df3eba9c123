//! Helpers for the store's integration tests against the real local backend.
#![allow(dead_code)] // each test binary uses a different subset

pub mod fault_proxy;

use std::cell::RefCell;

use tunebook_backend::testing::TestStack;
use tunebook_core::domain::{Tune, TuneDraft};
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::supabase::auth::{self, Session, SignUpOutcome};
use tunebook_core::sync::PushReport;
use tunebook_store::db::Database;
use tunebook_store::native::{BlockingTransport, block_on};
use tunebook_store::push::push;

/// The stack's API as the app sees it.
pub fn config(stack: &TestStack) -> SupabaseConfig {
    SupabaseConfig { url: stack.stack().api_url.clone(), anon_key: stack.stack().anon_key.clone() }
}

/// Signs up a fresh account and returns its session.
pub fn sign_up(cfg: &SupabaseConfig, tag: &str) -> Session {
    let email = format!("{tag}-{}@example.org", tunebook_core::domain::Uuid::now_v7());
    match block_on(auth::sign_up(&BlockingTransport::default(), cfg, &email, "correct horse")) {
        Ok(SignUpOutcome::SignedIn(session)) => session,
        other => panic!("sign-up: {other:?}"),
    }
}

/// A device: its own SQLite database.
pub fn device() -> RefCell<Database> {
    RefCell::new(Database::open_in_memory().expect("database"))
}

pub fn create(db: &RefCell<Database>, title: &str) -> Tune {
    db.borrow_mut().create_tune(&TuneDraft { title: title.into(), ..TuneDraft::default() }).expect("create")
}

pub fn push_now(db: &RefCell<Database>, cfg: &SupabaseConfig, session: &Session) -> PushReport {
    block_on(push(db, &BlockingTransport::default(), cfg, &session.access_token))
}

/// One sync run, as the app makes it (push, then every page pulled); returns (push
/// report, new conflicts). The run must complete.
pub fn sync_now(db: &RefCell<Database>, cfg: &SupabaseConfig, session: &Session) -> (PushReport, u32) {
    let report = run_sync(db, cfg, session);
    assert!(report.outcome.is_success(), "sync run: {:?}", report.outcome);
    (report.push.clone(), report.conflicts())
}

/// One sync run, however it ends.
pub fn run_sync(
    db: &RefCell<Database>,
    cfg: &SupabaseConfig,
    session: &Session,
) -> tunebook_store::run::RunReport {
    let mut session = session.clone();
    let now = tunebook_core::platform::now_millis() / 1000;
    block_on(tunebook_store::run::sync(db, &BlockingTransport::default(), cfg, &mut session, now))
}

/// A device's live tunes as (title, mode), sorted: what the musician sees.
pub fn live_tunes(db: &RefCell<Database>) -> Vec<(String, Option<String>)> {
    let db = db.borrow();
    let page =
        db.list_tunes(&tunebook_core::list::ListQuery { limit: 500, ..Default::default() }).expect("list");
    let mut tunes: Vec<_> = page
        .rows
        .iter()
        .map(|r| {
            let t = db.get_tune(r.id).expect("get").expect("listed tune exists");
            (t.fields.title, t.fields.mode)
        })
        .collect();
    tunes.sort();
    tunes
}

/// Signs in to an existing account (a second device of the same musician).
pub fn sign_in(cfg: &SupabaseConfig, email: &str) -> Session {
    block_on(auth::sign_in(&BlockingTransport::default(), cfg, email, "correct horse")).expect("sign in")
}

/// One column of the server's row for a tune, as text (`None` if there is no row).
pub fn server_value(stack: &TestStack, id: &tunebook_core::domain::Uuid, column: &str) -> Option<String> {
    stack
        .sql(&format!("select {column}::text from public.tune where id = '{id}'"))
        .expect("sql")
        .into_iter()
        .next()
        .flatten()
}

pub fn server_count(stack: &TestStack, filter: &str) -> i64 {
    stack.sql(&format!("select count(*) from public.tune where {filter}")).expect("sql")[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap_or(-1)
}

/// A running stack that can be restarted between syncs (property tests).
pub struct Backend {
    pub stack: Option<TestStack>,
}

impl Backend {
    pub fn start() -> Backend {
        Backend { stack: Some(TestStack::start(|_| {}).expect("stack")) }
    }

    /// Stops the stack and starts it again on the same data and ports.
    pub fn restart(&mut self) {
        let stopped = self.stack.take().expect("running").stop();
        self.stack = Some(stopped.restart().expect("restart"));
    }

    pub fn stack(&self) -> &TestStack {
        self.stack.as_ref().expect("running")
    }
}
