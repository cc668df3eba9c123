//! HS256 JSON Web Tokens: the API keys and the access tokens the auth stand-in issues,
//! signed with the project's JWT secret exactly as PostgREST expects to verify them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    #[error("signature is invalid")]
    BadSignature,
    #[error("token has invalid claims: token is expired")]
    Expired,
}

/// Signs `claims` with HS256.
pub fn sign(secret: &str, claims: &Value) -> String {
    sign_payload(secret, &claims.to_string())
}

/// Signs a JSON payload given as text (keeps its key order byte for byte).
fn sign_payload(secret: &str, payload_json: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(payload_json);
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Verifies an HS256 token's signature and expiry (at `now`, Unix seconds) and returns
/// its claims.
pub fn verify(secret: &str, token: &str, now: i64) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("token contains an invalid number of segments"));
    };
    let header: Value = decode_json(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Malformed("signing method is not HS256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed("could not base64 decode signature"))?;
    let mut verifier =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).map_err(|_| JwtError::BadSignature)?;
    verifier.update(format!("{}.{}", header_segment(token), payload).as_bytes());
    verifier.verify_slice(&signature).map_err(|_| JwtError::BadSignature)?;
    let claims: Value = decode_json(payload)?;
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_i64().ok_or(JwtError::Malformed("exp is not a number"))?;
        if exp <= now {
            return Err(JwtError::Expired);
        }
    }
    Ok(claims)
}

fn header_segment(token: &str) -> &str {
    token.split('.').next().unwrap_or_default()
}

fn decode_json(segment: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed("could not base64 decode segment"))?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed("segment is not JSON"))
}

fn mac(secret: &str, input: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// The anon and service-role API keys for a secret: JWTs with the same claims as the
/// Supabase CLI's, so the well-known local secret yields the well-known local keys.
pub fn api_keys(secret: &str) -> (String, String) {
    let key = |role: &str| {
        sign_payload(secret, &format!(r#"{{"iss":"supabase-demo","role":"{role}","exp":1983812996}}"#))
    };
    (key("anon"), key("service_role"))
}

/// The opaque keys newer Supabase projects issue, derived from the JWT secret so they are
/// stable across restarts: (`sb_publishable_…`, `sb_secret_…`). Local use only, like the
/// JWT-shaped keys.
pub fn opaque_keys(secret: &str) -> (String, String) {
    let key = |label: &str| URL_SAFE_NO_PAD.encode(&mac(secret, label.as_bytes())[..20]);
    (format!("sb_publishable_{}", key("publishable")), format!("sb_secret_{}", key("secret")))
}

/// Compares two byte strings in time that depends only on their lengths, so an API key
/// cannot be guessed byte by byte from response times.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

    #[test]
    fn well_known_local_keys_are_reproduced() {
        let (anon, service) = api_keys(SECRET);
        assert_eq!(
            anon,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
        );
        // The Supabase CLI's published local service_role key, byte for byte.
        assert_eq!(
            service,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU"
        );
        assert!(verify(SECRET, &service, 0).unwrap()["role"] == "service_role");
    }

    #[test]
    fn opaque_keys_have_supabase_prefixes_and_differ() {
        let (publishable, secret) = opaque_keys(SECRET);
        assert!(publishable.starts_with("sb_publishable_") && publishable.len() > 30, "{publishable}");
        assert!(secret.starts_with("sb_secret_") && secret.len() > 30, "{secret}");
        assert_eq!(opaque_keys(SECRET), (publishable.clone(), secret));
        assert_ne!(opaque_keys("another-secret-with-at-least-32-characters").0, publishable);
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn round_trip_and_rejections() {
        let token = sign(SECRET, &json!({"sub": "u", "exp": 100}));
        assert_eq!(verify(SECRET, &token, 99).unwrap()["sub"], "u");
        assert_eq!(verify(SECRET, &token, 100), Err(JwtError::Expired));
        assert_eq!(verify("another-secret-of-at-least-32-chars!!", &token, 0), Err(JwtError::BadSignature));
        assert!(matches!(verify(SECRET, "abc", 0), Err(JwtError::Malformed(_))));
        assert!(matches!(verify(SECRET, "a.b.c", 0), Err(JwtError::Malformed(_))));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(verify(SECRET, &tampered, 0).is_err());
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(br#"{"sub":"u"}"#)
        );
        assert!(matches!(verify(SECRET, &none_alg, 0), Err(JwtError::Malformed(_))));
    }
}
