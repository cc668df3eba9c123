//! Deterministic, realistic-looking sample tunes for benchmarks and demos: the same seed
//! gives the same tunes on every platform, so browser and native runs store equal data.

use crate::domain::{TUNE_TYPES, TuneDraft};

const FIRST: &[&str] = &[
    "The",
    "Miss",
    "Lady",
    "Old",
    "Jenny's",
    "Paddy's",
    "The Humours of",
    "The Banks of",
    "Fisher's",
    "The Road to",
    "Tom's",
    "The Rambling",
    "Kitty's",
    "The Maid of",
    "Dowd's",
    "The Star of",
];
const SECOND: &[&str] = &[
    "Kesh",
    "Bucks",
    "Ennis",
    "Lisdoonvarna",
    "Castle",
    "Wedding",
    "Garden",
    "Reel",
    "Frolic",
    "Hornpipe",
    "Farewell",
    "Lark",
    "Morning",
    "Fancy",
    "Rambler",
    "Piper",
    "Fiddler",
    "Harvest",
];
const MODES: &[&str] = &["D major", "G major", "A dorian", "E minor", "A mixolydian", "B minor", "E dorian"];
const GENRES: &[&str] = &["Irish", "Scottish", "Cape Breton", "Old-time", "Shetland"];
const COMPOSERS: &[&str] = &["", "", "", "Ed Reavy", "Paddy Fahy", "J. Scott Skinner", "Liz Carroll"];
const PHRASES: &[&str] =
    &["|:DFA dAF|GBd gfe|", "|:A2FA DAFA|G2BG dGBG|", "|:e2ae fdec|dBAF GBAG|", "|:B2EB cBAB|d2fd Adfd|"];

/// `count` sample drafts; `seed` varies the mix.
pub fn drafts(count: usize, seed: u64) -> Vec<TuneDraft> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |n: usize| {
        // xorshift64*: fast, portable, good enough to vary sample data.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    };
    (0..count)
        .map(|i| {
            let phrase = PHRASES[next(PHRASES.len())];
            TuneDraft {
                title: format!("{} {} No. {}", FIRST[next(FIRST.len())], SECOND[next(SECOND.len())], i + 1),
                tune_type: TUNE_TYPES[next(TUNE_TYPES.len())].to_string(),
                structure: ["AABB", "AABBCC", "ABC", "AAB"][next(4)].to_string(),
                mode: MODES[next(MODES.len())].to_string(),
                genre: GENRES[next(GENRES.len())].to_string(),
                composer: COMPOSERS[next(COMPOSERS.len())].to_string(),
                artist: String::new(),
                release_year: if next(3) == 0 { (1900 + next(120)).to_string() } else { String::new() },
                incipit: format!(
                    "X:{}\nM:4/4\nL:1/8\nK:{}\n{phrase}{phrase}",
                    i + 1,
                    &MODES[next(MODES.len())][..1]
                ),
                abc: String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate;

    #[test]
    fn samples_are_valid_varied_and_deterministic() {
        let a = drafts(500, 7);
        assert_eq!(a, drafts(500, 7));
        assert_ne!(a, drafts(500, 8));
        assert!(a.iter().all(|d| validate(d).is_ok()));
        let types: std::collections::HashSet<_> = a.iter().map(|d| d.tune_type.as_str()).collect();
        assert!(types.len() > 5);
    }
}
