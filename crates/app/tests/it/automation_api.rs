//! Integrations through the management API and their hook URL: the token shown once and
//! stored hashed, rotation, and every bad input of the issue's table answered with its
//! status, never a 5xx, with nothing changed (RELIABILITY.md row 7).

use reqwest::StatusCode;
use serde_json::json;

use crate::automation_support::{
    ZERO, alert, audited, integration, payload, post_announcing, post_json, post_raw, public_status,
};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

async fn integrations_have_a_token_shown_once_and_stored_hashed(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    // Act: create
    let r = app
        .post(
            &app.page_path("/integrations"),
            &json!({"integration": {"type": "alertmanager", "name": "Prometheus", "flap_window_seconds": 0,
                "rules": [{"label": "service", "value": "api", "component": "API"}]}}),
        )
        .await;
    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let made = r.json();
    let id = made["id"].as_str().unwrap();
    let url = made["webhook_url"].as_str().unwrap().to_owned();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    assert!(token.starts_with("hrli_"), "{url}");
    assert_eq!(made["type"], "alertmanager");
    assert_eq!(made["rules"][0]["component"], "API");
    assert!(
        !app.db.dump().await.contains(&token),
        "the token is stored in clear"
    );
    let got = app
        .get(&app.page_path(&format!("/integrations/{id}")))
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["webhook_url"], serde_json::Value::Null);
    assert_eq!(got.json()["token_prefix"], made["token_prefix"]);
    let list = app.get(&app.page_path("/integrations")).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The token works.
    let firing = payload(vec![alert(
        "Down",
        "API",
        "critical",
        true,
        "2026-01-01T00:00:00Z",
        ZERO,
    )]);
    assert_eq!(post_json(&app, &url, &firing).await.status, StatusCode::OK);
    assert_eq!(
        public_status(&app, api["id"].as_str().unwrap()).await,
        "major_outage"
    );
    // Rotation: a new URL, and the old token is dead at once.
    let rotated = app
        .patch(
            &app.page_path(&format!("/integrations/{id}")),
            &json!({"integration": {"name": "Prometheus EU", "rotate_token": true}}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_url = rotated.json()["webhook_url"].as_str().unwrap().to_owned();
    assert_ne!(new_url, url);
    assert_eq!(rotated.json()["name"], "Prometheus EU");
    assert_eq!(
        post_json(&app, &url, &firing).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_json(&app, &new_url, &firing).await.status,
        StatusCode::OK
    );
    // The type cannot change; a rule naming no component of the page is refused.
    let bad = app
        .patch(
            &app.page_path(&format!("/integrations/{id}")),
            &json!({"integration": {"rules": [{"label": "x", "component": "Nope"}]}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["field"], "integration.rules[0].component");
    // Delete: gone, and so is its URL.
    let del = app
        .delete(&app.page_path(&format!("/integrations/{id}")))
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&app.page_path(&format!("/integrations/{id}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_json(&app, &new_url, &firing).await.status,
        StatusCode::NOT_FOUND
    );
    // Each change is in the audit log, by the key.
    let actions: Vec<String> = app
        .store
        .list_audit(Some(&app.page.id), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.target_type == "integration")
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "integration.delete",
            "integration.update",
            "integration.create"
        ]
    );
}

/// (what, URL, body, expected status, the field a 422 names).
type Case = (
    &'static str,
    String,
    Vec<u8>,
    StatusCode,
    Option<&'static str>,
);

async fn bad_hook_input_gets_its_status_and_changes_nothing(b: Backend) {
    // Arrange: an Alertmanager and a webhook integration on this page, one on another page
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let api_id = api["id"].as_str().unwrap().to_owned();
    let am = integration(
        &app,
        json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 0}),
    )
    .await;
    let hook = integration(
        &app,
        json!({"type": "webhook", "name": "CI", "flap_window_seconds": 0}),
    )
    .await;
    let other_page = app.new_page("other").await;
    let other_key = app
        .new_key(Some(std::slice::from_ref(&other_page.id)), false)
        .await;
    let other = app
        .send_as(
            &other_key,
            reqwest::Method::POST,
            &format!("/v1/pages/{}/integrations", other_page.id),
            Some(&json!({"integration": {"type": "alertmanager", "name": "Theirs"}})),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let other = other.json();
    let their_token = other["webhook_url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let base = am.url.split('?').next().unwrap().to_owned();
    let good = payload(vec![alert(
        "Down",
        "API",
        "critical",
        true,
        "2026-01-01T00:00:00Z",
        ZERO,
    )]);
    let good_bytes = serde_json::to_vec(&good).unwrap();
    let a = |f: serde_json::Value| payload(vec![f]);
    let cases: Vec<Case> = vec![
        ("no token", base.clone(), good_bytes.clone(), StatusCode::UNAUTHORIZED, None),
        ("empty token", format!("{base}?token="), good_bytes.clone(), StatusCode::UNAUTHORIZED, None),
        ("wrong token", format!("{base}?token=hrli_wrong"), good_bytes.clone(), StatusCode::NOT_FOUND, None),
        ("another page's token", format!("{base}?token={their_token}"), good_bytes.clone(), StatusCode::NOT_FOUND, None),
        ("truncated JSON", am.url.clone(), good_bytes[..good_bytes.len() / 2].to_vec(), StatusCode::BAD_REQUEST, None),
        ("alerts not a list", am.url.clone(), br#"{"alerts": "x"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, Some("alerts")),
        ("no alerts", am.url.clone(), br#"{"version": "4"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, None),
        ("a list", am.url.clone(), b"[1]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, None),
        ("label of the wrong type", am.url.clone(), serde_json::to_vec(&a(json!({"status": "firing", "labels": {"component": 5}}))).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("alerts[0].labels.component")),
        ("bad startsAt", am.url.clone(), serde_json::to_vec(&a(json!({"status": "firing", "labels": {"component": "API"}, "startsAt": "yesterday"}))).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("alerts[0].startsAt")),
        ("unknown alert status", am.url.clone(), serde_json::to_vec(&a(json!({"status": "burning", "labels": {"component": "API"}}))).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("alerts[0].status")),
        ("unknown status annotation", am.url.clone(), serde_json::to_vec(&a(json!({"status": "firing", "labels": {"component": "API"}, "annotations": {"status": "on_fire"}}))).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("alerts[0].annotations.status")),
        ("unknown component", am.url.clone(), serde_json::to_vec(&payload(vec![alert("A", "API", "critical", true, "2026-01-01T00:00:00Z", ZERO), alert("B", "Nope", "critical", true, "2026-01-01T00:00:00Z", ZERO)])).unwrap(), StatusCode::UNPROCESSABLE_ENTITY, Some("alerts[1].labels.component")),
        ("webhook: unknown status", hook.url.clone(), br#"{"component": "API", "status": "on_fire"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, Some("status")),
        ("webhook: unknown component", hook.url.clone(), br#"{"component": "Nope", "status": "major_outage"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, Some("component")),
        ("webhook: one bad item of a list", hook.url.clone(), br#"[{"component": "API", "status": "major_outage"}, {"component": "Nope", "status": "major_outage"}]"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, Some("[1].component")),
        ("webhook: wrong type", hook.url.clone(), br#"{"component": ["API"], "status": "major_outage"}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, Some("component")),
        ("webhook: a number", hook.url.clone(), b"42".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, None),
        ("webhook: truncated", hook.url.clone(), br#"[{"component": "API", "sta"#.to_vec(), StatusCode::BAD_REQUEST, None),
    ];
    let status = post_announcing(&app, &am.url, 10 * 1024 * 1024).await;
    assert!(status.contains(" 413 "), "10 MiB body: {status}");
    for (what, url, body, want, field) in cases {
        // Act
        let r = post_raw(&app, &url, body).await;
        // Assert
        assert_eq!(r.status, want, "{what}: {}", r.text);
        let body: serde_json::Value = serde_json::from_str(&r.text)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", r.text));
        assert!(body["error"].is_string(), "{what}: {}", r.text);
        if let Some(f) = field {
            assert_eq!(r.json()["field"], f, "{what}: {}", r.text);
        }
    }
    // Nothing changed: the component, the integrations' counters, the audit log.
    assert_eq!(public_status(&app, &api_id).await, "operational");
    for i in [&am, &hook] {
        let got = app
            .get(&app.page_path(&format!("/integrations/{}", i.id)))
            .await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.text);
        let got = got.json();
        assert_eq!(got["requests"], 0, "{got}");
        assert!(audited(&app, &i.id, "component.update").await.is_empty());
    }
    let bare = read(app.client.get(&base).send().await.unwrap()).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
}

both_backends!(
    integrations_have_a_token_shown_once_and_stored_hashed,
    bad_hook_input_gets_its_status_and_changes_nothing,
);
