//! Several tabs on one database. The OPFS database can be open in one worker only, so
//! one tab, the leader (chosen with a Web Lock that the other tabs queue for), runs the
//! worker, the sync and the live channel; every other tab, a follower, sends its requests
//! to the leader over a `BroadcastChannel` and gets the answers back the same way. After
//! every committed write the leader says which tables changed, and every tab's pages
//! reload what they show.
//!
//! When the leader goes (its tab closed or crashed), the next tab in the lock's queue
//! becomes leader and announces itself; followers then send again every request still
//! unanswered. A request keeps its key (`tab:id`) when sent again, and the worker
//! answers a write it applied before under that key from the stored answer, so a replay
//! never applies anything twice. Only the leader syncs; it tells the others what its
//! sync is doing ([`LeaderSync`]) whenever that changes and to every tab that starts, so
//! every tab's status line and Sync page say the same. This module is the messages and
//! the followers' bookkeeping; the browser edge is `src/ui/tabs.rs`.
//!
//! Requests and answers travel as the JSON text the worker reads and writes: the leader
//! passes them between the channel and its worker without decoding them (the app then
//! needs no code to read requests or write answers, only the worker does).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::{self, Request};
use crate::supabase::realtime::LiveStatus;
use crate::sync_run::RunStatus;
use crate::tables::TableId;

/// The `BroadcastChannel` the tabs of one origin talk on.
pub const CHANNEL: &str = "tunebook-tabs";

/// A message between tabs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TabMessage {
    /// A follower's request for the leader's database: the request as JSON, and the
    /// tables it writes (announced when it succeeds).
    Request { from: String, id: u64, request: String, writes: Vec<TableId> },
    /// The leader's answer to one follower's request: the worker's `result`, as JSON.
    Response { to: String, id: u64, result: String },
    /// Rows of these tables changed (a write in tab `from`, a pull): pages showing them
    /// reload, except in `from`, whose pages know.
    Changed { tables: Vec<TableId>, from: String },
    /// This tab just became the leader: send again whatever is unanswered.
    Leader { tab: String },
    /// What the leader's sync is doing now: sent when that changes, and in answer to
    /// [`TabMessage::Hello`].
    SyncState(LeaderSync),
    /// A following tab started syncing (as far as followers do): the leader answers
    /// with its [`TabMessage::SyncState`].
    Hello,
    /// Someone signed in or out in one tab: the others reload to follow.
    Account,
}

/// What the leader tab's sync is doing, for the tabs that follow it: they run no sync
/// (nor live channel) of their own, yet show the same status line and Sync page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeaderSync {
    pub run: RunStatus,
    /// The live channel's state; `None` while signed out.
    pub live: Option<LiveStatus>,
}

impl TabMessage {
    pub fn encode(&self) -> String {
        protocol::encode(self)
    }

    pub fn decode(text: &str) -> Option<TabMessage> {
        serde_json::from_str(text).ok()
    }
}

/// The key under which the leader applies a follower's request: the same when the
/// request is sent again, different for every request.
pub fn request_key(tab: &str, id: u64) -> String {
    format!("{tab}:{id}")
}

/// A follower's requests that have no answer yet, kept to be sent again to a new leader.
#[derive(Clone, Debug)]
pub struct Outstanding {
    tab: String,
    next_id: u64,
    /// Request id → the message as sent.
    waiting: BTreeMap<u64, String>,
}

impl Outstanding {
    /// For the tab with this id (random per page load).
    pub fn new(tab: String) -> Self {
        Self { tab, next_id: 1, waiting: BTreeMap::new() }
    }

    pub fn tab(&self) -> &str {
        &self.tab
    }

    /// Registers a request; returns its id and the message to post.
    pub fn send(&mut self, request: &Request) -> (u64, String) {
        let id = self.next_id;
        self.next_id += 1;
        let writes = request.writes().to_vec();
        let text =
            TabMessage::Request { from: self.tab.clone(), id, request: protocol::encode(request), writes }
                .encode();
        self.waiting.insert(id, text.clone());
        (id, text)
    }

    /// An answer for this tab, if `message` is one (taking it off the waiting list). An
    /// answer that comes twice (from the old leader and from the new one after a
    /// replay) is taken once.
    pub fn answer(&mut self, message: TabMessage) -> Option<(u64, String)> {
        match message {
            TabMessage::Response { to, id, result } if to == self.tab => {
                self.waiting.remove(&id).map(|_| (id, result))
            }
            _ => None,
        }
    }

    /// Gives up waiting for `id` (its caller went away).
    pub fn forget(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    /// Every unanswered request, oldest first, to send to a new leader.
    pub fn replay(&self) -> Vec<String> {
        self.waiting.values().cloned().collect()
    }

    /// Every unanswered request (as JSON) with its key, oldest first, for this tab's own
    /// worker when this tab becomes the leader.
    pub fn take_all(&mut self) -> Vec<(u64, String, String)> {
        std::mem::take(&mut self.waiting)
            .into_iter()
            .filter_map(|(id, text)| match TabMessage::decode(&text) {
                Some(TabMessage::Request { request, .. }) => Some((id, request_key(&self.tab, id), request)),
                _ => None,
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Timestamp, TuneDraft, Uuid};
    use crate::protocol::{Response, WorkerError};
    use crate::sync_run::LastRun;

    fn create(title: &str) -> Request {
        Request::CreateTune { draft: TuneDraft { title: title.into(), ..TuneDraft::default() } }
    }

    #[test]
    fn messages_round_trip_as_json() {
        let cases = [
            TabMessage::Request {
                from: "t1".into(),
                id: 3,
                request: protocol::encode(&create("A")),
                writes: vec![TableId::Tune],
            },
            TabMessage::Response {
                to: "t1".into(),
                id: 3,
                result: protocol::encode(&Ok::<_, WorkerError>(Response::Done)),
            },
            TabMessage::Changed { tables: vec![TableId::Tune, TableId::Tag], from: "t1".into() },
            TabMessage::Leader { tab: "t2".into() },
            TabMessage::SyncState(LeaderSync::default()),
            TabMessage::SyncState(LeaderSync {
                run: RunStatus {
                    running: true,
                    pulling: Some((1_000, Some(12_000))),
                    last: Some(LastRun {
                        finished_at: Timestamp(1_795_000_000_000),
                        duration_ms: 12.5,
                        result: "Will retry: offline".into(),
                        ok: false,
                    }),
                    last_success: Some(Timestamp(1_794_999_000_000)),
                },
                live: Some(LiveStatus::Unavailable("the server closed the connection".into())),
            }),
            TabMessage::Hello,
            TabMessage::Account,
        ];
        for message in cases {
            assert_eq!(TabMessage::decode(&message.encode()), Some(message.clone()), "{message:?}");
        }
        assert_eq!(TabMessage::decode("{\"nonsense\":{}}"), None);
    }

    #[test]
    fn answers_are_matched_to_this_tabs_requests_once() {
        let mut outstanding = Outstanding::new("me".into());
        let (first, text) = outstanding.send(&create("A"));
        let Some(TabMessage::Request { writes, request, .. }) = TabMessage::decode(&text) else {
            panic!("{text}")
        };
        assert_eq!(writes, [TableId::Tune]);
        assert_eq!(serde_json::from_str::<Request>(&request).unwrap(), create("A"));
        let (second, _) = outstanding.send(&Request::QueueStats);
        assert_ne!(first, second);
        let answer =
            |to: &str, id| TabMessage::Response { to: to.into(), id, result: "{\"Ok\":\"Done\"}".into() };
        assert_eq!(outstanding.answer(answer("someone-else", first)), None, "another tab's answer");
        assert_eq!(outstanding.answer(TabMessage::Account), None);
        assert_eq!(outstanding.answer(answer("me", first)), Some((first, "{\"Ok\":\"Done\"}".into())));
        assert_eq!(outstanding.answer(answer("me", first)), None, "a second answer after a replay");
        assert_eq!(outstanding.len(), 1);
    }

    #[test]
    fn a_new_leader_gets_every_unanswered_request_again_with_the_same_key() {
        let mut outstanding = Outstanding::new("me".into());
        let (a, text_a) = outstanding.send(&create("A"));
        let (b, _) = outstanding.send(&create("B"));
        let (c, text_c) = outstanding.send(&Request::GetTune { id: Uuid::now_v7() });
        outstanding.answer(TabMessage::Response { to: "me".into(), id: b, result: "{}".into() });
        assert_eq!(outstanding.replay(), vec![text_a, text_c], "oldest first, the answered one left out");
        outstanding.forget(c);
        let taken = outstanding.take_all();
        assert_eq!(taken.len(), 1);
        assert_eq!((taken[0].0, taken[0].1.as_str()), (a, "me:1"));
        assert_eq!(taken[0].2, protocol::encode(&create("A")));
        assert!(outstanding.is_empty());
        assert_eq!(request_key("me", a), "me:1");
    }
}
