//! The dialect seam: one small API over a SQLite or a PostgreSQL pool.
//!
//! Herald's SQL is written once, in the subset both databases share (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`, BIGINT millisecond times, TEXT JSON), and runs on either
//! backend through this module. Where the dialects differ (row locks, job claiming) callers
//! ask [`Backend`] and pick the statement. Rows decode through `#[derive(sqlx::FromRow)]`
//! structs, which sqlx implements for both backends' row types.
//!
//! SQLite gets one writer connection (every write transaction queues for it, which is what
//! makes SQLite safe under concurrency: no `SQLITE_BUSY` mid-transaction), held by herald
//! rather than a pool (`writer.rs` says why), and a small pool of query-only readers.
//! PostgreSQL uses one pool for both.

use chrono::{DateTime, Utc};
use herald_domain::id::{ComponentId, IncidentId, PageId, SubscriberId};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{FromRow, Postgres, SqlSafeStr, Sqlite};
use std::str::FromStr;
use std::time::Duration;

use crate::error::StoreError;

mod flush;
mod writer;
use writer::{Ack, Writer, WriterTx};

/// Which database herald runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (one node).
    Sqlite,
    /// A PostgreSQL server (one or more nodes).
    Postgres,
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Largest PostgreSQL pool (or SQLite reader pool).
    pub max_connections: u32,
    /// PostgreSQL: the longest a caller waits for a connection (a free one, checked with a
    /// round trip, or a new one) before failing as unavailable (the API's 503). A server that
    /// hangs, refuses or resets is found out within this, not at a request timeout.
    /// SQLite's local file does not hang; its readers and writer wait longer.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_millis(750),
        }
    }
}

/// SQLite callers wait at least this long for a reader.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Prepared statements each PostgreSQL connection keeps (least recently used go first).
/// Lists bound one value per parameter make a statement per length, hence room for several
/// hundred.
const STATEMENTS_KEPT: usize = 512;

/// Getting a PostgreSQL connection failed (no answer in time, refused, reset, or the server
/// would not start a session): whatever the cause, the database is unavailable right now.
fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A handle on the database: cheap to clone.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite {
        writer: Writer,
        reader: SqlitePool,
    },
    /// The pool, and a small pool whose sessions commit without waiting for the disk
    /// (`synchronous_commit = off`), for relaxed writes.
    Postgres(PgPool, PgPool),
}

/// One bound parameter. Each variant carries an `Option` so NULLs keep their SQL type
/// (PostgreSQL will not put a text NULL into a BIGINT column).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident $(, $conv:expr)?);* $(;)?) => {$(
        impl From<$t> for Arg {
            fn from(x: $t) -> Self { Arg::$v(Some(arg_from!(@conv x $(, $conv)?))) }
        }
        impl From<Option<$t>> for Arg {
            fn from(x: Option<$t>) -> Self { Arg::$v(x.map(|x| arg_from!(@conv x $(, $conv)?))) }
        }
    )*};
    (@conv $x:ident) => { $x };
    (@conv $x:ident, $conv:expr) => { ($conv)($x) };
}

arg_from! {
    i64 => I64;
    f64 => F64;
    bool => Bool;
    String => Text;
    &str => Text, |s: &str| s.to_owned();
    &String => Text, |s: &String| s.clone();
    DateTime<Utc> => I64, |t: DateTime<Utc>| t.timestamp_millis();
    &DateTime<Utc> => I64, |t: &DateTime<Utc>| t.timestamp_millis();
    &SubscriberId => Text, |s: &SubscriberId| s.as_str().to_owned();
    &IncidentId => Text, |s: &IncidentId| s.as_str().to_owned();
    &ComponentId => Text, |s: &ComponentId| s.as_str().to_owned();
    &PageId => Text, |s: &PageId| s.as_str().to_owned();
}

/// Builds a `Vec<Arg>` from values of mixed types.
macro_rules! args {
    ($($a:expr),* $(,)?) => { vec![$($crate::db::Arg::from($a)),*] };
}
pub(crate) use args;

/// A row type that decodes on both backends.
pub(crate) trait Row:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::F64(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Runs one statement on a sqlx executor of either backend. `$exec_sqlite`/`$exec_pg` are
/// expressions giving an executor; `$op` is `fetch_all`, `fetch_optional`, `fetch_one` or
/// `execute`.
macro_rules! dispatch {
    (rows $self:expr, $sql:expr, $args:expr, $op:ident, $T:ty) => {
        match $self {
            Conn::Sqlite(e) => {
                let sql = sqlite_positional($sql, $args.len());
                bind_all!(sqlx::query_as::<Sqlite, $T>(sql), $args)
                    .$op(e)
                    .await
            }
            Conn::Pg(e) => {
                bind_all!(sqlx::query_as::<Postgres, $T>($sql), $args)
                    .$op(e)
                    .await
            }
        }
    };
}

/// Statements with more placeholders than this are bound by position on SQLite.
const POSITIONAL_OVER: usize = 32;

/// SQLite looks a named parameter (`$7`) up by a linear scan, so binding a statement's `n`
/// named parameters costs O(n²): 180 ms for a 1,000-row job insert. A statement whose
/// placeholders are `$1` .. `$n`, each once and in order (what [`SqlBuilder`] makes), is
/// rewritten with anonymous `?` placeholders, which bind by position. Others are unchanged.
fn sqlite_positional(sql: impl SqlSafeStr, n: usize) -> sqlx::SqlStr {
    let sql = sql.into_sql_str();
    if n <= POSITIONAL_OVER {
        return sql;
    }
    match positional(sql.as_str(), n) {
        Some(text) => sqlx::AssertSqlSafe(text).into_sql_str(),
        None => sql,
    }
}

/// `sql` with `$1` .. `$n` replaced by `?`, if they appear exactly once each, in order.
fn positional(sql: &str, n: usize) -> Option<String> {
    let mut out = String::with_capacity(sql.len());
    let mut next = 1usize;
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let digits = rest[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || rest[i + 1..i + 1 + digits].parse::<usize>().ok()? != next {
            return None;
        }
        out.push('?');
        next += 1;
        rest = &rest[i + 1 + digits..];
    }
    out.push_str(rest);
    (next == n + 1).then_some(out)
}

/// An executor of either backend, borrowed for one statement.
enum Conn<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Pg(&'a mut sqlx::PgConnection),
}

impl Conn<'_> {
    async fn fetch_all<T: Row>(
        self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, sqlx::Error> {
        dispatch!(rows self, sql, args, fetch_all, T)
    }
    async fn fetch_optional<T: Row>(
        self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Option<T>, sqlx::Error> {
        dispatch!(rows self, sql, args, fetch_optional, T)
    }
    async fn execute(self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<u64, sqlx::Error> {
        match self {
            Conn::Sqlite(e) => bind_all!(
                sqlx::query::<Sqlite>(sqlite_positional(sql, args.len())),
                args
            )
            .execute(e)
            .await
            .map(|r| r.rows_affected()),
            Conn::Pg(e) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .execute(e)
                .await
                .map(|r| r.rows_affected()),
        }
    }
}

impl Db {
    /// Opens the database named by `url` (`sqlite://path` or `postgres://...`).
    pub(crate) async fn connect(url: &str, opts: &DbOptions) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Every acknowledged write survives power loss (DESIGN.md, Storage). The
                // writer commits at NORMAL and flushes the WAL itself before acknowledging a
                // write (`db/flush.rs`); the readers never write.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let writer = Writer::open(
                base.clone(),
                opts.acquire_timeout.max(Duration::from_secs(10)),
            )
            .await
            .map_err(StoreError::from)?;
            let reader = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.clamp(1, 8))
                .acquire_timeout(opts.acquire_timeout.max(SQLITE_ACQUIRE_TIMEOUT))
                // A local file's connection does not go stale: no ping before each read.
                .test_before_acquire(false)
                .connect_with(base.pragma("query_only", "1"))
                .await
                .map_err(StoreError::from)?;
            Ok(Db::Sqlite { writer, reader })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // Each connection keeps the statements it prepared: one round trip per
            // statement instead of two, and no planning from scratch. Safe across another
            // release's expand migrations because no statement reads `*` (`columns.rs`).
            let base = sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(StoreError::from)?
                .statement_cache_capacity(STATEMENTS_KEPT);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(2))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(base.clone())
                .await
                .map_err(StoreError::from)?;
            let relaxed_opts = base.options([("synchronous_commit", "off")]);
            let relaxed = PgPoolOptions::new()
                .max_connections(4)
                .min_connections(0)
                .acquire_timeout(opts.acquire_timeout)
                .connect_lazy_with(relaxed_opts);
            Ok(Db::Postgres(pool, relaxed))
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".to_owned(),
            ))
        }
    }

    /// Which backend this is.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    /// All rows of a read-only query.
    pub(crate) async fn read<T: Row>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Db::Sqlite { reader, .. } => {
                let mut c = reader.acquire().await?;
                Ok(Conn::Sqlite(&mut c).fetch_all(sql, args).await?)
            }
            Db::Postgres(p, _) => pg_all(p, sql, args).await,
        }
    }

    /// At most one row of a read-only query.
    pub(crate) async fn read_opt<T: Row>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Db::Sqlite { reader, .. } => {
                let mut c = reader.acquire().await?;
                Ok(Conn::Sqlite(&mut c).fetch_optional(sql, args).await?)
            }
            Db::Postgres(p, _) => {
                let mut c = p.acquire().await.map_err(unavailable)?;
                Ok(Conn::Pg(&mut c).fetch_optional(sql, args).await?)
            }
        }
    }

    /// Starts a write transaction. On SQLite this waits for the one writer connection and
    /// takes the write lock at once (`BEGIN IMMEDIATE`), so a transaction never fails halfway
    /// for want of the lock; its commit returns once it is on disk.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin().await?),
            // Acquiring, or its BEGIN, failing is the connection failing.
            Db::Postgres(p, _) => Tx::Pg(p.begin().await.map_err(unavailable)?),
        })
    }

    /// Runs one statement that commits on its own (no `BEGIN`/`COMMIT` around it: a single
    /// statement is atomic) without waiting for the disk, and returns its rows. It survives
    /// a crash of herald (the database has it) but may be lost with the machine's power, and
    /// then only with other such writes: both databases write their log in order, so the
    /// next durable commit makes it durable too. Only for writes whose loss is harmless by
    /// design, such as the delivery log.
    ///
    /// SQLite: acknowledged without waiting for the group flush (`db/flush.rs`).
    /// PostgreSQL: one round trip on a session with `synchronous_commit = off`.
    pub(crate) async fn write_relaxed<T: Row>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        self.single(Ack::Relaxed, sql, args).await
    }

    /// A claim: a relaxed write (a claim lost with the power leaves its jobs available, as
    /// if the worker had died before claiming them) whose rows are acted on, so it returns
    /// them only once nothing they came from can still vanish: on SQLite, once every commit
    /// before it is on disk (another connection may read a commit before its flush ends);
    /// on PostgreSQL a durable commit is visible only once it is on disk.
    pub(crate) async fn write_claim<T: Row>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        self.single(Ack::DurableIfRows, sql, args).await
    }

    /// Runs one durable statement that needs no transaction around it (a single statement
    /// is atomic on both databases) and returns its rows: one round trip on PostgreSQL
    /// instead of three.
    pub(crate) async fn write_one<T: Row>(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        self.single(Ack::Durable, sql, args).await
    }

    /// One statement in autocommit mode, acknowledged as `ack` says: on PostgreSQL, durable
    /// statements use the main pool and the others the `synchronous_commit = off` one.
    async fn single<T: Row>(
        &self,
        ack: Ack,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Db::Sqlite { writer, .. } => Ok(writer.single(ack, sql, args).await?),
            Db::Postgres(p, r) => pg_all(if ack == Ack::Durable { p } else { r }, sql, args).await,
        }
    }

    /// Applies migrations on the SQLite writer or the PostgreSQL pool.
    pub(crate) async fn migrate(
        &self,
        migrator: &sqlx::migrate::Migrator,
    ) -> Result<(), StoreError> {
        match self {
            Db::Sqlite { writer, .. } => writer.migrate(migrator).await,
            Db::Postgres(p, _) => migrator.run(p).await,
        }
        .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite { writer, reader, .. } => {
                reader.close().await;
                // Relaxed writes too are on disk when herald stops.
                if let Err(e) = writer.sync().await {
                    tracing::warn!(error = %e, "flushing the SQLite WAL at close");
                }
                writer.close().await;
            }
            Db::Postgres(p, r) => {
                r.close().await;
                p.close().await;
            }
        }
    }
}

/// All rows of one statement on a connection from `pool` (no transaction around it).
async fn pg_all<T: Row>(
    pool: &PgPool,
    sql: impl SqlSafeStr,
    args: Vec<Arg>,
) -> Result<Vec<T>, StoreError> {
    let mut c = pool.acquire().await.map_err(unavailable)?;
    Ok(Conn::Pg(&mut c).fetch_all(sql, args).await?)
}

/// A read-only transaction: every read in it sees one consistent state of the database
/// (SQLite: a read transaction on a reader connection, whose snapshot is taken by its first
/// read; PostgreSQL: `REPEATABLE READ, READ ONLY`). For reads that must not mix two states,
/// such as a page's public model.
pub(crate) enum ReadTx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Db {
    /// Starts a read-only transaction.
    pub(crate) async fn snapshot(&self) -> Result<ReadTx, StoreError> {
        Ok(match self {
            Db::Sqlite { reader, .. } => ReadTx::Sqlite(reader.begin().await?),
            Db::Postgres(p, _) => {
                let mut t = p.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *t)
                    .await?;
                ReadTx::Pg(t)
            }
        })
    }
}

impl ReadTx {
    /// Ends the transaction.
    pub(crate) async fn finish(self) -> Result<(), StoreError> {
        match self {
            ReadTx::Sqlite(t) => t.commit().await?,
            ReadTx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Whatever runs reads: the pools, a read snapshot or a write transaction, so one read
/// function serves them all.
pub(crate) enum Reads<'a> {
    Pools(&'a Db),
    Snapshot(&'a mut ReadTx),
}

impl Reads<'_> {
    /// All rows of a query.
    pub(crate) async fn fetch_all<T: Row>(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Reads::Pools(db) => db.read(sql, args).await,
            Reads::Snapshot(t) => {
                let conn = match &mut **t {
                    ReadTx::Sqlite(t) => Conn::Sqlite(&mut *t),
                    ReadTx::Pg(t) => Conn::Pg(&mut *t),
                };
                Ok(conn.fetch_all(sql, args).await?)
            }
        }
    }
}

/// A write transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(WriterTx),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t) => t.conn(),
            Tx::Pg(t) => Conn::Pg(&mut *t),
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<u64, StoreError> {
        Ok(self.conn().execute(sql, args).await?)
    }

    /// All rows of a query.
    pub(crate) async fn fetch_all<T: Row>(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Vec<T>, StoreError> {
        Ok(self.conn().fetch_all(sql, args).await?)
    }

    /// At most one row of a query.
    pub(crate) async fn fetch_optional<T: Row>(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.conn().fetch_optional(sql, args).await?)
    }

    /// Exactly one row of a query.
    pub(crate) async fn fetch_one<T: Row>(
        &mut self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
    ) -> Result<T, StoreError> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A single-column row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct One<T> {
    pub(crate) v: T,
}

/// A statement assembled at run time (optional filters, `IN` lists), with its arguments.
/// Only fixed SQL fragments are ever appended; every value goes through [`SqlBuilder::bind`].
#[derive(Default)]
pub(crate) struct SqlBuilder {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl SqlBuilder {
    /// Starts with a fixed fragment.
    pub(crate) fn new(sql: &'static str) -> Self {
        Self {
            text: sql.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends a fixed fragment.
    pub(crate) fn push(&mut self, sql: &'static str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `(p1, p2, ...)` for the values of an `IN` list (which must not be empty).
    pub(crate) fn bind_list<A: Into<Arg>>(
        &mut self,
        values: impl IntoIterator<Item = A>,
    ) -> &mut Self {
        self.text.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self.text.push(')');
        self
    }

    /// The statement, marked as audited: it holds only the fixed fragments above.
    pub(crate) fn finish(self) -> (sqlx::AssertSqlSafe<String>, Vec<Arg>) {
        (sqlx::AssertSqlSafe(self.text), self.args)
    }
}

#[cfg(test)]
mod tests {
    use super::{Db, DbOptions, One, positional};

    /// WAL flushes the SQLite writer has made.
    fn flushes(db: &Db) -> u64 {
        match db {
            Db::Sqlite { writer, .. } => writer.flushes(),
            Db::Postgres(..) => 0,
        }
    }

    #[tokio::test]
    async fn sqlite_durable_writes_wait_for_a_flush_and_relaxed_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.write_one::<One<i64>>("CREATE TABLE t (v INTEGER PRIMARY KEY)", vec![])
            .await
            .unwrap();
        let sync: Vec<One<i64>> = db
            .write_one("SELECT synchronous AS v FROM pragma_synchronous", vec![])
            .await
            .unwrap();
        assert_eq!(
            sync[0].v, 1,
            "the writer commits at NORMAL and flushes itself"
        );

        let n = flushes(&db);
        db.write_one::<One<i64>>("INSERT INTO t (v) VALUES (1)", vec![])
            .await
            .unwrap();
        assert_eq!(flushes(&db), n + 1, "a durable statement waits for a flush");

        let n = flushes(&db);
        db.write_relaxed::<One<i64>>("INSERT INTO t (v) VALUES (2)", vec![])
            .await
            .unwrap();
        let none: Vec<One<i64>> = db
            .write_claim("DELETE FROM t WHERE v = 99 RETURNING v", vec![])
            .await
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(
            flushes(&db),
            n,
            "relaxed writes and empty claims do not wait"
        );

        let some: Vec<One<i64>> = db
            .write_claim("DELETE FROM t WHERE v = 2 RETURNING v", vec![])
            .await
            .unwrap();
        assert_eq!(some.len(), 1);
        assert_eq!(flushes(&db), n + 1, "a claim that returns rows waits");

        let n = flushes(&db);
        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO t (v) VALUES (3)", vec![])
            .await
            .unwrap();
        assert_eq!(flushes(&db), n, "nothing is flushed before the commit");
        tx.commit().await.unwrap();
        assert_eq!(flushes(&db), n + 1, "a commit waits for a flush");

        db.write_relaxed::<One<i64>>("INSERT INTO t (v) VALUES (4)", vec![])
            .await
            .unwrap();
        let n = flushes(&db);
        db.close().await;
        assert_eq!(
            flushes(&db),
            n + 1,
            "closing flushes what relaxed writes left"
        );
    }

    /// Rows of `t`, read through the writer.
    async fn count(db: &Db) -> i64 {
        let v: Vec<One<i64>> = db
            .write_one("SELECT COUNT(*) AS v FROM t", vec![])
            .await
            .unwrap();
        v[0].v
    }

    #[tokio::test]
    async fn sqlite_abandoned_transactions_roll_back_and_the_writer_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.write_one::<One<i64>>("CREATE TABLE t (v INTEGER PRIMARY KEY)", vec![])
            .await
            .unwrap();

        // Dropped after a write, without commit.
        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO t (v) VALUES (1)", vec![])
            .await
            .unwrap();
        drop(tx);
        assert_eq!(count(&db).await, 0, "a dropped transaction wrote nothing");

        // Failed halfway (the second statement breaks a constraint), then dropped.
        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO t (v) VALUES (2)", vec![])
            .await
            .unwrap();
        assert!(
            tx.execute("INSERT INTO t (v) VALUES (2)", vec![])
                .await
                .is_err()
        );
        drop(tx);
        assert_eq!(count(&db).await, 0, "nothing of a failed transaction stays");

        // Abandoned while its statement is in flight.
        let mut tx = db.begin().await.unwrap();
        {
            let write = tx.execute(
                "INSERT INTO t (v) WITH RECURSIVE n(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) SELECT i FROM n",
                vec![],
            );
            let _ = tokio::time::timeout(std::time::Duration::from_millis(1), write).await;
        }
        drop(tx);
        assert_eq!(
            count(&db).await,
            0,
            "an abandoned statement's rows are rolled back"
        );

        // And the writer still commits.
        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO t (v) VALUES (3)", vec![])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&db).await, 1);

        // Once closed, it is unavailable rather than hanging.
        db.close().await;
        let closed = db.write_one::<One<i64>>("SELECT 1 AS v", vec![]).await;
        assert!(
            matches!(closed, Err(crate::StoreError::Unavailable(_))),
            "{closed:?}"
        );
    }

    #[tokio::test]
    async fn postgres_relaxed_writes_use_their_own_sessions() {
        let url = std::env::var("HERALD_TEST_DATABASE_URL")
            .expect("HERALD_TEST_DATABASE_URL (scripts/test.sh sets it)");
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        let show = "SELECT current_setting('synchronous_commit') AS v";
        let relaxed: Vec<One<String>> = db.write_relaxed(show, vec![]).await.unwrap();
        assert_eq!(relaxed[0].v, "off");
        let durable: Vec<One<String>> = db.write_one(show, vec![]).await.unwrap();
        assert_eq!(durable[0].v, "on");
        let mut tx = db.begin().await.unwrap();
        let inside: One<String> = tx.fetch_one(show, vec![]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(inside.v, "on");
        db.close().await;
    }

    #[test]
    fn only_in_order_single_use_placeholders_become_positional() {
        assert_eq!(
            positional("INSERT INTO t VALUES ($1, $2), ($3, $4)", 4).as_deref(),
            Some("INSERT INTO t VALUES (?, ?), (?, ?)")
        );
        assert_eq!(positional("SELECT $1, $1", 1), None, "reused");
        assert_eq!(positional("SELECT $2, $1", 2), None, "out of order");
        assert_eq!(positional("SELECT $1", 2), None, "too few");
        assert_eq!(
            positional("SELECT '$x', $1", 1),
            None,
            "a dollar that is not a placeholder"
        );
        assert_eq!(positional("SELECT $1, $10", 2), None);
    }
}
