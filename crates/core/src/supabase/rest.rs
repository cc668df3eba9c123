//! PostgREST: the conditional push of every synced table (the `push_changes` RPC), the
//! paged pull of every table in commit order (`pull_changes`), the rows they return,
//! and how errors divide into "try again later", "refresh the token" and "this change
//! cannot succeed".

use serde_json::{Value, json};

use super::{HttpRequest, HttpResponse, Method, SupabaseConfig};
use crate::domain::Uuid;
use crate::record::{Record, ServerRecord};
use crate::sync::UnreadableRow;
use crate::tables::TableId;

/// Why a REST call failed, sorted by what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// The network, a timeout, a server error or a rate limit: try again later.
    #[error("{0}")]
    Retryable(String),
    /// The token expired or is invalid: refresh it, then try again.
    #[error("{0}")]
    Unauthorized(String),
    /// The server refused this data (row level security, a constraint, bad input):
    /// sending it again will not help.
    #[error("{0}")]
    Rejected(String),
}

/// The largest page a pull asks for (hosted Supabase caps responses at 1,000 rows).
pub const PULL_PAGE: u32 = 1000;

/// The server's code for a change whose parent row has not reached it yet (a foreign
/// key violation): the change waits and is sent again after its parent.
pub const MISSING_PARENT: &str = "23503";

/// One conditional push (`POST /rest/v1/rpc/push_changes`) of changes to any tables:
/// each change is a [`Record::push_change`] already encoded as JSON text (the push sizes
/// its requests by them, so each is encoded once), applied only if the server's row
/// still has its `base_version`. Applied changes are answered with their new version and
/// owner only (`versions_only`), not the whole row.
pub fn push_changes(cfg: &SupabaseConfig, access_token: &str, changes: &[&str]) -> HttpRequest {
    cfg.request(Method::Post, "/rest/v1/rpc/push_changes", Some(access_token))
        .json_text(format!(r#"{{"changes":[{}],"versions_only":true}}"#, changes.join(",")))
}

/// Deletes the signed-in account and everything it owns on the server
/// (`POST /rest/v1/rpc/delete_my_account`); `email` must be the account's address.
pub fn delete_account(cfg: &SupabaseConfig, access_token: &str, email: &str) -> HttpRequest {
    cfg.request(Method::Post, "/rest/v1/rpc/delete_my_account", Some(access_token))
        .json(&json!({ "confirm_email": email }))
}

/// What the server did with one pushed change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushResult {
    /// Stored (or already identical): the row now holds what was sent, at this version.
    Applied(Applied),
    /// The server's row moved on since the edit's base version; the server's row.
    Conflict(ServerRecord),
    /// Refused (row level security, a constraint, a missing parent…).
    Refused { code: String, message: String },
}

/// The server's bookkeeping for an applied change; the row's content is what was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    pub sync_version: i64,
    /// The owner the server gave the row (signed-out rows are adopted on insert).
    pub user_id: Option<Uuid>,
}

impl Applied {
    /// Reads the short answer (`sync_version`, `user_id` beside the status) or, from a
    /// server without `versions_only`, the same two columns of the whole row.
    fn read(result: &Value) -> Result<Applied, String> {
        let source = result.get("row").unwrap_or(result);
        let sync_version = source
            .get("sync_version")
            .and_then(Value::as_i64)
            .ok_or("an applied change without its version")?;
        let user_id = match source.get("user_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_str().and_then(|u| u.parse().ok()).ok_or_else(|| format!("user_id: not a uuid: {v}"))?,
            ),
        };
        Ok(Applied { sync_version, user_id })
    }
}

/// A pushed row: its table and id (as sent).
pub type RowKey = (TableId, String);

/// Reads `push_changes`' per-change results, keyed by table and row id.
pub fn parse_push_results(body: &str) -> Result<Vec<(RowKey, PushResult)>, String> {
    let results: Vec<Value> =
        serde_json::from_str(body).map_err(|e| format!("not a JSON array of results: {e}"))?;
    results
        .iter()
        .map(|r| {
            let id = r.get("id").and_then(Value::as_str).ok_or("a result without an id")?.to_string();
            let table = r
                .get("table")
                .and_then(Value::as_str)
                .and_then(TableId::parse)
                .ok_or("a result without a known table")?;
            let result = match r.get("status").and_then(Value::as_str) {
                Some("applied") => PushResult::Applied(Applied::read(r)?),
                Some("conflict") => PushResult::Conflict(Record::from_server(table, &r["row"])?),
                Some("error") => PushResult::Refused {
                    code: r.get("code").and_then(Value::as_str).unwrap_or_default().to_string(),
                    message: r.get("message").and_then(Value::as_str).unwrap_or("refused").to_string(),
                },
                other => return Err(format!("unknown status {other:?}")),
            };
            Ok(((table, id), result))
        })
        .collect()
}

/// One page of the pull (`POST /rest/v1/rpc/pull_changes`): the account's rows of every
/// table changed after `cursor`, in commit order. `count` also asks how many there are
/// in all, for a progress indicator (the first page of a pull asks).
pub fn pull_changes(cfg: &SupabaseConfig, access_token: &str, cursor: i64, count: bool) -> HttpRequest {
    cfg.request(Method::Post, "/rest/v1/rpc/pull_changes", Some(access_token))
        .json(&json!({ "after": cursor, "max_rows": PULL_PAGE, "with_total": count }))
}

/// One pulled page: the rows this device can read, and the ones it cannot (kept aside so
/// that one bad row never stops the pull).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PulledPage {
    pub rows: Vec<ServerRecord>,
    pub unreadable: Vec<UnreadableRow>,
    /// Rows to pull in all from this page's start, when asked for.
    pub total: Option<u64>,
}

impl PulledPage {
    /// Rows received, readable or not.
    pub fn len(&self) -> usize {
        self.rows.len() + self.unreadable.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where a pull that stood at `cursor` stands once this page is applied: past every
    /// row it holds, readable or not (an unreadable row is set aside, never asked again).
    pub fn cursor_after(&self, cursor: i64) -> i64 {
        self.rows
            .iter()
            .map(|r| r.change_number)
            .chain(self.unreadable.iter().map(|u| u.change_number))
            .fold(cursor, i64::max)
    }
}

/// Reads a `pull_changes` reply, `{"total": n | null, "changes": [{"table", "row"}…]}`.
/// Only a reply of the wrong shape fails as a whole; a row that cannot be read (an
/// unknown table, a value out of range) is returned as unreadable, with the reason, its
/// id and change number where those can be read.
pub fn parse_pulled(body: &str) -> Result<PulledPage, String> {
    let reply: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let changes = reply.get("changes").and_then(Value::as_array).ok_or("no list of changes")?;
    let mut page = PulledPage { total: reply.get("total").and_then(Value::as_u64), ..PulledPage::default() };
    for change in changes {
        let table_name = change.get("table").and_then(Value::as_str).unwrap_or("(no table)");
        let row = change.get("row").filter(|r| r.is_object()).ok_or("a change without a row")?;
        let read = TableId::parse(table_name)
            .ok_or_else(|| format!("unknown table {table_name} (is this app up to date?)"))
            .and_then(|table| Record::from_server(table, row));
        match read {
            Ok(record) => page.rows.push(record),
            Err(reason) => page.unreadable.push(UnreadableRow {
                table_name: table_name.to_string(),
                record_id: row.get("id").and_then(Value::as_str).unwrap_or("(no id)").to_string(),
                change_number: row.get("change_number").and_then(Value::as_i64).unwrap_or(0),
                reason,
                raw: row.to_string(),
            }),
        }
    }
    Ok(page)
}

/// Sorts a failed response. Status first, as PostgREST documents; the body only adds
/// the server's message.
pub fn classify(response: &HttpResponse) -> RestError {
    let message = server_message(response);
    match response.status {
        401 => RestError::Unauthorized(message),
        // A missing table or endpoint is a project set-up problem (migrations not
        // applied), not bad data: keep the changes and try again later.
        404 => {
            RestError::Retryable(format!("{message} (are Tunebook's migrations applied to this project?)"))
        }
        408 | 425 | 429 => RestError::Retryable(message),
        s if s >= 500 => RestError::Retryable(message),
        _ => RestError::Rejected(message),
    }
}

/// PostgREST's `{"code","message","details","hint"}` as one readable line.
fn server_message(response: &HttpResponse) -> String {
    let Ok(body) = serde_json::from_str::<Value>(&response.body) else {
        let text: String = response.body.chars().take(200).collect();
        return format!("HTTP {}: {}", response.status, text.trim());
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut message = field("message").unwrap_or("the server refused the change").to_string();
    if let Some(details) = field("details") {
        message = format!("{message} ({details})");
    }
    match field("code") {
        Some(code) => format!("{message} [{code}]"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status, body)
    }

    #[test]
    fn classification_follows_status() {
        let rls = r#"{"code":"42501","details":null,"hint":null,"message":"new row violates row-level security policy for table \"tune\""}"#;
        let cases = [
            (401, r#"{"code":"PGRST301","message":"JWT expired"}"#, "unauthorized"),
            (401, r#"{"code":"PGRST303","message":"JWT expired"}"#, "unauthorized"),
            (403, rls, "rejected"),
            (409, r#"{"code":"23505","message":"duplicate key"}"#, "rejected"),
            (400, r#"{"code":"23514","message":"violates check constraint"}"#, "rejected"),
            (400, r#"{"code":"PGRST102","message":"All object keys must match"}"#, "rejected"),
            (404, r#"{"code":"42P01","message":"relation does not exist"}"#, "retryable"),
            (429, "", "retryable"),
            (500, "oops", "retryable"),
            (502, "<html>bad gateway</html>", "retryable"),
            (503, "", "retryable"),
        ];
        for (status, body, expected) in cases {
            let got = match classify(&reply(status, body)) {
                RestError::Retryable(_) => "retryable",
                RestError::Unauthorized(_) => "unauthorized",
                RestError::Rejected(_) => "rejected",
            };
            assert_eq!(got, expected, "{status} {body}");
        }
        let RestError::Rejected(message) = classify(&reply(403, rls)) else { panic!() };
        assert!(message.contains("row-level security") && message.ends_with("[42501]"), "{message}");
    }

    #[test]
    fn push_and_pull_requests() {
        let cfg = SupabaseConfig::default();
        let (x, y) = (json!({"id": "x", "base_version": 1}).to_string(), json!({"id": "y"}).to_string());
        let r = push_changes(&cfg, "tok", &[&x, &y]);
        assert!(r.url.ends_with("/rest/v1/rpc/push_changes"));
        assert_eq!(r.header_value("authorization"), Some("Bearer tok"));
        assert_eq!(r.header_value("content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"changes": [{"base_version": 1, "id": "x"}, {"id": "y"}], "versions_only": true})
        );
        let empty: Value =
            serde_json::from_str(push_changes(&cfg, "tok", &[]).body.as_deref().unwrap()).unwrap();
        assert_eq!(empty, json!({"changes": [], "versions_only": true}));
        let p = pull_changes(&cfg, "tok", 42, true);
        assert!(p.url.ends_with("/rest/v1/rpc/pull_changes"), "{}", p.url);
        assert_eq!(p.body.as_deref(), Some(r#"{"after":42,"max_rows":1000,"with_total":true}"#));
    }

    const ROW: &str = r#"{"id":"01930000-0000-7000-8000-000000000001","user_id":"4aaa98dd-b17c-4207-bbdf-7f455076a4a1",
        "title":"The Kesh","type":"jig","structure":null,"mode":"G major","genre":null,"composer":null,"artist":null,
        "release_year":1998,"incipit":"|:GAG GAB|","created_at":"2026-11-26T05:53:16.716793+00:00",
        "last_modified_at":"2026-11-26T05:53:17+00:00","sync_version":3,"device_id":"dev","deleted":false,"change_number":42}"#;

    #[test]
    fn push_results_are_read_per_change() {
        let body = format!(
            r#"[{{"table":"tune","id":"a","status":"applied","row":{ROW}}},{{"table":"tune","id":"b","status":"conflict","row":{ROW}}},
               {{"table":"note","id":"c","status":"error","code":"42501","message":"new row violates row-level security policy"}}]"#
        );
        let results = parse_push_results(&body).unwrap();
        assert!(
            matches!(&results[0], ((TableId::Tune, id), PushResult::Applied(a)) if id == "a" && a.sync_version == 3
                && a.user_id.map(|u| u.to_string()).as_deref() == Some("4aaa98dd-b17c-4207-bbdf-7f455076a4a1"))
        );
        assert!(
            matches!(&results[1], ((_, id), PushResult::Conflict(t)) if id == "b" && t.change_number == 42)
        );
        assert!(
            matches!(&results[2], ((TableId::Note, _), PushResult::Refused { code, .. }) if code == "42501")
        );
        // The short answer to `versions_only`.
        let short = r#"[{"table":"tune","id":"a","status":"applied","sync_version":4,"user_id":null}]"#;
        assert_eq!(
            parse_push_results(short).unwrap(),
            [(
                (TableId::Tune, "a".to_string()),
                PushResult::Applied(Applied { sync_version: 4, user_id: None })
            )]
        );
        assert!(parse_push_results(r#"[{"table":"tune","id":"a","status":"applied"}]"#).is_err());
        assert!(
            parse_push_results(
                r#"[{"table":"tune","id":"a","status":"applied","sync_version":1,"user_id":"x"}]"#
            )
            .is_err()
        );
        assert!(parse_push_results(r#"[{"table":"tune","id":"a","status":"maybe"}]"#).is_err());
        assert!(parse_push_results(r#"[{"table":"nope","id":"a","status":"applied"}]"#).is_err());
        assert!(parse_push_results("{}").is_err());
    }

    #[test]
    fn pulled_rows_of_every_table_are_read_in_order() {
        let note = r#"{"id":"01930000-0000-7000-8000-000000000009","tune_id":"01930000-0000-7000-8000-000000000001",
            "body":"Slower in the B part","created_at":"2026-11-26T05:53:18Z","last_modified_at":"2026-11-26T05:53:18Z",
            "sync_version":1,"device_id":"dev","deleted":false,"change_number":43}"#;
        let body = format!(
            r#"{{"total":2,"changes":[{{"table":"tune","row":{ROW}}},{{"table":"note","row":{note}}}]}}"#
        );
        let page = parse_pulled(&body).unwrap();
        assert_eq!(page.total, Some(2));
        let (tune, note) = (&page.rows[0], &page.rows[1]);
        assert_eq!((tune.record.table, tune.change_number), (TableId::Tune, 42));
        assert_eq!(tune.record.content.text("title"), "The Kesh");
        assert_eq!(tune.record.created_at.to_string(), "2026-11-26T05:53:16.716Z");
        assert_eq!(
            (note.record.table, note.record.content.text("body").as_str()),
            (TableId::Note, "Slower in the B part")
        );
        assert_eq!(note.record.parent_id("tune_id"), Some(tune.record.id));
        assert!(parse_pulled("[]").is_err());
        assert!(parse_pulled(r#"{"changes":[1]}"#).is_err());
    }

    #[test]
    fn unreadable_rows_are_set_aside_with_their_reason() {
        let good = r#"{"table":"tune","row":{"id":"01930000-0000-7000-8000-000000000001","title":"Good","created_at":"2026-11-26T05:53:16Z",
            "last_modified_at":"2026-11-26T05:53:16Z","sync_version":1,"change_number":7}}"#;
        let cases = [
            (
                r#"{"table":"tune","row":{"id":"01930000-0000-7000-8000-000000000002","title":"Forever","created_at":"infinity","last_modified_at":"2026-11-26T05:53:16Z","sync_version":1,"change_number":8}}"#,
                "created_at",
            ),
            (r#"{"table":"tune","row":{"id":"x","title":"Bad id","change_number":9}}"#, "id"),
            (
                r#"{"table":"tune","row":{"id":"01930000-0000-7000-8000-000000000003","change_number":10}}"#,
                "title",
            ),
            (
                r#"{"table":"setlist","row":{"id":"01930000-0000-7000-8000-000000000004","change_number":11}}"#,
                "unknown table",
            ),
        ];
        for (bad, reason) in cases {
            let page = parse_pulled(&format!(r#"{{"total":null,"changes":[{good},{bad}]}}"#)).unwrap();
            assert_eq!(page.rows.len(), 1, "{bad}");
            assert_eq!(page.len(), 2);
            let u = &page.unreadable[0];
            assert!(u.reason.contains(reason), "{reason}: {}", u.reason);
            assert!(u.change_number >= 8 && u.raw.contains("change_number"), "{u:?}");
        }
    }
}
