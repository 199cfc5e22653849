//! The OpenAPI document matches the route table, both ways, is valid OpenAPI 3.1 for a real
//! validator (`openapi-spec-validator`), holds against a live herald under schemathesis, and
//! is snapshotted.

use herald_domain::clock::{Clock, SystemClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Command;

use crate::both_backends;
use crate::compat::{compat_python, repo_root};
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
    let doc = fetch_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // Assert: the two lists agree (openapi.json itself is the one undocumented route).
    let mut routes = routed();
    routes.remove(&("GET".to_owned(), "/v1/openapi.json".to_owned()));
    assert!(routes.len() >= 30, "{routes:?}");
    assert_eq!(routes, documented(&doc));
    // And each documented operation answers (401 without a key, not 404 or 405).
    for (method, path) in documented(&doc) {
        let url = app.url(&path.replace("{page_id}", app.page.id.as_str()));
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
    let doc = fetch_document(&app).await;
    insta::assert_json_snapshot!("openapi_v1", doc);
}

async fn fetch_document(app: &TestApp) -> Value {
    let r = read(
        app.client
            .get(app.url("/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    r.json()
}

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_1() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = fetch_document(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    // Act: the reference validator of the OpenAPI Initiative's JSON schema
    let out = Command::new(compat_python())
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    // Assert
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // Every operation declares the errors any request can meet.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
}

/// Seeds a page with one object of each kind to work on and one of each to delete; returns
/// the environment schemathesis.toml reads their ids from.
async fn seed(app: &TestApp) -> Vec<(&'static str, String)> {
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let post = |path: &'static str, body: Value| async move {
        let r = app.post(&app.page_path(path), &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
        r.json()
    };
    let component = app.component("API").await;
    let scrap_component = app.component("Scrap").await;
    let group = post(
        "/component-groups",
        json!({"component_group": {"name": "Core", "components": [id(&component)]}}),
    )
    .await;
    let scrap_group = post(
        "/component-groups",
        json!({"component_group": {"name": "Scrap", "components": [id(&scrap_component)]}}),
    )
    .await;
    let incident = app
        .incident(json!({"name": "Outage", "body": "Looking.", "component_ids": [id(&component)]}))
        .await;
    let scrap_incident = app.incident(json!({"name": "Scrap", "body": "x"})).await;
    let template = post(
        "/incident_templates",
        json!({"template": {"name": "Outage", "title": "Outage", "body": "Looking."}}),
    )
    .await;
    let scrap_template = post(
        "/incident_templates",
        json!({"template": {"name": "Scrap", "title": "Scrap", "body": "x"}}),
    )
    .await;
    let subscriber = post(
        "/subscribers",
        json!({"subscriber": {"email": "ops@example.com"}}),
    )
    .await;
    let scrap_subscriber = post(
        "/subscribers",
        json!({"subscriber": {"email": "scrap@example.com"}}),
    )
    .await;
    let now = SystemClock.now();
    let mut job = herald_store::kinds::CANARY.raw_job(Some(&app.page.id), json!({}));
    job.run_at = Some(now + chrono::TimeDelta::hours(1));
    let job_id = app.store.enqueue(&[job], now).await.unwrap()[0];
    vec![
        ("HERALD_PAGE_ID", app.page.id.to_string()),
        ("HERALD_COMPONENT_ID", id(&component)),
        ("HERALD_SCRAP_COMPONENT_ID", id(&scrap_component)),
        ("HERALD_GROUP_ID", id(&group)),
        ("HERALD_SCRAP_GROUP_ID", id(&scrap_group)),
        ("HERALD_INCIDENT_ID", id(&incident)),
        (
            "HERALD_INCIDENT_UPDATE_ID",
            id(&incident["incident_updates"][0]),
        ),
        ("HERALD_SCRAP_INCIDENT_ID", id(&scrap_incident)),
        ("HERALD_TEMPLATE_ID", id(&template)),
        ("HERALD_SCRAP_TEMPLATE_ID", id(&scrap_template)),
        ("HERALD_SUBSCRIBER_ID", id(&subscriber)),
        ("HERALD_SCRAP_SUBSCRIBER_ID", id(&scrap_subscriber)),
        ("HERALD_JOB_ID", job_id.to_string()),
    ]
}

async fn schemathesis_finds_no_fault_in_the_live_api(b: Backend) {
    // Arrange: a key for every page (the jobs are instance-wide) and seeded objects
    // A 503 is herald's answer to a database it cannot get a connection from within 750 ms;
    // on a loaded 2-core machine schemathesis's load alone can cause that, and it counts every
    // 5xx as a fault. The bound is for outages (db_outage.rs); here requests wait.
    let app = TestApp::spawn_with(b, |c| c.db_acquire_timeout_ms = 30_000).await;
    let key = app.new_key(None, false).await;
    let env = seed(&app).await;
    let st = compat_python().with_file_name("st");
    assert!(
        st.exists(),
        "{} is missing: run scripts/test.sh",
        st.display()
    );
    // Act: a few examples per operation in every phase (examples, coverage, fuzzing, and
    // stateful runs along the links schemathesis infers), checks as tests/openapi says
    // In a directory of its own: schemathesis keeps a cache of past failures where it runs.
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let (schema, auth) = (
            app.url("/v1/openapi.json"),
            format!("Authorization: OAuth {key}"),
        );
        let cwd = dir.path().to_owned();
        move || {
            Command::new(st)
                .current_dir(cwd)
                .arg("--config-file")
                .arg(repo_root().join("tests/openapi/schemathesis.toml"))
                .args(["run", &schema, "--header", &auth, "--no-color"])
                .args(["--request-timeout", "20"])
                .envs(env)
                .output()
                .expect("run schemathesis")
        }
    })
    .await
    .unwrap();
    // Assert
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ...and it reached every operation.
    let selected = stdout
        .split("Selected: ")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("a summary");
    assert!(
        stdout.contains(&format!("Tested: {selected}\n")),
        "operations left untested:\n{stdout}"
    );
}

both_backends!(schemathesis_finds_no_fault_in_the_live_api);
