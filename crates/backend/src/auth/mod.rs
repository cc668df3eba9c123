//! The stand-in for Supabase Auth (GoTrue): sign-up, password and refresh-token grants
//! with rotating refresh tokens, logout, and the current user, against `auth.users` in
//! the same database, with bcrypt passwords and HS256 access tokens. Password hashing runs
//! off the async threads and holds no database connection; unknown addresses cost the
//! same bcrypt as known ones; failed attempts are rate-limited per address and per IP.

mod error;
mod rate_limit;

pub use error::{API_VERSION_2024, AuthError};
pub use rate_limit::{Limiter, RateLimits};

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Value, json};

use crate::jwt;
use crate::pool::Pool;

/// Minimum password length, as GoTrue's default.
const MIN_PASSWORD_LEN: usize = 6;
/// bcrypt reads at most 72 bytes; GoTrue refuses longer passwords rather than ignore the rest.
const MAX_PASSWORD_BYTES: usize = 72;
/// The `auth.users.email` column's limit.
const MAX_EMAIL_LEN: usize = 255;
/// Largest sign-up metadata (`data`), as JSON text: it is copied into every access token.
const MAX_METADATA_BYTES: usize = 4096;
/// bcrypt cost, as GoTrue's.
const BCRYPT_COST: u32 = 10;

/// The user object's JSON, built in SQL from an `auth.users` row aliased `u`.
const USER_JSON: &str = "json_build_object(
    'id', u.id, 'aud', u.aud, 'role', u.role, 'email', u.email, 'phone', '',
    'email_confirmed_at', u.email_confirmed_at, 'confirmed_at', u.email_confirmed_at,
    'confirmation_sent_at', u.confirmation_sent_at, 'last_sign_in_at', u.last_sign_in_at,
    'app_metadata', u.raw_app_meta_data, 'user_metadata', u.raw_user_meta_data,
    'identities', '[]'::json, 'created_at', u.created_at, 'updated_at', u.updated_at,
    'is_anonymous', u.is_anonymous)::text";

/// Auth settings and the database it works on.
pub struct Auth {
    pub pool: Pool,
    pub jwt_secret: String,
    /// Access-token lifetime in seconds.
    pub jwt_expiry: i64,
    /// Confirm e-mail addresses at sign-up (and return a session) without sending mail.
    pub autoconfirm: bool,
    /// The `iss` claim: `<API URL>/auth/v1`.
    pub issuer: String,
    /// Seconds after rotation during which the previous refresh token still returns the
    /// current session (GoTrue's reuse interval, for a client whose reply was lost).
    pub refresh_reuse_interval: i64,
    /// Failed password attempts, limited per address and per IP.
    pub limiter: Limiter,
}

/// What a handler answers: a status and a JSON body (`None` for 204).
pub type AuthReply = Result<(u16, Option<Value>), AuthError>;

/// One parsed request to `/auth/v1/...`.
pub struct AuthRequest<'a> {
    pub method: &'a str,
    /// The path after `/auth/v1`.
    pub path: &'a str,
    pub query: &'a str,
    pub bearer: Option<&'a str>,
    pub body: &'a [u8],
    /// The caller's address (for rate limits).
    pub client_ip: IpAddr,
}

impl Auth {
    /// An auth server on a database that is never reached (unit tests of the gateway).
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self {
            pool: Pool::new("postgresql://nobody@127.0.0.1:1/none".into(), 1),
            jwt_secret: crate::stack::DEFAULT_JWT_SECRET.into(),
            jwt_expiry: 3600,
            autoconfirm: true,
            issuer: "http://127.0.0.1/auth/v1".into(),
            refresh_reuse_interval: 10,
            limiter: Limiter::default(),
        }
    }

    /// Routes a request to its handler.
    pub async fn handle(&self, req: AuthRequest<'_>) -> AuthReply {
        match (req.method, req.path) {
            ("GET", "/health") => Ok((
                200,
                Some(
                    json!({"version": "tunebook-local", "name": "GoTrue", "description": "Tunebook's local stand-in for Supabase Auth"}),
                ),
            )),
            ("GET", "/settings") => Ok((
                200,
                Some(
                    json!({"external": {"email": true}, "disable_signup": false, "mailer_autoconfirm": self.autoconfirm}),
                ),
            )),
            ("POST", "/signup") => self.signup(req.body).await,
            ("POST", "/token") => match query_param(req.query, "grant_type").as_deref() {
                Some("password") => self.password_grant(req.body, req.client_ip).await,
                Some("refresh_token") => self.refresh_grant(req.body).await,
                _ => Err(AuthError::validation("unsupported_grant_type")),
            },
            ("POST", "/logout") => self.logout(req.bearer, query_param(req.query, "scope").as_deref()).await,
            ("GET", "/user") => self.user(req.bearer).await,
            _ => Err(AuthError::new(404, "not_found", "Not Found")),
        }
    }

    async fn signup(&self, body: &[u8]) -> AuthReply {
        let body: Value = serde_json::from_slice(body).map_err(AuthError::bad_json)?;
        let email = normalize_email(body.get("email"))?;
        let password = body.get("password").and_then(Value::as_str).unwrap_or_default().to_string();
        check_new_password(&password)?;
        let metadata = body.get("data").filter(|d| d.is_object()).cloned().unwrap_or_else(|| json!({}));
        let metadata = metadata.to_string();
        if metadata.len() > MAX_METADATA_BYTES {
            return Err(AuthError::validation(format!(
                "User metadata cannot be larger than {MAX_METADATA_BYTES} bytes"
            )));
        }
        let hash = hash_password(password).await?;
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "insert into auth.users as u (email, encrypted_password, email_confirmed_at,
                         confirmation_sent_at, raw_app_meta_data, raw_user_meta_data)
                     values ($1, $2, case when $3 then now() end, case when $3 then null else now() end,
                         '{{\"provider\":\"email\",\"providers\":[\"email\"]}}'::jsonb, $4::text::jsonb)
                     on conflict (email) do nothing
                     returning u.id::text, {USER_JSON}"
                ),
                &[&email, &hash, &self.autoconfirm, &metadata],
            )
            .await?;
        let Some(row) = row else {
            return Err(AuthError::new(422, "user_already_exists", "User already registered"));
        };
        let user_id: String = row.get(0);
        let user = parse_json(row.get(1))?;
        drop(client);
        if self.autoconfirm {
            self.new_session(&user_id).await.map(|s| (200, Some(s)))
        } else {
            Ok((200, Some(user)))
        }
    }

    async fn password_grant(&self, body: &[u8], client_ip: IpAddr) -> AuthReply {
        let body: Value = serde_json::from_slice(body).map_err(AuthError::bad_json)?;
        let email = body.get("email").and_then(Value::as_str).map(|e| e.trim().to_lowercase());
        let password = body.get("password").and_then(Value::as_str);
        let (Some(email), Some(password)) = (email, password) else {
            return Err(AuthError::validation("missing email or phone"));
        };
        let ip = client_ip.to_string();
        if !self.limiter.allows(&email, &ip, Instant::now()) {
            return Err(AuthError::new(429, "over_request_rate_limit", "Request rate limit reached"));
        }
        let row = {
            let client = self.pool.get().await?;
            client
                .query_opt(
                    "select u.id::text, u.encrypted_password, u.email_confirmed_at is not null
                     from auth.users u where u.email = $1",
                    &[&email],
                )
                .await?
        };
        // An unknown address is checked against a dummy hash so that it takes as long as a
        // wrong password for a known one: response times must not reveal who has an account.
        let (user, hash) = match &row {
            Some(r) => (Some((r.get::<_, String>(0), r.get::<_, bool>(2))), r.get::<_, Option<String>>(1)),
            None => (None, None),
        };
        let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
        let matches = verify_password(password.to_string(), hash).await?;
        let Some((user_id, confirmed)) = user.filter(|_| matches) else {
            self.limiter.failed(&email, &ip, Instant::now());
            return Err(AuthError::invalid_credentials());
        };
        self.limiter.succeeded(&email);
        if !confirmed {
            return Err(AuthError::new(400, "email_not_confirmed", "Email not confirmed"));
        }
        self.new_session(&user_id).await.map(|s| (200, Some(s)))
    }

    /// Starts a session for a user: a session row, a refresh token and an access token.
    async fn new_session(&self, user_id: &str) -> Result<Value, AuthError> {
        let client = self.pool.get().await?;
        let refresh_token = random_token();
        let row = client
            .query_one(
                &format!(
                    "with s as (insert into auth.sessions (user_id) values ($1::text::uuid) returning id),
                      t as (insert into auth.refresh_tokens (token, user_id, session_id)
                            select $2, $1::text::uuid, s.id from s),
                      u as (update auth.users set last_sign_in_at = now(), updated_at = now()
                            where id = $1::text::uuid returning *)
                 select (select id::text from s), (select {USER_JSON} from u)"
                ),
                &[&user_id, &refresh_token],
            )
            .await?;
        let session_id: String = row.get(0);
        let user = parse_json(row.get(1))?;
        Ok(self.session_json(user, &session_id, refresh_token))
    }

    async fn refresh_grant(&self, body: &[u8]) -> AuthReply {
        let body: Value = serde_json::from_slice(body).map_err(AuthError::bad_json)?;
        let Some(token) = body.get("refresh_token").and_then(Value::as_str).filter(|t| !t.is_empty()) else {
            return Err(AuthError::validation("refresh_token required"));
        };
        let client = self.pool.get().await?;
        // Revoking the token and inserting its successor in one statement makes rotation
        // atomic: of two concurrent refreshes with the same token, exactly one gets the row,
        // and by the time the other sees it revoked, the successor is there to hand out.
        let next = random_token();
        let rotated = client
            .query_opt(
                "with r as (update auth.refresh_tokens set revoked = true, updated_at = now()
                            where token = $1 and not revoked
                            returning user_id, session_id),
                      i as (insert into auth.refresh_tokens (token, user_id, session_id, parent)
                            select $2, r.user_id, r.session_id, $1 from r)
                 select user_id::text, session_id::text from r",
                &[&token, &next],
            )
            .await?;
        if let Some(row) = rotated {
            let (user_id, session_id): (String, String) = (row.get(0), row.get(1));
            let user = self.load_user(&client, &user_id).await?;
            return Ok((200, Some(self.session_json(user, &session_id, next))));
        }

        let used = client
            .query_opt(
                "select user_id::text, session_id::text,
                        updated_at > now() - make_interval(secs => $2::bigint::double precision),
                        (select c.token from auth.refresh_tokens c
                         where c.parent = t.token and not c.revoked order by c.id desc limit 1)
                 from auth.refresh_tokens t where token = $1",
                &[&token, &self.refresh_reuse_interval],
            )
            .await?;
        let Some(row) = used else {
            return Err(AuthError::new(
                400,
                "refresh_token_not_found",
                "Invalid Refresh Token: Refresh Token Not Found",
            ));
        };
        let (user_id, session_id, within_interval, child): (String, String, bool, Option<String>) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if let (true, Some(child)) = (within_interval, child) {
            // The client lost the reply to its last refresh: hand it the current token.
            let user = self.load_user(&client, &user_id).await?;
            return Ok((200, Some(self.session_json(user, &session_id, child))));
        }
        // A stolen or replayed token: end the whole session, as GoTrue does.
        client.execute("delete from auth.sessions where id = $1::text::uuid", &[&session_id]).await?;
        Err(AuthError::new(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"))
    }

    async fn logout(&self, bearer: Option<&str>, scope: Option<&str>) -> AuthReply {
        let (user_id, session_id) = self.authenticate(bearer).await?;
        let client = self.pool.get().await?;
        let sql = match scope.unwrap_or("global") {
            "global" => "delete from auth.sessions where user_id = $1::text::uuid and $2::text is not null",
            "local" => "delete from auth.sessions where user_id = $1::text::uuid and id = $2::text::uuid",
            "others" => "delete from auth.sessions where user_id = $1::text::uuid and id <> $2::text::uuid",
            other => {
                return Err(AuthError::validation(format!("Unsupported logout scope {other:?}")));
            }
        };
        client.execute(sql, &[&user_id, &session_id]).await?;
        Ok((204, None))
    }

    async fn user(&self, bearer: Option<&str>) -> AuthReply {
        let (user_id, _) = self.authenticate(bearer).await?;
        let client = self.pool.get().await?;
        Ok((200, Some(self.load_user(&client, &user_id).await?)))
    }

    /// Checks the bearer access token and that its session still exists; returns
    /// (user id, session id).
    async fn authenticate(&self, bearer: Option<&str>) -> Result<(String, String), AuthError> {
        let token = bearer.ok_or_else(AuthError::no_authorization)?;
        let claims = jwt::verify(&self.jwt_secret, token, now_secs()).map_err(AuthError::bad_jwt)?;
        let sub = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty());
        let Some(sub) = sub else {
            return Err(AuthError::bad_jwt("invalid claim: missing sub claim"));
        };
        let session_id = claims.get("session_id").and_then(Value::as_str).unwrap_or_default().to_string();
        let client = self.pool.get().await?;
        let exists = client
            .query_opt(
                "select 1 from auth.sessions where id::text = $1 and user_id::text = $2",
                &[&session_id, &sub],
            )
            .await?;
        if exists.is_none() {
            return Err(AuthError::new(
                403,
                "session_not_found",
                "Session from session_id claim in JWT does not exist",
            ));
        }
        Ok((sub.to_string(), session_id))
    }

    async fn load_user(&self, client: &tokio_postgres::Client, user_id: &str) -> Result<Value, AuthError> {
        let row = client
            .query_opt(&format!("select {USER_JSON} from auth.users u where u.id::text = $1"), &[&user_id])
            .await?;
        let Some(row) = row else {
            return Err(AuthError::new(403, "user_not_found", "User from sub claim in JWT does not exist"));
        };
        parse_json(row.get(0))
    }

    /// The session object GoTrue returns from sign-up and the token grants.
    fn session_json(&self, user: Value, session_id: &str, refresh_token: String) -> Value {
        let now = now_secs();
        let expires_at = now + self.jwt_expiry;
        let claims = json!({
            "aud": "authenticated",
            "exp": expires_at,
            "iat": now,
            "iss": self.issuer,
            "sub": user["id"],
            "email": user["email"],
            "phone": "",
            "app_metadata": user["app_metadata"],
            "user_metadata": user["user_metadata"],
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": now}],
            "session_id": session_id,
            "is_anonymous": false,
        });
        json!({
            "access_token": jwt::sign(&self.jwt_secret, &claims),
            "token_type": "bearer",
            "expires_in": self.jwt_expiry,
            "expires_at": expires_at,
            "refresh_token": refresh_token,
            "user": user,
        })
    }
}

/// A new password: long enough, short enough for bcrypt to read all of it, no NUL.
fn check_new_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::new(
            422,
            "weak_password",
            format!("Password should be at least {MIN_PASSWORD_LEN} characters."),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::validation(format!(
            "Password cannot be longer than {MAX_PASSWORD_BYTES} characters"
        )));
    }
    if password.contains('\0') {
        return Err(AuthError::validation("Password cannot contain NUL characters"));
    }
    Ok(())
}

/// bcrypt at GoTrue's cost, in GoTrue's `$2a$` format, off the async threads.
async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || bcrypt::hash_with_result(password, BCRYPT_COST))
        .await
        .map_err(AuthError::unexpected)?
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(AuthError::unexpected)
}

/// Whether `password` matches a bcrypt `hash`, off the async threads. A password no
/// account can have (NUL, over 72 bytes) or an unreadable hash is simply no match.
async fn verify_password(password: String, hash: String) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || {
        let usable = !password.contains('\0') && password.len() <= MAX_PASSWORD_BYTES;
        let matches = bcrypt::verify(&password, &hash).unwrap_or(false);
        usable && matches
    })
    .await
    .map_err(AuthError::unexpected)
}

/// A bcrypt hash (at the real cost) that no password is checked against successfully.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        bcrypt::hash_with_result(random_token(), BCRYPT_COST)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
            .unwrap_or_else(|_| "$2a$10$invalidinvalidinvalidinvalidinvalidinvalidinvalidinva".into())
    })
}

/// Characters an address must not hide: controls, bidirectional overrides and
/// zero-width characters (they make two different addresses look the same).
fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Lower-cases and checks an e-mail address the way GoTrue does (loosely: one `@` with
/// something on both sides and a dot in the domain), refusing over-long addresses and
/// invisible or control characters.
fn normalize_email(value: Option<&Value>) -> Result<String, AuthError> {
    let email = value.and_then(Value::as_str).unwrap_or_default().trim().to_lowercase();
    if email.is_empty() {
        return Err(AuthError::validation("Signup requires a valid password and email"));
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err(AuthError::validation("An email address is too long"));
    }
    if email.chars().any(is_deceptive) {
        return Err(AuthError::validation("Unable to validate email address: invalid format"));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c == ',')
                && !domain.contains('@')
        }
        None => false,
    };
    if valid {
        Ok(email)
    } else {
        Err(AuthError::validation("Unable to validate email address: invalid format"))
    }
}

fn parse_json(text: String) -> Result<Value, AuthError> {
    serde_json::from_str(&text).map_err(AuthError::unexpected)
}

/// A refresh token: 16 random bytes, base64url (GoTrue's are similar opaque strings).
fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    // The OS random source is always present on the machines this runs on.
    if getrandom::getrandom(&mut bytes).is_err() {
        bytes = *b"unpredictable!!!";
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Unix time in seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// One parameter of a query string (percent-decoding `%XX` and `+`).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(normalize_email(Some(&json!(" Ann@Example.org "))).unwrap(), "ann@example.org");
        let long = format!("{}@example.org", "a".repeat(250));
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.org",
            "ann@example",
            "ann@.org",
            "a b@example.org",
            "a@b@c.org",
            "an\u{0}n@example.org",
            "an\u{7}n@example.org",
            "ann\u{202E}gro.elpmaxe@x.org",
            "a\u{200B}nn@example.org",
            long.as_str(),
        ] {
            let err = normalize_email(Some(&json!(bad))).unwrap_err();
            assert_eq!(err.code, "validation_failed", "{bad:?}");
        }
    }

    #[test]
    fn new_passwords_are_checked() {
        assert_eq!(check_new_password("12345").unwrap_err().code, "weak_password");
        assert_eq!(check_new_password(&"x".repeat(73)).unwrap_err().code, "validation_failed");
        assert_eq!(check_new_password("abc\0defgh").unwrap_err().code, "validation_failed");
        assert!(check_new_password(&"é".repeat(36)).is_ok(), "72 bytes is the limit");
        assert!(check_new_password(&"é".repeat(37)).is_err());
    }

    #[tokio::test]
    async fn hashes_verify_and_the_dummy_matches_nothing() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(verify_password("correct horse".into(), hash.clone()).await.unwrap());
        assert!(!verify_password("wrong".into(), hash).await.unwrap());
        assert!(!verify_password("secret123".into(), dummy_hash().into()).await.unwrap());
    }

    #[test]
    fn query_params_decode() {
        assert_eq!(query_param("grant_type=password", "grant_type").as_deref(), Some("password"));
        assert_eq!(query_param("a=1&scope=local", "scope").as_deref(), Some("local"));
        assert_eq!(query_param("q=a%20b+c%2", "q").as_deref(), Some("a b c%2"));
        assert_eq!(query_param("a=1", "b"), None);
    }
}
