//! Words the UI shows that follow rules worth testing (plurals, counts).

/// "1 tune", "37 tunes", or "5 of 37 tunes" when a filter hides some.
pub fn tune_count(matched: u64, total: u64) -> String {
    let noun = if total == 1 { "tune" } else { "tunes" };
    if matched == total { format!("{total} {noun}") } else { format!("{matched} of {total} {noun}") }
}

/// "Showing 51–100" for a page of `len` rows starting at `offset` (empty when no rows).
pub fn page_range(offset: u32, len: usize) -> String {
    if len == 0 { String::new() } else { format!("Showing {}–{}", offset + 1, offset as usize + len) }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
