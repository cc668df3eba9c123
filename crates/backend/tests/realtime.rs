//! The Realtime stand-in against a real stack: private channels joined as the RLS policy
//! on `realtime.messages` allows, change hints sent by the database for every accepted
//! write (one per statement), hosted Realtime's refusals, token updates and expiry, both
//! serializer versions, and public broadcasts between sockets.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Api, Case, run_cases};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use tunebook_backend::jwt;
use tunebook_backend::testing::TestStack;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A vsn 1.0.0 client socket.
struct Client {
    socket: Socket,
    next_ref: u32,
}

impl Client {
    async fn connect(api: &Api<'_>, vsn: &str) -> Client {
        let url = format!(
            "{}/realtime/v1/websocket?apikey={}&vsn={vsn}",
            api.stack.stack().api_url.replace("http://", "ws://"),
            api.anon()
        );
        let (socket, _) = connect_async(url).await.expect("websocket connects");
        Client { socket, next_ref: 0 }
    }

    async fn send(&mut self, topic: &str, event: &str, payload: Value) -> String {
        self.next_ref += 1;
        let reference = self.next_ref.to_string();
        let frame = json!({"topic": topic, "event": event, "payload": payload, "ref": reference, "join_ref": reference});
        self.socket.send(Message::text(frame.to_string())).await.expect("send");
        reference
    }

    /// The next frame, as JSON (`None` after `wait` with nothing).
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        match tokio::time::timeout(wait, self.socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                Some(serde_json::from_str(text.as_str()).expect("json frame"))
            }
            Ok(Some(Ok(other))) => Some(json!({"other": format!("{other:?}")})),
            Ok(_) | Err(_) => None,
        }
    }

    /// Joins `realtime:<topic>` (private) and returns the `phx_reply` payload.
    async fn join(&mut self, topic: &str, token: Option<&str>, private: bool) -> Value {
        let mut payload = json!({"config": {"broadcast": {"ack": false, "self": false}, "presence": {"key": "", "enabled": false}, "postgres_changes": [], "private": private}});
        if let Some(token) = token {
            payload["access_token"] = json!(token);
        }
        let reference = self.send(&format!("realtime:{topic}"), "phx_join", payload).await;
        let reply = self.next(Duration::from_secs(10)).await.expect("a join reply");
        assert_eq!(
            (reply["event"].as_str(), reply["ref"].as_str()),
            (Some("phx_reply"), Some(reference.as_str())),
            "{reply}"
        );
        reply["payload"].clone()
    }
}

struct Ctx<'a> {
    api: Api<'a>,
}

impl Ctx<'_> {
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.api.stack.block_on(future)
    }
}

fn email(name: &str) -> String {
    format!("{name}@realtime.example.org")
}

fn a_write_is_hinted_once_per_statement_to_its_owner_only(ctx: &Ctx) {
    let api = &ctx.api;
    let (me, token, _) = api.sign_up(&email("owner"), "secret1");
    let (_, other_token, _) = api.sign_up(&email("other"), "secret1");
    ctx.block_on(async {
        let mut client = Client::connect(api, "1.0.0").await;
        let joined = client.join(&format!("user:{me}"), Some(&token), true).await;
        assert_eq!(joined, json!({"status": "ok", "response": {"postgres_changes": []}}));
        // Someone else's write says nothing to this channel.
        let r = api.call("POST", "/rest/v1/tune", Some(&other_token), &[], json!({"id": uuid(900), "title": "Not mine"}));
        assert_eq!(r.status, 201, "{}", r.text);
        // Three tunes in one statement: one hint, with the last change number.
        let rows = json!([{"id": uuid(1), "title": "A"}, {"id": uuid(2), "title": "B"}, {"id": uuid(3), "title": "C"}]);
        let r = api.call("POST", "/rest/v1/tune", Some(&token), &[("prefer", "return=representation")], rows);
        assert_eq!(r.status, 201, "{}", r.text);
        let hint = client.next(Duration::from_secs(5)).await.expect("a hint");
        let numbers = r.body.as_array().unwrap().iter().map(|row| row["change_number"].as_i64().unwrap());
        let highest = numbers.max().unwrap();
        assert_eq!(hint["topic"], format!("realtime:user:{me}"));
        assert_eq!(hint["event"], "broadcast");
        assert_eq!(hint["payload"]["type"], "broadcast");
        assert_eq!(hint["payload"]["event"], "change");
        assert_eq!(hint["payload"]["payload"]["change_number"], json!(highest));
        assert_eq!(hint["payload"]["meta"]["id"], hint["payload"]["payload"]["id"], "{hint}");
        assert_eq!(client.next(Duration::from_millis(500)).await, None, "one hint for one statement");
        // An edit (an update) is hinted too.
        let r = api.call("PATCH", &format!("/rest/v1/tune?id=eq.{}", uuid(2)), Some(&token), &[], json!({"title": "B2"}));
        assert_eq!(r.status, 204, "{}", r.text);
        let hint = client.next(Duration::from_secs(5)).await.expect("a hint for the update");
        assert_eq!(hint["payload"]["payload"]["change_number"], json!(highest + 1));
        // Heartbeats are answered.
        let reference = client.send("phoenix", "heartbeat", json!({})).await;
        let reply = client.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(reply, json!({"topic": "phoenix", "event": "phx_reply", "payload": {"status": "ok", "response": {}}, "ref": reference, "join_ref": reference}));
    });
}

fn joins_are_refused_as_hosted_realtime_refuses_them(ctx: &Ctx) {
    let api = &ctx.api;
    let (me, token, _) = api.sign_up(&email("refused"), "secret1");
    let (someone, _, _) = api.sign_up(&email("someone"), "secret1");
    let secret = api.stack.stack().jwt_secret.clone();
    let expired = jwt::sign(&secret, &json!({"sub": me, "role": "authenticated", "exp": now() - 30}));
    let forged = jwt::sign(
        "a-different-secret-of-at-least-32-characters",
        &json!({"sub": me, "role": "authenticated", "exp": now() + 600}),
    );
    ctx.block_on(async {
        let mut client = Client::connect(api, "1.0.0").await;
        let cases: [(String, Option<&str>, &str); 5] = [
            (
                format!("user:{someone}"),
                Some(&token),
                "Unauthorized: You do not have permissions to read from this Channel topic: user:",
            ),
            (
                format!("user:{me}"),
                None,
                "Unauthorized: You do not have permissions to read from this Channel topic: user:",
            ),
            (format!("user:{me}"), Some(&forged), "JwtSignatureError: Failed to validate JWT signature"),
            (format!("user:{me}"), Some(&expired), "InvalidJWTToken: Token has expired "),
            (format!("user:{me}"), Some("not-a-jwt"), "MalformedJWT: The token provided is not a valid JWT"),
        ];
        for (topic, token, reason) in cases {
            let reply = client.join(&topic, token, true).await;
            assert_eq!(reply["status"], "error", "{topic}: {reply}");
            let said = reply["response"]["reason"].as_str().unwrap_or_default();
            assert!(said.starts_with(reason), "{topic}: {said}");
        }
        // Nothing of the refused channels arrives.
        let r =
            api.call("POST", "/rest/v1/tune", Some(&token), &[], json!({"id": uuid(20), "title": "Quiet"}));
        assert_eq!(r.status, 201);
        assert_eq!(client.next(Duration::from_millis(700)).await, None);
        // An event on a channel never joined.
        let reference = client.send("realtime:user:nobody", "broadcast", json!({})).await;
        let reply = client.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(reply["payload"], json!({"status": "error", "response": {"reason": "unmatched topic"}}));
        assert_eq!(reply["ref"], json!(reference));
    });
}

fn a_channel_ends_when_its_token_expires_or_is_replaced_by_a_foreign_one(ctx: &Ctx) {
    let api = &ctx.api;
    let (me, token, _) = api.sign_up(&email("expiring"), "secret1");
    let (_, someone_token, _) = api.sign_up(&email("intruder"), "secret1");
    let secret = api.stack.stack().jwt_secret.clone();
    let short = jwt::sign(&secret, &json!({"sub": me, "role": "authenticated", "exp": now() + 2}));
    let topic = format!("realtime:user:{me}");
    ctx.block_on(async {
        // A token about to expire: refreshed in time, the channel lives on.
        let mut client = Client::connect(api, "1.0.0").await;
        assert_eq!(client.join(&format!("user:{me}"), Some(&short), true).await["status"], "ok");
        client.send(&topic, "access_token", json!({"access_token": token})).await;
        assert_eq!(client.next(Duration::from_secs(4)).await, None, "a refreshed token keeps the channel");
        let r = api.call(
            "POST",
            "/rest/v1/tune",
            Some(&token),
            &[],
            json!({"id": uuid(30), "title": "Still live"}),
        );
        assert_eq!(r.status, 201);
        assert_eq!(client.next(Duration::from_secs(5)).await.unwrap()["event"], "broadcast");

        // Not refreshed: a system error, then the channel closes.
        let short = jwt::sign(&secret, &json!({"sub": me, "role": "authenticated", "exp": now() + 1}));
        let mut client = Client::connect(api, "1.0.0").await;
        assert_eq!(client.join(&format!("user:{me}"), Some(&short), true).await["status"], "ok");
        let system = client.next(Duration::from_secs(5)).await.expect("a system message");
        assert_eq!(system["event"], "system");
        assert_eq!(system["payload"]["status"], "error");
        assert!(system["payload"]["message"].as_str().unwrap().starts_with("Token has expired"), "{system}");
        assert_eq!(client.next(Duration::from_secs(2)).await.unwrap()["event"], "phx_close");

        // Another user's token for this topic: the policies no longer allow it.
        let mut client = Client::connect(api, "1.0.0").await;
        assert_eq!(client.join(&format!("user:{me}"), Some(&token), true).await["status"], "ok");
        client.send(&topic, "access_token", json!({"access_token": someone_token})).await;
        let system = client.next(Duration::from_secs(5)).await.expect("a system message");
        assert_eq!(
            system["payload"]["message"],
            format!("You no longer have permission to read from this Channel topic: user:{me}")
        );
        assert_eq!(client.next(Duration::from_secs(2)).await.unwrap()["event"], "phx_close");
        let r =
            api.call("POST", "/rest/v1/tune", Some(&token), &[], json!({"id": uuid(31), "title": "Gone"}));
        assert_eq!(r.status, 201);
        assert_eq!(client.next(Duration::from_millis(700)).await, None);
    });
}

fn version_two_clients_get_array_frames_and_binary_broadcasts(ctx: &Ctx) {
    let api = &ctx.api;
    let (me, token, _) = api.sign_up(&email("vsn2"), "secret1");
    let topic = format!("realtime:user:{me}");
    ctx.block_on(async {
        let mut client = Client::connect(api, "2.0.0").await;
        let join = json!(["1", "1", topic, "phx_join", {"config": {"private": true}, "access_token": token}]);
        client.socket.send(Message::text(join.to_string())).await.unwrap();
        let reply = client.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            reply,
            json!(["1", "1", topic, "phx_reply", {"status": "ok", "response": {"postgres_changes": []}}])
        );
        let r =
            api.call("POST", "/rest/v1/tune", Some(&token), &[], json!({"id": uuid(40), "title": "Binary"}));
        assert_eq!(r.status, 201);
        let frame = tokio::time::timeout(Duration::from_secs(5), client.socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Binary(bytes) = frame else { panic!("a binary broadcast: {frame:?}") };
        assert_eq!(bytes[0], 4, "user broadcast");
        let (topic_len, event_len, meta_len) = (bytes[1] as usize, bytes[2] as usize, bytes[3] as usize);
        let body = &bytes[5..];
        assert_eq!(&body[..topic_len], topic.as_bytes());
        assert_eq!(&body[topic_len..topic_len + event_len], b"change");
        let payload: Value = serde_json::from_slice(&body[topic_len + event_len + meta_len..]).unwrap();
        assert!(payload["change_number"].as_i64().unwrap() > 0, "{payload}");
    });
}

fn public_broadcasts_reach_the_other_subscribers(ctx: &Ctx) {
    let api = &ctx.api;
    ctx.block_on(async {
        let mut sender = Client::connect(api, "1.0.0").await;
        let mut listener = Client::connect(api, "1.0.0").await;
        assert_eq!(sender.join("room", None, false).await["status"], "ok");
        assert_eq!(listener.join("room", None, false).await["status"], "ok");
        sender
            .send(
                "realtime:room",
                "broadcast",
                json!({"type": "broadcast", "event": "wave", "payload": {"n": 1}}),
            )
            .await;
        let heard = listener.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(heard["payload"], json!({"type": "broadcast", "event": "wave", "payload": {"n": 1}}));
        assert_eq!(sender.next(Duration::from_millis(500)).await, None, "not echoed without self");
        // A private channel with no INSERT policy: nobody may send on it.
        let (me, token, _) = api.sign_up(&email("sender"), "secret1");
        let mut mine = Client::connect(api, "1.0.0").await;
        let mut also_mine = Client::connect(api, "1.0.0").await;
        assert_eq!(mine.join(&format!("user:{me}"), Some(&token), true).await["status"], "ok");
        assert_eq!(also_mine.join(&format!("user:{me}"), Some(&token), true).await["status"], "ok");
        mine.send(
            &format!("realtime:user:{me}"),
            "broadcast",
            json!({"type": "broadcast", "event": "change", "payload": {"change_number": 999}}),
        )
        .await;
        assert_eq!(also_mine.next(Duration::from_millis(700)).await, None, "a forged hint is not relayed");
    });
}

#[test]
fn realtime_stand_in() {
    let stack = TestStack::start(|_| {}).expect("stack starts");
    let ctx = Ctx { api: Api { stack: &stack } };
    let cases: &[Case<Ctx>] = &[
        (
            "a_write_is_hinted_once_per_statement_to_its_owner_only",
            a_write_is_hinted_once_per_statement_to_its_owner_only,
        ),
        (
            "joins_are_refused_as_hosted_realtime_refuses_them",
            joins_are_refused_as_hosted_realtime_refuses_them,
        ),
        (
            "a_channel_ends_when_its_token_expires_or_is_replaced_by_a_foreign_one",
            a_channel_ends_when_its_token_expires_or_is_replaced_by_a_foreign_one,
        ),
        (
            "version_two_clients_get_array_frames_and_binary_broadcasts",
            version_two_clients_get_array_frames_and_binary_broadcasts,
        ),
        ("public_broadcasts_reach_the_other_subscribers", public_broadcasts_reach_the_other_subscribers),
    ];
    run_cases(&ctx, cases);
}
