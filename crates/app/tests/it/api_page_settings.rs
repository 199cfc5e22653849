//! Page settings that used to be stored and do nothing: `hidden_from_search` (noindex),
//! `ip_restrictions` (refused), and the v2 documents' `reminder_intervals`, on both backends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn hidden_pages_ask_not_to_be_indexed(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let meta = "<meta name=\"robots\" content=\"noindex\">";
    assert!(!app.public("/p/acme/", &[]).await.text.contains(meta));
    // Act
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"hidden_from_search": true}}),
        )
        .await;
    // Assert: every HTML page of it says noindex
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for path in ["/p/acme/", "/p/acme/history", "/p/acme/uptime"] {
        let page = app.public(path, &[]).await;
        assert!(page.text.contains(meta), "{path} lacks noindex");
    }
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"hidden_from_search": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!app.public("/p/acme/", &[]).await.text.contains(meta));
}

async fn ip_restrictions_are_refused_not_ignored(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    // Act
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"ip_restrictions": "203.0.113.0/24", "name": "Renamed"}}),
        )
        .await;
    // Assert: 422 naming the field; nothing applied
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("page.ip_restrictions"), "{}", r.text);
    assert!(r.error().contains("not supported"), "{}", r.error());
    let page = app.get(&app.page_path("")).await.json();
    assert_eq!(page["name"], "Acme Cloud");
    assert_eq!(page["ip_restrictions"], Value::Null);
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"ip_restrictions": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn v2_incidents_and_maintenances_carry_reminder_intervals(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    app.incident(
        json!({"name": "Down", "status": "investigating", "deliver_notifications": false}),
    )
    .await;
    app.incident(
        json!({"name": "Upgrade", "status": "scheduled", "scheduled_for": "2099-01-01T00:00:00Z",
        "scheduled_until": "2099-01-01T02:00:00Z", "deliver_notifications": false}),
    )
    .await;
    // Act + Assert: the key is there, null, in every list
    for (doc, list) in [
        ("summary.json", "incidents"),
        ("summary.json", "scheduled_maintenances"),
        ("incidents.json", "incidents"),
        ("incidents/unresolved.json", "incidents"),
        ("scheduled-maintenances.json", "scheduled_maintenances"),
        (
            "scheduled-maintenances/upcoming.json",
            "scheduled_maintenances",
        ),
    ] {
        let v = app
            .public(&format!("/p/acme/api/v2/{doc}"), &[])
            .await
            .json();
        let items = v[list].as_array().unwrap();
        assert!(!items.is_empty(), "{doc} {list} is empty");
        for i in items {
            let o = i.as_object().unwrap();
            assert_eq!(
                o.get("reminder_intervals"),
                Some(&Value::Null),
                "{doc}: {i}"
            );
        }
    }
}

async fn the_email_logo_heads_notification_emails(b: Backend) {
    // Arrange: a page with an e-mail logo and a confirmed subscriber
    let sink = crate::notify_support::SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    let logo = "https://cdn.example/mail-logo.png";
    let r = app
        .patch(&app.page_path(""), &json!({"page": {"email_logo": logo}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"email": "reader@example.com", "skip_confirmation_notification": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Act
    app.incident(json!({"name": "Logo check", "status": "investigating", "body": "Looking."}))
        .await;
    // Assert: the HTML part shows the logo
    let mail = sink
        .wait_for("reader@example.com", |m| {
            m.header("subject").contains("Logo check")
        })
        .await;
    let html = mail
        .raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(html.contains(&format!("<img src=\"{logo}\"")), "{html}");
}

both_backends!(
    the_email_logo_heads_notification_emails,
    hidden_pages_ask_not_to_be_indexed,
    ip_restrictions_are_refused_not_ignored,
    v2_incidents_and_maintenances_carry_reminder_intervals,
);
