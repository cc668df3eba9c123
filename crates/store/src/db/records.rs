//! Rows of any synced table, read and written through the table's declaration
//! ([`tunebook_core::tables`]): the sync engine's only way into the data tables. The
//! statements are built from the declared column names (never from input), once per
//! table, and prepared once through SQLite's statement cache.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde_json::Value;
use tunebook_core::domain::{Timestamp, Uuid};
use tunebook_core::merge::Content;
use tunebook_core::record::Record;
use tunebook_core::tables::{Kind, MergePolicy, TableId};

use super::DbError;

/// The bookkeeping columns every synced table has, after the musician's columns.
const META: &str = "user_id, created_at, last_modified_at, sync_version, device_id, deleted";

/// One table's statements, built from its declaration the first time they are needed:
/// reads and writes run once per pulled or pushed row, so the text is not rebuilt each time.
struct TableSql {
    /// `id, <the musician's columns>, <bookkeeping>`.
    all_columns: String,
    /// `<column> = excluded.<column>` for every column but the id: an upsert's update.
    take_excluded: String,
    /// `SELECT <all columns> FROM <table>`, for [`record_from_row`].
    select: String,
    select_by_id: String,
    upsert: String,
    write_content: String,
}

impl TableSql {
    fn build(table: TableId) -> TableSql {
        let columns: Vec<&str> = table.spec().columns.iter().map(|c| c.name).collect();
        let n = columns.len();
        let all_columns = format!("id, {}, {META}", columns.join(", "));
        let select = format!("SELECT {all_columns} FROM {}", table.name());
        let marks: Vec<String> = (1..=n + 7).map(|i| format!("?{i}")).collect();
        let updates: Vec<String> =
            columns.iter().copied().chain(META.split(", ")).map(|c| format!("{c} = excluded.{c}")).collect();
        let take_excluded = updates.join(", ");
        let upsert = format!(
            "INSERT INTO {} ({all_columns}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {take_excluded}",
            table.name(),
            marks.join(", "),
        );
        let sets: Vec<String> =
            columns.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
        let write_content = format!(
            "UPDATE {} SET {}, deleted = ?{}, sync_version = ?{}, user_id = ?{} WHERE id = ?1",
            table.name(),
            sets.join(", "),
            n + 2,
            n + 3,
            n + 4
        );
        TableSql {
            select_by_id: format!("{select} WHERE id = ?1"),
            all_columns,
            take_excluded,
            select,
            upsert,
            write_content,
        }
    }
}

fn sql(table: TableId) -> &'static TableSql {
    static CACHE: [OnceLock<TableSql>; TableId::ALL.len()] = [const { OnceLock::new() }; TableId::ALL.len()];
    CACHE[table.rank()].get_or_init(|| TableSql::build(table))
}

/// Every column of a synced table: `id, <the musician's columns>, <bookkeeping>`.
pub(super) fn all_columns(table: TableId) -> &'static str {
    &sql(table).all_columns
}

/// `<column> = excluded.<column>` for every column but the id (an upsert's update).
pub(super) fn take_excluded(table: TableId) -> &'static str {
    &sql(table).take_excluded
}

/// Reads a text column through `FromStr`, reporting a damaged value as a conversion error.
pub(super) fn parse_col<T: std::str::FromStr>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(idx)?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// Every row of a table, deleted ones included, oldest first.
pub(super) fn all(conn: &Connection, table: TableId) -> Result<Vec<Record>, DbError> {
    let mut stmt = conn.prepare_cached(&format!("{} ORDER BY created_at, id", sql(table).select))?;
    let rows = stmt.query_map([], |r| record_from_row(table, r))?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Reads a row selected with [`TableSql::select`].
pub(super) fn record_from_row(table: TableId, row: &Row<'_>) -> rusqlite::Result<Record> {
    let columns = table.spec().columns;
    let mut fields = BTreeMap::new();
    for (i, column) in columns.iter().enumerate() {
        let value = match column.kind {
            Kind::Text => row.get::<_, Option<String>>(i + 1)?.map(Value::from),
            Kind::Int => row.get::<_, Option<i64>>(i + 1)?.map(Value::from),
            Kind::Real => row.get::<_, Option<f64>>(i + 1)?.map(Value::from),
        };
        fields.insert(column.name.to_string(), value.unwrap_or(Value::Null));
    }
    let m = columns.len() + 1;
    Ok(Record {
        table,
        id: parse_col(row, 0)?,
        user_id: row.get::<_, Option<String>>(m)?.and_then(|u| u.parse().ok()),
        created_at: parse_col(row, m + 1)?,
        last_modified_at: parse_col(row, m + 2)?,
        sync_version: row.get(m + 3)?,
        device_id: row.get(m + 4)?,
        content: Content::new(table, fields, row.get(m + 5)?),
    })
}

/// A row by id, deleted or not.
pub(super) fn read(conn: &Connection, table: TableId, id: Uuid) -> Result<Option<Record>, DbError> {
    Ok(conn
        .prepare_cached(&sql(table).select_by_id)?
        .query_row([id.to_string()], |r| record_from_row(table, r))
        .optional()?)
}

/// A JSON column value as SQLite stores it.
fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => n.as_f64().map(SqlValue::Real).unwrap_or(SqlValue::Null),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

/// Inserts or replaces a whole row (its children are untouched: no DELETE happens).
pub(super) fn upsert(conn: &Connection, record: &Record) -> Result<(), DbError> {
    let table = record.table;
    let mut values = vec![SqlValue::Text(record.id.to_string())];
    values.extend(table.spec().columns.iter().map(|c| sql_value(record.content.get(c.name))));
    values.extend([
        record.user_id.map(|u| SqlValue::Text(u.to_string())).unwrap_or(SqlValue::Null),
        SqlValue::Text(record.created_at.to_string()),
        SqlValue::Text(record.last_modified_at.to_string()),
        SqlValue::Integer(record.sync_version),
        SqlValue::Text(record.device_id.clone()),
        SqlValue::Integer(i64::from(record.content.deleted)),
    ]);
    conn.prepare_cached(&sql(table).upsert)?.execute(params_from_iter(values))?;
    Ok(())
}

/// Writes merged content onto a local row, with the server version it now sits on and
/// the owner the server gave it. When and where it was last changed stay as they are.
pub(super) fn write_content(
    conn: &Connection,
    table: TableId,
    id: Uuid,
    content: &Content,
    sync_version: i64,
    user_id: Option<Uuid>,
) -> Result<(), DbError> {
    let columns = table.spec().columns;
    let mut values = vec![SqlValue::Text(id.to_string())];
    values.extend(columns.iter().map(|c| sql_value(content.get(c.name))));
    values.extend([
        SqlValue::Integer(i64::from(content.deleted)),
        SqlValue::Integer(sync_version),
        user_id.map(|u| SqlValue::Text(u.to_string())).unwrap_or(SqlValue::Null),
    ]);
    conn.prepare_cached(&sql(table).write_content)?.execute(params_from_iter(values))?;
    Ok(())
}

/// Takes the server's bookkeeping (version, owner) into a local row after a push.
pub(super) fn set_server_meta(
    conn: &Connection,
    table: TableId,
    id: Uuid,
    sync_version: i64,
    user_id: Option<Uuid>,
) -> Result<(), DbError> {
    conn.prepare_cached(&format!(
        "UPDATE {} SET sync_version = ?2, user_id = ?3 WHERE id = ?1",
        table.name()
    ))?
    .execute(rusqlite::params![id.to_string(), sync_version, user_id.map(|u| u.to_string())])?;
    Ok(())
}

/// Marks a live row deleted, stamped with when and where. Returns whether it was live.
pub(super) fn soft_delete(
    conn: &Connection,
    table: TableId,
    id: Uuid,
    now: Timestamp,
    device_id: &str,
) -> Result<bool, DbError> {
    let changed = conn
        .prepare_cached(&format!(
            "UPDATE {} SET deleted = 1, last_modified_at = ?2, device_id = ?3 WHERE id = ?1 AND deleted = 0",
            table.name()
        ))?
        .execute(rusqlite::params![id.to_string(), now.to_string(), device_id])?;
    Ok(changed > 0)
}

/// The live rows of `child` whose `column` points at `parent_id`.
pub(super) fn live_children(
    conn: &Connection,
    child: TableId,
    column: &str,
    parent_id: Uuid,
) -> Result<Vec<Uuid>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id FROM {} WHERE {column} = ?1 AND deleted = 0 ORDER BY id",
        child.name()
    ))?;
    let ids = stmt.query_map([parent_id.to_string()], |r| parse_col(r, 0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// Remembers the server's content of a row at its version: the common base of later
/// three-way merges. History ([`MergePolicy::Append`]) never merges, so keeps none.
pub(super) fn set_base(conn: &Connection, server: &Record) -> Result<(), DbError> {
    if server.table.spec().merge == MergePolicy::Append {
        return Ok(());
    }
    // Plain data: serializing cannot fail.
    let content = serde_json::to_string(&server.content).unwrap_or_default();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sync_base (table_name, id, sync_version, content) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![
        server.table.name(),
        server.id.to_string(),
        server.sync_version,
        content
    ])?;
    Ok(())
}
