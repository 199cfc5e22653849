//! The worker tier as real processes: kill -9 at random moments loses nothing; a stopped or
//! never-claiming worker tier is noticed within a minute (Statuspage's 2017 incident); the
//! canary passes on a healthy deployment and names the broken link otherwise; reconciler
//! leadership moves when its leader dies.

use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_store::kinds::CANARY;
use herald_store::{JobState, NewJob, Store};
use rand::RngExt;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};
use crate::process::{Herald, herald_cli};

const FAST_WORKER: &[(&str, &str)] = &[
    ("HERALD_WORKER_HEARTBEAT_MS", "300"),
    ("HERALD_WORKER_STALE_MS", "1500"),
    ("HERALD_WORKER_POLL_MS", "200"),
];

async fn count(store: &Store, state: JobState) -> usize {
    store.list_jobs(state, 100_000).await.unwrap().len()
}

async fn kill_9_at_random_moments_loses_no_job(b: Backend) {
    // Arrange: 10,000 canary jobs that each take 20 ms, and a worker process.
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let nonce = herald_domain::id::generate();
    let jobs: Vec<NewJob> = (0..10_000)
        .map(|i| {
            CANARY.raw_job(
                Some(&PageId::from(format!("page{:08}", i % 10))),
                json!({"nonce": nonce, "sleep_ms": 20}),
            )
        })
        .collect();
    store.enqueue(&jobs, SystemClock.now()).await.unwrap();
    let mut worker = Herald::start(&db.url, "worker", FAST_WORKER).await;
    // Act: kill it 20 times at random moments, restarting it each time.
    let mut kills: Vec<(chrono::DateTime<chrono::Utc>, Vec<i64>)> = Vec::new();
    for _ in 0..20 {
        let wait = rand::rng().random_range(150..600);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let running: Vec<i64> = store
            .list_jobs(JobState::Running, 1000)
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        worker.kill9();
        kills.push((SystemClock.now(), running));
        worker = Herald::start(&db.url, "worker", FAST_WORKER).await;
    }
    let started = Instant::now();
    while count(&store, JobState::Completed).await < 10_000 {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "jobs left: {:?}",
            store.queue_stats().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(worker);
    // Assert: every job ran at least once; duplicates are bounded by what was in flight at
    // the kills; a killed worker's jobs ran again within 60 s.
    let runs = store.canary_runs(&nonce).await.unwrap();
    let mut by_job: HashMap<i64, Vec<chrono::DateTime<chrono::Utc>>> = HashMap::new();
    for (id, _, at) in &runs {
        by_job.entry(*id).or_default().push(*at);
    }
    assert_eq!(by_job.len(), 10_000, "every job ran");
    let in_flight: usize = kills.iter().map(|k| k.1.len()).sum();
    let duplicates = runs.len() - by_job.len();
    assert!(
        duplicates <= in_flight,
        "{duplicates} duplicate runs > {in_flight} jobs in flight at the kills"
    );
    let killed_jobs: HashSet<i64> = kills.iter().flat_map(|k| k.1.iter().copied()).collect();
    assert!(
        !killed_jobs.is_empty(),
        "no kill caught a job in flight; the test proved nothing"
    );
    for (at, ids) in &kills {
        for id in ids {
            let rerun = by_job[id].iter().filter(|t| *t > at).min();
            if let Some(t) = rerun {
                assert!(
                    *t - *at <= chrono::TimeDelta::seconds(60),
                    "job {id} re-ran {:?} after the kill",
                    *t - *at
                );
            }
            // No run after the kill means the run before it was acknowledged in time.
        }
    }
    eprintln!(
        "kill -9 x20: 10000 jobs, {} runs, {duplicates} duplicates, {in_flight} in flight at kills",
        runs.len()
    );
}

async fn the_canary_passes_on_a_healthy_deployment(b: Backend) {
    let db = TestDb::new(b).await;
    let _store = db.store().await;
    let node = Herald::start(&db.url, "all", &[]).await;
    let (ok, out, err, _) = herald_cli(
        &db.url,
        &["verify", "--url", &node.base, "--timeout", "20s"],
    )
    .await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out.trim(),
        "ok: web tier, public page, worker tier, readiness"
    );
    let (status, body) = node.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (status, metrics) = node.get("/metrics").await;
    assert_eq!(status, 200);
    for family in [
        "herald_jobs_total",
        "herald_queue_depth",
        "herald_http_requests_total",
        "herald_worker_heartbeat_age_seconds",
        "herald_job_duration_seconds_bucket",
    ] {
        assert!(
            metrics.contains(family),
            "{family} missing from /metrics:\n{metrics}"
        );
    }
    assert!(
        metrics
            .contains(r#"herald_jobs_total{queue="system",kind="canary",outcome="completed"} 1"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_tier_fails_the_canary_while_the_web_tier_keeps_serving() {
    // Arrange: Statuspage's 2017 shape: a web node and a worker node on PostgreSQL.
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let web = Herald::start(&db.url, "web", &[]).await;
    let worker = Herald::start(&db.url, "worker", FAST_WORKER).await;
    let (ok, out, err, _) =
        herald_cli(&db.url, &["verify", "--url", &web.base, "--timeout", "20s"]).await;
    assert!(ok, "healthy first: {out}{err}");
    // Act: the worker tier stops.
    worker.signal("STOP");
    let (ok, out, err, took) =
        herald_cli(&db.url, &["verify", "--url", &web.base, "--timeout", "20s"]).await;
    // Assert: the canary fails within a minute and names the worker tier...
    assert!(!ok, "verify passed with the workers stopped: {out}");
    assert!(err.contains("verify failed: worker tier"), "{err}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    // ...while the web tier still takes and shows writes at once.
    let page = store
        .find_page_by_slug("herald-canary")
        .await
        .unwrap()
        .unwrap();
    let key = herald_domain::apikey::generate();
    store
        .create_key(
            "t",
            &key,
            false,
            None,
            &herald_domain::actor::Actor::cli(),
            SystemClock.now(),
        )
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/v1/pages/{}/incidents", web.base, page.id))
        .header("Authorization", format!("OAuth {}", key.secret))
        .json(&json!({"incident": {"name": "Still here", "body": "posted while workers are stopped"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen: serde_json::Value = client
        .get(format!("{}/v1/pages/{}/incidents/{id}", web.base, page.id))
        .header("Authorization", format!("OAuth {}", key.secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["incident_updates"][0]["body"],
        "posted while workers are stopped"
    );
    // The tier comes back: the canary passes again.
    worker.signal("CONT");
    let (ok, out, err, _) =
        herald_cli(&db.url, &["verify", "--url", &web.base, "--timeout", "30s"]).await;
    assert!(ok, "after SIGCONT: {out}{err}");
}

async fn a_worker_that_never_claims_is_unready_within_a_minute(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let healthy = Herald::start(&db.url, "worker", &[]).await;
    let started = Instant::now();
    while healthy.get("/readyz").await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a healthy worker is not ready: {}",
            healthy.get("/readyz").await.1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(healthy);
    let broken = Herald::start(
        &db.url,
        "worker",
        &[("HERALD_FAULT", "worker_never_claims")],
    )
    .await;
    let started = Instant::now();
    let body = loop {
        let (status, body) = broken.get("/readyz").await;
        if status == 503 {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still ready after 60 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "not_ready");
    assert_eq!(v["checks"]["worker_loop"]["ok"], false, "{body}");
    assert_eq!(v["checks"]["database"]["ok"], true, "{body}");
    // And a job waits: enqueued 61 s ago (the enqueue's time is an input), it turns the
    // backlog check red too, since no worker here claims it.
    store
        .enqueue(
            &[CANARY.raw_job(None, json!({"nonce": "never"}))],
            SystemClock.now() - chrono::TimeDelta::seconds(61),
        )
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let (status, body) = broken.get("/readyz").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["checks"]["job_backlog"]["ok"] == false {
            assert_eq!(status, 503, "{body}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the backlog check stayed green: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.canary_runs("never").await.unwrap().len(), 0);
}

/// The `herald` package's features as cargo resolves them for `edges` (`normal`: what
/// `cargo build`, `cargo run` and `cargo install` make; `normal,dev`: the test build).
fn herald_features(edges: &str) -> String {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "herald",
            "--locked",
            "--offline",
            "--prefix",
            "none",
        ])
        .args(["-e", &format!("{edges},features"), "-i", "herald"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn only_the_test_build_obeys_herald_fault() {
    // The integration tests start a `herald` that obeys HERALD_FAULT (the never-claims test
    // above relies on it)...
    const { assert!(herald::config::FAULTS_OBEYED) };
    assert!(herald_features("normal,dev").contains("herald feature \"fault-injection\""));
    // ...and the build anyone ships does not get the feature, so it ignores the variable
    // (config.rs's unit test shows a build without it injects nothing).
    let shipped = herald_features("normal");
    assert!(shipped.contains("herald v"), "{shipped}");
    assert!(!shipped.contains("fault-injection"), "{shipped}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_leadership_moves_when_the_leader_dies() {
    // Arrange: two worker nodes on one PostgreSQL database.
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let a = Herald::start(&db.url, "worker", &[("HERALD_WORKER_ID", "node-a")]).await;
    let b = Herald::start(&db.url, "worker", &[("HERALD_WORKER_ID", "node-b")]).await;
    let started = Instant::now();
    let first = loop {
        let leader = leader_of(&store, "prune-jobs").await;
        if !leader.is_empty() {
            break leader;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no reconciler ran"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Act: kill the leader.
    let (victim, survivor, survivor_id) = if first == "node-a" {
        (a, b, "node-b")
    } else {
        (b, a, "node-a")
    };
    victim.kill9();
    // Assert: the other node leads within 30 s.
    let killed_at = Instant::now();
    while leader_of(&store, "prune-jobs").await != survivor_id {
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "no takeover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(survivor);
}

/// The node that last ran reconciler `name` (empty if none has).
async fn leader_of(store: &Store, name: &str) -> String {
    store
        .reconciler_runs()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| r.node)
        .unwrap_or_default()
}

both_backends!(
    kill_9_at_random_moments_loses_no_job,
    the_canary_passes_on_a_healthy_deployment,
    a_worker_that_never_claims_is_unready_within_a_minute,
);
