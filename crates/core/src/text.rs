//! Words the UI shows that follow rules worth testing (plurals, counts, status).

/// "1 tune", "37 tunes", or "5 of 37 tunes" when a filter hides some.
pub fn tune_count(matched: u64, total: u64) -> String {
    let noun = if total == 1 { "tune" } else { "tunes" };
    if matched == total { format!("{total} {noun}") } else { format!("{matched} of {total} {noun}") }
}

/// What the musician reads for a queued change or a set-aside row of `table_name`:
/// a tune's title ("The Kesh"), another row's kind and text ("Note “Slower in the B
/// part”", "Tag “session”"), or, when the change carries no text (a delete), its kind
/// and id.
pub fn row_label(table_name: &str, record_id: &str, data: Option<&str>) -> String {
    use crate::tables::TableId;
    let table = TableId::parse(table_name);
    let noun = match table {
        Some(TableId::RepertoireTune) => "Tune in a repertoire",
        Some(t) => t.spec().noun,
        None => "Row",
    };
    let mut noun_cased = noun.to_string();
    if let Some(first) = noun_cased.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let text = table
        .filter(|t| *t != TableId::RepertoireTune)
        .zip(data.and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()))
        .and_then(|(t, row)| row.get(t.spec().title_column)?.as_str().map(str::to_string))
        .filter(|t| !t.trim().is_empty());
    match (table, text) {
        (Some(TableId::Tune), Some(title)) => title,
        (_, Some(text)) => {
            let short: String = text.chars().take(60).collect();
            let ellipsis = if short.len() < text.len() { "…" } else { "" };
            format!("{noun_cased} “{short}{ellipsis}”")
        }
        (_, None) => format!("{noun_cased} {record_id}"),
    }
}

/// "Showing 51–100" for a page of `len` rows starting at `offset` (empty when no rows).
pub fn page_range(offset: u32, len: usize) -> String {
    if len == 0 { String::new() } else { format!("Showing {}–{}", offset + 1, offset as usize + len) }
}

/// The sync status line: "Local only", "Synced", "Syncing 3", "Offline – 2 pending",
/// "1 failed", "4 pending".
pub fn sync_status(signed_in: bool, online: bool, running: bool, stats: &crate::sync::QueueStats) -> String {
    if !signed_in {
        "Local only".into()
    } else if running {
        format!("Syncing {}", stats.pending + stats.syncing)
    } else if !online {
        format!("Offline – {} pending", stats.pending + stats.syncing)
    } else if stats.failed > 0 {
        format!("{} failed", stats.failed)
    } else if stats.pending + stats.syncing > 0 {
        format!("{} pending", stats.pending + stats.syncing)
    } else {
        "Synced".into()
    }
}

/// The pull's progress: "Downloading your tunebook… 4,000 of 12,000" (rows of every
/// table; without the total when the server did not say).
pub fn download_progress(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("Downloading your tunebook… {} of {}", thousands(done), thousands(total)),
        None => format!("Downloading your tunebook… {}", thousands(done)),
    }
}

/// 12000 → "12,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 conflict" / "3 conflicts".
pub fn conflicts(n: u64) -> String {
    if n == 1 { "1 conflict".into() } else { format!("{n} conflicts") }
}

/// "1 change" / "3 changes".
pub fn changes(n: u64) -> String {
    if n == 1 { "1 change".into() } else { format!("{n} changes") }
}

/// A byte count for people: "850 B", "12.3 KB", "4.1 MB", "2.0 GB".
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000.0 {
        return format!("{n:.0} B");
    }
    let mut value = n / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// How long ago, roughly: "just now", "5 seconds ago", "3 minutes ago", "2 hours ago",
/// "4 days ago".
pub fn ago(seconds: i64) -> String {
    let plural =
        |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds {
        s if s < 5 => "just now".into(),
        s if s < 60 => plural(s, "second"),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

/// When a tune rated now comes back: "in 1 day", "in 4 days", "in 3 months",
/// "in 1.5 years" (a month is 30 days here: the button only needs the size).
pub fn comes_back_in(days: i64) -> String {
    match days {
        1 => "in 1 day".into(),
        d if d < 60 => format!("in {d} days"),
        d if d < 365 => format!("in {} months", (d as f64 / 30.0).round()),
        d => format!("in {:.1} years", d as f64 / 365.0),
    }
}

/// Today's practice so far: "7 of 12 today".
pub fn practised_of(done: u32, total: u32) -> String {
    format!("{done} of {total} today")
}

/// "1 tune" / "3 tunes".
pub fn tunes(n: u32) -> String {
    if n == 1 { "1 tune".into() } else { format!("{n} tunes") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::QueueStats;

    #[test]
    fn practice_texts_read_naturally() {
        let cases = [
            (1, "in 1 day"),
            (4, "in 4 days"),
            (59, "in 59 days"),
            (90, "in 3 months"),
            (548, "in 1.5 years"),
        ];
        for (days, text) in cases {
            assert_eq!(comes_back_in(days), text);
        }
        assert_eq!(practised_of(7, 12), "7 of 12 today");
        assert_eq!((tunes(1), tunes(0)), ("1 tune".to_string(), "0 tunes".to_string()));
    }

    #[test]
    fn sizes_and_ages_read_naturally() {
        let sizes =
            [(0.0, "0 B"), (999.0, "999 B"), (12_345.0, "12.3 KB"), (4_100_000.0, "4.1 MB"), (2e9, "2.0 GB")];
        for (n, text) in sizes {
            assert_eq!(bytes(n), text);
        }
        let ages = [
            (0, "just now"),
            (5, "5 seconds ago"),
            (61, "1 minute ago"),
            (7_300, "2 hours ago"),
            (200_000, "2 days ago"),
        ];
        for (s, text) in ages {
            assert_eq!(ago(s), text);
        }
    }

    #[test]
    fn sync_status_reads_plainly() {
        let stats =
            |pending, syncing, failed| QueueStats { pending, syncing, failed, ..QueueStats::default() };
        let cases = [
            ((false, true, false, stats(3, 0, 0)), "Local only"),
            ((true, true, true, stats(2, 1, 0)), "Syncing 3"),
            ((true, false, false, stats(2, 0, 0)), "Offline – 2 pending"),
            ((true, true, false, stats(1, 0, 2)), "2 failed"),
            ((true, true, false, stats(4, 0, 0)), "4 pending"),
            ((true, true, false, stats(0, 0, 0)), "Synced"),
        ];
        for ((signed_in, online, running, s), text) in cases {
            assert_eq!(sync_status(signed_in, online, running, &s), text);
        }
        assert_eq!((changes(1), changes(2)), ("1 change".to_string(), "2 changes".to_string()));
        assert_eq!((conflicts(1), conflicts(3)), ("1 conflict".to_string(), "3 conflicts".to_string()));
        assert_eq!(download_progress(4000, Some(12000)), "Downloading your tunebook… 4,000 of 12,000");
        assert_eq!(download_progress(5, None), "Downloading your tunebook… 5");
        for (n, text) in [(0, "0"), (999, "999"), (1000, "1,000"), (1234567, "1,234,567")] {
            assert_eq!(thousands(n), text);
        }
    }

    #[test]
    fn counts_read_naturally() {
        let cases = [
            ((0, 0), "0 tunes"),
            ((1, 1), "1 tune"),
            ((37, 37), "37 tunes"),
            ((5, 37), "5 of 37 tunes"),
            ((0, 1), "0 of 1 tune"),
        ];
        for ((matched, total), text) in cases {
            assert_eq!(tune_count(matched, total), text);
        }
    }

    #[test]
    fn page_ranges_are_one_based() {
        assert_eq!(page_range(0, 0), "");
        assert_eq!(page_range(0, 50), "Showing 1–50");
        assert_eq!(page_range(50, 3), "Showing 51–53");
    }

    #[test]
    fn rows_are_labelled_for_the_musician() {
        let cases = [
            ("tune", Some(r#"{"title":"The Kesh","type":"jig"}"#), "The Kesh"),
            ("note", Some(r#"{"body":"Slower in the B part"}"#), "Note “Slower in the B part”"),
            ("tag", Some(r#"{"name":"session"}"#), "Tag “session”"),
            (
                "reference",
                Some(r#"{"url":"https://thesession.org/tunes/55"}"#),
                "Reference “https://thesession.org/tunes/55”",
            ),
            ("repertoire_tune", Some(r#"{"tune_id":"x"}"#), "Tune in a repertoire 01"),
            ("note", None, "Note 01"),
            ("tune", Some("not json"), "Tune 01"),
            ("setlist", None, "Row 01"),
        ];
        for (table, data, expected) in cases {
            assert_eq!(row_label(table, "01", data), expected, "{table}");
        }
        let long = format!(r#"{{"body":"{}"}}"#, "é".repeat(80));
        assert_eq!(row_label("note", "01", Some(&long)), format!("Note “{}…”", "é".repeat(60)));
    }
}
