//! Phoenix channel frames as Supabase Realtime speaks them, in both serializer versions
//! clients ask for with `vsn`: 1.0.0 (JSON objects `{topic, event, payload, ref,
//! join_ref}`) and 2.0.0 (JSON arrays `[join_ref, ref, topic, event, payload]`, plus the
//! binary frames supabase-js uses for broadcasts: kind 3 from the client, kind 4 to it).

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The serializer a socket asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vsn {
    V1,
    V2,
}

impl Vsn {
    /// The `vsn` query parameter (1.0.0 when absent, as Phoenix assumes); `None` for a
    /// version this server does not speak.
    pub fn from_param(vsn: Option<&str>) -> Option<Vsn> {
        match vsn {
            None | Some("1.0.0") => Some(Vsn::V1),
            Some("2.0.0") => Some(Vsn::V2),
            Some(_) => None,
        }
    }
}

/// One channel message. `join_ref` and `reference` are echoed back as the client sent
/// them (strings in supabase-js, but any JSON value in Phoenix).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub join_ref: Value,
    pub reference: Value,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

const USER_BROADCAST_PUSH: u8 = 3;
const USER_BROADCAST: u8 = 4;
const JSON_ENCODING: u8 = 1;

impl Frame {
    /// A frame from the client, if it is one.
    pub fn decode(vsn: Vsn, message: &Message) -> Option<Frame> {
        match message {
            Message::Text(text) => decode_text(vsn, text.as_str()),
            Message::Binary(bytes) if vsn == Vsn::V2 => decode_broadcast_push(bytes),
            _ => None,
        }
    }

    /// The frame as `vsn` sends it.
    pub fn encode(&self, vsn: Vsn) -> Message {
        let text = match vsn {
            Vsn::V1 => json!({
                "topic": self.topic,
                "event": self.event,
                "payload": self.payload,
                "ref": self.reference,
                "join_ref": self.join_ref,
            })
            .to_string(),
            Vsn::V2 => {
                json!([self.join_ref, self.reference, self.topic, self.event, self.payload]).to_string()
            }
        };
        Message::text(text)
    }

    /// The reply to this frame: `phx_reply` with `{status, response}`.
    pub fn reply(&self, ok: bool, response: Value) -> Frame {
        Frame {
            join_ref: self.join_ref.clone(),
            reference: self.reference.clone(),
            topic: self.topic.clone(),
            event: "phx_reply".into(),
            payload: json!({"status": if ok { "ok" } else { "error" }, "response": response}),
        }
    }
}

fn decode_text(vsn: Vsn, text: &str) -> Option<Frame> {
    let value: Value = serde_json::from_str(text).ok()?;
    let (join_ref, reference, topic, event, payload) = match vsn {
        Vsn::V1 => {
            let mut object = match value {
                Value::Object(object) => object,
                _ => return None,
            };
            let mut take = |key: &str| object.remove(key).unwrap_or(Value::Null);
            (take("join_ref"), take("ref"), take("topic"), take("event"), take("payload"))
        }
        Vsn::V2 => match value {
            Value::Array(parts) if parts.len() == 5 => {
                let mut parts = parts.into_iter();
                let mut next = || parts.next().unwrap_or(Value::Null);
                (next(), next(), next(), next(), next())
            }
            _ => return None,
        },
    };
    Some(Frame {
        join_ref,
        reference,
        topic: topic.as_str()?.to_string(),
        event: event.as_str()?.to_string(),
        payload,
    })
}

/// A kind-3 binary frame (a broadcast sent by a vsn 2.0.0 client) as the `broadcast`
/// frame it stands for: `{type: "broadcast", event, payload}`.
fn decode_broadcast_push(bytes: &[u8]) -> Option<Frame> {
    let (&kind, rest) = bytes.split_first()?;
    if kind != USER_BROADCAST_PUSH || rest.len() < 6 {
        return None;
    }
    let lengths: Vec<usize> = rest[..5].iter().map(|&n| usize::from(n)).collect();
    let encoding = rest[5];
    let mut body = &rest[6..];
    let mut fields = Vec::with_capacity(5);
    for length in lengths {
        if body.len() < length {
            return None;
        }
        let (field, tail) = body.split_at(length);
        fields.push(std::str::from_utf8(field).ok()?.to_string());
        body = tail;
    }
    let [join_ref, reference, topic, event, metadata]: [String; 5] = fields.try_into().ok()?;
    // Binary payloads are relayed as such by hosted Realtime; this stand-in only carries
    // JSON ones.
    if encoding != JSON_ENCODING {
        return None;
    }
    let user_payload: Value = serde_json::from_slice(body).ok()?;
    let mut payload = json!({"type": "broadcast", "event": event, "payload": user_payload});
    if let Ok(Value::Object(meta)) = serde_json::from_str::<Value>(&metadata) {
        for (key, value) in meta {
            payload[key] = value;
        }
    }
    let text_or_null = |s: String| if s.is_empty() { Value::Null } else { Value::String(s) };
    Some(Frame {
        join_ref: text_or_null(join_ref),
        reference: text_or_null(reference),
        topic,
        event: "broadcast".into(),
        payload,
    })
}

/// A broadcast to subscribers of `topic` (`realtime:…`): a `broadcast` frame whose
/// payload is `{type, event, payload, meta?}` in 1.0.0, a kind-4 binary frame in 2.0.0.
pub fn broadcast(vsn: Vsn, topic: &str, event: &str, payload: &Value, meta: Option<&Value>) -> Message {
    if vsn == Vsn::V2 {
        let metadata = meta.map(Value::to_string).unwrap_or_default();
        let short = |s: &str| u8::try_from(s.len()).ok();
        // Longer fields do not fit the binary header: those go in the array form below,
        // which clients decode too.
        if let (Some(t), Some(e), Some(m)) = (short(topic), short(event), short(&metadata)) {
            let mut bytes = vec![USER_BROADCAST, t, e, m, JSON_ENCODING];
            bytes.extend_from_slice(topic.as_bytes());
            bytes.extend_from_slice(event.as_bytes());
            bytes.extend_from_slice(metadata.as_bytes());
            bytes.extend_from_slice(payload.to_string().as_bytes());
            return Message::binary(bytes);
        }
    }
    let mut inner = json!({"type": "broadcast", "event": event, "payload": payload});
    if let Some(meta) = meta {
        inner["meta"] = meta.clone();
    }
    let frame = Frame {
        join_ref: Value::Null,
        reference: Value::Null,
        topic: topic.to_string(),
        event: "broadcast".into(),
        payload: inner,
    };
    frame.encode(vsn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_frames_round_trip() {
        let text = r#"{"topic":"realtime:user:1","event":"phx_join","payload":{"config":{}},"ref":"1","join_ref":"1"}"#;
        let frame = Frame::decode(Vsn::V1, &Message::text(text)).unwrap();
        assert_eq!(frame.topic, "realtime:user:1");
        assert_eq!(frame.event, "phx_join");
        assert_eq!(frame.reference, json!("1"));
        let again = Frame::decode(Vsn::V1, &frame.encode(Vsn::V1)).unwrap();
        assert_eq!(again, frame);
    }

    #[test]
    fn version_two_frames_are_arrays() {
        let text = r#"["3","4","phoenix","heartbeat",{}]"#;
        let frame = Frame::decode(Vsn::V2, &Message::text(text)).unwrap();
        assert_eq!((frame.join_ref.clone(), frame.topic.as_str()), (json!("3"), "phoenix"));
        let reply = frame.reply(true, json!({}));
        assert_eq!(
            reply.encode(Vsn::V2).into_text().unwrap().as_str(),
            r#"["3","4","phoenix","phx_reply",{"response":{},"status":"ok"}]"#
        );
    }

    #[test]
    fn malformed_frames_are_not_frames() {
        for text in ["", "[]", "{}", r#"["1","2","t"]"#, r#"{"topic":1,"event":"x"}"#, "null"] {
            assert_eq!(Frame::decode(Vsn::V1, &Message::text(text)), None, "{text}");
            assert_eq!(Frame::decode(Vsn::V2, &Message::text(text)), None, "{text}");
        }
        assert_eq!(Frame::decode(Vsn::V1, &Message::binary(vec![3u8, 0, 0, 0, 0, 0, 1])), None);
        assert_eq!(Frame::decode(Vsn::V2, &Message::binary(vec![3u8, 9, 0, 0, 0, 0, 1])), None);
    }

    #[test]
    fn a_binary_broadcast_push_becomes_a_broadcast_frame() {
        // As supabase-js encodes `channel.send({type: "broadcast", event: "ping", payload: {n: 1}})`.
        // Header: kind, then the lengths of join_ref, ref, topic, event, metadata, then
        // the payload's encoding (1: JSON).
        let mut bytes = vec![3u8, 1, 1, 10, 4, 0, 1];
        bytes.extend_from_slice(b"12realtime:xping");
        bytes.extend_from_slice(br#"{"n":1}"#);
        let frame = Frame::decode(Vsn::V2, &Message::binary(bytes)).unwrap();
        assert_eq!(frame.topic, "realtime:x");
        assert_eq!(frame.event, "broadcast");
        assert_eq!(frame.payload, json!({"type": "broadcast", "event": "ping", "payload": {"n": 1}}));
        assert_eq!((frame.join_ref, frame.reference), (json!("1"), json!("2")));
    }

    #[test]
    fn broadcasts_take_each_versions_shape() {
        let meta = json!({"id": "m"});
        let v1 = broadcast(Vsn::V1, "realtime:user:1", "change", &json!({"change_number": 5}), Some(&meta));
        let v1: Value = serde_json::from_str(v1.into_text().unwrap().as_str()).unwrap();
        assert_eq!(v1["event"], "broadcast");
        assert_eq!(
            v1["payload"],
            json!({"type": "broadcast", "event": "change", "payload": {"change_number": 5}, "meta": {"id": "m"}})
        );
        let v2 = broadcast(Vsn::V2, "realtime:user:1", "change", &json!({"change_number": 5}), Some(&meta));
        let bytes = v2.into_data();
        assert_eq!(&bytes[..5], &[4, 15, 6, 10, 1]);
        assert_eq!(&bytes[5..], br#"realtime:user:1change{"id":"m"}{"change_number":5}"#.as_slice());
    }
}
