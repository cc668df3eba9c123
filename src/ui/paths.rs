//! Where the app is served: at the site's root, or under a sub-path (Trunk's
//! `public_url`, which Trunk writes into `<base href>`). Links and the files the app
//! loads itself (its worker, its service worker) go through [`href`]; the router is given
//! [`base`] and prefixes it to the paths passed to `navigate`.

use std::sync::OnceLock;

/// The sub-path without a trailing slash: "" at the root, "/tunebook" under `/tunebook/`.
pub fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let base_uri = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.base_uri().ok().flatten())
            .unwrap_or_default();
        let path = web_sys::Url::new(&base_uri).map(|u| u.pathname()).unwrap_or_default();
        path.trim_end_matches('/').to_string()
    })
}

/// An app path (`/tunes/new`) as a link to it (`/tunebook/tunes/new` under a sub-path).
pub fn href(path: &str) -> String {
    format!("{}{path}", base())
}

/// The app path of a location's path (the inverse of [`href`]).
pub fn app_path(pathname: &str) -> &str {
    match pathname.strip_prefix(base()) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => pathname,
    }
}
