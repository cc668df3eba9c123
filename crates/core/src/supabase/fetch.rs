//! The browser's [`Transport`]: `fetch`, from a window or a worker, with a timeout.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestInit, Response, Window, WorkerGlobalScope};

use super::{HttpRequest, HttpResponse, NetworkError, Transport};

/// `fetch` with a per-request timeout.
#[derive(Clone, Copy, Debug)]
pub struct FetchTransport {
    pub timeout_ms: u32,
}

impl Default for FetchTransport {
    fn default() -> Self {
        Self { timeout_ms: 30_000 }
    }
}

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| format!("{}: {}", String::from(e.name()), String::from(e.message())))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

impl Transport for FetchTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, NetworkError> {
        let init = RequestInit::new();
        init.set_method(request.method.as_str());
        if let Some(body) = &request.body {
            init.set_body(&JsValue::from_str(body));
        }
        init.set_signal(Some(&AbortSignal::timeout_with_u32(self.timeout_ms)));
        let js_request = Request::new_with_str_and_init(&request.url, &init)
            .map_err(|e| NetworkError::Unreachable(js_text(&e)))?;
        for (name, value) in &request.headers {
            js_request.headers().set(name, value).map_err(|e| NetworkError::Unreachable(js_text(&e)))?;
        }
        let global = js_sys::global();
        let promise = if let Some(window) = global.dyn_ref::<Window>() {
            window.fetch_with_request(&js_request)
        } else {
            global.unchecked_ref::<WorkerGlobalScope>().fetch_with_request(&js_request)
        };
        let response: Response = JsFuture::from(promise)
            .await
            .map_err(|e| {
                let text = js_text(&e);
                if text.starts_with("TimeoutError") {
                    NetworkError::Timeout
                } else {
                    NetworkError::Unreachable(text)
                }
            })?
            .unchecked_into();
        let text_promise = response.text().map_err(|e| NetworkError::Unreachable(js_text(&e)))?;
        let body = JsFuture::from(text_promise)
            .await
            .map_err(|e| NetworkError::Unreachable(js_text(&e)))?
            .as_string()
            .unwrap_or_default();
        Ok(HttpResponse { status: response.status(), body })
    }
}
