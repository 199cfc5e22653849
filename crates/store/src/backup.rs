//! `herald backup` and `herald restore`: a consistent copy of a live database, and putting
//! one back, never leaving anything half done.
//!
//! - SQLite: `VACUUM INTO` a temporary file beside the target, from a read-only connection
//!   (one read transaction: a consistent snapshot, while herald keeps writing through WAL);
//!   `PRAGMA integrity_check` on the copy; fsync; rename over the target. A failure (full or
//!   read-only disk) removes the temporary file and leaves any previous backup as it was.
//! - PostgreSQL: herald drives `pg_dump --format=custom` (one snapshot transaction) into a
//!   temporary file, checks it with `pg_restore --list`, and renames it; restore runs
//!   `pg_restore --single-transaction`, so a failed restore changes nothing.
//!
//! Restore refuses a target that already holds tables unless `force` is set, a file that
//! is neither format, a file of the other backend, and a SQLite copy that fails its
//! integrity check, each with a sentence naming the problem.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::{Backend, StoreError};

/// What a backup or restore did.
#[derive(Debug, Clone)]
pub struct CopyReport {
    pub backend: Backend,
    /// Size of the backup file.
    pub bytes: u64,
    pub took: Duration,
    /// How, in words (`VACUUM INTO`, `pg_dump --format=custom`).
    pub method: &'static str,
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const PGDUMP_MAGIC: &[u8] = b"PGDMP";

fn err(msg: impl Into<String>) -> StoreError {
    StoreError::Backup(msg.into())
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Config(
            "the database URL must start with sqlite:// or postgres://".to_owned(),
        ))
    }
}

fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("bad SQLite URL: {e}")))?;
    Ok(opts.get_filename().to_path_buf())
}

/// `dir/.name.tmp-PID`: beside `path`, so the final rename stays on one file system.
fn temp_beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("herald");
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// fsyncs `path` and renames it to `to`, then fsyncs the directory.
fn commit_file(path: &Path, to: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| err(format!("cannot write {}: {e}", to.display()));
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(path, to).map_err(io)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

/// Removes `path` when dropped unless disarmed: a failed copy leaves no temporary file.
struct Cleanup(Option<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Copies the database at `url` to `to`, consistently, while herald may be writing to it.
pub async fn backup(url: &str, to: &Path) -> Result<CopyReport, StoreError> {
    let started = Instant::now();
    let backend = backend_of(url)?;
    let tmp = temp_beside(to, "tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut cleanup = Cleanup(Some(tmp.clone()));
    let method = match backend {
        Backend::Sqlite => {
            let src = sqlite_path(url)?;
            if !src.exists() {
                return Err(err(format!("no database at {}", src.display())));
            }
            let mut conn = sqlite_readonly(&src).await?;
            let target = tmp
                .to_str()
                .ok_or_else(|| err("the backup path is not UTF-8"))?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "VACUUM INTO '{}'",
                target.replace('\'', "''")
            )))
            .execute(&mut conn)
            .await
            .map_err(|e| {
                err(format!(
                    "cannot write the backup {}: {e} (is the disk full or read-only?)",
                    to.display()
                ))
            })?;
            conn.close().await.ok();
            check_sqlite(&tmp).await?;
            "SQLite VACUUM INTO (one read transaction: a consistent snapshot)"
        }
        Backend::Postgres => {
            let (conn_url, schema) = pg_tool_url(url);
            let mut cmd = Command::new("pg_dump");
            cmd.args(["--format=custom", "--no-owner", "--file"])
                .arg(&tmp);
            if let Some(s) = &schema {
                cmd.args(["--schema", s]);
            }
            run_tool(cmd.arg(&conn_url), "pg_dump").await?;
            run_tool(
                Command::new("pg_restore").arg("--list").arg(&tmp),
                "pg_restore --list",
            )
            .await?;
            "PostgreSQL pg_dump --format=custom (herald drives pg_dump: one snapshot transaction)"
        }
    };
    commit_file(&tmp, to)?;
    cleanup.0 = None;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(CopyReport {
        backend,
        bytes,
        took: started.elapsed(),
        method,
    })
}

/// Puts the backup `from` into the database at `url`. Refuses a target holding tables
/// unless `force`; herald must not be running on the target meanwhile.
pub async fn restore(from: &Path, url: &str, force: bool) -> Result<CopyReport, StoreError> {
    let started = Instant::now();
    let backend = backend_of(url)?;
    let bytes = std::fs::metadata(from)
        .map_err(|e| err(format!("cannot read the backup {}: {e}", from.display())))?
        .len();
    let mut head = [0u8; 16];
    let n = std::io::Read::read(
        &mut std::fs::File::open(from)
            .map_err(|e| err(format!("cannot read the backup {}: {e}", from.display())))?,
        &mut head,
    )
    .unwrap_or(0);
    let file_backend = if head[..n].starts_with(SQLITE_MAGIC) {
        Backend::Sqlite
    } else if head[..n].starts_with(PGDUMP_MAGIC) {
        Backend::Postgres
    } else {
        return Err(err(format!(
            "{} is not a herald backup: neither a SQLite database nor a pg_dump custom-format \
             archive (corrupt or the wrong file)",
            from.display()
        )));
    };
    if file_backend != backend {
        return Err(err(format!(
            "{} is a {} backup but the target is {}: restore it into a {} URL",
            from.display(),
            name(file_backend),
            name(backend),
            match file_backend {
                Backend::Sqlite => "sqlite://",
                Backend::Postgres => "postgres://",
            }
        )));
    }
    let method = match backend {
        Backend::Sqlite => {
            restore_sqlite(from, &sqlite_path(url)?, force).await?;
            "SQLite: checked copy renamed into place"
        }
        Backend::Postgres => {
            restore_pg(from, url, force).await?;
            "PostgreSQL pg_restore --single-transaction"
        }
    };
    Ok(CopyReport {
        backend,
        bytes,
        took: started.elapsed(),
        method,
    })
}

fn name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

async fn sqlite_readonly(path: &Path) -> Result<sqlx::SqliteConnection, StoreError> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| err(format!("cannot open {}: {e}", path.display())))
}

/// Tables in a SQLite file (0 for a new or empty file).
async fn sqlite_tables(path: &Path) -> Result<i64, StoreError> {
    let mut conn = sqlite_readonly(path).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| {
            err(format!(
                "{} is not a readable SQLite database: {e}",
                path.display()
            ))
        })?;
    conn.close().await.ok();
    Ok(n)
}

/// `PRAGMA integrity_check` is `ok` and herald's migrations table is there.
async fn check_sqlite(path: &Path) -> Result<(), StoreError> {
    let corrupt = |e: String| err(format!("{} is corrupt: {e}", path.display()));
    let mut conn = sqlite_readonly(path).await?;
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|e| corrupt(e.to_string()))?;
    if check != ["ok"] {
        return Err(corrupt(format!(
            "integrity_check says {}",
            check.join("; ")
        )));
    }
    let herald: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| corrupt(e.to_string()))?;
    conn.close().await.ok();
    if herald == 0 {
        return Err(err(format!("{} has no herald schema", path.display())));
    }
    Ok(())
}

async fn restore_sqlite(from: &Path, target: &Path, force: bool) -> Result<(), StoreError> {
    if target.exists() {
        let tables = sqlite_tables(target).await?;
        if tables > 0 && !force {
            return Err(err(format!(
                "the target {} is not empty ({tables} tables); pass --force to replace it",
                target.display()
            )));
        }
    }
    let tmp = temp_beside(target, "restore");
    let mut cleanup = Cleanup(Some(tmp.clone()));
    std::fs::copy(from, &tmp).map_err(|e| {
        err(format!(
            "cannot write beside {}: {e} (is the disk full or read-only?)",
            target.display()
        ))
    })?;
    check_sqlite(&tmp).await?;
    if target.exists() {
        // Fold the old database's WAL into it first, so no stale WAL meets the new file.
        let mut conn = SqliteConnectOptions::new()
            .filename(target)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| err(format!("cannot open {}: {e}", target.display())))?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .map_err(|e| {
                err(format!(
                    "{} is in use (stop herald first): {e}",
                    target.display()
                ))
            })?;
        conn.close().await.ok();
    }
    commit_file(&tmp, target)?;
    cleanup.0 = None;
    for suffix in ["-wal", "-shm"] {
        let mut p = target.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    Ok(())
}

/// The URL for libpq tools: sqlx's `options[search_path]=S` becomes `--schema S`.
fn pg_tool_url(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("options[search_path]=") {
            Some(s) => {
                schema = Some(s.to_owned());
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema)
}

async fn run_tool(cmd: &mut Command, what: &str) -> Result<(), StoreError> {
    let out = tokio::task::block_in_place(|| cmd.output()).map_err(|e| {
        err(format!(
            "PostgreSQL backups use {what}, which could not run: {e} (install postgresql-client)"
        ))
    })?;
    if !out.status.success() {
        return Err(err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

async fn restore_pg(from: &Path, url: &str, force: bool) -> Result<(), StoreError> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| err(format!("cannot connect to the target: {e}")))?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| err(format!("cannot read the target: {e}")))?;
    conn.close().await.ok();
    if tables > 0 && !force {
        return Err(err(format!(
            "the target database is not empty ({tables} tables); pass --force to replace it"
        )));
    }
    let (conn_url, _) = pg_tool_url(url);
    let mut cmd = Command::new("pg_restore");
    cmd.args(["--single-transaction", "--exit-on-error", "--no-owner"]);
    if force {
        cmd.args(["--clean", "--if-exists"]);
    }
    cmd.arg("--dbname").arg(&conn_url).arg(from);
    run_tool(&mut cmd, "pg_restore").await
}
