//! A real PostgreSQL server on a data directory of its own and a loopback port, run as
//! the `postgres` user when started by root (PostgreSQL refuses to run as root). The
//! server is this process's child (not daemonised by `pg_ctl`), so it can be watched and
//! restarted, and it is told to shut down when the backend dies.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::error::BackendError;
use crate::process;

/// The superuser password, as in the Supabase CLI's local stack. Local use only.
pub const SUPERUSER_PASSWORD: &str = "postgres";

/// A PostgreSQL cluster and, once spawned, its server process.
pub struct Postgres {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    pub port: u16,
    durable: bool,
    as_postgres_user: bool,
    server: Option<Child>,
}

impl Postgres {
    /// Initialises the cluster under `data_dir/postgres` if needed and stops a server a
    /// killed earlier run may have left on it. Blocking; does not start the server.
    /// `durable = false` turns off fsync (tests: faster, and a crash only loses test data).
    pub fn init(data_dir: &Path, port: u16, durable: bool) -> Result<Self, BackendError> {
        let bin_dir = find_bin_dir()?;
        let as_postgres_user = running_as_root();
        std::fs::create_dir_all(data_dir)?;
        let data_dir = data_dir.canonicalize()?;
        let pgdata = data_dir.join("postgres");
        let pg = Self { bin_dir, pgdata: pgdata.clone(), port, durable, as_postgres_user, server: None };

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

        // A server from before servers were children (or one whose backend was killed
        // before it could signal it) may still run on this directory.
        if pg.run("pg_ctl", &["status", "-D", &path_str(&pgdata)]).is_ok() {
            let _ = pg.run("pg_ctl", &["stop", "-m", "fast", "-w", "-t", "60", "-D", &path_str(&pgdata)]);
        }
        let socket_dir = pgdata.join("socket");
        std::fs::create_dir_all(&socket_dir)?;
        if as_postgres_user {
            pg.chown(&socket_dir)?;
        }
        Ok(pg)
    }

    /// Starts the server process. Quick (it does not wait for the server to accept
    /// connections, see [`Postgres::wait_ready`]); call it from a thread that lives as long
    /// as the server should, since the server is stopped when that thread ends.
    pub fn spawn(&mut self) -> Result<(), BackendError> {
        let log = OpenOptions::new().create(true).append(true).open(self.pgdata.join("server.log"))?;
        let mut command = Command::new(self.bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(&self.pgdata)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.pgdata.join("socket"))
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100"]);
        if !self.durable {
            command.args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        if self.as_postgres_user {
            use std::os::unix::process::CommandExt;
            let (uid, gid) = process::user_ids("postgres").ok_or_else(|| BackendError::Process {
                what: "starting PostgreSQL".into(),
                detail: "no postgres user in /etc/passwd".into(),
            })?;
            command.uid(uid).gid(gid);
        }
        // SIGINT is PostgreSQL's fast shutdown: open sessions end, data is kept.
        process::die_with_parent(&mut command, libc::SIGINT);
        let child = command
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| BackendError::Process {
                what: "starting PostgreSQL".into(),
                detail: e.to_string(),
            })?;
        self.server = Some(child);
        Ok(())
    }

    /// Waits until the server accepts connections (at most a minute).
    pub async fn wait_ready(&mut self) -> Result<(), BackendError> {
        let url = self.url("postgres", SUPERUSER_PASSWORD);
        for _ in 0..600 {
            if let Some(status) = self.exited() {
                return Err(BackendError::Process {
                    what: format!("starting PostgreSQL on port {}", self.port),
                    detail: format!("exited with {status}; see {}", self.pgdata.join("server.log").display()),
                });
            }
            if let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                drop(client);
                let _ = connection.await;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BackendError::Timeout("PostgreSQL"))
    }

    /// The server's exit status if it has exited (it was running before).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.server.as_mut().and_then(|child| child.try_wait().ok().flatten())
    }

    /// A connection URL for `user` over TCP.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("postgresql://{user}:{password}@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: open sessions are ended, data is kept) and waits
    /// for it; kills it if it has not stopped within a minute. Blocking.
    pub fn stop(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = process::signal(child.id(), libc::SIGINT);
        for _ in 0..600 {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
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
