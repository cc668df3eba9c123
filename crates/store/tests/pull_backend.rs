//! Pulling from the real local backend: a row the client cannot read is set aside and the
//! pull goes on past it.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use tunebook_backend::testing::TestStack;

#[test]
fn a_poison_row_is_quarantined_and_the_pull_moves_on() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "poison");
    let user = session.user.id.to_string();
    // A server from before timestamps were range-checked accepted 'infinity'.
    stack.sql("alter table public.tune drop constraint tune_timestamps_in_range").unwrap();
    stack
        .sql(&format!(
            "insert into public.tune (id, user_id, title, created_at) values
               ('01950000-0000-7000-8000-000000000001', '{user}', 'Before', now()),
               ('01950000-0000-7000-8000-000000000002', '{user}', 'Forever', 'infinity'),
               ('01950000-0000-7000-8000-000000000003', '{user}', 'After', now())"
        ))
        .unwrap();

    let db = device();
    let (_, _) = sync_now(&db, &cfg, &session);
    let titles: Vec<String> = live_tunes(&db).into_iter().map(|(t, _)| t).collect();
    assert_eq!(titles, ["After", "Before"], "the rows around the poison row arrived");
    let quarantined = db.borrow().quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].record_id, "01950000-0000-7000-8000-000000000002");
    assert!(quarantined[0].reason.contains("created_at"), "{}", quarantined[0].reason);
    let last_change: i64 = stack.sql("select max(change_number) from public.tune").unwrap()[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(db.borrow().pull_cursor().unwrap(), last_change, "the cursor is past every row");

    // Pulling again is quiet: nothing is retried forever.
    let (_, conflicts) = sync_now(&db, &cfg, &session);
    assert_eq!(conflicts, 0);
}

#[test]
fn the_app_syncs_with_a_publishable_key() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = tunebook_core::supabase::SupabaseConfig {
        url: stack.stack().api_url.clone(),
        anon_key: stack.stack().publishable_key.clone(),
    };
    assert!(cfg.validate().is_ok(), "Settings accept the publishable key");
    let session = sign_up(&cfg, "publishable");
    let phone = device();
    let tune = create(&phone, "The Butterfly");
    sync_now(&phone, &cfg, &session);
    assert_eq!(server_value(&stack, &tune.id, "title").as_deref(), Some("The Butterfly"));
    let laptop = device();
    sync_now(&laptop, &cfg, &sign_in(&cfg, &session.user.email));
    assert_eq!(live_tunes(&laptop), [("The Butterfly".to_string(), None)]);
}

#[test]
fn a_pull_longer_than_one_page_brings_every_row() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "pages");
    // 2,345 rows: two full pages of 1,000 and one of 345.
    server_tunes(&stack, &session, 2345);
    let db = device();
    let pages = run_sync(&db, &cfg, &session).pages;
    let shape: Vec<(u32, bool)> = pages.iter().map(|p| (p.rows, p.more)).collect();
    assert_eq!(shape, [(1000, true), (1000, true), (345, false)]);
    assert_eq!(pages[0].total, Some(2345), "the first page says how many there are");
    let listed = db.borrow().list_tunes(&tunebook_core::list::ListQuery::default()).unwrap();
    assert_eq!(listed.total, 2345);
    let last_change: i64 = stack.sql("select max(change_number) from public.tune").unwrap()[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pages[2].cursor, last_change);
}

#[test]
fn pages_read_ahead_are_used_once_and_only_from_their_cursor() {
    use std::cell::Cell;
    use std::rc::Rc;
    use tunebook_core::supabase::Transport;
    use tunebook_core::sync::PullOutcome;
    use tunebook_store::native::{BlockingTransport, block_on};
    use tunebook_store::pull::{ReadAhead, pull_page};

    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "ahead");
    server_tunes(&stack, &session, 2500);
    // Requests sent ahead, and requests sent by the pull itself.
    let sent_ahead = Rc::new(Cell::new(0));
    let counter = sent_ahead.clone();
    // Natively the request runs at once; in the worker it runs in the background.
    let ahead = ReadAhead::new(move |request| {
        counter.set(counter.get() + 1);
        let (reply, pending) = futures_channel::oneshot::channel();
        let _ = reply.send(block_on(BlockingTransport::default().send(request)));
        pending
    });
    struct Counting(Cell<u32>);
    impl Transport for Counting {
        async fn send(
            &self,
            request: tunebook_core::supabase::HttpRequest,
        ) -> Result<tunebook_core::supabase::HttpResponse, tunebook_core::supabase::NetworkError> {
            self.0.set(self.0.get() + 1);
            BlockingTransport::default().send(request).await
        }
    }
    let direct = Counting(Cell::new(0));
    let db = device();
    let pull = |token: &str| match block_on(pull_page(&db, &direct, &cfg, token, Some(&ahead))) {
        PullOutcome::Page(page) => page,
        other => panic!("{other:?}"),
    };

    let first = pull(&session.access_token);
    assert_eq!((first.rows, first.more, first.total), (1000, true, Some(2500)));
    assert_eq!((direct.0.get(), sent_ahead.get()), (1, 1), "the second page is asked for at once");
    // Asked for with another token (a refreshed session), the page read ahead is not used.
    let refreshed = sign_in(&cfg, &session.user.email);
    assert_ne!(refreshed.access_token, session.access_token);
    let second = pull(&refreshed.access_token);
    assert_eq!((second.rows, second.more), (1000, true));
    assert_eq!((direct.0.get(), sent_ahead.get()), (2, 2));
    // Forgotten (a push is about to start), it is not used either.
    ahead.forget();
    let third = pull(&refreshed.access_token);
    assert_eq!((third.rows, third.more), (500, false));
    assert_eq!((direct.0.get(), sent_ahead.get()), (3, 2), "nothing is read past the last page");
    // Read ahead and used: the same pages, one request each.
    let other = device();
    let mut requests = 0;
    loop {
        let before = (direct.0.get(), sent_ahead.get());
        let page = match block_on(pull_page(&other, &direct, &cfg, &session.access_token, Some(&ahead))) {
            PullOutcome::Page(page) => page,
            outcome => panic!("{outcome:?}"),
        };
        requests += direct.0.get() - before.0;
        if !page.more {
            break;
        }
    }
    assert_eq!(requests, 1, "only the first page was asked for by the pull itself");
    assert_eq!(other.borrow().list_tunes(&tunebook_core::list::ListQuery::default()).unwrap().total, 2500);
    assert_eq!(db.borrow().list_tunes(&tunebook_core::list::ListQuery::default()).unwrap().total, 2500);
}

/// Writes `count` tunes of the account straight into PostgreSQL ("Tune 1", "Tune 2", …).
fn server_tunes(stack: &TestStack, session: &tunebook_core::supabase::auth::Session, count: u32) {
    let user = session.user.id;
    stack
        .sql(&format!(
            "insert into public.tune (id, user_id, title)
             select gen_random_uuid(), '{user}', 'Tune ' || n from generate_series(1, {count}) as n"
        ))
        .unwrap();
}
