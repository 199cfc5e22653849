//! Freshness across nodes and through outages: two more herald servers on the same
//! PostgreSQL schema see a write made on the first, one through LISTEN/NOTIFY alone (its
//! version poll and periodic re-render an hour apart) and one through the version poll alone
//! (LISTEN disabled); and a SQLite node whose store is closed keeps serving its last
//! snapshot. PostgreSQL outages proper (refused, reset, hung) are in `db_outage.rs`; how
//! fast other nodes see a write is measured by `bench/publish-visible.sh`.

use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::helpers::{Backend, Node, TestApp, counter_sum, figure};

/// A bound that only catches a hang (an hour-long poll would take far longer).
const HANG: Duration = Duration::from_secs(60);

/// Polls `node`'s summary.json until `want` appears in it; returns the time since `start`.
async fn time_until_visible(node: &Node, want: &str, start: Instant) -> Duration {
    loop {
        let r = node.get("/api/v2/summary.json").await;
        if r.text.contains(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < HANG,
            "{want:?} not visible after {HANG:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_nodes_see_a_write_by_notify_and_by_poll() {
    // Arrange: node A takes the writes; B hears NOTIFY only; C only polls (every second)
    let app = TestApp::spawn(Backend::Postgres).await;
    let notify_only = Node::start(&app.db.url, |c| {
        c.snapshot_poll_ms = 3_600_000;
        c.snapshot_refresh_secs = 3600;
    })
    .await;
    let poll_only = Node::start(&app.db.url, |c| {
        c.snapshot_listen = false;
        c.snapshot_refresh_secs = 3600;
    })
    .await;
    for n in 1..=3 {
        // Act
        let name = format!("Cross-node update {n}");
        let posted = Instant::now();
        let r = app
            .post(
                &app.page_path("/incidents"),
                &json!({"incident": {"name": name, "status": "investigating"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        // Assert: both see it, each by its only way
        let by_notify = time_until_visible(&notify_only, &name, posted).await;
        let by_poll = time_until_visible(&poll_only, &name, posted).await;
        figure("other_node_visible_by_notify", by_notify);
        figure("other_node_visible_by_poll", by_poll);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_keeps_serving_its_snapshot_when_its_store_is_closed() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.incident(json!({"name": "Before the outage", "status": "investigating"}))
        .await;
    let before = app.public("/api/v2/summary.json", &[]).await;
    let home = app.public("/", &[]).await;
    // Act: the store goes away (closing refuses new connections at once; the wait for the
    // connections still held is cut short)
    let _ = tokio::time::timeout(Duration::from_secs(2), app.store.close()).await;
    let write = app
        .post(
            &app.page_path("/incidents"),
            &json!({"incident": {"name": "During", "status": "investigating"}}),
        )
        .await;
    // Assert: the write is refused as a temporary outage...
    assert_eq!(
        write.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        write.text
    );
    assert_eq!(write.headers["retry-after"], "5");
    // ...and once the snapshot's age shows the version poll (every second) failed to
    // confirm it twice over, the page still serves it, unchanged
    let started = Instant::now();
    let age = loop {
        let metrics = app.get("/metrics").await.text;
        let age: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("herald_snapshot_age_seconds{page=\"acme\"} "))
            .unwrap_or_else(|| panic!("no snapshot age in {metrics}"))
            .parse()
            .unwrap();
        if age >= 2.0 {
            break age;
        }
        assert!(started.elapsed() < HANG, "the snapshot age stayed {age}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let after = app.public("/api/v2/summary.json", &[]).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.text, before.text);
    let home_after = app.public("/", &[]).await;
    assert_eq!(home_after.status, StatusCode::OK);
    assert_eq!(home_after.text, home.text);
    eprintln!("served unchanged at snapshot age {age} s");
}

/// The renders of its snapshots that `metrics` (a `/metrics` text) counts, over every page.
fn renders(metrics: &str) -> u64 {
    counter_sum(metrics, "herald_snapshot_renders_total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_storm_on_another_node_costs_one_render_per_gap() {
    // Arrange: B hears other nodes' changes by NOTIFY only, and renders them at most once
    // per gap (3 s here, so that the whole storm falls in one or two gaps)
    let app = TestApp::spawn(Backend::Postgres).await;
    let gap = Duration::from_secs(3);
    let b = Node::start(&app.db.url, |c| {
        c.snapshot_poll_ms = 3_600_000;
        c.snapshot_refresh_secs = 3600;
        c.snapshot_remote_gap_ms = gap.as_millis() as u64;
    })
    .await;
    let storm = app
        .incident(json!({"name": "Storm", "status": "investigating", "body": "update 0"}))
        .await;
    let started = Instant::now();
    // Assert: the first change after a quiet spell is rendered at once, not after the gap
    let first = time_until_visible(&b, "update 0", started).await;
    assert!(first < gap, "the first change took {first:?}");
    let (b_before, a_before) = (
        renders(&b.get("/metrics").await.text),
        renders(&app.get("/metrics").await.text),
    );
    // Act: ten more updates, one after another
    let writes = 10;
    let storm_started = Instant::now();
    for n in 1..=writes {
        let r = app
            .patch(
                &app.page_path(&format!("/incidents/{}", storm["id"].as_str().unwrap())),
                &json!({"incident": {"body": format!("update {n}")}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let span = storm_started.elapsed();
    time_until_visible(&b, &format!("update {writes}"), storm_started).await;
    // Assert: the writing node rendered each of its writes before answering; B rendered
    // the storm once per gap it spanned (and once more for the gap's end)
    let a_renders = renders(&app.get("/metrics").await.text) - a_before;
    let b_renders = renders(&b.get("/metrics").await.text) - b_before;
    assert!(a_renders >= writes, "A rendered {a_renders} times");
    let most = 1 + (span.as_secs_f64() / gap.as_secs_f64()).ceil() as u64;
    assert!(
        (1..=most).contains(&b_renders),
        "B rendered {b_renders} times for {writes} writes in {span:?} (at most {most})"
    );
}
