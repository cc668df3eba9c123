//! A repertoire's practice settings, stored as columns of the repertoire row (so they
//! sync and merge field by field with it). An empty column means the default.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::library::InputError;
use crate::merge::Content;

/// Checked practice settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The chance of still knowing a tune when it comes back (0.70–0.99).
    pub desired_retention: f64,
    /// Tunes per day, new ones included; 0 = no limit.
    pub max_reviews_per_day: u32,
    pub new_per_day: u32,
    /// The longest wait before a tune comes back, in days.
    pub max_interval_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            desired_retention: 0.9,
            max_reviews_per_day: 20,
            new_per_day: 5,
            max_interval_days: 36_500,
        }
    }
}

const RETENTION: (f64, f64) = (0.7, 0.99);
const MAX_REVIEWS: u32 = 1_000;
const MAX_NEW: u32 = 100;
const MAX_INTERVAL: u32 = 36_500;

impl Settings {
    /// The settings stored in a repertoire's row (out-of-range values, which another
    /// client could have written, fall back to the default).
    pub fn from_repertoire(content: &Content) -> Settings {
        let d = Settings::default();
        let int = |name: &str, max: u32| {
            content.get(name).as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n <= max)
        };
        Settings {
            desired_retention: content
                .get("desired_retention")
                .as_f64()
                .filter(|r| (RETENTION.0..=RETENTION.1).contains(r))
                .unwrap_or(d.desired_retention),
            max_reviews_per_day: int("max_reviews_per_day", MAX_REVIEWS).unwrap_or(d.max_reviews_per_day),
            new_per_day: int("new_per_day", MAX_NEW).unwrap_or(d.new_per_day),
            max_interval_days: int("max_interval", MAX_INTERVAL)
                .filter(|n| *n >= 1)
                .unwrap_or(d.max_interval_days),
        }
    }

    /// The repertoire columns holding these settings.
    pub fn to_columns(self) -> [(&'static str, Value); 4] {
        [
            ("desired_retention", Value::from(self.desired_retention)),
            ("max_reviews_per_day", Value::from(self.max_reviews_per_day)),
            ("new_per_day", Value::from(self.new_per_day)),
            ("max_interval", Value::from(self.max_interval_days)),
        ]
    }

    /// The form showing these settings.
    pub fn to_draft(self) -> SettingsDraft {
        SettingsDraft {
            desired_retention: self.desired_retention.to_string(),
            max_reviews_per_day: self.max_reviews_per_day.to_string(),
            new_per_day: self.new_per_day.to_string(),
            max_interval_days: self.max_interval_days.to_string(),
        }
    }
}

/// The settings form, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsDraft {
    pub desired_retention: String,
    pub max_reviews_per_day: String,
    pub new_per_day: String,
    pub max_interval_days: String,
}

fn whole(field: &str, label: &str, text: &str, min: u32, max: u32) -> Result<u32, InputError> {
    text.trim().parse::<u32>().ok().filter(|n| (min..=max).contains(n)).ok_or_else(|| InputError {
        field: field.into(),
        message: format!("{label} must be a whole number from {min} to {max}."),
    })
}

impl SettingsDraft {
    /// Checks the form: retention 0.70–0.99, at most 1,000 reviews and 100 new tunes a
    /// day, a maximum interval of 1–36,500 days.
    pub fn validate(&self) -> Result<Settings, InputError> {
        let retention = self.desired_retention.trim().parse::<f64>().ok().filter(|r| {
            // Two decimals at most: what the field offers, and what merges exactly.
            (RETENTION.0..=RETENTION.1).contains(r) && ((r * 100.0).round() - r * 100.0).abs() < 1e-9
        });
        let Some(desired_retention) = retention else {
            return Err(InputError {
                field: "desired-retention".into(),
                message: "Desired retention must be a number from 0.70 to 0.99 (two decimals at most)."
                    .into(),
            });
        };
        Ok(Settings {
            desired_retention,
            max_reviews_per_day: whole(
                "max-reviews",
                "Maximum reviews per day",
                &self.max_reviews_per_day,
                0,
                MAX_REVIEWS,
            )?,
            new_per_day: whole("new-per-day", "New tunes per day", &self.new_per_day, 0, MAX_NEW)?,
            max_interval_days: whole(
                "max-interval",
                "Maximum interval",
                &self.max_interval_days,
                1,
                MAX_INTERVAL,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::TableId;
    use std::collections::BTreeMap;

    fn draft(r: &str, max: &str, new: &str, interval: &str) -> SettingsDraft {
        SettingsDraft {
            desired_retention: r.into(),
            max_reviews_per_day: max.into(),
            new_per_day: new.into(),
            max_interval_days: interval.into(),
        }
    }

    #[test]
    fn the_form_accepts_sane_settings_and_names_the_bad_field() {
        let ok = draft("0.85", "0", "3", "365").validate().unwrap();
        assert_eq!(
            ok,
            Settings {
                desired_retention: 0.85,
                max_reviews_per_day: 0,
                new_per_day: 3,
                max_interval_days: 365
            }
        );
        for (d, field) in [
            (draft("0.5", "20", "5", "100"), "desired-retention"),
            (draft("0.905", "20", "5", "100"), "desired-retention"),
            (draft("abc", "20", "5", "100"), "desired-retention"),
            (draft("0.9", "-1", "5", "100"), "max-reviews"),
            (draft("0.9", "20", "101", "100"), "new-per-day"),
            (draft("0.9", "20", "5", "0"), "max-interval"),
        ] {
            assert_eq!(d.validate().unwrap_err().field, field, "{d:?}");
        }
    }

    #[test]
    fn stored_settings_round_trip_and_empty_columns_mean_the_defaults() {
        let empty = Content::new(TableId::Repertoire, BTreeMap::new(), false);
        assert_eq!(Settings::from_repertoire(&empty), Settings::default());
        let s = Settings {
            desired_retention: 0.8,
            max_reviews_per_day: 0,
            new_per_day: 2,
            max_interval_days: 90,
        };
        let fields = s.to_columns().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(Settings::from_repertoire(&Content::new(TableId::Repertoire, fields, false)), s);
        assert_eq!(s.to_draft().validate().unwrap(), s);
    }
}
