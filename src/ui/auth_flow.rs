//! Signing in and out, as the app carries them out: which database opens, what is
//! adopted, pushed or deleted, and in which order.

use leptos::prelude::*;
use tunebook_core::protocol::{OpenInfo, SIGNED_OUT_DATABASE, WorkerError};
use tunebook_core::supabase::auth::{self, AuthError, Session};
use tunebook_core::supabase::fetch::FetchTransport;
use tunebook_core::supabase::{Transport, rest};

use super::account::{self, Account};
use super::context::AppContext;
use super::db_client::DbClient;

/// Opens the database for the remembered account state (at startup and when this tab
/// takes the lead), and starts syncing if signed in and this tab leads.
pub async fn open_current(app: AppContext) -> Result<OpenInfo, WorkerError> {
    let db = app.db().ok_or_else(|| WorkerError::WorkerStopped("no database worker".into()))?;
    let name = app.account.with_untracked(Account::database);
    let info = db.open(&name, account::device_id()).await?;
    account::remember_device_id(&info.device_id);
    if app.account.with_untracked(|a| a.session().is_some()) {
        app.sync.start(app);
    } else {
        app.sync.refresh_stats(app).await;
    }
    Ok(info)
}

/// After a successful sign-in or sign-up: opens the account's database, moves the tunes
/// made while signed out into it, remembers the session and starts syncing (which pushes
/// the adopted tunes at once).
pub async fn enter_account(app: AppContext, session: Session) -> Result<(), String> {
    let db = app.db().ok_or("Tunebook's database is not running in this tab.")?;
    let name = account::user_database(&session.user.id);
    let info = db.open(&name, account::device_id()).await.map_err(|e| e.to_string())?;
    account::remember_device_id(&info.device_id);
    db.adopt(SIGNED_OUT_DATABASE).await.map_err(|e| e.to_string())?;
    app.set_account(Account::SignedIn(session));
    app.data_changed();
    app.sync.start(app);
    super::tabs::account_changed();
    Ok(())
}

/// First step of signing out: stops background sync, tries one last push, and returns
/// how many changes would be lost (0 means it is safe to finish).
pub async fn prepare_sign_out(app: AppContext) -> u64 {
    app.sync.stop();
    app.sync.run(app, true).await;
    app.sync.status.with_untracked(|s| s.stats.unsynced())
}

/// Undoes [`prepare_sign_out`] when the musician cancels.
pub fn cancel_sign_out(app: AppContext) {
    if app.account.with_untracked(|a| a.session().is_some()) {
        app.sync.start(app);
    }
}

/// Finishes signing out: ends the session on the server (if it can be reached), deletes
/// the account's local database (its OPFS files) and the remembered session, and opens
/// an empty signed-out database.
pub async fn finish_sign_out(app: AppContext) -> Result<(), String> {
    let db = app.db().ok_or("Tunebook's database is not running in this tab.")?;
    let account = app.account.get_untracked();
    if let Some(session) = account.session() {
        // Best effort: the session also ends by itself when its tokens expire.
        let _ = auth::sign_out(&FetchTransport::default(), &app.supabase(), &session.access_token).await;
    }
    forget_account_here(app, &db, &account).await
}

/// Deletes the signed-in account on the server (typed `email` as confirmation), then this
/// device's copy, and opens an empty signed-out database. Unsynced changes go with it:
/// the account they would go to no longer exists.
pub async fn delete_account(app: AppContext, email: &str) -> Result<(), String> {
    let db = app.db().ok_or("Tunebook's database is not running in this tab.")?;
    let account = app.account.get_untracked();
    let session = account.session().ok_or("Sign in first.")?;
    app.sync.stop();
    let request = rest::delete_account(&app.supabase(), &session.access_token, email);
    let reply = FetchTransport::default().send(request).await;
    let failure = match reply {
        Ok(response) if response.is_success() => None,
        Ok(response) if response.status == 400 => {
            Some("That is not this account's e-mail address. Nothing was deleted.".to_string())
        }
        Ok(response) if response.status == 401 || response.status == 403 => {
            Some("Your session has ended: sign in again, then delete your account.".to_string())
        }
        Ok(response) => Some(format!("The server refused (HTTP {}). Nothing was deleted.", response.status)),
        Err(e) => Some(format!("Could not reach the sync server ({e}). Nothing was deleted.")),
    };
    if let Some(message) = failure {
        app.sync.start(app);
        return Err(message);
    }
    forget_account_here(app, &db, &account).await
}

/// Deletes the account's database on this device and opens an empty signed-out one.
async fn forget_account_here(app: AppContext, db: &DbClient, account: &Account) -> Result<(), String> {
    db.delete_database(&account.database()).await.map_err(|e| e.to_string())?;
    app.set_account(Account::SignedOut);
    db.open(SIGNED_OUT_DATABASE, account::device_id()).await.map_err(|e| e.to_string())?;
    app.sync.refresh_stats(app).await;
    app.data_changed();
    super::tabs::account_changed();
    Ok(())
}

/// An auth error in plain words for the form.
pub fn auth_message(e: &AuthError) -> String {
    match e {
        AuthError::Rejected { message, .. } => message.clone(),
        AuthError::Network(_) => {
            "Could not reach the sync server. Check your connection, or the Supabase URL in Settings.".into()
        }
        AuthError::BadReply { .. } => {
            format!("The sync server gave an unexpected answer ({e}). Check the Supabase URL in Settings.")
        }
    }
}
