//! A small pool of PostgreSQL connections for the auth stand-in, reconnecting
//! connections that dropped (for example after the database restarted).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, NoTls};

/// A fixed number of lazily (re)connected clients, handed out round-robin.
pub struct Pool {
    url: String,
    slots: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
}

/// A client borrowed from the pool until dropped.
pub struct PooledClient<'a>(MutexGuard<'a, Option<Client>>);

impl Pool {
    pub fn new(url: String, size: usize) -> Self {
        Self { url, slots: (0..size.max(1)).map(|_| Mutex::new(None)).collect(), next: AtomicUsize::new(0) }
    }

    /// A connected client.
    pub async fn get(&self) -> Result<PooledClient<'_>, tokio_postgres::Error> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[i].lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await?;
            tokio::spawn(async move {
                // Ends when the server or the client closes the connection; the closed
                // client is replaced on next use.
                let _ = connection.await;
            });
            *slot = Some(client);
        }
        Ok(PooledClient(slot))
    }
}

impl Deref for PooledClient<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        // `get` only hands out filled slots.
        self.0.as_ref().unwrap_or_else(|| unreachable!("pool slot is filled by get"))
    }
}

impl DerefMut for PooledClient<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().unwrap_or_else(|| unreachable!("pool slot is filled by get"))
    }
}
