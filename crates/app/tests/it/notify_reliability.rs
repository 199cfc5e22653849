//! Webhook delivery under failure, on real loopback receivers and a real store, with time
//! compressed by a fake clock (RELIABILITY.md rows 22 and 23):
//!
//! - a hung endpoint delays none of 100 healthy ones (per-destination concurrency), pauses
//!   after repeated failures and is quarantined with a notice to its owner;
//! - a 500-forever endpoint is retried on the configured schedule (backoff with jitter, then
//!   the circuit breaker's pauses), quarantined, its owner told; `Retry-After` is honoured;
//!   the dead letter replays with the same `webhook-id`, a fresh timestamp and a valid
//!   signature.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, ManualClock, SystemClock};
use herald_domain::id::SubscriberId;
use herald_domain::subscriber::{NewSubscriber, SubscriberInput, SubscriberState};
use herald_notify::deliver::{QUARANTINE_AFTER, pause_for};
use herald_store::kinds::DELIVER_HTTP;
use herald_store::{Job, JobState, Store};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::notify_http::verify;
use crate::notify_support::{Hit, SmtpSink};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The worker must never look dead when the clock jumps hours ahead.
const STALE_MS: u64 = 30 * 24 * 3600 * 1000;

async fn subscribe(app: &TestApp, endpoint: String, email: &str) -> SubscriberId {
    let input = SubscriberInput {
        endpoint: Some(endpoint),
        email: Some(email.to_owned()),
        ..SubscriberInput::default()
    };
    let (s, _) = app
        .store
        .create_subscriber(
            &app.page.id,
            &NewSubscriber::parse(&input, true).unwrap(),
            Some(SECRET),
            false,
            &Actor::cli(),
            SystemClock.now(),
        )
        .await
        .unwrap();
    s.id
}

async fn jobs_in(store: &Store, states: &[JobState]) -> Vec<Job> {
    let mut all = Vec::new();
    for s in states {
        all.extend(store.list_jobs(*s, 10_000).await.unwrap());
    }
    all
}

/// A job's place in the queue: id, state, attempt, due time.
type Place = (i64, JobState, i64, DateTime<Utc>);

/// Waits until no job is running or due at the fake clock's time. The states are read one
/// query at a time, so a job moving between them could slip through one look: the queue is
/// quiet only when two looks 100 ms apart see the same unchanged, quiet set of jobs.
async fn settle(store: &Store, clock: &ManualClock) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last: Option<Vec<Place>> = None;
    loop {
        let now = clock.now();
        let mut jobs: Vec<Place> = jobs_in(
            store,
            &[
                JobState::Available,
                JobState::Running,
                JobState::Retryable,
                JobState::Scheduled,
            ],
        )
        .await
        .iter()
        .map(|j| (j.id, j.state, j.attempt, j.run_at))
        .collect();
        jobs.sort_by_key(|j| j.0);
        let quiet = jobs.iter().all(|(_, state, _, run_at)| {
            matches!(state, JobState::Retryable | JobState::Scheduled) && *run_at > now
        });
        if quiet && last.as_ref() == Some(&jobs) {
            return;
        }
        last = quiet.then_some(jobs);
        assert!(Instant::now() < deadline, "the queue never settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Moves the fake clock to the next waiting job's time; false if none waits.
async fn jump(store: &Store, clock: &ManualClock) -> bool {
    let next = jobs_in(store, &[JobState::Retryable, JobState::Scheduled])
        .await
        .iter()
        .map(|j| j.run_at)
        .min();
    match next {
        Some(t) => {
            if t > clock.now() {
                clock.set(t);
            }
            true
        }
        None => false,
    }
}

/// Requests with the fake time they arrived at.
type StampedHits = Arc<Mutex<Vec<(DateTime<Utc>, Hit)>>>;

/// A receiver that stamps each request with the fake clock and answers per path:
/// `/fail` 500 until `heal`, `/busy` 429 `Retry-After: 120` the first time then 200.
#[derive(Clone)]
struct Stamped {
    hits: StampedHits,
    healed: Arc<AtomicBool>,
}

impl Stamped {
    async fn start(clock: Arc<ManualClock>) -> (Stamped, String) {
        let me = Stamped {
            hits: Arc::default(),
            healed: Arc::default(),
        };
        let state = me.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (state, clock) = (state.clone(), clock.clone());
            async move {
                let path = uri.path().to_owned();
                let mut hits = state.hits.lock().unwrap();
                let before = hits.iter().filter(|(_, h)| h.path == path).count();
                hits.push((
                    clock.now(),
                    Hit {
                        path: path.clone(),
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    },
                ));
                match path.as_str() {
                    "/fail" if !state.healed.load(Ordering::SeqCst) => {
                        (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new())
                    }
                    "/busy" if before == 0 => {
                        let mut h = HeaderMap::new();
                        h.insert("retry-after", "120".parse().unwrap());
                        (StatusCode::TOO_MANY_REQUESTS, h)
                    }
                    _ => (StatusCode::OK, HeaderMap::new()),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (me, base)
    }

    fn at(&self, path: &str) -> Vec<(DateTime<Utc>, Hit)> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, h)| h.path == path)
            .cloned()
            .collect()
    }
}

async fn notify_failing_webhooks_follow_the_retry_schedule_then_dead_letter_and_replay(b: Backend) {
    // Arrange: a fake clock a day behind (so the first signatures are old by the time the
    // dead letter is replayed at the real time), a mail sink for the owner's notice, and
    // three webhook subscribers: 500 forever, 429 with Retry-After, healthy.
    let clock = Arc::new(ManualClock::new(SystemClock.now() - TimeDelta::hours(24)));
    let sink = SmtpSink::start();
    let smtp = sink.url();
    let app = TestApp::spawn_with_clock(b, clock.clone(), |c| {
        c.egress_allow = "127.0.0.0/8".into();
        c.smtp_url = Some(smtp);
        c.worker_stale_ms = STALE_MS;
        c.worker_poll_ms = 100;
    })
    .await;
    let (rx, base) = Stamped::start(clock.clone()).await;
    let failing = subscribe(&app, format!("{base}/fail"), "owner@example.com").await;
    subscribe(&app, format!("{base}/busy"), "ops@example.com").await;
    subscribe(&app, format!("{base}/ok"), "ops@example.com").await;
    // Act: one incident, then the queue runs on fake time until nothing waits
    app.incident(json!({"name": "Queue stuck", "status": "investigating"}))
        .await;
    for _ in 0..80 {
        settle(&app.store, &clock).await;
        if !jump(&app.store, &clock).await {
            break;
        }
    }
    // Assert: the healthy endpoint got it once; 429's Retry-After was honoured
    assert_eq!(rx.at("/ok").len(), 1);
    let busy = rx.at("/busy");
    assert_eq!(busy.len(), 2, "429 then 200");
    let waited = busy[1].0 - busy[0].0;
    assert!(
        waited >= TimeDelta::seconds(120),
        "retried {waited} after Retry-After: 120"
    );
    // Assert: the 500-forever endpoint was tried exactly until quarantine, on schedule
    let fails = rx.at("/fail");
    let q = usize::try_from(QUARANTINE_AFTER).unwrap();
    assert_eq!(fails.len(), q, "attempts until quarantine");
    let mut gaps = Vec::new();
    for n in 1..fails.len() {
        let gap = fails[n].0 - fails[n - 1].0;
        let attempt = u32::try_from(n).unwrap();
        let bound = (TimeDelta::seconds(30) * 2i32.pow(attempt - 1)).min(TimeDelta::hours(6));
        let pause = pause_for(i64::from(attempt)).unwrap_or_default();
        let tolerance = TimeDelta::seconds(1);
        assert!(
            gap >= pause && gap <= bound.max(pause) + tolerance,
            "attempt {} came {gap} after attempt {n}: expected between {pause} and {}",
            n + 1,
            bound.max(pause)
        );
        gaps.push(gap.num_seconds());
    }
    eprintln!("500-forever: gaps between attempts (s) = {gaps:?}");
    let ids: std::collections::BTreeSet<String> = fails
        .iter()
        .map(|(_, h)| h.headers["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one webhook-id across retries: {ids:?}");
    let sub = app.store.subscriber(&failing).await.unwrap().unwrap();
    assert_eq!(sub.state, SubscriberState::Quarantined);
    sink.wait_for("owner@example.com", |m| {
        m.header("subject").contains("quarantined")
    })
    .await;
    // Assert: the undelivered message is a dead letter
    let dead: Vec<Job> = jobs_in(&app.store, &[JobState::Discarded])
        .await
        .into_iter()
        .filter(|j| j.kind == DELIVER_HTTP.name && j.payload["subscriber_id"] == failing.as_str())
        .collect();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("quarantined"),
        "{:?}",
        dead[0].last_error
    );
    // Act: the team reactivates the endpoint, it heals, and the dead letter is replayed
    // through the API at the real time
    clock.set(SystemClock.now());
    app.store
        .reactivate_subscribers(
            &app.page.id,
            std::slice::from_ref(&failing),
            &Actor::cli(),
            clock.now(),
        )
        .await
        .unwrap();
    rx.healed.store(true, Ordering::SeqCst);
    let r = app
        .post(&format!("/v1/jobs/{}/replay", dead[0].id), &json!({}))
        .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    while rx.at("/fail").len() <= q {
        assert!(Instant::now() < deadline, "the replay never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Assert: same webhook-id, a fresh timestamp, a signature the reference verifier accepts
    let replayed = rx.at("/fail")[q].1.clone();
    let first = fails[0].1.clone();
    assert_eq!(replayed.headers["webhook-id"], first.headers["webhook-id"]);
    let ts = |h: &Hit| -> i64 {
        h.headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        (ts(&replayed) - SystemClock.now().timestamp()).abs() < 300,
        "replay timestamp {} is not fresh",
        ts(&replayed)
    );
    assert!(ts(&replayed) - ts(&first) >= 24 * 3600 - 300);
    assert_eq!(
        verify(&[(SECRET.to_owned(), replayed), (SECRET.to_owned(), first)]),
        vec![true, false],
        "the replay verifies; the day-old original is outside the tolerance"
    );
}

both_backends!(notify_failing_webhooks_follow_the_retry_schedule_then_dead_letter_and_replay);

/// Arrivals at healthy endpoints: when, and the incident's name.
type Arrivals = Arc<Mutex<Vec<(Instant, String)>>>;

/// `n` webhook subscribers, each on its own loopback port (its own destination), answering
/// 200 at once.
async fn healthy_endpoints(app: &TestApp, n: usize) -> Arrivals {
    let arrivals: Arrivals = Arc::default();
    for _ in 0..n {
        let seen = arrivals.clone();
        let rx = axum::Router::new().fallback(move |body: Bytes| {
            let seen = seen.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                let name = v["incident"]["name"].as_str().unwrap_or("").to_owned();
                seen.lock().unwrap().push((Instant::now(), name));
                StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, rx).await });
        subscribe(app, url, "ops@example.com").await;
    }
    arrivals
}

/// Prints the latency distribution of the arrivals (from each incident's post) as figures
/// for `bench/reliability.sh`; tests do not judge latency.
fn report_latency(what: &str, arrivals: &Arrivals, posted: &HashMap<String, Instant>) {
    let mut latencies: Vec<Duration> = arrivals
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(at, name)| posted.get(name).map(|p| at.duration_since(*p)))
        .collect();
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    crate::helpers::figure(&format!("{what}_healthy_p50"), pct(50));
    crate::helpers::figure(&format!("{what}_healthy_p99"), pct(99));
}

/// A listener that accepts and never answers, until it dies: then it resets every
/// connection, held or new. Counts connections, how many are open, and the most open at once.
struct Hung {
    port: u16,
    total: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    max_open: Arc<AtomicUsize>,
    dead: tokio::sync::watch::Sender<bool>,
}

impl Hung {
    async fn start() -> Hung {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (total, open, max_open) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (dead, is_dead) = tokio::sync::watch::channel(false);
        let (t, o, m) = (total.clone(), open.clone(), max_open.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                t.fetch_add(1, Ordering::SeqCst);
                let now_open = o.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now_open, Ordering::SeqCst);
                let (o, mut is_dead) = (o.clone(), is_dead.clone());
                tokio::spawn(async move {
                    // Read (and ignore) until the client gives up and closes, or until death.
                    let mut buf = [0u8; 4096];
                    tokio::select! {
                        () = async { while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {} } => {}
                        _ = is_dead.wait_for(|d| *d) => {
                            let _ = sock.set_zero_linger();
                        }
                    }
                    drop(sock);
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Hung {
            port,
            total,
            open,
            max_open,
            dead,
        }
    }

    /// Connections that have ended (the client gave up, or the listener died).
    fn ended(&self) -> usize {
        self.total.load(Ordering::SeqCst) - self.open.load(Ordering::SeqCst)
    }

    /// From now on every connection, held or new, is reset at once.
    fn die(&self) {
        self.dead.send_replace(true);
    }
}

/// Called once every healthy delivery has arrived: asserts that no attempt on the hung
/// endpoint had ended by then (each lasts until the 30 s timeout), so no healthy delivery
/// can have waited for one. Waits for the first hung attempt if none has started yet.
async fn assert_nobody_waited_for(hung: &Hung) {
    assert_eq!(
        hung.ended(),
        0,
        "a hung attempt ended before the healthy ones were done"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while hung.total.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the hung endpoint was never tried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn notify_a_hung_endpoint_delays_no_healthy_one_then_pauses_and_is_quarantined(b: Backend) {
    const HEALTHY: usize = 100;
    const INCIDENTS: usize = 4;
    const PER_DESTINATION: usize = 2;
    // Arrange: one endpoint that accepts and never answers, 100 healthy endpoints each on its
    // own port, 2 deliveries per destination, and a 30 s delivery timeout (longer than the
    // healthy deliveries need, so a healthy one that waited for a hung one would be seen)
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let sink = SmtpSink::start();
    let smtp = sink.url();
    let app = TestApp::spawn_with_clock(b, clock.clone(), |c| {
        c.egress_allow = "127.0.0.0/8".into();
        c.smtp_url = Some(smtp);
        c.worker_stale_ms = STALE_MS;
        c.worker_poll_ms = 100;
        c.delivery_timeout_ms = 30_000;
        c.delivery_per_destination = PER_DESTINATION;
    })
    .await;
    let hung = Hung::start().await;
    let hung_id = subscribe(
        &app,
        format!("http://127.0.0.1:{}/hook", hung.port),
        "owner@example.com",
    )
    .await;
    let arrivals = healthy_endpoints(&app, HEALTHY).await;
    // Act: incidents posted one after another; each goes to all 101 endpoints
    let mut posted: HashMap<String, Instant> = HashMap::new();
    for i in 0..INCIDENTS {
        let name = format!("Outage {i}");
        posted.insert(name.clone(), Instant::now());
        app.incident(json!({"name": name, "status": "investigating"}))
            .await;
    }
    // Assert: every healthy endpoint got every incident while the hung one held its slots
    let want = HEALTHY * INCIDENTS;
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().unwrap().len() < want {
        assert!(
            Instant::now() < deadline,
            "{} of {want} healthy deliveries arrived",
            arrivals.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_nobody_waited_for(&hung).await;
    report_latency("hung_endpoint", &arrivals, &posted);
    assert!(
        hung.max_open.load(Ordering::SeqCst) <= PER_DESTINATION,
        "{} requests were open at once to the hung destination",
        hung.max_open.load(Ordering::SeqCst)
    );
    // Act: the endpoint dies (resets every connection): its attempts now fail at once
    hung.die();
    // Act: time passes (fake) until no job waits
    let mut paused_seen = false;
    for _ in 0..80 {
        settle(&app.store, &clock).await;
        let sub = app.store.subscriber(&hung_id).await.unwrap().unwrap();
        if sub.state == SubscriberState::Active && sub.failures >= 3 {
            // Assert: after 3 consecutive failures the endpoint is paused
            let until = app
                .store
                .subscriber_gate(&hung_id)
                .await
                .unwrap()
                .and_then(|(_, until)| until);
            assert!(until.is_some(), "{} failures but no pause", sub.failures);
            paused_seen = true;
        }
        if !jump(&app.store, &clock).await {
            break;
        }
    }
    settle(&app.store, &clock).await;
    // Assert: paused, then quarantined after the configured failures, the owner told, and
    // the hung endpoint cost about one attempt per failure counted, not one per retry
    assert!(paused_seen);
    let sub = app.store.subscriber(&hung_id).await.unwrap().unwrap();
    assert_eq!(sub.state, SubscriberState::Quarantined);
    assert!(sub.failures >= QUARANTINE_AFTER, "{}", sub.failures);
    sink.wait_for("owner@example.com", |m| {
        m.header("subject").contains("quarantined")
    })
    .await;
    let attempts = hung.total.load(Ordering::SeqCst);
    assert!(
        attempts <= usize::try_from(QUARANTINE_AFTER).unwrap() + PER_DESTINATION,
        "{attempts} connections to the hung endpoint"
    );
    assert_eq!(hung.open.load(Ordering::SeqCst), 0, "every attempt ended");
    // Assert: its messages are dead letters to replay once it is reactivated, none lost to
    // attempts spent while its destination was saturated or paused
    let mine: Vec<Job> = jobs_in(
        &app.store,
        &[
            JobState::Discarded,
            JobState::Completed,
            JobState::Retryable,
            JobState::Scheduled,
        ],
    )
    .await
    .into_iter()
    .filter(|j| j.kind == DELIVER_HTTP.name && j.payload["subscriber_id"] == hung_id.as_str())
    .collect();
    assert_eq!(mine.len(), INCIDENTS, "{mine:?}");
    for j in &mine {
        assert_eq!(j.state, JobState::Discarded, "{j:?}");
        assert!(
            j.last_error
                .as_deref()
                .unwrap_or("")
                .contains("quarantined"),
            "{j:?}"
        );
    }
    eprintln!(
        "hung endpoint: {attempts} attempts, quarantined after {} failures",
        sub.failures
    );
}

both_backends!(notify_a_hung_endpoint_delays_no_healthy_one_then_pauses_and_is_quarantined);

async fn notify_a_snooze_gives_its_attempt_back(b: Backend) {
    // Arrange: a job with 3 attempts
    let db = crate::helpers::TestDb::new(b).await;
    let store = db.store().await;
    let now = SystemClock.now();
    let mut job = DELIVER_HTTP.raw_job(None, json!({}));
    job.max_attempts = 3;
    let id = store.enqueue(&[job], now).await.unwrap()[0];
    // Act: claimed and snoozed ten times, more than its attempts
    for i in 0..10 {
        let claimed = store
            .claim_jobs(DELIVER_HTTP.queue, "w", 1, now)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "round {i}");
        assert_eq!(
            claimed[0].attempt, 1,
            "round {i}: a snooze spent an attempt"
        );
        let report = store
            .finish_jobs(
                &[herald_store::Finish {
                    id,
                    attempt: 1,
                    outcome: herald_store::Outcome::Snooze { at: now },
                }],
                now,
            )
            .await
            .unwrap();
        assert_eq!(report.applied, 1);
        assert!(report.discarded.is_empty());
        store.promote_due_jobs(now).await.unwrap();
    }
    // Assert: still there with all its attempts; a stale snooze (wrong attempt) is fenced
    let j = store.get_job(id).await.unwrap().unwrap();
    assert_eq!((j.state, j.attempt), (JobState::Available, 0));
    store
        .claim_jobs(DELIVER_HTTP.queue, "w", 1, now)
        .await
        .unwrap();
    let stale = store
        .finish_jobs(
            &[herald_store::Finish {
                id,
                attempt: 7,
                outcome: herald_store::Outcome::Snooze { at: now },
            }],
            now,
        )
        .await
        .unwrap();
    assert_eq!(stale.fenced, vec![id]);
}

both_backends!(notify_a_snooze_gives_its_attempt_back);

async fn notify_a_backlog_for_a_hung_host_does_not_hold_the_queue(b: Backend) {
    const HUNG: usize = 30;
    const HEALTHY: usize = 100;
    // Arrange: 30 subscribers on one host that never answers (one destination), whose
    // messages are queued first; 100 healthy endpoints; 16 worker slots, a 30 s timeout
    // (longer than the healthy deliveries need)
    let hung = Hung::start().await;
    let app = TestApp::spawn_with(b, |c| {
        c.egress_allow = "127.0.0.0/8".into();
        c.worker_poll_ms = 100;
        c.delivery_timeout_ms = 30_000;
        c.delivery_per_destination = 2;
    })
    .await;
    for i in 0..HUNG {
        subscribe(
            &app,
            format!("http://127.0.0.1:{}/hook/{i}", hung.port),
            "owner@example.com",
        )
        .await;
    }
    app.incident(json!({"name": "First", "status": "investigating"}))
        .await;
    let arrivals = healthy_endpoints(&app, HEALTHY).await;
    // Act: an incident for everyone, behind the hung host's backlog in the queue
    let mut posted = HashMap::new();
    posted.insert("Second".to_owned(), Instant::now());
    app.incident(json!({"name": "Second", "status": "investigating"}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().unwrap().len() < HEALTHY {
        assert!(
            Instant::now() < deadline,
            "{} of {HEALTHY} healthy deliveries arrived",
            arrivals.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Assert: the healthy endpoints were served while the hung host held 2 attempts at a time
    assert_nobody_waited_for(&hung).await;
    report_latency("hung_host_backlog", &arrivals, &posted);
    assert!(
        hung.max_open.load(Ordering::SeqCst) <= 2,
        "{} requests open at once to the hung host",
        hung.max_open.load(Ordering::SeqCst)
    );
    hung.die();
}

both_backends!(notify_a_backlog_for_a_hung_host_does_not_hold_the_queue);
