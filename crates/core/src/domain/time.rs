//! UTC timestamps with millisecond precision, stored and exchanged as ISO-8601 text
//! (`2026-11-26T05:28:59.123Z`), which sorts lexically in time order.

use std::fmt;
use std::str::FromStr;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Timestamp(pub i64);

/// Why a string is not an ISO-8601 timestamp this module understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO-8601 UTC timestamp: {0:?}")]
pub struct InvalidTimestamp(pub String);

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The platform clock, now.
    pub fn now() -> Self {
        Self(crate::platform::now_millis())
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    fn from_parts(year: i64, month: u32, day: u32, hms_ms: i64) -> Self {
        Self(days_from_civil(year, month, day) * MS_PER_DAY + hms_ms)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let rest = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let (h, min, s, ms) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
        write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
    }
}

impl FromStr for Timestamp {
    type Err = InvalidTimestamp;

    /// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM|±HH)`, the forms SQLite,
    /// JavaScript and PostgreSQL produce. Fractions beyond milliseconds are truncated.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidTimestamp(s.chars().take(64).collect());
        let b = s.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Result<i64, InvalidTimestamp> {
            let part = b.get(range).ok_or_else(err)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(err());
            }
            part.iter().try_fold(0i64, |acc, c| Some(acc * 10 + i64::from(c - b'0'))).ok_or_else(err)
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
            return Err(err());
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let (year, month, day) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(err());
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err());
        }
        let mut i = 19;
        let mut millis = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return Err(err());
            }
            let digits = &s[start..i.min(start + 3)];
            millis = digits.parse::<i64>().map_err(|_| err())? * 10i64.pow(3 - digits.len() as u32);
        }
        let offset_minutes = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) => {
                let hours = num(i + 1..i + 3)?;
                let minutes = match (b.len() - (i + 3), b.get(i + 3)) {
                    (0, _) => 0,
                    (3, Some(b':')) => num(i + 4..i + 6)?,
                    (2, _) => num(i + 3..i + 5)?,
                    _ => return Err(err()),
                };
                let total = hours * 60 + minutes;
                if sign == b'+' { total } else { -total }
            }
            _ => return Err(err()),
        };
        let hms = ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
        Ok(Self::from_parts(year, month, day, hms))
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

super::serde_as_text!(Timestamp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_795_238_939_123, "2026-11-21T05:28:59.123Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ];
        for (millis, text) in cases {
            assert_eq!(Timestamp(millis).to_string(), text);
            assert_eq!(text.parse::<Timestamp>(), Ok(Timestamp(millis)), "{text}");
        }
    }

    #[test]
    fn parses_other_producers() {
        let expected = Timestamp(1_795_238_939_123);
        for text in [
            "2026-11-21T05:28:59.123456+00:00",
            "2026-11-21 05:28:59.123+00",
            "2026-11-21T06:28:59.123+01:00",
            "2026-11-21T00:28:59.123-0500",
        ] {
            assert_eq!(text.parse::<Timestamp>(), Ok(expected), "{text}");
        }
        assert_eq!("2026-11-21T05:28:59Z".parse::<Timestamp>(), Ok(Timestamp(1_795_238_939_000)));
    }

    #[test]
    fn rejects_nonsense() {
        for text in [
            "",
            "2026-11-21",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-21T24:00:00Z",
            "2026-11-21T05:28:59",
            "2026-11-21T05:28:59.Z",
            "2026-11-21T05:28:59Zjunk",
            "yyyy-11-21T05:28:59Z",
        ] {
            assert!(text.parse::<Timestamp>().is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn round_trips_every_day_for_centuries() {
        let mut day = days_from_civil(1800, 1, 1);
        let end = days_from_civil(2300, 1, 1);
        while day < end {
            let ts = Timestamp(day * MS_PER_DAY + 45_296_789);
            assert_eq!(ts.to_string().parse::<Timestamp>(), Ok(ts));
            day += 1;
        }
    }
}
