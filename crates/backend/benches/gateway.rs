//! The local backend benchmark: prints a table and writes `target/bench/backend.json`.
//!
//! Against a throwaway stack (PostgreSQL with fsync off, so the numbers are about the
//! HTTP path, not the disk), with one signed-in user, in one run:
//! - authenticated single-row upserts per second (8 concurrent clients), through the
//!   gateway and straight to PostgREST;
//! - 1,000-row bulk upserts per second, both ways;
//! - the push the app makes (`rpc/push_tunes`, batches of 100 new tunes) in rows per
//!   second, both ways;
//! - the latency of one sequential upsert, both ways: p50, p95, and the gateway's
//!   added latency as a ratio.
//!
//! At the end it checks that PostgreSQL holds exactly the rows it sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use tunebook_backend::testing::TestStack;

const CONCURRENCY: usize = 8;
const SINGLE_UPSERTS: usize = 4_000;
const BULK_REQUESTS: usize = 20;
const LATENCY_SAMPLES: usize = 600;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Rows sent in successful requests (each id is new, so each is a new row).
static ROWS_SENT: AtomicU64 = AtomicU64::new(0);
/// The app's push batch size.
const PUSH_BATCH: usize = 100;
const PUSH_REQUESTS: usize = 60;

fn new_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("01940000-0000-7000-8000-{n:012x}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Where to send requests and with which headers.
#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    /// The push RPC's URL.
    rpc_url: String,
    headers: Vec<(String, String)>,
}

impl Target {
    fn upsert(&self, agent: &ureq::Agent, rows: &Value) {
        let mut req = agent.post(&format!("{}?on_conflict=id", self.url));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let response = req
            .header("prefer", "resolution=merge-duplicates,return=minimal")
            .send_json(rows)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        assert!(response.status().is_success(), "{}: status {}", self.name, response.status());
        ROWS_SENT.fetch_add(rows.as_array().map_or(0, Vec::len) as u64, Ordering::Relaxed);
    }

    /// One push as the app sends it: new tunes with no base version.
    fn push(&self, agent: &ureq::Agent, rows: &Value) {
        let mut req = agent.post(&self.rpc_url);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let mut response =
            req.send_json(json!({"changes": rows})).unwrap_or_else(|e| panic!("{} push: {e}", self.name));
        assert!(response.status().is_success(), "{} push: status {}", self.name, response.status());
        let results: Value = response.body_mut().read_json().expect("push results");
        let applied = results.as_array().map_or(0, |r| r.iter().filter(|x| x["status"] == "applied").count());
        assert_eq!(applied, rows.as_array().map_or(0, Vec::len), "{} push: every change applied", self.name);
        ROWS_SENT.fetch_add(applied as u64, Ordering::Relaxed);
    }
}

fn rows(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"id": new_id(), "title": format!("Bench tune {i}"), "type": "reel", "mode": "D major", "incipit": "|:DFA dAF|GBd gfe|", "deleted": false}))
            .collect(),
    )
}

/// Rows per second when `concurrency` clients each make `requests / concurrency` calls of
/// `send` with `rows_per_request` new rows.
fn rows_per_sec(
    requests: usize,
    rows_per_request: usize,
    concurrency: usize,
    send: impl Fn(&ureq::Agent, &Value) + Sync,
) -> f64 {
    let per_thread = requests / concurrency;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let agent = agent();
                for _ in 0..per_thread {
                    send(&agent, &rows(rows_per_request));
                }
            });
        }
    });
    (per_thread * concurrency * rows_per_request) as f64 / started.elapsed().as_secs_f64()
}

/// Upsert requests per second.
fn throughput(target: &Target, total: usize, rows_per_request: usize, concurrency: usize) -> f64 {
    rows_per_sec(total, rows_per_request, concurrency, |agent, rows| target.upsert(agent, rows))
        / rows_per_request as f64
}

/// Rows per second pushed as the app pushes.
fn push_throughput(target: &Target, requests: usize, concurrency: usize) -> f64 {
    rows_per_sec(requests, PUSH_BATCH, concurrency, |agent, rows| target.push(agent, rows))
}

/// Sequential single-row upserts, alternating targets so both see the same conditions.
fn latencies(targets: &[Target; 2]) -> [Vec<f64>; 2] {
    let agents = [agent(), agent()];
    let mut samples = [Vec::new(), Vec::new()];
    for i in 0..LATENCY_SAMPLES * 2 {
        let which = i % 2;
        let body = rows(1);
        let started = Instant::now();
        targets[which].upsert(&agents[which], &body);
        samples[which].push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((p / 100.0) * (sorted.len() - 1) as f64).round() as usize]
}

fn main() {
    let stack = TestStack::start(|_| {}).expect("stack starts");
    let s = stack.stack();
    let signup: Value = agent()
        .post(&format!("{}/auth/v1/signup", s.api_url))
        .header("apikey", &s.anon_key)
        .send_json(json!({"email": "bench@example.org", "password": "bench-password"}))
        .expect("signup")
        .body_mut()
        .read_json()
        .expect("session");
    let token = signup["access_token"].as_str().expect("access token").to_string();
    let bearer = format!("Bearer {token}");
    let gateway = Target {
        name: "gateway",
        url: format!("{}/rest/v1/tune", s.api_url),
        rpc_url: format!("{}/rest/v1/rpc/push_tunes", s.api_url),
        headers: vec![("apikey".into(), s.anon_key.clone()), ("authorization".into(), bearer.clone())],
    };
    let direct = Target {
        name: "postgrest",
        url: format!("{}/tune", s.rest_url),
        rpc_url: format!("{}/rpc/push_tunes", s.rest_url),
        headers: vec![("authorization".into(), bearer)],
    };

    // Warm both paths (connection pools, PostgREST's schema cache, the planner).
    throughput(&gateway, 200, 1, CONCURRENCY);
    throughput(&direct, 200, 1, CONCURRENCY);

    let single_direct = throughput(&direct, SINGLE_UPSERTS, 1, CONCURRENCY);
    let single_gateway = throughput(&gateway, SINGLE_UPSERTS, 1, CONCURRENCY);
    let bulk_direct = throughput(&direct, BULK_REQUESTS, 1000, 2);
    let bulk_gateway = throughput(&gateway, BULK_REQUESTS, 1000, 2);
    let push_direct = push_throughput(&direct, PUSH_REQUESTS, 2);
    let push_gateway = push_throughput(&gateway, PUSH_REQUESTS, 2);
    let [lat_gateway, lat_direct] = latencies(&[gateway.clone(), direct.clone()]);
    let in_postgres: u64 = stack.sql("select count(*) from public.tune").expect("count")[0]
        .as_deref()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert_eq!(in_postgres, ROWS_SENT.load(Ordering::Relaxed), "every row sent is in PostgreSQL");
    let (g50, g95, d50, d95) = (
        percentile(&lat_gateway, 50.0),
        percentile(&lat_gateway, 95.0),
        percentile(&lat_direct, 50.0),
        percentile(&lat_direct, 95.0),
    );

    let report = json!({
        "single_row_upserts_per_sec": {"gateway": single_gateway, "postgrest_direct": single_direct, "gateway_to_direct": single_gateway / single_direct, "concurrency": CONCURRENCY},
        "bulk_1000_row_upserts_per_sec": {"gateway": bulk_gateway, "postgrest_direct": bulk_direct, "gateway_rows_per_sec": bulk_gateway * 1000.0, "concurrency": 2},
        "push_rpc_rows_per_sec": {"gateway": push_gateway, "postgrest_direct": push_direct, "gateway_to_direct": push_gateway / push_direct, "batch": PUSH_BATCH, "concurrency": 2},
        "rows_in_postgres": in_postgres,
        "sequential_upsert_latency_ms": {"gateway": {"p50": g50, "p95": g95}, "postgrest_direct": {"p50": d50, "p95": d95}, "p50_ratio": g50 / d50, "p50_added_ms": g50 - d50, "samples_each": LATENCY_SAMPLES},
        "notes": "throwaway PostgreSQL with fsync off; 2-core shared machine",
    });
    println!("Tunebook local backend benchmark (PostgreSQL + PostgREST 12 + gateway, this machine)");
    println!("{:<46} {:>12} {:>12} {:>8}", "measure", "gateway", "direct", "ratio");
    println!(
        "{:<46} {:>12.0} {:>12.0} {:>8.2}",
        "single-row upserts/s (8 clients)",
        single_gateway,
        single_direct,
        single_gateway / single_direct
    );
    println!(
        "{:<46} {:>12.1} {:>12.1} {:>8.2}",
        "1,000-row bulk upserts/s (2 clients)",
        bulk_gateway,
        bulk_direct,
        bulk_gateway / bulk_direct
    );
    println!(
        "{:<46} {:>12.0} {:>12.0} {:>8.2}",
        "push_tunes rows/s (batches of 100, 2 clients)",
        push_gateway,
        push_direct,
        push_gateway / push_direct
    );
    println!("{:<46} {:>12.2} {:>12.2} {:>8.2}", "sequential upsert latency p50 (ms)", g50, d50, g50 / d50);
    println!("{:<46} {:>12.2} {:>12.2} {:>8.2}", "sequential upsert latency p95 (ms)", g95, d95, g95 / d95);

    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    let file = out.join("backend.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report).expect("json")).expect("write report");
    println!("wrote {}", file.display());
}
