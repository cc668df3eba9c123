//! In headless Chromium on the main thread, where OPFS sync access handles do not
//! exist: opening falls back to an in-memory database and says so, rather than
//! pretending the data is saved. Also where SQLite itself is tested as the browser
//! builds it: released schemas upgrade under its compile-time options.
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

/// Every released local schema (the frozen dumps the native upgrade test uses) upgrades
/// under the browser's SQLite build, with its compile-time options.
#[wasm_bindgen_test]
fn released_schemas_upgrade_under_the_wasm_sqlite_build() {
    use tunebook_store::db::{Connection, Database, SCHEMA_VERSION};
    let dumps = [
        include_str!("../crates/store/tests/fixtures/schema-v1.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v2.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v3.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v4.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v5.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v6.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v7.sql"),
        include_str!("../crates/store/tests/fixtures/schema-v8.sql"),
    ];
    assert_eq!(dumps.len() as i64, SCHEMA_VERSION, "a dump per released schema");
    for (i, dump) in dumps.iter().enumerate() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(dump).unwrap();
        let mut db = Database::open(conn).unwrap_or_else(|e| panic!("upgrading v{}: {e}", i + 1));
        let kept = db.get_tune("01901234-5678-7fff-bfff-ffffffffff01".parse().unwrap()).unwrap();
        assert_eq!(kept.map(|t| t.fields.title), Some("The Kesh".into()), "v{}", i + 1);
        let new = db.create_tune(&TuneDraft { title: "After".into(), ..TuneDraft::default() }).unwrap();
        assert!(db.get_tune(new.id).unwrap().is_some());
    }
}
