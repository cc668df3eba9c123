//! The stand-in for Supabase Realtime's broadcast channels, served by the gateway at
//! `/realtime/v1/websocket`: the Phoenix channel protocol supabase-js speaks (vsn 1.0.0
//! and 2.0.0), private channels authorised by the project's row level security on
//! `realtime.messages` exactly as hosted Realtime checks them, and messages sent from the
//! database with `realtime.send` (over `pg_notify` locally). Presence and
//! `postgres_changes` are not served: Tunebook uses neither.

mod authorize;
pub mod frame;
pub mod hub;
mod session;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::jwt::{self, JwtError};
use crate::pool::Pool;
use frame::Vsn;
use hub::Hub;

/// Largest frame a client may send (hosted Realtime's default payload limit is 256 KB).
const MAX_FRAME: usize = 256 * 1024;

/// The Realtime service: its hub of broadcasts and what it needs to authorise channels.
pub struct Realtime {
    jwt_secret: String,
    /// Connections for the policy checks.
    pool: Pool,
    hub: Hub,
    /// A socket that sends nothing (not even a heartbeat) for this long is closed.
    idle_timeout: Duration,
    next_socket: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

/// Why a token was refused, in hosted Realtime's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    MissingClaims,
    /// Expired this many seconds ago.
    Expired(i64),
}

impl TokenError {
    /// The `reason` of a refused join.
    pub fn join_reason(&self) -> String {
        match self {
            TokenError::Malformed => "MalformedJWT: The token provided is not a valid JWT".into(),
            TokenError::BadSignature => "JwtSignatureError: Failed to validate JWT signature".into(),
            TokenError::MissingClaims => {
                "InvalidJWTToken: Fields `role` and `exp` are required in JWT".into()
            }
            TokenError::Expired(ago) => format!("InvalidJWTToken: Token has expired {ago} seconds ago"),
        }
    }

    /// The system message that ends a channel whose token update (or token) failed.
    pub fn refresh_message(&self) -> String {
        match self {
            TokenError::Malformed => "The token provided is not a valid JWT".into(),
            // Hosted Realtime sends the Elixir term here.
            TokenError::BadSignature => ":signature_error".into(),
            TokenError::MissingClaims => "Fields `role` and `exp` are required in JWT".into(),
            TokenError::Expired(ago) => format!("Token has expired {ago} seconds ago"),
        }
    }
}

impl Realtime {
    /// The service for `database_url` (a superuser connection), listening for
    /// `realtime.send` until `shutdown` changes.
    pub fn start(
        database_url: String,
        jwt_secret: String,
        idle_timeout: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Arc<Self> {
        let (hub, _) = broadcast::channel(1024);
        tokio::spawn(hub::listen(database_url.clone(), hub.clone(), shutdown.clone()));
        Arc::new(Self {
            jwt_secret,
            pool: Pool::new(database_url, 2),
            hub,
            idle_timeout,
            next_socket: AtomicU64::new(1),
            shutdown,
        })
    }

    /// A token's claims if its signature is the project's, it has `role` and `exp`, and
    /// it has not expired at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Value, TokenError> {
        // Expiry is checked here, to say how long ago.
        let claims = jwt::verify(&self.jwt_secret, token.trim(), i64::MIN).map_err(|e| match e {
            JwtError::BadSignature => TokenError::BadSignature,
            JwtError::Malformed(_) | JwtError::Expired => TokenError::Malformed,
        })?;
        let exp = claims.get("exp").and_then(Value::as_i64);
        let (Some(exp), true) = (exp, claims.get("role").is_some_and(Value::is_string)) else {
            return Err(TokenError::MissingClaims);
        };
        if exp <= now {
            return Err(TokenError::Expired(now - exp));
        }
        Ok(claims)
    }

    /// Answers a WebSocket upgrade request (already past the API key check; `key_bearer`
    /// is that key's JWT) and serves the socket once upgraded.
    pub fn upgrade(
        self: &Arc<Self>,
        mut req: Request<Incoming>,
        key_bearer: &str,
    ) -> Result<hyper::Response<()>, &'static str> {
        let headers = req.headers();
        let has = |name: header::HeaderName, token: &str| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        };
        // Both, or hyper will not hand the connection over (a proxy that drops
        // `Connection: Upgrade` gets a refusal, not a socket that never opens).
        let is_upgrade = has(header::UPGRADE, "websocket") && has(header::CONNECTION, "upgrade");
        let key = headers.get(header::SEC_WEBSOCKET_KEY).map(|k| derive_accept_key(k.as_bytes()));
        let (true, Some(accept)) = (is_upgrade, key) else {
            return Err("expected a WebSocket upgrade");
        };
        let vsn = req.uri().query().and_then(|q| crate::auth::query_param(q, "vsn"));
        let Some(vsn) = Vsn::from_param(vsn.as_deref()) else {
            return Err("unsupported vsn: use 1.0.0 or 2.0.0");
        };
        let session = session::Session {
            realtime: self.clone(),
            vsn,
            key_bearer: key_bearer.to_string(),
            id: self.next_socket.fetch_add(1, Ordering::Relaxed),
        };
        let idle = self.idle_timeout;
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(&mut req).await else {
                return;
            };
            let config =
                WebSocketConfig::default().max_message_size(Some(MAX_FRAME)).max_frame_size(Some(MAX_FRAME));
            let socket =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
            session.run(socket, idle, shutdown).await;
        });
        let mut response = hyper::Response::new(());
        *response.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
        let h = response.headers_mut();
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

    fn realtime() -> Realtime {
        let (_, shutdown) = watch::channel(false);
        Realtime {
            jwt_secret: SECRET.into(),
            pool: Pool::new("postgres://nowhere".into(), 1),
            hub: broadcast::channel(1).0,
            idle_timeout: Duration::from_secs(60),
            next_socket: AtomicU64::new(1),
            shutdown,
        }
    }

    #[test]
    fn tokens_are_refused_in_hosted_realtimes_words() {
        let realtime = realtime();
        let good = jwt::sign(SECRET, &json!({"sub": "u", "role": "authenticated", "exp": 1000}));
        assert_eq!(realtime.verify(&good, 999).unwrap()["sub"], "u");
        let cases = [
            (good.clone(), 1010, TokenError::Expired(10)),
            (jwt::sign(SECRET, &json!({"sub": "u", "exp": 1000})), 0, TokenError::MissingClaims),
            (jwt::sign(SECRET, &json!({"sub": "u", "role": "authenticated"})), 0, TokenError::MissingClaims),
            (
                jwt::sign("another-secret-of-at-least-32-characters", &json!({"role": "anon", "exp": 9})),
                0,
                TokenError::BadSignature,
            ),
            ("not-a-token".to_string(), 0, TokenError::Malformed),
        ];
        for (token, now, expected) in cases {
            assert_eq!(realtime.verify(&token, now), Err(expected));
        }
        assert_eq!(
            TokenError::Expired(10).join_reason(),
            "InvalidJWTToken: Token has expired 10 seconds ago"
        );
        assert_eq!(TokenError::Expired(0).refresh_message(), "Token has expired 0 seconds ago");
    }
}
