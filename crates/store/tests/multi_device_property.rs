//! A property test of sync with three devices of one musician against the real local
//! backend. Random rounds of offline work (creating, editing fields, deleting), then
//! syncing in a random order with lost replies and backend restarts thrown in. After
//! every round, all conflicts are resolved by one fixed rule ("keep mine") and everyone
//! syncs until nothing is left. Then:
//! - every device shows exactly what the server holds;
//! - no accepted edit is lost: a field only one device changed keeps that change;
//! - a conflict was raised exactly for the fields two devices changed concurrently (and
//!   for tunes one device deleted while another edited them); on a tune that was also
//!   deleted, field questions may or may not come (that depends on who synced first) but
//!   only for fields someone edited;
//! - every operation's outcome is accounted for: an edit or delete finds the tune unless
//!   this device already holds it deleted, and a push whose reply is lost fails as
//!   "retry" (the fault is used by that push, never left for a later round);
//! - every device holds, field for field, what the server holds.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use common::fault_proxy::{Fault, FaultProxy};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tunebook_backend::testing::TestStack;
use tunebook_core::domain::{Field, TuneDraft, Uuid};
use tunebook_core::merge::{Part, Side};
use tunebook_core::supabase::SupabaseConfig;
use tunebook_core::supabase::auth::Session;
use tunebook_core::sync::PushOutcome;
use tunebook_store::db::Database;

const DEVICES: usize = 3;
const SHARED_TUNES: usize = 3;
/// The fields the test edits (enough to tell merging from conflicting).
const FIELDS: [Field; 3] = [Field::Title, Field::Mode, Field::Composer];

#[derive(Clone, Debug)]
enum Op {
    Edit { device: usize, tune: usize, field: usize },
    Delete { device: usize, tune: usize },
    Create { device: usize },
}

#[derive(Clone, Debug)]
struct Round {
    ops: Vec<Op>,
    order: Vec<usize>,
    lose_reply: Vec<bool>,
    restart: bool,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..DEVICES, 0..SHARED_TUNES, 0..FIELDS.len()).prop_map(|(device, tune, field)| Op::Edit { device, tune, field }),
        1 => (0..DEVICES, 0..SHARED_TUNES).prop_map(|(device, tune)| Op::Delete { device, tune }),
        1 => (0..DEVICES).prop_map(|device| Op::Create { device }),
    ]
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop::collection::vec(op(), 0..8),
        Just((0..DEVICES).collect::<Vec<_>>()).prop_shuffle(),
        prop::collection::vec(prop::bool::weighted(0.2), DEVICES),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(ops, order, lose_reply, restart)| Round { ops, order, lose_reply, restart })
}

struct World {
    cfg: SupabaseConfig,
    proxy: FaultProxy,
    devices: Vec<(RefCell<Database>, Session)>,
    shared: Vec<Uuid>,
}

impl World {
    fn proxied(&self) -> SupabaseConfig {
        SupabaseConfig { url: self.proxy.url.clone(), ..self.cfg.clone() }
    }

    /// Every conflict each device holds, resolved "keep mine", then syncs until quiet.
    /// Returns the (tune, part) pairs that conflicted.
    fn settle(&self, raised: &mut BTreeSet<(Uuid, Part)>) {
        for _ in 0..6 {
            let mut busy = false;
            for (db, session) in &self.devices {
                let (report, _) = sync_now(db, &self.cfg, session);
                busy |= report.pushed > 0;
                let conflicts = db.borrow().conflicts().expect("conflicts");
                for conflict in conflicts {
                    busy = true;
                    raised.extend(conflict.parts.iter().map(|p| (conflict.record_id, p.clone())));
                    let choices: Vec<(Part, Side)> =
                        conflict.parts.iter().map(|p| (p.clone(), Side::Mine)).collect();
                    db.borrow_mut().resolve_conflict(conflict.id, &choices).expect("resolve");
                }
            }
            if !busy {
                return;
            }
        }
        panic!("sync did not settle");
    }
}

/// Live tunes as (title, mode, composer), sorted: every field the test edits.
type Fields = (String, String, String);

fn server_live(stack: &TestStack, user: &Uuid) -> Vec<Fields> {
    let rows = stack
        .sql(&format!(
            "select title || '|' || coalesce(mode, '') || '|' || coalesce(composer, '')
             from public.tune where user_id = '{user}' and not deleted"
        ))
        .expect("sql");
    let mut tunes: Vec<Fields> = rows
        .into_iter()
        .flatten()
        .map(|r| {
            let parts: Vec<&str> = r.split('|').collect();
            (parts[0].to_string(), parts[1].to_string(), parts[2].to_string())
        })
        .collect();
    tunes.sort();
    tunes
}

fn device_live(db: &RefCell<Database>) -> Vec<Fields> {
    let db = db.borrow();
    let page =
        db.list_tunes(&tunebook_core::list::ListQuery { limit: 500, ..Default::default() }).expect("list");
    let mut tunes: Vec<Fields> = page
        .rows
        .iter()
        .map(|r| {
            let t = db.get_tune(r.id).expect("get").expect("listed tune exists").fields.to_draft();
            (t.title, t.mode, t.composer)
        })
        .collect();
    tunes.sort();
    tunes
}

/// Whether a device holds this tune as deleted (as opposed to not at all).
fn deleted_here(db: &RefCell<Database>, id: Uuid) -> bool {
    db.borrow()
        .connection()
        .query_row("SELECT deleted FROM tune WHERE id = ?1", [id.to_string()], |r| r.get::<_, bool>(0))
        .unwrap_or(false)
}

fn run_case(backend: &mut Backend, rounds: &[Round]) -> Result<(), TestCaseError> {
    let cfg = config(backend.stack());
    let first = sign_up(&cfg, "prop");
    let mut devices = vec![(device(), first.clone())];
    for _ in 1..DEVICES {
        devices.push((device(), sign_in(&cfg, &first.user.email)));
    }
    let proxy = FaultProxy::start(cfg.url.trim_start_matches("http://"));
    let shared: Vec<Uuid> = (0..SHARED_TUNES)
        .map(|i| {
            devices[0]
                .0
                .borrow_mut()
                .create_tune(&TuneDraft { title: format!("Tune {i}"), ..TuneDraft::default() })
                .unwrap()
                .id
        })
        .collect();
    let world = World { cfg, proxy, devices, shared };
    world.settle(&mut BTreeSet::new());

    let mut counter = 0;
    for (r, round) in rounds.iter().enumerate() {
        // Offline work, and who did what to which shared tune.
        let mut edited: BTreeMap<(usize, usize), BTreeSet<usize>> = BTreeMap::new(); // (tune, field) -> devices
        let mut last_value: BTreeMap<(usize, usize), String> = BTreeMap::new();
        let mut deleted_by: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for op in &round.ops {
            counter += 1;
            match *op {
                Op::Edit { device, tune, field } => {
                    let db = &world.devices[device].0;
                    let Some(current) = db.borrow().get_tune(world.shared[tune]).unwrap() else {
                        // Only a tune this device holds deleted can be missing.
                        prop_assert!(
                            deleted_here(db, world.shared[tune]),
                            "round {}: tune {} vanished",
                            r,
                            tune
                        );
                        continue;
                    };
                    let value = format!("r{r}-d{device}-{counter}");
                    let mut draft = current.fields.to_draft();
                    *draft.get_mut(FIELDS[field]) = value.clone();
                    db.borrow_mut().update_tune(current.id, &draft).unwrap();
                    edited.entry((tune, field)).or_default().insert(device);
                    last_value.insert((tune, field), value);
                }
                Op::Delete { device, tune } => {
                    let db = &world.devices[device].0;
                    let deleted = db.borrow_mut().delete_tune(world.shared[tune]);
                    match deleted {
                        Ok(()) => {
                            deleted_by.entry(tune).or_default().insert(device);
                        }
                        Err(e) => prop_assert!(
                            e == tunebook_store::db::DbError::NotFound
                                && deleted_here(db, world.shared[tune]),
                            "round {}: deleting tune {} failed: {}",
                            r,
                            tune,
                            e
                        ),
                    }
                }
                Op::Create { device } => {
                    let draft =
                        TuneDraft { title: format!("New r{r}-d{device}-{counter}"), ..TuneDraft::default() };
                    world.devices[device].0.borrow_mut().create_tune(&draft).unwrap();
                }
            }
        }

        // Syncing, with faults.
        let mut raised = BTreeSet::new();
        for (i, &device) in round.order.iter().enumerate() {
            if round.restart && i == 1 {
                backend.restart();
            }
            let (db, session) = &world.devices[device];
            if round.lose_reply[device] && db.borrow().queue_stats().unwrap().pending > 0 {
                // The server applies the push, the reply never arrives: the push must say
                // "retry", and the fault must be used by it, not by a later request.
                world.proxy.then(&[Fault::DropReply]);
                let report = push_now(db, &world.proxied(), session);
                prop_assert_eq!(world.proxy.pending(), 0, "round {}: the lost reply was this push's", r);
                prop_assert!(
                    matches!(report.outcome, PushOutcome::Retry { .. }),
                    "round {}: a lost reply is retried: {:?}",
                    r,
                    report
                );
            }
            sync_now(db, &world.cfg, session);
        }
        world.settle(&mut raised);

        // Conflicts exactly where two devices changed the same thing concurrently.
        let mut expected = BTreeSet::new();
        for tune in 0..SHARED_TUNES {
            let id = world.shared[tune];
            let deleters = deleted_by.get(&tune).cloned().unwrap_or_default();
            let editors: BTreeSet<usize> =
                (0..FIELDS.len()).flat_map(|f| edited.get(&(tune, f)).cloned().unwrap_or_default()).collect();
            if !deleters.is_empty() && editors.iter().any(|e| !deleters.contains(e)) {
                expected.insert((id, Part::Deleted));
            }
            for (field, part) in FIELDS.iter().enumerate() {
                if edited.get(&(tune, field)).is_some_and(|d| d.len() >= 2) && deleters.is_empty() {
                    expected.insert((id, Part::Field(part.key().into())));
                }
            }
        }
        // With a delete in play, field questions depend on who synced first: they may
        // come, but only for fields someone edited.
        let mut possible = expected.clone();
        for tune in 0..SHARED_TUNES {
            if deleted_by.get(&tune).is_some_and(|d| !d.is_empty()) {
                for (field, part) in FIELDS.iter().enumerate() {
                    if edited.contains_key(&(tune, field)) {
                        possible.insert((world.shared[tune], Part::Field(part.key().into())));
                    }
                }
            }
        }
        prop_assert!(
            expected.is_subset(&raised),
            "round {}: missing {:?} in {:?}: {:?}",
            r,
            expected,
            raised,
            round
        );
        prop_assert!(
            raised.is_subset(&possible),
            "round {}: unexplained {:?} (possible {:?}): {:?}",
            r,
            raised,
            possible,
            round
        );

        // No accepted edit lost: a field one device changed (on a tune nobody deleted)
        // ends with that change everywhere.
        for ((tune, field), devices) in &edited {
            if devices.len() == 1 && deleted_by.get(tune).is_none_or(BTreeSet::is_empty) {
                for (db, _) in &world.devices {
                    let t = db.borrow().get_tune(world.shared[*tune]).unwrap();
                    let value = t.map(|t| t.fields.to_draft().get(FIELDS[*field]).to_string());
                    prop_assert_eq!(value.as_ref(), last_value.get(&(*tune, *field)), "round {}", r);
                }
            }
        }

        // Everyone sees exactly what the server holds.
        let server = server_live(backend.stack(), &first.user.id);
        for (i, (db, _)) in world.devices.iter().enumerate() {
            prop_assert_eq!(&device_live(db), &server, "device {} after round {}", i, r);
            prop_assert_eq!(db.borrow().queue_stats().unwrap().unsynced(), 0);
        }
    }
    Ok(())
}

#[test]
fn devices_converge_and_conflicts_are_exactly_the_concurrent_changes() {
    let backend = RefCell::new(Backend::start());
    let cases: u32 = std::env::var("TUNEBOOK_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12);
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
