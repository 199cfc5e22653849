//! Webhook and chat subscribers against real HTTP receivers on loopback: Statuspage's
//! payloads, Standard Webhooks signatures checked by the `standardwebhooks` package, 410
//! unsubscribing, and internal URLs refused before anything connects (RELIABILITY.md rows 1
//! and 6).

use herald_domain::subscriber::SubscriberState;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

use crate::both_backends;
use crate::compat::{compat_python, repo_root};
use crate::helpers::{Backend, TestApp};
use crate::notify_support::{Hit, Receiver, Tally, wait_idle};

/// Whether each (secret, request) verifies under the `standardwebhooks` package.
pub(crate) fn verify(items: &[(String, Hit)]) -> Vec<bool> {
    let input: Vec<Value> = items
        .iter()
        .map(|(secret, hit)| {
            let headers: serde_json::Map<String, Value> = hit
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or(""))))
                .collect();
            json!({"secret": secret, "headers": headers, "body": hit.body})
        })
        .collect();
    let mut child = Command::new(compat_python())
        .arg(repo_root().join("tests/notify/verify_webhooks.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_vec(&input).unwrap().as_slice())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn webhook_and_chat_subscribers_get_signed_statuspage_payloads(b: Backend) {
    // Arrange: receivers, and subscribers allowed to reach loopback
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(b, |c| c.egress_allow = "127.0.0.0/8".into()).await;
    let api = app.component("API").await;
    let subscribe = |body: Value| {
        let app = &app;
        async move {
            let r = app
                .post(&app.page_path("/subscribers"), &json!({"subscriber": body}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.json()
        }
    };
    let hook = subscribe(json!({"endpoint": rx.url("/hook"), "email": "ops@example.com"})).await;
    let secret = hook["webhook_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    subscribe(json!({"endpoint": rx.url("/slack"), "type": "slack"})).await;
    subscribe(json!({"endpoint": rx.url("/discord"), "type": "discord"})).await;
    let gone =
        subscribe(json!({"endpoint": rx.url("/status/410/gone"), "email": "ops@example.com"}))
            .await;
    // Act
    let incident = app
        .incident(json!({"name": "Elevated API errors", "status": "investigating", "body": "Looking.", "component_ids": [api["id"]], "components": {api["id"].as_str().unwrap(): "major_outage"}}))
        .await;
    // Assert: a signed Statuspage-shaped webhook (the component's change comes as well)
    let hits = rx.wait_for("/hook", 2).await;
    let of = |h: &Hit| serde_json::from_str::<Value>(&h.body).unwrap();
    let (inc, comp): (Vec<Hit>, Vec<Hit>) = hits
        .into_iter()
        .partition(|h| of(h)["incident"].is_object());
    assert_eq!((inc.len(), comp.len()), (1, 1));
    assert_eq!(of(&comp[0])["event_type"], "component.updated");
    assert_eq!(
        of(&comp[0])["component_update"]["new_status"],
        "major_outage"
    );
    let hits = inc;
    let body = of(&hits[0]);
    let id = incident["id"].as_str().unwrap();
    assert_eq!(body["incident"]["id"], id, "{body}");
    assert_eq!(body["incident"]["name"], "Elevated API errors");
    assert_eq!(body["page"]["id"], app.page.id.as_str());
    assert!(body["page"]["status_indicator"].is_string(), "{body}");
    assert!(
        body["event_type"]
            .as_str()
            .unwrap()
            .starts_with("incident.")
    );
    assert!(
        body["meta"]["unsubscribe"]
            .as_str()
            .unwrap()
            .contains("/subscriptions/unsubscribe/")
    );
    assert_eq!(hits[0].headers["content-type"], "application/json");
    let mut tampered = hits[0].clone();
    tampered.body = tampered.body.replace("Elevated", "Elevatee");
    let mut wrong_secret = hits[0].clone();
    wrong_secret.headers.remove("webhook-signature");
    assert_eq!(
        verify(&[
            (secret.clone(), hits[0].clone()),
            (secret.clone(), tampered),
            (secret.clone(), wrong_secret),
        ]),
        vec![true, false, false]
    );
    // Assert: chat messages readable, linking back to the incident
    let slack: Value = serde_json::from_str(&rx.wait_for("/slack", 1).await[0].body).unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("Elevated API errors"),
        "{slack}"
    );
    assert!(
        slack.to_string().contains(&format!("/incidents/{id}")),
        "{slack}"
    );
    let discord = rx.wait_for("/discord", 1).await[0].body.clone();
    assert!(discord.contains("Elevated API errors"), "{discord}");
    // Assert: 410 unsubscribed that endpoint, and it is tried no more
    rx.wait_for("/status/410/gone", 1).await;
    wait_idle(&app.store, "deliver.http").await;
    let g = app
        .store
        .get_subscriber(&app.page.id, &gone["id"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.state, SubscriberState::Unsubscribed);
    let gone_hits = rx.hits("/status/410/gone").len();
    let r = app
        .patch(
            &app.page_path(&format!("/incidents/{id}")),
            &json!({"incident": {"status": "resolved", "body": "Fixed."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let second = rx.wait_for("/hook", 3).await;
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.http").await;
    assert_eq!(
        rx.hits("/status/410/gone").len(),
        gone_hits,
        "tried after its 410"
    );
    // Assert: each event has its own id
    let ids: std::collections::BTreeSet<_> = second
        .iter()
        .map(|h| h.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), second.len());
}

both_backends!(webhook_and_chat_subscribers_get_signed_statuspage_payloads);

/// RELIABILITY.md row 1's literals, aimed at a listener's port where a port fits.
fn corpus(port: u16) -> Vec<String> {
    [
        "http://127.0.0.1:{p}/",
        "http://localhost:{p}/",
        "http://[::1]:{p}/",
        "http://0.0.0.0:{p}/",
        "http://169.254.169.254/",
        "http://[::ffff:127.0.0.1]:{p}/",
        "http://[::ffff:7f00:1]:{p}/",
        "http://2130706433:{p}/",
        "http://0x7f.1:{p}/",
        "http://017700000001:{p}/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://198.18.0.1/",
        "http://224.0.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[64:ff9b::7f00:1]:{p}/",
        "http://[64:ff9b:1::7f00:1]:{p}/",
        "http://[::ffff:0:127.0.0.1]:{p}/",
        "http://[::ffff:0:7f00:1]:{p}/",
        "http://[::ffff:0:a9fe:a9fe]/",
        "http://[2002:7f00:1::]:{p}/",
        "http://[2001:2::1]/",
        "http://user:pw@127.0.0.1:{p}/",
    ]
    .iter()
    .map(|u| u.replace("{p}", &port.to_string()))
    .collect()
}

async fn internal_urls_are_refused_when_saved_and_nothing_connects(b: Backend) {
    // Arrange: a listener that records connections, and no egress allowance
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tally = Tally::start(listener, None).await;
    let app = TestApp::spawn(b).await;
    // Act
    for url in corpus(port) {
        for body in [
            json!({"endpoint": url, "email": "ops@example.com"}),
            json!({"endpoint": url, "type": "slack"}),
        ] {
            let r = app
                .post(&app.page_path("/subscribers"), &json!({"subscriber": body}))
                .await;
            // Assert: a clear 422 naming the field
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{url}: {}",
                r.text
            );
            assert_eq!(r.json()["field"], "subscriber.endpoint", "{url}");
        }
    }
    // Assert: nothing saved, nothing connected before the marker the test sent after
    let connected = tally.count_before_marker().await;
    let q = herald_store::SubscriberQuery {
        limit: 100,
        ..herald_store::SubscriberQuery::default()
    };
    assert!(
        app.store
            .list_subscribers(&app.page.id, &q)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(connected, 0);
}

both_backends!(internal_urls_are_refused_when_saved_and_nothing_connects);

async fn sms_goes_through_a_twilio_compatible_api_for_creation_and_resolution_only(b: Backend) {
    // Arrange: the paid provider cannot exist here: a loopback receiver emulates its API
    let rx = Receiver::start().await;
    let url = rx.url("");
    let app = TestApp::spawn_with(b, |c| {
        c.sms_url = Some(url);
        c.sms_account_sid = Some("AC123".into());
        c.sms_auth_token = Some("tok".into());
        c.sms_from = Some("+15550001111".into());
    })
    .await;
    let r = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"phone_number": "+15557654321", "skip_confirmation_notification": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let path = "/2010-04-01/Accounts/AC123/Messages.json";
    // Act: created, updated, resolved
    let incident = app
        .incident(json!({"name": "Login failures", "status": "investigating"}))
        .await;
    let id = incident["id"].as_str().unwrap();
    for (status, body) in [("identified", "Found it."), ("resolved", "Fixed.")] {
        let r = app
            .patch(
                &app.page_path(&format!("/incidents/{id}")),
                &json!({"incident": {"status": status, "body": body}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    rx.wait_for(path, 2).await;
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.sms").await;
    // Assert: two texts (creation and resolution), form-encoded, with basic auth
    let texts: Vec<Hit> = rx.hits(path);
    assert_eq!(texts.len(), 2, "{texts:?}");
    for t in &texts {
        assert_eq!(
            t.headers["authorization"],
            format!("Basic {}", base64_of("AC123:tok"))
        );
        let form: std::collections::HashMap<String, String> =
            serde_urlencoded_pairs(&t.body).into_iter().collect();
        assert_eq!(form["To"], "+15557654321");
        assert_eq!(form["From"], "+15550001111");
        assert!(form["Body"].contains("Login failures"), "{}", form["Body"]);
        assert!(
            form["Body"].chars().count() <= 160,
            "one segment: {}",
            form["Body"]
        );
    }
}

both_backends!(sms_goes_through_a_twilio_compatible_api_for_creation_and_resolution_only);

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn serde_urlencoded_pairs(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}
