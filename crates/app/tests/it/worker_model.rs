//! A model-based property test of the queue's storage on both backends: random sequences of
//! enqueue, claim, heartbeat, finish (with current or stale fencing tokens, alone or with the
//! claim of the next jobs in the same statement), time passing, promotion and sweeping run
//! against the real store and against a plain in-memory model of the rules; after every step the two must agree on every job's state, attempt and owner.
//! That checks at once that no job is lost, attempts stay bounded, a fenced (stale) finish
//! changes nothing, unique keys hold, and dead workers' jobs come back.

use herald_domain::clock::from_ms;
use herald_store::{Finish, JobState, NewJob, Outcome, Store};
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

use crate::helpers::{Backend, TestDb};

const T0: i64 = 1_750_000_000_000;
const MAX_ATTEMPTS: i64 = 3;
const TIMEOUT_MS: i64 = 30_000;
const STALE_MS: i64 = 10_000;

#[derive(Debug, Clone)]
enum Op {
    Enqueue {
        unique: Option<u8>,
        delay_s: Option<u8>,
    },
    Claim {
        worker: u8,
        n: u8,
    },
    Heartbeat {
        worker: u8,
    },
    Finish {
        worker: u8,
        pick: u8,
        outcome: u8,
        stale: bool,
        /// Jobs claimed in the same statement (`finish_and_claim`); 0: `finish_jobs`.
        claim_next: u8,
    },
    Advance {
        secs: u8,
    },
    Promote,
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (proptest::option::of(0u8..4), proptest::option::weighted(0.2, 1u8..30)).prop_map(|(unique, delay_s)| Op::Enqueue { unique, delay_s }),
        3 => (0u8..3, 1u8..4).prop_map(|(worker, n)| Op::Claim { worker, n }),
        2 => (0u8..3).prop_map(|worker| Op::Heartbeat { worker }),
        3 => (0u8..3, any::<u8>(), 0u8..3, proptest::bool::weighted(0.25), 0u8..3).prop_map(|(worker, pick, outcome, stale, claim_next)| Op::Finish { worker, pick, outcome, stale, claim_next }),
        2 => (1u8..40).prop_map(|secs| Op::Advance { secs }),
        1 => Just(Op::Promote),
        1 => Just(Op::Sweep),
    ]
}

#[derive(Debug, Clone)]
struct MJob {
    id: i64,
    state: JobState,
    attempt: i64,
    owner: Option<String>,
    fair_seq: i64,
    run_at: i64,
    lease_expires: i64,
    unique: Option<String>,
}

#[derive(Default)]
struct Model {
    jobs: Vec<MJob>,
    heartbeats: HashMap<String, i64>,
    now: i64,
}

impl Model {
    /// Claims up to `n` available jobs for `w` in fair order; their ids, sorted.
    fn claim(&mut self, w: &str, n: u8) -> Vec<i64> {
        let now = self.now;
        let mut avail: Vec<&mut MJob> = self
            .jobs
            .iter_mut()
            .filter(|j| j.state == JobState::Available)
            .collect();
        avail.sort_by_key(|j| (j.fair_seq, j.id));
        let mut expected = Vec::new();
        for j in avail.into_iter().take(usize::from(n)) {
            j.state = JobState::Running;
            j.attempt += 1;
            j.owner = Some(w.to_owned());
            j.lease_expires = now + TIMEOUT_MS;
            expected.push(j.id);
        }
        expected.sort_unstable();
        expected
    }
}

const PENDING: [JobState; 4] = [
    JobState::Available,
    JobState::Scheduled,
    JobState::Retryable,
    JobState::Running,
];

async fn all_jobs(store: &Store) -> Vec<herald_store::Job> {
    let mut v = Vec::new();
    for s in JobState::ALL {
        v.extend(store.list_jobs(s, 10_000).await.unwrap());
    }
    v.sort_by_key(|j| j.id);
    v
}

async fn step(store: &Store, m: &mut Model, op: &Op) {
    let now = from_ms(m.now);
    match op {
        Op::Enqueue { unique, delay_s } => {
            let unique = unique.map(|u| format!("key-{u}"));
            let run_at = delay_s.map(|d| m.now + i64::from(d) * 1000);
            let job = NewJob {
                max_attempts: MAX_ATTEMPTS,
                timeout: Duration::from_millis(TIMEOUT_MS as u64),
                run_at: run_at.map(from_ms),
                unique_key: unique.clone(),
                ..NewJob::new("model", "test.model", serde_json::json!({}))
            };
            let inserted = store.enqueue(&[job], now).await.unwrap();
            let exists = unique.is_some() && m.jobs.iter().any(|j| j.unique == unique);
            assert_eq!(
                inserted.len(),
                usize::from(!exists),
                "unique key {unique:?}"
            );
            if let Some(&id) = inserted.first() {
                let fair_seq = m
                    .jobs
                    .iter()
                    .filter(|j| PENDING.contains(&j.state))
                    .map(|j| j.fair_seq)
                    .max()
                    .unwrap_or(0)
                    + 1;
                let run_at = run_at.unwrap_or(m.now).max(m.now);
                let state = if run_at > m.now {
                    JobState::Scheduled
                } else {
                    JobState::Available
                };
                m.jobs.push(MJob {
                    id,
                    state,
                    attempt: 0,
                    owner: None,
                    fair_seq,
                    run_at,
                    lease_expires: 0,
                    unique,
                });
            }
        }
        Op::Claim { worker, n } => {
            let w = format!("w{worker}");
            let got: Vec<i64> = store
                .claim_jobs("model", &w, i64::from(*n), now)
                .await
                .unwrap()
                .iter()
                .map(|j| j.id)
                .collect();
            let expected = m.claim(&w, *n);
            assert_eq!(got, expected, "claim order");
        }
        Op::Heartbeat { worker } => {
            let w = format!("w{worker}");
            store.worker_heartbeat(&w, "model", now).await.unwrap();
            m.heartbeats.insert(w, m.now);
        }
        Op::Finish {
            worker,
            pick,
            outcome,
            stale,
            claim_next,
        } => {
            let w = format!("w{worker}");
            let owned: Vec<usize> = (0..m.jobs.len())
                .filter(|i| m.jobs[*i].owner.as_deref() == Some(w.as_str()))
                .collect();
            let idx = if owned.is_empty() {
                if m.jobs.is_empty() {
                    return;
                }
                usize::from(*pick) % m.jobs.len()
            } else {
                owned[usize::from(*pick) % owned.len()]
            };
            let j = &mut m.jobs[idx];
            let token = if *stale { j.attempt - 1 } else { j.attempt };
            let retry_at = m.now + 5000;
            let out = match outcome {
                0 => Outcome::Completed,
                1 => Outcome::Retry {
                    at: from_ms(retry_at),
                    error: "x".into(),
                },
                _ => Outcome::Discard { error: "y".into() },
            };
            let finish = Finish {
                id: j.id,
                attempt: token,
                outcome: out.clone(),
            };
            let (report, claimed) = if *claim_next == 0 {
                (store.finish_jobs(&[finish], now).await.unwrap(), Vec::new())
            } else {
                store
                    .finish_and_claim(&[finish], "model", &w, i64::from(*claim_next), now)
                    .await
                    .unwrap()
            };
            let applies = j.state == JobState::Running && j.attempt == token;
            assert_eq!(
                report.fenced.is_empty(),
                applies,
                "fencing of job {} (state {:?}, attempt {}, token {token})",
                j.id,
                j.state,
                j.attempt
            );
            if applies {
                j.owner = None;
                j.state = match out {
                    Outcome::Completed => JobState::Completed,
                    Outcome::Retry { .. } if j.attempt >= MAX_ATTEMPTS => JobState::Discarded,
                    Outcome::Retry { .. } => {
                        j.run_at = retry_at;
                        JobState::Retryable
                    }
                    Outcome::Discard { .. } => JobState::Discarded,
                    Outcome::Snooze { .. } => JobState::Retryable,
                };
            }
            let expected = m.claim(&w, *claim_next);
            let mut got: Vec<i64> = claimed.iter().map(|j| j.id).collect();
            got.sort_unstable();
            assert_eq!(got, expected, "jobs claimed with the finish");
        }
        Op::Advance { secs } => m.now += i64::from(*secs) * 1000,
        Op::Promote => {
            store.promote_due_jobs(now).await.unwrap();
            for j in &mut m.jobs {
                if matches!(j.state, JobState::Scheduled | JobState::Retryable) && j.run_at <= m.now
                {
                    j.state = JobState::Available;
                }
            }
        }
        Op::Sweep => {
            let stale_before = m.now - STALE_MS;
            store.sweep_jobs(now, from_ms(stale_before)).await.unwrap();
            for j in &mut m.jobs {
                let owner_alive = j
                    .owner
                    .as_ref()
                    .and_then(|o| m.heartbeats.get(o))
                    .is_some_and(|h| *h >= stale_before);
                if j.state == JobState::Running && (j.lease_expires < m.now || !owner_alive) {
                    j.owner = None;
                    j.run_at = m.now;
                    j.state = if j.attempt >= MAX_ATTEMPTS {
                        JobState::Discarded
                    } else {
                        JobState::Retryable
                    };
                }
            }
        }
    }
    // The store and the model agree on every job.
    let actual = all_jobs(store).await;
    assert_eq!(actual.len(), m.jobs.len(), "no job lost or duplicated");
    for (a, e) in actual.iter().zip(&m.jobs) {
        assert_eq!(
            (a.id, a.state, a.attempt, a.lease_owner.clone()),
            (e.id, e.state, e.attempt, e.owner.clone()),
            "after {op:?}"
        );
        assert!(a.attempt <= MAX_ATTEMPTS);
    }
}

fn run_model(backend: Backend, ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let mut m = Model {
            now: T0,
            ..Model::default()
        };
        for op in &ops {
            step(&store, &mut m, op).await;
        }
        store.close().await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_queue_matches_its_model_on_sqlite(ops in proptest::collection::vec(op(), 1..40)) {
        run_model(Backend::Sqlite, ops);
    }

    #[test]
    fn the_queue_matches_its_model_on_postgres(ops in proptest::collection::vec(op(), 1..40)) {
        run_model(Backend::Postgres, ops);
    }
}
