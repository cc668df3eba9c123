//! Who is signed in, kept across reloads, and which database that means.

use serde::{Deserialize, Serialize};
use tunebook_core::domain::Uuid;
use tunebook_core::protocol::database_name;
use tunebook_core::supabase::auth::{AuthUser, Session};

use super::storage;

const SESSION_KEY: &str = "tunebook.session";
const DEVICE_KEY: &str = "tunebook.device_id";

/// The musician's account state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Account {
    /// Not signed in: tunes stay on this device only.
    SignedOut,
    SignedIn(Session),
    /// The session could not be renewed (signed out elsewhere, or expired while away).
    /// The account's tunes and unsynced changes stay on this device until the musician
    /// signs in again.
    Ended {
        user: AuthUser,
    },
}

impl Account {
    /// This browser's remembered account state.
    pub fn load() -> Self {
        storage::load(SESSION_KEY).unwrap_or(Account::SignedOut)
    }

    /// Remembers this state across reloads.
    pub fn save(&self) {
        match self {
            Account::SignedOut => storage::remove(SESSION_KEY),
            other => {
                storage::save(SESSION_KEY, other);
            }
        }
    }

    /// The account's user, if any.
    pub fn user(&self) -> Option<&AuthUser> {
        match self {
            Account::SignedOut => None,
            Account::SignedIn(session) => Some(&session.user),
            Account::Ended { user } => Some(user),
        }
    }

    /// The database this state uses.
    pub fn database(&self) -> String {
        database_name(self.user().map(|u| &u.id))
    }

    pub fn session(&self) -> Option<&Session> {
        match self {
            Account::SignedIn(session) => Some(session),
            _ => None,
        }
    }
}

/// This browser profile's device id, once known.
pub fn device_id() -> Option<String> {
    storage::load(DEVICE_KEY)
}

/// Remembers the device id the database reported.
pub fn remember_device_id(id: &str) {
    storage::save(DEVICE_KEY, &id);
}

/// The account database for a user id.
pub fn user_database(id: &Uuid) -> String {
    database_name(Some(id))
}
