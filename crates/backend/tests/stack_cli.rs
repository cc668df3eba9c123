//! The `tunebook-backend` command as a developer runs it: it prints the Supabase-style
//! settings, serves requests, and stops on Ctrl-C leaving no process behind.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// Every process: (pid, parent pid, command line).
fn processes() -> Vec<(u32, u32, String)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // The fields after the command name, which is in parentheses.
            let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            Some((pid, ppid, String::from_utf8_lossy(&cmd).replace('\0', " ")))
        })
        .collect()
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    processes().into_iter().map(|(_, _, cmd)| cmd).filter(|cmd| cmd.contains(needle)).collect()
}

#[test]
fn starts_prints_settings_serves_and_stops_cleanly_on_ctrl_c() {
    let data_dir = std::env::temp_dir().join(format!("tunebook-cli-{}", std::process::id()));
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
    let postgrest = child_pid(child.id(), "postgrest").expect("PostgREST runs");

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
    assert!(!alive(postgrest), "PostgREST stopped");
    assert!(std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err(), "API port closed");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The child of `parent` running `program`.
fn child_pid(parent: u32, program: &str) -> Option<u32> {
    processes()
        .into_iter()
        .find(|(_, ppid, cmd)| *ppid == parent && cmd.contains(program))
        .map(|(pid, ..)| pid)
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"))
        .unwrap_or(false)
}

fn wait_until(what: &str, seconds: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {seconds} s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn dead_children_are_restarted_and_all_die_with_the_backend() {
    let data_dir = std::env::temp_dir().join(format!("tunebook-cli-supervise-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tunebook-backend"))
        .args(["--data-dir", data_dir.to_str().unwrap(), "--reset", "--port", "0", "--db-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tunebook-backend");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap().trim_start_matches("SUPABASE_URL=").to_string();
    let key = lines.next().unwrap().unwrap().trim_start_matches("SUPABASE_ANON_KEY=").to_string();
    let backend = child.id();
    let signup_works = |tag: &str| {
        let r = common::call(
            "POST",
            &format!("{url}/auth/v1/signup"),
            &[("apikey", &key)],
            serde_json::json!({"email": common::email(tag), "password": "secret1"}),
        );
        r.status == 200
    };
    let rest_works = || {
        common::call("GET", &format!("{url}/rest/v1/"), &[("apikey", &key)], serde_json::Value::Null).status
            == 200
    };
    assert!(signup_works("before") && rest_works());

    let postgrest = child_pid(backend, "postgrest").expect("PostgREST is the backend's child");
    Command::new("kill").args(["-KILL", &postgrest.to_string()]).status().unwrap();
    wait_until("PostgREST restarted", 20, || child_pid(backend, "postgrest").is_some_and(|p| p != postgrest));
    wait_until("REST answers again", 20, rest_works);

    let postgres = child_pid(backend, "bin/postgres").expect("PostgreSQL is the backend's child");
    Command::new("kill").args(["-KILL", &postgres.to_string()]).status().unwrap();
    wait_until("PostgreSQL restarted", 30, || {
        child_pid(backend, "bin/postgres").is_some_and(|p| p != postgres)
    });
    wait_until("sign-up works again", 30, || signup_works("after"));

    // kill -9 of the backend: its children are told to stop by the kernel.
    let postgrest = child_pid(backend, "postgrest").unwrap();
    let postgres = child_pid(backend, "bin/postgres").unwrap();
    Command::new("kill").args(["-KILL", &backend.to_string()]).status().unwrap();
    let _ = child.wait();
    wait_until("PostgREST gone", 20, || !alive(postgrest));
    wait_until("PostgreSQL gone", 60, || !alive(postgres));
    wait_until("nothing left on the data dir", 20, || {
        processes_mentioning(data_dir.to_str().unwrap()).is_empty()
    });
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn reset_refuses_a_directory_it_did_not_make() {
    let dir = std::env::temp_dir().join(format!("tunebook-cli-foreign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tunebook-backend"))
        .args(["--data-dir", dir.to_str().unwrap(), "--reset", "--port", "0", "--db-port", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not made by tunebook-backend"));
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(&dir);
}
