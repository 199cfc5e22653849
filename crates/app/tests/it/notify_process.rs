//! No notification is lost when herald is killed (RELIABILITY.md row 21, scaled to a test):
//! incidents posted continuously by concurrent clients while `kill -9` hits the process at
//! random moments, with POSTs in flight; then every (event, subscriber) pair of every POST
//! that got its 201 is delivered at least once, any duplicate carries the same `webhook-id`,
//! and unsubscribed endpoints get nothing.

use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::{IncidentId, PageId};
use herald_domain::subscriber::{NewSubscriber, SubscriberInput};
use rand::RngExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};
use crate::notify_support::Receiver;
use crate::process::{Herald, herald_cli};

const SUBSCRIBERS: usize = 20;
/// Times herald is killed, each time with POSTs in flight.
const KILLS: usize = 6;
/// Clients posting incidents at once, without pause between kills.
const POSTERS: usize = 2;

const ENV: &[(&str, &str)] = &[
    ("HERALD_EGRESS_ALLOW", "127.0.0.0/8"),
    ("HERALD_API_REQUESTS_PER_MINUTE", "1000000"),
    ("HERALD_WORKER_HEARTBEAT_MS", "300"),
    ("HERALD_WORKER_STALE_MS", "1500"),
    ("HERALD_WORKER_POLL_MS", "200"),
];

async fn kill_9_during_incidents_loses_no_notification(b: Backend) {
    // Arrange: a page, webhook subscribers on a loopback receiver, one unsubscribed
    let rx = Receiver::start().await;
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let (ok, page, _, _) = herald_cli(
        &db.url,
        &["pages", "create", "--name", "Acme", "--slug", "acme"],
    )
    .await;
    assert!(ok);
    let page = page.trim().to_owned();
    let (ok, key, _, _) = herald_cli(&db.url, &["keys", "create", "--page", &page]).await;
    assert!(ok);
    let key = key.trim().to_owned();
    let now = SystemClock.now();
    let subscribe = |path: String| {
        let input = SubscriberInput {
            endpoint: Some(rx.url(&path)),
            email: Some("ops@example.com".into()),
            ..SubscriberInput::default()
        };
        NewSubscriber::parse(&input, true).unwrap()
    };
    for i in 0..SUBSCRIBERS {
        store
            .create_subscriber(
                &PageId::from(&page),
                &subscribe(format!("/hook/{i}")),
                Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                false,
                &Actor::cli(),
                now,
            )
            .await
            .unwrap();
    }
    let (gone, _) = store
        .create_subscriber(
            &PageId::from(&page),
            &subscribe("/unsubscribed".into()),
            Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            false,
            &Actor::cli(),
            now,
        )
        .await
        .unwrap();
    store
        .unsubscribe(
            &PageId::from(&page),
            std::slice::from_ref(&gone.id),
            &Actor::cli(),
            now,
        )
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // Act: clients post incidents without pause; herald is killed with -9 at random moments
    // while their POSTs are in flight, and restarted
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut caught = 0;
    let mut sent = 0;
    let mut herald = Herald::start(&db.url, "all", ENV).await;
    for kill in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let posters: Vec<_> = (0..POSTERS)
            .map(|p| {
                let (client, base, page, key) =
                    (client.clone(), herald.base.clone(), page.clone(), key.clone());
                let (acked, in_flight, stop) =
                    (acknowledged.clone(), in_flight.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let name = format!("Incident {kill}.{p}.{n}");
                        in_flight.fetch_add(1, Ordering::SeqCst);
                        let r = client
                            .post(format!("{base}/v1/pages/{page}/incidents"))
                            .header("Authorization", format!("OAuth {key}"))
                            .json(&json!({"incident": {"name": name, "status": "investigating", "body": "b"}}))
                            .send()
                            .await;
                        let body = match r {
                            Ok(r) if r.status() == reqwest::StatusCode::CREATED => r.json::<Value>().await.ok(),
                            _ => None,
                        };
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        if let Some(v) = body {
                            acked.lock().unwrap().push(v["id"].as_str().unwrap().to_owned());
                        }
                    }
                    n
                })
            })
            .collect();
        let wait = rand::rng().random_range(100..400);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        stop.store(true, Ordering::SeqCst);
        caught += in_flight.load(Ordering::SeqCst);
        herald.kill9();
        for p in posters {
            sent += p.await.unwrap();
        }
        herald = Herald::start(&db.url, "all", ENV).await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        caught > 0,
        "no kill caught a POST in flight; the test proved nothing"
    );
    // Wait until every subscriber has heard of every acknowledged incident
    let want: HashSet<&str> = acknowledged.iter().map(String::as_str).collect();
    let heard = |path: &str| -> HashMap<String, HashSet<String>> {
        // incident id -> webhook-ids of its "created" message
        let mut m: HashMap<String, HashSet<String>> = HashMap::new();
        for h in rx.hits(path) {
            let v: Value = serde_json::from_str(&h.body).unwrap();
            if v["event_type"] == "incident.created" {
                let id = v["incident"]["id"].as_str().unwrap().to_owned();
                let wid = h.headers["webhook-id"].to_str().unwrap().to_owned();
                m.entry(id).or_default().insert(wid);
            }
        }
        m
    };
    let started = Instant::now();
    loop {
        let missing: usize = (0..SUBSCRIBERS)
            .map(|i| {
                let got = heard(&format!("/hook/{i}"));
                want.iter().filter(|id| !got.contains_key(**id)).count()
            })
            .sum();
        if missing == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{missing} (incident, subscriber) pairs never delivered"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(herald);
    // Assert
    let mut duplicates = 0;
    for i in 0..SUBSCRIBERS {
        let path = format!("/hook/{i}");
        for (incident, ids) in heard(&path) {
            assert_eq!(
                ids.len(),
                1,
                "{path}: incident {incident} came with several webhook-ids: {ids:?}"
            );
        }
        let created = rx
            .hits(&path)
            .iter()
            .filter(|h| h.body.contains("\"incident.created\""))
            .count();
        duplicates += created - heard(&path).len();
    }
    for id in &acknowledged {
        assert!(
            store
                .get_incident(&PageId::from(&page), &IncidentId::from(id))
                .await
                .unwrap()
                .is_some(),
            "acknowledged write {id} is missing"
        );
    }
    assert!(
        rx.hits("/unsubscribed").is_empty(),
        "an unsubscribed endpoint was notified"
    );
    eprintln!(
        "{sent} POSTs, {} acknowledged, {KILLS} kills with {caught} POSTs in flight, {} deliveries, {duplicates} duplicates",
        acknowledged.len(),
        acknowledged.len() * SUBSCRIBERS
    );
}

both_backends!(kill_9_during_incidents_loses_no_notification);
