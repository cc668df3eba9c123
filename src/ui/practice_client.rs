//! The database worker's practice requests as typed async calls.

use tunebook_core::domain::Uuid;
use tunebook_core::practice::progress::Progress;
use tunebook_core::practice::view::{PracticeDay, Rated, TunePractice};
use tunebook_core::practice::{Rating, Settings, SettingsDraft};
use tunebook_core::protocol::{Request, Response, WorkerError};

use super::db_client::{DbClient, unexpected};

/// Minutes this browser's clock is ahead of UTC (east positive), which places the
/// musician's day.
pub fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

impl DbClient {
    /// Today's practice for a repertoire.
    pub async fn practice_day(&self, repertoire: Uuid) -> Result<PracticeDay, WorkerError> {
        let request = Request::PracticeDay { repertoire, utc_offset_minutes: utc_offset_minutes() };
        match self.request(request).await? {
            Response::PracticeDay(day) => Ok(day),
            other => Err(unexpected(other)),
        }
    }

    /// Rates a tune now.
    pub async fn rate_tune(
        &self,
        repertoire: Uuid,
        tune: Uuid,
        rating: Rating,
    ) -> Result<Rated, WorkerError> {
        match self.request(Request::RateTune { repertoire, tune, rating }).await? {
            Response::Rated(rated) => Ok(rated),
            other => Err(unexpected(other)),
        }
    }

    /// A tune's practice in each repertoire it is in.
    pub async fn tune_practice(&self, tune: Uuid) -> Result<Vec<TunePractice>, WorkerError> {
        match self.request(Request::TunePractice { tune }).await? {
            Response::TunePractice(list) => Ok(list),
            other => Err(unexpected(other)),
        }
    }

    /// The Progress page's figures.
    pub async fn practice_progress(&self, repertoire: Uuid) -> Result<Progress, WorkerError> {
        let request = Request::PracticeProgress { repertoire, utc_offset_minutes: utc_offset_minutes() };
        match self.request(request).await? {
            Response::Progress(p) => Ok(p),
            other => Err(unexpected(other)),
        }
    }

    /// Stores a repertoire's practice settings.
    pub async fn save_practice_settings(
        &self,
        repertoire: Uuid,
        draft: SettingsDraft,
    ) -> Result<Settings, WorkerError> {
        match self.request(Request::SavePracticeSettings { repertoire, draft }).await? {
            Response::PracticeSettings(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }
}
