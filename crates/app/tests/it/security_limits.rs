//! The database-backed rate limit (`Store::take_rate`, behind the subscribe form and the
//! admin sign-in) holds under concurrency: N requests at once never take more than the
//! limit between them. On PostgreSQL the old count-then-insert let every transaction count
//! the same rows and insert; SQLite's single writer serialised it already.

use chrono::TimeDelta;
use herald_domain::clock::{Clock, SystemClock};
use herald_web::subscriptions::PER_IP;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

/// Concurrent calls made at once, and the limit they share.
const AT_ONCE: usize = 40;
const LIMIT: i64 = 5;

async fn concurrent_takes_never_exceed_the_limit(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let now = SystemClock.now();
    // Act: AT_ONCE takes of one bucket, all started together
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..AT_ONCE {
        let (store, barrier) = (app.store.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            store
                .take_rate("race", LIMIT, TimeDelta::minutes(10), now)
                .await
                .unwrap()
        });
    }
    let granted = tasks.join_all().await.into_iter().filter(|g| *g).count();
    // Assert
    assert_eq!(granted, LIMIT as usize);
}

async fn concurrent_subscribes_from_one_address_get_the_limit_through(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    // Act: one address posts the subscribe form AT_ONCE times at once
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..AT_ONCE {
        let (client, url, barrier) = (
            app.client.clone(),
            app.url("/p/acme/api/v2/subscribers.json"),
            barrier.clone(),
        );
        tasks.spawn(async move {
            let email = format!("user{i}@example.com");
            let req = client
                .post(url)
                .form(&[("subscriber[email]", email.as_str())]);
            barrier.wait().await;
            read(req.send().await.unwrap()).await.status
        });
    }
    let statuses = tasks.join_all().await;
    // Assert: exactly the limit accepted, the rest refused, and as many subscribers stored
    let limit = usize::try_from(PER_IP).unwrap();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, refused), (limit, AT_ONCE - limit), "{statuses:?}");
    let stored: i64 = app
        .store
        .count_subscribers(&app.page.id)
        .await
        .unwrap()
        .iter()
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(stored, PER_IP);
}

both_backends!(
    concurrent_takes_never_exceed_the_limit,
    concurrent_subscribes_from_one_address_get_the_limit_through,
);
