//! Two devices of one musician against the real local backend: changes travel both
//! ways, deletes propagate, different fields merge, the same field conflicts and is
//! resolved, and the pull cursor never skips a commit.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use tunebook_backend::testing::TestStack;
use tunebook_core::domain::TuneDraft;
use tunebook_core::merge::{Part, Side};
use tunebook_core::sync::PushOutcome;

fn draft(title: &str, mode: &str) -> TuneDraft {
    TuneDraft { title: title.into(), mode: mode.into(), ..TuneDraft::default() }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn changes_travel_both_ways_and_deletes_propagate() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let phone_session = sign_up(&cfg, "two");
    let laptop_session = sign_in(&cfg, &phone_session.user.email);
    let (phone, laptop) = (device(), device());

    let kesh = phone.borrow_mut().create_tune(&draft("The Kesh", "G major")).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    sync_now(&laptop, &cfg, &laptop_session);
    assert_eq!(live_tunes(&laptop), [("The Kesh".into(), some("G major"))]);

    laptop.borrow_mut().update_tune(kesh.id, &draft("The Kesh Jig", "G major")).unwrap();
    laptop.borrow_mut().create_tune(&draft("Cooley's", "E dorian")).unwrap();
    sync_now(&laptop, &cfg, &laptop_session);
    sync_now(&phone, &cfg, &phone_session);
    assert_eq!(live_tunes(&phone), live_tunes(&laptop));

    phone.borrow_mut().delete_tune(kesh.id).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    sync_now(&laptop, &cfg, &laptop_session);
    assert_eq!(live_tunes(&laptop), [("Cooley's".into(), some("E dorian"))]);
    assert_eq!(laptop.borrow().queue_stats().unwrap().unsynced(), 0);
}

#[test]
fn different_fields_merge_and_the_same_field_waits_for_the_musician() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let phone_session = sign_up(&cfg, "merge");
    let laptop_session = sign_in(&cfg, &phone_session.user.email);
    let (phone, laptop) = (device(), device());
    let tune = phone.borrow_mut().create_tune(&draft("Kesh", "G major")).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    sync_now(&laptop, &cfg, &laptop_session);

    // Apart: the phone renames, the laptop changes the mode. Both merge, silently.
    phone.borrow_mut().update_tune(tune.id, &draft("The Kesh", "G major")).unwrap();
    laptop.borrow_mut().update_tune(tune.id, &draft("Kesh", "G mixolydian")).unwrap();
    let (first, _) = sync_now(&phone, &cfg, &phone_session);
    let (second, conflicts) = sync_now(&laptop, &cfg, &laptop_session);
    assert_eq!((first.conflicts, second.conflicts, conflicts), (0, 0, 0));
    sync_now(&laptop, &cfg, &laptop_session);
    sync_now(&phone, &cfg, &phone_session);
    let expected = [("The Kesh".to_string(), some("G mixolydian"))];
    assert_eq!(live_tunes(&phone), expected);
    assert_eq!(live_tunes(&laptop), expected);

    // Apart again, both retitle: the second to sync gets a conflict, keeping both.
    phone.borrow_mut().update_tune(tune.id, &draft("The Kesh Jig", "G mixolydian")).unwrap();
    laptop.borrow_mut().update_tune(tune.id, &draft("Kesh (jig)", "G mixolydian")).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    let (report, _) = sync_now(&laptop, &cfg, &laptop_session);
    assert_eq!(report.conflicts, 1);
    assert_eq!(
        live_tunes(&laptop),
        [("Kesh (jig)".to_string(), some("G mixolydian"))],
        "mine is kept meanwhile"
    );
    let conflict = laptop.borrow().conflicts().unwrap().remove(0);
    assert_eq!(conflict.parts, [Part::Field("title".into())]);
    assert_eq!(conflict.theirs.text("title"), "The Kesh Jig");
    assert_eq!(laptop.borrow().queue_stats().unwrap().unsynced(), 1, "a conflict counts as unsynced");

    // The musician keeps theirs on the laptop... then everyone agrees.
    laptop
        .borrow_mut()
        .resolve_conflict(conflict.id, &[(Part::Field("title".into()), Side::Theirs)])
        .unwrap();
    sync_now(&laptop, &cfg, &laptop_session);
    sync_now(&phone, &cfg, &phone_session);
    let agreed = [("The Kesh Jig".to_string(), some("G mixolydian"))];
    assert_eq!((live_tunes(&phone), live_tunes(&laptop)), (agreed.to_vec(), agreed.to_vec()));
}

#[test]
fn an_edit_against_a_delete_is_a_conflict_and_a_kept_edit_restores_the_tune() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let phone_session = sign_up(&cfg, "delete");
    let laptop_session = sign_in(&cfg, &phone_session.user.email);
    let (phone, laptop) = (device(), device());
    let tune = phone.borrow_mut().create_tune(&draft("Kesh", "G major")).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    sync_now(&laptop, &cfg, &laptop_session);

    phone.borrow_mut().delete_tune(tune.id).unwrap();
    laptop.borrow_mut().update_tune(tune.id, &draft("Kesh", "A dorian")).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    let (report, _) = sync_now(&laptop, &cfg, &laptop_session);
    assert_eq!(report.conflicts, 1, "never resurrected or deleted silently");
    let conflict = laptop.borrow().conflicts().unwrap().remove(0);
    assert_eq!(conflict.parts, [Part::Deleted]);
    laptop.borrow_mut().resolve_conflict(conflict.id, &[(Part::Deleted, Side::Mine)]).unwrap();
    sync_now(&laptop, &cfg, &laptop_session);
    sync_now(&phone, &cfg, &phone_session);
    assert_eq!(live_tunes(&phone), [("Kesh".to_string(), some("A dorian"))], "restored on purpose");
}

#[test]
fn a_retried_push_after_a_lost_reply_is_not_a_conflict() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let direct = config(&stack);
    let session = sign_up(&direct, "lost");
    let db = device();
    let tune = db.borrow_mut().create_tune(&draft("Kesh", "G major")).unwrap();
    sync_now(&db, &direct, &session);
    db.borrow_mut().update_tune(tune.id, &draft("The Kesh", "G major")).unwrap();

    let proxy = common::fault_proxy::FaultProxy::start(direct.url.trim_start_matches("http://"));
    let cfg = tunebook_core::supabase::SupabaseConfig { url: proxy.url.clone(), ..direct.clone() };
    proxy.then(&[common::fault_proxy::Fault::DropReply]);
    let lost = push_now(&db, &cfg, &session);
    assert!(matches!(lost.outcome, PushOutcome::Retry { .. }));
    // The server applied it (version 2 → 3); the device still thinks its base is 2.
    let (retry, conflicts) = sync_now(&db, &cfg, &session);
    assert_eq!((retry.pushed, retry.conflicts, conflicts), (1, 0, 0), "{retry:?}");
    assert_eq!(server_value(&stack, &tune.id, "title").as_deref(), Some("The Kesh"));
}

#[test]
fn the_pull_cursor_sees_transactions_that_commit_out_of_order() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "order");
    let user = session.user.id.to_string();
    let db = device();
    let url = stack.stack().database_url.clone();
    let insert = |id: &str, title: &str| {
        format!("insert into public.tune (id, user_id, title) values ('{id}', '{user}', '{title}')")
    };
    let (early, late) = ("01950000-0000-7000-8000-000000000001", "01950000-0000-7000-8000-000000000002");
    stack.block_on(async {
        let connect = || async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            client
        };
        let (slow, fast) = (connect().await, connect().await);
        // The slow transaction starts first (its now() is earlier)...
        slow.batch_execute("begin").await.unwrap();
        slow.query_one("select now()", &[]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // ...the fast one starts later, writes, and commits first.
        fast.batch_execute(&format!("begin; {}; commit;", insert(early, "Committed first"))).await.unwrap();
        tokio::task::block_in_place(|| {
            let pages = run_sync(&db, &cfg, &session).pages;
            assert_eq!(pages.iter().map(|p| p.rows).sum::<u32>(), 1);
        });
        // The slow one writes afterwards, stamped with its earlier start time.
        slow.batch_execute(&format!("{}; commit;", insert(late, "Committed second"))).await.unwrap();
    });
    let times = stack
        .sql(&format!("select (select last_modified_at from public.tune where id = '{late}') < (select last_modified_at from public.tune where id = '{early}')"))
        .unwrap();
    assert_eq!(times, [Some("t".to_string())], "a timestamp cursor would skip the later commit");
    sync_now(&db, &cfg, &session);
    assert_eq!(
        live_tunes(&db),
        [("Committed first".to_string(), None), ("Committed second".to_string(), None)],
        "the change-number cursor sees both"
    );
}
