//! `/readyz`'s job-backlog check (DESIGN.md "Health and operations"): a due job that has
//! waited longer than 60 s makes a worker node unready, whatever the other checks say.

use chrono::TimeDelta;
use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_store::NewJob;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Polls `/readyz` until `done` holds for its status and body; returns them.
async fn readyz_until(app: &TestApp, done: impl Fn(StatusCode, &Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let r = app.public("/readyz", &[]).await;
        let body = r.json();
        if done(r.status, &body) {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "/readyz never got there: {} {body}",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Enqueues, at time `at`, a job in a queue no worker serves; returns its id.
async fn enqueue_orphan(app: &TestApp, at: chrono::DateTime<chrono::Utc>) -> i64 {
    let job = NewJob::new("nobody-serves-this", "orphan", json!({}));
    app.store.enqueue(&[job], at).await.unwrap()[0]
}

async fn a_due_job_waiting_over_a_minute_makes_readyz_answer_503(b: Backend) {
    // Arrange: a healthy worker node, ready
    let app = TestApp::spawn(b).await;
    readyz_until(&app, |s, _| s == StatusCode::OK).await;
    // Act: a job enqueued 61 s ago (the enqueue's time is an input), in a queue none of this
    // node's workers serve (as during a rolling deploy that adds a kind): nothing claims it
    let now = SystemClock.now();
    let id = enqueue_orphan(&app, now - TimeDelta::seconds(61)).await;
    // Assert: 503, and the backlog is the check that failed; the workers themselves are fine
    let body = readyz_until(&app, |s, _| s == StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["checks"]["job_backlog"]["ok"], false, "{body}");
    for fine in ["database", "schema", "worker_loop", "worker_heartbeat"] {
        assert_eq!(body["checks"][fine]["ok"], true, "{fine}: {body}");
    }
    // Act: the job goes away
    app.store.cancel_job(id, &Actor::cli(), now).await.unwrap();
    // Assert: ready again, with the backlog check green
    let body = readyz_until(&app, |s, _| s == StatusCode::OK).await;
    assert_eq!(body["checks"]["job_backlog"]["ok"], true, "{body}");
}

async fn a_due_job_younger_than_a_minute_keeps_readyz_green(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    readyz_until(&app, |s, _| s == StatusCode::OK).await;
    // Act: the same orphan, enqueued 30 s ago
    enqueue_orphan(&app, SystemClock.now() - TimeDelta::seconds(30)).await;
    // Assert: the backlog check saw it (its detail names its age) and passed it
    let body = readyz_until(&app, |_, b| {
        b["checks"]["job_backlog"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("has waited"))
    })
    .await;
    assert_eq!(body["checks"]["job_backlog"]["ok"], true, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
}

both_backends!(
    a_due_job_waiting_over_a_minute_makes_readyz_answer_503,
    a_due_job_younger_than_a_minute_keeps_readyz_green,
);
