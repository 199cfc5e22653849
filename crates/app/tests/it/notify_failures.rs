//! Failures inside the delivery path are failures, never silent successes: a signing secret
//! that cannot be read holds the webhook back (it is never sent unsigned), and a job whose
//! payload does not read is discarded with a message, not run with empty ids.

use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::SubscriberId;
use herald_domain::notification::DeliveryState;
use herald_store::JobState;
use herald_store::kinds::DELIVER_HTTP;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::notify_http::verify;
use crate::notify_support::{Receiver, wait_idle};

/// Waits (up to 30 s) for the first recorded delivery attempt to `subscriber`.
async fn first_attempt(app: &TestApp, subscriber: &SubscriberId) -> herald_store::Delivery {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = app
            .store
            .list_deliveries(&app.page.id, Some(subscriber), 10)
            .await
            .unwrap();
        if let Some(d) = found.into_iter().next() {
            return d;
        }
        assert!(Instant::now() < deadline, "no delivery attempt recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_unreadable_signing_secret_holds_the_webhook_back(b: Backend) {
    // Arrange: a webhook subscriber, and the secrets' table made unreadable under herald
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(b, |c| c.egress_allow = "127.0.0.0/8".into()).await;
    let r = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"endpoint": rx.url("/hook"), "email": "ops@example.com"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (sub, secret) = (
        SubscriberId::from(r.json()["id"].as_str().unwrap()),
        r.json()["webhook_secret"].as_str().unwrap().to_owned(),
    );
    app.db
        .execute("ALTER TABLE subscribers RENAME COLUMN previous_secret_until TO hidden_until")
        .await;
    // Act
    app.incident(json!({"name": "Queue delays", "status": "investigating", "body": "Looking."}))
        .await;
    // Assert: the attempt failed naming the secret, and nothing reached the endpoint
    let attempt = first_attempt(&app, &sub).await;
    assert_eq!(attempt.state, DeliveryState::Failed, "{attempt:?}");
    assert!(
        attempt
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("signing secret"),
        "{attempt:?}"
    );
    assert!(rx.hits("/hook").is_empty(), "sent although unsigned");
    // Act: the secret readable again, and the retry made due now
    app.db
        .execute("ALTER TABLE subscribers RENAME COLUMN hidden_until TO previous_secret_until")
        .await;
    app.store
        .promote_due_jobs(SystemClock.now() + chrono::TimeDelta::days(1))
        .await
        .unwrap();
    // Assert: delivered, signed
    let hit = rx.wait_for("/hook", 1).await.remove(0);
    assert_eq!(verify(&[(secret, hit)]), vec![true]);
}

both_backends!(an_unreadable_signing_secret_holds_the_webhook_back);

async fn a_delivery_job_whose_payload_does_not_read_is_discarded_saying_so(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let now = SystemClock.now();
    // Act: a delivery job with an event id of the wrong type and no subscriber
    let id = app
        .store
        .enqueue(
            &[DELIVER_HTTP.raw_job(Some(&app.page.id), json!({"event_id": 5}))],
            now,
        )
        .await
        .unwrap()[0];
    wait_idle(&app.store, DELIVER_HTTP.name).await;
    // Assert
    let job = app.store.get_job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Discarded, "{job:?}");
    let error = job.last_error.unwrap_or_default();
    assert!(
        error.contains("payload of this deliver.http job does not read"),
        "{error}"
    );
}

both_backends!(a_delivery_job_whose_payload_does_not_read_is_discarded_saying_so);
