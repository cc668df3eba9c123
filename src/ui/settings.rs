//! The app's settings: which Supabase project to sync with and how often. Defaults come
//! from the build (the local stack); Settings overrides them in this browser.

use serde::{Deserialize, Serialize};
use tunebook_core::supabase::SupabaseConfig;

use super::storage;

const KEY: &str = "tunebook.settings";

/// The shortest and longest background sync intervals offered.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 2..=3600;

/// Settings as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub supabase: SupabaseConfig,
    /// Seconds between background syncs.
    pub sync_interval_secs: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { supabase: SupabaseConfig::default(), sync_interval_secs: 30 }
    }
}

impl Settings {
    /// This browser's settings, or the defaults.
    pub fn load() -> Self {
        storage::load(KEY).unwrap_or_default()
    }

    /// Stores the settings; false if the browser refused.
    pub fn save(&self) -> bool {
        storage::save(KEY, self)
    }

    /// Forgets this browser's overrides.
    pub fn reset() {
        storage::remove(KEY);
    }
}
