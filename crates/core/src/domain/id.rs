//! UUIDs made on the device (version 7: time-ordered, so rows created later sort later),
//! and parsing of UUIDs that arrive from URLs or the server.

use std::fmt;
use std::str::FromStr;

/// A 128-bit UUID, written in its canonical lower-case hyphenated form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid([u8; 16]);

/// Why a string is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID: {0:?}")]
pub struct InvalidUuid(pub String);

impl Uuid {
    /// A version 7 UUID from a Unix time in milliseconds and 10 random bytes.
    ///
    /// The 48-bit timestamp leads, so ids sort by creation time; the random bits
    /// make two devices creating a tune in the same millisecond collide with
    /// negligible probability.
    pub fn v7(unix_millis: u64, random: [u8; 10]) -> Self {
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
        b[6..].copy_from_slice(&random);
        b[6] = (b[6] & 0x0f) | 0x70; // version 7
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        Self(b)
    }

    /// A version 7 UUID for "now", using the platform clock and random source.
    pub fn now_v7() -> Self {
        let mut random = [0u8; 10];
        crate::platform::fill_random(&mut random);
        Self::v7(crate::platform::now_millis().max(0) as u64, random)
    }

    /// A version 8 UUID derived from `parts` (FNV-1a, 128-bit): the same parts give the
    /// same id on every device. Used for rows that are facts ("this tune is in that
    /// repertoire"), so the same fact recorded on two devices offline is one row.
    pub fn derived(parts: &[&str]) -> Self {
        const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
        const PRIME: u128 = 0x0000000001000000000000000000013b;
        let mut hash = OFFSET;
        for (i, part) in parts.iter().enumerate() {
            // A separator no text contains, so ("ab", "c") and ("a", "bc") differ.
            let sep: &[u8] = if i == 0 { &[] } else { &[0xff] };
            for byte in sep.iter().chain(part.as_bytes()) {
                hash ^= u128::from(*byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
        let mut b = hash.to_be_bytes();
        b[6] = (b[6] & 0x0f) | 0x80; // version 8: custom
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        Self(b)
    }

    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The version nibble (7 for ids made here; the server may hold others).
    pub fn version(&self) -> u8 {
        self.0[6] >> 4
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl FromStr for Uuid {
    type Err = InvalidUuid;

    /// Accepts the hyphenated 36-character form, in either case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidUuid(s.chars().take(64).collect());
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return Err(err());
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0usize;
        for (i, &c) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return Err(err());
                }
                continue;
            }
            let v = (c as char).to_digit(16).ok_or_else(err)? as u8;
            out[nibbles / 2] |= if nibbles.is_multiple_of(2) { v << 4 } else { v };
            nibbles += 1;
        }
        Ok(Self(out))
    }
}

super::serde_as_text!(Uuid);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_layout_and_round_trip() {
        let id = Uuid::v7(0x0190_1234_5678, [0xff; 10]);
        let text = id.to_string();
        assert_eq!(text, "01901234-5678-7fff-bfff-ffffffffffff");
        assert_eq!(id.version(), 7);
        assert_eq!(text.parse::<Uuid>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<Uuid>(), Ok(id));
    }

    #[test]
    fn later_ids_sort_later() {
        let a = Uuid::v7(1_000, [0xff; 10]);
        let b = Uuid::v7(1_001, [0x00; 10]);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn now_v7_ids_differ() {
        assert_ne!(Uuid::now_v7(), Uuid::now_v7());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "not-a-uuid",
            "01901234-5678-7fff-bfff-fffffffffff",
            "01901234-5678-7fff-bfff-fffffffffffff",
            "01901234x5678-7fff-bfff-ffffffffffff",
            "0190123g-5678-7fff-bfff-ffffffffffff",
            "01901234-5678-7fff-bfff-ffffffffffé",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_as_string() {
        let id: Uuid = "01901234-5678-7fff-bfff-ffffffffffff".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"01901234-5678-7fff-bfff-ffffffffffff\"");
        assert_eq!(serde_json::from_str::<Uuid>(&json).unwrap(), id);
        assert!(serde_json::from_str::<Uuid>("\"nope\"").is_err());
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = Uuid::derived(&["tag", "t1", "session"]);
        assert_eq!(a, Uuid::derived(&["tag", "t1", "session"]));
        assert_eq!(a.version(), 8);
        assert_ne!(a, Uuid::derived(&["tag", "t1", "sessio"]));
        assert_ne!(Uuid::derived(&["ab", "c"]), Uuid::derived(&["a", "bc"]));
        assert_eq!(a.to_string().parse::<Uuid>(), Ok(a));
        // Pinned: a change here would split every tag and membership in two.
        // (Computed independently: FNV-1a 128 of "x", version 8, RFC 4122 variant.)
        assert_eq!(Uuid::derived(&["x"]).to_string(), "d228cb69-781a-8caf-b891-2b704e4a9477");
    }
}
