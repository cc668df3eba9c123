//! The auth stand-in against its contract (shared/notes/supabase.md): sign-up, password
//! and refresh grants with rotation, logout, user; every documented error's status and
//! code; the gateway's API-key check and CORS. Runs against a real stack.

mod common;

use common::{Api, NEW_SHAPE, call, email, run_cases};
use serde_json::{Value, json};
use tunebook_backend::jwt;
use tunebook_backend::testing::TestStack;

fn assert_error(r: &common::Reply, status: u16, code: &str) {
    assert_eq!((r.status, r.body["code"].as_str()), (status, Some(code)), "{}", r.text);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
    assert_eq!(r.header("x-sb-error-code"), Some(code));
}

fn signup_returns_a_session_and_user(api: &Api) {
    let address = email("signup");
    let r = api.call(
        "POST",
        "/auth/v1/signup",
        None,
        &[],
        json!({"email": address, "password": "fiddle-dee", "data": {"instrument": "fiddle"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for key in ["access_token", "refresh_token", "expires_in", "expires_at"] {
        assert!(!r.body[key].is_null(), "missing {key}: {}", r.text);
    }
    assert_eq!(r.body["token_type"], "bearer");
    let user = &r.body["user"];
    assert_eq!(user["email"], address.as_str());
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(user["user_metadata"]["instrument"], "fiddle");
    assert!(user["email_confirmed_at"].is_string(), "auto-confirmed: {user}");

    let claims =
        jwt::verify(&api.stack.stack().jwt_secret, r.body["access_token"].as_str().unwrap(), 0).unwrap();
    assert_eq!(claims["sub"], user["id"]);
    for (claim, value) in [
        ("aud", json!("authenticated")),
        ("role", json!("authenticated")),
        ("email", json!(address)),
        ("aal", json!("aal1")),
        ("is_anonymous", json!(false)),
    ] {
        assert_eq!(claims[claim], value, "claim {claim}");
    }
    assert!(claims["session_id"].is_string() && claims["iat"].is_i64() && claims["exp"].is_i64());
    assert!(claims["iss"].as_str().unwrap().ends_with("/auth/v1"));
}

fn signup_errors(api: &Api) {
    let address = email("dupe");
    api.sign_up(&address, "secret1");
    let cases = [
        (json!({"email": address.to_uppercase(), "password": "secret1"}), 422, "user_already_exists"),
        (json!({"email": email("weak"), "password": "12345"}), 422, "weak_password"),
        (json!({"email": "not-an-email", "password": "secret1"}), 400, "validation_failed"),
    ];
    for (body, status, code) in cases {
        let r = api.call("POST", "/auth/v1/signup", None, &[NEW_SHAPE], body);
        assert_error(&r, status, code);
    }
    let r = api.call(
        "POST",
        "/auth/v1/signup",
        None,
        &[NEW_SHAPE],
        json!({"email": email("weak2"), "password": "123"}),
    );
    assert_eq!(r.body["weak_password"]["reasons"], json!(["length"]));
    let r = call(
        "POST",
        &api.url("/auth/v1/signup"),
        &[("apikey", api.anon()), ("content-type", "application/json")],
        Value::Null,
    );
    assert_eq!(r.body["error_code"], "bad_json", "{}", r.text);
}

fn password_grant_and_its_errors(api: &Api) {
    let address = email("grant");
    let (user_id, _, _) = api.sign_up(&address, "reel-time");
    let r = api.password_grant(&address, "reel-time");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["id"], user_id.as_str());
    assert!(r.body["user"]["last_sign_in_at"].is_string());

    assert_error(&api.password_grant(&address, "wrong"), 400, "invalid_credentials");
    assert_error(&api.password_grant(&email("nobody"), "reel-time"), 400, "invalid_credentials");
    // The legacy error shape, without the API version header.
    let r = api.call(
        "POST",
        "/auth/v1/token?grant_type=password",
        None,
        &[],
        json!({"email": address, "password": "x"}),
    );
    assert_eq!(
        r.body,
        json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"})
    );
    let r = api.call("POST", "/auth/v1/token?grant_type=magic", None, &[NEW_SHAPE], json!({}));
    assert_error(&r, 400, "validation_failed");
}

fn refresh_rotates_and_refuses_reuse(api: &Api) {
    let (_, _, first) = api.sign_up(&email("refresh"), "secret1");
    let r = api.refresh_grant(&first);
    assert_eq!(r.status, 200, "{}", r.text);
    let second = r.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first, "refresh tokens rotate");

    // Within the reuse interval (2 s in this stack) a retry with the old token gets the
    // current token back: a client whose reply was lost is not signed out.
    let retry = api.refresh_grant(&first);
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.body["refresh_token"], second.as_str());

    // The interval passes (moved back in the database rather than waited for).
    api.stack
        .sql(&format!(
            "update auth.refresh_tokens set updated_at = now() - interval '1 minute' where token = '{first}'"
        ))
        .unwrap();
    assert_error(&api.refresh_grant(&first), 400, "refresh_token_already_used");
    // Reuse after the interval ends the session: the newer token is gone too.
    assert_error(&api.refresh_grant(&second), 400, "refresh_token_not_found");
    assert_error(&api.refresh_grant("never-issued"), 400, "refresh_token_not_found");
}

fn user_endpoint_and_jwt_errors(api: &Api) {
    let address = email("user");
    let (user_id, token, _) = api.sign_up(&address, "secret1");
    let r = api.call("GET", "/auth/v1/user", Some(&token), &[], Value::Null);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["id"].as_str(), r.body["email"].as_str()),
        (Some(user_id.as_str()), Some(address.as_str()))
    );

    assert_error(&api.call("GET", "/auth/v1/user", None, &[NEW_SHAPE], Value::Null), 401, "no_authorization");
    let secret = &api.stack.stack().jwt_secret;
    let expired = jwt::sign(secret, &json!({"sub": user_id, "role": "authenticated", "exp": 1_000}));
    assert_error(
        &api.call("GET", "/auth/v1/user", Some(&expired), &[NEW_SHAPE], Value::Null),
        403,
        "bad_jwt",
    );
    assert_error(
        &api.call("GET", "/auth/v1/user", Some("not.a.jwt"), &[NEW_SHAPE], Value::Null),
        403,
        "bad_jwt",
    );
    let forged = jwt::sign(
        "some-other-secret-that-is-32-chars-long",
        &json!({"sub": user_id, "exp": 4_000_000_000i64}),
    );
    assert_error(&api.call("GET", "/auth/v1/user", Some(&forged), &[NEW_SHAPE], Value::Null), 403, "bad_jwt");
    // The anon key is a valid JWT but names no user.
    let anon = api.anon().to_string();
    assert_error(&api.call("GET", "/auth/v1/user", Some(&anon), &[NEW_SHAPE], Value::Null), 403, "bad_jwt");
}

fn logout_scopes(api: &Api) {
    let address = email("logout");
    let (_, token_a, refresh_a) = api.sign_up(&address, "secret1");
    let second = api.password_grant(&address, "secret1");
    let (token_b, refresh_b) = (
        second.body["access_token"].as_str().unwrap().to_string(),
        second.body["refresh_token"].as_str().unwrap().to_string(),
    );
    // "others" ends session A but not B (the caller's).
    let r = api.call("POST", "/auth/v1/logout?scope=others", Some(&token_b), &[], Value::Null);
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&api.refresh_grant(&refresh_a), 400, "refresh_token_not_found");
    assert_error(
        &api.call("GET", "/auth/v1/user", Some(&token_a), &[NEW_SHAPE], Value::Null),
        403,
        "session_not_found",
    );
    assert_eq!(api.call("GET", "/auth/v1/user", Some(&token_b), &[], Value::Null).status, 200);
    // The default scope (global) ends the rest.
    assert_eq!(api.call("POST", "/auth/v1/logout", Some(&token_b), &[], Value::Null).status, 204);
    assert_error(&api.refresh_grant(&refresh_b), 400, "refresh_token_not_found");
    assert_error(
        &api.call("POST", "/auth/v1/logout", None, &[NEW_SHAPE], Value::Null),
        401,
        "no_authorization",
    );
}

fn gateway_requires_an_api_key(api: &Api) {
    for path in ["/auth/v1/health", "/rest/v1/tune"] {
        let r = call("GET", &api.url(path), &[], Value::Null);
        assert_eq!((r.status, &r.body), (401, &json!({"message": "No API key found in request"})), "{path}");
        let r = call("GET", &api.url(path), &[("apikey", "wrong")], Value::Null);
        assert_eq!((r.status, r.body["message"].as_str()), (401, Some("Invalid API key")), "{path}");
    }
    let r = call("GET", &api.url("/auth/v1/health"), &[("apikey", api.anon())], Value::Null);
    assert_eq!(r.status, 200);
    // The API root (PostgREST's OpenAPI description) is open to the anon role; the tables
    // are not (least privilege: anon has no grant on them).
    let r = call("GET", &format!("{}?apikey={}", api.url("/rest/v1/"), api.anon()), &[], Value::Null);
    assert_eq!(r.status, 200, "apikey as a query parameter: {}", r.text);
    let r = call("GET", &format!("{}?apikey={}", api.url("/rest/v1/tune"), api.anon()), &[], Value::Null);
    assert_eq!(r.body["code"], "42501", "anon cannot read tunes at all: {}", r.text);
}

fn cors_is_open_to_any_origin(api: &Api) {
    let r = call(
        "OPTIONS",
        &api.url("/rest/v1/tune"),
        &[
            ("origin", "https://tunebook.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "apikey, authorization, content-type, prefer, range, x-client-info",
            ),
        ],
        Value::Null,
    );
    assert_eq!(r.status, 200, "preflight needs no API key");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-methods").unwrap_or_default().contains("POST"));
    assert!(r.header("access-control-allow-headers").unwrap_or_default().contains("prefer"));
    let (_, token, _) = api.sign_up(&email("cors"), "secret1");
    let r = api.call(
        "GET",
        "/rest/v1/tune",
        Some(&token),
        &[("origin", "https://tunebook.example"), ("prefer", "count=exact")],
        Value::Null,
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-expose-headers").unwrap_or_default().contains("Content-Range"));
    assert!(r.header("content-range").is_some(), "PostgREST's headers pass through: {:?}", r.headers);
}

fn tokens_are_accepted_by_postgrest(api: &Api) {
    let (user_id, token, _) = api.sign_up(&email("rest"), "secret1");
    let r = api.call(
        "POST",
        "/rest/v1/tune",
        Some(&token),
        &[("prefer", "return=representation")],
        json!({"id": "01930000-0000-7000-8000-000000000001", "title": "Tokens work"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // user_id defaults to auth.uid(): the server saw this user in the token.
    assert_eq!(r.body[0]["user_id"], user_id.as_str());
    let expired = jwt::sign(
        &api.stack.stack().jwt_secret,
        &json!({"sub": user_id, "role": "authenticated", "exp": 1_000}),
    );
    let r = api.call("GET", "/rest/v1/tune", Some(&expired), &[], Value::Null);
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(matches!(r.body["code"].as_str(), Some("PGRST301" | "PGRST303")), "{}", r.text);
}

#[test]
fn auth_contract() {
    let stack = TestStack::start(|c| c.refresh_reuse_interval = 2).expect("stack starts");
    let api = Api { stack: &stack };
    run_cases(
        &api,
        &[
            ("signup_returns_a_session_and_user", signup_returns_a_session_and_user),
            ("signup_errors", signup_errors),
            ("password_grant_and_its_errors", password_grant_and_its_errors),
            ("refresh_rotates_and_refuses_reuse", refresh_rotates_and_refuses_reuse),
            ("user_endpoint_and_jwt_errors", user_endpoint_and_jwt_errors),
            ("logout_scopes", logout_scopes),
            ("gateway_requires_an_api_key", gateway_requires_an_api_key),
            ("cors_is_open_to_any_origin", cors_is_open_to_any_origin),
            ("tokens_are_accepted_by_postgrest", tokens_are_accepted_by_postgrest),
        ],
    );
}

#[test]
fn without_autoconfirm_signup_returns_only_the_user() {
    let stack = TestStack::start(|c| c.autoconfirm = false).expect("stack starts");
    let api = Api { stack: &stack };
    let address = email("unconfirmed");
    let r = api.call("POST", "/auth/v1/signup", None, &[], json!({"email": address, "password": "secret1"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("access_token").is_none(), "no session before confirmation: {}", r.text);
    assert_eq!(r.body["email"], address.as_str());
    assert!(r.body["confirmation_sent_at"].is_string());
    assert_error(&api.password_grant(&address, "secret1"), 400, "email_not_confirmed");
}
