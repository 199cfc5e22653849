//! Pulled metrics (issue 13): every bucket of a gap is filled from the provider after
//! herald's workers come back, for a real Prometheus and for emulated Datadog and New Relic
//! APIs; a provider's outage, hang, garbage or several series is an error on its own
//! metrics only, and its gap is filled once it answers again.
//!
//! The gap: herald runs on a manual clock. Its workers poll up to the clock's time; the
//! clock then jumps to the real time, as if the worker tier had been stopped for that long:
//! from herald's side nothing polled during the gap, while the provider holds real data
//! for it (Prometheus's history is backfilled with `promtool`, then scraped live).

use chrono::{DateTime, Utc};
use herald_domain::clock::{Clock, ManualClock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, figure};
use crate::metrics_api::{metric, provider};
use crate::metrics_support::{Emulated, Prometheus, exporter, f};

/// Long enough that clock jumps never make the worker look dead.
const STALE_MS: u64 = 30 * 24 * 3600 * 1000;

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap()
}

fn bucket(t: i64) -> i64 {
    t - t.rem_euclid(30)
}

async fn spawn(b: Backend, clock: Arc<ManualClock>) -> TestApp {
    TestApp::spawn_with_clock(b, clock, |c| {
        c.egress_allow = "127.0.0.0/8".into();
        c.metrics_poll_secs = 1;
        c.metrics_timeout_ms = 1000;
        c.worker_stale_ms = STALE_MS;
    })
    .await
}

/// The metric object, once `ready` accepts it.
async fn metric_when(app: &TestApp, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        let r = app.get(&app.page_path(&format!("/metrics/{id}"))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        last = r.json();
        if ready(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the metric never got there: {last}");
}

/// Whether the metric holds a value in bucket `t`.
async fn holds(app: &TestApp, id: &str, t: i64) -> bool {
    !app.store.metric_points(id, t, t).await.unwrap().is_empty()
}

async fn wait_holds(app: &TestApp, id: &str, t: i64) {
    for _ in 0..1200 {
        if holds(app, id, t).await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("metric {id} never got bucket {t}");
}

async fn a_prometheus_gap_is_filled_with_what_query_range_gives(b: Backend) {
    // Arrange: the exporter, Prometheus with the last 45 minutes of its history, and herald
    // whose clock stands 30 minutes back.
    let real = SystemClock.now().timestamp();
    let gap = 30 * 60;
    let target = exporter().await;
    let prom = Prometheus::start(target, real - gap - 15 * 60, real - 5).await;
    let clock = Arc::new(ManualClock::new(at(real - gap)));
    let app = spawn(b, clock.clone()).await;
    let q = "max(herald_test_value)";
    let pid = provider(
        &app,
        json!({"type": "Prometheus", "metric_base_uri": prom.url}),
    )
    .await;
    let m = metric(
        &app,
        pid["id"].as_str().unwrap(),
        json!({"name": "Exporter", "metric_identifier": q}),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let several = metric(
        &app,
        pid["id"].as_str().unwrap(),
        json!({"name": "Everything", "metric_identifier": "herald_test_value or vector(1)"}),
    )
    .await;
    let broken = metric(
        &app,
        pid["id"].as_str().unwrap(),
        json!({"name": "Broken", "metric_identifier": "rate(herald_test_value[1m]"}),
    )
    .await;
    let before = bucket(real - gap);
    wait_holds(&app, &id, before).await;
    let m = metric_when(&app, &id, |m| m["backfilled"] == true).await;
    assert_eq!(m["backfill_percentage"], 100.0);
    assert!(
        !holds(&app, &id, before + 30).await,
        "nothing past herald's time"
    );

    // Act: the workers come back 30 minutes later.
    let resumed = SystemClock.now();
    clock.set(resumed);
    let started = std::time::Instant::now();
    let end = bucket(resumed.timestamp());
    wait_holds(&app, &id, end).await;
    figure("metrics_gap_fill_prometheus_30min", started.elapsed());

    // Assert: every bucket of the gap holds what query_range gives for it.
    let expected = prom.query_range(q, before + 30, end).await;
    assert_eq!(
        expected.len() as i64,
        (end - before) / 30,
        "Prometheus has every bucket"
    );
    let held: Vec<(i64, f64)> = app
        .store
        .metric_points(&id, before + 30, end)
        .await
        .unwrap()
        .iter()
        .map(|p| (p.bucket, p.value))
        .collect();
    assert_eq!(held, expected);
    for (t, v) in &held {
        // The known function, at the last sample at or before the bucket (15 s apart at
        // most: the backfilled history's step).
        assert!(
            (t - 16..=*t).any(|s| f(s as f64) == *v),
            "bucket {t}: {v} vs f = {}",
            f(*t as f64)
        );
    }
    // The expressions that give several series or do not parse: errors on their metrics.
    let s = metric_when(&app, several["id"].as_str().unwrap(), |m| {
        m["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("series"))
    })
    .await;
    assert!(s["last_error"].as_str().unwrap().contains("series"), "{s}");
    let e = metric_when(&app, broken["id"].as_str().unwrap(), |m| {
        m["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 400"))
    })
    .await;
    assert!(
        e["last_error"].as_str().unwrap().contains("HTTP 400"),
        "{e}"
    );
    assert_eq!(
        app.get(&app.page_path(&format!("/metrics/{id}")))
            .await
            .json()["last_error"],
        Value::Null
    );
}

async fn emulated_datadog_and_new_relic_fill_every_gap_and_an_outage_touches_only_their_metrics(
    b: Backend,
) {
    // Arrange: the providers hold an hour of values; herald's clock stands 10 minutes back.
    let real = SystemClock.now().timestamp();
    let since = bucket(real - 3600);
    let dd = Emulated::datadog(since).await;
    let nr = Emulated::newrelic(since).await;
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung_url = format!("http://{}", hung.local_addr().unwrap());
    let held_open = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = hung.accept().await {
            open.push(s);
        }
    });
    let clock = Arc::new(ManualClock::new(at(real - 600)));
    let app = spawn(b, clock.clone()).await;
    let ddp = provider(
        &app,
        json!({"type": "Datadog", "metric_base_uri": dd.url,
        "api_key": "dd-key", "application_key": "dd-app"}),
    )
    .await;
    let nrp = provider(&app, json!({"type": "NewRelic", "metric_base_uri": nr.url, "api_key": "nr-key", "account_id": 42})).await;
    let hp = provider(&app, json!({"type": "Datadog", "metric_base_uri": hung_url, "api_key": "k", "application_key": "k"})).await;
    let ddm = metric(
        &app,
        ddp["id"].as_str().unwrap(),
        json!({"name": "DD", "metric_identifier": "avg:app.latency{*}"}),
    )
    .await;
    let ddmany = metric(
        &app,
        ddp["id"].as_str().unwrap(),
        json!({"name": "DD hosts", "metric_identifier": "avg:app.latency{*} by {host}"}),
    )
    .await;
    let nrm = metric(
        &app,
        nrp["id"].as_str().unwrap(),
        json!({"name": "NR", "metric_identifier": "SELECT average(duration) FROM Transaction"}),
    )
    .await;
    let hm = metric(
        &app,
        hp["id"].as_str().unwrap(),
        json!({"name": "Hangs", "metric_identifier": "avg:x{*}"}),
    )
    .await;
    let (ddm, nrm) = (
        ddm["id"].as_str().unwrap().to_owned(),
        nrm["id"].as_str().unwrap().to_owned(),
    );
    let first = bucket(real - 600);
    wait_holds(&app, &ddm, first).await;
    wait_holds(&app, &nrm, first).await;
    let h = metric_when(&app, hm["id"].as_str().unwrap(), |m| {
        m["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out"))
    })
    .await;
    assert!(
        h["last_error"].as_str().unwrap().contains("timed out"),
        "{h}"
    );
    let many = metric_when(&app, ddmany["id"].as_str().unwrap(), |m| {
        m["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("2 series"))
    })
    .await;
    assert!(
        many["last_error"].as_str().unwrap().contains("2 series"),
        "{many}"
    );
    assert!(
        dd.seen_keys
            .lock()
            .unwrap()
            .iter()
            .all(|k| k == "dd-key/dd-app")
    );
    assert!(nr.seen_keys.lock().unwrap().iter().all(|k| k == "nr-key"));

    // Act 1: the providers go down while time passes (5 minutes of herald's time).
    dd.down.store(true, Ordering::SeqCst);
    nr.down.store(true, Ordering::SeqCst);
    clock.set(at(real - 300));
    for id in [&ddm, &nrm] {
        metric_when(&app, id, |m| {
            m["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("HTTP 500"))
        })
        .await;
    }
    assert!(
        !holds(&app, &ddm, first + 30).await,
        "nothing came while the provider was down"
    );

    // Act 2: the providers come back, and herald's time is the real time again.
    dd.down.store(false, Ordering::SeqCst);
    nr.down.store(false, Ordering::SeqCst);
    let resumed = SystemClock.now();
    clock.set(resumed);
    let started = std::time::Instant::now();
    let end = bucket(resumed.timestamp());
    wait_holds(&app, &ddm, end).await;
    figure("metrics_gap_fill_datadog_10min", started.elapsed());
    wait_holds(&app, &nrm, end).await;
    figure("metrics_gap_fill_newrelic_10min", started.elapsed());

    // Assert: every bucket from the providers' first value on holds the provider's value.
    for id in [&ddm, &nrm] {
        let held = app.store.metric_points(id, 0, end).await.unwrap();
        let expected: Vec<(i64, f64)> = (0..=(end - since) / 30)
            .map(|k| since + k * 30)
            .map(|t| (t, f(t as f64)))
            .collect();
        let got: Vec<(i64, f64)> = held.iter().map(|p| (p.bucket, p.value)).collect();
        assert_eq!(got, expected, "metric {id}");
        let m = metric_when(&app, id, |m| m["last_error"].is_null()).await;
        assert_eq!(m["backfilled"], true);
    }
    held_open.abort();
}

both_backends!(
    a_prometheus_gap_is_filled_with_what_query_range_gives,
    emulated_datadog_and_new_relic_fill_every_gap_and_an_outage_touches_only_their_metrics,
);
