//! The tune list query: filter, sort and one page of rows, plus the counts the list shows.

use rusqlite::params;

use super::tunes::parse_col;
use super::{Database, DbError, ListQuery, SortColumn, TunePage};
use tunebook_core::domain::TuneSummary;

impl Database {
    /// One page of live tunes matching `q.filter`, sorted by `q.sort`.
    pub fn list_tunes(&self, q: &ListQuery) -> Result<TunePage, DbError> {
        let filter = q.filter.trim();
        // One statement shape for both cases: with an empty filter the first test is true
        // and SQLite never evaluates the LIKEs.
        let pattern = format!("%{}%", escape_like(filter));
        const MATCHES: &str = "deleted = 0 AND (?1 = '' OR title LIKE ?2 ESCAPE '\\' \
             OR composer LIKE ?2 ESCAPE '\\' OR incipit LIKE ?2 ESCAPE '\\')";

        let total: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM tune WHERE deleted = 0")?
            .query_row([], |r| r.get(0))?;
        let matched: i64 = if filter.is_empty() {
            total
        } else {
            self.conn
                .prepare_cached(&format!("SELECT count(*) FROM tune WHERE {MATCHES}"))?
                .query_row(params![filter, pattern], |r| r.get(0))?
        };
        let (total, matched) = (total as u64, matched as u64);

        let limit = q.limit.clamp(1, ListQuery::MAX_LIMIT);
        // A page past the end (rows deleted meanwhile) snaps back to the last page.
        let last_page_start = matched.saturating_sub(1) / u64::from(limit) * u64::from(limit);
        let offset = u64::from(q.offset).min(last_page_start) as u32;

        let direction = if q.descending { " DESC" } else { "" };
        let order =
            order_terms(q.sort).iter().map(|t| format!("{t}{direction}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT id, title, type, mode, genre, last_modified_at FROM tune
             WHERE {MATCHES} ORDER BY {order} LIMIT ?3 OFFSET ?4"
        );
        let rows = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![filter, pattern, limit, offset], |r| {
                Ok(TuneSummary {
                    id: parse_col(r, 0)?,
                    title: r.get(1)?,
                    tune_type: r.get(2)?,
                    mode: r.get(3)?,
                    genre: r.get(4)?,
                    last_modified_at: parse_col(r, 5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TunePage { rows, matched, total, offset })
    }
}

/// ORDER BY terms for ascending order (`DESC` is applied to each for descending).
/// Every order ends in a unique key so paging is stable.
fn order_terms(sort: SortColumn) -> &'static [&'static str] {
    match sort {
        SortColumn::Title => &["title COLLATE NOCASE", "id"],
        SortColumn::Type => &["type COLLATE NOCASE", "title COLLATE NOCASE", "id"],
        SortColumn::Mode => &["mode COLLATE NOCASE", "title COLLATE NOCASE", "id"],
        SortColumn::Genre => &["genre COLLATE NOCASE", "title COLLATE NOCASE", "id"],
        SortColumn::LastModified => &["last_modified_at", "id"],
    }
}

/// Escapes LIKE wildcards so a filter of `50%` matches the text "50%".
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunebook_core::domain::{Timestamp, TuneDraft};

    fn seeded() -> Database {
        let mut db = Database::open_in_memory().unwrap();
        let rows = [
            ("Banish Misfortune", "jig", "D mixolydian", "Irish", "", "|:fed cAG|"),
            ("cooley's", "reel", "E dorian", "Irish", "Joe Cooley", "|:D2|EBBA B2EB|"),
            ("Ashokan Farewell", "waltz", "D major", "American", "Jay Ungar", ""),
            ("The 50% Reel", "reel", "", "", "", "abc_def"),
            ("Drowsy Maggie", "reel", "E dorian", "Irish", "", "|:E2BE dEBE|"),
        ];
        for (i, (title, tune_type, mode, genre, composer, incipit)) in rows.iter().enumerate() {
            // Distinct, increasing modification times.
            let clocks: [fn() -> Timestamp; 5] = [
                || Timestamp(1_000),
                || Timestamp(2_000),
                || Timestamp(3_000),
                || Timestamp(4_000),
                || Timestamp(5_000),
            ];
            db.set_clock(clocks[i]);
            db.create_tune(&TuneDraft {
                title: (*title).into(),
                tune_type: (*tune_type).into(),
                mode: (*mode).into(),
                genre: (*genre).into(),
                composer: (*composer).into(),
                incipit: (*incipit).into(),
                ..TuneDraft::default()
            })
            .unwrap();
        }
        db
    }

    fn titles(db: &Database, q: &ListQuery) -> Vec<String> {
        db.list_tunes(q).unwrap().rows.into_iter().map(|r| r.title).collect()
    }

    #[test]
    fn sorts_by_each_column_both_ways() {
        let db = seeded();
        let cases: [(SortColumn, &[&str]); 5] = [
            (
                SortColumn::Title,
                &["Ashokan Farewell", "Banish Misfortune", "cooley's", "Drowsy Maggie", "The 50% Reel"],
            ),
            // Empty values (NULL) sort first ascending; ties break on title.
            (
                SortColumn::Type,
                &["Banish Misfortune", "cooley's", "Drowsy Maggie", "The 50% Reel", "Ashokan Farewell"],
            ),
            (
                SortColumn::Mode,
                &["The 50% Reel", "Ashokan Farewell", "Banish Misfortune", "cooley's", "Drowsy Maggie"],
            ),
            (
                SortColumn::Genre,
                &["The 50% Reel", "Ashokan Farewell", "Banish Misfortune", "cooley's", "Drowsy Maggie"],
            ),
            (
                SortColumn::LastModified,
                &["Banish Misfortune", "cooley's", "Ashokan Farewell", "The 50% Reel", "Drowsy Maggie"],
            ),
        ];
        for (sort, expected) in cases {
            let q = ListQuery { sort, ..ListQuery::default() };
            assert_eq!(titles(&db, &q), expected, "{sort:?} ascending");
            let q = ListQuery { sort, descending: true, ..ListQuery::default() };
            let mut reversed: Vec<_> = expected.to_vec();
            reversed.reverse();
            assert_eq!(titles(&db, &q), reversed, "{sort:?} descending");
        }
    }

    #[test]
    fn filter_matches_title_composer_and_incipit_ignoring_case() {
        let db = seeded();
        let cases: [(&str, &[&str]); 9] = [
            ("", &["Ashokan Farewell", "Banish Misfortune", "cooley's", "Drowsy Maggie", "The 50% Reel"]),
            ("MAGGIE", &["Drowsy Maggie"]),
            ("cooley", &["cooley's"]),
            ("ungar", &["Ashokan Farewell"]),
            ("EBE", &["Drowsy Maggie"]),
            ("50%", &["The 50% Reel"]),
            ("a_c", &[]),
            ("c_d", &["The 50% Reel"]),
            ("  farewell  ", &["Ashokan Farewell"]),
        ];
        for (filter, expected) in cases {
            let q = ListQuery { filter: filter.into(), ..ListQuery::default() };
            let page = db.list_tunes(&q).unwrap();
            let got: Vec<_> = page.rows.iter().map(|r| r.title.as_str()).collect();
            assert_eq!(got, expected, "filter {filter:?}");
            assert_eq!(page.matched, expected.len() as u64);
            assert_eq!(page.total, 5);
        }
        // Wildcards typed by the musician are literal: "%" alone is not "everything".
        let q = ListQuery { filter: "%".into(), ..ListQuery::default() };
        assert_eq!(titles(&db, &q), ["The 50% Reel"]);
    }

    #[test]
    fn deleted_tunes_are_not_listed_or_counted() {
        let mut db = seeded();
        let first = db.list_tunes(&ListQuery::default()).unwrap().rows[0].id;
        db.delete_tune(first).unwrap();
        let page = db.list_tunes(&ListQuery::default()).unwrap();
        assert_eq!(page.total, 4);
        assert!(page.rows.iter().all(|r| r.id != first));
    }

    #[test]
    fn pages_cover_every_row_exactly_once() {
        let mut db = Database::open_in_memory().unwrap();
        let drafts: Vec<_> = (0..23)
            .map(|i| TuneDraft { title: format!("Tune {:02}", i % 7), ..TuneDraft::default() })
            .collect();
        db.import_tunes(&drafts).unwrap();
        let mut seen = Vec::new();
        for offset in (0..23).step_by(5) {
            let q = ListQuery { offset, limit: 5, ..ListQuery::default() };
            let page = db.list_tunes(&q).unwrap();
            assert_eq!(page.offset, offset);
            seen.extend(page.rows.into_iter().map(|r| r.id));
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (23, 23));
    }

    #[test]
    fn offset_past_the_end_snaps_to_last_page_and_limit_is_capped() {
        let db = seeded();
        let q = ListQuery { offset: 40, limit: 2, ..ListQuery::default() };
        let page = db.list_tunes(&q).unwrap();
        assert_eq!(page.offset, 4);
        assert_eq!(page.rows.len(), 1);
        let q = ListQuery { limit: 0, ..ListQuery::default() };
        assert_eq!(db.list_tunes(&q).unwrap().rows.len(), 1);
        let empty = Database::open_in_memory().unwrap();
        let page = empty.list_tunes(&ListQuery { offset: 10, ..ListQuery::default() }).unwrap();
        assert_eq!((page.offset, page.matched, page.rows.len()), (0, 0, 0));
    }

    #[test]
    fn title_sort_and_count_use_indexes() {
        let db = seeded();
        let plan: Vec<String> = db
            .connection()
            .prepare(
                "EXPLAIN QUERY PLAN SELECT id FROM tune WHERE deleted = 0
                 ORDER BY title COLLATE NOCASE, id LIMIT 50",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("tune_by_title"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
