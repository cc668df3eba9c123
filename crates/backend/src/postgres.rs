//! A real PostgreSQL server on a data directory of its own and a loopback port, run as
//! the `postgres` user when started by root (PostgreSQL refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::BackendError;

/// The superuser password, as in the Supabase CLI's local stack. Local use only.
pub const SUPERUSER_PASSWORD: &str = "postgres";

/// A PostgreSQL cluster managed with `pg_ctl`.
pub struct Postgres {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    pub port: u16,
    as_postgres_user: bool,
}

impl Postgres {
    /// Initialises the cluster under `data_dir/postgres` if needed and starts it.
    /// `durable = false` turns off fsync (tests: faster, and a crash only loses test data).
    pub fn start(data_dir: &Path, port: u16, durable: bool) -> Result<Self, BackendError> {
        let bin_dir = find_bin_dir()?;
        let as_postgres_user = running_as_root();
        std::fs::create_dir_all(data_dir)?;
        let data_dir = data_dir.canonicalize()?;
        let pgdata = data_dir.join("postgres");
        let pg = Self { bin_dir, pgdata: pgdata.clone(), port, as_postgres_user };

        if !pgdata.join("PG_VERSION").is_file() {
            std::fs::create_dir_all(&pgdata)?;
            let pwfile = data_dir.join("postgres-password.tmp");
            std::fs::write(&pwfile, SUPERUSER_PASSWORD)?;
            if as_postgres_user {
                pg.chown(&pgdata)?;
                pg.chown(&pwfile)?;
            }
            let result = pg.run(
                "initdb",
                &[
                    "-D",
                    &path_str(&pgdata),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                    &format!("--pwfile={}", path_str(&pwfile)),
                ],
            );
            let _ = std::fs::remove_file(&pwfile);
            result?;
        }

        // A previous run that was killed may have left its server running.
        if pg.run("pg_ctl", &["status", "-D", &path_str(&pgdata)]).is_ok() {
            pg.stop();
        }
        let socket_dir = pgdata.join("socket");
        std::fs::create_dir_all(&socket_dir)?;
        if as_postgres_user {
            pg.chown(&socket_dir)?;
        }
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            path_str(&socket_dir)
        );
        if !durable {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        pg.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                &path_str(&pgdata),
                "-l",
                &path_str(&pgdata.join("server.log")),
                "-o",
                &options,
            ],
        )
        .map_err(|e| BackendError::Process {
            what: format!("starting PostgreSQL on port {port}"),
            detail: format!("{e}; see {}", pgdata.join("server.log").display()),
        })?;
        Ok(pg)
    }

    /// A connection URL for `user` over TCP.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("postgresql://{user}:{password}@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: open sessions are ended, data is kept).
    pub fn stop(&self) {
        let _ = self.run("pg_ctl", &["stop", "-m", "fast", "-w", "-t", "60", "-D", &path_str(&self.pgdata)]);
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), BackendError> {
        let program_path = self.bin_dir.join(program);
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program_path);
            c
        } else {
            Command::new(&program_path)
        };
        // pg_ctl start leaves the server running with our stdout; keep it off the terminal.
        let output = command.args(args).current_dir("/").stdin(std::process::Stdio::null()).output()?;
        if output.status.success() {
            Ok(())
        } else {
            Err(BackendError::Process {
                what: format!("{program} {}", args.first().copied().unwrap_or_default()),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    fn chown(&self, path: &Path) -> Result<(), BackendError> {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(path).status()?;
        if status.success() {
            Ok(())
        } else {
            Err(BackendError::Process { what: "chown".into(), detail: path.display().to_string() })
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// `PG_BIN`, else the newest `/usr/lib/postgresql/*/bin` holding a server.
fn find_bin_dir() -> Result<PathBuf, BackendError> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("postgres").is_file().then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin).ok_or(BackendError::MissingProgram {
        what: "PostgreSQL server",
        path: "/usr/lib/postgresql/*/bin".into(),
        hint: "install the postgresql package (scripts/setup.sh does), or set PG_BIN",
    })
}

/// Whether this process runs as root (uid 0), read from /proc.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}
