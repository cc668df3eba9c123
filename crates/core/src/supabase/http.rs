//! HTTP as plain values: the requests the Supabase client makes and the responses it
//! reads, and the one trait a platform implements to send them (fetch in the browser,
//! a blocking client in native tests).

use serde::{Deserialize, Serialize};

/// The HTTP methods the client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// A request, fully described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl HttpRequest {
    /// A request with no headers or body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), body: None }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets a JSON body (and its content type).
    pub fn json(self, body: &serde_json::Value) -> Self {
        self.json_text(body.to_string())
    }

    /// Sets a body that is already JSON text (and its content type).
    pub fn json_text(mut self, body: String) -> Self {
        self.body = Some(body);
        self.header("Content-Type", "application/json")
    }

    /// The value of a header set on this request (names compare case-insensitively).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A response: the status and the body text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

impl HttpResponse {
    /// A response with just a status and a body.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self { status, body: body.into() }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The request never got an HTTP answer. Always worth retrying later.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum NetworkError {
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    #[error("the server did not answer in time")]
    Timeout,
}

/// Sends requests. The browser implements it with `fetch`; tests with a native client.
#[allow(async_fn_in_trait)] // used single-threaded (wasm) and in tests; no Send bound wanted
pub trait Transport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetworkError>;
}
