//! PostgREST: the conditional push (the `push_tunes` RPC), the paged pull, the rows they
//! return, and how errors divide into "try again later", "refresh the token" and "this
//! change cannot succeed".

use serde_json::{Value, json};

use super::{HttpRequest, HttpResponse, Method, SupabaseConfig};
use crate::domain::{Timestamp, Tune, TuneFields, Uuid};
use crate::sync::UnreadableRow;

/// The columns a push writes. `user_id` is absent on purpose: the server fills it from
/// the token on insert and keeps it on update, which is how tunes made while signed out
/// are adopted by the account. `sync_version` and `change_number` are the server's.
pub const PUSH_COLUMNS: &[&str] = &[
    "id",
    "title",
    "type",
    "structure",
    "mode",
    "genre",
    "composer",
    "artist",
    "release_year",
    "incipit",
    "created_at",
    "last_modified_at",
    "device_id",
    "deleted",
];

/// A tune as the server stores it, with the server's change number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTune {
    pub tune: Tune,
    pub change_number: i64,
}

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

/// The JSON row a push sends for a tune.
pub fn push_row(tune: &Tune) -> Value {
    let f = &tune.fields;
    json!({
        "id": tune.id,
        "title": f.title,
        "type": f.tune_type,
        "structure": f.structure,
        "mode": f.mode,
        "genre": f.genre,
        "composer": f.composer,
        "artist": f.artist,
        "release_year": f.release_year,
        "incipit": f.incipit,
        "created_at": tune.created_at,
        "last_modified_at": tune.last_modified_at,
        "device_id": tune.device_id,
        "deleted": tune.deleted,
    })
}

/// The largest page a pull asks for (hosted Supabase caps responses at 1,000 rows).
pub const PULL_PAGE: u32 = 1000;

/// One conditional push of `changes` (`POST /rest/v1/rpc/push_tunes`): each change is a
/// [`push_row`] plus the `base_version` its edit started from.
pub fn push_tunes(cfg: &SupabaseConfig, access_token: &str, changes: &[Value]) -> HttpRequest {
    cfg.request(Method::Post, "/rest/v1/rpc/push_tunes", Some(access_token))
        .json(&json!({ "changes": Value::Array(changes.to_vec()) }))
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
    /// Stored (or already identical); the row as stored.
    Applied(ServerTune),
    /// The server's row moved on since the edit's base version; the server's row.
    Conflict(ServerTune),
    /// Refused (row level security, a constraint…): sending it again will not help.
    Refused { code: String, message: String },
}

/// Reads `push_tunes`' per-change results, keyed by tune id.
pub fn parse_push_results(body: &str) -> Result<Vec<(String, PushResult)>, String> {
    let results: Vec<Value> =
        serde_json::from_str(body).map_err(|e| format!("not a JSON array of results: {e}"))?;
    results
        .iter()
        .map(|r| {
            let id = r.get("id").and_then(Value::as_str).ok_or("a result without an id")?.to_string();
            let result = match r.get("status").and_then(Value::as_str) {
                Some("applied") => PushResult::Applied(server_tune(&r["row"])?),
                Some("conflict") => PushResult::Conflict(server_tune(&r["row"])?),
                Some("error") => PushResult::Refused {
                    code: r.get("code").and_then(Value::as_str).unwrap_or_default().to_string(),
                    message: r.get("message").and_then(Value::as_str).unwrap_or("refused").to_string(),
                },
                other => return Err(format!("unknown status {other:?}")),
            };
            Ok((id, result))
        })
        .collect()
}

/// One page of the pull: the account's rows changed after `cursor`, in change order.
/// The first page (`count`) also asks how many there are, for a progress indicator.
pub fn pull_tunes(cfg: &SupabaseConfig, access_token: &str, cursor: i64, count: bool) -> HttpRequest {
    let path =
        format!("/rest/v1/tune?select=*&change_number=gt.{cursor}&order=change_number.asc&limit={PULL_PAGE}");
    let request = cfg.request(Method::Get, &path, Some(access_token));
    if count { request.header("Prefer", "count=exact") } else { request }
}

/// The total in a `Content-Range: 0-999/7000` header.
pub fn range_total(content_range: Option<&str>) -> Option<u64> {
    content_range?.rsplit('/').next()?.parse().ok()
}

/// One pulled page: the rows this device can read, and the ones it cannot (kept aside so
/// that one bad row never stops the pull).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PulledPage {
    pub rows: Vec<ServerTune>,
    pub unreadable: Vec<UnreadableRow>,
}

impl PulledPage {
    /// Rows received, readable or not.
    pub fn len(&self) -> usize {
        self.rows.len() + self.unreadable.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the rows PostgREST returned. Only a reply that is not a JSON array of objects
/// fails as a whole; a row that cannot be read is returned as unreadable, with the
/// reason, its id and change number where those can be read.
pub fn parse_tunes(body: &str) -> Result<PulledPage, String> {
    let rows: Vec<Value> =
        serde_json::from_str(body).map_err(|e| format!("not a JSON array of rows: {e}"))?;
    let mut page = PulledPage::default();
    for row in &rows {
        if !row.is_object() {
            return Err("not a JSON array of rows: an element is not an object".into());
        }
        match server_tune(row) {
            Ok(tune) => page.rows.push(tune),
            Err(reason) => page.unreadable.push(UnreadableRow {
                table_name: "tune".into(),
                record_id: row.get("id").and_then(Value::as_str).unwrap_or("(no id)").to_string(),
                change_number: row.get("change_number").and_then(Value::as_i64).unwrap_or(0),
                reason,
                raw: row.to_string(),
            }),
        }
    }
    Ok(page)
}

fn server_tune(row: &Value) -> Result<ServerTune, String> {
    let text = |key: &str| row.get(key).and_then(Value::as_str).map(str::to_string);
    let parse_ts = |key: &str| -> Result<Timestamp, String> {
        text(key).ok_or(format!("missing {key}"))?.parse().map_err(|e| format!("{key}: {e}"))
    };
    let id: Uuid = text("id").ok_or("missing id")?.parse().map_err(|e| format!("id: {e}"))?;
    Ok(ServerTune {
        tune: Tune {
            id,
            fields: TuneFields {
                title: text("title").ok_or("missing title")?,
                tune_type: text("type"),
                structure: text("structure"),
                mode: text("mode"),
                genre: text("genre"),
                composer: text("composer"),
                artist: text("artist"),
                release_year: row
                    .get("release_year")
                    .and_then(Value::as_u64)
                    .and_then(|y| u16::try_from(y).ok()),
                incipit: text("incipit"),
            },
            user_id: text("user_id").and_then(|u| u.parse().ok()),
            created_at: parse_ts("created_at")?,
            last_modified_at: parse_ts("last_modified_at")?,
            sync_version: row.get("sync_version").and_then(Value::as_i64).ok_or("missing sync_version")?,
            device_id: text("device_id").unwrap_or_default(),
            deleted: row.get("deleted").and_then(Value::as_bool).unwrap_or(false),
        },
        change_number: row.get("change_number").and_then(Value::as_i64).unwrap_or(0),
    })
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
        let r = push_tunes(&cfg, "tok", &[json!({"id": "x", "base_version": 1})]);
        assert!(r.url.ends_with("/rest/v1/rpc/push_tunes"));
        assert_eq!(r.header_value("authorization"), Some("Bearer tok"));
        assert_eq!(r.body.as_deref(), Some(r#"{"changes":[{"base_version":1,"id":"x"}]}"#));
        let p = pull_tunes(&cfg, "tok", 42, true);
        assert!(
            p.url.ends_with("/rest/v1/tune?select=*&change_number=gt.42&order=change_number.asc&limit=1000"),
            "{}",
            p.url
        );
        assert_eq!(p.header_value("prefer"), Some("count=exact"));
        assert_eq!(pull_tunes(&cfg, "tok", 0, false).header_value("prefer"), None);
        assert_eq!(range_total(Some("0-999/7000")), Some(7000));
        assert_eq!(range_total(Some("*/0")), Some(0));
        assert_eq!(range_total(Some("0-9/*")), None);
        assert_eq!(range_total(None), None);
    }

    #[test]
    fn push_results_are_read_per_change() {
        let row = r#"{"id":"01930000-0000-7000-8000-000000000001","user_id":null,"title":"T","type":null,
            "structure":null,"mode":null,"genre":null,"composer":null,"artist":null,"release_year":null,"incipit":null,
            "created_at":"2026-11-26T05:53:16+00:00","last_modified_at":"2026-11-26T05:53:16+00:00",
            "sync_version":2,"device_id":"d","deleted":false,"change_number":5}"#;
        let body = format!(
            r#"[{{"id":"a","status":"applied","row":{row}}},{{"id":"b","status":"conflict","row":{row}}},
               {{"id":"c","status":"error","code":"42501","message":"new row violates row-level security policy"}}]"#
        );
        let results = parse_push_results(&body).unwrap();
        assert!(matches!(&results[0], (id, PushResult::Applied(t)) if id == "a" && t.tune.sync_version == 2));
        assert!(matches!(&results[1], (id, PushResult::Conflict(t)) if id == "b" && t.change_number == 5));
        assert!(matches!(&results[2], (_, PushResult::Refused { code, .. }) if code == "42501"));
        assert!(parse_push_results(r#"[{"id":"a","status":"maybe"}]"#).is_err());
        assert!(parse_push_results("{}").is_err());
    }

    #[test]
    fn server_rows_round_trip_through_push_rows() {
        let body = r#"[{"id":"01930000-0000-7000-8000-000000000001","user_id":"4aaa98dd-b17c-4207-bbdf-7f455076a4a1",
            "title":"The Kesh","type":"jig","structure":null,"mode":"G major","genre":null,"composer":null,"artist":null,
            "release_year":1998,"incipit":"|:GAG GAB|","created_at":"2026-11-26T05:53:16.716793+00:00",
            "last_modified_at":"2026-11-26T05:53:17+00:00","sync_version":3,"device_id":"dev","deleted":false,"change_number":42}]"#;
        let page = parse_tunes(body).unwrap();
        let rows = page.rows;
        let t = &rows[0].tune;
        assert_eq!(
            (t.fields.title.as_str(), t.fields.release_year, t.sync_version, rows[0].change_number),
            ("The Kesh", Some(1998), 3, 42)
        );
        assert_eq!(t.created_at.to_string(), "2026-11-26T05:53:16.716Z");
        let pushed = push_row(t);
        assert_eq!(pushed["type"], "jig");
        assert_eq!(pushed["release_year"], 1998);
        assert!(pushed.get("user_id").is_none() && pushed.get("sync_version").is_none());
        let keys: Vec<&str> = pushed.as_object().unwrap().keys().map(String::as_str).collect();
        // The columns push_tunes reads (supabase/migrations), spelled out independently.
        let expected = [
            "artist",
            "composer",
            "created_at",
            "deleted",
            "device_id",
            "genre",
            "id",
            "incipit",
            "last_modified_at",
            "mode",
            "release_year",
            "structure",
            "title",
            "type",
        ];
        assert_eq!(keys, expected, "push rows carry exactly the columns the server reads");
        assert!(parse_tunes("{}").is_err());
        assert!(parse_tunes("[1]").is_err());
    }

    #[test]
    fn unreadable_rows_are_set_aside_with_their_reason() {
        let good = r#"{"id":"01930000-0000-7000-8000-000000000001","title":"Good","created_at":"2026-11-26T05:53:16Z",
            "last_modified_at":"2026-11-26T05:53:16Z","sync_version":1,"change_number":7}"#;
        let cases = [
            (
                r#"{"id":"01930000-0000-7000-8000-000000000002","title":"Forever","created_at":"infinity","last_modified_at":"2026-11-26T05:53:16Z","sync_version":1,"change_number":8}"#,
                "created_at",
            ),
            (r#"{"id":"x","title":"Bad id","change_number":9}"#, "id"),
            (r#"{"id":"01930000-0000-7000-8000-000000000003","change_number":10}"#, "missing title"),
        ];
        for (bad, reason) in cases {
            let page = parse_tunes(&format!("[{good},{bad}]")).unwrap();
            assert_eq!(page.rows.len(), 1, "{bad}");
            assert_eq!(page.len(), 2);
            let u = &page.unreadable[0];
            assert!(u.reason.contains(reason), "{reason}: {}", u.reason);
            assert!(u.change_number >= 8 && u.raw.contains("change_number"), "{u:?}");
        }
    }
}
