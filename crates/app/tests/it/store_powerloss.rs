//! Power loss (RELIABILITY.md row 27, its durability half): herald on SQLite over lossyfs
//! (`tests/powerloss/lossyfs.py`), a FUSE file system that forgets every write its file was
//! not synced after, as the page cache does when the power goes. Incidents are posted
//! through the API, several at once (so commits share WAL flushes), and while more are in
//! flight the power is cut: herald is killed and what was never synced is dropped. Herald
//! then starts on what the disk kept: every incident it acknowledged is there and the file
//! passes `PRAGMA integrity_check`. A control write committed without a sync in the same run
//! is gone, so the file system did drop what it should have.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::compat::{compat_python, repo_root};
use crate::process::{Herald, herald_cli};

const DB: &str = "herald.db";
const ACKED_BEFORE_CUT: usize = 24;

/// lossyfs mounted over a backing directory, with the database's `-shm` file bound to a
/// file of a local file system (SQLite maps it as shared memory, which lossyfs cannot serve;
/// it holds no data).
struct Lossy {
    _dir: tempfile::TempDir,
    mount: PathBuf,
    backing: PathBuf,
    fs: Option<Child>,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lossyfs() -> PathBuf {
    repo_root().join("tests/powerloss/lossyfs.py")
}

impl Lossy {
    /// Mounts lossyfs over `dir/b`, which holds what `prepare` made there.
    async fn mount(dir: tempfile::TempDir) -> Lossy {
        let (mount, backing, local) = (
            dir.path().join("m"),
            dir.path().join("b"),
            dir.path().join("shm"),
        );
        for d in [&mount, &local] {
            std::fs::create_dir_all(d).unwrap();
        }
        let shm = format!("{DB}-shm");
        std::fs::write(backing.join(&shm), b"").unwrap();
        std::fs::write(local.join(&shm), b"").unwrap();
        let fs = Command::new(compat_python())
            .arg(lossyfs())
            .args([&mount, &backing])
            .stdout(Stdio::null())
            .spawn()
            .expect("start lossyfs");
        let started = Instant::now();
        while !std::fs::read_to_string("/proc/mounts")
            .unwrap()
            .contains(mount.to_str().unwrap())
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "lossyfs did not mount"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        run(Command::new("mount")
            .arg("--bind")
            .arg(local.join(&shm))
            .arg(mount.join(&shm)));
        Lossy {
            _dir: dir,
            mount,
            backing,
            fs: Some(fs),
        }
    }

    fn url(dir: &Path) -> String {
        format!("sqlite://{}", dir.join(DB).display())
    }

    /// The power cut: unmounts (herald must be dead) and drops every unsynced write.
    fn cut(&mut self) {
        let shm = self.mount.join(format!("{DB}-shm"));
        run(Command::new("umount").arg(&shm));
        run(Command::new("umount").arg(&self.mount));
        if let Some(mut fs) = self.fs.take() {
            let _ = fs.wait();
        }
        run(Command::new(compat_python())
            .arg(lossyfs())
            .arg("--cut")
            .arg(&self.backing));
    }
}

impl Drop for Lossy {
    fn drop(&mut self) {
        if let Some(mut fs) = self.fs.take() {
            let shm = self.mount.join(format!("{DB}-shm"));
            let _ = Command::new("umount").arg("-l").arg(&shm).status();
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
            let _ = fs.kill();
            let _ = fs.wait();
        }
    }
}

/// Runs Python's sqlite3 on `db`.
fn sqlite(db: &Path, code: &str) -> String {
    run(Command::new(compat_python()).arg("-c").arg(format!(
        "import os, sqlite3\nc = sqlite3.connect({:?})\n{code}",
        db.display().to_string()
    )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_power_cut() {
    // Arrange: a page and a key, made (and synced) before the file system can lose anything.
    let dir = tempfile::tempdir().unwrap();
    let backing = dir.path().join("b");
    std::fs::create_dir_all(&backing).unwrap();
    let setup = Lossy::url(&backing);
    let (ok, _, err, _) = herald_cli(&setup, &["migrate"]).await;
    assert!(ok, "{err}");
    let (ok, page, err, _) = herald_cli(
        &setup,
        &["pages", "create", "--name", "Power", "--slug", "power"],
    )
    .await;
    assert!(ok, "{err}");
    let page = page.trim().to_owned();
    let (ok, key, err, _) = herald_cli(&setup, &["keys", "create", "--page", &page]).await;
    assert!(ok, "{err}");
    let key = key.trim().to_owned();
    let mut fs = Lossy::mount(dir).await;
    let herald = Herald::start(&Lossy::url(&fs.mount), "web", &[]).await;

    // Act: post incidents eight at a time; cut the power with writes in flight.
    let client = reqwest::Client::new();
    let post = |n: usize| {
        let (client, base, key, page) = (
            client.clone(),
            herald.base.clone(),
            key.clone(),
            page.clone(),
        );
        async move {
            let r = client
                .post(format!("{base}/v1/pages/{page}/incidents"))
                .header("Authorization", format!("OAuth {key}"))
                .json(&json!({"incident": {"name": format!("Outage {n}"), "status": "investigating", "body": "Looking."}}))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .ok()?;
            if !r.status().is_success() {
                return None;
            }
            let v: serde_json::Value = r.json().await.ok()?;
            v["id"].as_str().map(str::to_owned)
        }
    };
    let mut acked = Vec::new();
    let mut n = 0;
    while acked.len() < ACKED_BEFORE_CUT {
        let wave: Vec<_> = (0..8).map(|i| tokio::spawn(post(n + i))).collect();
        n += 8;
        for w in wave {
            acked.extend(w.await.unwrap());
        }
    }
    let in_flight: Vec<_> = (0..8).map(|i| tokio::spawn(post(n + i))).collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    herald.kill9();
    for w in in_flight {
        acked.extend(w.await.unwrap());
    }
    // The control: a commit that nothing syncs.
    sqlite(
        &fs.mount.join(DB),
        "c.execute('PRAGMA synchronous = NORMAL')\nc.execute('CREATE TABLE lost (v)')\nc.execute('INSERT INTO lost VALUES (1)')\nc.commit()\nos._exit(0)",
    );
    fs.cut();

    // Assert: the disk holds a sound file with every acknowledged incident and not the
    // control.
    let db = fs.backing.join(DB);
    let check = sqlite(
        &db,
        "print(c.execute('PRAGMA integrity_check').fetchone()[0])\nprint(c.execute(\"SELECT COUNT(*) FROM sqlite_master WHERE name = 'lost'\").fetchone()[0])",
    );
    assert_eq!(
        check, "ok\n0\n",
        "integrity, then whether the unsynced control survived"
    );
    let herald = Herald::start(&Lossy::url(&fs.backing), "web", &[]).await;
    let mut missing = Vec::new();
    for id in &acked {
        let r = client
            .get(format!("{}/v1/pages/{page}/incidents/{id}", herald.base))
            .header("Authorization", format!("OAuth {key}"))
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged incidents lost: {missing:?}",
        missing.len(),
        acked.len()
    );
    assert!(acked.len() >= ACKED_BEFORE_CUT);
}
