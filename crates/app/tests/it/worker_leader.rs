//! Reconciler leadership on PostgreSQL (`store/src/leader.rs`): while one node leads a
//! reconciler nobody else gets it, and with two live nodes its runs never alternate between
//! them. (On SQLite herald runs one node and every process leads: nothing to exclude.)

use chrono::{DateTime, Utc};
use herald_domain::clock::SystemClock;
use herald_store::Store;
use herald_worker::{BoxFuture, Driver, Metrics, Reconciler};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_try_lead_gets_nothing_while_one_node_holds_it() {
    // Arrange: two nodes (two pools) on one schema
    let db = TestDb::new(Backend::Postgres).await;
    let (a, b) = (db.store().await, db.store().await);
    // Act
    let mut held = a
        .try_lead("exclusive")
        .await
        .unwrap()
        .expect("the first try leads");
    // Assert: nobody else gets it, not even another connection of the same node...
    assert!(b.try_lead("exclusive").await.unwrap().is_none(), "node b");
    assert!(a.try_lead("exclusive").await.unwrap().is_none(), "node a");
    assert!(held.is_held().await);
    // ...while another reconciler's leadership is free
    assert!(b.try_lead("another").await.unwrap().is_some());
    // Act: the leader gives it up
    drop(held);
    // Assert: the other node can take it (its session ends a moment after the drop)
    let started = Instant::now();
    while b.try_lead("exclusive").await.unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never free again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records which node ran it, each time it runs.
struct Recorder {
    node: &'static str,
    runs: Arc<Mutex<Vec<&'static str>>>,
}

impl Reconciler for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn period(&self) -> Duration {
        // Also how often the node that does not lead tries to.
        Duration::from_millis(20)
    }
    fn reconcile(&self, _now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        self.runs.lock().unwrap().push(self.node);
        Box::pin(async { Ok(String::new()) })
    }
}

fn node(store: &Store, name: &'static str, runs: &Arc<Mutex<Vec<&'static str>>>) -> Driver {
    let mut d = Driver::new(
        store.clone(),
        Arc::new(SystemClock),
        name,
        Arc::new(Metrics::new()),
    );
    d.add(Recorder {
        node: name,
        runs: runs.clone(),
    });
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_live_nodes_reconciler_runs_never_alternate() {
    // Arrange: two live nodes driving the same reconciler, each trying every 20 ms
    let db = TestDb::new(Backend::Postgres).await;
    let runs: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let stop = CancellationToken::new();
    let a = tokio::spawn(node(&db.store().await, "node-a", &runs).run(stop.clone()));
    let b = tokio::spawn(node(&db.store().await, "node-b", &runs).run(stop.clone()));
    // Act: let it run 200 times (the other node tried about as often meanwhile)
    let started = Instant::now();
    while runs.lock().unwrap().len() < 200 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} runs",
            runs.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The runs while both nodes were live: once the leader stops, its lock is free and the
    // other may run once before it sees the stop too (a leader's death, not alternation).
    let runs = runs.lock().unwrap().clone();
    stop.cancel();
    a.await.unwrap();
    b.await.unwrap();
    // Assert: one node ran it every time
    let leader = runs[0];
    let others = runs.iter().filter(|n| **n != leader).count();
    assert_eq!(
        others,
        0,
        "{leader} led, yet {others} of {} runs were elsewhere",
        runs.len()
    );
}
