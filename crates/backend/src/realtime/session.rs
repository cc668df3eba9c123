//! One WebSocket client of the Realtime stand-in: its joined channels, what it sends
//! (joins, heartbeats, token updates, broadcasts, leaves) and what it receives (replies,
//! broadcasts for its channels, the system message and `phx_close` that end a channel
//! whose token expired or no longer grants it). Replies and error texts are hosted
//! Realtime's (`lib/realtime_web/channels/realtime_channel.ex` in supabase/realtime).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::authorize::{self, Access};
use super::frame::{self, Frame, Vsn};
use super::hub::HubMessage;
use super::{Realtime, TokenError};
use crate::auth::now_secs as now;

/// A channel this socket joined.
struct Channel {
    join_ref: Value,
    /// The topic without `realtime:`.
    sub_topic: String,
    private: bool,
    /// Receive one's own broadcasts (`config.broadcast.self`).
    echo: bool,
    /// Acknowledge broadcasts (`config.broadcast.ack`).
    ack: bool,
    token: String,
    claims: Value,
    /// Whether the policies let this token broadcast here (asked on first use).
    can_write: Option<bool>,
}

impl Channel {
    fn expires_at(&self) -> i64 {
        self.claims.get("exp").and_then(Value::as_i64).unwrap_or(i64::MAX)
    }
}

/// A connected client.
pub struct Session {
    pub realtime: Arc<Realtime>,
    pub vsn: Vsn,
    /// The JWT of the API key the socket connected with: the token of channels joined
    /// without one (or with an opaque `sb_` key).
    pub key_bearer: String,
    /// Tells this socket's own broadcasts apart in the hub.
    pub id: u64,
}

impl Session {
    /// Serves the socket until the client closes it, goes quiet for `idle` (supabase-js
    /// sends a heartbeat every 25 s), or `shutdown` changes.
    pub async fn run<S>(self, socket: WebSocketStream<S>, idle: Duration, mut shutdown: watch::Receiver<bool>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = socket.split();
        let mut hub = self.realtime.hub.subscribe();
        let mut channels: HashMap<String, Channel> = HashMap::new();
        let mut last_heard = Instant::now();
        loop {
            let expiry = channels.values().map(Channel::expires_at).min();
            let until_expiry = expiry.map_or(Duration::from_secs(3600), |exp| {
                Duration::from_secs(u64::try_from(exp.saturating_sub(now())).unwrap_or(0))
            });
            let outgoing = tokio::select! {
                received = stream.next() => match received {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(message)) => {
                        last_heard = Instant::now();
                        match Frame::decode(self.vsn, &message) {
                            Some(frame) => self.handle(frame, &mut channels).await,
                            None => Vec::new(),
                        }
                    }
                },
                delivered = hub.recv() => match delivered {
                    Ok(message) => self.deliver(&message, &channels),
                    Err(broadcast::error::RecvError::Lagged(_)) => Vec::new(),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tokio::time::sleep(until_expiry), if expiry.is_some() => {
                    let now = now();
                    let expired: Vec<String> =
                        channels.iter().filter(|(_, c)| c.expires_at() <= now).map(|(t, _)| t.clone()).collect();
                    expired
                        .into_iter()
                        .filter_map(|topic| {
                            let channel = channels.remove(&topic)?;
                            let reason = TokenError::Expired(now - channel.expires_at()).refresh_message();
                            Some(shutdown_frames(&topic, &channel, &reason))
                        })
                        .flatten()
                        .collect()
                }
                _ = tokio::time::sleep_until((last_heard + idle).into()) => break,
                _ = shutdown.changed() => break,
            };
            for message in outgoing {
                if sink.send(message.encode_or_keep(self.vsn)).await.is_err() {
                    return;
                }
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    }

    /// The frames answering one frame from the client.
    async fn handle(&self, frame: Frame, channels: &mut HashMap<String, Channel>) -> Vec<Outgoing> {
        if frame.topic == "phoenix" && frame.event == "heartbeat" {
            return vec![frame.reply(true, json!({})).into()];
        }
        if frame.event == "phx_join" {
            return match self.join(&frame).await {
                Ok(channel) => {
                    channels.insert(frame.topic.clone(), channel);
                    vec![frame.reply(true, json!({"postgres_changes": []})).into()]
                }
                Err(reason) => vec![frame.reply(false, json!({"reason": reason})).into()],
            };
        }
        let Some(channel) = channels.get_mut(&frame.topic) else {
            return vec![frame.reply(false, json!({"reason": "unmatched topic"})).into()];
        };
        match frame.event.as_str() {
            "phx_leave" => {
                let channel = channels.remove(&frame.topic);
                let mut out = vec![frame.reply(true, json!({})).into()];
                if let Some(channel) = channel {
                    out.push(close_frame(&frame.topic, &channel).into());
                }
                out
            }
            "access_token" => {
                let token = frame.payload.get("access_token").and_then(Value::as_str).unwrap_or_default();
                if token.is_empty() || token.starts_with("sb_") || token == channel.token {
                    return Vec::new();
                }
                match self.authorize(token, &channel.sub_topic, channel.private).await {
                    Ok(claims) => {
                        channel.token = token.to_string();
                        channel.claims = claims;
                        channel.can_write = None;
                        Vec::new()
                    }
                    Err(refused) => {
                        let message = match refused {
                            Refused::Token(e) => e.refresh_message(),
                            Refused::Policy => format!(
                                "You no longer have permission to read from this Channel topic: {}",
                                channel.sub_topic
                            ),
                            Refused::Database => {
                                "Realtime was unable to connect to the project database".into()
                            }
                        };
                        let topic = frame.topic.clone();
                        match channels.remove(&topic) {
                            Some(channel) => shutdown_frames(&topic, &channel, &message),
                            None => Vec::new(),
                        }
                    }
                }
            }
            "broadcast" => self.broadcast(&frame, channel).await,
            // Presence and postgres_changes are not served here.
            _ => Vec::new(),
        }
    }

    /// Joins `frame.topic` if the token (and for a private channel the policies) allow.
    async fn join(&self, frame: &Frame) -> Result<Channel, String> {
        let Some(sub_topic) = frame.topic.strip_prefix("realtime:") else {
            return Err("unmatched topic".into());
        };
        let config = frame.payload.get("config");
        let flag = |path: &[&str]| {
            let value = config.and_then(|c| path.iter().try_fold(c, |v, key| v.get(key)));
            value.and_then(Value::as_bool).unwrap_or(false)
        };
        let private = flag(&["private"]);
        let token = match frame.payload.get("access_token").and_then(Value::as_str) {
            Some(token) if !token.starts_with("sb_") => token.to_string(),
            _ => self.key_bearer.clone(),
        };
        let claims = self.authorize(&token, sub_topic, private).await.map_err(|refused| match refused {
            Refused::Token(e) => e.join_reason(),
            Refused::Policy => {
                format!(
                    "Unauthorized: You do not have permissions to read from this Channel topic: {sub_topic}"
                )
            }
            Refused::Database => {
                "UnableToConnectToProject: Realtime was unable to connect to the project database".into()
            }
        })?;
        Ok(Channel {
            join_ref: frame.join_ref.clone(),
            sub_topic: sub_topic.to_string(),
            private,
            echo: flag(&["broadcast", "self"]),
            ack: flag(&["broadcast", "ack"]),
            token,
            claims,
            can_write: None,
        })
    }

    /// The token's claims if it is valid and, for a private channel, the policies let it read.
    async fn authorize(&self, token: &str, sub_topic: &str, private: bool) -> Result<Value, Refused> {
        let claims = self.realtime.verify(token, now()).map_err(Refused::Token)?;
        if private {
            match authorize::allowed(&self.realtime.pool, sub_topic, &claims, Access::Read).await {
                Ok(true) => {}
                Ok(false) => return Err(Refused::Policy),
                Err(_) => return Err(Refused::Database),
            }
        }
        Ok(claims)
    }

    /// A client's broadcast: relayed to the topic's subscribers when allowed (always on a
    /// public channel; on a private one when the policies let this token write).
    async fn broadcast(&self, frame: &Frame, channel: &mut Channel) -> Vec<Outgoing> {
        if channel.private && channel.can_write.is_none() {
            let allowed =
                authorize::allowed(&self.realtime.pool, &channel.sub_topic, &channel.claims, Access::Write)
                    .await;
            channel.can_write = allowed.ok();
        }
        if channel.private && channel.can_write != Some(true) {
            return Vec::new();
        }
        let event = frame.payload.get("event").and_then(Value::as_str).unwrap_or_default().to_string();
        let payload = frame.payload.get("payload").cloned().unwrap_or(Value::Null);
        let _ = self.realtime.hub.send(Arc::new(HubMessage {
            topic: channel.sub_topic.clone(),
            private: channel.private,
            event,
            payload,
            id: None,
            sender: Some(self.id),
        }));
        if channel.ack { vec![frame.reply(true, json!({})).into()] } else { Vec::new() }
    }

    /// A hub message as frames for this socket's matching channels.
    fn deliver(&self, message: &HubMessage, channels: &HashMap<String, Channel>) -> Vec<Outgoing> {
        channels
            .iter()
            .filter(|(_, c)| c.sub_topic == message.topic && c.private == message.private)
            .filter(|(_, c)| c.echo || message.sender != Some(self.id))
            .map(|(topic, _)| {
                let meta = message.id.as_ref().map(|id| json!({"id": id}));
                Outgoing::Ready(frame::broadcast(
                    self.vsn,
                    topic,
                    &message.event,
                    &message.payload,
                    meta.as_ref(),
                ))
            })
            .collect()
    }
}

/// Why a join or token update was refused.
enum Refused {
    Token(TokenError),
    Policy,
    Database,
}

/// A frame to encode, or a message already encoded (binary broadcasts).
enum Outgoing {
    Frame(Frame),
    Ready(Message),
}

impl From<Frame> for Outgoing {
    fn from(frame: Frame) -> Self {
        Outgoing::Frame(frame)
    }
}

impl Outgoing {
    fn encode_or_keep(self, vsn: Vsn) -> Message {
        match self {
            Outgoing::Frame(frame) => frame.encode(vsn),
            Outgoing::Ready(message) => message,
        }
    }
}

/// The `phx_close` that tells a client its channel ended.
fn close_frame(topic: &str, channel: &Channel) -> Frame {
    Frame {
        join_ref: channel.join_ref.clone(),
        reference: channel.join_ref.clone(),
        topic: topic.to_string(),
        event: "phx_close".into(),
        payload: json!({}),
    }
}

/// Hosted Realtime's `shutdown_response`: a `system` error message, then the channel closes.
fn shutdown_frames(topic: &str, channel: &Channel, message: &str) -> Vec<Outgoing> {
    let system = Frame {
        join_ref: channel.join_ref.clone(),
        reference: Value::Null,
        topic: topic.to_string(),
        event: "system".into(),
        payload: json!({"extension": "system", "status": "error", "message": message, "channel": channel.sub_topic}),
    };
    vec![system.into(), close_frame(topic, channel).into()]
}
