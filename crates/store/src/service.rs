//! The database worker's request handler: answers the protocol's data requests from a
//! [`Database`]. Plain Rust, so the whole request path is tested natively. Requests that
//! manage database files or the network (open, adopt, delete, push) are the worker's.

use tunebook_core::protocol::{self, Request, Response, ResponseEnvelope, WorkerError};

use crate::db::{Applied, Database};

/// An answer, as computed now or as stored for a relayed request that came again.
// Lives for one message, as the bare result did before: boxing the common case would
// only add an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Answer {
    Now(Result<Response, WorkerError>),
    /// The encoded `result` given the first time (kept encoded: decoding it would take
    /// the whole reading side of the protocol into the worker).
    Stored(String),
}

impl Answer {
    /// The response envelope for request `id`.
    pub fn envelope(self, id: u64) -> String {
        match self {
            Answer::Now(result) => protocol::encode(&ResponseEnvelope { id, result }),
            Answer::Stored(result) => protocol::response_text(id, &result),
        }
    }
}

/// Answers a request relayed from another tab under `key` (see `tunebook_core::tabs`): a
/// write applied under the key before is answered from its stored answer, not applied
/// again. Without a key, as [`handle`].
pub fn handle_keyed(db: &mut Database, request: Request, key: Option<&str>) -> Answer {
    let Some(key) = key else {
        return Answer::Now(handle(db, request));
    };
    match db.applied(key) {
        Err(e) => return Answer::Now(Err(e.into())),
        Ok(Applied::Yes(Some(stored))) => return Answer::Stored(stored),
        // Applied, but the answer was not kept (the worker stopped in between): say so
        // rather than apply it again.
        Ok(Applied::Yes(None)) => return Answer::Now(Err(WorkerError::AlreadyApplied)),
        Ok(Applied::No) => {}
    }
    if let Err(e) = db.begin_request(key) {
        return Answer::Now(Err(e.into()));
    }
    let result = handle(db, request);
    let stored = result.is_ok().then(|| protocol::encode(&result));
    if let Err(e) = db.end_request(key, stored.as_deref()) {
        return Answer::Now(Err(e.into()));
    }
    Answer::Now(result)
}

/// Answers a data request.
pub fn handle(db: &mut Database, request: Request) -> Result<Response, WorkerError> {
    Ok(match request {
        Request::Open { .. }
        | Request::Adopt { .. }
        | Request::DeleteDatabase { .. }
        | Request::Push { .. }
        | Request::Pull { .. } => {
            return Err(WorkerError::BadMessage("handled by the worker, not the database".into()));
        }
        Request::ListTunes(q) => Response::Page(db.list_tunes(&q)?),
        Request::GetTune { id } => Response::Tune(db.get_tune(id)?),
        Request::CreateTune { draft } => Response::Saved(db.create_tune(&draft)?),
        Request::UpdateTune { id, draft } => Response::Saved(db.update_tune(id, &draft)?),
        Request::DeleteTune { id } => {
            db.delete_tune(id)?;
            Response::Deleted
        }
        Request::ImportTunes { drafts } => Response::Imported { count: db.import_tunes(&drafts)? },
        Request::QueueStats => Response::Stats(db.queue_stats()?),
        Request::FailedItems => Response::Items(db.failed_items()?),
        Request::Quarantined => Response::Quarantined(db.quarantined()?),
        Request::Export => Response::Exported(db.export_json()?),
        Request::RetryFailed { id } => {
            db.retry_failed(id)?;
            Response::Done
        }
        Request::DiscardFailed { id } => {
            db.discard_failed(id)?;
            Response::Done
        }
        Request::Conflicts => Response::Conflicts(db.conflicts()?),
        Request::ResolveConflict { id, choices } => {
            db.resolve_conflict(id, &choices)?;
            Response::Done
        }
        Request::TuneExtras { tune } => Response::Extras(db.tune_extras(tune)?),
        Request::AddNote { tune, body } => {
            db.add_note(tune, &body)?;
            Response::Done
        }
        Request::UpdateNote { id, body } => {
            db.update_note(id, &body)?;
            Response::Done
        }
        Request::DeleteNote { id } => {
            db.delete_note(id)?;
            Response::Done
        }
        Request::AddReference { tune, draft } => {
            db.add_reference(tune, &draft)?;
            Response::Done
        }
        Request::UpdateReference { id, draft } => {
            db.update_reference(id, &draft)?;
            Response::Done
        }
        Request::DeleteReference { id } => {
            db.delete_reference(id)?;
            Response::Done
        }
        Request::AddTag { tune, name } => {
            db.add_tag(tune, &name)?;
            Response::Done
        }
        Request::RemoveTag { tune, name } => {
            db.remove_tag(tune, &name)?;
            Response::Done
        }
        Request::AllTags => Response::Tags(db.all_tags()?),
        Request::Repertoires => Response::Repertoires(db.repertoires()?),
        Request::GetRepertoire { id } => Response::Repertoire(db.get_repertoire(id)?),
        Request::SaveRepertoire { id: None, draft } => {
            Response::Repertoire(Some(db.create_repertoire(&draft)?))
        }
        Request::SaveRepertoire { id: Some(id), draft } => {
            Response::Repertoire(Some(db.update_repertoire(id, &draft)?))
        }
        Request::DeleteRepertoire { id } => {
            db.delete_repertoire(id)?;
            Response::Done
        }
        Request::AddToRepertoire { repertoire, tunes } => {
            Response::Count(db.add_to_repertoire(repertoire, &tunes)?)
        }
        Request::RemoveFromRepertoire { repertoire, tune } => {
            db.remove_from_repertoire(repertoire, tune)?;
            Response::Done
        }
        Request::PracticeDay { repertoire, utc_offset_minutes } => {
            Response::PracticeDay(db.practice_day(repertoire, utc_offset_minutes)?)
        }
        Request::RateTune { repertoire, tune, rating } => {
            Response::Rated(db.rate_tune(repertoire, tune, rating)?)
        }
        Request::UndoRating { record } => {
            db.undo_rating(record)?;
            Response::Done
        }
        Request::SchedulePractice { repertoire, tune, due } => {
            db.schedule_practice(repertoire, tune, due)?;
            Response::Done
        }
        Request::TunePractice { tune } => Response::TunePractice(db.tune_practice(tune)?),
        Request::PracticeProgress { repertoire, utc_offset_minutes } => {
            Response::Progress(db.practice_progress(repertoire, utc_offset_minutes)?)
        }
        Request::SavePracticeSettings { repertoire, draft } => {
            Response::PracticeSettings(db.set_practice_settings(repertoire, &draft)?)
        }
        Request::ImportInto { drafts, repertoire } => {
            Response::Imported { count: db.import_tunes_into(&drafts, repertoire)? }
        }
        Request::TuneIdentities => Response::Identities(db.tune_identities()?),
        Request::Facets => {
            let (keys, types) = db.tune_facets()?;
            Response::Facets { keys, types }
        }
        Request::ExportAbc(query) => {
            let (text, tunes) = db.export_abc(&query)?;
            Response::Abc { text, tunes }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunebook_core::domain::TuneDraft;
    use tunebook_core::error::DbError;
    use tunebook_core::list::ListQuery;
    use tunebook_core::protocol::{RequestEnvelope, ResponseEnvelope, decode_request, encode};

    /// Sends a request through JSON both ways, as the real worker boundary does.
    fn round_trip(db: &mut Database, id: u64, request: Request) -> Result<Response, WorkerError> {
        let text = encode(&RequestEnvelope { id, request, key: None });
        let envelope = decode_request(&text).unwrap();
        let reply = encode(&ResponseEnvelope { id, result: handle(db, envelope.request) });
        let reply: ResponseEnvelope = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply.id, id);
        reply.result
    }

    #[test]
    fn crud_through_the_protocol() {
        let mut db = Database::open_in_memory().unwrap();
        let draft = TuneDraft { title: "The Kesh".into(), tune_type: "jig".into(), ..Default::default() };
        let Ok(Response::Saved(tune)) = round_trip(&mut db, 1, Request::CreateTune { draft }) else {
            panic!("create failed")
        };
        let got = round_trip(&mut db, 2, Request::GetTune { id: tune.id });
        assert_eq!(got, Ok(Response::Tune(Some(tune.clone()))));

        let draft = TuneDraft { title: "The Kesh Jig".into(), ..Default::default() };
        let Ok(Response::Saved(updated)) = round_trip(&mut db, 3, Request::UpdateTune { id: tune.id, draft })
        else {
            panic!("update failed")
        };
        assert_eq!(updated.fields.title, "The Kesh Jig");

        let Ok(Response::Page(page)) = round_trip(&mut db, 4, Request::ListTunes(ListQuery::default()))
        else {
            panic!("list failed")
        };
        assert_eq!(page.total, 1);

        assert_eq!(round_trip(&mut db, 5, Request::DeleteTune { id: tune.id }), Ok(Response::Deleted));
        assert_eq!(round_trip(&mut db, 6, Request::GetTune { id: tune.id }), Ok(Response::Tune(None)));
        assert_eq!(
            round_trip(&mut db, 7, Request::DeleteTune { id: tune.id }),
            Err(WorkerError::Db(DbError::NotFound))
        );
    }

    #[test]
    fn validation_errors_cross_the_boundary_typed() {
        let mut db = Database::open_in_memory().unwrap();
        let result = round_trip(&mut db, 9, Request::CreateTune { draft: TuneDraft::default() });
        let Err(WorkerError::Db(DbError::Invalid(errors))) = result else { panic!("{result:?}") };
        assert_eq!(errors.get(tunebook_core::domain::Field::Title), Some("Title is required."));
    }

    #[test]
    fn malformed_messages_are_answered_not_fatal() {
        let (id, err) = decode_request(r#"{"id":42,"request":{"Nope":{}}}"#).unwrap_err();
        assert_eq!(id, Some(42));
        assert!(matches!(err, WorkerError::BadMessage(_)));
        assert!(!err.is_retryable());
        let (id, _) = decode_request("not json").unwrap_err();
        assert_eq!(id, None);
    }

    #[test]
    fn file_and_network_requests_are_not_the_databases() {
        let mut db = Database::open_in_memory().unwrap();
        for request in [
            Request::Open { name: "x".into(), device_id: None },
            Request::Adopt { from: "x".into() },
            Request::DeleteDatabase { name: "x".into() },
        ] {
            assert!(matches!(handle(&mut db, request), Err(WorkerError::BadMessage(_))));
        }
    }

    /// A keyed answer as the requester reads it.
    fn decoded(answer: Answer) -> Result<Response, WorkerError> {
        match answer {
            Answer::Now(result) => result,
            Answer::Stored(text) => serde_json::from_str(&text).unwrap(),
        }
    }

    #[test]
    fn a_relayed_write_sent_again_is_answered_not_applied_twice() {
        let mut db = Database::open_in_memory().unwrap();
        let draft = TuneDraft { title: "Once".into(), ..Default::default() };
        let create = Request::CreateTune { draft };
        let first = handle_keyed(&mut db, create.clone(), Some("tab:1"));
        let again = handle_keyed(&mut db, create.clone(), Some("tab:1"));
        assert!(matches!(again, Answer::Stored(_)), "{again:?}");
        assert_eq!(decoded(again), decoded(first), "the stored answer");
        let Ok(Response::Page(page)) = handle(&mut db, Request::ListTunes(ListQuery::default())) else {
            panic!()
        };
        assert_eq!(page.total, 1, "applied once");
        assert_eq!(db.queue_stats().unwrap().pending, 1);
        // The stored answer makes the same envelope the first one did.
        let text = handle_keyed(&mut db, create.clone(), Some("tab:1")).envelope(4);
        let envelope: ResponseEnvelope = serde_json::from_str(&text).unwrap();
        assert_eq!((envelope.id, envelope.result.is_ok()), (4, true));
        // Another key is another request; no key is never deduplicated.
        decoded(handle_keyed(&mut db, create.clone(), Some("tab:2"))).unwrap();
        decoded(handle_keyed(&mut db, create, None)).unwrap();
        let Ok(Response::Page(page)) = handle(&mut db, Request::ListTunes(ListQuery::default())) else {
            panic!()
        };
        assert_eq!(page.total, 3);
        // Reads and failed writes leave no key behind: sent again, they run again.
        decoded(handle_keyed(&mut db, Request::QueueStats, Some("tab:3"))).unwrap();
        assert_eq!(db.applied("tab:3").unwrap(), Applied::No);
        let invalid = Request::CreateTune { draft: TuneDraft::default() };
        assert!(decoded(handle_keyed(&mut db, invalid, Some("tab:4"))).is_err());
        assert_eq!(db.applied("tab:4").unwrap(), Applied::No);
        // A write whose answer was lost with the worker is not applied again either.
        db.connection()
            .execute("UPDATE applied_request SET response = NULL WHERE key = 'tab:1'", [])
            .unwrap();
        let draft = TuneDraft { title: "Once".into(), ..Default::default() };
        assert_eq!(
            handle_keyed(&mut db, Request::CreateTune { draft }, Some("tab:1")),
            Answer::Now(Err(WorkerError::AlreadyApplied))
        );
        // Writes not made for a key record nothing.
        let count: i64 =
            db.connection().query_row("SELECT count(*) FROM applied_request", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn queue_requests_through_the_protocol() {
        let mut db = Database::open_in_memory().unwrap();
        let draft = TuneDraft { title: "Queued".into(), ..Default::default() };
        round_trip(&mut db, 1, Request::CreateTune { draft }).unwrap();
        let Ok(Response::Stats(stats)) = round_trip(&mut db, 2, Request::QueueStats) else { panic!() };
        assert_eq!(stats.pending, 1);
        let id = db.begin_push(10, &[]).unwrap()[0].0.id;
        db.mark_failed(&[id], "refused").unwrap();
        let Ok(Response::Items(items)) = round_trip(&mut db, 3, Request::FailedItems) else { panic!() };
        assert_eq!(items[0].error.as_deref(), Some("refused"));
        assert_eq!(round_trip(&mut db, 4, Request::RetryFailed { id }), Ok(Response::Done));
        assert_eq!(
            round_trip(&mut db, 5, Request::DiscardFailed { id }),
            Err(WorkerError::Db(DbError::NotFound)),
            "only refused changes can be discarded"
        );
    }
}
