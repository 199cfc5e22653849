//! Expand/contract: this build on a schema a newer build migrated, a schema an older build
//! left, `herald migrate --plan` and `--contract`, and a migration killed half-way.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::both_backends;
use crate::deploy_support::{apply_as_newer_build, exec, migrate_files_upto, scalar};
use crate::helpers::{Backend, Node, TestDb};
use crate::process::{Herald, herald_cli};
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::page::NewPage;
use herald_store::{ColumnDrift, DbOptions, Store};

/// The schema this build knows.
fn known() -> i64 {
    Store::expected_schema_version()
}

/// A page and a read-write key for it.
async fn page_and_key(store: &Store) -> (String, String) {
    let page = store
        .create_page(
            &NewPage::parse("Acme Cloud", "acme", None).unwrap(),
            &Actor::cli(),
            SystemClock.now(),
        )
        .await
        .unwrap();
    let key = apikey::generate();
    store
        .create_key("t", &key, false, None, &Actor::cli(), SystemClock.now())
        .await
        .unwrap();
    (page.id.to_string(), key.secret)
}

async fn a_newer_builds_expand_migration_leaves_this_build_serving_and_ready(b: Backend) {
    // Arrange: the schema as this build leaves it, then a newer build's expand migration
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let (page, key) = page_and_key(&store).await;
    store.close().await;
    apply_as_newer_build(
        &db,
        b,
        9001,
        "scratch_expand",
        Some("expand"),
        "CREATE TABLE scratch_expand (id TEXT PRIMARY KEY); \
         ALTER TABLE pages ADD COLUMN scratch_note TEXT",
    )
    .await;
    // Act: this build starts (and migrates) on it
    let node = Herald::start(&db.url, "all", &[]).await;
    // Assert: ready, saying why, and the v1 client scenario passes
    let (status, body) = node.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let expect = format!("schema 9001, this build knows {}: compatible", known());
    assert!(body.contains(&expect), "{body}");
    crate::compat::run_v1_python_client(&format!("{}/v1", node.base), &key, &page).await;
}

async fn a_newer_builds_contract_migration_makes_this_build_refuse_naming_it(b: Backend) {
    // Arrange: a node of this build is running when a newer build contracts the schema
    let db = TestDb::new(b).await;
    db.store().await.close().await;
    let running = Node::start(&db.url, |_| {}).await;
    while running.get("/readyz").await.status != 200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    apply_as_newer_build(
        &db,
        b,
        9002,
        "scratch_contract",
        Some("contract"),
        "CREATE TABLE scratch_contract (id TEXT)",
    )
    .await;
    // Act
    let (serve_ok, _, serve_err, _) =
        herald_cli(&db.url, &["serve", "--listen", "127.0.0.1:0"]).await;
    let (nomig_ok, _, nomig_err, _) = herald_cli(
        &db.url,
        &["serve", "--no-migrate", "--listen", "127.0.0.1:0"],
    )
    .await;
    let (mig_ok, _, mig_err, _) = herald_cli(&db.url, &["migrate"]).await;
    let ready = running.get("/readyz").await;
    // Assert: each refuses, naming the migration and why; the running node leaves rotation
    for (ok, err) in [
        (serve_ok, &serve_err),
        (nomig_ok, &nomig_err),
        (mig_ok, &mig_err),
    ] {
        assert!(!ok, "started on a contracted schema: {err}");
        assert!(
            err.contains("migration 9002 (scratch_contract) is a contract step"),
            "{err}"
        );
    }
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(
        ready.text.contains("migration 9002 (scratch_contract)"),
        "{}",
        ready.text
    );
}

async fn a_migration_applied_without_a_recorded_kind_is_refused(b: Backend) {
    // Arrange: a newer build that recorded no kind (so nothing says it is safe)
    let db = TestDb::new(b).await;
    db.store().await.close().await;
    apply_as_newer_build(
        &db,
        b,
        9003,
        "unrecorded",
        None,
        "CREATE TABLE unrecorded (id TEXT)",
    )
    .await;
    // Act
    let (ok, _, err, _) = herald_cli(&db.url, &["migrate"]).await;
    // Assert
    assert!(!ok);
    assert!(
        err.contains("migration 9003 (unrecorded) is applied by a build that recorded no kind"),
        "{err}"
    );
}

async fn migrate_plan_lists_pending_migrations_and_changes_nothing(b: Backend) {
    // Arrange: the schema an older build (plain sqlx, before annotations) left at 7
    let db = TestDb::new(b).await;
    migrate_files_upto(&db, b, 7).await;
    // Act
    let (ok, plan, err, _) = herald_cli(&db.url, &["migrate", "--plan"]).await;
    let after_plan = scalar(&db, b, "SELECT MAX(version) AS n FROM _sqlx_migrations").await;
    let (migrated, out, merr, _) = herald_cli(&db.url, &["migrate"]).await;
    // Assert: the plan names each pending migration, its kind and the oldest release that
    // runs after it; only `migrate` applies them, and it accepts the older build's records
    assert!(ok, "{err}");
    assert!(
        plan.contains(&format!("schema 7, this build knows {}", known())),
        "{plan}"
    );
    assert!(
        plan.contains(
            "0011 worker_release\texpand\toldest release that still runs after it: 0.1.0"
        ),
        "{plan}"
    );
    assert_eq!(after_plan, 7, "--plan changed the schema");
    assert!(migrated, "{merr}");
    assert!(
        out.contains(&format!("schema {0}, this build knows {0}", known())),
        "{out}"
    );
    let kinds = scalar(
        &db,
        b,
        "SELECT COUNT(*) AS n FROM herald_migration_kinds WHERE kind = 'expand'",
    )
    .await;
    let applied = scalar(
        &db,
        b,
        "SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success",
    )
    .await;
    assert_eq!(kinds, applied, "every applied migration's kind is recorded");
}

async fn contract_steps_wait_for_workers_of_older_releases(b: Backend) {
    // Arrange: one worker of this build, one of a build that records no release, one dead
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let now = SystemClock.now();
    store.worker_heartbeat("current", "h1", now).await.unwrap();
    exec(
        &db,
        b,
        &format!(
            "INSERT INTO workers (id, hostname, started_at, heartbeat_at) VALUES \
             ('old', 'h2', {0}, {0}), ('dead', 'h3', 0, 0)",
            now.timestamp_millis()
        ),
    )
    .await;
    let since = now - chrono::TimeDelta::seconds(10);
    // Act
    let older: Vec<String> = store
        .older_workers(known(), since)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    let newer_than_all = store.older_workers(known() + 1, since).await.unwrap();
    let (ok, out, err, _) = herald_cli(&db.url, &["migrate", "--contract"]).await;
    // Assert
    assert_eq!(older, vec!["old".to_owned()]);
    assert_eq!(
        newer_than_all.len(),
        2,
        "a step this build does not know waits for it too"
    );
    assert!(ok, "{err}");
    assert!(out.contains("no contract step is pending"), "{out}");
}

async fn two_nodes_migrating_at_once_both_end_on_the_full_schema(b: Backend) {
    // Arrange
    let db = TestDb::new(b).await;
    migrate_files_upto(&db, b, 7).await;
    // Act
    let (one, two) = tokio::join!(
        herald_cli(&db.url, &["migrate"]),
        herald_cli(&db.url, &["migrate"])
    );
    // Assert
    assert!(one.0, "{}", one.2);
    assert!(two.0, "{}", two.2);
    let v = scalar(
        &db,
        b,
        "SELECT MAX(version) AS n FROM _sqlx_migrations WHERE success",
    )
    .await;
    assert_eq!(v, known());
}

async fn a_migration_killed_half_way_is_finished_by_the_next_start(b: Backend) {
    // Arrange: an older build's schema; on PostgreSQL a session holds the `workers` table,
    // so migration 11 (which alters it) waits inside its transaction
    let db = TestDb::new(b).await;
    migrate_files_upto(&db, b, 7).await;
    let blocker = match b {
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("LOCK TABLE workers IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .unwrap();
            Some((pool, tx))
        }
        Backend::Sqlite => None,
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("migrate")
        .env("HERALD_DATABASE_URL", &db.url)
        .env("HERALD_CONFIG", "/nonexistent/herald.toml")
        .env("RUST_LOG", "info")
        .env("HERALD_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Act: SIGKILL once it says it is applying (on PostgreSQL: once it waits for the lock,
    // i.e. inside the migration's transaction)
    loop {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        if said.contains("applying migrations") {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "herald exited first: {said}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if b == Backend::Postgres {
        let schema = db.url.rsplit('=').next().unwrap().to_owned();
        while scalar(
            &db,
            b,
            &format!(
                "SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 JOIN pg_namespace s ON s.oid = c.relnamespace \
                 WHERE c.relname = 'workers' AND s.nspname = '{schema}' AND NOT l.granted"
            ),
        )
        .await
            == 0
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    if let Some((pool, tx)) = blocker {
        tx.rollback().await.unwrap();
        pool.close().await;
        // Assert (PostgreSQL): nothing of migration 11 is left, neither the column nor a record
        let half = scalar(
            &db,
            b,
            "SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_name = 'workers' \
             AND column_name = 'release' AND table_schema = current_schema()",
        )
        .await;
        assert_eq!(half, 0, "a killed migration left its change behind");
        let recorded = scalar(
            &db,
            b,
            "SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE version = 11",
        )
        .await;
        assert_eq!(recorded, 0);
    }
    // Act again: the next start finishes the job
    let (ok, out, err, _) = herald_cli(&db.url, &["migrate"]).await;
    // Assert
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("schema {0}, this build knows {0}", known())),
        "{out}"
    );
    let store = Store::connect(&db.url, &DbOptions::default())
        .await
        .unwrap();
    let status = store.schema_status().await.unwrap();
    assert!(status.ready(), "{}", status.summary());
    assert_eq!(status.failed, None);
    if b == Backend::Sqlite {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
    }
}

both_backends!(
    a_newer_builds_expand_migration_leaves_this_build_serving_and_ready,
    a_newer_builds_contract_migration_makes_this_build_refuse_naming_it,
    a_migration_applied_without_a_recorded_kind_is_refused,
    migrate_plan_lists_pending_migrations_and_changes_nothing,
    contract_steps_wait_for_workers_of_older_releases,
    two_nodes_migrating_at_once_both_end_on_the_full_schema,
    a_migration_killed_half_way_is_finished_by_the_next_start,
    every_column_list_names_its_tables_columns,
    a_running_node_keeps_answering_while_a_newer_build_adds_columns,
);

/// Every table herald reads whole rows of (`store/src/columns.rs`).
const TABLES_READ_WHOLE: [&str; 16] = [
    "pages",
    "components",
    "incidents",
    "incident_updates",
    "incident_templates",
    "component_automation",
    "jobs",
    "reconciler_runs",
    "notification_events",
    "deliveries",
    "metrics",
    "users",
    "audit_log",
    "api_keys",
    "subscribers",
    "metrics_providers",
];

/// The store's column lists are exactly its tables' columns once this build has migrated:
/// a migration that adds a column this build reads, without naming it in `cols!`, fails here.
async fn every_column_list_names_its_tables_columns(b: Backend) {
    let db = TestDb::new(b).await;
    let store = db.store().await;
    assert_eq!(store.column_drift().await.unwrap(), ColumnDrift::default());
    store.close().await;
}

async fn a_running_node_keeps_answering_while_a_newer_build_adds_columns(b: Backend) {
    // Arrange: a node that has run every kind of statement once (on PostgreSQL each would be
    // a prepared statement by now)
    let app = crate::helpers::TestApp::spawn(b).await;
    let component = app.component("API").await;
    let first = app
        .incident(
            serde_json::json!({"name": "before", "status": "investigating",
            "components": {component["id"].as_str().unwrap(): "degraded_performance"}}),
        )
        .await;
    assert_eq!(app.get(&app.page_path("/incidents")).await.status, 200);
    exercise_other_tables(&app, "before").await;
    // Act: a newer build adds a column to every table this node reads whole rows of
    let store = app.db.store().await;
    let before = store.column_drift().await.unwrap();
    assert_eq!(before, ColumnDrift::default());
    let mut sql = String::new();
    for table in TABLES_READ_WHOLE {
        sql += &format!("ALTER TABLE {table} ADD COLUMN newer_note TEXT; ");
    }
    apply_as_newer_build(&app.db, b, 9004, "add_columns", Some("expand"), &sql).await;
    let after = store.column_drift().await.unwrap();
    let added: Vec<String> = TABLES_READ_WHOLE
        .iter()
        .map(|t| format!("{t}.newer_note"))
        .collect();
    assert_eq!(
        (after.missing.len(), after.unlisted.len()),
        (0, added.len())
    );
    store.close().await;
    // Assert: reads and writes go on answering
    let second = app
        .incident(serde_json::json!({"name": "after", "status": "investigating"}))
        .await;
    for id in [&first["id"], &second["id"]] {
        let r = app
            .patch(
                &app.page_path(&format!("/incidents/{}", id.as_str().unwrap())),
                &serde_json::json!({"incident": {"status": "resolved", "body": "fixed"}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for path in [
        app.page_path("/incidents"),
        app.page_path("/components"),
        app.page_path(""),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    assert_eq!(app.public("/api/v2/summary.json", &[]).await.status, 200);
    exercise_other_tables(&app, "after").await;
}

/// Writes and reads templates, subscribers, metrics providers and metrics through v1.
async fn exercise_other_tables(app: &crate::helpers::TestApp, tag: &str) {
    use serde_json::json;
    let ok = |r: &crate::helpers::Resp, what: &str| {
        assert!(r.status.is_success(), "{what}: {} {}", r.status, r.text);
    };
    let r = app
        .post(
            &app.page_path("/incident_templates"),
            &json!({"template": {"name": tag, "title": tag, "body": "b"}}),
        )
        .await;
    ok(&r, "template");
    ok(
        &app.get(&app.page_path("/incident_templates")).await,
        "templates",
    );
    let r = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"email": format!("{tag}@example.com")}}),
        )
        .await;
    ok(&r, "subscriber");
    ok(
        &app.get(&app.page_path("/subscribers")).await,
        "subscribers",
    );
    let r = app
        .post(
            &app.page_path("/metrics_providers"),
            &json!({"metrics_provider": {"type": "Self"}}),
        )
        .await;
    ok(&r, "provider");
    let provider = r.json()["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &app.page_path(&format!("/metrics_providers/{provider}/metrics")),
            &json!({"metric": {"name": tag}}),
        )
        .await;
    ok(&r, "metric");
    ok(&app.get(&app.page_path("/metrics")).await, "metrics");
    ok(
        &app.get(&app.page_path("/metrics_providers")).await,
        "providers",
    );
}
