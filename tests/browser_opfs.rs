//! In headless Chromium, inside a dedicated worker: the database is written through the
//! real OPFS VFS, closed, reopened and read back.
#![cfg(target_arch = "wasm32")]

use tunebook_core::domain::TuneDraft;
use tunebook_core::protocol::{Request, Response, ResponseEnvelope, Storage, WorkerError};
use tunebook_store::db::ListQuery;
use tunebook_store::worker::{Reply, WorkerState, storage};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn draft(title: &str) -> TuneDraft {
    TuneDraft { title: title.into(), tune_type: "reel".into(), ..TuneDraft::default() }
}

#[wasm_bindgen_test]
async fn opfs_round_trip_survives_close_and_reopen() {
    let name = format!("roundtrip-{}.db", tunebook_core::domain::Uuid::now_v7());
    let (mut db, info) = storage::open(&name).await.expect("open");
    assert_eq!(info.storage, Storage::Opfs, "a dedicated worker must get OPFS");
    let device = info.device_id.clone();
    let created = db.create_tune(&draft("The Maid Behind the Bar")).unwrap();
    db.import_tunes(&(0..100).map(|i| draft(&format!("Tune {i}"))).collect::<Vec<_>>()).unwrap();
    db.close().unwrap();

    let (db, info) = storage::open(&name).await.expect("reopen");
    assert_eq!(info.storage, Storage::Opfs);
    assert_eq!(info.device_id, device, "the device id is stored with the data");
    let tune = db.get_tune(created.id).unwrap().expect("tune survives reopen");
    assert_eq!(tune, created);
    assert_eq!(db.list_tunes(&ListQuery::default()).unwrap().total, 101);
    db.close().unwrap();
}

/// Sends one request to the worker state and waits for its answer, however it comes.
async fn ask(state: &mut WorkerState, id: u64, request: Request) -> ResponseEnvelope {
    let text =
        tunebook_core::protocol::encode(&tunebook_core::protocol::RequestEnvelope { id, request, key: None });
    let reply = match state.handle_text(&text).await {
        Reply::Now(text) => text,
        Reply::Later(task) => task.await,
    };
    serde_json::from_str(&reply).unwrap()
}

#[wasm_bindgen_test]
async fn worker_state_answers_requests_over_the_protocol() {
    let name = format!("protocol-{}.db", tunebook_core::domain::Uuid::now_v7());
    let mut state = WorkerState::default();

    let before_open = ask(&mut state, 1, Request::ListTunes(ListQuery::default())).await;
    assert_eq!(before_open.result, Err(WorkerError::NotOpen));

    let opened = ask(&mut state, 2, Request::Open { name, device_id: None }).await;
    assert!(matches!(opened.result, Ok(Response::Opened(_))), "{opened:?}");

    let saved = ask(&mut state, 3, Request::CreateTune { draft: draft("Out on the Ocean") }).await;
    assert_eq!(saved.id, 3);
    let Ok(Response::Saved(tune)) = saved.result else { panic!("{saved:?}") };

    let got = ask(&mut state, 4, Request::GetTune { id: tune.id }).await;
    assert_eq!(got.result, Ok(Response::Tune(Some(tune))));

    let Reply::Now(garbage) = state.handle_text("{\"id\":5,\"request\":\"Explode\"}").await else {
        panic!("a bad message is answered at once")
    };
    let garbage: ResponseEnvelope = serde_json::from_str(&garbage).unwrap();
    assert_eq!(garbage.id, 5);
    assert!(matches!(garbage.result, Err(WorkerError::BadMessage(_))));
}

#[wasm_bindgen_test]
async fn signing_in_adopts_signed_out_tunes_and_signing_out_deletes_the_files() {
    let run = tunebook_core::domain::Uuid::now_v7();
    let (signed_out, account) = (format!("out-{run}.db"), format!("account-{run}.db"));
    let mut state = WorkerState::default();
    let Ok(Response::Opened(first)) =
        ask(&mut state, 1, Request::Open { name: signed_out.clone(), device_id: None }).await.result
    else {
        panic!("open")
    };
    for (i, title) in ["The Kesh", "Cooley's"].into_iter().enumerate() {
        ask(&mut state, 10 + i as u64, Request::CreateTune { draft: draft(title) }).await;
    }

    // Sign in: the account's database opens (same device id), then adopts.
    let request = Request::Open { name: account.clone(), device_id: Some(first.device_id.clone()) };
    let Ok(Response::Opened(second)) = ask(&mut state, 2, request).await.result else {
        panic!("open account")
    };
    assert_eq!(second.device_id, first.device_id);
    let adopted = ask(&mut state, 3, Request::Adopt { from: signed_out.clone() }).await;
    assert_eq!(adopted.result, Ok(Response::Adopted { tunes: 2 }));
    assert!(!state.files().contains(&signed_out), "the signed-out database is gone: {:?}", state.files());
    let Ok(Response::Stats(stats)) = ask(&mut state, 4, Request::QueueStats).await.result else { panic!() };
    assert_eq!(stats.pending, 2, "their changes will be pushed to the account");

    // Sign out: the account's database is closed and its OPFS files deleted.
    assert!(state.files().contains(&account));
    assert_eq!(
        ask(&mut state, 5, Request::DeleteDatabase { name: account.clone() }).await.result,
        Ok(Response::Done)
    );
    assert!(!state.files().iter().any(|f| f.starts_with(&account)), "files left: {:?}", state.files());
    assert_eq!(ask(&mut state, 6, Request::QueueStats).await.result, Err(WorkerError::NotOpen));
    let reopened = ask(&mut state, 7, Request::Open { name: account, device_id: None }).await;
    assert!(matches!(reopened.result, Ok(Response::Opened(_))));
    let Ok(Response::Page(page)) = ask(&mut state, 8, Request::ListTunes(ListQuery::default())).await.result
    else {
        panic!()
    };
    assert_eq!(page.total, 0, "a fresh, empty database");
}
