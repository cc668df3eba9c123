//! The local stack under attack: each case is one way it was broken before (an open proxy,
//! unbounded bodies, idle connections, racing refreshes and pushes, poison timestamps,
//! login timing, bad input, over-broad grants) and checks it no longer is.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Api, NEW_SHAPE, call, email, run_cases};
use serde_json::{Value, json};
use tunebook_backend::auth::RateLimits;
use tunebook_backend::gateway::GatewayLimits;
use tunebook_backend::testing::TestStack;

fn uuid(n: u32) -> String {
    format!("01940000-0000-7000-8000-{n:012x}")
}

fn api_addr(api: &Api) -> String {
    api.stack.stack().api_url.trim_start_matches("http://").to_string()
}

/// Sends raw bytes and returns what came back until the server closed the connection or
/// `wait` passed, and whether it closed.
fn raw_exchange(addr: &str, request: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(wait)).unwrap();
    let _ = stream.write_all(request);
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&reply).into_owned(), closed)
}

/// A local HTTP server that counts the requests reaching it: the target of a proxy escape.
fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ =
                stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nCANARY");
        }
    });
    (port, hits)
}

fn the_gateway_is_not_an_open_proxy(api: &Api) {
    let (port, hits) = canary();
    let addr = api_addr(api);
    let key = api.anon();
    for target in [
        format!("/rest/v1@127.0.0.1:{port}/x"),
        format!("/rest/v1:{port}/x"),
        format!("/auth/v1@127.0.0.1:{port}/x"),
        format!("http://127.0.0.1:{port}/rest/v1/x"),
        format!("//127.0.0.1:{port}/rest/v1/x"),
    ] {
        let request =
            format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\napikey: {key}\r\nconnection: close\r\n\r\n");
        let (reply, _) = raw_exchange(&addr, request.as_bytes(), Duration::from_secs(5));
        assert!(!reply.contains("CANARY"), "{target} reached another port: {reply}");
        let status: u16 = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!(matches!(status, 400 | 404), "{target}: {reply}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request reached the canary");
}

fn bodies_over_the_limit_are_refused_while_streaming(api: &Api) {
    let addr = api_addr(api);
    let key = api.anon();
    // Declares 100 MB and sends 1 KB: the answer must come without the rest.
    let head = format!(
        "POST /rest/v1/tune HTTP/1.1\r\nhost: {addr}\r\napikey: {key}\r\ncontent-type: application/json\r\n\
         content-length: 104857600\r\n\r\n"
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(&[b' '; 1024]);
    let started = Instant::now();
    let (reply, _) = raw_exchange(&addr, &request, Duration::from_secs(5));
    assert!(reply.starts_with("HTTP/1.1 413"), "declared length: {reply}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Chunked, no declared length: cut off once past the limit.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /rest/v1/tune HTTP/1.1\r\nhost: {addr}\r\napikey: {key}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
    let mut sent = 0;
    for _ in 0..64 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
        sent += 64 * 1024;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "chunked after {sent} bytes: {reply:.200}");
    // A body under the limit still goes through.
    let (_, token, _) = api.sign_up(&email("small-body"), "secret1");
    let r = api.call("POST", "/rest/v1/tune", Some(&token), &[], json!({"id": uuid(1), "title": "Small"}));
    assert_eq!(r.status, 201, "{}", r.text);
}

fn idle_and_slow_connections_are_closed(api: &Api) {
    let addr = api_addr(api);
    // Idle: connected, says nothing (idle timeout 2 s in this stack).
    let started = Instant::now();
    let (_, closed) = raw_exchange(&addr, b"", Duration::from_secs(8));
    assert!(closed, "an idle connection stays open");
    assert!(started.elapsed() < Duration::from_secs(6), "closed after {:?}", started.elapsed());

    // Slow headers: a byte every 300 ms is activity, but the headers never finish
    // (header read timeout 1 s).
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET /auth/v1/health HTTP/1.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
        if stream.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match stream.read(&mut buf) {
            Ok(_) => {
                closed = true;
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "slow headers kept the connection open for {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(5), "closed after {:?}", started.elapsed());
}

fn concurrent_refreshes_keep_the_session(api: &Api) {
    let address = email("race");
    let _ = api.sign_up(&address, "secret1");
    for attempt in 0..30 {
        let r = api.password_grant(&address, "secret1");
        let token = r.body["refresh_token"].as_str().unwrap().to_string();
        let replies: Vec<common::Reply> = std::thread::scope(|s| {
            let a = s.spawn(|| api.refresh_grant(&token));
            let b = s.spawn(|| api.refresh_grant(&token));
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        for r in &replies {
            assert_eq!(r.status, 200, "attempt {attempt}: {}", r.text);
        }
        assert_eq!(
            replies[0].body["refresh_token"], replies[1].body["refresh_token"],
            "attempt {attempt}: the loser gets the winner's token"
        );
        let access = replies[1].body["access_token"].as_str().unwrap();
        let user = api.call("GET", "/auth/v1/user", Some(access), &[], Value::Null);
        assert_eq!(user.status, 200, "attempt {attempt}: session alive: {}", user.text);
        let next = api.refresh_grant(replies[0].body["refresh_token"].as_str().unwrap());
        assert_eq!(next.status, 200, "attempt {attempt}: the new token refreshes: {}", next.text);
    }
}

fn push(api: &Api, token: &str, changes: Value) -> common::Reply {
    api.call("POST", "/rest/v1/rpc/push_tunes", Some(token), &[], json!({ "changes": changes }))
}

fn the_same_new_tune_pushed_twice_at_once_is_applied(api: &Api) {
    let (_, token, _) = api.sign_up(&email("twice"), "secret1");
    for attempt in 0..40 {
        let change = json!([{"id": uuid(1000 + attempt), "title": "Twice", "base_version": null}]);
        let replies: Vec<common::Reply> = std::thread::scope(|s| {
            let a = s.spawn(|| push(api, &token, change.clone()));
            let b = s.spawn(|| push(api, &token, change.clone()));
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        for r in replies {
            assert_eq!(r.status, 200, "attempt {attempt}: {}", r.text);
            assert_eq!(r.body[0]["status"], "applied", "attempt {attempt}: {}", r.text);
        }
    }
}

fn racing_writes_do_not_deadlock(api: &Api) {
    let (_, token, _) = api.sign_up(&email("deadlock"), "secret1");
    let ids: Vec<String> = (0..20).map(|n| uuid(2000 + n)).collect();
    let rows: Vec<Value> =
        ids.iter().map(|id| json!({"id": id, "title": "Start", "base_version": null})).collect();
    assert_eq!(push(api, &token, json!(rows)).status, 200);
    for attempt in 0..15 {
        // Every change conflicts or applies; what matters is that none fails.
        let forward: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "title": format!("F{attempt}"), "base_version": 1}))
            .collect();
        let backward: Vec<Value> = ids
            .iter()
            .rev()
            .map(|id| json!({"id": id, "title": format!("B{attempt}"), "base_version": 1}))
            .collect();
        let statuses: Vec<(u16, String)> = std::thread::scope(|s| {
            let a = s.spawn(|| push(api, &token, json!(forward)));
            let b = s.spawn(|| push(api, &token, json!(backward)));
            let c = s.spawn(|| {
                api.call(
                    "PATCH",
                    &format!("/rest/v1/tune?id=in.({})", ids.join(",")),
                    Some(&token),
                    &[],
                    json!({"mode": format!("P{attempt}")}),
                )
            });
            [a.join().unwrap(), b.join().unwrap(), c.join().unwrap()]
                .into_iter()
                .map(|r| (r.status, r.text))
                .collect()
        });
        for (status, text) in statuses {
            assert!(matches!(status, 200 | 204), "attempt {attempt}: {status} {text}");
        }
    }
}

fn push_batches_are_capped(api: &Api) {
    let (_, token, _) = api.sign_up(&email("cap"), "secret1");
    let too_many: Vec<Value> = (0..1001).map(|n| json!({"id": uuid(5000 + n), "title": "T"})).collect();
    let r = push(api, &token, json!(too_many));
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("22023")), "{}", r.text);
    assert!(r.body["message"].as_str().unwrap_or_default().contains("at most 1000"), "{}", r.text);
    let duplicate = json!([{"id": uuid(7000), "title": "A"}, {"id": uuid(7000), "title": "B"}]);
    assert_eq!(push(api, &token, duplicate).status, 400);
}

fn poison_values_are_refused(api: &Api) {
    let (_, token, _) = api.sign_up(&email("poison"), "secret1");
    for (n, body) in [
        json!({"id": uuid(3000), "title": "Forever", "created_at": "infinity"}),
        json!({"id": uuid(3001), "title": "Ancient", "last_modified_at": "0001-01-01T00:00:00Z"}),
        json!({"id": uuid(3002), "title": "Huge id", "device_id": "d".repeat(10_000)}),
    ]
    .into_iter()
    .enumerate()
    {
        let r = api.call("POST", "/rest/v1/tune", Some(&token), &[], body);
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some("23514")), "case {n}: {}", r.text);
    }
    let r = push(api, &token, json!([{"id": uuid(3003), "title": "Via push", "created_at": "-infinity"}]));
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("23514")), "{}", r.text);
}

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn login_timing_does_not_reveal_accounts(api: &Api) {
    let time = |address: &str| {
        let started = Instant::now();
        let r = api.password_grant(address, "wrong-password");
        assert_eq!(r.body["code"], "invalid_credentials", "{}", r.text);
        started.elapsed().as_secs_f64() * 1000.0
    };
    let mut known_ms = Vec::new();
    let mut unknown_ms = Vec::new();
    for i in 0..5 {
        // One failure per address, under the per-address limit.
        let known = email(&format!("timing{i}"));
        let _ = api.sign_up(&known, "secret1");
        known_ms.push(time(&known));
        unknown_ms.push(time(&email(&format!("nobody{i}"))));
    }
    let (known_ms, unknown_ms) = (median_ms(known_ms), median_ms(unknown_ms));
    // Before: 124 ms against 3 ms. Both now run one bcrypt.
    assert!(unknown_ms > known_ms * 0.5, "unknown {unknown_ms:.1} ms vs known {known_ms:.1} ms");
}

fn failed_logins_are_rate_limited(api: &Api) {
    // This stack allows 3 failures per address and 40 per IP.
    let victim = email("victim");
    let _ = api.sign_up(&victim, "secret1");
    for _ in 0..3 {
        assert_eq!(api.password_grant(&victim, "guess").body["code"], "invalid_credentials");
    }
    let r = api.password_grant(&victim, "secret1");
    assert_eq!((r.status, r.body["code"].as_str()), (429, Some("over_request_rate_limit")), "{}", r.text);
    // Spraying other addresses from the same IP runs into the per-IP limit.
    let mut limited = false;
    for i in 0..41 {
        let r = api.password_grant(&email(&format!("spray{i}")), "guess");
        if r.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "per-IP limit reached");
}

fn bad_auth_input_is_refused_with_gotrue_codes(api: &Api) {
    let long_email = format!("{}@example.org", "a".repeat(300));
    let cases = [
        (json!({"email": email("nul"), "password": "abc\u{0}defgh"}), "validation_failed"),
        (json!({"email": long_email, "password": "secret1"}), "validation_failed"),
        (
            json!({"email": format!("evil\u{202E}{}", email("bidi")), "password": "secret1"}),
            "validation_failed",
        ),
        (
            json!({"email": format!("zero\u{200B}{}", email("zw")), "password": "secret1"}),
            "validation_failed",
        ),
        (json!({"email": format!("ctl\u{1}{}", email("ctl")), "password": "secret1"}), "validation_failed"),
        (json!({"email": email("long-pw"), "password": "p".repeat(73)}), "validation_failed"),
        (
            json!({"email": email("meta"), "password": "secret1", "data": {"blob": "x".repeat(200_000)}}),
            "validation_failed",
        ),
    ];
    for (n, (body, code)) in cases.into_iter().enumerate() {
        let r = api.call("POST", "/auth/v1/signup", None, &[NEW_SHAPE], body);
        assert!(matches!(r.status, 400 | 422), "case {n}: {} {}", r.status, r.text);
        assert_eq!(r.body["code"], code, "case {n}: {}", r.text);
    }
    let r = api.password_grant(&email("nul-login"), "abc\u{0}defgh");
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("invalid_credentials")), "{}", r.text);
    let count = api
        .stack
        .sql("select count(*) from auth.users where email like '%example.org' and length(email) > 255");
    assert_eq!(count.unwrap(), vec![Some("0".to_string())]);
}

fn passwords_hashed_by_pgcrypto_still_sign_in(api: &Api) {
    // Accounts made by earlier versions of the stand-in (pgcrypto's crypt) keep working.
    let address = email("pgcrypto");
    api.stack
        .sql(&format!(
            "insert into auth.users (email, encrypted_password, email_confirmed_at)
             values ('{address}', extensions.crypt('old-secret', extensions.gen_salt('bf', 10)), now())"
        ))
        .unwrap();
    assert_eq!(api.password_grant(&address, "old-secret").status, 200);
}

fn grants_are_least_privilege(api: &Api) {
    let check = |sql: &str| api.stack.sql(&format!("select ({sql})::text")).unwrap()[0].clone().unwrap();
    for (what, sql) in [
        ("anon reads tunes", "has_table_privilege('anon', 'public.tune', 'select')"),
        ("anon writes tunes", "has_table_privilege('anon', 'public.tune', 'insert')"),
        ("authenticated truncates", "has_table_privilege('authenticated', 'public.tune', 'truncate')"),
        ("authenticated deletes", "has_table_privilege('authenticated', 'public.tune', 'delete')"),
        ("anon reads counters", "has_table_privilege('anon', 'public.user_change_counter', 'select')"),
        ("anon calls push", "has_function_privilege('anon', 'public.push_tunes(jsonb)', 'execute')"),
        (
            "authenticated calls the trigger function",
            "has_function_privilege('authenticated', 'public.tune_before_write()', 'execute')",
        ),
        (
            "anon calls the lock function",
            "has_function_privilege('anon', 'public.lock_change_counter()', 'execute')",
        ),
        (
            "default privileges for API roles",
            "exists (select 1 from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace
                     where n.nspname = 'public' and array_to_string(d.defaclacl, ',') ~ '(anon|authenticated)=')",
        ),
    ] {
        assert_eq!(check(sql), "false", "{what}");
    }
    assert_eq!(check("has_table_privilege('authenticated', 'public.tune', 'update')"), "true");
    // A table a migration forgets to grant is not reachable through the API.
    api.stack
        .sql("create table public.forgotten (id int primary key); notify pgrst, 'reload schema'")
        .unwrap();
    let (_, token, _) = api.sign_up(&email("forgotten"), "secret1");
    let r = until_schema_reloaded(|| api.call("GET", "/rest/v1/forgotten", Some(&token), &[], Value::Null));
    assert_eq!(r.body["code"], "42501", "{}", r.text);
}

/// Calls `request` until PostgREST has reloaded its schema cache (it stops answering
/// "not found in the schema cache"), at most 10 s; returns the last reply.
fn until_schema_reloaded(request: impl Fn() -> common::Reply) -> common::Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = request();
        let stale = matches!(r.body["code"].as_str(), Some("PGRST202" | "PGRST205" | "42P01" | "42883"));
        if !stale || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn api_roles_have_statement_timeouts(api: &Api) {
    api.stack
        .sql(
            "create or replace function public.test_sleep(seconds float) returns void
             language sql as 'select pg_sleep(seconds)';
             grant execute on function public.test_sleep(float) to anon;
             notify pgrst, 'reload schema'",
        )
        .unwrap();
    until_schema_reloaded(|| api.call("POST", "/rest/v1/rpc/test_sleep", None, &[], json!({"seconds": 0})));
    let started = Instant::now();
    let r = api.call("POST", "/rest/v1/rpc/test_sleep", None, &[], json!({"seconds": 6}));
    let elapsed = started.elapsed();
    assert_eq!(r.body["code"], "57014", "anon's 3 s timeout cancels it: {}", r.text);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let settings =
        api.stack.sql("select array_to_string(rolconfig, ',') from pg_roles where rolname = 'authenticated'");
    assert_eq!(settings.unwrap(), vec![Some("statement_timeout=8s".to_string())]);
}

fn publishable_and_secret_keys_work_like_the_legacy_ones(api: &Api) {
    let stack = api.stack.stack();
    let base = &stack.api_url;
    let (user_id, token, _) = api.sign_up(&email("keys"), "secret1");
    let bearer = format!("Bearer {token}");
    let r =
        call("GET", &format!("{base}/auth/v1/health"), &[("apikey", &stack.publishable_key)], Value::Null);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = call(
        "POST",
        &format!("{base}/rest/v1/tune"),
        &[("apikey", &stack.publishable_key), ("authorization", &bearer)],
        json!({"id": uuid(4000), "title": "Keyed"}),
    );
    assert_eq!(r.status, 201, "a user's request with the publishable key: {}", r.text);
    // supabase-js sends the key itself as the bearer when nobody is signed in.
    let anon_bearer = format!("Bearer {}", stack.publishable_key);
    let r = call(
        "GET",
        &format!("{base}/rest/v1/tune"),
        &[("apikey", &stack.publishable_key), ("authorization", &anon_bearer)],
        Value::Null,
    );
    assert_eq!((r.status, r.body["code"].as_str()), (401, Some("42501")), "acts as anon: {}", r.text);
    let r = call(
        "GET",
        &format!("{base}/rest/v1/tune?user_id=eq.{user_id}"),
        &[("apikey", &stack.secret_key)],
        Value::Null,
    );
    assert_eq!(
        (r.status, r.body.as_array().map(Vec::len)),
        (200, Some(1)),
        "secret = service role: {}",
        r.text
    );
    let r =
        call("GET", &format!("{base}/auth/v1/health"), &[("apikey", "sb_publishable_wrong")], Value::Null);
    assert_eq!(r.status, 401);
}

#[test]
fn the_stack_holds_under_attack() {
    let stack = TestStack::start(|c| {
        c.gateway_limits = GatewayLimits {
            body_limit: 1024 * 1024,
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
        };
        c.rate_limits =
            RateLimits { failed_per_email: 3, failed_per_ip: 40, window: Duration::from_secs(300) };
    })
    .expect("stack");
    let api = Api { stack: &stack };
    run_cases(
        &api,
        &[
            ("the_gateway_is_not_an_open_proxy", the_gateway_is_not_an_open_proxy),
            (
                "bodies_over_the_limit_are_refused_while_streaming",
                bodies_over_the_limit_are_refused_while_streaming,
            ),
            ("idle_and_slow_connections_are_closed", idle_and_slow_connections_are_closed),
            ("concurrent_refreshes_keep_the_session", concurrent_refreshes_keep_the_session),
            (
                "the_same_new_tune_pushed_twice_at_once_is_applied",
                the_same_new_tune_pushed_twice_at_once_is_applied,
            ),
            ("racing_writes_do_not_deadlock", racing_writes_do_not_deadlock),
            ("push_batches_are_capped", push_batches_are_capped),
            ("poison_values_are_refused", poison_values_are_refused),
            ("bad_auth_input_is_refused_with_gotrue_codes", bad_auth_input_is_refused_with_gotrue_codes),
            ("passwords_hashed_by_pgcrypto_still_sign_in", passwords_hashed_by_pgcrypto_still_sign_in),
            ("grants_are_least_privilege", grants_are_least_privilege),
            ("api_roles_have_statement_timeouts", api_roles_have_statement_timeouts),
            (
                "publishable_and_secret_keys_work_like_the_legacy_ones",
                publishable_and_secret_keys_work_like_the_legacy_ones,
            ),
            // Last: it spends this stack's failed-login allowance for 127.0.0.1.
            ("login_timing_does_not_reveal_accounts", login_timing_does_not_reveal_accounts),
            ("failed_logins_are_rate_limited", failed_logins_are_rate_limited),
        ],
    );
}
