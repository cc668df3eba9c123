//! Where broadcasts come from: `realtime.send` in the database (delivered over
//! `pg_notify` on the local stack, see `supabase/local/00_platform.sql`) and clients'
//! own broadcasts on public channels. Every socket subscribes to the hub and keeps what
//! is for the channels it joined.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::poll_fn;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use tokio_postgres::{AsyncMessage, NoTls};

/// The `pg_notify` channel `realtime.send` notifies.
pub const NOTIFY_CHANNEL: &str = "realtime_broadcast";

/// One broadcast on its way to subscribers.
#[derive(Clone, Debug, PartialEq)]
pub struct HubMessage {
    /// The topic without the `realtime:` prefix, e.g. `user:<uid>`.
    pub topic: String,
    /// Private messages reach only private channels, public ones only public channels.
    pub private: bool,
    pub event: String,
    pub payload: Value,
    /// The message id (`meta.id` for clients), for messages sent from the database.
    pub id: Option<String>,
    /// The socket that sent it, for client broadcasts (not echoed unless asked).
    pub sender: Option<u64>,
}

impl HubMessage {
    /// A `realtime.send` notification's text, if well formed.
    pub fn from_notification(text: &str) -> Option<HubMessage> {
        let value: Value = serde_json::from_str(text).ok()?;
        Some(HubMessage {
            topic: value.get("topic")?.as_str()?.to_string(),
            private: value.get("private").and_then(Value::as_bool).unwrap_or(true),
            event: value.get("event")?.as_str()?.to_string(),
            payload: value.get("payload").cloned().unwrap_or(Value::Null),
            id: value.get("id").and_then(Value::as_str).map(str::to_string),
            sender: None,
        })
    }
}

pub type Hub = broadcast::Sender<Arc<HubMessage>>;

/// Listens for `realtime.send` notifications until `shutdown` changes, reconnecting
/// (every half second) while the database is down or restarting.
pub async fn listen(database_url: String, hub: Hub, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = relay_notifications(&database_url, &hub) => {}
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One connection's worth of notifications: returns when it drops or cannot be made.
async fn relay_notifications(database_url: &str, hub: &Hub) {
    let Ok((client, mut connection)) = tokio_postgres::connect(database_url, NoTls).await else {
        return;
    };
    let (notifications, mut received) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if notifications.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    if client.batch_execute(&format!("listen {NOTIFY_CHANNEL}")).await.is_ok() {
        while let Some(text) = received.recv().await {
            if let Some(message) = HubMessage::from_notification(&text) {
                // No subscriber is fine: nobody is listening.
                let _ = hub.send(Arc::new(message));
            }
        }
    }
    driver.abort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notifications_become_hub_messages() {
        let text = r#"{"id":"m1","topic":"user:u","event":"change","payload":{"change_number":3,"id":"m1"},"private":true}"#;
        let message = HubMessage::from_notification(text).unwrap();
        assert_eq!(message.topic, "user:u");
        assert!(message.private);
        assert_eq!(message.payload["change_number"], json!(3));
        assert_eq!(message.id.as_deref(), Some("m1"));
        assert_eq!(HubMessage::from_notification(r#"{"event":"change"}"#), None);
        assert_eq!(HubMessage::from_notification("not json"), None);
    }
}
