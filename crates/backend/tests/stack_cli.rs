//! The `tunebook-backend` command as a developer runs it: it prints the Supabase-style
//! settings, serves requests, and stops on Ctrl-C leaving no process behind.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmd| cmd.contains(needle))
        .collect()
}

#[test]
fn starts_prints_settings_serves_and_stops_cleanly_on_ctrl_c() {
    let data_dir = std::env::temp_dir().join(format!("tunebook-cli-{}", std::process::id()));
    let postgrest_before = processes_mentioning("postgrest").len();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunebook-backend"))
        .args(["--data-dir", data_dir.to_str().unwrap(), "--reset", "--port", "0", "--db-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tunebook-backend");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut settings = std::collections::HashMap::new();
    while settings.len() < 6 {
        let line = lines.next().expect("settings line").expect("read");
        let (key, value) = line.split_once('=').expect("KEY=value");
        settings.insert(key.to_string(), value.to_string());
    }
    for key in [
        "SUPABASE_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_PUBLISHABLE_KEY",
        "SUPABASE_SECRET_KEY",
        "DATABASE_URL",
    ] {
        assert!(settings.get(key).is_some_and(|v| !v.is_empty()), "{key} printed: {settings:?}");
    }
    let url = &settings["SUPABASE_URL"];
    let health = common::call(
        "GET",
        &format!("{url}/auth/v1/health"),
        &[("apikey", &settings["SUPABASE_ANON_KEY"])],
        serde_json::Value::Null,
    );
    assert_eq!(health.status, 200);
    let rest = common::call(
        "GET",
        &format!("{url}/rest/v1/"),
        &[("apikey", &settings["SUPABASE_PUBLISHABLE_KEY"])],
        serde_json::Value::Null,
    );
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert!(data_dir.join("postgres/postmaster.pid").is_file());

    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit}");
    assert!(!data_dir.join("postgres/postmaster.pid").exists(), "PostgreSQL stopped");
    assert_eq!(
        processes_mentioning(data_dir.to_str().unwrap()),
        Vec::<String>::new(),
        "no process left on the data dir"
    );
    assert_eq!(processes_mentioning("postgrest").len(), postgrest_before, "PostgREST stopped");
    assert!(std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err(), "API port closed");
    let _ = std::fs::remove_dir_all(&data_dir);
}
