//! What every part of the app shares, provided once at the root: the database (this
//! tab's worker, or the leader tab's), the account, the settings, the per-table change
//! counters that tell pages to reload, the sync controller and the unsaved-changes guard.

use leptos::prelude::*;
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::tables::TableId;

use super::account::Account;
use super::changes::TableChanges;
use super::db_client::DbClient;
use super::settings::Settings;
use super::sync::SyncController;
use super::unsaved::UnsavedChanges;

#[derive(Clone, Copy)]
pub struct AppContext {
    /// The database: this tab's worker if it leads, else the leader tab's, relayed.
    pub db: RwSignal<Option<DbClient>>,
    pub account: RwSignal<Account>,
    pub settings: RwSignal<Settings>,
    /// Bumped per table when rows change under the pages (another tab wrote, changes
    /// were pulled, another database opened); pages track the tables they show.
    pub changes: TableChanges,
    pub sync: SyncController,
    pub unsaved: UnsavedChanges,
}

impl AppContext {
    pub fn new() -> Self {
        Self {
            db: RwSignal::new(None),
            account: RwSignal::new(Account::load()),
            settings: RwSignal::new(Settings::load()),
            changes: TableChanges::new(),
            sync: SyncController::new(),
            unsaved: UnsavedChanges::default(),
        }
    }

    /// The database worker, if running.
    pub fn db(&self) -> Option<DbClient> {
        self.db.get_untracked()
    }

    /// The Supabase project to talk to.
    pub fn supabase(&self) -> SupabaseConfig {
        self.settings.with_untracked(|s| s.supabase.clone())
    }

    /// Changes the account state and remembers it across reloads.
    pub fn set_account(&self, account: Account) {
        account.save();
        self.account.set(account);
    }

    /// Tells the pages here and in the other tabs that any table may have changed.
    pub fn data_changed(&self) {
        self.changes.bump(&TableId::ALL);
        super::tabs::changed(&TableId::ALL);
    }
}

/// The shared context. The root component provides it before anything else renders,
/// so its absence is a programming error, reported loudly.
pub fn use_app() -> AppContext {
    expect_context::<AppContext>()
}
