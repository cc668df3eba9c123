//! What every part of the app shares, provided once at the root: the database worker,
//! the account, the settings, a data version that tells lists to reload, the sync
//! controller and the unsaved-changes guard.

use leptos::prelude::*;
use tunebook_core::supabase::SupabaseConfig;

use super::account::Account;
use super::db_client::DbClient;
use super::settings::Settings;
use super::sync::SyncController;
use super::unsaved::UnsavedChanges;

#[derive(Clone, Copy)]
pub struct AppContext {
    /// The database worker, once this tab owns the database.
    pub db: RwSignal<Option<DbClient>>,
    pub account: RwSignal<Account>,
    pub settings: RwSignal<Settings>,
    /// Bumped when the data under the pages changed wholesale (another database opened,
    /// changes pulled); pages that read it reload.
    pub data_version: RwSignal<u64>,
    pub sync: SyncController,
    pub unsaved: UnsavedChanges,
}

impl AppContext {
    pub fn new() -> Self {
        Self {
            db: RwSignal::new(None),
            account: RwSignal::new(Account::load()),
            settings: RwSignal::new(Settings::load()),
            data_version: RwSignal::new(0),
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

    /// Tells pages their data changed.
    pub fn data_changed(&self) {
        self.data_version.update(|v| *v += 1);
    }
}

/// The shared context. The root component provides it before anything else renders,
/// so its absence is a programming error, reported loudly.
pub fn use_app() -> AppContext {
    expect_context::<AppContext>()
}
