//! The database worker's library requests (repertoires, notes, references, tags) as
//! typed async calls, beside the tune calls in [`super::db_client`].

use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::{ReferenceDraft, Repertoire, RepertoireDraft, TuneExtras};
use tunebook_core::protocol::{Request, Response, WorkerError};

use super::db_client::{DbClient, unexpected};

impl DbClient {
    /// Sends a request whose answer is `Done`.
    pub async fn run(&self, request: Request) -> Result<(), WorkerError> {
        match self.request(request).await? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// A live tune's notes, references and tags.
    pub async fn tune_extras(&self, tune: Uuid) -> Result<TuneExtras, WorkerError> {
        match self.request(Request::TuneExtras { tune }).await? {
            Response::Extras(extras) => Ok(extras),
            other => Err(unexpected(other)),
        }
    }

    /// Every tag in use, with how many tunes carry it.
    pub async fn all_tags(&self) -> Result<Vec<(String, u32)>, WorkerError> {
        match self.request(Request::AllTags).await? {
            Response::Tags(tags) => Ok(tags),
            other => Err(unexpected(other)),
        }
    }

    /// Every live repertoire, by name.
    pub async fn repertoires(&self) -> Result<Vec<Repertoire>, WorkerError> {
        match self.request(Request::Repertoires).await? {
            Response::Repertoires(list) => Ok(list),
            other => Err(unexpected(other)),
        }
    }

    /// A live repertoire, or `None`.
    pub async fn get_repertoire(&self, id: Uuid) -> Result<Option<Repertoire>, WorkerError> {
        match self.request(Request::GetRepertoire { id }).await? {
            Response::Repertoire(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    /// Creates (`id: None`) or updates a repertoire; returns it as stored.
    pub async fn save_repertoire(
        &self,
        id: Option<Uuid>,
        draft: RepertoireDraft,
    ) -> Result<Repertoire, WorkerError> {
        match self.request(Request::SaveRepertoire { id, draft }).await? {
            Response::Repertoire(Some(r)) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    /// Puts tunes into a repertoire; returns how many were new to it.
    pub async fn add_to_repertoire(&self, repertoire: Uuid, tunes: Vec<Uuid>) -> Result<usize, WorkerError> {
        match self.request(Request::AddToRepertoire { repertoire, tunes }).await? {
            Response::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// Adds a reference to a tune.
    pub async fn add_reference(&self, tune: Uuid, draft: ReferenceDraft) -> Result<(), WorkerError> {
        self.run(Request::AddReference { tune, draft }).await
    }
}
