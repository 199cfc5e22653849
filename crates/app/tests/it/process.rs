//! Herald as a real process (`herald serve`), for tests that kill, stop and restart it.
//!
//! Herald binds port 0 and writes the address it got to `--ready-file`; the test reads it.
//! No port is ever guessed, so a test cannot reach another test's server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `herald serve`. Dropping it kills the process.
pub struct Herald {
    child: Child,
    pub base: String,
    dir: tempfile::TempDir,
}

impl Herald {
    /// Starts `herald serve --role <role>` on `db_url` with `env`, and waits until it answers.
    pub async fn start(db_url: &str, role: &str, env: &[(&str, &str)]) -> Herald {
        let dir = tempfile::tempdir().expect("temp dir");
        let ready = dir.path().join("addr");
        let child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["serve", "--role", role, "--listen", "127.0.0.1:0"])
            .arg("--ready-file")
            .arg(&ready)
            .env("HERALD_DATABASE_URL", db_url)
            .env("HERALD_CONFIG", "/nonexistent/herald.toml")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log_file(dir.path()))
            .spawn()
            .expect("start herald");
        let mut h = Herald {
            child,
            base: String::new(),
            dir,
        };
        let addr = wait_ready(&mut h.child, &ready, &h.dir.path().join("stderr")).await;
        h.base = format!("http://{addr}");
        h.wait_live().await;
        h
    }

    async fn wait_live(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if reqwest::get(format!("{}/livez", self.base))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            self.assert_running();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("herald at {} did not answer /livez", self.base);
    }

    /// Panics with its log if the process has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "herald exited ({status}):\n{}",
                std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
            );
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`KILL`, `STOP`, `CONT`, `TERM`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} {}", self.pid());
    }

    /// SIGKILL, and reap it.
    pub fn kill9(mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    /// GET `path`; (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file in `dir` for a child's stderr (kept for failure messages).
pub fn log_file(dir: &Path) -> std::fs::File {
    std::fs::File::create(dir.join("stderr")).expect("stderr file")
}

/// Waits for a herald started with `--ready-file ready` to write the address it bound;
/// panics with its log if it exits first.
pub async fn wait_ready(child: &mut Child, ready: &Path, log: &Path) -> String {
    let started = Instant::now();
    loop {
        if let Ok(addr) = std::fs::read_to_string(ready) {
            return addr.trim().to_owned();
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "herald exited ({status}) before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "herald did not write {} within 60 s:\n{}",
            ready.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A path for `--ready-file` in `dir`.
pub fn ready_file(dir: &Path) -> PathBuf {
    dir.join("addr")
}

/// Runs `herald <args>` to completion with `db_url`; (success, stdout, stderr, elapsed).
pub async fn herald_cli(db_url: &str, args: &[&str]) -> (bool, String, String, Duration) {
    let started = Instant::now();
    let (db, args) = (
        db_url.to_owned(),
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(&args)
            .env("HERALD_DATABASE_URL", db)
            .env("HERALD_CONFIG", "/nonexistent/herald.toml")
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}
