//! In headless Chromium, inside a dedicated worker: the database is written through the
//! real OPFS VFS, closed, reopened and read back.
#![cfg(target_arch = "wasm32")]

use tunebook_core::domain::TuneDraft;
use tunebook_core::protocol::{Request, Response, ResponseEnvelope, Storage, WorkerError};
use tunebook_store::db::{Database, ListQuery};
use tunebook_store::worker::{WorkerState, storage};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn draft(title: &str) -> TuneDraft {
    TuneDraft {
        title: title.into(),
        tune_type: "reel".into(),
        ..TuneDraft::default()
    }
}

#[wasm_bindgen_test]
async fn opfs_round_trip_survives_close_and_reopen() {
    let name = format!("roundtrip-{}.db", tunebook_core::domain::Uuid::now_v7());
    let (mut db, info) = storage::open(&name).await.expect("open");
    assert_eq!(
        info.storage,
        Storage::Opfs,
        "a dedicated worker must get OPFS"
    );
    let device = info.device_id.clone();
    let created = db.create_tune(&draft("The Maid Behind the Bar")).unwrap();
    db.import_tunes(
        &(0..100)
            .map(|i| draft(&format!("Tune {i}")))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    db.close().unwrap();

    let (db, info) = storage::open(&name).await.expect("reopen");
    assert_eq!(info.storage, Storage::Opfs);
    assert_eq!(
        info.device_id, device,
        "the device id is stored with the data"
    );
    let tune = db
        .get_tune(created.id)
        .unwrap()
        .expect("tune survives reopen");
    assert_eq!(tune, created);
    assert_eq!(db.list_tunes(&ListQuery::default()).unwrap().total, 101);
    db.close().unwrap();
}

#[wasm_bindgen_test]
async fn worker_state_answers_requests_over_the_protocol() {
    let name = format!("protocol-{}.db", tunebook_core::domain::Uuid::now_v7());
    let mut state = WorkerState::default();
    let ask = |id: u64, request: Request| {
        tunebook_core::protocol::encode(&tunebook_core::protocol::RequestEnvelope { id, request })
    };
    let reply = |text: String| serde_json::from_str::<ResponseEnvelope>(&text).unwrap();

    let before_open = reply(
        state
            .handle_text(&ask(1, Request::ListTunes(ListQuery::default())))
            .await,
    );
    assert_eq!(before_open.result, Err(WorkerError::NotOpen));

    let opened = reply(state.handle_text(&ask(2, Request::Open { name })).await);
    assert!(
        matches!(opened.result, Ok(Response::Opened(_))),
        "{opened:?}"
    );

    let saved = reply(
        state
            .handle_text(&ask(
                3,
                Request::CreateTune {
                    draft: draft("Out on the Ocean"),
                },
            ))
            .await,
    );
    assert_eq!(saved.id, 3);
    let Ok(Response::Saved(tune)) = saved.result else {
        panic!("{saved:?}")
    };

    let got = reply(
        state
            .handle_text(&ask(4, Request::GetTune { id: tune.id }))
            .await,
    );
    assert_eq!(got.result, Ok(Response::Tune(Some(tune))));

    let garbage = reply(
        state
            .handle_text("{\"id\":5,\"request\":\"Explode\"}")
            .await,
    );
    assert_eq!(garbage.id, 5);
    assert!(matches!(garbage.result, Err(WorkerError::BadMessage(_))));
}

#[wasm_bindgen_test]
async fn in_memory_database_is_independent_of_opfs() {
    // Sanity check for the fallback path's building block inside a worker.
    let mut db = Database::open_in_memory().unwrap();
    db.create_tune(&draft("Ephemeral")).unwrap();
    assert_eq!(db.list_tunes(&ListQuery::default()).unwrap().total, 1);
}
