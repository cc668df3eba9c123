//! GoTrue's error responses: status, error code and message, in the shape the client
//! asked for (the `X-Supabase-Api-Version: 2024-01-01` shape, or the legacy one).

use serde_json::{Value, json};

/// The API version whose error shape is `{"code": "...", "message": "..."}`.
pub const API_VERSION_2024: &str = "2024-01-01";

/// An auth error as GoTrue reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct AuthError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl AuthError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn bad_json(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "bad_json", format!("Could not parse request body as JSON: {detail}"))
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "validation_failed", message)
    }

    pub fn invalid_credentials() -> Self {
        Self::new(400, "invalid_credentials", "Invalid login credentials")
    }

    pub fn no_authorization() -> Self {
        Self::new(401, "no_authorization", "This endpoint requires a Bearer token")
    }

    pub fn bad_jwt(detail: impl std::fmt::Display) -> Self {
        Self::new(403, "bad_jwt", format!("invalid JWT: unable to parse or verify signature, {detail}"))
    }

    pub fn unexpected(detail: impl std::fmt::Display) -> Self {
        Self::new(500, "unexpected_failure", format!("Unexpected failure: {detail}"))
    }

    /// The JSON body in the shape selected by the request's API version header.
    pub fn body(&self, api_version: Option<&str>) -> Value {
        let mut body = if api_version == Some(API_VERSION_2024) {
            json!({ "code": self.code, "message": self.message })
        } else {
            json!({ "code": self.status, "error_code": self.code, "msg": self.message })
        };
        if self.code == "weak_password" {
            body["weak_password"] = json!({ "reasons": ["length"] });
        }
        body
    }
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(e: tokio_postgres::Error) -> Self {
        AuthError::unexpected(
            e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes() {
        let e = AuthError::invalid_credentials();
        assert_eq!(
            e.body(Some(API_VERSION_2024)),
            json!({"code": "invalid_credentials", "message": "Invalid login credentials"})
        );
        assert_eq!(
            e.body(None),
            json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"})
        );
        let weak = AuthError::new(422, "weak_password", "Password should be at least 6 characters.");
        assert_eq!(weak.body(None)["weak_password"]["reasons"][0], "length");
    }
}
