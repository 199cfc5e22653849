//! Group commit for SQLite: the writer commits at `synchronous = NORMAL` (SQLite writes the
//! WAL but does not wait for the disk), and a durable write is acknowledged only once a
//! flush of the WAL file that began after its commit has finished. One flush covers every
//! commit made before it began, so writers that commit while a flush is under way share the
//! next one, as PostgreSQL's commits share a WAL flush.
//!
//! This is the same `fdatasync` of the WAL that `synchronous = FULL` makes inside every
//! `COMMIT`, moved out of the writer: the writer goes on with the next statement while the
//! disk works, instead of holding every other write behind each flush. What SQLite
//! guarantees at NORMAL still holds (the WAL is synced before each checkpoint and the
//! database after it, so the file is never corrupt), and the flush adds durability: a commit
//! whose frames are flushed survives power loss, since recovery replays the WAL up to its
//! last valid commit frame.
//!
//! Other connections may read a commit before its flush ends; herald never acts on such a
//! read from the outside world: the writer acknowledges nothing before the flush, and a
//! worker waits for one before running the jobs it claimed (`Writer::claim`).
//!
//! A failed flush poisons the store: the kernel may have dropped the pages it could not
//! write, so a later successful flush would prove nothing (PostgreSQL stops for the same
//! reason). Every durable write after it fails until herald restarts and SQLite recovers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use tokio::sync::watch;

/// What has been made durable.
#[derive(Debug, Clone, Default)]
struct Durable {
    /// Commits up to this number are on disk.
    upto: u64,
    /// The error of the flush that failed, if one did.
    failed: Option<String>,
}

#[derive(Debug, Default)]
struct Wanted {
    /// The highest commit number someone waits for.
    upto: u64,
    stop: bool,
}

struct Inner {
    /// The WAL file; `None` for a database with nothing to flush (in memory).
    wal: Option<PathBuf>,
    /// Commits made so far (numbered while the writer is held, so in commit order).
    committed: AtomicU64,
    /// Flushes done (read by tests).
    flushes: AtomicU64,
    wanted: Mutex<Wanted>,
    wake: Condvar,
    durable: watch::Sender<Durable>,
}

/// The flusher: a thread of its own, stopped when the last handle is dropped.
pub(crate) struct Flusher {
    inner: Arc<Inner>,
}

impl Flusher {
    /// A flusher for the database file `db` (its WAL is `<db>-wal`).
    pub(crate) fn start(db: Option<PathBuf>) -> std::io::Result<Self> {
        let wal = db.map(|p| {
            let mut s = p.into_os_string();
            s.push("-wal");
            PathBuf::from(s)
        });
        let inner = Arc::new(Inner {
            wal,
            committed: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            wanted: Mutex::new(Wanted::default()),
            wake: Condvar::new(),
            durable: watch::Sender::new(Durable::default()),
        });
        if inner.wal.is_some() {
            let thread = inner.clone();
            std::thread::Builder::new()
                .name("herald-sqlite-flush".to_owned())
                .spawn(move || run(&thread))?;
        }
        Ok(Self { inner })
    }

    /// Numbers a commit that has just been made; call while holding the writer.
    pub(crate) fn committed(&self) -> u64 {
        self.inner.committed.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The number of the last commit made.
    pub(crate) fn last(&self) -> u64 {
        self.inner.committed.load(Ordering::Acquire)
    }

    /// Waits until commit `seq` is on disk.
    pub(crate) async fn wait(&self, seq: u64) -> Result<(), sqlx::Error> {
        if self.inner.wal.is_none() || seq == 0 {
            return Ok(());
        }
        let mut rx = self.inner.durable.subscribe();
        {
            let mut w = self
                .inner
                .wanted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if w.upto < seq {
                w.upto = seq;
                self.inner.wake.notify_one();
            }
        }
        let d = rx
            .wait_for(|d| d.upto >= seq || d.failed.is_some())
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        match &d.failed {
            Some(e) if d.upto < seq => Err(sqlx::Error::Io(std::io::Error::other(format!(
                "flushing the SQLite WAL to disk failed ({e}); restart herald"
            )))),
            _ => Ok(()),
        }
    }

    /// Flushes done so far.
    #[cfg(test)]
    pub(crate) fn flushes(&self) -> u64 {
        self.inner.flushes.load(Ordering::Acquire)
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let mut w = self
            .inner
            .wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        w.stop = true;
        self.inner.wake.notify_one();
    }
}

/// The flusher thread: waits for a commit someone waits for, flushes the WAL, says so.
fn run(inner: &Inner) {
    loop {
        {
            let mut w = inner.wanted.lock().unwrap_or_else(PoisonError::into_inner);
            while !w.stop && w.upto <= inner.durable.borrow().upto {
                w = inner.wake.wait(w).unwrap_or_else(PoisonError::into_inner);
            }
            if w.stop {
                return;
            }
        }
        // Every commit numbered by now has written its frames: one flush covers them all.
        let upto = inner.committed.load(Ordering::Acquire);
        let result = inner.wal.as_deref().map_or(Ok(()), sync);
        inner.flushes.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(()) => inner.durable.send_modify(|d| d.upto = d.upto.max(upto)),
            Err(e) => {
                tracing::error!(error = %e, "flushing the SQLite WAL failed; durable writes will fail until herald restarts");
                inner
                    .durable
                    .send_modify(|d| d.failed = Some(e.to_string()));
                return;
            }
        }
    }
}

/// `fdatasync` of the WAL, opened afresh (SQLite may have replaced it since the last time).
/// No WAL file yet means nothing was written to flush.
fn sync(wal: &std::path::Path) -> std::io::Result<()> {
    match std::fs::File::open(wal) {
        Ok(f) => f.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::Flusher;
    use std::time::Duration;

    #[tokio::test]
    async fn a_wait_ends_after_a_flush_that_began_after_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        std::fs::write(dir.path().join("t.db-wal"), b"frames").unwrap();
        let f = Flusher::start(Some(db)).unwrap();
        assert_eq!(f.flushes(), 0);
        let a = f.committed();
        f.wait(a).await.unwrap();
        assert_eq!(f.flushes(), 1, "one flush for one commit");
        f.wait(a).await.unwrap();
        assert_eq!(f.flushes(), 1, "a durable commit needs no second flush");

        // Commits made before a flush began share it.
        let seqs: Vec<u64> = (0..50).map(|_| f.committed()).collect();
        let before = f.flushes();
        for s in &seqs {
            f.wait(*s).await.unwrap();
        }
        let used = f.flushes() - before;
        assert_eq!(used, 1, "{used} flushes for 50 commits");
    }

    #[tokio::test]
    async fn a_failed_flush_fails_every_later_durable_write() {
        let dir = tempfile::tempdir().unwrap();
        // A WAL that cannot be opened: a symbolic link to itself.
        let db = dir.path().join("t.db");
        std::os::unix::fs::symlink(dir.path().join("t.db-wal"), dir.path().join("t.db-wal"))
            .unwrap();
        let f = Flusher::start(Some(db)).unwrap();
        let a = f.committed();
        let e = f.wait(a).await.unwrap_err().to_string();
        assert!(e.contains("restart herald"), "{e}");
        let b = f.committed();
        let late = tokio::time::timeout(Duration::from_secs(5), f.wait(b)).await;
        assert!(matches!(late, Ok(Err(_))), "poisoned for good: {late:?}");
    }
}
