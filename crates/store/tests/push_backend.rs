//! The push against the real local backend (PostgreSQL + PostgREST + the auth
//! stand-in): what lands in PostgreSQL, coalescing, row level security, refused rows,
//! the backend going away and coming back, injected faults, and an expired token.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::fault_proxy::{Fault, FaultProxy};
use common::*;
use tunebook_backend::testing::TestStack;
use tunebook_core::domain::TuneDraft;
use tunebook_core::supabase::auth;
use tunebook_core::sync::PushOutcome;
use tunebook_store::native::{BlockingTransport, block_on};

fn stack() -> TestStack {
    TestStack::start(|_| {}).expect("stack starts")
}

#[test]
fn inserts_updates_and_deletes_land_in_postgres() {
    let stack = stack();
    let cfg = config(&stack);
    let session = sign_up(&cfg, "crud");
    let db = device();
    let kept = create(&db, "The Silver Spear");
    let edited = create(&db, "Cooley");
    let deleted = create(&db, "Gone Soon");
    let report = push_now(&db, &cfg, &session);
    assert_eq!((report.pushed, report.requests, report.outcome), (3, 1, PushOutcome::Complete));

    db.borrow_mut()
        .update_tune(
            edited.id,
            &TuneDraft { title: "Cooley's".into(), mode: "E dorian".into(), ..TuneDraft::default() },
        )
        .unwrap();
    db.borrow_mut().delete_tune(deleted.id).unwrap();
    assert_eq!(push_now(&db, &cfg, &session).pushed, 2);

    let user = session.user.id.to_string();
    assert_eq!(server_value(&stack, &kept.id, "title").as_deref(), Some("The Silver Spear"));
    assert_eq!(server_value(&stack, &kept.id, "user_id"), Some(user.clone()), "adopted by the account");
    assert_eq!(server_value(&stack, &edited.id, "title").as_deref(), Some("Cooley's"));
    assert_eq!(server_value(&stack, &edited.id, "mode").as_deref(), Some("E dorian"));
    assert_eq!(server_value(&stack, &edited.id, "sync_version").as_deref(), Some("2"));
    assert_eq!(server_value(&stack, &deleted.id, "deleted").as_deref(), Some("true"), "deletes are soft");
    assert_eq!(server_count(&stack, "true"), 3);

    let local = db.borrow().get_tune(edited.id).unwrap().unwrap();
    assert_eq!(
        (local.sync_version, local.user_id),
        (2, Some(session.user.id)),
        "server bookkeeping comes back"
    );
    assert_eq!(db.borrow().queue_stats().unwrap().unsynced(), 0);
}

#[test]
fn coalesced_changes_travel_once() {
    let stack = stack();
    let cfg = config(&stack);
    let session = sign_up(&cfg, "coalesce");
    let db = device();
    let tune = create(&db, "Draft 1");
    for n in 2..=5 {
        db.borrow_mut()
            .update_tune(tune.id, &TuneDraft { title: format!("Draft {n}"), ..TuneDraft::default() })
            .unwrap();
    }
    let never = create(&db, "Never sent");
    db.borrow_mut().delete_tune(never.id).unwrap();
    let report = push_now(&db, &cfg, &session);
    assert_eq!((report.pushed, report.requests), (1, 1));
    assert_eq!(server_value(&stack, &tune.id, "title").as_deref(), Some("Draft 5"));
    assert_eq!(
        server_value(&stack, &tune.id, "sync_version").as_deref(),
        Some("1"),
        "one insert, not five writes"
    );
    assert_eq!(server_value(&stack, &never.id, "title"), None, "insert then delete sends nothing");
}

#[test]
fn another_account_can_neither_read_nor_overwrite_and_its_refusal_fails_one_item() {
    let stack = stack();
    let cfg = config(&stack);
    let (ann, bob) = (sign_up(&cfg, "ann"), sign_up(&cfg, "bob"));
    let ann_db = device();
    let tune = create(&ann_db, "Ann's reel");
    push_now(&ann_db, &cfg, &ann);

    // Bob's device somehow holds a row with Ann's tune id, plus a tune of his own.
    let bob_db = device();
    let decoy = create(&bob_db, "Bob's overwrite");
    bob_db
        .borrow()
        .connection()
        .execute_batch(&format!(
            "UPDATE tune SET id = '{0}' WHERE id = '{1}'; UPDATE sync_queue SET record_id = '{0}' WHERE record_id = '{1}';",
            tune.id, decoy.id
        ))
        .unwrap();
    let own = create(&bob_db, "Bob's jig");
    let report = push_now(&bob_db, &cfg, &bob);
    assert_eq!((report.pushed, report.failed, report.outcome), (1, 1, PushOutcome::Complete));
    let failed = bob_db.borrow().failed_items().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].error.as_deref().unwrap_or_default().contains("belongs to another account"),
        "{failed:?}"
    );
    assert_eq!(server_value(&stack, &tune.id, "title").as_deref(), Some("Ann's reel"));
    assert_eq!(server_value(&stack, &own.id, "user_id"), Some(bob.user.id.to_string()));

    // And Bob cannot read Ann's tune through REST.
    let response = block_on(<BlockingTransport as tunebook_core::supabase::Transport>::send(
        &BlockingTransport::default(),
        cfg.request(
            tunebook_core::supabase::Method::Get,
            &format!("/rest/v1/tune?id=eq.{}", tune.id),
            Some(&bob.access_token),
        ),
    ))
    .unwrap();
    assert_eq!((response.status, response.body.as_str()), (200, "[]"));
}

#[test]
fn a_stopped_backend_keeps_changes_pending_until_it_returns() {
    let stack = stack();
    let cfg = config(&stack);
    let session = sign_up(&cfg, "outage");
    let db = device();
    let tune = create(&db, "Written offline");
    let stopped = stack.stop();

    for attempt in 1..=3 {
        let report = push_now(&db, &cfg, &session);
        assert!(matches!(report.outcome, PushOutcome::Retry { .. }), "{report:?}");
        let items = db.borrow().pending_items(10).unwrap();
        assert_eq!((items.len(), items[0].attempts), (1, attempt), "attempts grow, nothing is lost");
    }

    let stack = stopped.restart().expect("restart on the same ports and data");
    let report = push_now(&db, &cfg, &session);
    assert_eq!((report.pushed, report.outcome), (1, PushOutcome::Complete));
    assert_eq!(server_value(&stack, &tune.id, "title").as_deref(), Some("Written offline"));
    assert_eq!(db.borrow().queue_stats().unwrap().unsynced(), 0);
}

#[test]
fn server_errors_and_lost_replies_are_retried_without_duplicates() {
    let stack = stack();
    let direct = config(&stack);
    let session = sign_up(&direct, "faults");
    let proxy = FaultProxy::start(direct.url.trim_start_matches("http://"));
    let cfg = tunebook_core::supabase::SupabaseConfig { url: proxy.url.clone(), ..direct };
    let db = device();
    let a = create(&db, "First");
    let b = create(&db, "Second");

    proxy.then(&[Fault::ServerError]);
    let report = push_now(&db, &cfg, &session);
    assert!(matches!(report.outcome, PushOutcome::Retry { .. }), "{report:?}");
    assert_eq!(server_count(&stack, "true"), 0);

    // The server stores the rows but the reply never arrives.
    proxy.then(&[Fault::DropReply]);
    let report = push_now(&db, &cfg, &session);
    assert!(matches!(report.outcome, PushOutcome::Retry { .. }), "{report:?}");
    assert_eq!(server_count(&stack, "true"), 2, "the work was done");
    assert_eq!(db.borrow().pending_items(10).unwrap().len(), 2, "but the device cannot know");

    let report = push_now(&db, &cfg, &session);
    assert_eq!((report.pushed, report.outcome), (2, PushOutcome::Complete));
    assert_eq!(server_count(&stack, "true"), 2, "pushing again left one row each");
    assert_eq!(server_value(&stack, &a.id, "title").as_deref(), Some("First"));
    assert_eq!(server_value(&stack, &b.id, "title").as_deref(), Some("Second"));
}

#[test]
fn an_expired_token_is_refreshed_once_then_the_push_succeeds() {
    let stack = stack();
    let cfg = config(&stack);
    let mut session = sign_up(&cfg, "expiry");
    let db = device();
    let tune = create(&db, "After a nap");
    // The access token expired two minutes ago (PostgREST allows some clock skew, so a
    // token that has only just expired would still pass).
    let now = tunebook_core::platform::now_millis() / 1000;
    session.access_token = tunebook_backend::jwt::sign(
        &stack.stack().jwt_secret,
        &serde_json::json!({"sub": session.user.id, "role": "authenticated", "aud": "authenticated", "exp": now - 120}),
    );

    let report = push_now(&db, &cfg, &session);
    assert!(matches!(report.outcome, PushOutcome::Unauthorized { .. }), "{report:?}");
    assert_eq!(db.borrow().pending_items(10).unwrap().len(), 1);

    let fresh = block_on(auth::refresh(&BlockingTransport::default(), &cfg, &session.refresh_token))
        .expect("refresh");
    assert_ne!(fresh.refresh_token, session.refresh_token);
    let report = push_now(&db, &cfg, &fresh);
    assert_eq!((report.pushed, report.outcome), (1, PushOutcome::Complete));
    assert_eq!(server_value(&stack, &tune.id, "title").as_deref(), Some("After a nap"));
}

#[test]
fn a_batch_over_the_gateways_body_limit_is_split_until_it_fits() {
    // A 16 KB limit stands in for the real 1 MB one: a batch of 100 tunes with long
    // incipits is refused whole (413) and split until each part gets through.
    let stack = TestStack::start(|c| c.gateway_limits.body_limit = 16 * 1024).expect("stack");
    let cfg = config(&stack);
    let session = sign_up(&cfg, "big");
    let db = device();
    let incipit = "|:DFA dAF|GBd gfe|".repeat(50);
    for n in 0..100 {
        let draft =
            TuneDraft { title: format!("Long {n}"), incipit: incipit.clone(), ..TuneDraft::default() };
        db.borrow_mut().create_tune(&draft).unwrap();
    }
    let report = push_now(&db, &cfg, &session);
    assert_eq!(
        (report.pushed, report.failed, &report.outcome),
        (100, 0, &PushOutcome::Complete),
        "{report:?}"
    );
    assert!(report.requests > 2, "split into several requests: {report:?}");
    assert_eq!(server_count(&stack, "title like 'Long %'"), 100);
}

#[test]
fn applied_changes_are_answered_with_their_version_and_old_callers_still_get_rows() {
    use tunebook_core::supabase::{Method, Transport};
    let stack = stack();
    let cfg = config(&stack);
    let session = sign_up(&cfg, "reply");
    let db = device();
    let first = create(&db, "Short answer");
    let second = create(&db, "Whole row");
    let batch = db.borrow_mut().begin_push(10, &[]).unwrap();
    let change = |title: &str| {
        batch
            .iter()
            .find_map(|(_, r)| r.as_ref().filter(|r| r.content.fields["title"] == title))
            .unwrap()
            .push_change()
    };
    let send = |body: serde_json::Value| -> serde_json::Value {
        let request =
            cfg.request(Method::Post, "/rest/v1/rpc/push_changes", Some(&session.access_token)).json(&body);
        let response = block_on(BlockingTransport::default().send(request)).unwrap();
        assert_eq!(response.status, 200, "{}", response.body);
        serde_json::from_str(&response.body).unwrap()
    };
    // The app's call: no row in the answer, just what the client cannot know.
    let short = send(serde_json::json!({"changes": [change("Short answer")], "versions_only": true}));
    assert_eq!(
        short,
        serde_json::json!([{"table": "tune", "id": first.id.to_string(), "status": "applied",
                            "sync_version": 1, "user_id": session.user.id.to_string()}])
    );
    // A client from before `versions_only` (a cached app) still gets the stored row.
    let whole = send(serde_json::json!({"changes": [change("Whole row")]}));
    assert_eq!(whole[0]["status"], "applied");
    assert_eq!(whole[0]["row"]["title"], "Whole row");
    assert_eq!(whole[0]["row"]["id"], second.id.to_string());
    assert_eq!(whole[0]["row"]["sync_version"], 1);
    // Conflicts still carry the server's row, whichever way the call was made.
    let mut stale = change("Short answer");
    stale["title"] = "Edited elsewhere".into();
    stale["base_version"] = 0.into();
    let conflict = send(serde_json::json!({"changes": [stale], "versions_only": true}));
    assert_eq!(conflict[0]["status"], "conflict");
    assert_eq!(conflict[0]["row"]["title"], "Short answer");
}
