//! Writes the one instrument Tunebook plays ABC with: a soft, plucked-string tone made
//! here by additive synthesis (no recorded samples, so nothing to license), one short
//! WAV per piano key in the layout abcjs's synth fetches
//! (`<dir>/acoustic_grand_piano-mp3/<note>.mp3`: abcjs asks for that name and
//! extension; the browser decodes the WAV inside by its content). Run by Trunk after
//! each build (see Trunk.toml):
//!   tunebook-soundfont <dir>

use std::io::Write;

/// 11 kHz mono, 16-bit: enough for a tune's melody (partials above 5 kHz are left out),
/// and 88 notes stay near 1.5 MB.
const RATE: u32 = 11_025;
/// Long enough for a held note at a session tempo; abcjs stops each note at its length.
const SECONDS: f64 = 0.75;
/// The highest partial written (below half the rate).
const TOP: f64 = 5_000.0;
const NAMES: [&str; 12] = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"];

/// abcjs's name for a MIDI pitch ("A4", "Db5").
fn note_name(pitch: u32) -> String {
    format!("{}{}", NAMES[(pitch % 12) as usize], pitch / 12 - 1)
}

/// One note: a few harmonics with a quick attack and a decay, higher notes decaying faster.
fn samples(pitch: u32) -> Vec<i16> {
    let freq = 440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0);
    let n = (f64::from(RATE) * SECONDS) as usize;
    let decay = 2.5 + freq / 400.0;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let attack = (t / 0.008).min(1.0);
            let release = ((SECONDS - t) / 0.05).clamp(0.0, 1.0);
            let mut v = 0.0;
            for (k, amp) in [1.0, 0.5, 0.28, 0.16, 0.08].iter().enumerate() {
                let f = freq * (k + 1) as f64;
                if f < TOP {
                    v += amp
                        * (2.0 * std::f64::consts::PI * f * t).sin()
                        * (-(decay * (k + 1) as f64 * 0.6) * t).exp();
                }
            }
            (v * attack * release * 0.35 * f64::from(i16::MAX)) as i16
        })
        .collect()
}

fn wav(samples: &[i16]) -> Vec<u8> {
    let data = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: tunebook-soundfont <dir>");
        std::process::exit(2);
    };
    let dir = std::path::Path::new(&dir).join("acoustic_grand_piano-mp3");
    std::fs::create_dir_all(&dir)?;
    // The piano's 88 keys, A0 to C8: every pitch abcjs may ask for.
    for pitch in 21..=108 {
        let mut file = std::fs::File::create(dir.join(format!("{}.mp3", note_name(pitch))))?;
        file.write_all(&wav(&samples(pitch)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_named_as_abcjs_asks_for_them() {
        assert_eq!(
            [note_name(21), note_name(60), note_name(61), note_name(69), note_name(108)],
            ["A0", "C4", "Db4", "A4", "C8"]
        );
    }

    #[test]
    fn each_note_is_a_valid_short_wav_that_does_not_clip() {
        let s = samples(69);
        assert_eq!(s.len(), 8_268);
        assert!(s.iter().any(|v| v.unsigned_abs() > 5_000), "audible");
        let w = wav(&s);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(w.len(), 44 + 2 * s.len());
    }
}
