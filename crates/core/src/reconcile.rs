//! What to do with a row pulled from the server, decided from what this device has:
//! a pure function, so every case is a table row in a test. The store carries the
//! decision out in SQL.

use crate::record::Record;

/// The decision for one pulled row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullAction {
    /// New here: insert it.
    Insert,
    /// This device's own write coming back: only remember it as the merge base.
    Echo,
    /// No local change to keep: take the server's row whole.
    TakeTheirs,
    /// A local change started from this version or a newer one: keep it. `rebase`: the
    /// server's row is exactly the version the change started from, so it becomes the
    /// merge base.
    KeepMine { rebase: bool },
    /// A local change and a newer server version: merge (or keep both as a conflict).
    Merge,
    /// The row already waits for the musician: re-check the conflict against this version.
    RefreshConflict,
}

/// Decides what a pulled row `theirs` does to the local row `mine`. `unsent`: the row
/// has a change that has not reached the server; `in_conflict`: it waits for the musician.
pub fn plan_pulled(mine: Option<&Record>, unsent: bool, in_conflict: bool, theirs: &Record) -> PullAction {
    if in_conflict {
        return PullAction::RefreshConflict;
    }
    let Some(mine) = mine else { return PullAction::Insert };
    match unsent {
        false if theirs.sync_version == mine.sync_version && theirs.content == mine.content => {
            PullAction::Echo
        }
        false => PullAction::TakeTheirs,
        true if theirs.sync_version <= mine.sync_version => {
            PullAction::KeepMine { rebase: theirs.sync_version == mine.sync_version }
        }
        true => PullAction::Merge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Timestamp, Tune, TuneFields, Uuid};

    fn tune(version: i64, title: &str) -> Record {
        Record::from(&Tune {
            id: Uuid::v7(1, [0; 10]),
            fields: TuneFields { title: title.into(), ..TuneFields::default() },
            user_id: None,
            created_at: Timestamp(1),
            last_modified_at: Timestamp(1),
            sync_version: version,
            device_id: "d".into(),
            deleted: false,
        })
    }

    #[test]
    fn pulled_row_decisions() {
        use PullAction::*;
        let cases = [
            // (mine, unsent, in conflict, theirs) -> action
            (None, false, false, tune(1, "A"), Insert),
            (Some(tune(2, "A")), false, false, tune(2, "A"), Echo),
            (Some(tune(2, "A")), false, false, tune(3, "B"), TakeTheirs),
            // Same version, different content, nothing unsent: the server is right.
            (Some(tune(2, "A")), false, false, tune(2, "B"), TakeTheirs),
            (Some(tune(2, "mine")), true, false, tune(2, "A"), KeepMine { rebase: true }),
            (Some(tune(3, "mine")), true, false, tune(2, "A"), KeepMine { rebase: false }),
            (Some(tune(2, "mine")), true, false, tune(3, "B"), Merge),
            (Some(tune(2, "mine")), true, true, tune(3, "B"), RefreshConflict),
            (None, false, true, tune(3, "B"), RefreshConflict),
        ];
        for (i, (mine, unsent, conflict, theirs, expected)) in cases.into_iter().enumerate() {
            assert_eq!(plan_pulled(mine.as_ref(), unsent, conflict, &theirs), expected, "case {i}");
        }
    }
}
