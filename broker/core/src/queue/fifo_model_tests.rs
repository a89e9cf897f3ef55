//! Property test: a FIFO queue behaves like a small reference model over random sequences of
//! send / receive / delete / visibility change / time advance / reopen operations.
//!
//! The model is the documented behaviour written as plainly as possible (linear scans, no
//! indexes): deduplication inside a five-minute window per scope, strict order per group, a
//! group served only when none of its messages is in flight, groups served oldest head first,
//! and a receive draining one group in order before it moves to the next. Every answer of the
//! real queue (ids, bodies, handles' effects, errors, counts) must match the model's.
//!
//! Sequences come from a seeded generator; a failure prints the seed and the step so it can be
//! replayed with `SLUICE_FIFO_SEED=<seed>`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sluice_storage::{Durability, Store, StoreOptions};

use super::message::NewMessage;
use super::*;

/// SplitMix64: tiny, seedable, good enough to drive operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct ModelMsg {
    id: String,
    group: String,
    body: String,
    visible_at: u64,
    receive_count: u32,
    /// Which receive issued the newest handle (matches handles the test holds).
    handle_gen: u64,
    deleted: bool,
}

#[derive(Debug, Default)]
struct Model {
    now: u64,
    msgs: Vec<ModelMsg>,
    /// (scope, dedup id) → (expires, index into msgs)
    window: HashMap<(String, String), (u64, usize)>,
    per_group_scope: bool,
}

const WINDOW: u64 = fifo::DEDUPLICATION_WINDOW_MS;

impl Model {
    fn in_flight(&self, m: &ModelMsg) -> bool {
        !m.deleted && m.visible_at > self.now
    }

    /// Some(index of original) for a duplicate, None for a new message.
    fn send(&mut self, group: &str, dedup: &str) -> Option<usize> {
        let scope = if self.per_group_scope {
            group.to_string()
        } else {
            String::new()
        };
        match self.window.get(&(scope.clone(), dedup.to_string())) {
            Some((expires, idx)) if *expires > self.now => Some(*idx),
            _ => {
                self.window
                    .insert((scope, dedup.to_string()), (self.now + WINDOW, self.msgs.len()));
                None
            }
        }
    }

    /// Indexes of the messages a receive returns, updating them as received.
    fn receive(&mut self, max: usize, vt_ms: u64, generation: u64) -> Vec<usize> {
        let mut groups: Vec<(usize, String)> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (i, m) in self.msgs.iter().enumerate() {
            if m.deleted || seen.contains(&m.group.as_str()) {
                continue;
            }
            seen.push(&m.group);
            let locked = self.msgs.iter().any(|o| o.group == m.group && self.in_flight(o));
            if !locked {
                groups.push((i, m.group.clone()));
            }
        }
        let mut out = Vec::new();
        for (_, group) in groups {
            for i in 0..self.msgs.len() {
                if out.len() == max {
                    break;
                }
                let m = &self.msgs[i];
                if m.deleted || m.group != group {
                    continue;
                }
                out.push(i);
            }
            if out.len() == max {
                break;
            }
        }
        for &i in &out {
            let m = &mut self.msgs[i];
            m.receive_count += 1;
            m.visible_at = self.now + vt_ms;
            m.handle_gen = generation;
        }
        out
    }

    fn counts(&self) -> (u64, u64) {
        let live = self.msgs.iter().filter(|m| !m.deleted);
        let in_flight = live.clone().filter(|m| self.in_flight(m)).count() as u64;
        (live.count() as u64 - in_flight, in_flight)
    }
}

/// A receipt handle the test holds: which message and which receive issued it.
struct Held {
    handle: String,
    msg: usize,
    generation: u64,
}

fn open(dir: &std::path::Path, clock: Clock, hot_messages: usize) -> Queues {
    let store = Store::open(
        dir,
        StoreOptions {
            durability: Durability::Process,
        },
    )
    .expect("open store");
    Queues::open_with(Arc::new(store), clock, QueueOptions { hot_messages }).expect("open queues")
}

async fn counts(queues: &Queues, q: &QueueKey) -> (u64, u64) {
    let got = queues
        .get_attributes(
            q,
            &[
                "ApproximateNumberOfMessages".to_string(),
                "ApproximateNumberOfMessagesNotVisible".to_string(),
            ],
        )
        .expect("attributes");
    (got[0].1.parse().expect("number"), got[1].1.parse().expect("number"))
}

async fn run_seed(seed: u64, steps: usize, hot_messages: usize) {
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::new();
    let mut queues = open(dir.path(), clock, hot_messages);
    let mut uncounted = false;
    let q = QueueKey::new("000000000000", "us-east-1", "model.fifo");
    let per_group_scope = rng.below(2) == 0;
    let mut attributes: BTreeMap<String, String> = BTreeMap::new();
    attributes.insert("FifoQueue".into(), "true".into());
    if per_group_scope {
        attributes.insert("DeduplicationScope".into(), "messageGroup".into());
    }
    queues.create_queue(&q, &attributes, &BTreeMap::new()).expect("create");
    let mut model = Model {
        per_group_scope,
        ..Model::default()
    };
    let mut held: Vec<Held> = Vec::new();
    let mut generation = 0u64;
    let mut sent = 0u64;

    for step in 0..steps {
        let ctx = format!("seed {seed} step {step} hot {hot_messages}");
        match rng.below(100) {
            0..=34 => {
                let group = format!("g{}", rng.below(4));
                let dedup = format!("d{}", rng.below(12));
                sent += 1;
                let body = format!("m{sent}");
                let msg = NewMessage {
                    body: body.clone(),
                    sender_id: "000000000000".into(),
                    group_id: Some(group.clone()),
                    deduplication_id: Some(dedup.clone()),
                    ..NewMessage::default()
                };
                let answer = queues
                    .send(&q, vec![msg])
                    .expect("send")
                    .remove(0)
                    .unwrap_or_else(|e| panic!("{ctx}: send failed: {e}"));
                match model.send(&group, &dedup) {
                    Some(original) => assert_eq!(answer.message_id, model.msgs[original].id, "{ctx}: duplicate"),
                    None => model.msgs.push(ModelMsg {
                        id: answer.message_id,
                        group,
                        body,
                        visible_at: 0,
                        receive_count: 0,
                        handle_gen: 0,
                        deleted: false,
                    }),
                }
            }
            35..=59 => {
                let max = 1 + rng.below(10) as u32;
                let vt = rng.below(4) as u32;
                generation += 1;
                let got = queues
                    .receive(
                        &q,
                        ReceiveRequest {
                            max_messages: max,
                            visibility_timeout: Some(vt),
                            wait_seconds: Some(0),
                            attempt_id: None,
                        },
                    )
                    .await
                    .expect("receive");
                let want = model.receive(max as usize, vt as u64 * 1000, generation);
                let got_bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
                let want_bodies: Vec<&str> = want.iter().map(|&i| model.msgs[i].body.as_str()).collect();
                assert_eq!(got_bodies, want_bodies, "{ctx}: receive {max} vt {vt}");
                for (m, &i) in got.iter().zip(&want) {
                    assert_eq!(m.receive_count, model.msgs[i].receive_count, "{ctx}: receive count");
                    held.push(Held {
                        handle: m.receipt_handle.clone(),
                        msg: i,
                        generation,
                    });
                }
            }
            60..=74 if !held.is_empty() => {
                let h = &held[rng.below(held.len() as u64) as usize];
                let result = queues
                    .delete_messages(&q, std::slice::from_ref(&h.handle))
                    .expect("delete");
                assert!(result[0].is_ok(), "{ctx}: delete answers success for any issued handle");
                let m = &mut model.msgs[h.msg];
                if m.handle_gen == h.generation {
                    m.deleted = true;
                }
            }
            75..=84 if !held.is_empty() => {
                let h = &held[rng.below(held.len() as u64) as usize];
                let secs = rng.below(4) as u32;
                let change = VisibilityChange {
                    receipt_handle: h.handle.clone(),
                    timeout_seconds: secs,
                };
                let result = queues.change_visibility(&q, &[change]).expect("change")[0].is_ok();
                let now = model.now;
                let m = &mut model.msgs[h.msg];
                let want = !m.deleted && m.handle_gen == h.generation && m.visible_at > now;
                if want {
                    m.visible_at = now + secs as u64 * 1000;
                }
                assert_eq!(result, want, "{ctx}: change visibility to {secs}");
            }
            85..=97 => {
                let ms = rng.below(4000);
                tokio::time::advance(Duration::from_millis(ms)).await;
                model.now += ms;
                if rng.below(4) == 0 {
                    queues.sweep_expired().expect("sweep");
                }
            }
            98..=99 => {
                drop(queues);
                queues = open(dir.path(), clock, hot_messages);
                uncounted = true;
            }
            _ => {}
        }
        // The background count of a reopened backlog runs at a random later step; until then
        // the visible count may only be too high (an estimate), the in-flight one is exact.
        if uncounted && rng.below(3) == 0 {
            queues.count_cold_tails().expect("count");
            uncounted = false;
        }
        let (got, want) = (counts(&queues, &q).await, model.counts());
        if uncounted {
            assert!(
                got.0 >= want.0 && got.1 == want.1,
                "{ctx}: estimated counts {got:?} {want:?}"
            );
        } else {
            assert_eq!(got, want, "{ctx}: counts");
        }
    }
}

/// Seeds 1 to 40, or only `SLUICE_FIFO_SEED` when it is set.
fn seeds() -> Vec<u64> {
    match std::env::var("SLUICE_FIFO_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (1..=40).collect(),
    }
}

#[tokio::test(start_paused = true)]
async fn fifo_queue_matches_the_reference_model() {
    for seed in seeds() {
        run_seed(seed, 400, usize::MAX).await;
    }
}

/// The same model with a hot part of 12 to 15 messages, so most runs keep part of the queue
/// in a cold tail (see `index`): at most 48 distinct messages live at once (12 deduplication
/// ids per scope, four groups), within the four-times limit forced refills may reach, so the
/// tail must be invisible in every answer and count.
#[tokio::test(start_paused = true)]
async fn fifo_queue_with_a_cold_tail_matches_the_reference_model() {
    for seed in seeds() {
        run_seed(seed, 400, 12 + (seed % 4) as usize).await;
    }
}
