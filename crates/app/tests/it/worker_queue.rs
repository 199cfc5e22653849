//! The job queue and its runner, on both backends: at-least-once, retries with backoff,
//! dead letters and replay, panics and deadlines, fairness across pages, fencing and
//! graceful shutdown.

use chrono::TimeDelta;
use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_store::kinds::KindSpec;
use herald_store::{Finish, JobState, NewJob, Outcome, Store};
use herald_worker::{
    BoxFuture, Handler, JobContext, JobError, Metrics, Registry, Runner, RunnerConfig,
};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

pub(crate) const TEST: KindSpec = KindSpec {
    name: "test.record",
    queue: "test",
    max_attempts: 5,
    timeout: Duration::from_secs(5),
    backoff_base: Duration::from_millis(50),
    backoff_cap: Duration::from_millis(200),
};

/// (job id, attempt, page id) of one run.
pub(crate) type Run = (i64, i64, Option<String>);

/// Records what it ran; fails, panics or sleeps as the payload says.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    pub(crate) runs: Arc<Mutex<Vec<Run>>>,
}

impl Handler for Recorder {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p = &ctx.job.payload;
            self.runs
                .lock()
                .unwrap()
                .push((ctx.job.id, ctx.job.attempt, ctx.job.page_id.clone()));
            if let Some(ms) = p["sleep_ms"].as_u64() {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let fail_until = p["fail_until_attempt"].as_i64().unwrap_or(0);
            if ctx.job.attempt <= fail_until {
                return Err(JobError::Retryable {
                    error: format!("failing attempt {}", ctx.job.attempt),
                    retry_after: p["retry_after_ms"].as_u64().map(Duration::from_millis),
                });
            }
            if p["permanent"] == true {
                return Err(JobError::permanent("bad request"));
            }
            if p["panic"] == true && ctx.job.attempt == 1 {
                panic!("handler bug");
            }
            Ok(())
        })
    }
}

pub(crate) struct Worker {
    store: Store,
    pub(crate) recorder: Recorder,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub(crate) fn config() -> RunnerConfig {
    RunnerConfig {
        poll_interval: Duration::from_millis(100),
        promote_interval: Duration::from_millis(20),
        heartbeat_interval: Duration::from_millis(200),
        stale_after: Duration::from_secs(2),
        sweep_interval: Duration::from_millis(100),
        default_concurrency: 4,
        shutdown_grace: Duration::from_millis(300),
        ..RunnerConfig::default()
    }
}

pub(crate) async fn start(store: &Store, config: RunnerConfig) -> Worker {
    let recorder = Recorder::default();
    let mut registry = Registry::default();
    registry.register(TEST, recorder.clone());
    let runner = Runner::new(
        store.clone(),
        Arc::new(SystemClock),
        registry,
        config,
        Arc::new(Metrics::new()),
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn(runner.run(stop.clone()));
    Worker {
        store: store.clone(),
        recorder,
        stop,
        task,
    }
}

impl Worker {
    pub(crate) async fn stop(self) -> Recorder {
        self.stop.cancel();
        self.task.await.unwrap();
        self.recorder
    }

    async fn wait_state(&self, id: i64, state: JobState) -> herald_store::Job {
        for _ in 0..200 {
            let j = self.store.get_job(id).await.unwrap().unwrap();
            if j.state == state {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "job {id} never reached {state:?}: {:?}",
            self.store.get_job(id).await.unwrap()
        );
    }
}

async fn enqueue(store: &Store, payload: serde_json::Value) -> i64 {
    let ids = store
        .enqueue(&[TEST.raw_job(None, payload)], SystemClock.now())
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    ids[0]
}

async fn a_job_runs_once_and_completes(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    let id = enqueue(&store, json!({})).await;
    let j = w.wait_state(id, JobState::Completed).await;
    assert_eq!(j.attempt, 1);
    assert!(j.finished_at.is_some());
    let r = w.stop().await;
    assert_eq!(r.runs.lock().unwrap().len(), 1);
}

async fn unique_keys_enqueue_once(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let job = NewJob {
        unique_key: Some("event-1:subscriber-7".into()),
        ..TEST.raw_job(None, json!({}))
    };
    assert_eq!(
        store
            .enqueue(&[job.clone(), job.clone()], SystemClock.now())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .enqueue(&[job], SystemClock.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .list_jobs(JobState::Available, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn failures_retry_with_backoff_then_succeed(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    let id = enqueue(&store, json!({"fail_until_attempt": 2})).await;
    let j = w.wait_state(id, JobState::Completed).await;
    assert_eq!(j.attempt, 3);
    let r = w.stop().await;
    let attempts: Vec<i64> = r.runs.lock().unwrap().iter().map(|x| x.1).collect();
    assert_eq!(attempts, [1, 2, 3]);
}

async fn retry_after_is_honoured(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    let before = SystemClock.now();
    let id = enqueue(
        &store,
        json!({"fail_until_attempt": 1, "retry_after_ms": 120_000}),
    )
    .await;
    let j = w.wait_state(id, JobState::Retryable).await;
    assert!(
        j.run_at - before >= TimeDelta::seconds(119),
        "next attempt at {:?}, asked for 120 s",
        j.run_at - before
    );
    assert_eq!(j.last_error.as_deref(), Some("failing attempt 1"));
    w.stop().await;
}

async fn permanent_failures_are_dead_letters_that_can_be_replayed(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    let id = enqueue(&store, json!({"permanent": true})).await;
    let dead = w.wait_state(id, JobState::Discarded).await;
    assert_eq!(dead.attempt, 1, "a permanent error is not retried");
    assert_eq!(
        store.list_jobs(JobState::Discarded, 10).await.unwrap()[0].id,
        id
    );
    store
        .replay_job(id, &Actor::cli(), SystemClock.now())
        .await
        .unwrap();
    // It fails permanently again, with the same id: replays keep the job's identity.
    let again = w.wait_state(id, JobState::Discarded).await;
    assert_eq!(again.attempt, 1);
    let r = w.stop().await;
    assert_eq!(
        r.runs.lock().unwrap().iter().filter(|x| x.0 == id).count(),
        2
    );
}

async fn attempts_are_bounded(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    let id = enqueue(&store, json!({"fail_until_attempt": 99})).await;
    let j = w.wait_state(id, JobState::Discarded).await;
    assert_eq!(j.attempt, TEST.max_attempts);
    w.stop().await;
}

async fn a_panic_or_a_hang_is_a_failed_attempt_not_a_dead_worker(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    let panicky = enqueue(&store, json!({"panic": true})).await;
    w.wait_state(panicky, JobState::Completed).await;
    let job = NewJob {
        timeout: Duration::from_millis(200),
        ..TEST.raw_job(None, json!({"sleep_ms": 60_000}))
    };
    let hung = store.enqueue(&[job], SystemClock.now()).await.unwrap()[0];
    let j = w.wait_state(hung, JobState::Retryable).await;
    assert!(j.last_error.unwrap().contains("deadline"));
    let ok = enqueue(&store, json!({})).await;
    w.wait_state(ok, JobState::Completed).await;
    w.stop().await;
}

/// Page A's `a` jobs queued before page B's 5, drained by one slot, `batch` 1, with
/// `ack_batch`; the runs in order, once all ran (or the wait ran out).
pub(crate) async fn drain_two_pages(b: Backend, a: usize, ack_batch: usize) -> Vec<Run> {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let now = SystemClock.now();
    let aj: Vec<NewJob> = (0..a)
        .map(|_| TEST.raw_job(Some(&PageId::from("pageaaaaaaaa")), json!({})))
        .collect();
    store.enqueue(&aj, now).await.unwrap();
    let bj: Vec<NewJob> = (0..5)
        .map(|_| TEST.raw_job(Some(&PageId::from("pagebbbbbbbb")), json!({})))
        .collect();
    store.enqueue(&bj, now).await.unwrap();
    let w = start(
        &store,
        RunnerConfig {
            default_concurrency: 1,
            batch: 1,
            ack_batch,
            ..config()
        },
    )
    .await;
    for _ in 0..400 {
        if store
            .list_jobs(JobState::Completed, 1000)
            .await
            .unwrap()
            .len()
            >= a + 5
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let r = w.stop().await;
    r.runs.lock().unwrap().clone()
}

/// Page B's jobs ran among the first dozen, interleaved with A's.
pub(crate) fn assert_page_b_served_early(runs: &[Run]) {
    let last_b = runs
        .iter()
        .rposition(|x| x.2.as_deref() == Some("pagebbbbbbbb"))
        .unwrap();
    assert!(
        last_b < 12,
        "page B's last job ran at position {last_b} of {}",
        runs.len()
    );
}

async fn one_pages_backlog_does_not_starve_another(b: Backend) {
    let runs = drain_two_pages(b, 400, config().ack_batch).await;
    assert_eq!(runs.len(), 405);
    assert_page_b_served_early(&runs);
}

async fn a_lost_lease_cannot_complete_the_job(b: Backend) {
    // Arrange: worker w1 claims a job, then goes silent; the sweeper requeues it and w2
    // claims it.
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let t0 = SystemClock.now();
    store
        .enqueue(&[TEST.raw_job(None, json!({}))], t0)
        .await
        .unwrap();
    store.worker_heartbeat("w1", "h", t0).await.unwrap();
    let claimed = store.claim_jobs("test", "w1", 1, t0).await.unwrap();
    let id = claimed[0].id;
    let t1 = t0 + TimeDelta::seconds(30);
    store.worker_heartbeat("w2", "h", t1).await.unwrap();
    assert_eq!(
        store
            .sweep_jobs(t1, t1 - TimeDelta::seconds(10))
            .await
            .unwrap(),
        (1, 0)
    );
    store.promote_due_jobs(t1).await.unwrap();
    let reclaimed = store.claim_jobs("test", "w2", 1, t1).await.unwrap();
    assert_eq!((reclaimed[0].id, reclaimed[0].attempt), (id, 2));
    // Act: w1 wakes up and reports success with its old attempt.
    let late = store
        .finish_jobs(
            &[Finish {
                id,
                attempt: 1,
                outcome: Outcome::Completed,
            }],
            t1,
        )
        .await
        .unwrap();
    // Assert
    assert_eq!(late.fenced, [id]);
    assert_eq!(
        store.get_job(id).await.unwrap().unwrap().state,
        JobState::Running
    );
    let ok = store
        .finish_jobs(
            &[Finish {
                id,
                attempt: 2,
                outcome: Outcome::Completed,
            }],
            t1,
        )
        .await
        .unwrap();
    assert_eq!(ok.applied, 1);
}

async fn shutdown_hands_unfinished_jobs_back(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let w = start(&store, config()).await;
    // A job that would run for an hour (its attempt's deadline is 5 s): a stop that waited
    // for it, or for its deadline, would find its attempt spent, not handed back.
    let id = enqueue(&store, json!({"sleep_ms": 3_600_000})).await;
    w.wait_state(id, JobState::Running).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(60), w.stop())
        .await
        .expect("the stop waited for the running job");
    crate::helpers::figure("worker_shutdown", started.elapsed());
    let j = store.get_job(id).await.unwrap().unwrap();
    assert_eq!(
        (j.state, j.attempt),
        (JobState::Available, 0),
        "handed back without spending the attempt"
    );
    assert!(
        store.worker_heartbeats().await.unwrap().is_empty(),
        "the worker left the list"
    );
}

both_backends!(
    a_job_runs_once_and_completes,
    unique_keys_enqueue_once,
    failures_retry_with_backoff_then_succeed,
    retry_after_is_honoured,
    permanent_failures_are_dead_letters_that_can_be_replayed,
    attempts_are_bounded,
    a_panic_or_a_hang_is_a_failed_attempt_not_a_dead_worker,
    one_pages_backlog_does_not_starve_another,
    a_lost_lease_cannot_complete_the_job,
    shutdown_hands_unfinished_jobs_back,
);

async fn dead_letters_are_listed_and_replayed_over_the_api_per_page(b: Backend) {
    // Arrange: a dead letter on the app's page and one on another page.
    let app = crate::helpers::TestApp::spawn(b).await;
    let other = app.new_page("other").await;
    let now = SystemClock.now();
    for page in [&app.page.id, &other.id] {
        let job = NewJob {
            queue: "deadq".into(),
            ..TEST.raw_job(Some(page), json!({"to": page}))
        };
        app.store.enqueue(&[job], now).await.unwrap();
        let c = app.store.claim_jobs("deadq", "w", 1, now).await.unwrap();
        app.store
            .finish_jobs(
                &[Finish {
                    id: c[0].id,
                    attempt: 1,
                    outcome: Outcome::Discard {
                        error: "410 Gone".into(),
                    },
                }],
                now,
            )
            .await
            .unwrap();
    }
    // Act and assert: the page's key sees only its page's dead letter.
    let mine = app.get("/v1/jobs").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["page_id"], app.page.id.as_str());
    assert_eq!(mine[0]["last_error"], "410 Gone");
    let id = mine[0]["id"].as_i64().unwrap();
    let theirs = app
        .store
        .list_jobs(JobState::Discarded, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id != id)
        .unwrap();
    assert_eq!(
        app.get(&format!("/v1/jobs/{}", theirs.id)).await.status,
        reqwest::StatusCode::NOT_FOUND
    );
    let ro = app
        .new_key(Some(std::slice::from_ref(&app.page.id)), true)
        .await;
    let r = app
        .send_as(
            &ro,
            reqwest::Method::POST,
            &format!("/v1/jobs/{id}/replay"),
            None,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::FORBIDDEN);
    let r = app.post(&format!("/v1/jobs/{id}/replay"), &json!({})).await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["state"], "available");
    assert_eq!(r.json()["attempt"], 0);
    assert_eq!(
        app.get("/v1/jobs?state=bogus").await.status,
        reqwest::StatusCode::BAD_REQUEST
    );
    let all = app.new_key(None, true).await;
    let every = app
        .send_as(&all, reqwest::Method::GET, "/v1/jobs", None)
        .await
        .json();
    assert_eq!(
        every.as_array().unwrap().len(),
        1,
        "the replayed one left the dead letters"
    );
}

both_backends!(dead_letters_are_listed_and_replayed_over_the_api_per_page);

/// PostgreSQL: a commit that enqueues jobs tells the other nodes which queues it filled, so
/// their workers of other queues are not woken to claim nothing (each wake is a claiming
/// statement per worker).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_another_node_wakes_only_the_queues_it_filled() {
    // Arrange: node B relays job notifications; its workers wait on two queues
    let db = TestDb::new(Backend::Postgres).await;
    let a = db.store().await;
    let b = db.store().await;
    let stop = CancellationToken::new();
    let relay = {
        let (b, stop) = (b.clone(), stop.clone());
        tokio::spawn(async move { b.relay_job_notifications(stop.cancelled_owned()).await })
    };
    let (filled, other) = (b.jobs_signal("filled"), b.jobs_signal("other"));
    // Act: node A commits a job of one queue, until B's relay (listening once it connects)
    // has passed a notification on
    let mut woken = false;
    for _ in 0..50 {
        let (f, o) = (filled.notified(), other.notified());
        tokio::pin!(f, o);
        f.as_mut().enable();
        o.as_mut().enable();
        a.enqueue(
            &[NewJob::new("filled", "test.record", json!({}))],
            SystemClock.now(),
        )
        .await
        .unwrap();
        if tokio::time::timeout(Duration::from_millis(200), &mut f)
            .await
            .is_ok()
        {
            // Assert: the relay woke the queue it was told of, and in the same call would
            // have woken the other queue's workers too
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(
                std::future::Future::poll(o.as_mut(), &mut cx).is_pending(),
                "the workers of a queue nobody filled were woken"
            );
            woken = true;
            break;
        }
    }
    assert!(woken, "node B never heard of node A's job");
    stop.cancel();
    relay.await.unwrap();
}
