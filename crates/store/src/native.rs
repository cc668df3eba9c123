//! Native (non-browser) plumbing for tests, benchmarks and tools: a blocking HTTP
//! [`Transport`] and a way to run the sync code's futures with it.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tunebook_core::supabase::{HttpRequest, HttpResponse, Method, NetworkError, Transport};

/// A blocking HTTP client: each `send` completes before it returns, so the futures
/// built on it never wait (see [`block_on`]).
#[derive(Clone)]
pub struct BlockingTransport {
    agent: ureq::Agent,
}

impl BlockingTransport {
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Self { agent }
    }
}

impl Default for BlockingTransport {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl Transport for BlockingTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetworkError> {
        let HttpRequest { method, url, headers, body } = request;
        let result = match method {
            Method::Get => {
                let mut r = self.agent.get(&url);
                for (k, v) in &headers {
                    r = r.header(k.as_str(), v.as_str());
                }
                r.call()
            }
            Method::Post | Method::Patch => {
                let mut r =
                    if method == Method::Post { self.agent.post(&url) } else { self.agent.patch(&url) };
                for (k, v) in &headers {
                    r = r.header(k.as_str(), v.as_str());
                }
                r.send(body.unwrap_or_default().as_bytes())
            }
        };
        let mut response = result.map_err(|e| match e {
            ureq::Error::Timeout(_) => NetworkError::Timeout,
            other => NetworkError::Unreachable(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| NetworkError::Unreachable(format!("reading the reply: {e}")))?;
        Ok(HttpResponse { status, body })
    }
}

/// Runs a future whose every await completes at once (code driven by
/// [`BlockingTransport`] or by test doubles). Panics if it would wait.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => {
            panic!("block_on: the future waited; use a transport that completes synchronously")
        }
    }
}
