//! A stack for tests that drive it from ordinary blocking code: it owns its own tokio
//! runtime, starts on free ports in a throwaway directory, and stops (leaving no
//! process behind) when dropped, even when the test panics.

use tokio::runtime::Runtime;

use crate::{BackendError, Stack, StackConfig};

/// A running throwaway stack with the runtime that serves it.
pub struct TestStack {
    runtime: Runtime,
    stack: Option<Stack>,
    /// The data directory, deleted on drop (not on `stop`, so a test can restart on it).
    data_dir: std::path::PathBuf,
}

impl TestStack {
    /// Starts a stack with [`StackConfig::for_tests`] adjusted by `configure`.
    pub fn start(configure: impl FnOnce(&mut StackConfig)) -> Result<Self, BackendError> {
        let mut config = StackConfig::for_tests();
        configure(&mut config);
        Self::start_with(config)
    }

    /// Starts a stack with exactly this configuration.
    pub fn start_with(config: StackConfig) -> Result<Self, BackendError> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let data_dir = config.data_dir.clone();
        let stack = runtime.block_on(Stack::start(config))?;
        Ok(Self { runtime, stack: Some(stack), data_dir })
    }

    /// The running stack's URLs and keys.
    pub fn stack(&self) -> &Stack {
        // Only `stop` takes the stack, and it consumes `self`.
        self.stack.as_ref().unwrap_or_else(|| unreachable!("stack is present until stop"))
    }

    /// Runs a future on the stack's runtime (for SQL checks with tokio-postgres).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs one SQL query as the superuser and returns the first column of each row as text.
    pub fn sql(&self, query: &str) -> Result<Vec<Option<String>>, tokio_postgres::Error> {
        let url = self.stack().database_url.clone();
        self.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            let connection = tokio::spawn(connection);
            let rows = client.simple_query(query).await?;
            drop(client);
            let _ = connection.await;
            Ok(rows
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
                    _ => None,
                })
                .collect())
        })
    }

    /// Stops everything but keeps the data, for a restart on it (with `reset` off); the
    /// data goes when the returned [`StoppedStack`] is dropped without a restart.
    pub fn stop(mut self) -> StoppedStack {
        let stack = self.stack.take().unwrap_or_else(|| unreachable!("stack is present until stop"));
        let mut config = stack.config.clone();
        config.reset = false;
        self.runtime.block_on(stack.stop());
        // The stopped stack owns the data from now on.
        self.data_dir = std::path::PathBuf::new();
        StoppedStack { config: Some(config) }
    }
}

/// A stopped test stack's data directory and configuration: restart on it, or drop it
/// and the directory is deleted (a test that only needed the backend down leaves nothing
/// behind in the temp directory).
pub struct StoppedStack {
    /// Present until `restart` hands it on.
    config: Option<StackConfig>,
}

impl StoppedStack {
    /// The configuration a restart uses (ports, data directory, migrations).
    pub fn config(&self) -> &StackConfig {
        self.config.as_ref().unwrap_or_else(|| unreachable!("config is present until restart"))
    }

    /// Changes what the restart uses, e.g. newer migrations.
    pub fn config_mut(&mut self) -> &mut StackConfig {
        self.config.as_mut().unwrap_or_else(|| unreachable!("config is present until restart"))
    }

    /// Starts a stack again on the same data; the new stack deletes it when dropped.
    pub fn restart(mut self) -> Result<TestStack, BackendError> {
        let config = self.config.take().unwrap_or_else(|| unreachable!("config is present until restart"));
        let data_dir = config.data_dir.clone();
        TestStack::start_with(config).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&data_dir);
        })
    }
}

impl Drop for StoppedStack {
    fn drop(&mut self) {
        if let Some(config) = self.config.take() {
            let _ = std::fs::remove_dir_all(&config.data_dir);
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if let Some(stack) = self.stack.take() {
            self.runtime.block_on(stack.stop());
        }
        if !self.data_dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}
