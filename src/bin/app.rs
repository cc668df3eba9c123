//! The browser entry point of the Tunebook page (built by Trunk).

#[cfg(target_arch = "wasm32")]
fn main() {
    tunebook::ui::start();
}

/// The app only runs in a browser; natively this binary does nothing.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
