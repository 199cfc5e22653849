//! The management API and the HTTP surface against issue 12's security probe: keys in URLs,
//! cached secrets, unbounded metric labels, names that spoof, the client's address in the
//! audit log, and 429s that say the real limit.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

async fn a_key_in_the_url_is_refused_with_a_message_saying_where_it_goes(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let url = app.url(&format!("/v1/pages?api_key={}", app.key));
    // Act: the key in the URL alone, and beside a good header
    let alone = read(app.client.get(&url).send().await.unwrap()).await;
    let with_header = read(
        app.client
            .get(&url)
            .header("Authorization", format!("OAuth {}", app.key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Assert
    for r in [&alone, &with_header] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert!(r.error().contains("Authorization"), "{}", r.text);
        assert!(r.error().contains("api_key"), "{}", r.text);
        assert!(r.headers.contains_key("www-authenticate"));
    }
    assert_eq!(app.get("/v1/pages").await.status, StatusCode::OK);
}

async fn no_v1_answer_may_be_cached(b: Backend) {
    // Arrange: a webhook subscriber (its answer holds the signing secret) and an export
    let app = TestApp::spawn_with(b, |c| c.egress_allow = "127.0.0.0/8".to_owned()).await;
    let created = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"endpoint": "http://127.0.0.1:9/hook", "email": "ops@example.com"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert!(created.json()["webhook_secret"].is_string());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    // Act
    let mut answers = vec![("create webhook subscriber", created)];
    for (what, method, path) in [
        (
            "rotate secret",
            Method::POST,
            format!("/subscribers/{id}/rotate_secret"),
        ),
        ("export", Method::GET, "/subscribers/export.csv".to_owned()),
        ("page", Method::GET, String::new()),
        ("not found", Method::GET, "/components/nope".to_owned()),
        ("bad query", Method::GET, "/incidents?page=0".to_owned()),
    ] {
        answers.push((what, app.send(method, &app.page_path(&path), None).await));
    }
    answers.push((
        "no key",
        read(app.client.get(app.url("/v1/pages")).send().await.unwrap()).await,
    ));
    answers.push(("no route", app.get("/v1/nothing/here").await));
    answers.push(("openapi", app.get("/v1/openapi.json").await));
    // Assert
    for (what, r) in answers {
        assert_eq!(
            r.headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{what} ({})",
            r.status
        );
    }
}

async fn invented_methods_and_paths_add_no_metric_series(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("herald_http_requests_total{"))
            .count()
    };
    let before = series(&app.public("/metrics", &[]).await.text);
    // Act: 40 invented methods and 40 paths nobody routes
    for i in 0..40 {
        let method = Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
        let r = read(
            app.client
                .request(method, app.url("/livez"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(r.status.is_client_error(), "M{i}: {}", r.status);
        let r = app.public(&format!("/no-such-path-{i}"), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let after = app.public("/metrics", &[]).await.text;
    // Assert: a handful of new series at most (one per bounded label value), none named
    // after what the client sent
    assert!(
        series(&after) <= before + 4,
        "{} series before, {} after:\n{after}",
        before,
        series(&after)
    );
    assert!(!after.contains("M17"), "{after}");
    assert!(!after.contains("no-such-path"), "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
}

/// A write that carries a name: method, path, the field named in errors, and the body.
type Write = (Method, String, &'static str, fn(&str) -> Value);

async fn names_everywhere_are_one_line_of_visible_text(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let component = app.component("API").await;
    let incident = app.incident(json!({"name": "Outage", "body": "x"})).await;
    let before = app.store.list_audit(None, 10_000).await.unwrap().len();
    let (cid, iid) = (
        component["id"].as_str().unwrap(),
        incident["id"].as_str().unwrap(),
    );
    let spoofs = [
        "Outage\r\nBcc: everyone@example.com",
        "Outage\nresolved",
        "invoice\u{202E}gpj.exe",
        "pay\u{200B}pal",
        "a\u{2066}b\u{2069}",
        "\u{FEFF}Outage",
    ];
    let writes: Vec<Write> = vec![
        (
            Method::POST,
            app.page_path("/components"),
            "component.name",
            |n| json!({"component": {"name": n}}),
        ),
        (
            Method::PATCH,
            app.page_path(&format!("/components/{cid}")),
            "component.name",
            |n| json!({"component": {"name": n}}),
        ),
        (
            Method::POST,
            app.page_path("/component-groups"),
            "component_group.name",
            |n| json!({"component_group": {"name": n}}),
        ),
        (
            Method::POST,
            app.page_path("/incidents"),
            "incident.name",
            |n| json!({"incident": {"name": n}}),
        ),
        (
            Method::PATCH,
            app.page_path(&format!("/incidents/{iid}")),
            "incident.name",
            |n| json!({"incident": {"name": n}}),
        ),
        (
            Method::POST,
            app.page_path("/incident_templates"),
            "template.name",
            |n| json!({"template": {"name": n, "title": "T", "body": "b"}}),
        ),
        (
            Method::POST,
            app.page_path("/incident_templates"),
            "template.title",
            |n| json!({"template": {"name": "T", "title": n, "body": "b"}}),
        ),
        (
            Method::PATCH,
            app.page_path(""),
            "page.name",
            |n| json!({"page": {"name": n}}),
        ),
    ];
    for (method, path, field, body) in &writes {
        for name in spoofs {
            // Act
            let r = app.send(method.clone(), path, Some(&body(name))).await;
            // Assert: 422 naming the field
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path} {name:?}: {}",
                r.text
            );
            assert_eq!(r.json()["field"], *field, "{method} {path} {name:?}");
        }
    }
    // ...and nothing was written
    assert_eq!(
        app.store.list_audit(None, 10_000).await.unwrap().len(),
        before
    );
    // Ordinary names in any script still pass
    let ok = app
        .post(
            &app.page_path("/components"),
            &json!({"component": {"name": "Café ☕ 東京 – Zahlungen"}}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

async fn the_audit_log_records_the_client_behind_the_proxy(b: Backend) {
    // Arrange: herald behind a proxy that appends the client to X-Forwarded-For
    let app = TestApp::spawn_with(b, |c| {
        c.client_ip_header = Some("X-Forwarded-For".to_owned());
    })
    .await;
    // Act: the client wrote a made-up first entry; the proxy appended the real one
    let r = read(
        app.client
            .post(app.url(&app.page_path("/components")))
            .header("Authorization", format!("OAuth {}", app.key))
            .header("X-Forwarded-For", "10.9.9.9, 203.0.113.45")
            .json(&json!({"component": {"name": "API"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Assert
    let entry = app
        .store
        .list_audit(Some(&app.page.id), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "component.create")
        .expect("an audit entry");
    assert_eq!(entry.actor_type, "api_key");
    assert_eq!(entry.source_ip.as_deref(), Some("203.0.113.45"));
}

async fn a_429_says_the_limit_that_was_reached(b: Backend) {
    // Arrange: a key limit of 2 per minute
    let app = TestApp::spawn_with(b, |c| c.api_requests_per_minute = 2).await;
    // Act
    let mut api = app.get("/v1/pages").await;
    while api.status != StatusCode::TOO_MANY_REQUESTS {
        api = app.get("/v1/pages").await;
    }
    let mut form = app.public("/", &[]).await;
    for _ in 0..10 {
        form = read(
            app.client
                .post(app.url("/p/acme/api/v2/subscribers.json"))
                .form(&[("subscriber[email]", "ops@example.com")])
                .send()
                .await
                .unwrap(),
        )
        .await;
        if form.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    // Assert
    assert!(
        api.error().contains("2 requests per minute per API key"),
        "{}",
        api.text
    );
    assert_eq!(form.status, StatusCode::TOO_MANY_REQUESTS, "{}", form.text);
    assert!(
        form.error()
            .contains("5 subscriptions per 10 minutes from one address"),
        "{}",
        form.text
    );
    assert!(!form.text.contains("API key"), "{}", form.text);
    assert!(form.headers.contains_key("retry-after"));
}

both_backends!(
    a_key_in_the_url_is_refused_with_a_message_saying_where_it_goes,
    no_v1_answer_may_be_cached,
    invented_methods_and_paths_add_no_metric_series,
    names_everywhere_are_one_line_of_visible_text,
    the_audit_log_records_the_client_behind_the_proxy,
    a_429_says_the_limit_that_was_reached,
);
