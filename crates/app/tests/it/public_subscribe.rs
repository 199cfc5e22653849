//! The public subscribe forms as a visitor uses them: the page's forms (e-mail, and SMS when
//! the page takes SMS subscribers), and an open incident's own form, which subscribes to that
//! incident only (`allow_incident_subscribers`). Each form is read from the served HTML and
//! posted as a browser would.

use herald_domain::subscriber::{Channel, Subscriber, SubscriberState};
use herald_store::SubscriberQuery;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp, read};
use crate::notify_support::{SmtpSink, wait_idle};

/// Every subscriber of the page, whatever its state.
async fn subscribers(app: &TestApp) -> Vec<Subscriber> {
    let mut all = Vec::new();
    for state in [SubscriberState::Unconfirmed, SubscriberState::Active] {
        let q = SubscriberQuery {
            state: Some(state),
            limit: 100,
            ..SubscriberQuery::default()
        };
        all.extend(app.store.list_subscribers(&app.page.id, &q).await.unwrap());
    }
    all
}

/// The fields of the form in `html` whose visible input is `input_name`: its action and
/// hidden fields, as a browser would send them.
fn form_with(html: &str, input_name: &str) -> Option<(String, Vec<(String, String)>)> {
    let form = html
        .split("<form ")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap_or(""))
        .find(|f| f.contains(&format!("name=\"{input_name}\"")))?;
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[start..].split('"').next()?.to_owned())
    };
    let action = attr(form, "action")?;
    let hidden = form
        .split("<input ")
        .skip(1)
        .filter(|i| i.contains("type=\"hidden\""))
        .filter_map(|i| Some((attr(i, "name")?, attr(i, "value")?)))
        .collect();
    Some((action, hidden))
}

/// Posts the form of `page_path`'s HTML whose input is `input_name`, with `value` in it.
async fn submit(app: &TestApp, page_path: &str, input_name: &str, value: &str) -> Resp {
    let page = app.public(page_path, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let (action, mut fields) = form_with(&page.text, input_name)
        .unwrap_or_else(|| panic!("no form with {input_name} on {page_path}: {}", page.text));
    fields.push((input_name.to_owned(), value.to_owned()));
    // The action is relative to the document, as a browser resolves it.
    let base = url::Url::parse(&app.url(page_path)).unwrap();
    let to = base.join(&action).unwrap();
    read(
        reqwest::Client::new()
            .post(to)
            .form(&fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn a_visitor_subscribes_to_one_incident_from_its_page(b: Backend) {
    // Arrange: an open incident and a resolved one
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    let open = app
        .incident(json!({"name": "Slow logins", "status": "investigating"}))
        .await;
    let other = app
        .incident(json!({"name": "Another thing", "status": "investigating"}))
        .await;
    let open_id = open["id"].as_str().unwrap();
    // Act: the incident page's e-mail form, then the confirmation link, then updates to
    // both incidents
    let r = submit(
        &app,
        &format!("/p/acme/incidents/{open_id}"),
        "subscriber[email]",
        "carol@example.com",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let confirm = sink
        .wait_for("carol@example.com", |m| {
            m.header("subject").contains("Confirm")
        })
        .await
        .link("/subscriptions/confirm/")
        .expect("a confirmation link");
    let done = read(reqwest::Client::new().post(&confirm).send().await.unwrap()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    for (id, body) in [
        (&other["id"], "Other news"),
        (&open["id"], "Logins are fast again"),
    ] {
        let r = app
            .patch(
                &app.page_path(&format!("/incidents/{}", id.as_str().unwrap())),
                &json!({"incident": {"status": "resolved", "body": body}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Assert: a subscriber of that incident only, told of its update and not of the other's
    let subs = subscribers(&app).await;
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(
        subs[0].incident_id.as_ref().map(|i| i.as_str()),
        Some(open_id)
    );
    sink.wait_for("carol@example.com", |m| {
        let s = m.header("subject");
        s.contains("Slow logins") && !s.contains("Confirm")
    })
    .await;
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.email").await;
    assert!(
        !sink
            .mails()
            .iter()
            .any(|m| m.to == "carol@example.com" && m.header("subject").contains("Another thing")),
        "told of an incident she did not subscribe to"
    );
    // ...and the resolved incident's page offers no form any more
    let resolved = app
        .public(&format!("/p/acme/incidents/{open_id}"), &[])
        .await;
    assert!(form_with(&resolved.text, "subscriber[email]").is_none());
}

async fn the_forms_follow_the_page_settings(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let open = app
        .incident(json!({"name": "Slow logins", "status": "investigating"}))
        .await;
    let incident_path = format!("/p/acme/incidents/{}", open["id"].as_str().unwrap());
    // Act 1: SMS from the home page's form (SMS subscribers are allowed by default)
    let r = submit(
        &app,
        "/p/acme/",
        "subscriber[phone_number]",
        "+1 555 010 0100",
    )
    .await;
    // Assert 1: an SMS subscriber of the whole page, waiting for confirmation
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let subs = subscribers(&app).await;
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0].channel, Channel::Sms);
    assert_eq!(subs[0].phone_number.as_deref(), Some("+15550100100"));
    assert_eq!(subs[0].incident_id, None);
    assert_eq!(subs[0].state, SubscriberState::Unconfirmed);
    // Act 2: the page stops taking SMS and incident subscribers, but keeps page-wide e-mail
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"allow_sms_subscribers": false, "allow_incident_subscribers": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let home = app.public("/p/acme/", &[]).await;
    let incident = app.public(&incident_path, &[]).await;
    let by_hand = read(
        reqwest::Client::new()
            .post(app.url("/p/acme/subscriptions"))
            .form(&[
                ("subscriber[email]", "dave@example.com"),
                ("subscriber[incident_id]", open["id"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Assert 2: no SMS form, no incident form, and a hand-made incident subscription refused
    assert!(form_with(&home.text, "subscriber[email]").is_some());
    assert!(form_with(&home.text, "subscriber[phone_number]").is_none());
    assert!(form_with(&incident.text, "subscriber[email]").is_none());
    assert_eq!(
        by_hand.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        by_hand.text
    );
    assert_eq!(subscribers(&app).await.len(), 1);
    // Act 3: incident subscriptions only (the page's own closed)
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"allow_page_subscribers": false, "allow_incident_subscribers": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let home = app.public("/p/acme/", &[]).await;
    let r = submit(
        &app,
        &incident_path,
        "subscriber[email]",
        "erin@example.com",
    )
    .await;
    // Assert 3: the home page has no form; the incident's form works
    assert!(form_with(&home.text, "subscriber[email]").is_none());
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(subscribers(&app).await.len(), 2);
}

both_backends!(
    a_visitor_subscribes_to_one_incident_from_its_page,
    the_forms_follow_the_page_settings,
);
