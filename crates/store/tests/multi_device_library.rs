//! A property test of every synced table with three devices of one musician against the
//! real local backend: random rounds of offline work on notes, tags, references and
//! repertoire memberships of a few shared tunes, with tune deletes racing those edits;
//! then syncing in a random order with lost replies and backend restarts. Conflicts are
//! resolved by one fixed rule ("keep mine": for a row on a tune deleted elsewhere, that
//! restores the tune) and everyone syncs until quiet. Then, on every device and the
//! server:
//! - nothing lost: a note or reference added, and a tag or membership added by one device
//!   that no other device removed, is there (unless its tune was deleted that round);
//! - nothing duplicated: one live tag per tune and spelling, one membership per tune and
//!   repertoire, locally and on the server;
//! - nothing orphaned: no live note, reference, tag or membership hangs under a deleted
//!   or missing tune or repertoire;
//! - every device holds exactly the server's live rows;
//! - practice (ratings and undos made offline on several devices) loses no record and
//!   leaves every device with the same due dates.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;

use common::fault_proxy::{Fault, FaultProxy};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tunebook_backend::testing::TestStack;
use tunebook_core::domain::Uuid;
use tunebook_core::domain::library::{ReferenceDraft, RepertoireDraft};
use tunebook_core::merge::Side;
use tunebook_core::practice::Rating;
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::supabase::auth::Session;
use tunebook_store::db::Database;

const DEVICES: usize = 3;
const TUNES: usize = 3;
const TAGS: [&str; 3] = ["session", "Session", "reels"];

#[derive(Clone, Debug)]
enum Op {
    AddNote {
        device: usize,
        tune: usize,
    },
    EditNote {
        device: usize,
        tune: usize,
    },
    AddTag {
        device: usize,
        tune: usize,
        tag: usize,
    },
    RemoveTag {
        device: usize,
        tune: usize,
        tag: usize,
    },
    Join {
        device: usize,
        tune: usize,
    },
    Leave {
        device: usize,
        tune: usize,
    },
    AddReference {
        device: usize,
        tune: usize,
    },
    DeleteTune {
        device: usize,
        tune: usize,
    },
    Practise {
        device: usize,
        tune: usize,
        rating: usize,
    },
    /// Takes back the device's latest rating.
    Undo {
        device: usize,
    },
}

impl Op {
    fn device(&self) -> usize {
        match *self {
            Op::AddNote { device, .. }
            | Op::EditNote { device, .. }
            | Op::AddTag { device, .. }
            | Op::RemoveTag { device, .. }
            | Op::Join { device, .. }
            | Op::Leave { device, .. }
            | Op::AddReference { device, .. }
            | Op::DeleteTune { device, .. }
            | Op::Practise { device, .. }
            | Op::Undo { device } => device,
        }
    }

    fn tune(&self) -> usize {
        match *self {
            Op::AddNote { tune, .. }
            | Op::EditNote { tune, .. }
            | Op::AddTag { tune, .. }
            | Op::RemoveTag { tune, .. }
            | Op::Join { tune, .. }
            | Op::Leave { tune, .. }
            | Op::AddReference { tune, .. }
            | Op::DeleteTune { tune, .. }
            | Op::Practise { tune, .. } => tune,
            Op::Undo { .. } => 0,
        }
    }
}

#[derive(Clone, Debug)]
struct Round {
    ops: Vec<Op>,
    order: Vec<usize>,
    lose_reply: Vec<bool>,
    restart: bool,
}

fn op() -> impl Strategy<Value = Op> {
    let dt = (0..DEVICES, 0..TUNES);
    prop_oneof![
        3 => dt.clone().prop_map(|(device, tune)| Op::AddNote { device, tune }),
        2 => dt.clone().prop_map(|(device, tune)| Op::EditNote { device, tune }),
        3 => (0..DEVICES, 0..TUNES, 0..TAGS.len()).prop_map(|(device, tune, tag)| Op::AddTag { device, tune, tag }),
        2 => (0..DEVICES, 0..TUNES, 0..TAGS.len()).prop_map(|(device, tune, tag)| Op::RemoveTag { device, tune, tag }),
        3 => dt.clone().prop_map(|(device, tune)| Op::Join { device, tune }),
        1 => dt.clone().prop_map(|(device, tune)| Op::Leave { device, tune }),
        2 => dt.clone().prop_map(|(device, tune)| Op::AddReference { device, tune }),
        1 => dt.prop_map(|(device, tune)| Op::DeleteTune { device, tune }),
        3 => (0..DEVICES, 0..TUNES, 0..4usize).prop_map(|(device, tune, rating)| Op::Practise { device, tune, rating }),
        1 => (0..DEVICES).prop_map(|device| Op::Undo { device }),
    ]
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop::collection::vec(op(), 1..10),
        Just((0..DEVICES).collect::<Vec<_>>()).prop_shuffle(),
        prop::collection::vec(prop::bool::weighted(0.2), DEVICES),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(ops, order, lose_reply, restart)| Round { ops, order, lose_reply, restart })
}

/// Every live row a musician keeps, as comparable facts (tags and memberships by their
/// natural key), from one SQL source: the device's SQLite or the server's PostgreSQL.
#[derive(Debug, PartialEq, Eq, Default)]
struct Facts {
    tunes: BTreeSet<String>,
    notes: BTreeSet<(String, String)>,
    references: BTreeSet<(String, String)>,
    tags: BTreeSet<(String, String)>,
    members: BTreeSet<(String, String)>,
    practice: BTreeSet<String>,
}

const FACT_QUERIES: [&str; 6] = [
    "select id from tune where not deleted",
    "select tune_id || '|' || body from note where not deleted",
    "select tune_id || '|' || url from reference where not deleted",
    "select tune_id || '|' || lower(name) from tag where not deleted",
    "select repertoire_id || '|' || tune_id from repertoire_tune where not deleted",
    "select cast(id as text) from practice_record where not deleted",
];

fn pair(s: &str) -> (String, String) {
    let (a, b) = s.split_once('|').expect("pair");
    (a.to_string(), b.to_string())
}

fn facts(rows: impl Fn(&str) -> Vec<String>) -> Facts {
    let [tunes, notes, references, tags, members, practice] = FACT_QUERIES.map(&rows);
    Facts {
        tunes: tunes.into_iter().collect(),
        notes: notes.iter().map(|s| pair(s)).collect(),
        references: references.iter().map(|s| pair(s)).collect(),
        tags: tags.iter().map(|s| pair(s)).collect(),
        members: members.iter().map(|s| pair(s)).collect(),
        practice: practice.into_iter().collect(),
    }
}

fn device_rows(db: &RefCell<Database>, sql: &str) -> Vec<String> {
    let db = db.borrow();
    let sql = sql.replace("not deleted", "deleted = 0");
    let mut stmt = db.connection().prepare(&sql).expect("prepare");
    stmt.query_map([], |r| r.get(0)).expect("query").map(Result::unwrap).collect()
}

fn server_rows(stack: &TestStack, user: &Uuid, sql: &str) -> Vec<String> {
    let sql =
        sql.replace(" from ", " from public.").replace("where", &format!("where user_id = '{user}' and"));
    stack.sql(&sql).expect("sql").into_iter().flatten().collect()
}

/// Live rows counted twice (same natural key) or hanging under a deleted or missing
/// parent, found by SQL in one database.
const INTEGRITY: [(&str, &str); 6] = [
    ("duplicate tags", "select count(*) - count(distinct tune_id || lower(name)) from tag where not deleted"),
    (
        "duplicate memberships",
        "select count(*) - count(distinct cast(repertoire_id as text) || cast(tune_id as text)) from repertoire_tune where not deleted",
    ),
    (
        "orphaned notes",
        "select count(*) from note c where not c.deleted and not exists (select 1 from tune p where p.id = c.tune_id and not p.deleted)",
    ),
    (
        "orphaned tags",
        "select count(*) from tag c where not c.deleted and not exists (select 1 from tune p where p.id = c.tune_id and not p.deleted)",
    ),
    (
        "orphaned references",
        "select count(*) from reference c where not c.deleted and not exists (select 1 from tune p where p.id = c.tune_id and not p.deleted)",
    ),
    (
        "orphaned memberships",
        "select count(*) from repertoire_tune c where not c.deleted and not exists (select 1 from tune p where p.id = c.tune_id and not p.deleted)",
    ),
];

struct World {
    cfg: SupabaseConfig,
    proxy: FaultProxy,
    devices: Vec<(RefCell<Database>, Session)>,
    tunes: Vec<Uuid>,
    repertoire: Uuid,
}

impl World {
    fn proxied(&self) -> SupabaseConfig {
        SupabaseConfig { url: self.proxy.url.clone(), ..self.cfg.clone() }
    }

    /// Resolves every conflict "keep mine" and syncs until quiet. Returns how many
    /// conflicts there were.
    fn settle(&self) -> usize {
        let mut seen = 0;
        for _ in 0..8 {
            let mut busy = false;
            for (db, session) in &self.devices {
                let (report, _) = sync_now(db, &self.cfg, session);
                busy |= report.pushed > 0;
                let conflicts = db.borrow().conflicts().expect("conflicts");
                for conflict in conflicts {
                    busy = true;
                    seen += 1;
                    let choices: Vec<_> = conflict.parts.iter().map(|p| (p.clone(), Side::Mine)).collect();
                    db.borrow_mut().resolve_conflict(conflict.id, &choices).expect("resolve");
                }
            }
            if !busy {
                return seen;
            }
        }
        panic!("sync did not settle");
    }
}

fn run_case(backend: &mut Backend, rounds: &[Round]) -> Result<(), TestCaseError> {
    let cfg = config(backend.stack());
    let first = sign_up(&cfg, "library");
    let mut devices = vec![(device(), first.clone())];
    for _ in 1..DEVICES {
        devices.push((device(), sign_in(&cfg, &first.user.email)));
    }
    let proxy = FaultProxy::start(cfg.url.trim_start_matches("http://"));
    let tunes: Vec<Uuid> = (0..TUNES).map(|i| create(&devices[0].0, &format!("Tune {i}")).id).collect();
    let draft = RepertoireDraft { name: "Session".into(), ..Default::default() };
    let repertoire = devices[0].0.borrow_mut().create_repertoire(&draft).expect("repertoire").id;
    // Every tune starts in the repertoire, so practice happens from the first round.
    devices[0].0.borrow_mut().add_to_repertoire(repertoire, &tunes).expect("join");
    let world = World { cfg, proxy, devices, tunes, repertoire };
    world.settle();

    let mut counter = 0;
    // Each device's ratings, latest last (what Undo takes back), and every record written.
    let mut ratings: Vec<Vec<Uuid>> = vec![Vec::new(); DEVICES];
    let mut practised: BTreeSet<String> = BTreeSet::new();
    for (r, round) in rounds.iter().enumerate() {
        // What must survive this round (what, tune), and what someone removed.
        let mut added: BTreeSet<(String, usize)> = BTreeSet::new();
        let mut removed: BTreeSet<(String, usize)> = BTreeSet::new();
        let mut deleted: BTreeSet<usize> = BTreeSet::new();
        for op in &round.ops {
            counter += 1;
            let db = &world.devices[op.device()].0;
            let mut db = db.borrow_mut();
            // Each call may find its tune deleted on this device: that is the only
            // acceptable refusal.
            let outcome = match *op {
                Op::AddNote { tune, .. } => {
                    let body = format!("note r{r} #{counter}");
                    db.add_note(world.tunes[tune], &body).map(|_| {
                        added.insert((body, tune));
                    })
                }
                Op::EditNote { tune, .. } => match db.notes(world.tunes[tune]).expect("notes").first() {
                    Some(note) => db.update_note(note.id, &format!("{} edited #{counter}", note.body)),
                    None => Ok(()),
                },
                Op::AddTag { tune, tag, .. } => db.add_tag(world.tunes[tune], TAGS[tag]).map(|_| {
                    added.insert((format!("tag:{}", TAGS[tag].to_lowercase()), tune));
                }),
                Op::RemoveTag { tune, tag, .. } => {
                    removed.insert((format!("tag:{}", TAGS[tag].to_lowercase()), tune));
                    match db.remove_tag(world.tunes[tune], TAGS[tag]) {
                        Err(tunebook_store::db::DbError::NotFound) => Ok(()),
                        other => other,
                    }
                }
                Op::Join { tune, .. } => {
                    db.add_to_repertoire(world.repertoire, &[world.tunes[tune]]).map(|_| {
                        added.insert(("member".into(), tune));
                    })
                }
                Op::Leave { tune, .. } => {
                    removed.insert(("member".into(), tune));
                    match db.remove_from_repertoire(world.repertoire, world.tunes[tune]) {
                        Err(tunebook_store::db::DbError::NotFound) => Ok(()),
                        other => other,
                    }
                }
                Op::AddReference { tune, .. } => {
                    let url = format!("https://example.org/r{r}/{counter}");
                    let draft = ReferenceDraft { url: url.clone(), ..Default::default() };
                    db.add_reference(world.tunes[tune], &draft).map(|_| {
                        added.insert((format!("ref:{url}"), tune));
                    })
                }
                Op::Practise { device, tune, rating } => {
                    match db.rate_tune(world.repertoire, world.tunes[tune], Rating::ALL[rating]) {
                        Ok(rated) => {
                            ratings[device].push(rated.record_id);
                            practised.insert(rated.record_id.to_string());
                            Ok(())
                        }
                        // Not (or no longer) in the repertoire on this device.
                        Err(tunebook_store::db::DbError::NotFound) => Ok(()),
                        Err(e) => Err(e),
                    }
                }
                Op::Undo { device } => match ratings[device].pop() {
                    Some(record) => db.undo_rating(record),
                    None => Ok(()),
                },
                Op::DeleteTune { tune, .. } => {
                    deleted.insert(tune);
                    match db.delete_tune(world.tunes[tune]) {
                        Err(tunebook_store::db::DbError::NotFound) => Ok(()),
                        other => other,
                    }
                }
            };
            if let Err(e) = outcome {
                let id = world.tunes[op.tune()];
                let gone = db.get_tune(id).expect("get").is_none();
                prop_assert!(
                    gone && e == tunebook_store::db::DbError::NotFound,
                    "round {}: {:?}: {}",
                    r,
                    op,
                    e
                );
            }
        }

        for (i, &device) in round.order.iter().enumerate() {
            if round.restart && i == 1 {
                backend.restart();
            }
            let (db, session) = &world.devices[device];
            if round.lose_reply[device] && db.borrow().queue_stats().expect("stats").pending > 0 {
                world.proxy.then(&[Fault::DropReply]);
                push_now(db, &world.proxied(), session);
                prop_assert_eq!(world.proxy.pending(), 0, "round {}: the lost reply was this push's", r);
            }
            sync_now(db, &world.cfg, session);
        }
        world.settle();

        let server = facts(|sql| server_rows(backend.stack(), &first.user.id, sql));
        for (i, (db, _)) in world.devices.iter().enumerate() {
            let here = facts(|sql| device_rows(db, sql));
            prop_assert_eq!(&here, &server, "device {} after round {}: {:?}", i, r, round);
            prop_assert_eq!(db.borrow().queue_stats().expect("stats").unsynced(), 0);
            for (what, sql) in INTEGRITY {
                let n: i64 =
                    device_rows(db, &format!("select cast(({sql}) as text)"))[0].parse().expect("count");
                prop_assert_eq!(n, 0, "device {}: {} after round {}: {:?}", i, what, r, round);
            }
        }
        for (what, sql) in INTEGRITY {
            let user = first.user.id;
            let sql = sql
                .replace(" from ", " from public.")
                .replace("where not deleted", &format!("where user_id = '{user}' and not deleted"))
                .replace("where not c.deleted", &format!("where c.user_id = '{user}' and not c.deleted"));
            let n = backend.stack().sql(&format!("select ({sql})::text")).expect("sql")[0].clone();
            prop_assert_eq!(n.as_deref(), Some("0"), "server: {} after round {}: {:?}", what, r, round);
        }
        // Practice history is never lost, and every device derives the same schedules.
        for id in &practised {
            prop_assert!(server.practice.contains(id), "round {}: practice record {} was lost", r, id);
        }
        let schedules = |db: &RefCell<Database>| {
            device_rows(db, "select repertoire_id || '|' || tune_id || '|' || due from practice_schedule")
                .into_iter()
                .collect::<BTreeSet<_>>()
        };
        let first_schedules = schedules(&world.devices[0].0);
        for (i, (db, _)) in world.devices.iter().enumerate().skip(1) {
            prop_assert_eq!(&schedules(db), &first_schedules, "device {}: due dates after round {}", i, r);
        }
        // Nothing lost: what was added on a tune nobody deleted, and not removed by anyone.
        for (what, tune) in &added {
            if deleted.contains(tune) || removed.contains(&(what.clone(), *tune)) {
                continue;
            }
            let id = world.tunes[*tune].to_string();
            let present = match what.split_once(':') {
                Some(("tag", name)) => server.tags.contains(&(id, name.to_string())),
                Some(("ref", url)) => server.references.contains(&(id, url.to_string())),
                _ if what == "member" => server.members.contains(&(world.repertoire.to_string(), id)),
                _ => server
                    .notes
                    .iter()
                    .any(|(t, body)| *t == id && (body == what || body.starts_with(&format!("{what} ")))),
            };
            prop_assert!(present, "round {}: {} on tune {} was lost: {:?}", r, what, tune, round);
        }
    }
    Ok(())
}

#[test]
fn every_table_converges_with_nothing_lost_duplicated_or_orphaned() {
    let backend = RefCell::new(Backend::start());
    let cases: u32 = std::env::var("TUNEBOOK_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(10);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner
        .run(&prop::collection::vec(round(), 1..4), |rounds| run_case(&mut backend.borrow_mut(), &rounds));
    if let Err(e) = result {
        panic!("{e}");
    }
}
