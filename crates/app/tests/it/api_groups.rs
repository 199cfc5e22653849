//! `/v1/pages/{page_id}/component-groups`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::{assert_v1_snapshot, both_backends};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

async fn a_group_takes_its_components_and_shows_in_the_component_list(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let a = app.component("API").await;
    let d = app.component("Dashboard").await;
    let lone = app.component("Billing").await;
    // Act
    let r = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"description": "The core", "component_group": {"name": "Core", "components": [a["id"], d["id"]]}}),
        )
        .await;
    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mut g = r.json();
    assert_eq!(
        ids(&g["components"]),
        [a["id"].as_str().unwrap(), d["id"].as_str().unwrap()]
    );
    assert_eq!(g["description"], "The core");
    g["components"] = json!("[ids]");
    assert_v1_snapshot!("v1_component_group", &g);

    let list = app.get(&app.page_path("/components")).await.json();
    let order: Vec<(&str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["group"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            ("Core", true),
            ("API", false),
            ("Dashboard", false),
            ("Billing", false)
        ],
        "the group takes its first member's place"
    );
    assert_eq!(list[1]["group_id"], g["id"]);
    assert_eq!(list[3]["group_id"], Value::Null);
    let _ = lone;
}

async fn a_groups_status_is_its_worst_components(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.component("API").await;
    let d = app.component("Dashboard").await;
    let g = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "Core", "components": [a["id"], d["id"]]}}),
        )
        .await
        .json();
    app.patch(
        &app.page_path(&format!("/components/{}", d["id"].as_str().unwrap())),
        &json!({"component": {"status": "partial_outage"}}),
    )
    .await;
    let list = app.get(&app.page_path("/components")).await.json();
    let group = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == g["id"])
        .unwrap();
    assert_eq!(group["status"], "partial_outage");
}

async fn updating_a_group_replaces_its_members_and_delete_keeps_them(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.component("API").await;
    let d = app.component("Dashboard").await;
    let g = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "Core", "components": [a["id"], d["id"]]}}),
        )
        .await
        .json();
    let path = app.page_path(&format!("/component-groups/{}", g["id"].as_str().unwrap()));
    let r = app
        .patch(
            &path,
            &json!({"component_group": {"name": "Platform", "components": [d["id"]]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["name"], "Platform");
    assert_eq!(ids(&r.json()["components"]), [d["id"].as_str().unwrap()]);
    let api = app
        .get(&app.page_path(&format!("/components/{}", a["id"].as_str().unwrap())))
        .await
        .json();
    assert_eq!(
        api["group_id"],
        Value::Null,
        "a dropped member returns to the top level"
    );

    let r = app.delete(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["name"],
        "Platform",
        "the deleted group is returned"
    );
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    let dash = app
        .get(&app.page_path(&format!("/components/{}", d["id"].as_str().unwrap())))
        .await;
    assert_eq!(
        dash.status,
        StatusCode::OK,
        "components outlive their group"
    );
    assert_eq!(dash.json()["group_id"], Value::Null);
}

async fn groups_cannot_nest_or_be_empty(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.component("API").await;
    let g = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "Core", "components": [a["id"]]}}),
        )
        .await
        .json();
    let r = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "Outer", "components": [g["id"]]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.error().contains("nested"), "{}", r.text);
    let r = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "Empty", "components": []}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            &app.page_path("/components"),
            &json!({"component": {"name": "X", "group_id": a["id"]}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a component is not a group"
    );
    assert_eq!(
        app.get(&app.page_path("/component-groups"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

both_backends!(
    a_group_takes_its_components_and_shows_in_the_component_list,
    a_groups_status_is_its_worst_components,
    updating_a_group_replaces_its_members_and_delete_keeps_them,
    groups_cannot_nest_or_be_empty,
);
