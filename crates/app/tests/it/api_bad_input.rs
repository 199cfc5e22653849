//! Bad input gets a clear 4xx and changes nothing: a table of malformed, mistyped, oversize
//! and cross-tenant requests, each checked for its status and message, then the page checked
//! unchanged.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: StatusCode,
    says: &'static str,
}

fn case(
    what: &'static str,
    method: Method,
    path: String,
    body: serde_json::Value,
    status: StatusCode,
    says: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        status,
        says,
    }
}

fn raw(
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: &[u8],
    status: StatusCode,
    says: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        content_type,
        body: body.to_vec(),
        status,
        says,
    }
}

async fn snapshot(app: &TestApp) -> String {
    let mut out = String::new();
    for p in [
        "",
        "/components",
        "/component-groups",
        "/incidents",
        "/incident_templates",
    ] {
        out += &app.get(&app.page_path(p)).await.text;
    }
    out + &app
        .store
        .list_audit(None, 10_000)
        .await
        .unwrap()
        .len()
        .to_string()
}

async fn bad_input_gets_a_clear_4xx_and_changes_nothing(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let c = app.component("API").await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let i = app.incident(json!({"name": "Open", "body": "x"})).await;
    let iid = i["id"].as_str().unwrap().to_owned();
    let other = app.new_page("other").await;
    let admin = app.new_key(None, false).await;
    let foreign = app
        .send_as(
            &admin,
            Method::POST,
            &format!("/v1/pages/{}/components", other.id),
            Some(&json!({"component": {"name": "Theirs"}})),
        )
        .await
        .json();
    let fid = foreign["id"].as_str().unwrap().to_owned();
    let comps = app.page_path("/components");
    let incs = app.page_path("/incidents");
    let inc = app.page_path(&format!("/incidents/{iid}"));
    let page = app.page_path("");
    use StatusCode as S;
    let cases = vec![
        case(
            "wrong type",
            Method::POST,
            comps.clone(),
            json!({"component": {"name": 5}}),
            S::UNPROCESSABLE_ENTITY,
            "component.name: invalid type",
        ),
        case(
            "missing wrapper",
            Method::POST,
            comps.clone(),
            json!({"name": "x"}),
            S::UNPROCESSABLE_ENTITY,
            "missing field `component`",
        ),
        case(
            "missing name",
            Method::POST,
            comps.clone(),
            json!({"component": {}}),
            S::UNPROCESSABLE_ENTITY,
            "component.name can't be blank",
        ),
        case(
            "blank name",
            Method::POST,
            comps.clone(),
            json!({"component": {"name": "   "}}),
            S::UNPROCESSABLE_ENTITY,
            "can't be blank",
        ),
        case(
            "unknown enum",
            Method::POST,
            comps.clone(),
            json!({"component": {"name": "x", "status": "on_fire"}}),
            S::UNPROCESSABLE_ENTITY,
            "unknown variant `on_fire`",
        ),
        case(
            "control characters",
            Method::POST,
            comps.clone(),
            json!({"component": {"name": "a\u{0007}b"}}),
            S::UNPROCESSABLE_ENTITY,
            "control characters",
        ),
        case(
            "array body",
            Method::POST,
            comps.clone(),
            json!([]),
            S::UNPROCESSABLE_ENTITY,
            "must be a JSON object",
        ),
        case(
            "bad start date",
            Method::POST,
            comps.clone(),
            json!({"component": {"name": "x", "start_date": "2024-02-30"}}),
            S::UNPROCESSABLE_ENTITY,
            "component.start_date",
        ),
        case(
            "name over 255",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "x".repeat(256)}}),
            S::UNPROCESSABLE_ENTITY,
            "too long (256 characters",
        ),
        case(
            "body over 25000",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "n", "body": "x".repeat(25_001)}}),
            S::UNPROCESSABLE_ENTITY,
            "incident.body is too long",
        ),
        case(
            "unknown incident status",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "n", "status": "panicking"}}),
            S::UNPROCESSABLE_ENTITY,
            "unknown variant",
        ),
        case(
            "postmortem status by hand",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "n", "status": "postmortem"}}),
            S::UNPROCESSABLE_ENTITY,
            "publishing the postmortem",
        ),
        case(
            "metadata not objects",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "n", "metadata": {"a": 5}}}),
            S::UNPROCESSABLE_ENTITY,
            "incident.metadata",
        ),
        case(
            "window ends before it starts",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "m", "status": "scheduled", "scheduled_for": "2099-01-02T00:00:00Z", "scheduled_until": "2099-01-01T00:00:00Z"}}),
            S::UNPROCESSABLE_ENTITY,
            "scheduled_until must be after",
        ),
        case(
            "not a timestamp",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "m", "status": "scheduled", "scheduled_for": "yesterday", "scheduled_until": "2099-01-01T00:00:00Z"}}),
            S::UNPROCESSABLE_ENTITY,
            "ISO 8601",
        ),
        case(
            "another page's component in the map",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "n", "components": {fid.clone(): "major_outage"}}}),
            S::UNPROCESSABLE_ENTITY,
            "no component",
        ),
        case(
            "a NUL byte in a component id (PostgreSQL refuses it in text: it was a 500)",
            Method::POST,
            incs.clone(),
            json!({"incident": {"name": "n", "component_ids": ["ab\u{0}cdefghijk"]}}),
            S::UNPROCESSABLE_ENTITY,
            "no component",
        ),
        case(
            "maintenance status on an incident",
            Method::PATCH,
            inc.clone(),
            json!({"incident": {"status": "in_progress"}}),
            S::UNPROCESSABLE_ENTITY,
            "maintenance status",
        ),
        case(
            "another page's component by path",
            Method::PATCH,
            app.page_path(&format!("/components/{fid}")),
            json!({"component": {"status": "major_outage"}}),
            S::NOT_FOUND,
            "could not be found",
        ),
        case(
            "unknown incident",
            Method::PATCH,
            app.page_path("/incidents/zzzzzzzzzzzz"),
            json!({"incident": {"body": "x"}}),
            S::NOT_FOUND,
            "could not be found",
        ),
        case(
            "unknown page",
            Method::POST,
            "/v1/pages/zzzzzzzzzzzz/components".to_owned(),
            json!({"component": {"name": "x"}}),
            S::NOT_FOUND,
            "could not be found",
        ),
        case(
            "unknown time zone",
            Method::PATCH,
            page.clone(),
            json!({"page": {"time_zone": "Mars/Base"}}),
            S::UNPROCESSABLE_ENTITY,
            "IANA time zone",
        ),
        case(
            "css injection",
            Method::PATCH,
            page.clone(),
            json!({"page": {"css_greens": "red;}body{display:none"}}),
            S::UNPROCESSABLE_ENTITY,
            "page.css_greens",
        ),
        case(
            "reserved slug",
            Method::PATCH,
            page.clone(),
            json!({"page": {"slug": "admin"}}),
            S::UNPROCESSABLE_ENTITY,
            "reserved",
        ),
        case(
            "javascript url",
            Method::PATCH,
            page.clone(),
            json!({"page": {"support_url": "javascript:alert(1)"}}),
            S::UNPROCESSABLE_ENTITY,
            "http or https URL",
        ),
        case(
            "group of nothing",
            Method::POST,
            app.page_path("/component-groups"),
            json!({"component_group": {"name": "G", "components": []}}),
            S::UNPROCESSABLE_ENTITY,
            "at least one",
        ),
        raw(
            "malformed JSON",
            Method::POST,
            incs.clone(),
            Some("application/json"),
            b"{\"incident\": {",
            S::BAD_REQUEST,
            "Malformed JSON",
        ),
        raw(
            "trailing garbage",
            Method::POST,
            incs.clone(),
            Some("application/json"),
            b"{\"incident\": {\"name\": \"x\"}} x",
            S::BAD_REQUEST,
            "Malformed JSON",
        ),
        raw(
            "not UTF-8",
            Method::POST,
            incs.clone(),
            Some("application/json"),
            b"{\"incident\": {\"name\": \"\xff\xfe\"}}",
            S::BAD_REQUEST,
            "Malformed JSON",
        ),
        raw(
            "deep nesting",
            Method::POST,
            incs.clone(),
            Some("application/json"),
            "[".repeat(10_000).as_bytes(),
            S::BAD_REQUEST,
            "Malformed JSON",
        ),
        raw(
            "wrong content type",
            Method::POST,
            incs.clone(),
            Some("text/plain"),
            b"name=x",
            S::UNSUPPORTED_MEDIA_TYPE,
            "not supported",
        ),
        raw(
            "no content type",
            Method::POST,
            incs.clone(),
            None,
            b"{\"incident\": {\"name\": \"x\"}}",
            S::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        raw(
            "bad form field",
            Method::POST,
            comps.clone(),
            Some("application/x-www-form-urlencoded"),
            b"component[name]=x&component[showcase]=maybe",
            S::UNPROCESSABLE_ENTITY,
            "Invalid form body",
        ),
        raw(
            "two megabytes",
            Method::POST,
            comps.clone(),
            Some("application/json"),
            &vec![b' '; 2 * 1024 * 1024],
            S::PAYLOAD_TOO_LARGE,
            "too large",
        ),
        raw(
            "negative page",
            Method::GET,
            format!("{incs}?page=-1"),
            None,
            b"",
            S::BAD_REQUEST,
            "page must be 1 or more",
        ),
        raw(
            "huge page",
            Method::GET,
            format!("{incs}?page=99999999999999999999"),
            None,
            b"",
            S::BAD_REQUEST,
            "page",
        ),
        raw(
            "non-numeric limit",
            Method::GET,
            format!("{incs}?limit=lots"),
            None,
            b"",
            S::BAD_REQUEST,
            "limit",
        ),
        raw(
            "unknown route",
            Method::GET,
            app.page_path("/nope"),
            None,
            b"",
            S::NOT_FOUND,
            "could not be found",
        ),
        raw(
            "wrong method",
            Method::DELETE,
            "/v1/pages".to_owned(),
            None,
            b"",
            S::METHOD_NOT_ALLOWED,
            "Method not allowed",
        ),
        raw(
            "path traversal",
            Method::GET,
            "/v1/pages/..%2F..%2Fetc%2Fpasswd".to_owned(),
            None,
            b"",
            S::NOT_FOUND,
            "could not be found",
        ),
    ];
    let before = snapshot(&app).await;
    for c in &cases {
        // Act
        let mut rb = app
            .client
            .request(c.method.clone(), app.url(&c.path))
            .header("Authorization", format!("OAuth {}", app.key));
        if let Some(ct) = c.content_type {
            rb = rb.header("Content-Type", ct);
        }
        if !c.body.is_empty() {
            rb = rb.body(c.body.clone());
        }
        let r = read(rb.send().await.unwrap()).await;
        // Assert
        assert_eq!(r.status, c.status, "{}: {}", c.what, r.text);
        let body = r.json();
        assert!(
            body["error"].as_str().unwrap_or("").contains(c.says),
            "{}: expected {:?} in {}",
            c.what,
            c.says,
            r.text
        );
        assert_eq!(body["error"], body["message"], "{}", c.what);
    }
    // A name in a bulk subscriber list that cannot be an id names nobody, as an unknown id
    // does (a NUL byte in it was a 500 on PostgreSQL).
    let r = app
        .send(
            Method::POST,
            &app.page_path("/subscribers/resend_confirmation"),
            Some(&json!({"subscribers": "ab\u{0}w", "type": "email"})),
        )
        .await;
    assert_eq!(r.status, S::ACCEPTED, "{}", r.text);
    assert_eq!(r.json(), json!({"subscribers": []}));
    assert_eq!(
        snapshot(&app).await,
        before,
        "a rejected request changed something"
    );
    let _ = cid;
}

both_backends!(bad_input_gets_a_clear_4xx_and_changes_nothing);
