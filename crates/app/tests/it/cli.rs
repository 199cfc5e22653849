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
    let (owner, hash) = store
        .find_user_by_email(&seeded.admin_email)
        .await
        .unwrap()
        .expect("the demo's admin account");
    assert_eq!(owner.role.as_str(), "owner");
    assert!(seeded.admin_password.len() >= 30);
    assert!(herald_domain::password::verify(
        &seeded.admin_password,
        &hash
    ));
}

/// Starts `herald <args> --listen 127.0.0.1:0 --ready-file ...` with `env`; the child (its
/// stdout piped), the address it bound, and the directory holding its log.
async fn start_bound(
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ready = crate::process::ready_file(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--ready-file"])
        .arg(&ready)
        .env("HERALD_CONFIG", "/nonexistent/herald.toml")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(crate::process::log_file(dir.path()))
        .spawn()
        .unwrap();
    let addr = crate::process::wait_ready(&mut child, &ready, &dir.path().join("stderr")).await;
    (child, addr, dir)
}

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    // Arrange
    let db = TestDb::new(Backend::Sqlite).await;
    let (mut child, addr, _dir) =
        start_bound(&["serve"], &[("HERALD_DATABASE_URL", db.url.as_str())]).await;
    let url = format!("http://{addr}/livez");
    let started = std::time::Instant::now();
    while !reqwest::get(&url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(child.try_wait().unwrap().is_none(), "herald exited");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "herald serve did not come up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Act
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Assert: it exits on its own, successfully (the bound only catches a hang).
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "still running 60 s after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reqwest::get(&url).await.is_err(), "the port is closed");
}

/// Runs `herald <args>` in `cwd` with no database configured at all.
fn unconfigured(cwd: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .current_dir(cwd)
        .env_remove("HERALD_DATABASE_URL")
        .env("HERALD_CONFIG", "/nonexistent/herald.toml")
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn commands_that_need_a_database_refuse_a_missing_one_and_create_nothing() {
    // Arrange: an empty directory, no database configured (so the default ./herald.db)
    let cwd = tempfile::tempdir().unwrap();
    let elsewhere = cwd.path().join("typo/herald.db");
    let named = format!("sqlite://{}", elsewhere.display());
    for args in [
        &["verify", "--url", "http://127.0.0.1:9", "--timeout", "1s"][..],
        &["pages", "list"],
        &["pages", "create", "--name", "Acme", "--slug", "acme"],
        &["keys", "list"],
        &["keys", "create"],
        &["jobs", "list"],
        &["users", "create", "--email", "ops@example.com"],
    ] {
        // Act
        let (ok, err) = unconfigured(cwd.path(), args, &[]);
        let (ok_named, err_named) =
            unconfigured(cwd.path(), args, &[("HERALD_DATABASE_URL", &named)]);
        // Assert: a failure naming the database it looked for and how to name another
        assert!(!ok, "{args:?} succeeded without a database");
        for want in [
            "sqlite://./herald.db",
            "no database is configured",
            "--database-url",
            "HERALD_DATABASE_URL",
        ] {
            assert!(err.contains(want), "{args:?}: {want:?} not in {err}");
        }
        assert!(!ok_named, "{args:?} succeeded on a missing file");
        assert!(err_named.contains(&named), "{args:?}: {err_named}");
        assert!(
            !err_named.contains("no database is configured"),
            "{err_named}"
        );
        // ...and nothing was created
        assert_eq!(
            std::fs::read_dir(cwd.path()).unwrap().count(),
            0,
            "{args:?} left files behind"
        );
    }
}

async fn verify_refuses_a_database_without_herald_schema(b: Backend) {
    // Arrange: a database that exists but was never migrated
    let db = TestDb::new(b).await;
    if b == Backend::Sqlite {
        std::fs::File::create(db.url.trim_start_matches("sqlite://")).unwrap();
    }
    // Act
    let (ok, _, err) = herald(
        &db,
        &["verify", "--url", "http://127.0.0.1:9", "--timeout", "1s"],
        None,
    );
    // Assert
    assert!(!ok);
    assert!(err.contains("has no herald schema"), "{err}");
    assert!(err.contains("herald migrate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_an_admin_sign_in_that_works() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.db");
    let (mut child, addr, _log) = start_bound(
        &["demo", "--file", file.to_str().unwrap()],
        &[("RUST_LOG", "warn")],
    )
    .await;
    // Act: read what it printed, up to its last line ("try: curl ...")
    let mut printed = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    while !printed.contains("try:") {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        assert!(n > 0, "demo output ended: {printed}");
        printed += &line;
    }
    let field = |name: &str| -> String {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name:?} in {printed}"))
            .trim()
            .to_owned()
    };
    let (email, password) = (field("admin e-mail:"), field("password:"));
    assert!(
        printed.contains(&format!("http://{addr}/admin/login")),
        "{printed}"
    );
    assert!(printed.contains("API key:"), "{printed}");
    // Assert: signing in with them opens the admin dashboard showing the demo page
    let client = crate::admin_support::client();
    let signed = client
        .post(format!("http://{addr}/admin/login"))
        .header("Origin", format!("http://{addr}"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("email", email.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let home = client
        .get(format!("http://{addr}/admin"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("Acme Cloud"));
    // ...and a wrong password does not
    let wrong = client
        .post(format!("http://{addr}/admin/login"))
        .header("Origin", format!("http://{addr}"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("email", email.as_str()), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_ne!(wrong.status(), StatusCode::SEE_OTHER);
    let _ = child.kill();
    let _ = child.wait();
}

both_backends!(
    the_cli_creates_pages_keys_and_users_printing_only_what_was_asked,
    migrate_brings_an_empty_database_to_the_current_schema,
    the_demo_seed_builds_a_lived_in_page,
    verify_refuses_a_database_without_herald_schema,
);
