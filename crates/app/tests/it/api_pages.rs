//! `/v1/pages`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::{assert_v1_snapshot, both_backends};

async fn a_key_lists_only_its_pages(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.new_page("other").await;
    let mine = app.get("/v1/pages").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], app.page.id.as_str());
    let all = app.new_key(None, true).await;
    let r = app
        .send_as(&all, reqwest::Method::GET, "/v1/pages", None)
        .await
        .json();
    assert_eq!(r.as_array().unwrap().len(), 2);
}

async fn a_page_has_every_statuspage_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app.get(&app.page_path("")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_v1_snapshot!("v1_page", &r.json());
}

async fn patching_a_page_changes_what_was_sent(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app
        .patch(&app.page_path(""), &json!({"page": {"name": "Acme Status", "css_greens": "#00AA00", "allow_sms_subscribers": false,
            "domain": "Status.Acme.Example", "headline": "All about Acme"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p = r.json();
    assert_eq!(p["name"], "Acme Status");
    assert_eq!(p["css_greens"], "#00aa00");
    assert_eq!(p["allow_sms_subscribers"], false);
    assert_eq!(p["allow_email_subscribers"], true);
    assert_eq!(p["domain"], "status.acme.example");
    assert_eq!(p["page_url"], "https://status.acme.example");
    let r = app
        .patch(&app.page_path(""), &json!({"page": {"headline": null}}))
        .await;
    assert_eq!(
        r.json()["headline"],
        serde_json::Value::Null,
        "null clears a field"
    );
}

async fn a_taken_domain_is_a_conflict(b: Backend) {
    let app = TestApp::spawn(b).await;
    let other = app.new_page("other").await;
    let all = app.new_key(None, false).await;
    app.patch(
        &app.page_path(""),
        &json!({"page": {"domain": "status.acme.example"}}),
    )
    .await;
    let r = app
        .send_as(
            &all,
            reqwest::Method::PATCH,
            &format!("/v1/pages/{}", other.id),
            Some(&json!({"page": {"domain": "status.acme.example"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.error().contains("domain"), "{}", r.text);
}

both_backends!(
    a_key_lists_only_its_pages,
    a_page_has_every_statuspage_field,
    patching_a_page_changes_what_was_sent,
    a_taken_domain_is_a_conflict,
);
