//! The admin UI in headless Chromium (tests/browser/admin_flow.mjs): the on-call flow end to
//! end with the public side checked after each step, axe-core and screenshots on every
//! screen, and the XSS corpus in admin fields with a sentinel that must never fire.

use herald_domain::user::Role;
use serde_json::json;

use crate::admin_support::{PASSWORD, user};
use crate::both_backends;
use crate::browser::run_script;
use crate::helpers::{Backend, TestApp};
use crate::public_browser::HOSTILE;

async fn admin_flow_in_chromium(backend: Backend) {
    // Arrange: two components, and hostile text already in names and timelines
    let app = TestApp::spawn(backend).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = app.component("Website").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for h in &HOSTILE[..4] {
        app.component(h).await;
    }
    for h in &HOSTILE[4..8] {
        app.incident(json!({"name": h, "status": "resolved", "body": h}))
            .await;
    }
    // A pushed metric with a hostile name, for the metrics screen and its preview
    let own = app
        .post(
            &app.page_path("/metrics_providers"),
            &json!({"metrics_provider": {"type": "Self"}}),
        )
        .await
        .json();
    let r = app
        .post(
            &app.page_path(&format!(
                "/metrics_providers/{}/metrics",
                own["id"].as_str().unwrap()
            )),
            &json!({"metric": {"name": HOSTILE[5]}}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    user(&app, "oncall@example.com", Role::Owner).await;
    // Act
    let out = run_script(
        "admin_flow.mjs",
        json!({
            "base": app.url(""),
            "pageId": app.page.id,
            "email": "oncall@example.com",
            "password": PASSWORD,
            "components": [api, web],
            "hostile": HOSTILE,
        }),
    )
    .await;
    // Assert
    eprintln!("{out}");
    assert!(out.contains("ok admin flow"), "{out}");
}

both_backends!(admin_flow_in_chromium);
