//! Adoption: when a musician signs in, the rows of every synced table they made while
//! signed out (in the signed-out database) move into their account's database, queue
//! and all, so they are pushed to the account rather than lost.

use tunebook_core::tables::TableId;

use super::{Database, DbError};
use super::{practice, records};

impl Database {
    /// Moves every synced row and unsynced change from the database file `other` into
    /// this one. Returns how many tunes moved. Safe to repeat after an interruption: tunes are
    /// copied by id and a change is only queued if its record has none here yet.
    pub fn adopt_from(&mut self, other: &str) -> Result<usize, DbError> {
        self.conn.execute("ATTACH DATABASE ?1 AS adopt", [other])?;
        let result = self.adopt_attached();
        // Detaching can only fail while a statement on it is running; none is.
        let _ = self.conn.execute("DETACH DATABASE adopt", []);
        result
    }

    fn adopt_attached(&mut self) -> Result<usize, DbError> {
        let present = |name: &str| -> Result<bool, DbError> {
            let n: i64 = self.conn.query_row(
                "SELECT count(*) FROM adopt.sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |r| r.get(0),
            )?;
            Ok(n > 0)
        };
        if !present("sync_queue")? {
            return Ok(0);
        }
        let tables: Vec<TableId> =
            TableId::ALL.into_iter().filter(|t| present(t.name()).unwrap_or(false)).collect();
        let adopt_has_schedules = present("practice_schedule")?;
        let tx = self.conn.transaction()?;
        let mut moved = 0;
        for table in &tables {
            // Same schema on both sides (both were migrated by this build), so one
            // column list serves; the upsert never deletes a row here.
            let columns = records::all_columns(*table);
            let n = tx.execute(
                &format!(
                    "INSERT INTO main.{name} ({columns}) SELECT {columns} FROM adopt.{name} WHERE true
                     ON CONFLICT (id) DO UPDATE SET {}",
                    records::take_excluded(*table),
                    name = table.name()
                ),
                [],
            )?;
            if *table == TableId::Tune {
                moved = n;
            }
        }
        tx.execute(
            "INSERT INTO main.sync_queue
                 (table_name, record_id, operation, data, created_at, attempts, last_attempt_at, error, status)
             SELECT table_name, record_id, operation, data, created_at, attempts, last_attempt_at, error,
                    CASE status WHEN 'syncing' THEN 'pending' ELSE status END
             FROM adopt.sync_queue a
             WHERE a.status <> 'synced' AND NOT EXISTS (
                 SELECT 1 FROM main.sync_queue m
                 WHERE m.table_name = a.table_name AND m.record_id = a.record_id AND m.status <> 'synced')
             ORDER BY a.id",
            [],
        )?;
        tx.execute("DELETE FROM adopt.sync_queue", [])?;
        for table in tables.iter().rev() {
            tx.execute(&format!("DELETE FROM adopt.{}", table.name()), [])?;
        }
        if adopt_has_schedules {
            tx.execute("DELETE FROM adopt.practice_schedule", [])?;
        }
        practice::rebuild_schedules(&tx)?;
        tx.commit()?;
        Ok(moved)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use tunebook_core::domain::{TuneDraft, Uuid};

    fn draft(title: &str) -> TuneDraft {
        TuneDraft { title: title.into(), ..TuneDraft::default() }
    }

    #[test]
    fn signed_out_tunes_and_their_queue_move_into_the_account_database() {
        let dir = std::env::temp_dir().join(format!("tunebook-adopt-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let (signed_out, account) = (dir.join("tunebook.db"), dir.join("tunebook-user.db"));

        let mut local = Database::open(rusqlite::Connection::open(&signed_out).unwrap()).unwrap();
        let a = local.create_tune(&draft("Made offline")).unwrap();
        local.add_note(a.id, "Learnt from Jim").unwrap();
        local.add_tag(a.id, "session").unwrap();
        let b = local.create_tune(&draft("Edited offline")).unwrap();
        local.update_tune(b.id, &draft("Edited offline, twice")).unwrap();
        let device = local.device_id().to_string();
        drop(local);

        let mut user =
            Database::open_for_device(rusqlite::Connection::open(&account).unwrap(), Some(&device)).unwrap();
        assert_eq!(user.device_id(), device, "one device id per browser profile");
        let existing = user.create_tune(&draft("Already here")).unwrap();
        assert_eq!(user.adopt_from(signed_out.to_str().unwrap()).unwrap(), 2);
        assert_eq!(user.get_tune(a.id).unwrap().unwrap().fields.title, "Made offline");
        assert_eq!(user.get_tune(b.id).unwrap().unwrap().fields.title, "Edited offline, twice");
        assert!(user.get_tune(existing.id).unwrap().is_some());
        assert_eq!(user.notes(a.id).unwrap()[0].body, "Learnt from Jim", "every table moves");
        assert_eq!(user.tags(a.id).unwrap(), ["session"]);
        assert_eq!(user.queue_stats().unwrap().pending, 5, "every change queued, plus the account's own");

        // Repeating (an interrupted sign-in) neither duplicates nor loses anything.
        assert_eq!(user.adopt_from(signed_out.to_str().unwrap()).unwrap(), 0);
        assert_eq!(user.queue_stats().unwrap().pending, 5);
        let left = Database::open(rusqlite::Connection::open(&signed_out).unwrap()).unwrap();
        assert_eq!(
            left.list_tunes(&Default::default()).unwrap().total,
            0,
            "the signed-out database is emptied"
        );
        drop((user, left));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn adopting_from_a_missing_database_adopts_nothing() {
        let dir = std::env::temp_dir().join(format!("tunebook-adopt-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut db = Database::open(rusqlite::Connection::open(dir.join("a.db")).unwrap()).unwrap();
        assert_eq!(db.adopt_from(dir.join("missing.db").to_str().unwrap()).unwrap(), 0);
        drop(db);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
