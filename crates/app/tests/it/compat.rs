//! Compatibility with real Statuspage client packages, run against a real herald.
//!
//! The clients run in their own language's runtime, installed by `scripts/test.sh` (the
//! Python client into `target/compat-venv`). A missing runtime fails the test: it never
//! silently passes.

use std::path::PathBuf;
use std::process::Command;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python that has the compatibility clients installed.
pub fn compat_python() -> PathBuf {
    let p = std::env::var_os("HERALD_COMPAT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/compat-venv/bin/python"));
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh, which installs tests/compat/requirements.txt into it",
        p.display()
    );
    p
}

async fn the_pypi_statuspage_client_manages_everything(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    // Act and Assert: see `run_v1_python_client`
    run_v1_python_client(&app.url("/v1"), &app.key, app.page.id.as_str()).await;
}

/// Runs the v1 client scenario against `base` (`http://.../v1`) with `key` on `page`: the
/// PyPI client creates, lists, updates and deletes components, groups, incidents,
/// maintenances and templates, through its own models (which validate every enum). Panics
/// with the client's output unless every step passed; returns the number of checks.
pub async fn run_v1_python_client(base: &str, key: &str, page: &str) -> usize {
    let script = repo_root().join("tests/compat/v1_python_client.py");
    let out = tokio::task::spawn_blocking({
        let (base, key, page) = (base.to_owned(), key.to_owned(), page.to_owned());
        move || {
            Command::new(compat_python())
                .arg(script)
                .args([&base, &key, &page])
                // As an optimising CI runner might: `python -O` strips `assert`, so a client
                // checking with asserts would pass whatever herald answered. Its checks must
                // be real calls, and the count it reports shows they ran.
                .env("PYTHONOPTIMIZE", "2")
                .output()
                .expect("run python")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("all steps passed: "))
        .and_then(|l| l.strip_suffix(" checks"))
        .unwrap_or_else(|| panic!("no check count: {stdout}"))
        .parse()
        .unwrap();
    assert!(checks >= 40, "only {checks} checks ran under -O: {stdout}");
    checks
}

both_backends!(the_pypi_statuspage_client_manages_everything);

/// The npm v2 client's script and its packages (installed by `scripts/test.sh`).
fn npm_client() -> PathBuf {
    let dir = repo_root().join("tests/compat");
    assert!(
        dir.join("node_modules/statuspage.io").exists(),
        "tests/compat/node_modules is missing: run scripts/test.sh (npm ci in tests/compat)"
    );
    dir.join("v2_npm_client.mjs")
}

async fn the_npm_statuspage_v2_client_reads_everything(b: Backend) {
    // Arrange: components, a group, open and resolved incidents, maintenances
    let app = TestApp::spawn(b).await;
    crate::public_api::seed(&app).await;
    let script = npm_client();
    // Act: statuspage.io calls every v2 endpoint it knows and checks the typed fields
    let out = tokio::task::spawn_blocking({
        let base = app.url("");
        move || {
            Command::new("node")
                .arg(script)
                .arg(base)
                .output()
                .expect("run node")
        }
    })
    .await
    .unwrap();
    // Assert
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
}

both_backends!(the_npm_statuspage_v2_client_reads_everything);

async fn the_pypi_prometheus_exporter_reads_summary_json(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    crate::public_api::seed(&app).await;
    let script = repo_root().join("tests/compat/v2_prometheus_exporter.py");
    // Act: the exporter's own check function, pointed at herald through its services.json
    let out = tokio::task::spawn_blocking({
        let base = app.url("");
        move || {
            // The exporter keeps a response cache under its working directory.
            Command::new(compat_python())
                .arg(script)
                .arg(base)
                .env("PYTHONOPTIMIZE", "2")
                .current_dir(std::env::temp_dir())
                .output()
                .expect("run python")
        }
    })
    .await
    .unwrap();
    // Assert
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exporter failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all steps passed"), "{stdout}");
}

both_backends!(the_pypi_prometheus_exporter_reads_summary_json);
