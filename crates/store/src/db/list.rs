//! The tune list query: filter, sort and one page of rows, plus the counts the list shows.

use super::records::parse_col;
use super::{Database, DbError, ListQuery, SortColumn, TunePage};
use tunebook_core::domain::TuneSummary;

/// Live tunes matching the filter (`?1` the trimmed filter, `?2` its LIKE pattern), the
/// tag `?5`, the repertoire `?6`, the key `?7` and the type `?8` (NULL: any). One statement shape for every case: an
/// unused test is true at once and SQLite never evaluates the rest of it.
const MATCHES: &str = "deleted = 0 AND (?1 = '' OR title LIKE ?2 ESCAPE '\\' \
     OR composer LIKE ?2 ESCAPE '\\' OR incipit LIKE ?2 ESCAPE '\\') \
     AND (?5 IS NULL OR id IN (SELECT tune_id FROM tag WHERE deleted = 0 AND name = ?5 COLLATE NOCASE)) \
     AND (?6 IS NULL OR id IN (SELECT tune_id FROM repertoire_tune WHERE repertoire_id = ?6 AND deleted = 0)) \
     AND (?7 IS NULL OR mode = ?7 COLLATE NOCASE) AND (?8 IS NULL OR type = ?8)";

/// How many live tunes there are.
const TOTAL_SQL: &str = "SELECT count(*) FROM tune WHERE deleted = 0";

/// How many live tunes match the filter.
fn matched_sql() -> String {
    format!("SELECT count(*) FROM tune WHERE {MATCHES}")
}

/// The ORDER BY list for a sort.
fn order_by(sort: SortColumn, descending: bool) -> String {
    let direction = if descending { " DESC" } else { "" };
    order_terms(sort).iter().map(|t| format!("{t}{direction}")).collect::<Vec<_>>().join(", ")
}

/// One page (`?3` rows from `?4`) of the matching tunes in the given order.
fn page_sql(sort: SortColumn, descending: bool) -> String {
    format!(
        "SELECT id, title, type, mode, genre, last_modified_at FROM tune
         WHERE {MATCHES} ORDER BY {} LIMIT ?3 OFFSET ?4",
        order_by(sort, descending)
    )
}

/// A query's values for [`MATCHES`]: the trimmed filter and its LIKE pattern, and the
/// tag, repertoire, key and type it narrows to (`None`: any).
struct Narrowing {
    filter: String,
    pattern: String,
    tag: Option<String>,
    repertoire: Option<String>,
    key: Option<String>,
    tune_type: Option<String>,
}

impl Narrowing {
    fn of(q: &ListQuery) -> Narrowing {
        let given =
            |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let filter = q.filter.trim().to_string();
        Narrowing {
            pattern: format!("%{}%", escape_like(&filter)),
            filter,
            tag: given(&q.tag),
            repertoire: q.repertoire.map(|r| r.to_string()),
            key: given(&q.key),
            tune_type: given(&q.tune_type),
        }
    }

    /// Whether every live tune matches.
    fn is_everything(&self) -> bool {
        self.filter.is_empty()
            && self.tag.is_none()
            && self.repertoire.is_none()
            && self.key.is_none()
            && self.tune_type.is_none()
    }

    /// The statement's parameters, with the page (`?3` rows from `?4`; -1 rows: all).
    fn params<'a>(&'a self, limit: &'a i64, offset: &'a i64) -> [&'a dyn rusqlite::ToSql; 8] {
        [&self.filter, &self.pattern, limit, offset, &self.tag, &self.repertoire, &self.key, &self.tune_type]
    }
}

impl Database {
    /// One page of live tunes matching `q.filter`, sorted by `q.sort`.
    pub fn list_tunes(&self, q: &ListQuery) -> Result<TunePage, DbError> {
        let narrowing = Narrowing::of(q);
        let total: i64 = self.conn.prepare_cached(TOTAL_SQL)?.query_row([], |r| r.get(0))?;
        let matched: i64 = if narrowing.is_everything() {
            total
        } else {
            // ?3 and ?4 (the page) are unused here but numbered, so bound.
            self.conn.prepare_cached(&matched_sql())?.query_row(narrowing.params(&0, &0), |r| r.get(0))?
        };
        let (total, matched) = (total as u64, matched as u64);

        let limit = q.limit.clamp(1, ListQuery::MAX_LIMIT);
        // A page past the end (rows deleted meanwhile) snaps back to the last page.
        let last_page_start = matched.saturating_sub(1) / u64::from(limit) * u64::from(limit);
        let offset = u64::from(q.offset).min(last_page_start) as u32;

        let rows = self
            .conn
            .prepare_cached(&page_sql(q.sort, q.descending))?
            .query_map(narrowing.params(&i64::from(limit), &i64::from(offset)), |r| {
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

    /// Every live tune matching `q` (filter, tag, repertoire, key, type; any paging
    /// ignored), in its sort order, as one ABC tune book. Returns the book and how many
    /// tunes it holds.
    pub fn export_abc(&self, q: &ListQuery) -> Result<(String, usize), DbError> {
        let sql = format!(
            "SELECT {} FROM tune WHERE {MATCHES} ORDER BY {} LIMIT ?3 OFFSET ?4",
            super::tunes::TUNE_COLUMNS,
            order_by(q.sort, q.descending)
        );
        let tunes = self
            .conn
            .prepare(&sql)?
            .query_map(Narrowing::of(q).params(&-1, &0), super::tunes::tune_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let book = tunebook_core::abc::write_book(tunes.iter().map(|t| &t.fields));
        Ok((book, tunes.len()))
    }

    /// Every live tune's (title, mode): what an import compares with to spot duplicates.
    pub fn tune_identities(&self) -> Result<Vec<(String, Option<String>)>, DbError> {
        let mut stmt = self.conn.prepare_cached("SELECT title, mode FROM tune WHERE deleted = 0")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The keys and types the live tunes have, for the list's Key and Type choices.
    pub fn tune_facets(&self) -> Result<(Vec<String>, Vec<String>), DbError> {
        let column = |sql: &str| -> Result<Vec<String>, DbError> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let values = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(values)
        };
        Ok((
            column(
                "SELECT DISTINCT mode FROM tune WHERE deleted = 0 AND mode IS NOT NULL ORDER BY mode COLLATE NOCASE",
            )?,
            column("SELECT DISTINCT type FROM tune WHERE deleted = 0 AND type IS NOT NULL ORDER BY type")?,
        ))
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
    use rusqlite::params;
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

    /// SQLite's plan for one of the statements `list_tunes` runs, with its parameters.
    fn plan(db: &Database, sql: &str, params: impl rusqlite::Params) -> String {
        let plan: Vec<String> = db
            .connection()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params, |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        plan.join("\n")
    }

    #[test]
    fn the_statements_the_list_runs_use_indexes() {
        let db = seeded();
        // The plan SQLite makes for the unfiltered list (the common case): every sort
        // reads its index in order (no sorting pass), and the total counts an index.
        let total = plan(&db, TOTAL_SQL, []);
        assert!(total.contains("USING COVERING INDEX"), "total: {total}");
        for (sort, index) in
            [(SortColumn::Title, "tune_by_title"), (SortColumn::LastModified, "tune_by_modified")]
        {
            for descending in [false, true] {
                let page = plan(
                    &db,
                    &page_sql(sort, descending),
                    params!["", "%%", 50, 0, None::<String>, None::<String>, None::<String>, None::<String>],
                );
                assert!(page.contains(index), "{sort:?} desc={descending}: {page}");
                assert!(!page.contains("TEMP B-TREE"), "{sort:?} desc={descending}: {page}");
            }
        }
        // The other sorts find their rows by index; ties (title, id) need a small sort.
        for (sort, index) in [
            (SortColumn::Type, "tune_by_type"),
            (SortColumn::Mode, "tune_by_mode"),
            (SortColumn::Genre, "tune_by_genre"),
        ] {
            let page = plan(
                &db,
                &page_sql(sort, false),
                params!["", "%%", 50, 0, None::<String>, None::<String>, None::<String>, None::<String>],
            );
            assert!(page.contains(index), "{sort:?}: {page}");
        }
        // A filter scans the live tunes once, by index, to count the matches.
        let matched = plan(
            &db,
            &matched_sql(),
            params!["reel", "%reel%", 0, 0, None::<String>, None::<String>, None::<String>, None::<String>],
        );
        assert!(matched.contains("tune_by_"), "matched: {matched}");
        // A tag or a repertoire is looked up by index, not by scanning every tag.
        let tagged = plan(
            &db,
            &matched_sql(),
            params!["", "%%", 0, 0, "session", None::<String>, None::<String>, None::<String>],
        );
        assert!(tagged.contains("tag_by_name"), "tag: {tagged}");
        let member = plan(
            &db,
            &matched_sql(),
            params!["", "%%", 0, 0, None::<String>, "r", None::<String>, None::<String>],
        );
        assert!(member.contains("repertoire_tune_by_repertoire"), "repertoire: {member}");
    }

    #[test]
    fn key_and_type_narrow_the_list_and_the_export_follows_the_query() {
        let db = seeded();
        let q = ListQuery { key: Some("e DORIAN".into()), ..ListQuery::default() };
        assert_eq!(
            db.list_tunes(&q).unwrap().rows.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
            ["cooley's", "Drowsy Maggie"]
        );
        let q = ListQuery { tune_type: Some("jig".into()), ..ListQuery::default() };
        assert_eq!(db.list_tunes(&q).unwrap().matched, 1);
        let (book, n) = db.export_abc(&q).unwrap();
        assert_eq!(n, 1);
        let read = tunebook_core::abc::parse_book(&book);
        assert_eq!(read.tunes[0].titles, ["Banish Misfortune"]);
        assert_eq!(read.tunes[0].key.as_ref().map(|k| k.to_string()).as_deref(), Some("D mixolydian"));
        let (all, n) = db.export_abc(&ListQuery::default()).unwrap();
        assert_eq!((n, tunebook_core::abc::parse_book(&all).tunes.len()), (5, 5));
        let (facet_keys, facet_types) = db.tune_facets().unwrap();
        assert!(facet_keys.contains(&"E dorian".to_string()) && facet_types.contains(&"reel".to_string()));
    }
}
