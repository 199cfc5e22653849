//! The `herald` command line, run as a real process, and the demo seed.

use herald_domain::status::IncidentStatus;
use reqwest::StatusCode;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, TestDb};

fn herald(db: &TestDb, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_CONFIG", "/nonexistent/herald.toml")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run herald");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

async fn the_cli_creates_pages_keys_and_users_printing_only_what_was_asked(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let db = &app.db;
    // Act and assert: `pages create` prints only the id.
    let (ok, out, err) = herald(
        db,
        &["pages", "create", "--name", "Second", "--slug", "second"],
        None,
    );
    assert!(ok, "{err}");
    let id = out.trim();
    assert!(
        herald_domain::id::looks_valid(id) && out == format!("{id}\n"),
        "{out:?}"
    );
    // `keys create --page <slug>` prints only the key, which works for that page only.
    let (ok, out, err) = herald(db, &["keys", "create", "--page", "second"], None);
    assert!(ok, "{err}");
    let key = out.trim().to_owned();
    assert!(
        key.starts_with("hrld_") && out.lines().count() == 1,
        "{out:?}"
    );
    let mine = app
        .send_as(&key, reqwest::Method::GET, &format!("/v1/pages/{id}"), None)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    let theirs = app
        .send_as(&key, reqwest::Method::GET, &app.page_path(""), None)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // A read-only key for every page.
    let (_, out, _) = herald(db, &["keys", "create", "--read-only"], None);
    let ro = out.trim();
    assert_eq!(
        app.send_as(ro, reqwest::Method::GET, &app.page_path(""), None)
            .await
            .status,
        StatusCode::OK
    );
    let w = app
        .send_as(
            ro,
            reqwest::Method::POST,
            &app.page_path("/components"),
            Some(&serde_json::json!({"component": {"name": "x"}})),
        )
        .await;
    assert_eq!(w.status, StatusCode::FORBIDDEN);
    // `users create` reads the password from stdin.
    let (ok, _, err) = herald(
        db,
        &["users", "create", "--email", "Ops@Example.org"],
        Some("a long enough password\n"),
    );
    assert!(ok, "{err}");
    let (user, hash) = app
        .store
        .find_user_by_email("ops@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role.as_str(), "owner");
    assert!(herald_domain::password::verify(
        "a long enough password",
        &hash
    ));
    let (ok, _, err) = herald(
        db,
        &["users", "create", "--email", "x@example.org"],
        Some("short\n"),
    );
    assert!(!ok && err.contains("at least 10"), "{err}");
    // Unknown pages and bad names fail with a message and exit 1.
    let (ok, _, err) = herald(db, &["keys", "create", "--page", "nope"], None);
    assert!(!ok && err.contains("no page"), "{err}");
    let (ok, _, err) = herald(
        db,
        &["pages", "create", "--name", "X", "--slug", "Bad Slug"],
        None,
    );
    assert!(!ok && err.contains("page.slug"), "{err}");
}

async fn migrate_brings_an_empty_database_to_the_current_schema(b: Backend) {
    let db = TestDb::new(b).await;
    let (ok, _, err) = herald(&db, &["migrate"], None);
    assert!(ok, "{err}");
    let store = herald_store::Store::connect(&db.url, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        herald_store::Store::expected_schema_version()
    );
}

async fn the_demo_seed_builds_a_lived_in_page(b: Backend) {
    // Arrange
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let now = herald_domain::clock::from_ms(1_764_072_000_000);
    // Act
    let seeded = herald::demo::seed(&store, now).await.unwrap();
    // Assert
    let components = store.list_components(&seeded.page.id).await.unwrap();
    assert_eq!(components.iter().filter(|c| c.is_group).count(), 2);
    assert_eq!(components.iter().filter(|c| !c.is_group).count(), 10);
    let all = store
        .list_incidents(&seeded.page.id, &Default::default())
        .await
        .unwrap();
    let open: Vec<_> = all
        .iter()
        .filter(|i| i.status == IncidentStatus::Identified)
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].updates.len(), 3);
    assert!(
        all.iter()
            .any(|i| i.status == IncidentStatus::Postmortem && i.postmortem.body.is_some())
    );
    assert!(
        all.iter()
            .any(|i| i.status == IncidentStatus::Scheduled && i.scheduled_for.unwrap() > now)
    );
    let oldest = all.iter().map(|i| i.created_at).min().unwrap();
    assert!(
        now - oldest >= chrono::TimeDelta::days(75),
        "history spans most of 90 days"
    );
    assert!(herald_domain::apikey::check(&seeded.api_key).is_some());
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    // Arrange
    let db = TestDb::new(Backend::Sqlite).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_CONFIG", "/nonexistent/herald.toml")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/livez");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "herald serve did not come up");
    // Act
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Assert: it exits on its own, successfully, and quickly.
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reqwest::get(&url).await.is_err(), "the port is closed");
}

both_backends!(
    the_cli_creates_pages_keys_and_users_printing_only_what_was_asked,
    migrate_brings_an_empty_database_to_the_current_schema,
    the_demo_seed_builds_a_lived_in_page,
);
