//! The entry point of the database worker (built by Trunk as a module worker).

#[cfg(target_arch = "wasm32")]
fn main() {
    tunebook::worker::start();
}

/// The worker only runs in a browser; natively this binary does nothing.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
