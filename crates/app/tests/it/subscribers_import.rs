//! The bulk subscriber import (`POST /v1/pages/{id}/subscribers/import` and the admin
//! upload): JSON and CSV, the export's CSV read back, all-or-nothing refusals naming every
//! bad line, 400 for a file that cannot be read, 413 over 10 MiB, and what reaches a real
//! SMTP server with and without `skip_confirmation_notification`.

use herald_domain::clock::{Clock, SystemClock};
use herald_domain::subscriber::SubscriberState;
use herald_domain::user::Role;
use herald_store::SubscriberQuery;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_routes::new_subscriber;
use crate::admin_support::{Admin, admin_page, audit_count, csrf_of, user};
use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp, read};
use crate::notify_support::{SmtpSink, wait_idle};

/// Posts `body` as `content_type` to the page's import, with the app's key.
async fn upload(app: &TestApp, query: &str, content_type: &str, body: Vec<u8>) -> Resp {
    read(
        app.client
            .post(app.url(&app.page_path(&format!("/subscribers/import{query}"))))
            .header("Authorization", format!("OAuth {}", app.key))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn import_json(app: &TestApp, body: &Value) -> Resp {
    upload(
        app,
        "",
        "application/json",
        serde_json::to_vec(body).unwrap(),
    )
    .await
}

async fn import_csv(app: &TestApp, query: &str, csv: &str) -> Resp {
    upload(app, query, "text/csv", csv.as_bytes().to_vec()).await
}

/// Every subscriber of the page, whatever its state.
async fn all(app: &TestApp) -> Vec<herald_domain::subscriber::Subscriber> {
    let mut out = Vec::new();
    for state in SubscriberState::ALL {
        let q = SubscriberQuery {
            state: Some(*state),
            limit: 1_000_000,
            ..SubscriberQuery::default()
        };
        out.extend(app.store.list_subscribers(&app.page.id, &q).await.unwrap());
    }
    out
}

fn by_target<'a>(
    subs: &'a [herald_domain::subscriber::Subscriber],
    target: &str,
) -> &'a herald_domain::subscriber::Subscriber {
    subs.iter()
        .find(|s| {
            [&s.email, &s.phone_number, &s.endpoint]
                .iter()
                .any(|v| v.as_deref() == Some(target))
                && (s.channel.as_str() != "webhook" || s.endpoint.as_deref() == Some(target))
        })
        .unwrap_or_else(|| panic!("no subscriber {target}"))
}

/// How many audit entries of `action` exist.
async fn audited(app: &TestApp, action: &str) -> usize {
    app.store
        .list_audit(None, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

async fn subscribers_import_json_and_csv_create_and_skip_what_is_there(b: Backend) {
    // Arrange: a subscriber already here and one who left
    let app = TestApp::spawn_with(b, |c| c.egress_allow = "127.0.0.0/8".into()).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    new_subscriber(&app, "old@example.com").await;
    let gone = new_subscriber(&app, "gone@example.com").await;
    let r = app
        .delete(&app.page_path(&format!("/subscribers/{gone}")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Act 1: JSON, confirmation skipped
    let r = import_json(
        &app,
        &json!({
            "skip_confirmation_notification": true,
            "subscribers": [
                {"email": "A@example.com", "component_ids": [api]},
                {"phone_number": "+44 20 7946 0958"},
                {"endpoint": "http://127.0.0.1:9/hook", "email": "ops@example.com"},
                {"endpoint": "http://127.0.0.1:9/slack", "type": "slack"},
                {"email": "old@example.com"},
                {"email": "gone@example.com"},
                {"email": "a@example.com"},
            ]
        }),
    )
    .await;
    // Assert 1: four created, three skipped with their reasons; the webhook's secret once
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = r.json();
    assert_eq!(j["created"], 4, "{j}");
    assert_eq!(j["skipped"], 3, "{j}");
    assert_eq!(
        j["skipped_by_reason"],
        json!({"already_subscribed": 1, "unsubscribed": 1, "duplicate_in_file": 1, "unsubscribed_in_file": 0})
    );
    assert_eq!(
        j["skipped_rows"],
        json!([
            {"index": 4, "reason": "already_subscribed"},
            {"index": 5, "reason": "unsubscribed"},
            {"index": 6, "reason": "duplicate_in_file", "duplicate_of": {"index": 0}},
        ])
    );
    assert_eq!(j["confirmations"], 0);
    assert_eq!(j["webhooks"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["webhooks"][0]["index"], 2);
    assert!(
        j["webhooks"][0]["webhook_secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    let subs = all(&app).await;
    let a = by_target(&subs, "a@example.com");
    assert_eq!(
        (a.state, a.component_ids.clone()),
        (SubscriberState::Active, vec![api.as_str().into()])
    );
    assert_eq!(
        by_target(&subs, "+442079460958").state,
        SubscriberState::Active
    );
    assert_eq!(
        by_target(&subs, "http://127.0.0.1:9/slack")
            .channel
            .as_str(),
        "slack"
    );
    assert_eq!(
        by_target(&subs, "gone@example.com").state,
        SubscriberState::Unsubscribed,
        "an import does not sign up again someone who left"
    );
    let secrets = app
        .store
        .webhook_secrets(
            &by_target(&subs, "http://127.0.0.1:9/hook").id,
            SystemClock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        secrets.current,
        j["webhooks"][0]["webhook_secret"].as_str().unwrap()
    );
    assert_eq!(audited(&app, "subscribers.import").await, 1);
    // Act 2: CSV, confirmations sent (the default); a blank line and CRLF line ends
    let r = import_csv(
        &app,
        "",
        &format!(
            "email,phone_number,phone_country,endpoint,components\r\nb@example.com,,,,{api}\r\n\r\n,(555) 123-4567,US,,\r\nA@EXAMPLE.COM,,,,\r\n"
        ),
    )
    .await;
    // Assert 2: unconfirmed, each with a confirmation queued; the known one skipped by line
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = r.json();
    assert_eq!(
        (j["created"].clone(), j["confirmations"].clone()),
        (json!(2), json!(2)),
        "{j}"
    );
    assert_eq!(
        j["skipped_rows"],
        json!([{"line": 5, "reason": "already_subscribed"}])
    );
    let subs = all(&app).await;
    assert_eq!(
        by_target(&subs, "b@example.com").state,
        SubscriberState::Unconfirmed
    );
    assert_eq!(
        by_target(&subs, "+15551234567").state,
        SubscriberState::Unconfirmed
    );
    assert_eq!(subs.len(), 2 + 4 + 2);
    assert_eq!(audited(&app, "subscribers.import").await, 2);
}

async fn subscribers_import_reads_back_the_export(b: Backend) {
    // Arrange: a subscriber of every kind, with components, and one of an incident
    let app = TestApp::spawn_with(b, |c| c.egress_allow = "127.0.0.0/8".into()).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = app.component("Web").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let incident = app
        .incident(json!({"name": "Slow", "status": "investigating"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for s in [
        json!({"email": "ops@example.com", "component_ids": [api, web], "skip_confirmation_notification": true}),
        json!({"phone_number": "+1 555 123 4567", "skip_confirmation_notification": true}),
        json!({"endpoint": "http://127.0.0.1:9/hook?a=1&b=\"x\"", "email": "hooks@example.com", "component_ids": [web]}),
        json!({"endpoint": "http://127.0.0.1:9/slack", "type": "slack"}),
        json!({"endpoint": "http://127.0.0.1:9/teams", "type": "teams"}),
        json!({"endpoint": "http://127.0.0.1:9/discord", "type": "discord"}),
        // a spreadsheet formula, which the export escapes and the import reads back
        json!({"email": "=cmd|'/C.calc'!A0@example.com", "skip_confirmation_notification": true}),
    ] {
        let r = app
            .post(&app.page_path("/subscribers"), &json!({"subscriber": s}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{s}: {}", r.text);
    }
    let r = app
        .post(
            &app.page_path(&format!("/incidents/{incident}/subscribers")),
            &json!({"subscriber": {"email": "incident@example.com", "skip_confirmation_notification": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let export = app.get(&app.page_path("/subscribers/export.csv")).await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.text.lines().count(), 1 + 8, "{}", export.text);
    app.db.execute("DELETE FROM subscribers").await;
    // Act: the export imported back, then exported again
    let r = import_csv(&app, "?skip_confirmation_notification=true", &export.text).await;
    let again = app.get(&app.page_path("/subscribers/export.csv")).await;
    // Assert: the same subscribers (new ids and times)
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["created"], 8, "{}", r.text);
    let rows = |csv: &str| {
        let mut rows: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let fields: Vec<&str> = l.split("\",\"").collect();
                // id and created_at differ
                fields[1..fields.len() - 1].join("\",\"")
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(rows(&again.text), rows(&export.text), "{}", again.text);
    // and importing it once more changes nothing
    let r = import_csv(&app, "?skip_confirmation_notification=true", &again.text).await;
    assert_eq!(r.json()["created"], 0, "{}", r.text);
    assert_eq!(r.json()["skipped_by_reason"]["already_subscribed"], 8);
}

async fn subscribers_import_refuses_a_file_with_bad_lines_whole(b: Backend) {
    // Arrange: the default egress rules (no loopback)
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    new_subscriber(&app, "old@example.com").await;
    let read_only = app
        .new_key(Some(std::slice::from_ref(&app.page.id)), true)
        .await;
    let before = all(&app).await.len();
    let audit_before = audit_count(&app).await;
    let csv = format!(
        "email,endpoint,components,mode\n\
         good@example.com,,{api},\n\
         not-an-email,,,\n\
         fine@example.com,,,\n\
         c@example.com,,nope,\n\
         ops@example.com,http://127.0.0.1:9/hook,,webhook\n\
         old@example.com,,,\n\
         d@example.com,,,fax\n"
    );
    // Act
    let r = import_csv(&app, "", &csv).await;
    // Assert: every bad line, by line and field; nothing imported
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let j = r.json();
    let listed: Vec<(u64, &str)> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (3, "email"),
            (5, "components"),
            (6, "endpoint"),
            (8, "mode")
        ],
        "{j}"
    );
    assert_eq!(j["error_count"], 4);
    assert_eq!(j["field"], "email");
    let message = r.error();
    assert!(
        message.starts_with("Nothing was imported: 4 rows cannot be imported.")
            && message.contains("line 3 (email): email must be an email address")
            && message.contains("line 5 (components): no component \"nope\" on this page")
            && message.contains("line 6 (endpoint): endpoint cannot be used"),
        "{message}"
    );
    assert_eq!(all(&app).await.len(), before);
    assert_eq!(audit_count(&app).await, audit_before);
    // Act + Assert: a JSON element names its index
    let r = import_json(
        &app,
        &json!({"subscribers": [{"email": "e@example.com"}, {"email": ["x"]}, {"email": "f@example.com", "component_ids": ["nope"]}]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["errors"],
        json!([
            {"index": 1, "field": "email", "message": "email: invalid type: sequence, expected a string"},
            {"index": 2, "field": "component_ids", "message": "no component \"nope\" on this page"},
        ])
    );
    // Act + Assert: 25 bad lines: the first 20 listed, all counted
    let mut many = String::from("email\nok@example.com\n");
    for i in 0..25 {
        many.push_str(&format!("bad{i}\n"));
    }
    let r = import_csv(&app, "", &many).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let j = r.json();
    assert_eq!(j["errors"].as_array().unwrap().len(), 20);
    assert_eq!(j["errors"][0]["line"], 3);
    assert_eq!(j["errors"][19]["line"], 22);
    assert_eq!(j["error_count"], 25);
    assert!(
        r.error().contains("(the first 20 are listed)"),
        "{}",
        r.error()
    );
    // Act + Assert: files that cannot be read are a 400 naming the line
    for (what, content_type, body, want) in [
        (
            "an unclosed quote",
            "text/csv",
            "email\na@example.com\n\"b@example.com\nc@example.com\n".to_owned(),
            "line 3: a quoted field is never closed",
        ),
        (
            "a short row",
            "text/csv",
            "email,components\na@example.com,\nb@example.com\n".to_owned(),
            "line 3 has 1 fields; the header has 2",
        ),
        (
            "an unknown column",
            "text/csv; charset=utf-8",
            "email,favourite_colour\na@example.com,blue\n".to_owned(),
            "line 1: unknown column \"favourite_colour\"",
        ),
        (
            "truncated JSON",
            "application/json",
            "{\"subscribers\": [{\"email\": \"a@ex".to_owned(),
            "Malformed JSON at line 1",
        ),
    ] {
        let r = upload(&app, "", content_type, body.into_bytes()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
        assert!(r.error().contains(want), "{what}: {}", r.text);
    }
    let r = upload(
        &app,
        "",
        "text/csv",
        b"email\na@example.com\n\xff\xfe\n".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "line 3 is not UTF-8 text");
    let r = upload(&app, "", "text/plain", b"a@example.com".to_vec()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    let r = import_csv(&app, "", "email\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = import_json(&app, &json!({"subscribers": "a@example.com"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["field"], "subscribers");
    // a read-only key may not import
    let r = read(
        app.client
            .post(app.url(&app.page_path("/subscribers/import")))
            .header("Authorization", format!("OAuth {read_only}"))
            .header("Content-Type", "text/csv")
            .body("email\nz@example.com\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(all(&app).await.len(), before, "nothing was ever imported");
    assert_eq!(audit_count(&app).await, audit_before);
}

async fn subscribers_import_refuses_more_than_10_mib(b: Backend) {
    // Arrange: an 11 MB file of valid rows
    let app = TestApp::spawn(b).await;
    let mut csv = String::from("email\n");
    let mut i = 0;
    while csv.len() < 11 * 1000 * 1000 {
        csv.push_str(&format!("subscriber{i:08}@example.com\n"));
        i += 1;
    }
    // Act
    let r = import_csv(&app, "?skip_confirmation_notification=true", &csv).await;
    // Assert
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(r.error().contains("too large"), "{}", r.text);
    assert!(all(&app).await.is_empty());
    // and a file over the API's usual 1 MiB is taken: 2 MB in 8,000 long addresses
    let mut big = String::from("email\n");
    for i in 0..8_000 {
        big.push_str(&format!("{}{i:05}@example.com\n", "x".repeat(230)));
    }
    assert!(big.len() > 1024 * 1024 + 1000);
    let r = import_csv(&app, "?skip_confirmation_notification=true", &big).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["created"], 8_000);
    // imported again: every row found already there (read from the page in one pass)
    let r = import_csv(&app, "?skip_confirmation_notification=true", &big).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["skipped_by_reason"]["already_subscribed"], 8_000);
    assert_eq!(all(&app).await.len(), 8_000);
}

async fn subscribers_import_skipping_confirmation_sends_nothing_until_the_next_incident(
    b: Backend,
) {
    // Arrange
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = app.component("Web").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Act 1: the import
    let r = import_csv(
        &app,
        "?skip_confirmation_notification=true",
        &format!(
            "email,components\napi@example.com,{api}\nweb@example.com,{web}\nall@example.com,\n"
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["confirmations"], 0);
    // Act 2: the next incident, on API
    app.incident(json!({"name": "API errors", "status": "investigating", "body": "Looking.", "component_ids": [api]}))
        .await;
    // Assert: those who follow API or the page hear of it; nothing else was ever sent
    for to in ["api@example.com", "all@example.com"] {
        sink.wait_for(to, |m| m.header("subject").contains("API errors"))
            .await;
    }
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.email").await;
    let mails: Vec<(String, String)> = sink
        .mails()
        .iter()
        .map(|m| (m.to.clone(), m.header("subject").to_owned()))
        .collect();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert!(
        mails.iter().all(|(_, s)| s.contains("API errors")),
        "{mails:#?}"
    );
}

async fn subscribers_import_sends_each_confirmation_unless_skipped(b: Backend) {
    // Arrange
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    // Act
    let r = import_json(
        &app,
        &json!({"subscribers": [{"email": "one@example.com"}, {"email": "two@example.com"}], "skip_confirmation_notification": false}),
    )
    .await;
    // Assert: both wait for their confirmation, which arrives
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["confirmations"], 2);
    for to in ["one@example.com", "two@example.com"] {
        let m = sink
            .wait_for(to, |m| m.header("subject").contains("Confirm"))
            .await;
        assert!(m.link("/subscriptions/confirm/").is_some(), "{m:?}");
    }
    let subs = all(&app).await;
    assert!(
        subs.iter().all(|s| s.state == SubscriberState::Unconfirmed),
        "{subs:?}"
    );
    wait_idle(&app.store, "deliver.email").await;
    assert_eq!(sink.mails().len(), 2);
}

/// A `multipart/form-data` body as a browser sends the import form: `(name, file name,
/// content)` per field, in order.
fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----heraldTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, content) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_upload(a: &Admin, path: &str, fields: &[(&str, Option<&str>, &[u8])]) -> Resp {
    let (content_type, body) = multipart(fields);
    read(
        a.client
            .post(format!("{}{path}", a.base))
            .header("Cookie", &a.cookie)
            .header("Origin", &a.base)
            .header("Sec-Fetch-Site", "same-origin")
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn subscribers_import_through_the_admin_form(b: Backend) {
    // Arrange: the owner opens the subscribers screen and finds the form
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    new_subscriber(&app, "old@example.com").await;
    user(&app, "owner@example.com", Role::Owner).await;
    user(&app, "manager@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let screen = a.get(&admin_page(&app, "/subscribers")).await;
    assert_eq!(screen.status, StatusCode::OK);
    let at = screen
        .text
        .find("/subscribers/import\" enctype=\"multipart/form-data\"")
        .expect("the import form");
    let form = &screen.text[at..at + screen.text[at..].find("</form>").unwrap()];
    for field in [
        "name=\"csrf\"",
        "name=\"file\" type=\"file\"",
        "name=\"skip_confirmation\" type=\"checkbox\"",
    ] {
        assert!(form.contains(field), "{field}: {form}");
    }
    let csrf = csrf_of(form);
    let path = admin_page(&app, "/subscribers/import");
    let n = audit_count(&app).await;
    // Act 1: a good file, confirmation skipped
    let good =
        format!("email,components\nnew@example.com,{api}\nold@example.com,\nother@example.com,\n");
    let r = post_upload(
        &a,
        &path,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("skip_confirmation", None, b"on"),
            ("file", Some("subscribers.csv"), good.as_bytes()),
        ],
    )
    .await;
    // Assert 1
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text
            .contains("Imported 2 subscribers; skipped 1 (1 already subscribed)."),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("line 3: skipped, already subscribed"),
        "{}",
        r.text
    );
    let subs = all(&app).await;
    assert_eq!(subs.len(), 3);
    assert_eq!(
        by_target(&subs, "new@example.com").state,
        SubscriberState::Active
    );
    assert_eq!(audit_count(&app).await, n + 1);
    // Act 2: a file with bad lines (and markup, which is shown as text)
    let bad = "email\nyes@example.com\n<b>bold</b>\nno way\n";
    let r = post_upload(
        &a,
        &path,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("bad.csv"), bad.as_bytes()),
        ],
    )
    .await;
    // Assert 2: every bad line, nothing imported
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text
            .contains("Nothing was imported: 2 rows cannot be imported."),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(
            "line 3 (email): email must be an email address; got &#34;&#60;b&#62;bold&#60;/b&#62;&#34;"
        ),
        "{}",
        r.text
    );
    assert!(!r.text.contains("<b>bold</b>"));
    assert!(r.text.contains("line 4 (email)"), "{}", r.text);
    // a broken file
    let r = post_upload(
        &a,
        &path,
        &[
            ("csrf", None, csrf.as_bytes()),
            ("file", Some("broken.csv"), b"email\n\"open\n"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text.contains("line 2: a quoted field is never closed"),
        "{}",
        r.text
    );
    // no token, or another role: refused before anything is read
    let r = post_upload(
        &a,
        &path,
        &[
            ("csrf", None, b"forged"),
            ("file", Some("x.csv"), b"email\nforged@example.com\n"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let manager = Admin::login(&app, "manager@example.com").await;
    let r = post_upload(
        &manager,
        &path,
        &[
            ("csrf", None, manager.csrf.as_bytes()),
            ("file", Some("x.csv"), b"email\nmanager@example.com\n"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(all(&app).await.len(), 3, "nothing more was imported");
    // Act 3: the JSON form of a file, confirmations sent
    let r = post_upload(
        &a,
        &path,
        &[
            ("csrf", None, csrf.as_bytes()),
            (
                "file",
                Some("list.json"),
                br#"{"subscribers": [{"email": "json@example.com"}]}"#,
            ),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text
            .contains("Imported 1 subscribers; 1 confirmation messages are on their way."),
        "{}",
        r.text
    );
    assert_eq!(
        by_target(&all(&app).await, "json@example.com").state,
        SubscriberState::Unconfirmed
    );
}

both_backends!(
    subscribers_import_json_and_csv_create_and_skip_what_is_there,
    subscribers_import_reads_back_the_export,
    subscribers_import_refuses_a_file_with_bad_lines_whole,
    subscribers_import_refuses_more_than_10_mib,
    subscribers_import_skipping_confirmation_sends_nothing_until_the_next_incident,
    subscribers_import_sends_each_confirmation_unless_skipped,
    subscribers_import_through_the_admin_form,
);
