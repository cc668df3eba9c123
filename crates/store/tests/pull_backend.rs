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
    let user = session.user.id.to_string();
    // 2,345 rows: two full pages of 1,000 and one of 345.
    stack
        .sql(&format!(
            "insert into public.tune (id, user_id, title)
             select ('01960000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, '{user}', 'Tune ' || n
             from generate_series(1, 2345) as n"
        ))
        .unwrap();
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
