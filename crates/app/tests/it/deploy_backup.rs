//! `herald backup` under write load and `herald restore`: every write acknowledged before
//! the backup began comes back, the copy is intact, and a restored node answers as the
//! original did; bad input (non-empty target, corrupt file, wrong backend) changes nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::both_backends;
use crate::helpers::{Backend, Node, TestApp, TestDb, pg_cleanup, pg_url};
use crate::process::herald_cli;

/// A database to restore into: a new SQLite file, or a new PostgreSQL database (a dump
/// names its schema, so it cannot go back beside the original). Dropped with the test.
struct Target {
    url: String,
    _dir: tempfile::TempDir,
    database: Option<String>,
}

impl Target {
    async fn new(b: Backend, source: &TestDb) -> Target {
        let dir = tempfile::tempdir().unwrap();
        match b {
            Backend::Sqlite => Target {
                url: format!("sqlite://{}", dir.path().join("restored.db").display()),
                _dir: dir,
                database: None,
            },
            Backend::Postgres => {
                let name = format!("restore_{}", herald_domain::id::generate());
                let admin = sqlx::PgPool::connect(&pg_url()).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let (base, query) = source.url.split_once('?').unwrap();
                let server = base.rsplit_once('/').unwrap().0;
                Target {
                    url: format!("{server}/{name}?{query}"),
                    _dir: dir,
                    database: Some(name),
                }
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(name) = self.database.take() {
            pg_cleanup(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// GET `path` on `base` with `key`; the body with `base` replaced (URLs name the node).
async fn answer(base: &str, key: &str, path: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("Authorization", format!("OAuth {key}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap().replace(base, "BASE"))
}

async fn a_backup_under_write_load_restores_every_acknowledged_write_and_the_same_answers(
    b: Backend,
) {
    // Arrange: writes flow while the backup runs
    let app = TestApp::spawn(b).await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, url, key, acked, stop) = (
            app.client.clone(),
            app.url(&app.page_path("/incidents")),
            app.key.clone(),
            acked.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = client
                    .post(&url)
                    .header("Authorization", format!("OAuth {key}"))
                    .json(&serde_json::json!({"incident": {"name": format!("load {n}"), "status": "investigating"}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let v: serde_json::Value = r.json().await.unwrap();
                acked
                    .lock()
                    .unwrap()
                    .push(v["id"].as_str().unwrap().to_owned());
            }
        })
    };
    while acked.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.backup");
    let file_s = file.to_str().unwrap();
    // Act: back up while writing; restore into an empty database
    let before_backup: Vec<String> = acked.lock().unwrap().clone();
    let (ok, out, err, _) = herald_cli(&app.db.url, &["backup", "--to", file_s]).await;
    assert!(ok, "{err}");
    let during = acked.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let target = Target::new(b, &app.db).await;
    let (rok, rout, rerr, _) = herald_cli(&target.url, &["restore", "--from", file_s]).await;
    // Assert: every write acknowledged before the backup began is there
    assert!(rok, "{rerr}");
    assert!(
        out.starts_with("backup: ") && rout.starts_with("restore: "),
        "{out}{rout}"
    );
    let restored = Node::start(&target.url, |_| {}).await;
    let base = restored.url("");
    for id in &before_backup {
        let (status, body) =
            answer(&base, &app.key, &app.page_path(&format!("/incidents/{id}"))).await;
        assert_eq!(
            status, 200,
            "incident {id} acknowledged before the backup is missing: {body}"
        );
    }
    assert!(during >= before_backup.len());
    if b == Backend::Sqlite {
        let pool = sqlx::SqlitePool::connect(&target.url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        assert_eq!(check, "ok");
    }
    // Act: a backup of the quiet database, restored, answers as the original does
    let file2 = dir.path().join("quiet.backup");
    let (ok, _, err, _) =
        herald_cli(&app.db.url, &["backup", "--to", file2.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let target2 = Target::new(b, &app.db).await;
    let (ok, _, err, _) = herald_cli(
        &target2.url,
        &["restore", "--from", file2.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{err}");
    let copy = Node::start(&target2.url, |_| {}).await;
    for path in [
        "/api/v2/summary.json".to_owned(),
        "/api/v2/incidents.json".to_owned(),
        app.page_path("/incidents"),
        app.page_path("/components"),
    ] {
        let original = answer(&app.url(""), &app.key, &path).await;
        let restored = answer(&copy.url(""), &app.key, &path).await;
        assert_eq!(original, restored, "{path} differs after restore");
    }
}

async fn restore_refuses_a_non_empty_target_a_corrupt_file_and_the_wrong_backend(b: Backend) {
    // Arrange: a backup, and a target already holding herald's tables
    let app = TestApp::spawn(b).await;
    app.incident(serde_json::json!({"name": "kept", "status": "investigating"}))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("herald.backup");
    let file_s = file.to_str().unwrap().to_owned();
    let (ok, _, err, _) = herald_cli(&app.db.url, &["backup", "--to", &file_s]).await;
    assert!(ok, "{err}");
    let garbage = dir.path().join("garbage.backup");
    std::fs::write(&garbage, b"this is not a database, not even close").unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let truncated = dir.path().join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let other_backend = match b {
        Backend::Sqlite => "postgres://postgres@127.0.0.1:5432/nothing_here".to_owned(),
        Backend::Postgres => format!("sqlite://{}", dir.path().join("x.db").display()),
    };
    let empty = Target::new(b, &app.db).await;
    // Act
    let non_empty = herald_cli(&app.db.url, &["restore", "--from", &file_s]).await;
    let corrupt = herald_cli(
        &empty.url,
        &["restore", "--from", garbage.to_str().unwrap()],
    )
    .await;
    let cut = herald_cli(
        &empty.url,
        &["restore", "--from", truncated.to_str().unwrap()],
    )
    .await;
    let wrong = herald_cli(&other_backend, &["restore", "--from", &file_s]).await;
    // Assert: each refused with a sentence naming the problem; nothing changed
    assert!(
        !non_empty.0 && non_empty.2.contains("is not empty") && non_empty.2.contains("--force"),
        "{}",
        non_empty.2
    );
    assert!(
        !corrupt.0 && corrupt.2.contains("is not a herald backup"),
        "{}",
        corrupt.2
    );
    assert!(!cut.0, "a truncated backup was restored");
    assert!(
        !wrong.0 && wrong.2.contains("backup but the target is"),
        "{}",
        wrong.2
    );
    let list = app.get(&app.page_path("/incidents")).await;
    assert!(
        list.text.contains("kept"),
        "the original changed: {}",
        list.text
    );
    if b == Backend::Sqlite {
        let path = empty.url.trim_start_matches("sqlite://");
        assert!(
            !std::path::Path::new(path).exists(),
            "a refused restore left a file"
        );
        let leftovers: Vec<_> = std::fs::read_dir(std::path::Path::new(path).parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}

both_backends!(
    a_backup_under_write_load_restores_every_acknowledged_write_and_the_same_answers,
    restore_refuses_a_non_empty_target_a_corrupt_file_and_the_wrong_backend,
);
