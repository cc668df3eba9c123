//! A row of any synced table as the sync engine handles it: the musician's content
//! (see [`crate::merge::Content`]) plus the bookkeeping every table shares, and the JSON
//! a push sends and a pull reads. Domain types convert to and from it at the edge
//! (see the `From<&Tune>` impl), so the engine itself never names a table's columns.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::{Timestamp, Tune, TuneFields, Uuid};
use crate::merge::Content;
use crate::tables::{Kind, TableId};

/// A row of a synced table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub table: TableId,
    pub id: Uuid,
    pub content: Content,
    /// The owning account; `None` while the musician is signed out.
    pub user_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub last_modified_at: Timestamp,
    /// The server version this row is (or, with a local change, started from).
    pub sync_version: i64,
    /// The browser profile that made the last change.
    pub device_id: String,
}

/// A row as the server stores it, with the server's change number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRecord {
    pub record: Record,
    pub change_number: i64,
}

impl Record {
    /// The change a push sends: table, id, the musician's columns, bookkeeping, and the
    /// `base_version` the edit started from. `user_id` is absent on purpose: the server
    /// fills it from the token on insert (how signed-out rows are adopted by the account).
    pub fn push_change(&self) -> Value {
        let mut change = Map::new();
        change.insert("table".into(), Value::from(self.table.name()));
        change.insert("id".into(), Value::from(self.id.to_string()));
        for (column, value) in &self.content.fields {
            change.insert(column.clone(), value.clone());
        }
        change.insert("created_at".into(), Value::from(self.created_at.to_string()));
        change.insert("last_modified_at".into(), Value::from(self.last_modified_at.to_string()));
        change.insert("device_id".into(), Value::from(self.device_id.clone()));
        change.insert("deleted".into(), Value::from(self.content.deleted));
        change.insert("base_version".into(), Value::from(self.sync_version));
        Value::Object(change)
    }

    /// Reads a row of `table` as the server returns it. Every column must have its
    /// declared type; a required one must be present.
    pub fn from_server(table: TableId, row: &Value) -> Result<ServerRecord, String> {
        let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_string);
        let parse_ts = |key: &str| -> Result<Timestamp, String> {
            text(key).ok_or(format!("missing {key}"))?.parse().map_err(|e| format!("{key}: {e}"))
        };
        let id: Uuid = text("id").ok_or("missing id")?.parse().map_err(|e| format!("id: {e}"))?;
        let mut fields = BTreeMap::new();
        for column in table.spec().columns {
            let value = row.get(column.name).cloned().unwrap_or(Value::Null);
            let fits = match (&value, column.kind) {
                (Value::Null, _) => !column.required,
                (Value::String(s), Kind::Text) => !(column.required && s.is_empty()),
                (Value::Number(n), Kind::Int) => n.is_i64(),
                (Value::Number(_), Kind::Real) => true,
                _ => false,
            };
            if !fits {
                return Err(format!("{}: unreadable value {value}", column.name));
            }
            fields.insert(column.name.to_string(), value);
        }
        let deleted = row.get("deleted").and_then(Value::as_bool).unwrap_or(false);
        Ok(ServerRecord {
            record: Record {
                table,
                id,
                content: Content::new(table, fields, deleted),
                user_id: text("user_id").and_then(|u| u.parse().ok()),
                created_at: parse_ts("created_at")?,
                last_modified_at: parse_ts("last_modified_at")?,
                sync_version: row
                    .get("sync_version")
                    .and_then(Value::as_i64)
                    .ok_or("missing sync_version")?,
                device_id: text("device_id").unwrap_or_default(),
            },
            change_number: row.get("change_number").and_then(Value::as_i64).unwrap_or(0),
        })
    }

    /// Whether the row is deleted (a tombstone kept so the delete syncs).
    pub fn deleted(&self) -> bool {
        self.content.deleted
    }

    /// The id in a parent column (`tune_id`), if it holds one.
    pub fn parent_id(&self, column: &str) -> Option<Uuid> {
        self.content.get(column).as_str().and_then(|s| s.parse().ok())
    }
}

/// A tune's fields as the columns [`crate::tables`] declares for it.
pub fn tune_content(fields: &TuneFields, deleted: bool) -> Content {
    let text = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
    let fields: BTreeMap<String, Value> = [
        ("title", Value::from(fields.title.clone())),
        ("type", text(&fields.tune_type)),
        ("structure", text(&fields.structure)),
        ("mode", text(&fields.mode)),
        ("genre", text(&fields.genre)),
        ("composer", text(&fields.composer)),
        ("artist", text(&fields.artist)),
        ("release_year", fields.release_year.map(Value::from).unwrap_or(Value::Null)),
        ("incipit", text(&fields.incipit)),
        ("abc", text(&fields.abc)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Content::new(TableId::Tune, fields, deleted)
}

/// The tune fields in a tune's content.
pub fn tune_fields(content: &Content) -> TuneFields {
    let text = |column: &str| Some(content.text(column)).filter(|s| !s.is_empty());
    TuneFields {
        title: content.text("title"),
        tune_type: text("type"),
        structure: text("structure"),
        mode: text("mode"),
        genre: text("genre"),
        composer: text("composer"),
        artist: text("artist"),
        release_year: content.get("release_year").as_u64().and_then(|y| u16::try_from(y).ok()),
        incipit: text("incipit"),
        abc: text("abc"),
    }
}

impl From<&Tune> for Record {
    fn from(t: &Tune) -> Self {
        Record {
            table: TableId::Tune,
            id: t.id,
            content: tune_content(&t.fields, t.deleted),
            user_id: t.user_id,
            created_at: t.created_at,
            last_modified_at: t.last_modified_at,
            sync_version: t.sync_version,
            device_id: t.device_id.clone(),
        }
    }
}

impl From<&Record> for Tune {
    fn from(r: &Record) -> Self {
        Tune {
            id: r.id,
            fields: tune_fields(&r.content),
            user_id: r.user_id,
            created_at: r.created_at,
            last_modified_at: r.last_modified_at,
            sync_version: r.sync_version,
            device_id: r.device_id.clone(),
            deleted: r.content.deleted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tune() -> Tune {
        Tune {
            id: Uuid::now_v7(),
            fields: TuneFields {
                title: "The Kesh".into(),
                tune_type: Some("jig".into()),
                release_year: Some(1990),
                ..TuneFields::default()
            },
            user_id: None,
            created_at: Timestamp(1_000),
            last_modified_at: Timestamp(2_000),
            sync_version: 3,
            device_id: "d1".into(),
            deleted: false,
        }
    }

    #[test]
    fn a_tune_round_trips_through_its_record_and_the_wire() {
        let t = tune();
        let record = Record::from(&t);
        assert_eq!(Tune::from(&record), t);
        let change = record.push_change();
        assert_eq!(change["table"], "tune");
        assert_eq!((change["type"].clone(), change["release_year"].clone()), (json!("jig"), json!(1990)));
        assert_eq!(change["base_version"], 3);
        assert!(change.get("user_id").is_none(), "the server takes the owner from the token");
        let mut row = change.clone();
        row["sync_version"] = json!(3);
        row["change_number"] = json!(42);
        let back = Record::from_server(TableId::Tune, &row).unwrap();
        assert_eq!((back.record, back.change_number), (record, 42));
    }

    #[test]
    fn rows_with_values_of_the_wrong_type_are_unreadable() {
        let mut row = Record::from(&tune()).push_change();
        row["sync_version"] = json!(1);
        let cases = [
            ("title", json!(null), "title"),
            ("title", json!(""), "title"),
            ("release_year", json!("1990"), "release_year"),
            ("release_year", json!(1.5), "release_year"),
            ("created_at", json!("infinity"), "created_at"),
            ("id", json!("nope"), "id"),
        ];
        for (key, value, expect) in cases {
            let mut bad = row.clone();
            bad[key] = value;
            let err = Record::from_server(TableId::Tune, &bad).unwrap_err();
            assert!(err.starts_with(expect), "{key}: {err}");
        }
        let mut extra = row.clone();
        extra["some_new_column"] = json!("ignored");
        assert!(Record::from_server(TableId::Tune, &extra).is_ok(), "new server columns are ignored");
    }
}
