//! Freshness across nodes and through outages: two more herald servers on the same
//! PostgreSQL schema see a write made on the first within 1.5 s, one through LISTEN/NOTIFY
//! alone (its poll slowed to a minute) and one through the version poll alone (LISTEN
//! disabled); and a node whose database is gone keeps serving its last snapshot.

use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::helpers::{Backend, Node, TestApp};

/// Polls `node`'s summary.json until `want` appears in it; returns how long that took.
async fn time_until_visible(node: &Node, want: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let r = node.get("/api/v2/summary.json").await;
        if r.text.contains(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{want:?} not visible after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_nodes_see_a_write_within_1_5_s_by_notify_and_by_poll() {
    // Arrange: node A takes the writes; B hears NOTIFY (poll every minute); C only polls.
    let app = TestApp::spawn(Backend::Postgres).await;
    let notify_only = Node::start(&app.db.url, |c| c.snapshot_poll_ms = 60_000).await;
    let poll_only = Node::start(&app.db.url, |c| c.snapshot_listen = false).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for n in 1..=3 {
        // Act
        let name = format!("Cross-node update {n}");
        let r = app
            .post(
                &app.page_path("/incidents"),
                &json!({"incident": {"name": name, "status": "investigating"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        // Assert
        let by_notify = time_until_visible(&notify_only, &name, Duration::from_millis(1500)).await;
        let by_poll = time_until_visible(&poll_only, &name, Duration::from_millis(1500)).await;
        eprintln!("write {n}: visible via NOTIFY after {by_notify:?}, via poll after {by_poll:?}");
    }
}

async fn a_node_keeps_serving_its_snapshot_when_the_database_is_gone(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    app.incident(json!({"name": "Before the outage", "status": "investigating"}))
        .await;
    let before = app.public("/api/v2/summary.json", &[]).await;
    let home = app.public("/", &[]).await;
    // Act: the database goes away; let the poll and a write fail against it
    // (Closing refuses new connections at once; the wait for connections still held, such
    // as the change listener's, is cut short.)
    let _ = tokio::time::timeout(Duration::from_secs(2), app.store.close()).await;
    let write = app
        .post(
            &app.page_path("/incidents"),
            &json!({"incident": {"name": "During", "status": "investigating"}}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Assert
    assert_ne!(write.status, StatusCode::CREATED);
    assert!(write.status.is_server_error() || write.status.is_client_error());
    let after = app.public("/api/v2/summary.json", &[]).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.text, before.text);
    let home_after = app.public("/", &[]).await;
    assert_eq!(home_after.status, StatusCode::OK);
    assert_eq!(home_after.text, home.text);
    // The snapshot's age is exported, and grows while the database is away
    let metrics = app.get("/metrics").await.text;
    let age: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("herald_snapshot_age_seconds{page=\"acme\"} "))
        .unwrap_or_else(|| panic!("no snapshot age in {metrics}"))
        .parse()
        .unwrap();
    assert!(age >= 1.0, "age {age}");
}

both_backends!(a_node_keeps_serving_its_snapshot_when_the_database_is_gone);
