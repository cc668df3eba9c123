//! The database worker's ABC requests (import, export, duplicates, the list's key and
//! type choices) as typed async calls.

use tunebook_core::domain::{TuneDraft, Uuid};
use tunebook_core::list::ListQuery;
use tunebook_core::protocol::{Request, Response, WorkerError};

use super::db_client::{DbClient, unexpected};

impl DbClient {
    /// Stores imported tunes in one transaction, into a repertoire if given.
    pub async fn import_into(
        &self,
        drafts: Vec<TuneDraft>,
        repertoire: Option<Uuid>,
    ) -> Result<usize, WorkerError> {
        match self.request(Request::ImportInto { drafts, repertoire }).await? {
            Response::Imported { count } => Ok(count),
            other => Err(unexpected(other)),
        }
    }

    /// Every live tune's (title, mode).
    pub async fn tune_identities(&self) -> Result<Vec<(String, Option<String>)>, WorkerError> {
        match self.request(Request::TuneIdentities).await? {
            Response::Identities(list) => Ok(list),
            other => Err(unexpected(other)),
        }
    }

    /// The keys and types the live tunes have.
    pub async fn facets(&self) -> Result<(Vec<String>, Vec<String>), WorkerError> {
        match self.request(Request::Facets).await? {
            Response::Facets { keys, types } => Ok((keys, types)),
            other => Err(unexpected(other)),
        }
    }

    /// The tunes matching `query` as an ABC tune book, and how many it holds.
    pub async fn export_abc(&self, query: ListQuery) -> Result<(String, usize), WorkerError> {
        match self.request(Request::ExportAbc(query)).await? {
            Response::Abc { text, tunes } => Ok((text, tunes)),
            other => Err(unexpected(other)),
        }
    }
}
