//! Browser tests: real headless Chromium (Debian's `chromium`) driven by playwright-core, run
//! by `node tests/browser/<script>.mjs` against a herald started here. `scripts/test.sh`
//! installs the npm packages; `.ci/run` installs Chromium. Missing pieces fail the test.

use std::process::Command;

use crate::compat::repo_root;
use crate::helpers::{Backend, TestApp};

/// Runs a browser script with `args` (one JSON object); panics with its output on failure.
pub async fn run_script(script: &str, args: serde_json::Value) -> String {
    let dir = repo_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run scripts/test.sh (npm ci in tests/browser)"
    );
    let path = dir.join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(path)
            .arg(args.to_string())
            .current_dir(repo_root())
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn chromium_loads_herald_with_the_sentinel_and_axe() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let out = run_script("smoke.mjs", serde_json::json!({"base": app.url("")})).await;
    assert!(out.contains("ok browser smoke"), "{out}");
}
