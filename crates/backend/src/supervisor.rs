//! Watches PostgreSQL and PostgREST while the stack runs: a child that dies is started
//! again on the same settings; one that keeps dying is reported as the stack's failure
//! (the command then exits loudly instead of answering every request with an error).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::error::BackendError;
use crate::postgres::Postgres;
use crate::postgrest::PostgRest;

/// How often the children are checked.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// More restarts than this within [`RESTART_WINDOW`] is a failure.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// The stack's child processes.
pub struct Children {
    pub postgres: Postgres,
    pub postgrest: PostgRest,
}

/// The watching task and what it watches.
pub struct Supervisor {
    children: Arc<Mutex<Option<Children>>>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    failure: watch::Receiver<Option<String>>,
}

impl Supervisor {
    /// Starts watching. Must run inside a multi-threaded tokio runtime: restarted children
    /// are spawned from its worker threads, which live as long as the runtime.
    pub fn start(children: Children) -> Self {
        let children = Arc::new(Mutex::new(Some(children)));
        let (stop, stopped) = watch::channel(false);
        let (report, failure) = watch::channel(None);
        let task = tokio::spawn(watch_children(children.clone(), stopped, report));
        Self { children, stop, task: Some(task), failure }
    }

    /// Becomes `Some(reason)` if a child could not be kept running.
    pub fn failure(&self) -> watch::Receiver<Option<String>> {
        self.failure.clone()
    }

    /// Stops watching and hands the children back for an orderly stop.
    pub async fn stop(mut self) -> Option<Children> {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.children.lock().await.take()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn watch_children(
    children: Arc<Mutex<Option<Children>>>,
    mut stopped: watch::Receiver<bool>,
    report: watch::Sender<Option<String>>,
) {
    let mut restarts: VecDeque<Instant> = VecDeque::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stopped.changed() => return,
        }
        let mut guard = children.lock().await;
        let Some(c) = guard.as_mut() else { return };
        let result = keep_alive(c, &mut restarts).await;
        if let Err(reason) = result {
            eprintln!("tunebook-backend: {reason}");
            let _ = report.send(Some(reason));
            return;
        }
    }
}

/// Restarts whichever child has exited; an error when that fails or happens too often.
async fn keep_alive(c: &mut Children, restarts: &mut VecDeque<Instant>) -> Result<(), String> {
    if let Some(status) = c.postgres.exited() {
        eprintln!("tunebook-backend: PostgreSQL exited unexpectedly ({status}); starting it again");
        count_restart(restarts, "PostgreSQL")?;
        let started = match c.postgres.spawn() {
            Ok(()) => c.postgres.wait_ready().await,
            Err(e) => Err(e),
        };
        started.map_err(|e: BackendError| format!("PostgreSQL could not be started again: {e}"))?;
    }
    if let Some(status) = c.postgrest.exited() {
        eprintln!("tunebook-backend: PostgREST exited unexpectedly ({status}); starting it again");
        count_restart(restarts, "PostgREST")?;
        c.postgrest =
            c.postgrest.restart().await.map_err(|e| format!("PostgREST could not be started again: {e}"))?;
    }
    Ok(())
}

fn count_restart(restarts: &mut VecDeque<Instant>, what: &str) -> Result<(), String> {
    let now = Instant::now();
    while restarts.front().is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW) {
        restarts.pop_front();
    }
    if restarts.len() >= MAX_RESTARTS {
        return Err(format!("{what} keeps exiting ({MAX_RESTARTS} restarts within a minute); giving up"));
    }
    restarts.push_back(now);
    Ok(())
}
