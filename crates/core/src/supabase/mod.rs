//! A small typed client for the parts of Supabase Tunebook uses: GoTrue (sign-up,
//! sign-in, token refresh, sign-out) and PostgREST (tune upserts). Requests are built
//! and responses parsed as plain values; a [`Transport`] sends them, so the same code
//! runs in the browser and in native tests against the local stack.

pub mod auth;
pub mod http;
pub mod realtime;
pub mod rest;

#[cfg(target_arch = "wasm32")]
pub mod fetch;

pub use http::{HttpRequest, HttpResponse, Method, NetworkError, Transport};

use serde::{Deserialize, Serialize};

/// The local stack's URL, unless the build says otherwise (`TUNEBOOK_SUPABASE_URL`).
pub const DEFAULT_URL: &str = match option_env!("TUNEBOOK_SUPABASE_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:54321",
};

/// The local stack's anon key (the Supabase CLI's public demo key), unless the build
/// says otherwise (`TUNEBOOK_SUPABASE_ANON_KEY`).
pub const DEFAULT_ANON_KEY: &str = match option_env!("TUNEBOOK_SUPABASE_ANON_KEY") {
    Some(key) => key,
    None => {
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
    }
};

/// Which Supabase project to talk to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupabaseConfig {
    /// The project URL, e.g. `https://abc.supabase.co` or `http://127.0.0.1:54321`.
    pub url: String,
    /// The project's public API key: the legacy JWT-shaped anon key, or the publishable
    /// key (`sb_publishable_…`) newer projects issue. Both travel in the `apikey` header.
    pub anon_key: String,
}

impl Default for SupabaseConfig {
    fn default() -> Self {
        Self { url: DEFAULT_URL.into(), anon_key: DEFAULT_ANON_KEY.into() }
    }
}

impl SupabaseConfig {
    /// The full URL of an API path such as `/auth/v1/token`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }

    /// A request to `path` carrying the API key (and the bearer token when given).
    pub fn request(&self, method: Method, path: &str, bearer: Option<&str>) -> HttpRequest {
        let request = HttpRequest::new(method, self.endpoint(path))
            .header("apikey", &self.anon_key)
            .header("X-Client-Info", "tunebook/0.1");
        match bearer {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    /// Checks a configuration typed into Settings.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err("The Supabase URL must start with https:// (or http:// for a local stack).".into());
        }
        let key = self.anon_key.trim();
        if key.starts_with("sb_secret_") {
            return Err("That is a secret key, which must never be put in an app: use the project's \
                        publishable key (sb_publishable_…) or its anon key."
                .into());
        }
        let publishable = key.strip_prefix("sb_publishable_").is_some_and(|rest| {
            rest.len() >= 8 && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        let jwt_shaped = key.split('.').count() == 3 && key.len() > 20;
        if !(publishable || jwt_shaped) {
            return Err("Use the project's publishable key (it starts with sb_publishable_) or its anon \
                        key (a long text with two dots), from the project's API settings."
                .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_requests() {
        let cfg = SupabaseConfig { url: "https://x.supabase.co/".into(), anon_key: DEFAULT_ANON_KEY.into() };
        assert_eq!(cfg.endpoint("/rest/v1/tune"), "https://x.supabase.co/rest/v1/tune");
        let r = cfg.request(Method::Get, "/auth/v1/user", Some("tok"));
        assert_eq!(r.header_value("apikey"), Some(DEFAULT_ANON_KEY));
        assert_eq!(r.header_value("authorization"), Some("Bearer tok"));
        assert!(cfg.validate().is_ok());
        assert!(SupabaseConfig { url: "ftp://x".into(), ..cfg.clone() }.validate().is_err());
        assert!(SupabaseConfig::default().validate().is_ok());
        let with_key = |key: &str| SupabaseConfig { anon_key: key.into(), ..cfg.clone() }.validate();
        assert!(with_key("sb_publishable_kSYmQqAeH-mrpv6VqvJEUpqMfeI").is_ok());
        assert!(with_key(" sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH ").is_ok(), "trimmed");
        assert!(with_key(DEFAULT_ANON_KEY).is_ok());
        for bad in ["nope", "a.b.c", "sb_publishable_", "sb_publishable_has spaces in it", ""] {
            assert!(with_key(bad).is_err(), "{bad:?}");
        }
        let secret = with_key("sb_secret_DGNDW5O_3miPIJAUMVA68ma096M").unwrap_err();
        assert!(secret.contains("secret key"), "{secret}");
    }
}
