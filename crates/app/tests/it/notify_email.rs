//! E-mail subscriptions end to end, through the public page and a real SMTP server: double
//! opt-in, notifications with RFC 8058 one-click unsubscribe, and the subscribe form's
//! answers and limits (RELIABILITY.md rows 9–11).

use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::SubscriberId;
use herald_domain::subscriber::{Subscriber, SubscriberState};
use herald_store::SubscriberQuery;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp, read};
use crate::notify_support::{SmtpSink, wait_idle};

/// The page's subscriber with `email`, whatever its state.
async fn subscriber(app: &TestApp, email: &str) -> Option<Subscriber> {
    let mut all = Vec::new();
    for state in [
        SubscriberState::Unconfirmed,
        SubscriberState::Active,
        SubscriberState::Quarantined,
        SubscriberState::Unsubscribed,
    ] {
        let q = SubscriberQuery {
            state: Some(state),
            limit: 100,
            ..SubscriberQuery::default()
        };
        all.extend(app.store.list_subscribers(&app.page.id, &q).await.unwrap());
    }
    all.into_iter().find(|s| s.email.as_deref() == Some(email))
}

/// Posts a form to a public address of the page.
async fn form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> Resp {
    read(
        client
            .post(app.url(path))
            .form(fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn email_subscribers_confirm_then_get_notified_and_leave_in_one_click(b: Backend) {
    // Arrange
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    let api = app.component("API").await;
    let client = reqwest::Client::new();
    let alice = "alice@example.com";
    // Act 1: subscribe on the public page
    let r = form(
        &app,
        &client,
        "/p/acme/subscriptions",
        &[("subscriber[email]", alice)],
    )
    .await;
    // Assert 1: a page says to check the inbox; a confirmation arrives; nothing else yet
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Check your inbox"), "{}", r.text);
    let confirm_mail = sink
        .wait_for(alice, |m| m.header("subject").contains("Confirm"))
        .await;
    let confirm = confirm_mail
        .link("/subscriptions/confirm/")
        .expect("a confirmation link");
    assert_eq!(
        subscriber(&app, alice).await.unwrap().state,
        SubscriberState::Unconfirmed
    );
    // Act 2: an incident before confirming; then the link is opened (GET) but not clicked
    app.incident(json!({"name": "Before confirming", "status": "investigating", "component_ids": [api["id"]]}))
        .await;
    wait_idle(&app.store, "notify.fanout").await;
    let shown = read(client.get(&confirm).send().await.unwrap()).await;
    // Assert 2: GET shows a button and changes nothing
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.text.contains("Confirm subscription"),
        "{}",
        shown.text
    );
    assert_eq!(
        subscriber(&app, alice).await.unwrap().state,
        SubscriberState::Unconfirmed
    );
    // Act 3: the button is pressed; then an incident
    let done = read(client.post(&confirm).send().await.unwrap()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(
        done.text.contains("Subscription confirmed"),
        "{}",
        done.text
    );
    let incident = app
        .incident(json!({"name": "After confirming", "status": "identified", "body": "Mitigating.", "component_ids": [api["id"]]}))
        .await;
    // Assert 3: the notification, with one-click unsubscribe headers and a stable id
    let mail = sink
        .wait_for(alice, |m| m.header("subject").contains("After confirming"))
        .await;
    let unsubscribe = mail
        .header("list-unsubscribe")
        .trim_matches(['<', '>'])
        .to_owned();
    assert!(
        unsubscribe.contains("/subscriptions/unsubscribe/"),
        "{mail:?}"
    );
    assert_eq!(
        mail.header("list-unsubscribe-post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(mail.header("message-id").contains('@'), "{mail:?}");
    assert!(
        mail.raw.contains("multipart/alternative"),
        "HTML and text parts"
    );
    let mails = sink.mails();
    assert!(
        !mails
            .iter()
            .any(|m| m.header("subject").contains("Before confirming")),
        "an unconfirmed subscriber got a notification"
    );
    // Act 4: the mail client's unsubscribe: GET (a scanner) first, then the one-click POST
    let peek = read(client.get(&unsubscribe).send().await.unwrap()).await;
    let still = subscriber(&app, alice).await.unwrap().state;
    let one_click = read(
        reqwest::Client::new()
            .post(&unsubscribe)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Assert 4: GET changed nothing; POST unsubscribed at once
    assert_eq!(peek.status, StatusCode::OK);
    assert_eq!(still, SubscriberState::Active);
    assert_eq!(one_click.status, StatusCode::OK, "{}", one_click.text);
    assert_eq!(
        subscriber(&app, alice).await.unwrap().state,
        SubscriberState::Unsubscribed
    );
    // Act 5: another update
    let before = sink.mails().iter().filter(|m| m.to == alice).count();
    let id = incident["id"].as_str().unwrap();
    let r = app
        .patch(
            &app.page_path(&format!("/incidents/{id}")),
            &json!({"incident": {"status": "resolved", "body": "Fixed."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.email").await;
    // Assert 5: nothing more for alice
    assert_eq!(
        sink.mails().iter().filter(|m| m.to == alice).count(),
        before
    );
}

both_backends!(email_subscribers_confirm_then_get_notified_and_leave_in_one_click);

async fn subscribing_answers_alike_whatever_the_state_and_is_limited(b: Backend) {
    // Arrange: one confirmed and one waiting subscriber
    let app = TestApp::spawn(b).await;
    let r = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"email": "confirmed@example.com", "skip_confirmation_notification": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let client = reqwest::Client::new();
    let path = "/p/acme/api/v2/subscribers.json";
    let subscribe = |email: &'static str| {
        let (client, app) = (&client, &app);
        async move { form(app, client, path, &[("subscriber[email]", email)]).await }
    };
    subscribe("waiting@example.com").await;
    // Act: the same form for a new, a waiting and a confirmed address
    let answers = [
        subscribe("new@example.com").await,
        subscribe("waiting@example.com").await,
        subscribe("confirmed@example.com").await,
    ];
    assert_eq!(subscribe("fifth@example.com").await.status, StatusCode::OK);
    let sixth = subscribe("sixth@example.com").await;
    // Assert: one answer, but for the address itself
    let bodies: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.headers["access-control-allow-origin"], "*");
            r.text
                .split('"')
                .map(|w| {
                    if w.ends_with("@example.com") {
                        "ADDRESS"
                    } else {
                        w
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    assert!(subscriber(&app, "new@example.com").await.is_some());
    assert_eq!(
        subscriber(&app, "confirmed@example.com")
            .await
            .unwrap()
            .state,
        SubscriberState::Active,
        "re-subscribing changes nothing"
    );
    // Assert: the sixth subscribe from this address in ten minutes waits
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.text
    );
    assert!(sixth.headers.contains_key("retry-after"));
    assert!(subscriber(&app, "sixth@example.com").await.is_none());
}

both_backends!(subscribing_answers_alike_whatever_the_state_and_is_limited);

async fn one_address_gets_at_most_three_confirmations_a_day(b: Backend) {
    // Arrange: requests from five loopback addresses, so the per-client limit is not hit
    let app = TestApp::spawn(b).await;
    // Act
    for n in 1..=5u8 {
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, n]))
            .build()
            .unwrap();
        let r = form(
            &app,
            &client,
            "/p/acme/api/v2/subscribers.json",
            &[("subscriber[email]", "target@example.com")],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // A webhook cannot be confirmed from an inbox: the public form refuses it
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 6]))
        .build()
        .unwrap();
    let hook = form(
        &app,
        &other,
        "/p/acme/api/v2/subscribers.json",
        &[
            ("subscriber[endpoint]", "https://hooks.example.com/x"),
            ("subscriber[email]", "ops@example.com"),
        ],
    )
    .await;
    assert_eq!(
        hook.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        hook.text
    );
    assert!(subscriber(&app, "ops@example.com").await.is_none());
    // Assert: three confirmation jobs, however the others fared
    let mut confirmations = 0;
    for state in [
        herald_store::JobState::Scheduled,
        herald_store::JobState::Available,
        herald_store::JobState::Running,
        herald_store::JobState::Retryable,
        herald_store::JobState::Completed,
        herald_store::JobState::Discarded,
    ] {
        confirmations += app
            .store
            .list_jobs(state, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.payload.get("confirm_subscriber_id").is_some())
            .count();
    }
    assert_eq!(confirmations, 3);
}

both_backends!(one_address_gets_at_most_three_confirmations_a_day);

async fn links_open_only_their_own_subscriber_and_purpose(b: Backend) {
    // Arrange: two subscribers, their links, and another page
    let app = TestApp::spawn(b).await;
    let db = app.component("DB").await;
    let make = |email: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post(
                    &app.page_path("/subscribers"),
                    &json!({"subscriber": {"email": email, "skip_confirmation_notification": true}}),
                )
                .await;
            SubscriberId::from(r.json()["id"].as_str().unwrap())
        }
    };
    let (a, b_id) = (make("a@example.com").await, make("b@example.com").await);
    app.new_page("other").await;
    // (Made behind the API's back: the version poll publishes it within a second.)
    for _ in 0..100 {
        if app.public("/p/other/", &[]).await.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let key = app
        .store
        .instance_secret(
            herald_notify::links::LINK_KEY,
            herald_notify::signing::new_secret,
            SystemClock.now(),
        )
        .await
        .unwrap();
    let links = herald_notify::links::Links::new(&key);
    let now = SystemClock.now();
    use herald_notify::links::Purpose;
    let unsub_a = links.token(&a, Purpose::Unsubscribe, now);
    let manage_a = links.token(&a, Purpose::Manage, now);
    let confirm_a = links.token(&a, Purpose::Confirm, now);
    let mut tampered = unsub_a.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let client = reqwest::Client::new();
    let post = |path: String| {
        let client = &client;
        let app = &app;
        async move { read(client.post(app.url(&path)).send().await.unwrap()).await }
    };
    // Act + Assert: forged, wrong-purpose and wrong-page tokens change nothing
    for bad in [
        format!("/p/acme/subscriptions/unsubscribe/{tampered}"),
        format!("/p/acme/subscriptions/unsubscribe/{confirm_a}"),
        format!("/p/acme/subscriptions/unsubscribe/{a}"),
        format!("/p/other/subscriptions/unsubscribe/{unsub_a}"),
    ] {
        let r = post(bad.clone()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.text);
    }
    let bare = read(
        client
            .delete(app.url("/p/acme/api/v2/subscribers.json"))
            .form(&[("subscriber[id]", a.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        bare.status,
        StatusCode::NOT_FOUND,
        "a bare id is not a capability"
    );
    assert_eq!(
        subscriber(&app, "a@example.com").await.unwrap().state,
        SubscriberState::Active
    );
    // Act + Assert: the manage page shows only its subscriber, and saves its choice
    let page = read(
        client
            .get(app.url(&format!("/p/acme/subscriptions/{manage_a}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("a@example.com"));
    assert!(!page.text.contains("b@example.com"));
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let saved = form(
        &app,
        &client,
        &format!("/p/acme/subscriptions/{manage_a}"),
        &[("component_ids[]", db["id"].as_str().unwrap())],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(
        subscriber(&app, "a@example.com")
            .await
            .unwrap()
            .component_ids,
        vec![db["id"].as_str().unwrap().to_owned()]
    );
    let unknown = form(
        &app,
        &client,
        &format!("/p/acme/subscriptions/{manage_a}"),
        &[("component_ids[]", "zzzzzzzzzzzz")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        subscriber(&app, "a@example.com")
            .await
            .unwrap()
            .component_ids
            .len(),
        1,
        "a refused change leaves the old one"
    );
    // Act + Assert: the legacy DELETE with the signed token unsubscribes a, and only a
    let gone = read(
        client
            .delete(app.url("/p/acme/api/v2/subscribers.json"))
            .form(&[("subscriber[id]", unsub_a.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert_eq!(
        subscriber(&app, "a@example.com").await.unwrap().state,
        SubscriberState::Unsubscribed
    );
    let other = app
        .store
        .get_subscriber(&app.page.id, &b_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.state, SubscriberState::Active);
}

both_backends!(links_open_only_their_own_subscriber_and_purpose);

async fn behind_a_proxy_the_limit_counts_the_forwarded_client(b: Backend) {
    // Arrange: herald told that its proxy puts the client's address in X-Forwarded-For
    let app = TestApp::spawn_with(b, |c| {
        c.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    let client = reqwest::Client::new();
    let post = |n: u32, from: &'static str| {
        let (client, app) = (&client, &app);
        async move {
            let email = format!("user{n}@example.com");
            read(
                client
                    .post(app.url("/p/acme/api/v2/subscribers.json"))
                    .header("X-Forwarded-For", format!("198.51.100.7, {from}"))
                    .form(&[("subscriber[email]", email.as_str())])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
            .status
        }
    };
    // Act: six clients once each, then one client six times
    let mut many = Vec::new();
    for (n, ip) in [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.4",
        "203.0.113.5",
        "203.0.113.6",
    ]
    .into_iter()
    .enumerate()
    {
        many.push(post(n as u32, ip).await);
    }
    let mut one = Vec::new();
    for n in 10..16 {
        one.push(post(n, "203.0.113.9").await);
    }
    // Assert: the connection (the proxy) is not what is limited; each client is
    assert!(many.iter().all(|s| *s == StatusCode::OK), "{many:?}");
    assert_eq!(&one[..5], &[StatusCode::OK; 5]);
    assert_eq!(one[5], StatusCode::TOO_MANY_REQUESTS);
}

both_backends!(behind_a_proxy_the_limit_counts_the_forwarded_client);
