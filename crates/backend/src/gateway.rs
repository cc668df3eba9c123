//! The stand-in for Supabase's API gateway (Kong): requires an `apikey` on every request
//! (a legacy JWT key or a new publishable/secret key), answers CORS as hosted Supabase does
//! (any origin), serves `/auth/v1/*` from the auth stand-in, `/realtime/v1/websocket` from
//! the Realtime stand-in, and proxies `/rest/v1/*` to PostgREST with status, headers and
//! body untouched. It defends itself as a public
//! gateway must: the upstream authority is fixed (only origin-form paths are forwarded),
//! request bodies are capped while streaming, slow or idle connections are closed, and a
//! failing `accept` (out of file descriptors) backs off instead of spinning.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::auth::{Auth, AuthRequest};
use crate::jwt::constant_time_eq;
use crate::realtime::Realtime;

type Body = BoxBody<Bytes, hyper::Error>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request body on its way to PostgREST (capped: it may fail with [`LengthLimitError`]).
type UpstreamBody = BoxBody<Bytes, BoxError>;

/// Request headers browsers may send (the supabase-js set plus PostgREST's profile headers).
const ALLOWED_HEADERS: &str = "apikey, authorization, content-type, prefer, range, x-client-info, \
    x-supabase-api-version, accept-profile, content-profile";
/// Response headers browsers may read: paging and PostgREST/GoTrue metadata.
const EXPOSED_HEADERS: &str = "Content-Range, Content-Location, Location, Preference-Applied, \
    Range-Unit, X-Sb-Error-Code, X-Supabase-Api-Version";
/// Largest auth request body read (sign-up metadata is small).
const AUTH_BODY_LIMIT: usize = 256 * 1024;

/// The project's API keys: the legacy JWT-shaped ones and the opaque ones newer projects
/// issue. A publishable key acts as the anon key, a secret key as the service-role key.
#[derive(Clone, Debug)]
pub struct ApiKeys {
    pub anon: String,
    pub service_role: String,
    pub publishable: String,
    pub secret: String,
}

/// The role an API key grants; `bearer` is the JWT PostgREST gets for it.
struct KeyRole<'a> {
    bearer: &'a str,
}

/// How the gateway protects itself.
#[derive(Clone, Debug)]
pub struct GatewayLimits {
    /// Largest request body forwarded to PostgREST (hosted Kong refuses larger with 413).
    pub body_limit: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// A connection with no bytes read or written for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Where connections come from: a TCP listener, or in tests one that fails on demand.
pub trait Acceptor: Send + 'static {
    fn accept_connection(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send;
}

impl Acceptor for TcpListener {
    fn accept_connection(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        self.accept()
    }
}

/// The pause after `failures` consecutive failed accepts: 10 ms doubling up to 1 s, so a
/// process out of file descriptors waits for some to free instead of spinning.
pub fn accept_backoff(failures: u32) -> Duration {
    let ms = 10u64.saturating_mul(1u64 << failures.saturating_sub(1).min(10));
    Duration::from_millis(ms.min(1000))
}

/// What the gateway needs to answer requests.
pub struct Gateway {
    pub auth: Auth,
    /// PostgREST's address, e.g. `127.0.0.1:3000`: every forwarded request goes here.
    rest_authority: hyper::http::uri::Authority,
    keys: ApiKeys,
    limits: GatewayLimits,
    client: Client<HttpConnector, UpstreamBody>,
    realtime: Option<Arc<Realtime>>,
}

impl Gateway {
    /// A gateway forwarding REST requests to PostgREST at `rest_addr` (`host:port`).
    pub fn new(auth: Auth, rest_addr: SocketAddr, keys: ApiKeys, limits: GatewayLimits) -> Self {
        // Small request/response exchanges: without TCP_NODELAY, Nagle's algorithm and
        // delayed ACKs stall some of them by ~40 ms.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let rest_authority = rest_addr
            .to_string()
            .parse()
            .unwrap_or_else(|_| hyper::http::uri::Authority::from_static("127.0.0.1"));
        Self { auth, rest_authority, keys, limits, client, realtime: None }
    }

    /// Serves Realtime's WebSocket at `/realtime/v1/websocket` too.
    pub fn with_realtime(mut self, realtime: Arc<Realtime>) -> Self {
        self.realtime = Some(realtime);
        self
    }

    /// Serves connections from `listener` until `shutdown` changes.
    pub async fn serve(self: Arc<Self>, listener: impl Acceptor, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            let (stream, peer): (_, SocketAddr) = tokio::select! {
                accepted = listener.accept_connection() => match accepted {
                    Ok(pair) => pair,
                    // Out of file descriptors and the like: wait for some to free, then
                    // keep serving the others.
                    Err(_) => {
                        failures = failures.saturating_add(1);
                        tokio::select! {
                            _ = tokio::time::sleep(accept_backoff(failures)) => continue,
                            _ = shutdown.changed() => return,
                        }
                    }
                },
                _ = shutdown.changed() => return,
            };
            failures = 0;
            let _ = stream.set_nodelay(true);
            tokio::spawn(self.clone().serve_connection(stream, peer, shutdown.clone()));
        }
    }

    /// One client connection: HTTP/1.1 with a header-read timeout, closed when idle.
    async fn serve_connection(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let idle_timeout = self.limits.idle_timeout;
        let header_read_timeout = self.limits.header_read_timeout;
        let started = Instant::now();
        let activity = Arc::new(AtomicU64::new(0));
        // Requests being answered: a connection waiting on PostgREST is not idle.
        let in_flight = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(Tracked { inner: stream, started, activity: activity.clone() });
        let gateway = self;
        let requests = in_flight.clone();
        let service = service_fn(move |req| {
            let gateway = gateway.clone();
            let busy = InFlight::start(requests.clone());
            async move {
                let response = gateway.route(req, peer).await;
                drop(busy);
                Ok::<_, Infallible>(response)
            }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::pin!(conn);
        let mut tick = tokio::time::interval(idle_timeout / 4);
        loop {
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn.as_mut()).await;
                    return;
                }
                _ = tick.tick() => {
                    let last = Duration::from_millis(activity.load(Ordering::Relaxed));
                    let idle = in_flight.load(Ordering::Relaxed) == 0;
                    if idle && started.elapsed().saturating_sub(last) >= idle_timeout {
                        // Dropping the connection closes the socket.
                        return;
                    }
                }
            }
        }
    }

    async fn route(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
        let mut response = if req.method() == Method::OPTIONS {
            preflight(req.headers())
        } else if req.uri().scheme().is_some() || req.uri().authority().is_some() {
            // Absolute-form targets are for forward proxies; this is not one.
            json_response(400, &json!({"message": "invalid request target"}))
        } else {
            match self.check_api_key(&req) {
                Err(message) => json_response(401, &message),
                Ok(role) => {
                    let path = req.uri().path().to_string();
                    if let Some(rest) = sub_path(&path, "/rest/v1") {
                        let bearer = role.bearer.to_string();
                        self.proxy_rest(req, rest, &bearer).await
                    } else if let Some(auth_path) = sub_path(&path, "/auth/v1") {
                        self.auth_request(req, auth_path, peer).await
                    } else if let (Some("/websocket"), Some(realtime)) =
                        (sub_path(&path, "/realtime/v1"), self.realtime.as_ref())
                    {
                        match realtime.upgrade(req, role.bearer) {
                            Ok(switching) => switching.map(|()| full(Bytes::new())),
                            Err(message) => json_response(400, &json!({"message": message})),
                        }
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

    /// Kong's key-auth: an `apikey` header (or query parameter) that is one of the keys,
    /// compared in constant time.
    fn check_api_key(&self, req: &Request<Incoming>) -> Result<KeyRole<'_>, Value> {
        let from_query = req.uri().query().and_then(|q| crate::auth::query_param(q, "apikey"));
        let key =
            req.headers().get("apikey").and_then(|v| v.to_str().ok()).map(str::to_string).or(from_query);
        let Some(key) = key else {
            return Err(json!({"message": "No API key found in request"}));
        };
        self.role_of(&key).ok_or_else(|| {
            json!({
                "message": "Invalid API key",
                "hint": "Double check your Supabase `anon` or `service_role` API key."
            })
        })
    }

    /// The role a key grants, if it is one of the project's keys.
    fn role_of(&self, key: &str) -> Option<KeyRole<'_>> {
        let k = key.as_bytes();
        let anon = constant_time_eq(k, self.keys.anon.as_bytes());
        let publishable = constant_time_eq(k, self.keys.publishable.as_bytes());
        let service = constant_time_eq(k, self.keys.service_role.as_bytes());
        let secret = constant_time_eq(k, self.keys.secret.as_bytes());
        if anon || publishable {
            Some(KeyRole { bearer: &self.keys.anon })
        } else if service || secret {
            Some(KeyRole { bearer: &self.keys.service_role })
        } else {
            None
        }
    }

    async fn auth_request(&self, req: Request<Incoming>, path: &str, peer: SocketAddr) -> Response<Body> {
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
                client_ip: peer.ip(),
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
    /// removed (header and query parameter) and the key's JWT becomes the bearer when the
    /// request has none (or carries an opaque key as its bearer). The upstream request is
    /// built from parts: PostgREST's authority, then only the path and query.
    async fn proxy_rest(&self, req: Request<Incoming>, path: &str, key_bearer: &str) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let declared_length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared_length.is_some_and(|n| n > self.limits.body_limit as u64) {
            return too_large();
        }
        let query: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("apikey="))
            .collect();
        let path_and_query =
            if query.is_empty() { path.to_string() } else { format!("{path}?{}", query.join("&")) };
        parts.uri = match Uri::builder()
            .scheme("http")
            .authority(self.rest_authority.clone())
            .path_and_query(path_and_query)
            .build()
        {
            Ok(uri) => uri,
            Err(_) => return json_response(400, &json!({"message": "invalid request path"})),
        };
        strip_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::HOST);
        parts.headers.remove("apikey");
        let bearer_is_opaque_key = header_str(&parts.headers, "authorization")
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .and_then(|token| self.role_of(token.trim()))
            .map(|role| role.bearer.to_string());
        let bearer = match bearer_is_opaque_key {
            Some(jwt) => Some(jwt),
            None if !parts.headers.contains_key(header::AUTHORIZATION) => Some(key_bearer.to_string()),
            None => None,
        };
        if let Some(bearer) = bearer
            && let Ok(value) = HeaderValue::from_str(&format!("Bearer {bearer}"))
        {
            parts.headers.insert(header::AUTHORIZATION, value);
        }
        let body = Limited::new(body, self.limits.body_limit).boxed();
        let upstream = Request::from_parts(parts, body);
        match self.client.request(upstream).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.boxed())
            }
            Err(e) if caused_by_length_limit(&e) => too_large(),
            Err(e) => json_response(
                502,
                &json!({"message": "An invalid response was received from the upstream server", "detail": e.to_string()}),
            ),
        }
    }
}

/// The rest of `path` under `prefix` (`/` when nothing follows it), if `path` is that
/// prefix or below it. `/rest/v1x` and `/rest/v1@host` are not under `/rest/v1`.
fn sub_path<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    match path.strip_prefix(prefix)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// Whether a failed upstream request failed because the client's body passed the limit.
fn caused_by_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Kong's answer to a body over the limit.
fn too_large() -> Response<Body> {
    let mut response = json_response(413, &json!({"message": "Request size limit exceeded"}));
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn start(counter: Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that records when it last read or wrote (milliseconds since `started`).
struct Tracked {
    inner: TcpStream,
    started: Instant,
    activity: Arc<AtomicU64>,
}

impl Tracked {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_below_a_prefix_route_there() {
        assert_eq!(sub_path("/rest/v1", "/rest/v1"), Some("/"));
        assert_eq!(sub_path("/rest/v1/tune", "/rest/v1"), Some("/tune"));
        assert_eq!(sub_path("/rest/v1@127.0.0.1:9/x", "/rest/v1"), None);
        assert_eq!(sub_path("/rest/v1x", "/rest/v1"), None);
        assert_eq!(sub_path("/auth/v1:80/x", "/auth/v1"), None);
    }

    #[test]
    fn accept_backoff_doubles_up_to_a_second() {
        let schedule: Vec<u64> = (1..=9).map(|n| accept_backoff(n).as_millis() as u64).collect();
        assert_eq!(schedule, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        assert_eq!(accept_backoff(u32::MAX), Duration::from_secs(1));
    }

    /// An acceptor that always fails, as `accept` does when file descriptors run out.
    struct Exhausted(Arc<AtomicUsize>);

    impl Acceptor for Exhausted {
        fn accept_connection(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
            self.0.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Err(io::Error::from_raw_os_error(24)))
        }
    }

    #[tokio::test]
    async fn failing_accepts_back_off_instead_of_spinning() {
        let calls = Arc::new(AtomicUsize::new(0));
        let gateway = Arc::new(Gateway::new(
            crate::auth::Auth::for_tests(),
            "127.0.0.1:9".parse().unwrap(),
            ApiKeys {
                anon: "a".into(),
                service_role: "s".into(),
                publishable: "p".into(),
                secret: "x".into(),
            },
            GatewayLimits::default(),
        ));
        let (stop, signal) = watch::channel(false);
        let task = tokio::spawn(gateway.serve(Exhausted(calls.clone()), signal));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = stop.send(true);
        let _ = task.await;
        // 10+20+…+1000 ms: about 10 attempts in 2 s, where a spinning loop makes millions.
        let n = calls.load(Ordering::Relaxed);
        assert!((5..=20).contains(&n), "{n} accepts in 2 s");
    }
}
