//! "Export my data": every synced row on this device, deleted ones included, as one JSON
//! document the musician keeps — `{"format": "tunebook-export", "version": 2,
//! "exported_at", "tunes": […], "repertoires": […], "repertoire_tunes": […],
//! "notes": […], "references": […], "tags": […]}`. Tunes keep version 1's shape.

use serde_json::{Map, Value};
use tunebook_core::domain::Tune;
use tunebook_core::record::Record;
use tunebook_core::tables::TableId;

use super::records::all;
use super::{Database, DbError};

/// A row as exported: its id, columns and bookkeeping (no sync internals).
fn row_json(record: &Record) -> Value {
    let mut row = Map::new();
    row.insert("id".into(), Value::from(record.id.to_string()));
    for (column, value) in &record.content.fields {
        row.insert(column.clone(), value.clone());
    }
    row.insert("created_at".into(), Value::from(record.created_at.to_string()));
    row.insert("last_modified_at".into(), Value::from(record.last_modified_at.to_string()));
    row.insert("deleted".into(), Value::from(record.content.deleted));
    Value::Object(row)
}

/// The document's key for a table's rows.
fn key(table: TableId) -> &'static str {
    match table {
        TableId::Tune => "tunes",
        TableId::Repertoire => "repertoires",
        TableId::RepertoireTune => "repertoire_tunes",
        TableId::Note => "notes",
        TableId::Reference => "references",
        TableId::Tag => "tags",
        TableId::PracticeRecord => "practice_records",
    }
}

impl Database {
    /// The export document (see the module documentation), oldest rows first.
    pub fn export_json(&self) -> Result<String, DbError> {
        let mut doc = Map::new();
        doc.insert("format".into(), Value::from("tunebook-export"));
        doc.insert("version".into(), Value::from(2));
        doc.insert("exported_at".into(), Value::from(self.now().to_string()));
        for table in TableId::ALL {
            let rows = all(&self.conn, table)?;
            let rows: Vec<Value> = match table {
                // Tunes as version 1 wrote them, so older readers still read them.
                TableId::Tune => {
                    rows.iter().map(|r| serde_json::to_value(Tune::from(r)).unwrap_or(Value::Null)).collect()
                }
                _ => rows.iter().map(row_json).collect(),
            };
            doc.insert(key(table).into(), Value::Array(rows));
        }
        Ok(Value::Object(doc).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunebook_core::domain::{TuneDraft, Uuid};

    #[test]
    fn export_holds_every_row_with_its_state() {
        let mut db = Database::open_in_memory().unwrap();
        let kept = db.create_tune(&TuneDraft { title: "The Kesh".into(), ..Default::default() }).unwrap();
        let gone = db.create_tune(&TuneDraft { title: "Gone".into(), ..Default::default() }).unwrap();
        db.add_note(kept.id, "Slower in the B part").unwrap();
        db.add_tag(kept.id, "session").unwrap();
        db.add_note(gone.id, "Deleted with its tune").unwrap();
        db.delete_tune(gone.id).unwrap();
        let doc: Value = serde_json::from_str(&db.export_json().unwrap()).unwrap();
        assert_eq!((doc["format"].as_str(), doc["version"].as_i64()), (Some("tunebook-export"), Some(2)));
        let tunes = doc["tunes"].as_array().unwrap();
        assert_eq!(tunes.len(), 2);
        let by_id = |id: Uuid| tunes.iter().find(|t| t["id"] == id.to_string()).unwrap();
        assert_eq!(
            (by_id(kept.id)["title"].as_str(), by_id(kept.id)["deleted"].as_bool()),
            (Some("The Kesh"), Some(false))
        );
        assert_eq!(by_id(gone.id)["deleted"], true);
        let back: Tune = serde_json::from_value(by_id(kept.id).clone()).unwrap();
        assert_eq!(back, kept, "an exported tune reads back as the same tune");
        let notes = doc["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 2);
        assert!(notes.iter().any(|n| n["body"] == "Slower in the B part" && n["deleted"] == false));
        assert!(notes.iter().any(|n| n["body"] == "Deleted with its tune" && n["deleted"] == true));
        assert_eq!(doc["tags"][0]["name"], "session");
        for key in ["repertoires", "repertoire_tunes", "references"] {
            assert_eq!(doc[key], Value::Array(vec![]), "{key}");
        }
    }
}
