//! The subscriber screens: list, search, filters, pages, add (any channel; endpoints pass the
//! egress check), unsubscribe, CSV export, the delivery log and replaying a dead delivery.

use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::notification::DeliveryState;
use herald_domain::subscriber::{Channel, NewSubscriber, SubscriberInput};
use herald_domain::user::Role;
use herald_store::{DeliveryRecord, Finish, JobState, Outcome};
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_routes::new_subscriber;
use crate::admin_support::{Admin, admin_page, audit_count, user};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn count(app: &TestApp) -> usize {
    app.store
        .list_subscribers(
            &app.page.id,
            &herald_store::SubscriberQuery {
                limit: 10_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len()
}

async fn admin_subscribers_list_search_add_remove_and_export(backend: Backend) {
    // Arrange: 52 subscribers (more than one screen of 50)
    let app = TestApp::spawn(backend).await;
    for i in 0..51 {
        new_subscriber(&app, &format!("user{i:02}@example.com")).await;
    }
    let alice = new_subscriber(&app, "alice@corp.example").await;
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let list = admin_page(&app, "/subscribers");
    let mut n = audit_count(&app).await;
    // Act + Assert: pages of 50
    let first = a.get(&list).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.text.contains("user00@example.com"));
    assert!(
        !first.text.contains("alice@corp.example"),
        "on the next page"
    );
    assert!(first.text.contains("Next →"));
    let second = a.get(&format!("{list}?page=1")).await;
    assert!(second.text.contains("alice@corp.example"));
    assert!(second.text.contains("← Previous"));
    // search and filters
    let found = a.get(&format!("{list}?q=CORP.exam")).await;
    assert!(found.text.contains("alice@corp.example"));
    assert!(!found.text.contains("user00@example.com"));
    let sms = a.get(&format!("{list}?channel=sms")).await;
    assert!(sms.text.contains("No subscribers match."));
    let bad = a.get(&format!("{list}?state=sleepy")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // add: bad input first, nothing written
    let before = count(&app).await;
    let loopback = a
        .post(
            &list,
            &[
                ("channel", "webhook"),
                ("email", "ops@example.com"),
                ("endpoint", "http://127.0.0.1:9/hook"),
            ],
        )
        .await;
    assert_eq!(
        loopback.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        loopback.text
    );
    assert!(
        loopback.text.contains("This URL cannot be used")
            && loopback
                .text
                .contains("Herald only posts to public addresses."),
        "{}",
        loopback.text
    );
    assert!(
        loopback.text.contains("value=\"http://127.0.0.1:9/hook\""),
        "kept"
    );
    let chat = a
        .post(
            &list,
            &[("channel", "slack"), ("endpoint", "http://[::1]/slack")],
        )
        .await;
    assert_eq!(
        chat.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        chat.text
    );
    let bad_email = a
        .post(&list, &[("channel", "email"), ("email", "not an address")])
        .await;
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_email
            .text
            .contains("class=\"field-error\" id=\"aemail-err\"")
    );
    let pigeon = a
        .post(&list, &[("channel", "pigeon"), ("email", "a@example.com")])
        .await;
    assert!(pigeon.text.contains("Choose a channel."));
    let duplicate = a
        .post(
            &list,
            &[("channel", "email"), ("email", "alice@corp.example")],
        )
        .await;
    assert!(
        duplicate.text.contains("already exists"),
        "{}",
        duplicate.text
    );
    assert_eq!(count(&app).await, before);
    assert_eq!(audit_count(&app).await, n);
    // add an e-mail subscriber without a confirmation
    let r = a
        .post(
            &list,
            &[
                ("channel", "email"),
                ("email", "new@example.com"),
                ("skip_confirmation", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    assert_eq!(count(&app).await, before + 1);
    // unsubscribe Alice
    let r = a
        .post(
            &admin_page(&app, &format!("/subscribers/{alice}/unsubscribe")),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    let s = app
        .store
        .get_subscriber(&app.page.id, &alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.state.as_str(), "unsubscribed");
    let unknown = a
        .post(&admin_page(&app, "/subscribers/nope/unsubscribe"), &[])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app).await, n);
    // export: the v1 CSV, filtered like the list
    let csv = a.get(&format!("{list}/export.csv?q=example.com")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut lines = csv.text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,mode,state,email,phone_number,endpoint,components,incident_id,created_at"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.len(),
        52,
        "51 users and the new one, not unsubscribed Alice"
    );
    assert!(rows.iter().any(|l| l.contains("\"new@example.com\"")));
    assert!(!csv.text.contains("alice@corp.example"));
    assert_eq!(audit_count(&app).await, n, "reading writes nothing");
}

async fn admin_replay_requeues_a_dead_delivery_with_the_same_key(backend: Backend) {
    // Arrange: no worker (the job must stay where the test puts it); a webhook subscriber
    // whose delivery died
    let app = TestApp::spawn_with(backend, |c| c.role = herald::config::Role::Web).await;
    let now = SystemClock.now();
    let new = NewSubscriber::parse(
        &SubscriberInput {
            email: Some("ops@example.com".to_owned()),
            endpoint: Some("https://hooks.example.com/x".to_owned()),
            ..Default::default()
        },
        true,
    )
    .unwrap();
    let (sub, _) = app
        .store
        .create_subscriber(
            &app.page.id,
            &new,
            Some("whsec_test"),
            false,
            &Actor::cli(),
            now,
        )
        .await
        .unwrap();
    let delivery = herald_domain::notification::delivery_id("evt1", &sub.id);
    let mut job = herald_store::kinds::DELIVER_HTTP.raw_job(
        Some(&app.page.id),
        json!({"event_id": "evt1", "subscriber_id": sub.id, "delivery_id": delivery}),
    );
    job.unique_key = Some(delivery.clone());
    let queue = job.queue.clone();
    let id = app.store.enqueue(&[job], now).await.unwrap()[0];
    let claimed = app.store.claim_jobs(&queue, "test", 10, now).await.unwrap();
    assert_eq!(claimed.len(), 1);
    app.store
        .finish_jobs(
            &[Finish {
                id,
                attempt: claimed[0].attempt,
                outcome: Outcome::Discard {
                    error: "410 Gone".to_owned(),
                },
            }],
            now,
        )
        .await
        .unwrap();
    app.store
        .record_delivery(
            &DeliveryRecord {
                id: &delivery,
                event_id: "evt1",
                subscriber_id: &sub.id,
                page_id: &app.page.id,
                channel: Channel::Webhook,
                state: DeliveryState::Dead,
                attempt: 1,
                status: Some(410),
                error: Some("410 Gone".to_owned()),
            },
            now,
        )
        .await
        .unwrap();
    user(&app, "manager@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "manager@example.com").await;
    let n = audit_count(&app).await;
    // Act
    let log = a.get(&admin_page(&app, "/deliveries")).await;
    let mine = a
        .get(&admin_page(&app, &format!("/subscribers/{}", sub.id)))
        .await;
    let replay = admin_page(&app, &format!("/deliveries/{delivery}/replay"));
    let r = a.post(&replay, &[("subscriber", sub.id.as_str())]).await;
    // Assert
    assert_eq!(log.status, StatusCode::OK);
    assert!(
        log.text.contains("dead") && log.text.contains(&replay),
        "{}",
        log.text
    );
    assert!(mine.text.contains("https://hooks.example.com/x"));
    assert!(mine.text.contains(&replay));
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        r.headers["location"],
        admin_page(&app, &format!("/subscribers/{}", sub.id)).as_str()
    );
    assert_eq!(audit_count(&app).await, n + 1);
    let j = app.store.get_job(id).await.unwrap().unwrap();
    assert_eq!(j.state, JobState::Available, "back in its queue");
    assert_eq!(
        j.unique_key.as_deref(),
        Some(delivery.as_str()),
        "same webhook-id"
    );
    assert_eq!(j.payload["delivery_id"], delivery.as_str());
    // a second replay finds no dead job, says so and writes nothing
    let again = a.post(&replay, &[]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.text.contains("no dead job to replay"),
        "{}",
        again.text
    );
    assert_eq!(audit_count(&app).await, n + 1);
}

both_backends!(
    admin_subscribers_list_search_add_remove_and_export,
    admin_replay_requeues_a_dead_delivery_with_the_same_key,
);
