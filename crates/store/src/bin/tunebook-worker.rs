//! The entry point of the database worker (built by Trunk as a module worker).
//! It links only the store, never the UI.

#[cfg(target_arch = "wasm32")]
fn main() {
    tunebook_store::worker::start();
}

/// The worker only runs in a browser; natively this binary does nothing.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
