//! Private pages (`viewers_must_be_team_members`): no subscription path answers, and no
//! notification reaches a subscriber the page's team did not add (issue 12's security
//! probe: anonymous subscribers used to get the private incidents by mail).
//!
//! "Added by the team" means created through the v1 API, the admin UI or the CLI (an actor
//! that is not a public visitor); subscribers who came through the public form while the
//! page was public are kept but told nothing once it is private.

use herald_domain::clock::{Clock, SystemClock};
use herald_notify::links::{LINK_KEY, Links, Purpose};
use herald_store::SubscriberQuery;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp, read};
use crate::notify_support::{SmtpSink, wait_idle};

/// Form fields.
type Form<'a> = &'a [(&'a str, &'a str)];

async fn send(app: &TestApp, method: Method, path: &str, form: Form<'_>) -> Resp {
    read(
        app.client
            .request(method, app.url(path))
            .form(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The token of `email`'s manage link, signed with the instance's link key.
async fn manage_token_of(app: &TestApp, email: &str) -> String {
    let q = SubscriberQuery {
        q: Some(email.to_owned()),
        limit: 10,
        ..SubscriberQuery::default()
    };
    let sub = app.store.list_subscribers(&app.page.id, &q).await.unwrap();
    let key = app
        .store
        .instance_secret(
            LINK_KEY,
            herald_notify::signing::new_secret,
            SystemClock.now(),
        )
        .await
        .unwrap();
    Links::new(&key).token(&sub[0].id, Purpose::Manage, SystemClock.now())
}

async fn private_pages_take_no_subscribers_and_tell_only_the_team_s(b: Backend) {
    // Arrange: while the page is public, Pat subscribes through the form and confirms, and
    // Quinn subscribes but has not confirmed yet; the team adds Terry through the API
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    let (pat, quinn, terry) = ("pat@example.com", "quinn@example.com", "terry@example.com");
    for who in [pat, quinn] {
        let r = send(
            &app,
            Method::POST,
            "/p/acme/subscriptions",
            &[("subscriber[email]", who)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let confirm_of = |who: &'static str| {
        let sink = &sink;
        async move {
            sink.wait_for(who, |m| m.header("subject").contains("Confirm"))
                .await
                .link("/subscriptions/confirm/")
                .expect("a confirmation link")
        }
    };
    let pat_confirm = confirm_of(pat).await;
    let done = read(app.client.post(&pat_confirm).send().await.unwrap()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    // Pat's manage link, as the mails carry it: valid for managing and unsubscribing.
    let manage_token = manage_token_of(&app, pat).await;
    let quinn_confirm = confirm_of(quinn).await;
    let confirm_token = quinn_confirm.rsplit('/').next().unwrap().to_owned();
    let r = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"email": terry, "skip_confirmation_notification": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Act 1: the page goes private
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"viewers_must_be_team_members": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = app.store.count_subscribers(&app.page.id).await.unwrap();
    // Assert 1: every subscription path of the page answers 404 and writes nothing
    let email = [("subscriber[email]", "eve@example.com")];
    let by_token = [("subscriber[id]", manage_token.as_str())];
    let cases: Vec<(Method, String, Form)> = vec![
        (Method::POST, "/p/acme/subscriptions".into(), &email),
        (Method::POST, "/subscriptions".into(), &email),
        (
            Method::POST,
            "/p/acme/api/v2/subscribers.json".into(),
            &email,
        ),
        (Method::POST, "/api/v2/subscribers.json".into(), &email),
        (
            Method::DELETE,
            "/p/acme/api/v2/subscribers.json".into(),
            &by_token,
        ),
        (
            Method::DELETE,
            format!("/p/acme/api/v2/subscribers/{manage_token}.json"),
            &[],
        ),
        (
            Method::GET,
            format!("/p/acme/subscriptions/confirm/{confirm_token}"),
            &[],
        ),
        (
            Method::POST,
            format!("/p/acme/subscriptions/confirm/{confirm_token}"),
            &[],
        ),
        (
            Method::GET,
            format!("/p/acme/subscriptions/unsubscribe/{manage_token}"),
            &[],
        ),
        (
            Method::POST,
            format!("/p/acme/subscriptions/unsubscribe/{manage_token}"),
            &[],
        ),
        (
            Method::GET,
            format!("/p/acme/subscriptions/{manage_token}"),
            &[],
        ),
        (
            Method::POST,
            format!("/p/acme/subscriptions/{manage_token}"),
            &[],
        ),
    ];
    for (method, path, form) in cases {
        let r = send(&app, method.clone(), &path, form).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.headers["cache-control"], "no-store", "{method} {path}");
    }
    assert_eq!(
        app.store.count_subscribers(&app.page.id).await.unwrap(),
        before,
        "nothing written"
    );
    // Act 2: an incident on the private page
    app.incident(
        json!({"name": "Private trouble", "status": "investigating", "body": "Secret detail."}),
    )
    .await;
    // Assert 2: the team's subscriber is told; once every delivery was made, the public one
    // got nothing about it
    sink.wait_for(terry, |m| m.header("subject").contains("Private trouble"))
        .await;
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.email").await;
    let leaked: Vec<_> = sink
        .mails()
        .into_iter()
        .filter(|m| m.to != terry && m.raw.contains("Private trouble"))
        .map(|m| m.to)
        .collect();
    assert!(
        leaked.is_empty(),
        "told {leaked:?} about a private incident"
    );
}

both_backends!(private_pages_take_no_subscribers_and_tell_only_the_team_s);
