//! `status_embed_config` (GET, PATCH, PUT) and the public `/embed/config.json` the embed
//! script reads, on both backends.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn the_embed_config_is_kept_checked_and_published(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let path = app.page_path("/status_embed_config");
    // Act + Assert: the defaults
    let r = app.get(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"page_id": app.page.id, "position": "bottom-right", "incident_background_color": "#b3261e",
               "incident_text_color": "#ffffff", "maintenance_background_color": "#1f5fa8", "maintenance_text_color": "#ffffff"})
    );
    // a change, then the public config the script reads
    let r = app
        .patch(&path, &json!({"status_embed_config": {"position": "top-left", "incident_background_color": "#FF0000"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["position"], "top-left");
    let r = app
        .put(
            &path,
            &json!({"status_embed_config": {"maintenance_text_color": "#000"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = app.get(&path).await.json();
    assert_eq!(got["incident_background_color"], "#ff0000");
    assert_eq!(got["maintenance_text_color"], "#000");
    let public = app.public("/p/acme/embed/config.json", &[]).await;
    assert_eq!(public.status, StatusCode::OK);
    let public = public.json();
    assert_eq!(public["position"], "top-left");
    assert_eq!(public["incident_background_color"], "#ff0000");
    let script = app.public("/p/acme/embed/script.js", &[]).await;
    assert!(
        script.text.contains("/embed/config.json"),
        "the script reads the config"
    );
    // bad input: nothing changes
    for (body, field) in [
        (
            json!({"status_embed_config": {"position": "middle"}}),
            "status_embed_config.position",
        ),
        (
            json!({"status_embed_config": {"incident_text_color": "red", "position": "top-right"}}),
            "status_embed_config.incident_text_color",
        ),
    ] {
        let r = app.patch(&path, &body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.text.contains(field), "{}", r.text);
    }
    assert_eq!(app.get(&path).await.json(), got);
}

both_backends!(the_embed_config_is_kept_checked_and_published);
