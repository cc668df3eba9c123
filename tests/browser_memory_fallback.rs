//! In headless Chromium on the main thread, where OPFS sync access handles do not
//! exist: opening falls back to an in-memory database and says so, rather than
//! pretending the data is saved.
#![cfg(target_arch = "wasm32")]

use tunebook_core::domain::TuneDraft;
use tunebook_core::protocol::Storage;
use tunebook_store::worker::storage;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn without_opfs_the_database_is_in_memory_and_says_why() {
    let (mut db, info) = storage::open("fallback.db").await.expect("open");
    let Storage::Memory { reason } = info.storage else {
        panic!("the main thread has no OPFS sync access handles, yet storage was {:?}", info.storage)
    };
    assert!(reason.contains("dedicated worker"), "reason: {reason}");
    // It still works, in memory.
    let tune = db.create_tune(&TuneDraft { title: "Still usable".into(), ..TuneDraft::default() }).unwrap();
    assert_eq!(db.get_tune(tune.id).unwrap().map(|t| t.fields.title), Some("Still usable".into()));
}
