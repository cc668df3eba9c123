//! The migrations through the real PostgREST: row level security between two users,
//! server-maintained columns, bulk upserts, and applying the SQL from scratch and twice.

mod common;

use common::{Api, email, run_cases};
use serde_json::{Value, json};
use tunebook_backend::migrations::sql_files;
use tunebook_backend::testing::TestStack;

struct Ctx<'a> {
    api: Api<'a>,
    /// User A: (id, token); user B likewise.
    a: (String, String),
    b: (String, String),
}

fn uuid(n: u32) -> String {
    format!("01930000-0000-7000-8000-{n:012x}")
}

fn representation() -> (&'static str, &'static str) {
    ("prefer", "return=representation")
}

fn upsert() -> (&'static str, &'static str) {
    ("prefer", "resolution=merge-duplicates,return=representation")
}

fn insert_as(ctx: &Ctx, token: &str, body: Value) -> common::Reply {
    ctx.api.call("POST", "/rest/v1/tune", Some(token), &[representation()], body)
}

fn row_sql(ctx: &Ctx, id: &str, column: &str) -> Option<String> {
    ctx.api
        .stack
        .sql(&format!("select {column}::text from public.tune where id = '{id}'"))
        .unwrap()
        .into_iter()
        .next()
        .flatten()
}

fn minimal_insert_gets_every_server_column(ctx: &Ctx) {
    let id = uuid(1);
    let r = insert_as(ctx, &ctx.a.1, json!({"id": id, "title": "The Kesh"}));
    assert_eq!(r.status, 201, "{}", r.text);
    let row = &r.body[0];
    assert_eq!(row["user_id"], ctx.a.0.as_str());
    assert_eq!(row["sync_version"], 1);
    assert_eq!(row["deleted"], false);
    assert!(row["created_at"].is_string() && row["last_modified_at"].is_string());
    let first_change = row["change_number"].as_i64().unwrap();
    assert!(first_change > 0);

    let r = ctx.api.call(
        "PATCH",
        &format!("/rest/v1/tune?id=eq.{id}"),
        Some(&ctx.a.1),
        &[representation()],
        json!({"mode": "G major", "sync_version": 99, "created_at": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let row = &r.body[0];
    assert_eq!(row["sync_version"], 2, "the server owns sync_version");
    assert_ne!(row["created_at"], "2000-01-01T00:00:00+00:00", "created_at cannot be rewritten");
    assert!(row["change_number"].as_i64().unwrap() > first_change);
}

fn bulk_upsert_inserts_and_merges(ctx: &Ctx) {
    let rows: Vec<Value> =
        (10..15).map(|n| json!({"id": uuid(n), "title": format!("Tune {n}"), "deleted": false})).collect();
    let r = ctx.api.call("POST", "/rest/v1/tune?on_conflict=id", Some(&ctx.a.1), &[upsert()], json!(rows));
    assert_eq!((r.status, r.body.as_array().map(Vec::len)), (201, Some(5)), "{}", r.text);
    // The same ids again, one of them soft-deleted: an update, not a duplicate.
    let mut again = rows.clone();
    again[0]["deleted"] = json!(true);
    let r = ctx.api.call("POST", "/rest/v1/tune?on_conflict=id", Some(&ctx.a.1), &[upsert()], json!(again));
    assert!(matches!(r.status, 200 | 201), "{}", r.text);
    assert_eq!(r.body[0]["sync_version"], 2);
    assert_eq!(r.body[0]["deleted"], true);
    let count = ctx
        .api
        .stack
        .sql(&format!("select count(*) from public.tune where id in ('{}', '{}')", uuid(10), uuid(14)))
        .unwrap();
    assert_eq!(count, [Some("2".to_string())]);
}

fn b_cannot_read_or_change_a(ctx: &Ctx) {
    let id = uuid(20);
    assert_eq!(insert_as(ctx, &ctx.a.1, json!({"id": id, "title": "A's tune"})).status, 201);

    let r = ctx.api.call("GET", &format!("/rest/v1/tune?id=eq.{id}"), Some(&ctx.b.1), &[], Value::Null);
    assert_eq!((r.status, &r.body), (200, &json!([])), "B reads nothing of A's");

    let r = ctx.api.call(
        "PATCH",
        &format!("/rest/v1/tune?id=eq.{id}"),
        Some(&ctx.b.1),
        &[representation()],
        json!({"title": "Mine now"}),
    );
    assert_eq!((r.status, &r.body), (200, &json!([])), "B's update matches no row");

    let r = ctx.api.call(
        "POST",
        "/rest/v1/tune?on_conflict=id",
        Some(&ctx.b.1),
        &[upsert()],
        json!([{"id": id, "title": "Upserted over"}]),
    );
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("42501")), "{}", r.text);

    let r = ctx.api.call(
        "DELETE",
        &format!("/rest/v1/tune?id=eq.{id}"),
        Some(&ctx.b.1),
        &[representation()],
        Value::Null,
    );
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("42501")), "no DELETE grant: {}", r.text);

    assert_eq!(row_sql(ctx, &id, "title").as_deref(), Some("A's tune"));
    assert_eq!(row_sql(ctx, &id, "user_id"), Some(ctx.a.0.clone()));
}

fn nobody_gives_a_row_away(ctx: &Ctx) {
    // B cannot create a row owned by A...
    let r = insert_as(ctx, &ctx.b.1, json!({"id": uuid(30), "title": "Gift", "user_id": ctx.a.0}));
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("42501")), "{}", r.text);
    // ...and A cannot hand their row to B.
    let id = uuid(31);
    assert_eq!(insert_as(ctx, &ctx.a.1, json!({"id": id, "title": "Keep"})).status, 201);
    let r = ctx.api.call(
        "PATCH",
        &format!("/rest/v1/tune?id=eq.{id}"),
        Some(&ctx.a.1),
        &[],
        json!({"user_id": ctx.b.0}),
    );
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("42501")), "{}", r.text);
    assert_eq!(row_sql(ctx, &id, "user_id"), Some(ctx.a.0.clone()));
}

fn deletes_are_soft_only(ctx: &Ctx) {
    let id = uuid(40);
    assert_eq!(insert_as(ctx, &ctx.a.1, json!({"id": id, "title": "Stays"})).status, 201);
    let r = ctx.api.call(
        "DELETE",
        &format!("/rest/v1/tune?id=eq.{id}"),
        Some(&ctx.a.1),
        &[representation()],
        Value::Null,
    );
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("42501")),
        "deletes are not granted at all: {}",
        r.text
    );
    assert_eq!(row_sql(ctx, &id, "title").as_deref(), Some("Stays"));
}

fn anonymous_sees_and_writes_nothing(ctx: &Ctx) {
    let r = ctx.api.call("GET", "/rest/v1/tune", None, &[], Value::Null);
    assert_eq!((r.status, r.body["code"].as_str()), (401, Some("42501")), "anon has no grant: {}", r.text);
    let r = ctx.api.call("POST", "/rest/v1/tune", None, &[], json!({"id": uuid(50), "title": "Anon"}));
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["code"], "42501");
    let r = ctx.api.call("GET", "/rest/v1/user_change_counter", Some(&ctx.a.1), &[], Value::Null);
    assert_eq!(r.body["code"], "42501", "counters are not readable: {}", r.text);
}

fn constraints_are_enforced(ctx: &Ctx) {
    for (body, what) in [
        (json!({"id": uuid(60), "title": ""}), "empty title"),
        (json!({"id": uuid(61), "title": "x".repeat(201)}), "long title"),
        (json!({"id": uuid(62), "title": "t", "release_year": 98}), "bad year"),
        (json!({"id": uuid(63), "title": "t", "incipit": "x".repeat(4001)}), "long incipit"),
    ] {
        let r = insert_as(ctx, &ctx.a.1, body);
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some("23514")), "{what}: {}", r.text);
    }
}

#[test]
fn row_level_security_and_server_columns() {
    let stack = TestStack::start(|_| {}).expect("stack starts");
    let api = Api { stack: &stack };
    let (a_id, a_token, _) = api.sign_up(&email("a"), "secret1");
    let (b_id, b_token, _) = api.sign_up(&email("b"), "secret1");
    let ctx = Ctx { api, a: (a_id, a_token), b: (b_id, b_token) };
    run_cases(
        &ctx,
        &[
            ("minimal_insert_gets_every_server_column", minimal_insert_gets_every_server_column),
            ("bulk_upsert_inserts_and_merges", bulk_upsert_inserts_and_merges),
            ("b_cannot_read_or_change_a", b_cannot_read_or_change_a),
            ("nobody_gives_a_row_away", nobody_gives_a_row_away),
            ("deletes_are_soft_only", deletes_are_soft_only),
            ("anonymous_sees_and_writes_nothing", anonymous_sees_and_writes_nothing),
            ("constraints_are_enforced", constraints_are_enforced),
        ],
    );
}

#[test]
fn migrations_apply_twice_and_survive_a_restart() {
    let stack = TestStack::start(|_| {}).expect("stack starts");
    let supabase = stack.stack().config.supabase_dir.clone();
    let schema = |s: &TestStack| {
        s.sql(
            "select string_agg(x, ',' order by x) from (
               select 'policy:' || policyname as x from pg_policies where schemaname = 'public'
               union all select 'trigger:' || tgname from pg_trigger where not tgisinternal
               union all select 'column:' || table_name || '.' || column_name
                 from information_schema.columns where table_schema = 'public') s",
        )
        .unwrap()
    };
    let before = schema(&stack);
    // Applying every file again, verbatim, changes nothing and fails nothing.
    for file in sql_files(&supabase.join("local"))
        .unwrap()
        .into_iter()
        .chain(sql_files(&supabase.join("migrations")).unwrap())
    {
        let sql = std::fs::read_to_string(&file).unwrap();
        stack.sql(&sql).unwrap_or_else(|e| panic!("{} twice: {e:?}", file.display()));
    }
    assert_eq!(schema(&stack), before);
    // Every file in supabase/migrations, by its version prefix, read here without the
    // backend's own lister.
    let mut shipped: Vec<String> = std::fs::read_dir(supabase.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| name.split('_').next().unwrap().to_string())
        .collect();
    shipped.sort();
    assert!(shipped.len() >= 4, "{shipped:?}");
    let recorded: Vec<String> = stack
        .sql("select version from supabase_migrations.schema_migrations order by version")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(recorded, shipped, "each migration recorded once");

    // Data and the migration record survive a restart; nothing is applied again.
    let api = Api { stack: &stack };
    let address = email("restart");
    api.sign_up(&address, "secret1");
    let stack = stack.stop().restart().expect("restarts on the same data");
    let api = Api { stack: &stack };
    let r = api.call(
        "POST",
        "/auth/v1/token?grant_type=password",
        None,
        &[],
        json!({"email": address, "password": "secret1"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let after: Vec<String> = stack
        .sql("select version from supabase_migrations.schema_migrations order by version")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(after, recorded, "nothing applied again after a restart");
}

#[test]
fn deleting_an_account_removes_it_and_only_its_rows() {
    let stack = TestStack::start(|_| {}).expect("stack");
    let api = Api { stack: &stack };
    let (a_email, b_email) = (email("leaving"), email("staying"));
    let (a_id, a_token, a_refresh) = api.sign_up(&a_email, "secret1");
    let (_, b_token, _) = api.sign_up(&b_email, "secret1");
    for (token, n) in [(&a_token, 900), (&b_token, 901)] {
        let r = api.call("POST", "/rest/v1/tune", Some(token), &[], json!({"id": uuid(n), "title": "Mine"}));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let delete = |token: Option<&str>, confirm: &str| {
        api.call("POST", "/rest/v1/rpc/delete_my_account", token, &[], json!({"confirm_email": confirm}))
    };
    let r = delete(Some(&a_token), &b_email);
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("22023")), "another address: {}", r.text);
    let r = delete(None, &a_email);
    assert!(matches!(r.status, 401 | 403), "anonymous: {}", r.text);
    let count = |sql: &str| stack.sql(sql).unwrap()[0].clone().unwrap();
    assert_eq!(
        count(&format!("select count(*) from auth.users where id = '{a_id}'")),
        "1",
        "nothing deleted yet"
    );

    let r = delete(Some(&a_token), &format!("  {}  ", a_email.to_uppercase()));
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(count(&format!("select count(*) from auth.users where id = '{a_id}'")), "0");
    assert_eq!(count(&format!("select count(*) from public.tune where user_id = '{a_id}'")), "0");
    assert_eq!(count(&format!("select count(*) from auth.sessions where user_id = '{a_id}'")), "0");
    assert_eq!(count("select count(*) from public.tune"), "1", "the other account's tune stays");
    let r = api.call(
        "POST",
        "/auth/v1/token?grant_type=refresh_token",
        None,
        &[],
        json!({"refresh_token": a_refresh}),
    );
    assert_eq!(r.status, 400, "the session is gone: {}", r.text);
}

/// Copies `supabase/` with only the migrations whose version is at most `last`.
fn supabase_up_to(source: &std::path::Path, last: &str, into: &std::path::Path) {
    std::fs::create_dir_all(into.join("local")).unwrap();
    std::fs::create_dir_all(into.join("migrations")).unwrap();
    for dir in ["local", "migrations"] {
        for entry in std::fs::read_dir(source.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if dir == "local" || name.split('_').next().unwrap() <= last {
                std::fs::copy(&path, into.join(dir).join(&name)).unwrap();
            }
        }
    }
}

#[test]
fn the_schema_upgrades_from_the_first_release_with_data_in_it() {
    // The first released migration set (the tune table and push_tunes), with data...
    let old = std::env::temp_dir().join(format!("tunebook-supabase-v1-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&old);
    let current = tunebook_backend::StackConfig::default().supabase_dir;
    supabase_up_to(&current, "20261126000100", &old);
    let stack = TestStack::start(|c| c.supabase_dir = old.clone()).expect("old stack");
    let api = Api { stack: &stack };
    let (user, token, _) = api.sign_up(&email("upgrade"), "secret1");
    let rows: Vec<Value> =
        (0..3).map(|n| json!({"id": uuid(700 + n), "title": format!("Old {n}")})).collect();
    let r = api.call("POST", "/rest/v1/rpc/push_tunes", Some(&token), &[], json!({"changes": rows}));
    assert_eq!(r.status, 200, "{}", r.text);
    // ...including a value the new constraints would refuse, as the old server allowed.
    stack.sql(&format!("update public.tune set created_at = 'infinity' where id = '{}'", uuid(702))).unwrap();
    let mut stopped = stack.stop();

    // ...upgraded in place by today's migrations.
    stopped.config_mut().supabase_dir = current;
    let stack = stopped.restart().expect("upgraded stack");
    let api = Api { stack: &stack };
    let count = |sql: &str| stack.sql(sql).unwrap()[0].clone().unwrap();
    assert_eq!(count(&format!("select count(*) from public.tune where user_id = '{user}'")), "3");
    let applied_now = "select count(*) from supabase_migrations.schema_migrations
                       where version in ('20261126000200', '20261126000300')";
    assert_eq!(count(applied_now), "2", "the hardening and account-deletion migrations ran");
    // The old rows keep working with the new push_tunes (the poison one can be fixed by
    // writing it; new writes are checked).
    let r = api.call(
        "POST",
        "/auth/v1/token?grant_type=password",
        None,
        &[],
        json!({"email": count(&format!("select email from auth.users where id = '{user}'")), "password": "secret1"}),
    );
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let changes = json!([{"id": uuid(700), "title": "Old 0, edited", "base_version": 1}]);
    let r = api.call("POST", "/rest/v1/rpc/push_tunes", Some(&token), &[], json!({"changes": changes}));
    assert_eq!((r.status, r.body[0]["status"].as_str()), (200, Some("applied")), "{}", r.text);
    assert_eq!(count(&format!("select title from public.tune where id = '{}'", uuid(700))), "Old 0, edited");
    let r = api.call(
        "POST",
        "/rest/v1/tune",
        Some(&token),
        &[],
        json!({"id": uuid(710), "title": "New", "created_at": "infinity"}),
    );
    assert_eq!(r.body["code"], "23514", "new writes are range-checked: {}", r.text);
    drop(stack);
    let _ = std::fs::remove_dir_all(&old);
}
