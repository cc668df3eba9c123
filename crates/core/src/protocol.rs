//! The typed request/response protocol between the UI (main thread) and the database
//! worker.
//!
//! Messages travel as JSON text through `postMessage`. Every request carries an id that
//! its response echoes, so many requests can be in flight and each caller gets its own
//! answer. Errors are values of [`WorkerError`], never panics or bare strings.

use serde::{Deserialize, Serialize};

use crate::domain::library::{ReferenceDraft, Repertoire, RepertoireDraft, TuneExtras};
use crate::domain::{Tune, TuneDraft, Uuid};
use crate::error::DbError;
use crate::list::{ListQuery, TunePage};
use crate::merge::{Conflict, Part, Side};
use crate::practice::progress::Progress;
use crate::practice::view::{PracticeDay, Rated, TunePractice};
use crate::practice::{Rating, Settings, SettingsDraft};
use crate::supabase::SupabaseConfig;
use crate::sync::{PullOutcome, PushReport, QueueItem, QueueStats, UnreadableRow};
use crate::tables::TableId;

/// A request with the id its response will carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    pub id: u64,
    pub request: Request,
    /// Set on requests relayed from another tab (see [`crate::tabs`]): a write applied
    /// under this key is answered from its stored response if it comes again (replayed
    /// to a new leader tab), never applied twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A response to the request with the same id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    pub id: u64,
    pub result: Result<Response, WorkerError>,
}

/// What the UI can ask of the database worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Opens (creating if needed) the named database, closing the one open before;
    /// must come first. A new database takes `device_id` (the browser profile's id).
    Open {
        name: String,
        device_id: Option<String>,
    },
    ListTunes(ListQuery),
    GetTune {
        id: Uuid,
    },
    CreateTune {
        draft: TuneDraft,
    },
    UpdateTune {
        id: Uuid,
        draft: TuneDraft,
    },
    DeleteTune {
        id: Uuid,
    },
    /// Stores many tunes in one transaction (imports and benchmarks).
    ImportTunes {
        drafts: Vec<TuneDraft>,
    },
    /// Moves the tunes and unsynced changes of database `from` into the open one, then
    /// deletes `from` (signing in adopts what was made while signed out).
    Adopt {
        from: String,
    },
    /// Closes the named database if it is open and deletes its files.
    DeleteDatabase {
        name: String,
    },
    /// Pushes the queued changes to Supabase. Answered when the push ends; other
    /// requests are served meanwhile.
    Push {
        config: SupabaseConfig,
        access_token: String,
    },
    /// Pulls and applies one page of the account's changes from Supabase.
    Pull {
        config: SupabaseConfig,
        access_token: String,
    },
    QueueStats,
    Conflicts,
    /// Settles a conflict, each conflicting part from the chosen side.
    ResolveConflict {
        id: i64,
        choices: Vec<(Part, Side)>,
    },
    FailedItems,
    /// Pulled rows this device could not read.
    Quarantined,
    /// Every synced row on this device (deleted ones too), as one JSON document to download.
    Export,
    RetryFailed {
        id: i64,
    },
    DiscardFailed {
        id: i64,
    },
    /// A live tune's notes, references and tags.
    TuneExtras {
        tune: Uuid,
    },
    AddNote {
        tune: Uuid,
        body: String,
    },
    UpdateNote {
        id: Uuid,
        body: String,
    },
    DeleteNote {
        id: Uuid,
    },
    AddReference {
        tune: Uuid,
        draft: ReferenceDraft,
    },
    UpdateReference {
        id: Uuid,
        draft: ReferenceDraft,
    },
    DeleteReference {
        id: Uuid,
    },
    AddTag {
        tune: Uuid,
        name: String,
    },
    RemoveTag {
        tune: Uuid,
        name: String,
    },
    /// Every tag in use, with how many tunes carry it.
    AllTags,
    Repertoires,
    GetRepertoire {
        id: Uuid,
    },
    /// Creates a repertoire (`id: None`) or updates one.
    SaveRepertoire {
        id: Option<Uuid>,
        draft: RepertoireDraft,
    },
    DeleteRepertoire {
        id: Uuid,
    },
    AddToRepertoire {
        repertoire: Uuid,
        tunes: Vec<Uuid>,
    },
    RemoveFromRepertoire {
        repertoire: Uuid,
        tune: Uuid,
    },
    /// Today's practice for a repertoire; `utc_offset_minutes` places the musician's day.
    PracticeDay {
        repertoire: Uuid,
        utc_offset_minutes: i32,
    },
    RateTune {
        repertoire: Uuid,
        tune: Uuid,
        rating: Rating,
    },
    /// Takes back the rating stored as this practice record.
    UndoRating {
        record: Uuid,
    },
    /// "Schedule for…": the tune is next due at `due` (milliseconds since the epoch).
    SchedulePractice {
        repertoire: Uuid,
        tune: Uuid,
        due: i64,
    },
    /// A tune's practice in each repertoire it is in.
    TunePractice {
        tune: Uuid,
    },
    PracticeProgress {
        repertoire: Uuid,
        utc_offset_minutes: i32,
    },
    SavePracticeSettings {
        repertoire: Uuid,
        draft: SettingsDraft,
    },
    /// Stores imported tunes in one transaction, into a repertoire if given.
    ImportInto {
        drafts: Vec<TuneDraft>,
        repertoire: Option<Uuid>,
    },
    /// Every live tune's (title, mode), for spotting duplicates before an import.
    TuneIdentities,
    /// The keys and types the live tunes have, for the list's choices.
    Facets,
    /// The tunes matching a list query (paging ignored) as an ABC tune book.
    ExportAbc(ListQuery),
}

/// The worker's successful answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Opened(OpenInfo),
    Page(TunePage),
    /// The requested tune, or `None` if it does not exist or was deleted.
    Tune(Option<Tune>),
    /// The tune as stored after a create or update.
    Saved(Tune),
    Deleted,
    Imported {
        count: usize,
    },
    Adopted {
        tunes: usize,
    },
    Pushed(PushReport),
    Pulled(PullOutcome),
    Conflicts(Vec<Conflict>),
    Stats(QueueStats),
    Items(Vec<QueueItem>),
    Quarantined(Vec<UnreadableRow>),
    /// The export document (JSON).
    Exported(String),
    Extras(TuneExtras),
    Tags(Vec<(String, u32)>),
    Repertoires(Vec<Repertoire>),
    /// The requested repertoire (or the one just saved), `None` if it is gone.
    Repertoire(Option<Repertoire>),
    /// How many rows an operation touched.
    Count(usize),
    PracticeDay(PracticeDay),
    Rated(Rated),
    TunePractice(Vec<TunePractice>),
    Progress(Progress),
    PracticeSettings(Settings),
    Identities(Vec<(String, Option<String>)>),
    Facets {
        keys: Vec<String>,
        types: Vec<String>,
    },
    /// An ABC tune book and how many tunes it holds.
    Abc {
        text: String,
        tunes: usize,
    },
    /// Done, nothing to report.
    Done,
}

impl Request {
    /// The synced tables whose rows this request may change, so that pages showing them
    /// (in this tab and the others) reload after it. Reads change none.
    pub fn writes(&self) -> &'static [TableId] {
        use TableId::*;
        match self {
            Request::CreateTune { .. } | Request::UpdateTune { .. } | Request::ImportTunes { .. } => &[Tune],
            Request::DeleteTune { .. } => &[Tune, RepertoireTune, Note, Reference, Tag, PracticeRecord],
            Request::AddNote { .. } | Request::UpdateNote { .. } | Request::DeleteNote { .. } => &[Note],
            Request::AddReference { .. }
            | Request::UpdateReference { .. }
            | Request::DeleteReference { .. } => &[Reference],
            Request::AddTag { .. } | Request::RemoveTag { .. } => &[Tag],
            Request::SaveRepertoire { .. } | Request::SavePracticeSettings { .. } => &[Repertoire],
            Request::DeleteRepertoire { .. } => &[Repertoire, RepertoireTune, PracticeRecord],
            Request::AddToRepertoire { .. } | Request::RemoveFromRepertoire { .. } => &[RepertoireTune],
            Request::RateTune { .. } | Request::UndoRating { .. } | Request::SchedulePractice { .. } => {
                &[PracticeRecord]
            }
            Request::ImportInto { .. } => &[Tune, RepertoireTune],
            // Whole databases change, or rows of any table (a settled conflict, a discarded
            // change the server refused).
            Request::Adopt { .. }
            | Request::DeleteDatabase { .. }
            | Request::ResolveConflict { .. }
            | Request::RetryFailed { .. }
            | Request::DiscardFailed { .. } => &TableId::ALL,
            // A pull reports what it changed; a push changes only the queue; opening the
            // database a tab already shows changes nothing (switching databases is signing
            // in or out, which reloads every page).
            Request::Open { .. }
            | Request::Push { .. }
            | Request::Pull { .. }
            | Request::ListTunes(_)
            | Request::GetTune { .. }
            | Request::QueueStats
            | Request::Conflicts
            | Request::FailedItems
            | Request::Quarantined
            | Request::Export
            | Request::TuneExtras { .. }
            | Request::AllTags
            | Request::Repertoires
            | Request::GetRepertoire { .. }
            | Request::PracticeDay { .. }
            | Request::TunePractice { .. }
            | Request::PracticeProgress { .. }
            | Request::TuneIdentities
            | Request::Facets
            | Request::ExportAbc(_) => &[],
        }
    }
}

impl Response {
    /// The answer's kind, for messages (cheaper than `Debug`, which would pull the whole
    /// formatting of every type into the app).
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Opened(_) => "Opened",
            Response::Page(_) => "Page",
            Response::Tune(_) => "Tune",
            Response::Saved(_) => "Saved",
            Response::Deleted => "Deleted",
            Response::Imported { .. } => "Imported",
            Response::Adopted { .. } => "Adopted",
            Response::Pushed(_) => "Pushed",
            Response::Pulled(_) => "Pulled",
            Response::Conflicts(_) => "Conflicts",
            Response::Stats(_) => "Stats",
            Response::Items(_) => "Items",
            Response::Quarantined(_) => "Quarantined",
            Response::Exported(_) => "Exported",
            Response::Extras(_) => "Extras",
            Response::Tags(_) => "Tags",
            Response::Repertoires(_) => "Repertoires",
            Response::Repertoire(_) => "Repertoire",
            Response::Count(_) => "Count",
            Response::PracticeDay(_) => "PracticeDay",
            Response::Rated(_) => "Rated",
            Response::TunePractice(_) => "TunePractice",
            Response::Progress(_) => "Progress",
            Response::PracticeSettings(_) => "PracticeSettings",
            Response::Identities(_) => "Identities",
            Response::Facets { .. } => "Facets",
            Response::Abc { .. } => "Abc",
            Response::Done => "Done",
        }
    }
}

/// Where the opened database lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Storage {
    /// Persistent, in the origin private file system.
    Opfs,
    /// In memory only: everything is lost when the tab closes. `reason` says why.
    Memory { reason: String },
}

/// The result of opening a database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenInfo {
    pub storage: Storage,
    pub device_id: String,
}

/// Why the worker could not answer a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum WorkerError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// A request arrived before `Open` succeeded.
    #[error("the database is not open yet")]
    NotOpen,
    /// Another tab's worker still holds the database files.
    #[error("Tunebook's storage is in use by another tab: {0}")]
    StorageBusy(String),
    /// The message could not be understood (a version mismatch between UI and worker).
    #[error("malformed message: {0}")]
    BadMessage(String),
    /// The worker stopped (it crashed or was terminated); no answer will come.
    #[error("the database worker stopped: {0}")]
    WorkerStopped(String),
    /// A request relayed from another tab was applied before (by a leader tab that went
    /// before it could answer); it was not applied again, and its answer is not known.
    #[error("this change was already saved (by a tab that has since closed)")]
    AlreadyApplied,
}

impl WorkerError {
    /// Whether sending the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            WorkerError::Db(e) => e.is_retryable(),
            WorkerError::NotOpen | WorkerError::StorageBusy(_) => true,
            WorkerError::BadMessage(_) | WorkerError::WorkerStopped(_) | WorkerError::AlreadyApplied => false,
        }
    }
}

/// The database used while signed out.
pub const SIGNED_OUT_DATABASE: &str = "tunebook.db";

/// The database file for an account (`None`: signed out). Each account has its own, so
/// signing in as someone else never mixes their tunes or pushes them to the wrong account.
pub fn database_name(user: Option<&Uuid>) -> String {
    match user {
        Some(id) => format!("tunebook-{id}.db"),
        None => SIGNED_OUT_DATABASE.to_string(),
    }
}

/// The worker's first message, sent once it listens. A module worker can miss messages
/// posted before its (asynchronously loaded) code installs `onmessage`, so the UI holds
/// requests back until this arrives.
pub const WORKER_READY: &str = "ready";

/// A request envelope's text around a request already encoded (`request_json`), for a
/// request relayed from another tab that is passed on without decoding it.
pub fn envelope_text(id: u64, request_json: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!(r#"{{"id":{id},"request":{request_json},"key":{}}}"#, encode(&key)),
        None => format!(r#"{{"id":{id},"request":{request_json}}}"#),
    }
}

/// A response envelope's text around a `result` already encoded (see [`split_response`]).
pub fn response_text(id: u64, result_json: &str) -> String {
    format!(r#"{{"id":{id},"result":{result_json}}}"#)
}

/// A response envelope's id and its `result` as text, left encoded: the UI decodes it
/// for its own requests and passes it on as it is for another tab's. (The worker writes
/// every envelope with [`encode`]: `{"id":…,"result":…}`.)
pub fn split_response(text: &str) -> Option<(u64, &str)> {
    let rest = text.strip_prefix(r#"{"id":"#)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    let id = rest[..digits].parse().ok()?;
    let result = rest[digits..].strip_prefix(r#","result":"#)?.strip_suffix('}')?;
    Some((id, result))
}

/// Decodes a request, or returns the id (if it could be read) and the error to send back.
pub fn decode_request(text: &str) -> Result<RequestEnvelope, (Option<u64>, WorkerError)> {
    serde_json::from_str(text).map_err(|e| {
        let id = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
        (id, WorkerError::BadMessage(e.to_string()))
    })
}

/// Encodes a message as JSON text. Serializing these plain types cannot fail; should it
/// ever, the fallback is a well-formed `BadMessage` response rather than a panic.
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| {
        format!(r#"{{"id":0,"result":{{"Err":{{"BadMessage":"{}"}}}}}}"#, e.to_string().replace('"', "'"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_has_its_own_database() {
        let id: Uuid = "01901234-5678-7fff-bfff-ffffffffffff".parse().unwrap();
        assert_eq!(database_name(None), "tunebook.db");
        assert_eq!(database_name(Some(&id)), "tunebook-01901234-5678-7fff-bfff-ffffffffffff.db");
    }

    #[test]
    fn requests_survive_the_json_boundary() {
        let request = Request::Push { config: SupabaseConfig::default(), access_token: "t".into() };
        let text = encode(&RequestEnvelope { id: 7, request: request.clone(), key: None });
        assert_eq!(decode_request(&text), Ok(RequestEnvelope { id: 7, request, key: None }));
    }

    #[test]
    fn envelopes_built_and_split_as_text_match_the_typed_ones() {
        let request = Request::GetTune { id: Uuid::now_v7() };
        for key in [None, Some("tab:\"1\"")] {
            let text = envelope_text(9, &encode(&request), key);
            let expected = RequestEnvelope { id: 9, request: request.clone(), key: key.map(str::to_string) };
            assert_eq!(decode_request(&text), Ok(expected));
        }
        for result in [Ok(Response::Done), Err(WorkerError::NotOpen), Ok(Response::Exported("}{".into()))] {
            let text = encode(&ResponseEnvelope { id: 12, result: result.clone() });
            let (id, raw) = split_response(&text).unwrap();
            assert_eq!(id, 12);
            assert_eq!(response_text(id, raw), text);
            assert_eq!(serde_json::from_str::<Result<Response, WorkerError>>(raw).unwrap(), result);
        }
        assert_eq!(split_response("ready"), None);
        assert_eq!(split_response(r#"{"result":1,"id":2}"#), None);
    }
}
