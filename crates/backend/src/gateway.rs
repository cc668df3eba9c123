//! The stand-in for Supabase's API gateway (Kong): requires an `apikey` on every request,
//! answers CORS as hosted Supabase does (any origin), serves `/auth/v1/*` from the auth
//! stand-in and proxies `/rest/v1/*` to PostgREST with status, headers and body untouched.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{Auth, AuthRequest};

type Body = BoxBody<Bytes, hyper::Error>;

/// Request headers browsers may send (the supabase-js set plus PostgREST's profile headers).
const ALLOWED_HEADERS: &str = "apikey, authorization, content-type, prefer, range, x-client-info, \
    x-supabase-api-version, accept-profile, content-profile";
/// Response headers browsers may read: paging and PostgREST/GoTrue metadata.
const EXPOSED_HEADERS: &str = "Content-Range, Content-Location, Location, Preference-Applied, \
    Range-Unit, X-Sb-Error-Code, X-Supabase-Api-Version";
/// Largest auth request body read (sign-up metadata is small).
const AUTH_BODY_LIMIT: usize = 256 * 1024;

/// What the gateway needs to answer requests.
pub struct Gateway {
    pub auth: Auth,
    /// PostgREST's base URL, e.g. `http://127.0.0.1:3000`.
    pub rest_upstream: String,
    pub anon_key: String,
    pub service_role_key: String,
    client: Client<HttpConnector, Body>,
}

impl Gateway {
    pub fn new(auth: Auth, rest_upstream: String, anon_key: String, service_role_key: String) -> Self {
        // Small request/response exchanges: without TCP_NODELAY, Nagle's algorithm and
        // delayed ACKs stall some of them by ~40 ms.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self { auth, rest_upstream, anon_key, service_role_key, client }
    }

    /// Serves connections from `listener` until `shutdown` changes.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        loop {
            let (stream, _peer): (_, SocketAddr) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    // Out of file descriptors and the like: keep serving the others.
                    Err(_) => continue,
                },
                _ = shutdown.changed() => return,
            };
            let _ = stream.set_nodelay(true);
            let gateway = self.clone();
            let mut conn_shutdown = shutdown.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(gateway.route(req).await) }
                });
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = conn_shutdown.changed() => conn.as_mut().graceful_shutdown(),
                }
            });
        }
    }

    async fn route(&self, req: Request<Incoming>) -> Response<Body> {
        let mut response = if req.method() == Method::OPTIONS {
            preflight(req.headers())
        } else {
            match self.check_api_key(&req) {
                Err(message) => json_response(401, &message),
                Ok(key) => {
                    let path = req.uri().path().to_string();
                    if let Some(rest) = path.strip_prefix("/rest/v1") {
                        self.proxy_rest(req, if rest.is_empty() { "/" } else { rest }, &key).await
                    } else if let Some(auth_path) = path.strip_prefix("/auth/v1") {
                        self.auth_request(req, auth_path).await
                    } else {
                        json_response(404, &json!({"message": "no Route matched with those values"}))
                    }
                }
            }
        };
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        response
    }

    /// Kong's key-auth: an `apikey` header (or query parameter) that is one of the keys.
    /// Returns the key.
    fn check_api_key(&self, req: &Request<Incoming>) -> Result<String, Value> {
        let from_query = req.uri().query().and_then(|q| crate::auth::query_param(q, "apikey"));
        let key =
            req.headers().get("apikey").and_then(|v| v.to_str().ok()).map(str::to_string).or(from_query);
        match key {
            None => Err(json!({"message": "No API key found in request"})),
            Some(k) if k == self.anon_key || k == self.service_role_key => Ok(k),
            Some(_) => Err(json!({
                "message": "Invalid API key",
                "hint": "Double check your Supabase `anon` or `service_role` API key."
            })),
        }
    }

    async fn auth_request(&self, req: Request<Incoming>, path: &str) -> Response<Body> {
        let api_version = header_str(req.headers(), "x-supabase-api-version").map(str::to_string);
        let bearer = header_str(req.headers(), "authorization")
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let method = req.method().as_str().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let body = match Limited::new(req.into_body(), AUTH_BODY_LIMIT).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return json_response(413, &json!({"code": 413, "msg": "Request body too large"}));
            }
        };
        let reply = self
            .auth
            .handle(AuthRequest {
                method: &method,
                path,
                query: &query,
                bearer: bearer.as_deref(),
                body: &body,
            })
            .await;
        match reply {
            Ok((204, _)) | Ok((_, None)) => empty_response(204),
            Ok((status, Some(body))) => json_response(status, &body),
            Err(e) => {
                let mut response = json_response(e.status, &e.body(api_version.as_deref()));
                if let Ok(code) = HeaderValue::from_str(e.code) {
                    response.headers_mut().insert("x-sb-error-code", code);
                }
                response
            }
        }
    }

    /// Forwards a request to PostgREST. As Kong does on hosted Supabase, the API key is
    /// removed (header and query parameter) and becomes the bearer when the request has
    /// no Authorization header.
    async fn proxy_rest(&self, req: Request<Incoming>, path: &str, key: &str) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let query: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("apikey="))
            .collect();
        let target = if query.is_empty() {
            format!("{}{path}", self.rest_upstream)
        } else {
            format!("{}{path}?{}", self.rest_upstream, query.join("&"))
        };
        parts.uri = match target.parse() {
            Ok(uri) => uri,
            Err(_) => return json_response(400, &json!({"message": "invalid request path"})),
        };
        strip_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::HOST);
        parts.headers.remove("apikey");
        if !parts.headers.contains_key(header::AUTHORIZATION)
            && let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {key}"))
        {
            parts.headers.insert(header::AUTHORIZATION, bearer);
        }
        let upstream = Request::from_parts(parts, body.boxed());
        match self.client.request(upstream).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.boxed())
            }
            Err(e) => json_response(
                502,
                &json!({"message": "An invalid response was received from the upstream server", "detail": e.to_string()}),
            ),
        }
    }
}

/// Kong's CORS plugin answer to a preflight request.
fn preflight(headers: &HeaderMap) -> Response<Body> {
    let mut response = empty_response(200);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS"),
    );
    let requested = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        requested.unwrap_or_else(|| HeaderValue::from_static(ALLOWED_HEADERS)),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3600"));
    response
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"] {
        headers.remove(HeaderName::from_static(name));
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn empty_response(status: u16) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}
