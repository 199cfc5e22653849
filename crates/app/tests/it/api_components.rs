//! `/v1/pages/{page_id}/components`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::{assert_v1_snapshot, both_backends};

async fn creating_a_component_returns_it_with_statuspage_fields(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    // Act
    let r = app
        .post(
            &app.page_path("/components"),
            &json!({"component": {"name": "REST API", "description": "Public HTTP API", "status": "degraded_performance",
                "showcase": true, "start_date": "2023-01-10", "unknown_field": "ignored"}}),
        )
        .await;
    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let c = r.json();
    assert_eq!(c["page_id"], app.page.id.as_str());
    assert_eq!(c["start_date"], "2023-01-10");
    assert_v1_snapshot!("v1_component", &c);
}

async fn components_list_in_display_order_and_page_by_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    for n in ["A", "B", "C"] {
        app.component(n).await;
    }
    let all = app.get(&app.page_path("/components")).await.json();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);
    let second = app
        .get(&app.page_path("/components?page=2&per_page=2"))
        .await
        .json();
    assert_eq!(second.as_array().unwrap().len(), 1);
    assert_eq!(second[0]["name"], "C");
}

async fn the_json_suffix_is_optional_on_every_path(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.component("API").await;
    let id = c["id"].as_str().unwrap();
    let plain = app.get(&app.page_path(&format!("/components/{id}"))).await;
    let suffixed = app
        .get(&app.page_path(&format!("/components/{id}.json")))
        .await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.text, suffixed.text);
    let r = app
        .post(
            &app.page_path("/components.json"),
            &json!({"component": {"name": "Via suffix"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

async fn patching_a_status_changes_only_the_status_and_records_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.component("API").await;
    let id = c["id"].as_str().unwrap();
    let r = app
        .patch(
            &app.page_path(&format!("/components/{id}")),
            &json!({"component": {"status": "major_outage"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after = r.json();
    assert_eq!(after["status"], "major_outage");
    assert_eq!(after["name"], "API");
    // PUT behaves like PATCH, as in Statuspage's API.
    let r = app
        .put(
            &app.page_path(&format!("/components/{id}")),
            &json!({"component": {"description": "x"}}),
        )
        .await;
    assert_eq!(r.json()["status"], "major_outage");
    let audit = app.store.list_audit(Some(&app.page.id), 10).await.unwrap();
    let change = audit
        .iter()
        .find(|e| e.action == "component.update" && e.changes.get("status").is_some())
        .expect("audited");
    assert_eq!(
        change.changes["status"],
        json!(["operational", "major_outage"])
    );
    assert_eq!(change.actor_type, "api_key");
}

async fn a_form_encoded_body_works_like_json(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app
        .client
        .post(app.url(&app.page_path("/components")))
        .header("Authorization", format!("OAuth {}", app.key))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("component%5Bname%5D=Form+made&component[status]=partial_outage&component[showcase]=false")
        .send()
        .await
        .unwrap();
    let r = crate::helpers::read(r).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["name"], "Form made");
    assert_eq!(r.json()["status"], "partial_outage");
    assert_eq!(r.json()["showcase"], false);
}

async fn deleting_a_component_answers_204_and_then_404(b: Backend) {
    let app = TestApp::spawn(b).await;
    let c = app.component("API").await;
    let path = app.page_path(&format!("/components/{}", c["id"].as_str().unwrap()));
    let r = app.delete(&path).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.text.is_empty());
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path).await.status, StatusCode::NOT_FOUND);
}

async fn a_component_cannot_join_a_group_of_another_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    let other = app.new_page("other").await;
    let all = app.new_key(None, false).await;
    let r = app
        .send_as(
            &all,
            reqwest::Method::POST,
            &format!("/v1/pages/{}/components", other.id),
            Some(&json!({"component": {"name": "X"}})),
        )
        .await;
    let foreign = r.json()["id"].as_str().unwrap().to_owned();
    let g = app
        .send_as(
            &all,
            reqwest::Method::POST,
            &format!("/v1/pages/{}/component-groups", other.id),
            Some(&json!({"component_group": {"name": "G", "components": [foreign]}})),
        )
        .await
        .json();
    let r = app
        .post(
            &app.page_path("/components"),
            &json!({"component": {"name": "Y", "group_id": g["id"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.error().contains("no component group"), "{}", r.text);
    assert_eq!(
        app.get(&app.page_path("/components"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

both_backends!(
    creating_a_component_returns_it_with_statuspage_fields,
    components_list_in_display_order_and_page_by_page,
    the_json_suffix_is_optional_on_every_path,
    patching_a_status_changes_only_the_status_and_records_it,
    a_form_encoded_body_works_like_json,
    deleting_a_component_answers_204_and_then_404,
    a_component_cannot_join_a_group_of_another_page,
);
