//! Authentication, authorisation, tenant isolation and rate limits of the management API.

use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

async fn every_accepted_form_of_the_key_works(b: Backend) {
    let app = TestApp::spawn(b).await;
    let url = app.url("/v1/pages");
    for header in [
        format!("OAuth {}", app.key),
        format!("Bearer {}", app.key),
        app.key.clone(),
    ] {
        let rb = app.client.get(&url).header("Authorization", &header);
        let r = read(rb.send().await.unwrap()).await;
        assert_eq!(r.status, StatusCode::OK, "{header}: {}", r.text);
    }
    // The query string is no place for a key (security_api.rs).
    let r = read(
        app.client
            .get(format!("{url}?api_key={}", app.key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

async fn wrong_missing_and_revoked_keys_get_401(b: Backend) {
    let app = TestApp::spawn(b).await;
    let no_key = read(app.client.get(app.url("/v1/pages")).send().await.unwrap()).await;
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        no_key.json(),
        json!({"error": "Could not authenticate", "message": "Could not authenticate"})
    );
    let mut tampered = app.key.clone();
    tampered.replace_range(8..9, if &app.key[8..9] == "a" { "b" } else { "a" });
    assert_eq!(
        app.send_as(&tampered, Method::GET, "/v1/pages", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = herald_domain::apikey::generate().secret;
    assert_eq!(
        app.send_as(&unknown, Method::GET, "/v1/pages", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let key = app.new_key(None, false).await;
    assert_eq!(
        app.send_as(&key, Method::GET, "/v1/pages", None)
            .await
            .status,
        StatusCode::OK
    );
    let id = app.store.list_keys().await.unwrap()[0].id.clone();
    app.store
        .revoke_key(&id, &Actor::cli(), SystemClock.now())
        .await
        .unwrap();
    assert_eq!(
        app.send_as(&key, Method::GET, "/v1/pages", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "revoked on the next request"
    );
}

async fn keys_are_stored_as_hashes_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    let secret_part = &app.key[12..app.key.len() - 4];
    let dump = app.db.dump().await;
    assert!(
        dump.contains(&herald_domain::apikey::hash(&app.key)),
        "the dump should hold the key's hash"
    );
    assert!(
        !dump.contains(secret_part),
        "the key's secret part is in the database"
    );
    let keys = app.store.list_keys().await.unwrap();
    assert!(
        keys.iter()
            .any(|k| app.key.starts_with(&k.prefix) && app.key.ends_with(&k.last4))
    );
}

/// Creates one of everything on the app's page; returns the ids.
async fn fill(app: &TestApp) -> Vec<(&'static str, String)> {
    let c = app.component("API").await;
    let c2 = app.component("DB").await;
    let g = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"component_group": {"name": "G", "components": [c2["id"]]}}),
        )
        .await
        .json();
    let i = app
        .incident(json!({"name": "I", "body": "b", "status": "resolved"}))
        .await;
    let t = app
        .post(
            &app.page_path("/incident_templates"),
            &json!({"template": {"name": "T", "title": "T"}}),
        )
        .await
        .json();
    // An incident subscriber: reachable under /subscribers and /incidents/{i}/subscribers.
    let sub = app
        .post(
            &app.page_path(&format!("/incidents/{}/subscribers", i["id"].as_str().unwrap())),
            &json!({"subscriber": {"email": "ops@example.com", "skip_confirmation_notification": true}}),
        )
        .await
        .json();
    let s = |v: &Value| v.as_str().unwrap().to_owned();
    let integration = app
        .post(
            &app.page_path("/integrations"),
            &json!({"integration": {"type": "webhook", "name": "Monitoring"}}),
        )
        .await
        .json();
    let provider = crate::metrics_api::provider(app, json!({"type": "Self"})).await;
    let metric = crate::metrics_api::metric(
        app,
        provider["id"].as_str().unwrap(),
        json!({"name": "Latency"}),
    )
    .await;
    // A dead letter of this page, for the /v1/jobs routes.
    let now = SystemClock.now();
    let job = herald_store::NewJob::new("isolation", "test.isolation", json!({}));
    let job = herald_store::NewJob {
        page_id: Some(app.page.id.to_string()),
        ..job
    };
    app.store.enqueue(&[job], now).await.unwrap();
    let claimed = app
        .store
        .claim_jobs("isolation", "w", 1, now)
        .await
        .unwrap();
    app.store
        .finish_jobs(
            &[herald_store::Finish {
                id: claimed[0].id,
                attempt: 1,
                outcome: herald_store::Outcome::Discard { error: "x".into() },
            }],
            now,
        )
        .await
        .unwrap();
    vec![
        ("job_id", claimed[0].id.to_string()),
        ("component_id", s(&c["id"])),
        ("group_id", s(&g["id"])),
        ("incident_id", s(&i["id"])),
        ("incident_update_id", s(&i["incident_updates"][0]["id"])),
        ("template_id", s(&t["id"])),
        ("subscriber_id", s(&sub["id"])),
        ("integration_id", s(&integration["id"])),
        ("metrics_provider_id", s(&provider["id"])),
        ("metric_id", s(&metric["id"])),
    ]
}

/// Everything a key of the app's page can read of it, for before/after comparisons.
async fn dump(app: &TestApp, key: &str, page_id: &str) -> String {
    let mut out = String::new();
    for p in [
        "",
        "/components",
        "/component-groups",
        "/incidents",
        "/incident_templates",
    ] {
        out += &app
            .send_as(key, Method::GET, &format!("/v1/pages/{page_id}{p}"), None)
            .await
            .text;
    }
    out
}

fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            if let Ok(method) = m.to_uppercase().parse::<Method>() {
                ops.push((method, path.clone()));
            }
        }
    }
    ops
}

fn body_for(path: &str) -> Value {
    let key = [
        "component-groups",
        "components",
        "incident_updates",
        "postmortem",
        "incident_templates",
        "incidents",
        "pages",
    ]
    .iter()
    .find(|k| path.contains(*k))
    .copied()
    .unwrap_or("x");
    let wrapper = match key {
        "component-groups" => "component_group",
        "components" => "component",
        "incident_updates" => "incident_update",
        "postmortem" => "postmortem",
        "incident_templates" => "template",
        "incidents" => "incident",
        _ => "page",
    };
    json!({ wrapper: {"name": "hacked", "title": "hacked", "body": "hacked", "body_draft": "hacked", "components": [], "status": "major_outage"} })
}

async fn a_key_never_reaches_another_pages_data(b: Backend) {
    // Arrange: tenant B's page full of data, and tenant A's key.
    let app = TestApp::spawn(b).await;
    let b_ids = fill(&app).await;
    let b_before = dump(&app, &app.key, app.page.id.as_str()).await;
    let other = app.new_page("tenant-a").await;
    let a_key = app
        .new_key(Some(std::slice::from_ref(&other.id)), false)
        .await;
    let doc = app.get("/v1/openapi.json").await.json();
    // Act: every documented operation, with A's key on B's ids.
    let mut tried = 0;
    for (method, template) in operations(&doc) {
        if !template.contains('{') {
            // A list across pages: it must not show B's rows.
            let r = app.send_as(&a_key, method.clone(), &template, None).await;
            assert_eq!(r.status, StatusCode::OK, "{template}: {}", r.text);
            for (name, id) in &b_ids {
                assert!(
                    !r.text.contains(&format!("\"{id}\"")) && !r.text.contains(&format!(":{id},")),
                    "{template} shows B's {name}: {}",
                    r.text
                );
            }
            continue;
        }
        let mut path = template.replace("{page_id}", app.page.id.as_str());
        for (name, id) in &b_ids {
            path = path.replace(&format!("{{{name}}}"), id);
        }
        assert!(!path.contains('{'), "no id for {template}");
        let body = (method != Method::GET && method != Method::DELETE).then(|| body_for(&path));
        let r = app
            .send_as(&a_key, method.clone(), &path, body.as_ref())
            .await;
        // Assert
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        tried += 1;
    }
    assert!(tried >= 30, "only {tried} operations were tried");
    assert_eq!(
        dump(&app, &app.key, app.page.id.as_str()).await,
        b_before,
        "B's data changed"
    );
}

async fn a_read_only_key_reads_but_every_write_is_403(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ids = fill(&app).await;
    let before = dump(&app, &app.key, app.page.id.as_str()).await;
    let ro = app
        .new_key(Some(std::slice::from_ref(&app.page.id)), true)
        .await;
    let doc = app.get("/v1/openapi.json").await.json();
    let mut writes = 0;
    for (method, template) in operations(&doc) {
        let mut path = template.replace("{page_id}", app.page.id.as_str());
        for (name, id) in &ids {
            path = path.replace(&format!("{{{name}}}"), id);
        }
        let body = (method != Method::GET && method != Method::DELETE).then(|| body_for(&path));
        let r = app.send_as(&ro, method.clone(), &path, body.as_ref()).await;
        if method == Method::GET {
            assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.text);
        } else {
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.text
            );
            assert_eq!(r.error(), "You are not authorized to access this resource.");
            writes += 1;
        }
    }
    assert!(writes >= 15, "{writes}");
    assert_eq!(dump(&app, &app.key, app.page.id.as_str()).await, before);
}

async fn a_key_over_its_rate_limit_gets_429_with_retry_after(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.api_requests_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(app.get("/v1/pages").await.status, StatusCode::OK);
    }
    let r = app.get("/v1/pages").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert!(r.error().contains("Rate limit"));
    let other = app.new_key(None, true).await;
    assert_eq!(
        app.send_as(&other, Method::GET, "/v1/pages", None)
            .await
            .status,
        StatusCode::OK,
        "budgets are per key"
    );
}

both_backends!(
    every_accepted_form_of_the_key_works,
    wrong_missing_and_revoked_keys_get_401,
    keys_are_stored_as_hashes_only,
    a_key_never_reaches_another_pages_data,
    a_read_only_key_reads_but_every_write_is_403,
    a_key_over_its_rate_limit_gets_429_with_retry_after,
);
