//! Helpers for the backend's integration tests: HTTP calls and sub-case runners.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::{Value, json};
use tunebook_backend::testing::TestStack;

/// The request header that selects GoTrue's 2024 error shape (`{"code", "message"}`).
pub const NEW_SHAPE: (&str, &str) = ("x-supabase-api-version", "2024-01-01");

/// A response: status, headers (lower-case names) and the body as JSON (Null if empty
/// or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends a request with the given headers and JSON body (none if `Null`).
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Value) -> Reply {
    let agent = agent();
    let response = match method {
        "GET" | "DELETE" | "OPTIONS" | "HEAD" => {
            let mut req = match method {
                "GET" => agent.get(url).force_send_body(),
                "DELETE" => agent.delete(url).force_send_body(),
                "HEAD" => agent.head(url).force_send_body(),
                _ => agent.options(url).force_send_body(),
            };
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send_empty()
        }
        _ => {
            let mut req = match method {
                "PATCH" => agent.patch(url),
                "PUT" => agent.put(url),
                _ => agent.post(url),
            };
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if body.is_null() { req.send_empty() } else { req.send_json(&body) }
        }
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_lowercase(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, headers, body, text }
}

/// The stack's API, called with its anon key (and a user's token when given).
pub struct Api<'a> {
    pub stack: &'a TestStack,
}

impl Api<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.stack().api_url)
    }

    pub fn anon(&self) -> &str {
        &self.stack.stack().anon_key
    }

    /// A call with the anon key as `apikey`, optional bearer token and extra headers.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Value,
    ) -> Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = vec![("apikey", self.anon())];
        if let Some(b) = bearer.as_deref() {
            headers.push(("authorization", b));
        }
        headers.extend_from_slice(extra);
        call(method, &self.url(path), &headers, body)
    }

    /// `POST /auth/v1/token?grant_type=password`, asking for the 2024 error shape.
    pub fn password_grant(&self, email: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/auth/v1/token?grant_type=password",
            None,
            &[NEW_SHAPE],
            json!({"email": email, "password": password}),
        )
    }

    /// `POST /auth/v1/token?grant_type=refresh_token`, asking for the 2024 error shape.
    pub fn refresh_grant(&self, refresh_token: &str) -> Reply {
        self.call(
            "POST",
            "/auth/v1/token?grant_type=refresh_token",
            None,
            &[NEW_SHAPE],
            json!({"refresh_token": refresh_token}),
        )
    }

    /// Signs up (auto-confirmed) and returns (user id, access token, refresh token).
    pub fn sign_up(&self, email: &str, password: &str) -> (String, String, String) {
        let r =
            self.call("POST", "/auth/v1/signup", None, &[], json!({"email": email, "password": password}));
        assert_eq!(r.status, 200, "signup {email}: {}", r.text);
        (
            r.body["user"]["id"].as_str().unwrap_or_default().to_string(),
            r.body["access_token"].as_str().unwrap_or_default().to_string(),
            r.body["refresh_token"].as_str().unwrap_or_default().to_string(),
        )
    }
}

/// A named test case over a shared context.
pub type Case<C> = (&'static str, fn(&C));

/// Runs every named case even if some fail, then fails listing the ones that did.
pub fn run_cases<C>(ctx: &C, cases: &[Case<C>]) {
    let mut failed = Vec::new();
    for (name, case) in cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(ctx)));
        if result.is_err() {
            failed.push(*name);
        }
    }
    assert!(failed.is_empty(), "failed cases: {failed:?}");
}

/// A unique e-mail address for this run.
pub fn email(tag: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{tag}-{n}@example.org")
}
