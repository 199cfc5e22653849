//! SQLite's one writer connection, held by herald itself rather than by a one-connection
//! pool, with group commit (`flush.rs`).
//!
//! Every write on SQLite queues for this connection, so what each use of it costs beyond its
//! statement is paid by every write in turn. A sqlx pool pings a connection's worker thread
//! when it hands the connection out and again, from a spawned task, when it gets it back:
//! three thread hand-offs for every statement where one is needed. Here the connection sits
//! behind a fair async mutex and a statement costs one hand-off. And the connection no
//! longer waits for the disk while it is held: it commits at `synchronous = NORMAL`, and a
//! durable write waits for the WAL flush after releasing it (see `flush.rs`).
//!
//! What the pool did for us and this does instead:
//! - a transaction abandoned without its commit (its future dropped, or an error between its
//!   statements) is rolled back by the next user of the connection, before anything else
//!   runs on it (`State::open`);
//! - a connection whose worker thread has gone is replaced on the next use;
//! - waiting longer than the acquire timeout fails with `PoolTimedOut` (503 to clients);
//! - after [`Writer::close`], every use fails with `PoolClosed`.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlSafeStr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::flush::Flusher;
use super::{Arg, Conn, Row};

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ack {
    /// Once it is on disk.
    Durable,
    /// At once (it survives a crash of herald, not always one of the machine).
    Relaxed,
    /// At once when it returned no rows; once everything committed before it is on disk
    /// when it did (a claim: the jobs it returns are acted on).
    DurableIfRows,
}

/// The writer: cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    state: Arc<Mutex<State>>,
    flush: Arc<Flusher>,
    /// For replacing a broken connection.
    options: Arc<SqliteConnectOptions>,
    acquire_timeout: Duration,
}

struct State {
    /// `None` when the last connection broke (a new one is opened on the next use) or after
    /// `close`.
    conn: Option<SqliteConnection>,
    closed: bool,
    /// A transaction may be open that nobody will commit: set before `BEGIN` is sent and
    /// cleared once `COMMIT` succeeded.
    open: bool,
}

/// The connection, held for one statement or one transaction.
struct Held(OwnedMutexGuard<State>);

impl Held {
    fn conn(&mut self) -> &mut SqliteConnection {
        // `Writer::hold` returns a `Held` only with a connection in place.
        self.0
            .conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("a held writer has a connection"))
    }

    /// Numbers the commit just made and hands the connection on: the number is taken while
    /// the connection is held, so commits are numbered in the order they were made, and a
    /// flush that covers a number covers every commit before it.
    fn release(self, flush: &Flusher) -> u64 {
        let seq = flush.committed();
        drop(self);
        seq
    }

    /// Notes a failure: a connection whose worker thread is gone is dropped, to be replaced.
    fn check<T>(&mut self, r: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Err(sqlx::Error::WorkerCrashed) = &r {
            self.0.conn = None;
            self.0.open = false;
        }
        r
    }
}

impl Writer {
    /// Opens the writer connection (at `synchronous = NORMAL`: the flusher makes durable
    /// writes durable) and starts the flusher.
    pub(crate) async fn open(
        options: SqliteConnectOptions,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        let options = options.synchronous(SqliteSynchronous::Normal);
        let file = options.get_filename();
        let on_disk = !file.as_os_str().is_empty() && file.as_os_str() != ":memory:";
        let flush = Flusher::start(on_disk.then(|| file.to_path_buf())).map_err(sqlx::Error::Io)?;
        let conn = options.connect().await?;
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                conn: Some(conn),
                closed: false,
                open: false,
            })),
            flush: Arc::new(flush),
            options: Arc::new(options),
            acquire_timeout,
        })
    }

    /// Waits for the connection (at most the acquire timeout), replaces a broken one, and
    /// rolls back a transaction its last user abandoned.
    async fn hold(&self) -> Result<Held, sqlx::Error> {
        let mut g = tokio::time::timeout(self.acquire_timeout, self.state.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if g.closed {
            return Err(sqlx::Error::PoolClosed);
        }
        if g.conn.is_none() {
            g.conn = Some(self.options.connect().await?);
            g.open = false;
        }
        let mut held = Held(g);
        if held.0.open {
            // "no transaction is active" when the abandoned one had committed after all.
            let r = sqlx::raw_sql("ROLLBACK").execute(held.conn()).await;
            if let Err(e) = held.check(r) {
                tracing::debug!(error = %e, "rolling back an abandoned transaction");
            }
            held.0.open = false;
        }
        Ok(held)
    }

    /// Begins a durable transaction that takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so it never fails halfway for want of it.
    pub(crate) async fn begin(&self) -> Result<WriterTx, sqlx::Error> {
        let mut held = self.hold().await?;
        held.0.open = true;
        let r = sqlx::raw_sql("BEGIN IMMEDIATE").execute(held.conn()).await;
        held.check(r)?;
        Ok(WriterTx {
            held,
            flush: self.flush.clone(),
        })
    }

    /// Runs one statement in autocommit mode and returns its rows, acknowledged as `ack`
    /// says.
    pub(crate) async fn single<T: Row>(
        &self,
        ack: Ack,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, sqlx::Error> {
        let mut held = self.hold().await?;
        let r = Conn::Sqlite(held.conn()).fetch_all(sql, args).await;
        let rows = held.check(r)?;
        let seq = held.release(&self.flush);
        if ack == Ack::Durable || (ack == Ack::DurableIfRows && !rows.is_empty()) {
            self.flush.wait(seq).await?;
        }
        Ok(rows)
    }

    /// Waits until every commit made so far is on disk.
    pub(crate) async fn sync(&self) -> Result<(), sqlx::Error> {
        self.flush.wait(self.flush.last()).await
    }

    /// WAL flushes made so far.
    #[cfg(test)]
    pub(crate) fn flushes(&self) -> u64 {
        self.flush.flushes()
    }

    /// Applies migrations on the writer, durably.
    pub(crate) async fn migrate(
        &self,
        migrator: &sqlx::migrate::Migrator,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        let mut held = self.hold().await?;
        migrator.run(held.conn()).await?;
        let seq = held.release(&self.flush);
        Ok(self.flush.wait(seq).await?)
    }

    /// Closes the connection; every later use fails with `PoolClosed`.
    pub(crate) async fn close(&self) {
        let mut g = self.state.lock().await;
        g.closed = true;
        if let Some(conn) = g.conn.take()
            && let Err(e) = conn.close().await
        {
            tracing::debug!(error = %e, "closing the SQLite writer");
        }
    }
}

/// A write transaction on the writer. Dropped without [`WriterTx::commit`], it is rolled
/// back by the next user of the connection.
pub(crate) struct WriterTx {
    held: Held,
    flush: Arc<Flusher>,
}

impl WriterTx {
    pub(super) fn conn(&mut self) -> Conn<'_> {
        Conn::Sqlite(self.held.conn())
    }

    /// Commits, hands the connection on, and returns once the commit is on disk.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        let Self { mut held, flush } = self;
        let r = sqlx::raw_sql("COMMIT").execute(held.conn()).await;
        held.check(r)?;
        held.0.open = false;
        let seq = held.release(&flush);
        flush.wait(seq).await
    }
}
