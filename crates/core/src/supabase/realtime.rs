//! The client side of Supabase Realtime as Tunebook uses it: one private broadcast
//! channel, `user:<uid>`, on which the database announces every accepted write with a
//! change hint `{"change_number": n}` (`supabase/migrations/20261201000000_realtime_hints.sql`).
//!
//! A state machine, so tests drive it without a network: events in (the socket opened, a
//! frame arrived, the socket closed, the timer fired, the token was refreshed, the browser
//! came online), actions out (open a socket, send a frame, close it, set the one timer,
//! hand a hint to sync). The browser edge (`src/ui/live.rs`) carries the actions out.
//! Phoenix vsn 1.0.0 JSON frames; a heartbeat every 25 s, a missed reply closes the
//! socket; reconnects back off with jitter (1 s doubling to 30 s). Three failed attempts
//! in a row without a joined channel make the status "unavailable": sync carries on at
//! its interval, and the machine keeps trying at the backoff's pace.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SupabaseConfig;
use crate::sync::Backoff;

/// Time between heartbeats; a heartbeat unanswered by the next one ends the socket.
pub const HEARTBEAT_MS: u64 = 25_000;
/// Time a socket may take to open before the attempt counts as failed.
pub const OPEN_TIMEOUT_MS: u64 = 10_000;
/// Failed attempts in a row after which live updates count as unavailable.
pub const UNAVAILABLE_AFTER: u32 = 3;
/// Reconnect backoff: 1 s doubling, at most 30 s, with jitter.
pub const RECONNECT: Backoff = Backoff { base_ms: 1_000, cap_ms: 30_000 };

/// What the Sync page says about live updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveStatus {
    /// Opening the socket or joining the channel (or about to retry after a blip).
    Connecting,
    /// Joined: hints arrive as writes commit.
    Live,
    /// Several attempts failed; the reason of the last one.
    Unavailable(String),
}

/// What happened, for the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveEvent {
    /// The socket is open.
    Opened,
    /// A text frame arrived.
    Frame(String),
    /// The socket closed (or failed) without being asked to.
    Closed,
    /// The timer set by the last [`LiveAction::Wait`] fired.
    Timer,
    /// The session was refreshed: the channel should use this access token from now on.
    Token(String),
    /// The browser came back online: retry now instead of after the backoff.
    Online,
}

/// What the edge should do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveAction {
    /// Open a WebSocket at this URL (any previous one is gone).
    Open(String),
    /// Send this text frame.
    Send(String),
    /// Close the socket; no [`LiveEvent::Closed`] is expected for it.
    Close,
    /// Fire [`LiveEvent::Timer`] after this many ms, replacing any timer set before.
    Wait(u64),
    /// The server has changes up to this change number.
    Hint(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Opening,
    Joining,
    Joined,
    /// Waiting to reconnect.
    Waiting,
}

/// One musician's live channel.
#[derive(Clone, Debug)]
pub struct LiveChannel {
    url: String,
    topic: String,
    token: String,
    state: State,
    /// Failed attempts since the channel was last joined.
    failures: u32,
    next_ref: u64,
    join_ref: String,
    /// The ref of a heartbeat not answered yet.
    heartbeat: Option<String>,
    status: LiveStatus,
}

impl LiveChannel {
    /// A channel for `user_id` with this access token, and the actions that open it.
    pub fn start(config: &SupabaseConfig, user_id: &str, token: String) -> (Self, Vec<LiveAction>) {
        let channel = Self {
            url: socket_url(config),
            topic: format!("realtime:user:{user_id}"),
            token,
            state: State::Opening,
            failures: 0,
            next_ref: 0,
            join_ref: String::new(),
            heartbeat: None,
            status: LiveStatus::Connecting,
        };
        let actions = vec![LiveAction::Open(channel.url.clone()), LiveAction::Wait(OPEN_TIMEOUT_MS)];
        (channel, actions)
    }

    pub fn status(&self) -> &LiveStatus {
        &self.status
    }

    /// The machine's answer to `event`; `random01` in [0, 1) spreads reconnects.
    pub fn handle(&mut self, event: LiveEvent, random01: f64) -> Vec<LiveAction> {
        match (event, self.state) {
            (LiveEvent::Opened, State::Opening) => {
                self.state = State::Joining;
                self.join_ref = self.take_ref();
                let payload = json!({
                    "config": {
                        "broadcast": {"ack": false, "self": false},
                        "presence": {"key": "", "enabled": false},
                        "postgres_changes": [],
                        "private": true,
                    },
                    "access_token": self.token,
                });
                let join = frame(&self.topic, "phx_join", payload, &self.join_ref, &self.join_ref);
                vec![LiveAction::Send(join), LiveAction::Wait(HEARTBEAT_MS)]
            }
            (LiveEvent::Frame(text), State::Joining | State::Joined) => self.on_frame(&text, random01),
            (LiveEvent::Closed, State::Opening | State::Joining | State::Joined) => {
                self.retry("the connection closed".into(), random01, false)
            }
            (LiveEvent::Timer, State::Opening) => {
                self.retry("the server did not answer".into(), random01, true)
            }
            (LiveEvent::Timer, State::Joining | State::Joined) => {
                if self.heartbeat.is_some() {
                    return self.retry("the server stopped answering".into(), random01, true);
                }
                let reference = self.take_ref();
                self.heartbeat = Some(reference.clone());
                let heartbeat =
                    json!({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": reference});
                vec![LiveAction::Send(heartbeat.to_string()), LiveAction::Wait(HEARTBEAT_MS)]
            }
            (LiveEvent::Timer, State::Waiting) => self.open(),
            (LiveEvent::Online, State::Waiting) => {
                self.failures = 0;
                self.open()
            }
            (LiveEvent::Token(token), state) => {
                self.token = token;
                if matches!(state, State::Joining | State::Joined) {
                    let payload = json!({"access_token": self.token});
                    let reference = self.take_ref();
                    vec![LiveAction::Send(frame(
                        &self.topic,
                        "access_token",
                        payload,
                        &reference,
                        &self.join_ref,
                    ))]
                } else {
                    Vec::new()
                }
            }
            // Events that do not apply in this state (a late frame, a second close).
            _ => Vec::new(),
        }
    }

    fn on_frame(&mut self, text: &str, random01: f64) -> Vec<LiveAction> {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        let field = |key: &str| frame.get(key).and_then(Value::as_str).unwrap_or_default();
        let reference = field("ref");
        let payload = frame.get("payload").cloned().unwrap_or(Value::Null);
        match field("event") {
            "phx_reply" if self.heartbeat.as_deref() == Some(reference) && !reference.is_empty() => {
                self.heartbeat = None;
                Vec::new()
            }
            "phx_reply" if reference == self.join_ref && self.state == State::Joining => {
                if payload.get("status").and_then(Value::as_str) == Some("ok") {
                    self.state = State::Joined;
                    self.failures = 0;
                    self.status = LiveStatus::Live;
                    Vec::new()
                } else {
                    let reason = payload
                        .pointer("/response/reason")
                        .and_then(Value::as_str)
                        .unwrap_or("the server refused the channel");
                    self.retry(format!("the server refused: {reason}"), random01, true)
                }
            }
            "broadcast" if field("topic") == self.topic => {
                let hint = payload.pointer("/payload/change_number").and_then(Value::as_i64);
                match (payload.get("event").and_then(Value::as_str), hint) {
                    (Some("change"), Some(n)) => vec![LiveAction::Hint(n)],
                    _ => Vec::new(),
                }
            }
            // The channel ended (an expired token, revoked access, a server restart).
            "phx_close" | "phx_error" if field("topic") == self.topic => {
                self.retry("the server closed the channel".into(), random01, true)
            }
            "system"
                if field("topic") == self.topic
                    && payload.get("status").and_then(Value::as_str) == Some("error") =>
            {
                let message = payload.get("message").and_then(Value::as_str).unwrap_or("error");
                self.retry(format!("the server closed the channel: {message}"), random01, true)
            }
            _ => Vec::new(),
        }
    }

    /// Gives up on this socket and waits to try again.
    fn retry(&mut self, reason: String, random01: f64, close: bool) -> Vec<LiveAction> {
        let was_joined = self.state == State::Joined;
        self.state = State::Waiting;
        self.heartbeat = None;
        // A joined channel that drops is a blip: it retries at once, and only failures
        // after it count.
        if !was_joined {
            self.failures = self.failures.saturating_add(1);
        }
        self.status = if self.failures >= UNAVAILABLE_AFTER {
            LiveStatus::Unavailable(reason)
        } else {
            LiveStatus::Connecting
        };
        let wait = if was_joined { 0 } else { RECONNECT.delay_ms(self.failures, random01) };
        let mut actions = Vec::new();
        if close {
            actions.push(LiveAction::Close);
        }
        actions.push(LiveAction::Wait(wait));
        actions
    }

    fn open(&mut self) -> Vec<LiveAction> {
        self.state = State::Opening;
        if self.status == LiveStatus::Live {
            self.status = LiveStatus::Connecting;
        }
        vec![LiveAction::Open(self.url.clone()), LiveAction::Wait(OPEN_TIMEOUT_MS)]
    }

    fn take_ref(&mut self) -> String {
        self.next_ref += 1;
        self.next_ref.to_string()
    }
}

/// A vsn 1.0.0 frame's text.
fn frame(topic: &str, event: &str, payload: Value, reference: &str, join_ref: &str) -> String {
    json!({"topic": topic, "event": event, "payload": payload, "ref": reference, "join_ref": join_ref})
        .to_string()
}

/// `wss://…/realtime/v1/websocket?apikey=…&vsn=1.0.0` for the project.
pub fn socket_url(config: &SupabaseConfig) -> String {
    let base = config.url.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{base}"),
    };
    let key = crate::list::percent_encode(&config.anon_key);
    format!("{base}/realtime/v1/websocket?apikey={key}&vsn=1.0.0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SupabaseConfig {
        SupabaseConfig { url: "https://abc.supabase.co/".into(), anon_key: "sb_publishable_x+y".into() }
    }

    fn sent(actions: &[LiveAction]) -> Vec<Value> {
        actions
            .iter()
            .filter_map(|a| match a {
                LiveAction::Send(text) => Some(serde_json::from_str(text).unwrap()),
                _ => None,
            })
            .collect()
    }

    /// A channel that has opened and been told its join succeeded.
    fn joined() -> LiveChannel {
        let (mut channel, _) = LiveChannel::start(&config(), "u1", "t1".into());
        let join = sent(&channel.handle(LiveEvent::Opened, 0.5)).remove(0);
        let reply = json!({"topic": join["topic"], "event": "phx_reply", "payload": {"status": "ok", "response": {}}, "ref": join["ref"], "join_ref": join["ref"]});
        assert_eq!(channel.handle(LiveEvent::Frame(reply.to_string()), 0.5), vec![]);
        assert_eq!(channel.status(), &LiveStatus::Live);
        channel
    }

    fn hint(topic: &str, n: i64) -> LiveEvent {
        let frame = json!({"topic": topic, "event": "broadcast", "payload": {"type": "broadcast", "event": "change", "payload": {"change_number": n, "id": "m"}, "meta": {"id": "m"}}, "ref": null});
        LiveEvent::Frame(frame.to_string())
    }

    #[test]
    fn the_socket_url_is_the_projects_realtime_endpoint() {
        assert_eq!(
            socket_url(&config()),
            "wss://abc.supabase.co/realtime/v1/websocket?apikey=sb_publishable_x%2By&vsn=1.0.0"
        );
        let local = SupabaseConfig { url: "http://127.0.0.1:54321".into(), anon_key: "k".into() };
        assert_eq!(socket_url(&local), "ws://127.0.0.1:54321/realtime/v1/websocket?apikey=k&vsn=1.0.0");
    }

    #[test]
    fn it_joins_its_private_topic_with_the_access_token() {
        let (mut channel, actions) = LiveChannel::start(&config(), "u1", "t1".into());
        assert_eq!(actions[0], LiveAction::Open(socket_url(&config())));
        let actions = channel.handle(LiveEvent::Opened, 0.5);
        let join = &sent(&actions)[0];
        assert_eq!(join["topic"], "realtime:user:u1");
        assert_eq!(join["event"], "phx_join");
        assert_eq!(join["payload"]["config"]["private"], true);
        assert_eq!(join["payload"]["access_token"], "t1");
        assert_eq!(join["ref"], join["join_ref"]);
        assert_eq!(channel.status(), &LiveStatus::Connecting);
    }

    #[test]
    fn hints_on_its_topic_are_handed_on_and_nothing_else() {
        let mut channel = joined();
        assert_eq!(channel.handle(hint("realtime:user:u1", 42), 0.5), vec![LiveAction::Hint(42)]);
        let cases = [
            hint("realtime:user:someone-else", 43),
            LiveEvent::Frame("not json".into()),
            LiveEvent::Frame(json!({"topic": "realtime:user:u1", "event": "broadcast", "payload": {"event": "other", "payload": {"change_number": 1}}}).to_string()),
            LiveEvent::Frame(json!({"topic": "realtime:user:u1", "event": "broadcast", "payload": {"event": "change", "payload": {}}}).to_string()),
            LiveEvent::Frame(json!({"topic": "realtime:user:u1", "event": "presence_state", "payload": {}}).to_string()),
        ];
        for event in cases {
            assert_eq!(channel.handle(event.clone(), 0.5), vec![], "{event:?}");
        }
        assert_eq!(channel.status(), &LiveStatus::Live);
    }

    #[test]
    fn heartbeats_go_out_and_a_missed_reply_reconnects() {
        let mut channel = joined();
        let actions = channel.handle(LiveEvent::Timer, 0.5);
        let beat = &sent(&actions)[0];
        assert_eq!((beat["topic"].as_str(), beat["event"].as_str()), (Some("phoenix"), Some("heartbeat")));
        assert_eq!(actions[1], LiveAction::Wait(HEARTBEAT_MS));
        let reply = json!({"topic": "phoenix", "event": "phx_reply", "payload": {"status": "ok", "response": {}}, "ref": beat["ref"]});
        assert_eq!(channel.handle(LiveEvent::Frame(reply.to_string()), 0.5), vec![]);
        // Answered: the next tick sends another; unanswered, the one after reconnects.
        assert_eq!(sent(&channel.handle(LiveEvent::Timer, 0.5)).len(), 1);
        assert_eq!(channel.handle(LiveEvent::Timer, 0.5), vec![LiveAction::Close, LiveAction::Wait(0)]);
        assert_eq!(channel.handle(LiveEvent::Timer, 0.5)[0], LiveAction::Open(socket_url(&config())));
    }

    #[test]
    fn failing_attempts_back_off_and_then_say_unavailable() {
        let (mut channel, _) = LiveChannel::start(&config(), "u1", "t1".into());
        let mut waits = Vec::new();
        for attempt in 1..=5 {
            let actions = channel.handle(LiveEvent::Closed, 0.0);
            let Some(LiveAction::Wait(ms)) = actions.last().cloned() else { panic!("{actions:?}") };
            waits.push(ms);
            let expected_unavailable = attempt >= UNAVAILABLE_AFTER;
            assert_eq!(
                matches!(channel.status(), LiveStatus::Unavailable(_)),
                expected_unavailable,
                "attempt {attempt}"
            );
            assert_eq!(channel.handle(LiveEvent::Timer, 0.0)[0], LiveAction::Open(socket_url(&config())));
        }
        // Equal jitter at 0: half of 1, 2, 4, 8, 16 s.
        assert_eq!(waits, [500, 1_000, 2_000, 4_000, 8_000]);
        // Coming online retries at once; a join then makes it live again.
        channel.handle(LiveEvent::Closed, 0.0);
        assert_eq!(channel.handle(LiveEvent::Online, 0.0)[0], LiveAction::Open(socket_url(&config())));
        let join = sent(&channel.handle(LiveEvent::Opened, 0.0)).remove(0);
        let ok = json!({"topic": join["topic"], "event": "phx_reply", "payload": {"status": "ok", "response": {}}, "ref": join["ref"]});
        channel.handle(LiveEvent::Frame(ok.to_string()), 0.0);
        assert_eq!(channel.status(), &LiveStatus::Live);
    }

    #[test]
    fn a_refused_join_or_an_ended_channel_reconnects_with_the_reason() {
        let (mut channel, _) = LiveChannel::start(&config(), "u1", "t1".into());
        for _ in 0..UNAVAILABLE_AFTER {
            let join = sent(&channel.handle(LiveEvent::Opened, 0.0)).remove(0);
            let refused = json!({"topic": join["topic"], "event": "phx_reply", "ref": join["ref"], "payload": {"status": "error", "response": {"reason": "Unauthorized: nope"}}});
            let actions = channel.handle(LiveEvent::Frame(refused.to_string()), 0.0);
            assert_eq!(actions[0], LiveAction::Close);
            channel.handle(LiveEvent::Timer, 0.0);
        }
        assert_eq!(
            channel.status(),
            &LiveStatus::Unavailable("the server refused: Unauthorized: nope".into())
        );

        let mut channel = joined();
        let system = json!({"topic": "realtime:user:u1", "event": "system", "payload": {"extension": "system", "status": "error", "message": "Token has expired 0 seconds ago"}});
        assert_eq!(
            channel.handle(LiveEvent::Frame(system.to_string()), 0.0),
            vec![LiveAction::Close, LiveAction::Wait(0)]
        );
        assert_eq!(channel.status(), &LiveStatus::Connecting, "one blip is not unavailable");
    }

    #[test]
    fn a_refreshed_token_is_sent_to_the_joined_channel_and_used_for_the_next_join() {
        let mut channel = joined();
        let update = sent(&channel.handle(LiveEvent::Token("t2".into()), 0.5)).remove(0);
        assert_eq!(update["event"], "access_token");
        assert_eq!(update["payload"]["access_token"], "t2");
        assert_eq!(update["topic"], "realtime:user:u1");
        channel.handle(LiveEvent::Closed, 0.5);
        assert_eq!(channel.handle(LiveEvent::Token("t3".into()), 0.5), vec![], "nothing to send while down");
        channel.handle(LiveEvent::Timer, 0.5);
        let join = sent(&channel.handle(LiveEvent::Opened, 0.5)).remove(0);
        assert_eq!(join["payload"]["access_token"], "t3");
    }
}
