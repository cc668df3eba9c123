//! Upgrading the local database from every released schema version, starting from frozen
//! dumps (`tests/fixtures/schema-vN.sql`) rather than from today's migration code, so a
//! change to an old migration cannot hide a broken upgrade.

#![cfg(not(target_arch = "wasm32"))]

use tunebook_core::domain::TuneDraft;
use tunebook_core::merge::Part;
use tunebook_store::db::{Connection, Database, SCHEMA_VERSION};

const FIXTURES: [(i64, &str); 8] = [
    (1, include_str!("fixtures/schema-v1.sql")),
    (2, include_str!("fixtures/schema-v2.sql")),
    (3, include_str!("fixtures/schema-v3.sql")),
    (4, include_str!("fixtures/schema-v4.sql")),
    (5, include_str!("fixtures/schema-v5.sql")),
    (6, include_str!("fixtures/schema-v6.sql")),
    (7, include_str!("fixtures/schema-v7.sql")),
    (8, include_str!("fixtures/schema-v8.sql")),
];

fn version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

#[test]
fn every_released_schema_upgrades_keeping_its_tunes() {
    assert_eq!(
        FIXTURES.last().map(|f| f.0),
        Some(SCHEMA_VERSION),
        "add a fixture for each new schema version"
    );
    for (released, dump) in FIXTURES {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(dump).unwrap();
        assert_eq!(version(&conn), released);
        let mut db = Database::open(conn).unwrap_or_else(|e| panic!("upgrading v{released}: {e}"));
        assert_eq!(version(db.connection()), SCHEMA_VERSION);

        let kesh = db.get_tune("01901234-5678-7fff-bfff-ffffffffff01".parse().unwrap()).unwrap();
        let kesh = kesh.unwrap_or_else(|| panic!("v{released}: the tune is kept"));
        assert_eq!(
            (kesh.fields.title.as_str(), kesh.fields.mode.as_deref(), kesh.fields.release_year),
            ("The Kesh", Some("G major"), Some(1998)),
            "v{released}"
        );
        let deleted = db.get_tune("01901234-5678-7fff-bfff-ffffffffff02".parse().unwrap()).unwrap();
        assert!(deleted.is_none(), "v{released}: the deleted tune stays deleted");
        if released == 1 {
            // Tunes from before the outbox are queued by the upgrade, so they reach the server.
            assert_eq!(db.queue_stats().unwrap().pending, 2, "v1: both queued");
        }
        if released >= 7 {
            assert!(
                kesh.fields.abc.as_deref().is_some_and(|a| a.contains("K:G")),
                "v{released}: the ABC is kept"
            );
        }
        if released >= 6 {
            let practice = db.tune_practice("01901234-5678-7fff-bfff-ffffffffff01".parse().unwrap()).unwrap();
            assert_eq!(practice[0].history.len(), 1, "v{released}: practice history is kept");
        }
        // The upgraded database is fully usable.
        let new =
            db.create_tune(&TuneDraft { title: "After the upgrade".into(), ..Default::default() }).unwrap();
        assert_eq!(db.get_tune(new.id).unwrap().map(|t| t.fields.title), Some("After the upgrade".into()));
        assert!(db.quarantined().unwrap().is_empty());
    }
}

/// Version 5 keyed tune contents by column name (`type`, not `tune_type`) and moved base
/// versions into `sync_base`: a conflict and a base stored by version 4 read the same after.
#[test]
fn conflicts_and_merge_bases_from_version_4_survive_the_move_to_every_table() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(FIXTURES[3].1).unwrap();
    let content = |title: &str, kind: &str| {
        format!(
            r#"{{"fields":{{"title":"{title}","tune_type":"{kind}","structure":null,"mode":"G major","genre":null,"composer":null,"artist":null,"release_year":1998,"incipit":null}},"deleted":false}}"#
        )
    };
    conn.execute(
        "INSERT INTO tune_base (id, sync_version, content) VALUES ('01901234-5678-7fff-bfff-ffffffffff01', 1, ?1)",
        [content("The Kesh", "jig")],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO sync_conflict (table_name, record_id, base, mine, theirs, theirs_version, parts, detected_at)
         VALUES ('tune', '01901234-5678-7fff-bfff-ffffffffff01', ?1, ?2, ?3, 2, '[{\"field\":\"type\"}]',
                 '2026-11-24T10:00:00.000Z')",
        [content("The Kesh", "jig"), content("The Kesh", "reel"), content("The Kesh", "slide")],
    )
    .unwrap();
    conn.execute("INSERT INTO sync_cursor (table_name, change_number) VALUES ('tune', 41)", []).unwrap();
    let db = Database::open(conn).unwrap();
    let conflict = db.conflicts().unwrap().remove(0);
    assert_eq!(conflict.parts, [Part::Field("type".into())]);
    assert_eq!((conflict.mine.text("type"), conflict.theirs.text("type")), ("reel".into(), "slide".into()));
    assert_eq!(conflict.base.as_ref().map(|b| b.text("type")), Some("jig".into()));
    assert_eq!(conflict.merge().conflicts, [Part::Field("type".into())], "the merge reads the moved base");
    assert_eq!(db.pull_cursor().unwrap(), 41, "one cursor for every table, where the tune pull was");
    let base: String = db
        .connection()
        .query_row("SELECT content FROM sync_base WHERE table_name = 'tune'", [], |r| r.get(0))
        .unwrap();
    assert!(base.contains(r#""type":"jig""#) && !base.contains("tune_type"), "{base}");
}
