//! The OpenAPI document matches the route table, both ways, and is snapshotted.

use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;

use crate::helpers::{Backend, TestApp, read};

/// `(METHOD, /v1/path)` for every v1 route in `routes.rs`, read from the source.
fn routed() -> BTreeSet<(String, String)> {
    let src = include_str!("../../../web/src/routes.rs");
    let v1 = &src[src.find("let v1 = Router::new()").unwrap()..src.find(".fallback(").unwrap()];
    crate::helpers::route_table(v1, "/v1")
}

fn documented(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            if ["get", "post", "patch", "put", "delete"].contains(&m.as_str()) {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = read(
        app.client
            .get(app.url("/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // Assert: the two lists agree (openapi.json itself is the one undocumented route).
    let mut routes = routed();
    routes.remove(&("GET".to_owned(), "/v1/openapi.json".to_owned()));
    assert!(routes.len() >= 30, "{routes:?}");
    assert_eq!(routes, documented(&doc));
    // And each documented operation answers (401 without a key, not 404 or 405).
    for (method, path) in documented(&doc) {
        let url = app.url(&path.replace("{page_id}", &app.page.id));
        let r = read(
            app.client
                .request(method.parse::<Method>().unwrap(), url)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_stable() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = read(
        app.client
            .get(app.url("/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    insta::assert_json_snapshot!("openapi_v1", doc);
}
