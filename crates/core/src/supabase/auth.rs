//! GoTrue (Supabase Auth): sign-up, password sign-in, refresh and sign-out, with both
//! sign-up reply shapes and every error shape GoTrue has used.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{HttpResponse, Method, NetworkError, SupabaseConfig, Transport};
use crate::domain::Uuid;

/// The signed-in account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthUser {
    pub id: Uuid,
    pub email: String,
}

/// A signed-in session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires, Unix seconds.
    pub expires_at: i64,
    pub user: AuthUser,
}

impl Session {
    /// Whether the access token expires within `margin` seconds of `now` (Unix seconds).
    pub fn expires_within(&self, now: i64, margin: i64) -> bool {
        self.expires_at - now <= margin
    }
}

/// What a sign-up produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignUpOutcome {
    /// The project confirms addresses automatically: signed in now.
    SignedIn(Session),
    /// The project wants the address confirmed first (hosted Supabase's default).
    ConfirmationSent { email: String },
}

/// Why an auth call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AuthError {
    /// GoTrue refused; `message` is its own words, fit to show.
    #[error("{message}")]
    Rejected { status: u16, code: String, message: String },
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A reply this client cannot read (a misconfigured URL, a proxy's error page).
    #[error("unexpected reply from the auth server (HTTP {status}): {detail}")]
    BadReply { status: u16, detail: String },
}

impl AuthError {
    /// Whether the same call may succeed later (network trouble, server errors, rate limits).
    pub fn is_retryable(&self) -> bool {
        match self {
            AuthError::Network(_) => true,
            AuthError::Rejected { status, .. } | AuthError::BadReply { status, .. } => {
                *status >= 500 || *status == 429
            }
        }
    }

    /// Whether a refresh failed because the session is over (not merely unreachable):
    /// the musician must sign in again.
    pub fn ends_session(&self) -> bool {
        matches!(self, AuthError::Rejected { status: 400..=403, .. })
    }

    /// The GoTrue error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AuthError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The version header that selects GoTrue's current error shape.
const API_VERSION: (&str, &str) = ("X-Supabase-Api-Version", "2024-01-01");

/// `POST /auth/v1/signup`.
pub async fn sign_up(
    transport: &impl Transport,
    cfg: &SupabaseConfig,
    email: &str,
    password: &str,
) -> Result<SignUpOutcome, AuthError> {
    let request = cfg
        .request(Method::Post, "/auth/v1/signup", None)
        .header(API_VERSION.0, API_VERSION.1)
        .json(&json!({ "email": email, "password": password }));
    parse_sign_up(&transport.send(request).await?)
}

/// `POST /auth/v1/token?grant_type=password`.
pub async fn sign_in(
    transport: &impl Transport,
    cfg: &SupabaseConfig,
    email: &str,
    password: &str,
) -> Result<Session, AuthError> {
    let request = cfg
        .request(Method::Post, "/auth/v1/token?grant_type=password", None)
        .header(API_VERSION.0, API_VERSION.1)
        .json(&json!({ "email": email, "password": password }));
    parse_session(&transport.send(request).await?)
}

/// `POST /auth/v1/token?grant_type=refresh_token`: a new access token and a new
/// refresh token (the old one is spent).
pub async fn refresh(
    transport: &impl Transport,
    cfg: &SupabaseConfig,
    refresh_token: &str,
) -> Result<Session, AuthError> {
    let request = cfg
        .request(Method::Post, "/auth/v1/token?grant_type=refresh_token", None)
        .header(API_VERSION.0, API_VERSION.1)
        .json(&json!({ "refresh_token": refresh_token }));
    parse_session(&transport.send(request).await?)
}

/// `POST /auth/v1/logout?scope=local`: ends this device's session on the server.
pub async fn sign_out(
    transport: &impl Transport,
    cfg: &SupabaseConfig,
    access_token: &str,
) -> Result<(), AuthError> {
    let request = cfg
        .request(Method::Post, "/auth/v1/logout?scope=local", Some(access_token))
        .header(API_VERSION.0, API_VERSION.1);
    let response = transport.send(request).await?;
    if response.is_success() { Ok(()) } else { Err(error_from(&response)) }
}

/// Reads a sign-up reply: a session (auto-confirm) or just the user (confirmation sent).
pub fn parse_sign_up(response: &HttpResponse) -> Result<SignUpOutcome, AuthError> {
    if !response.is_success() {
        return Err(error_from(response));
    }
    let body = json_body(response)?;
    if body.get("access_token").is_some() {
        return session_from(&body, response.status).map(SignUpOutcome::SignedIn);
    }
    // Without a session the reply is the user itself (older GoTrue nests it in "user").
    let user = body.get("user").unwrap_or(&body);
    let email = user.get("email").and_then(Value::as_str).unwrap_or_default().to_string();
    Ok(SignUpOutcome::ConfirmationSent { email })
}

/// Reads a token reply into a session.
pub fn parse_session(response: &HttpResponse) -> Result<Session, AuthError> {
    if !response.is_success() {
        return Err(error_from(response));
    }
    session_from(&json_body(response)?, response.status)
}

fn json_body(response: &HttpResponse) -> Result<Value, AuthError> {
    serde_json::from_str(&response.body).map_err(|_| AuthError::BadReply {
        status: response.status,
        detail: response.body.chars().take(200).collect(),
    })
}

fn session_from(body: &Value, status: u16) -> Result<Session, AuthError> {
    let bad = |what: &str| AuthError::BadReply { status, detail: format!("missing {what}") };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| bad(key));
    let user = body.get("user").ok_or_else(|| bad("user"))?;
    let id =
        user.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok()).ok_or_else(|| bad("user.id"))?;
    let expires_at = match body.get("expires_at").and_then(Value::as_i64) {
        Some(at) => at,
        None => {
            let expires_in =
                body.get("expires_in").and_then(Value::as_i64).ok_or_else(|| bad("expires_in"))?;
            crate::platform::now_millis() / 1000 + expires_in
        }
    };
    Ok(Session {
        access_token: text("access_token")?,
        refresh_token: text("refresh_token")?,
        expires_at,
        user: AuthUser {
            id,
            email: user.get("email").and_then(Value::as_str).unwrap_or_default().to_string(),
        },
    })
}

/// GoTrue's error, whichever of its shapes the reply has:
/// `{"code":"…","message":"…"}` (API version 2024-01-01),
/// `{"code":400,"error_code":"…","msg":"…"}` (legacy), or
/// `{"error":"…","error_description":"…"}` (OAuth-style token errors).
pub fn error_from(response: &HttpResponse) -> AuthError {
    let Ok(body) = serde_json::from_str::<Value>(&response.body) else {
        return AuthError::BadReply {
            status: response.status,
            detail: response.body.chars().take(200).collect(),
        };
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let code = text("error_code")
        .or_else(|| text("code"))
        .or_else(|| text("error"))
        .unwrap_or_else(|| format!("http_{}", response.status));
    let message = text("message")
        .or_else(|| text("msg"))
        .or_else(|| text("error_description"))
        .unwrap_or_else(|| format!("The server refused the request (HTTP {}).", response.status));
    AuthError::Rejected { status: response.status, code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: Value) -> HttpResponse {
        HttpResponse::new(status, body.to_string())
    }

    const USER_ID: &str = "4aaa98dd-b17c-4207-bbdf-7f455076a4a1";

    fn session_body() -> Value {
        json!({"access_token": "a", "token_type": "bearer", "expires_in": 3600, "expires_at": 2_000_000_000,
               "refresh_token": "r", "user": {"id": USER_ID, "email": "ann@example.org"}})
    }

    #[test]
    fn sign_up_reads_both_reply_shapes() {
        let Ok(SignUpOutcome::SignedIn(s)) = parse_sign_up(&reply(200, session_body())) else { panic!() };
        assert_eq!(
            (s.access_token.as_str(), s.refresh_token.as_str(), s.expires_at),
            ("a", "r", 2_000_000_000)
        );
        assert_eq!(s.user.id.to_string(), USER_ID);
        let user_only = json!({"id": USER_ID, "email": "ann@example.org", "confirmation_sent_at": "2026-11-26T00:00:00Z"});
        assert_eq!(
            parse_sign_up(&reply(200, user_only)),
            Ok(SignUpOutcome::ConfirmationSent { email: "ann@example.org".into() })
        );
    }

    #[test]
    fn expires_in_is_used_when_expires_at_is_missing() {
        let mut body = session_body();
        body.as_object_mut().unwrap().remove("expires_at");
        let s = parse_session(&reply(200, body)).unwrap();
        let now = crate::platform::now_millis() / 1000;
        assert!((s.expires_at - now - 3600).abs() <= 2);
        assert!(s.expires_within(now + 3600, 60) && !s.expires_within(now, 60));
    }

    #[test]
    fn every_error_shape_gives_code_and_message() {
        let cases = [
            (
                json!({"code": "invalid_credentials", "message": "Invalid login credentials"}),
                "invalid_credentials",
                "Invalid login credentials",
            ),
            (
                json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}),
                "invalid_credentials",
                "Invalid login credentials",
            ),
            (
                json!({"error": "invalid_grant", "error_description": "Invalid Refresh Token: Already Used"}),
                "invalid_grant",
                "Invalid Refresh Token: Already Used",
            ),
        ];
        for (body, code, message) in cases {
            let e = error_from(&reply(400, body));
            assert_eq!(e.code(), Some(code));
            assert_eq!(e.to_string(), message);
            assert!(e.ends_session() && !e.is_retryable());
        }
    }

    #[test]
    fn retryable_and_session_ending_errors() {
        let cases: [(AuthError, bool, bool); 5] = [
            (AuthError::Network(NetworkError::Timeout), true, false),
            (error_from(&reply(503, json!({"message": "down"}))), true, false),
            (
                error_from(&reply(429, json!({"code": "over_request_rate_limit", "message": "slow down"}))),
                true,
                false,
            ),
            (error_from(&reply(403, json!({"code": "session_not_found", "message": "gone"}))), false, true),
            (error_from(&reply(502, Value::Null)), true, false),
        ];
        for (e, retryable, ends) in cases {
            assert_eq!((e.is_retryable(), e.ends_session()), (retryable, ends), "{e:?}");
        }
        let html = HttpResponse::new(502, "<html>Bad gateway</html>");
        assert!(matches!(error_from(&html), AuthError::BadReply { status: 502, .. }));
        assert!(matches!(parse_session(&reply(200, json!({"user": {}}))), Err(AuthError::BadReply { .. })));
    }
}
