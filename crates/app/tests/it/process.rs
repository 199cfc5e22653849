//! Herald as a real process (`herald serve`), for tests that kill, stop and restart it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `herald serve`. Dropping it kills the process.
pub struct Herald {
    child: Child,
    pub base: String,
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Herald {
    /// Starts `herald serve --role <role>` on `db_url` with `env`, and waits until it answers.
    pub async fn start(db_url: &str, role: &str, env: &[(&str, &str)]) -> Herald {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .args([
                "serve",
                "--role",
                role,
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("HERALD_DATABASE_URL", db_url)
            .env("HERALD_CONFIG", "/nonexistent/herald.toml")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start herald");
        let h = Herald {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        h.wait_live().await;
        h
    }

    async fn wait_live(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if reqwest::get(format!("{}/livez", self.base))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("herald at {} did not come up", self.base);
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
