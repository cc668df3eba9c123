//! Repertoires, notes, references and tags against the real local backend: a note
//! written under a tune another device deleted, a note whose tune the server refused,
//! the same tag and repertoire place added on two devices offline, and practice history
//! and settings crossing devices.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use tunebook_backend::testing::TestStack;
use tunebook_core::domain::library::RepertoireDraft;
use tunebook_core::merge::{Part, Side};
use tunebook_core::tables::TableId;

fn server_count(stack: &TestStack, sql: &str) -> i64 {
    stack.sql(sql).expect("sql")[0].as_deref().unwrap_or("-1").parse().unwrap_or(-1)
}

#[test]
fn a_note_on_a_tune_deleted_elsewhere_asks_restore_or_delete() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    for restore in [true, false] {
        let phone_session = sign_up(&cfg, "orphan");
        let laptop_session = sign_in(&cfg, &phone_session.user.email);
        let (phone, laptop) = (device(), device());
        let tune = create(&phone, "The Kesh");
        sync_now(&phone, &cfg, &phone_session);
        sync_now(&laptop, &cfg, &laptop_session);

        // Offline: the phone deletes the tune, the laptop writes a note on it.
        phone.borrow_mut().delete_tune(tune.id).unwrap();
        let note = laptop.borrow_mut().add_note(tune.id, "Slower in the B part").unwrap();
        sync_now(&laptop, &cfg, &laptop_session);
        let (_, conflicts) = sync_now(&phone, &cfg, &phone_session);
        assert_eq!(conflicts, 1, "the phone holds the tune deleted and receives a live note under it");
        let conflict = phone.borrow().conflicts().unwrap().remove(0);
        assert_eq!((conflict.table, conflict.record_id), (TableId::Note, note));
        assert_eq!(conflict.orphan_of(), Some((TableId::Tune, tune.id)));
        assert_eq!(conflict.parent_title.as_deref(), Some("The Kesh"));
        assert_eq!(phone.borrow().queue_stats().unwrap().unsynced(), 1, "it counts as unsynced");

        let side = if restore { Side::Mine } else { Side::Theirs };
        phone.borrow_mut().resolve_conflict(conflict.id, &[(Part::Parent("tune_id".into()), side)]).unwrap();
        for _ in 0..2 {
            sync_now(&phone, &cfg, &phone_session);
            sync_now(&laptop, &cfg, &laptop_session);
        }
        for db in [&phone, &laptop] {
            let db = db.borrow();
            assert_eq!(db.get_tune(tune.id).unwrap().is_some(), restore, "restore={restore}");
            let notes = if restore { db.notes(tune.id).unwrap().len() } else { 0 };
            assert_eq!(notes, usize::from(restore));
            assert!(db.conflicts().unwrap().is_empty());
        }
        let live_note = server_count(
            &stack,
            &format!("select count(*) from public.note where id = '{note}' and not deleted"),
        );
        assert_eq!(live_note, i64::from(restore));
    }
}

#[test]
fn a_note_waits_for_its_refused_tune_and_follows_it() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "waits");
    stack.sql("alter table public.tune add constraint no_drafts check (title <> 'Draft')").unwrap();
    let db = device();
    let tune = create(&db, "Draft");
    db.borrow_mut().add_note(tune.id, "Learnt from Jim").unwrap();
    let (push, _) = sync_now(&db, &cfg, &session);
    assert_eq!((push.failed, push.waiting, push.pushed), (1, 1, 0), "{push:?}");
    let pending = db.borrow().pending_items(10).unwrap();
    assert!(pending[0].error.as_deref().unwrap().contains("waiting for its parent"), "{pending:?}");

    // The server is fixed; the musician retries the tune; the note follows.
    stack.sql("alter table public.tune drop constraint no_drafts").unwrap();
    let failed = db.borrow().failed_items().unwrap();
    db.borrow_mut().retry_failed(failed[0].id).unwrap();
    let (push, _) = sync_now(&db, &cfg, &session);
    assert_eq!((push.pushed, push.waiting, push.failed), (2, 0, 0), "{push:?}");
    assert_eq!(server_count(&stack, "select count(*) from public.note where not deleted"), 1);
}

#[test]
fn the_same_tag_and_place_added_on_two_devices_offline_is_one_row() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let phone_session = sign_up(&cfg, "union");
    let laptop_session = sign_in(&cfg, &phone_session.user.email);
    let (phone, laptop) = (device(), device());
    let tune = create(&phone, "The Kesh");
    let rep = phone
        .borrow_mut()
        .create_repertoire(&RepertoireDraft { name: "Session".into(), ..Default::default() })
        .unwrap();
    sync_now(&phone, &cfg, &phone_session);
    sync_now(&laptop, &cfg, &laptop_session);

    phone.borrow_mut().add_tag(tune.id, "Session").unwrap();
    laptop.borrow_mut().add_tag(tune.id, "session").unwrap();
    phone.borrow_mut().add_to_repertoire(rep.id, &[tune.id]).unwrap();
    laptop.borrow_mut().add_to_repertoire(rep.id, &[tune.id]).unwrap();
    for _ in 0..2 {
        let (_, a) = sync_now(&phone, &cfg, &phone_session);
        let (_, b) = sync_now(&laptop, &cfg, &laptop_session);
        assert_eq!(a + b, 0, "facts never conflict");
    }
    assert_eq!(server_count(&stack, "select count(*) from public.tag where not deleted"), 1);
    assert_eq!(server_count(&stack, "select count(*) from public.repertoire_tune where not deleted"), 1);
    for db in [&phone, &laptop] {
        assert_eq!(db.borrow().tags(tune.id).unwrap().len(), 1);
        assert_eq!(db.borrow().get_repertoire(rep.id).unwrap().unwrap().tune_count, 1);
        assert_eq!(db.borrow().queue_stats().unwrap().unsynced(), 0);
    }
}

#[test]
fn change_numbers_stay_unique_and_ordered_across_tables_and_writers() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "numbers");
    let user = session.user.id;
    let db = device();
    let drafts: Vec<_> = (0..600)
        .map(|i| tunebook_core::domain::TuneDraft { title: format!("T{i}"), ..Default::default() })
        .collect();
    db.borrow_mut().import_tunes(&drafts).unwrap();
    let first = db.borrow().list_tunes(&Default::default()).unwrap().rows[0].id;
    db.borrow_mut().add_note(first, "A note").unwrap();
    sync_now(&db, &cfg, &session);
    // A script edits rows as the database owner (no signed-in user): the slow path.
    stack.sql("update public.tune set title = title || '!' where title like 'T1%'").unwrap();
    db.borrow_mut().add_tag(first, "session").unwrap();
    sync_now(&db, &cfg, &session);

    let numbers = format!(
        "select change_number from public.tune where user_id = '{user}'
         union all select change_number from public.note where user_id = '{user}'
         union all select change_number from public.tag where user_id = '{user}'"
    );
    let check = stack
        .sql(&format!(
            "select (count(*) = count(distinct change_number))::text || ' ' || max(change_number)::text
                    || ' ' || (select last_change from public.user_change_counter where user_id = '{user}')::text
             from ({numbers}) n"
        ))
        .unwrap()[0]
        .clone()
        .unwrap();
    let parts: Vec<&str> = check.split(' ').collect();
    assert_eq!(parts[0], "true", "every change number is used once: {check}");
    assert_eq!(parts[1], parts[2], "the counter is at the last number handed out: {check}");
    // A new device pulls everything, the script's edits included.
    let fresh = device();
    sync_now(&fresh, &cfg, &sign_in(&cfg, &session.user.email));
    let listed = fresh.borrow().list_tunes(&Default::default()).unwrap();
    assert_eq!(listed.total, 600);
    let bangs = fresh
        .borrow()
        .list_tunes(&tunebook_core::list::ListQuery { filter: "!".into(), ..Default::default() })
        .unwrap();
    assert_eq!(bangs.matched, 111, "T1, T10–T19, T100–T199");
    assert_eq!(fresh.borrow().tags(first).unwrap(), ["session"]);
}

#[test]
fn practice_history_and_settings_reach_the_other_device_and_history_is_insert_only() {
    use tunebook_core::practice::{Rating, SettingsDraft};
    let stack = TestStack::start(|_| {}).expect("stack");
    let cfg = config(&stack);
    let phone_session = sign_up(&cfg, "practice");
    let laptop_session = sign_in(&cfg, &phone_session.user.email);
    let (phone, laptop) = (device(), device());
    let tune = create(&phone, "The Kesh");
    let repertoire = {
        let mut db = phone.borrow_mut();
        let r = db
            .create_repertoire(&RepertoireDraft { name: "Fiddle".into(), ..Default::default() })
            .unwrap()
            .id;
        db.add_to_repertoire(r, &[tune.id]).unwrap();
        let draft = SettingsDraft { new_per_day: "2".into(), ..db.practice_settings(r).unwrap().to_draft() };
        db.set_practice_settings(r, &draft).unwrap();
        r
    };
    let rated = phone.borrow_mut().rate_tune(repertoire, tune.id, Rating::Good).unwrap();
    sync_now(&phone, &cfg, &phone_session);
    sync_now(&laptop, &cfg, &laptop_session);

    let laptop_view = laptop.borrow().tune_practice(tune.id).unwrap();
    assert_eq!(laptop_view[0].due, Some(rated.due), "the laptop derives the same due date");
    assert_eq!(laptop_view[0].history.len(), 1);
    assert_eq!(laptop.borrow().practice_settings(repertoire).unwrap().new_per_day, 2);

    // The laptop takes the rating back; the phone follows, and history keeps both records.
    laptop.borrow_mut().undo_rating(rated.record_id).unwrap();
    sync_now(&laptop, &cfg, &laptop_session);
    sync_now(&phone, &cfg, &phone_session);
    assert_eq!(phone.borrow().tune_practice(tune.id).unwrap()[0].due, None, "new again");
    assert_eq!(server_count(&stack, "select count(*) from public.practice_record"), 2);
    let can_update = stack
        .sql("select has_table_privilege('authenticated', 'public.practice_record', 'UPDATE')::text")
        .unwrap();
    assert_eq!(can_update[0].as_deref(), Some("false"), "practice history is insert-only");
}
