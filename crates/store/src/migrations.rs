//! The migrations, embedded in the binary. Each number exists in both `migrations/sqlite` and
//! `migrations/postgres`, with the same name; files are append-only and every change is
//! expand/contract, so the previous release keeps working on the new schema.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

use crate::db::Backend;

/// (version, name, SQLite SQL, PostgreSQL SQL). A test checks this list against the folders.
pub(crate) const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/sqlite/0001_initial.sql"),
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "jobs",
        include_str!("../../../migrations/sqlite/0002_jobs.sql"),
        include_str!("../../../migrations/postgres/0002_jobs.sql"),
    ),
    (
        3,
        "status_log_by_page",
        include_str!("../../../migrations/sqlite/0003_status_log_by_page.sql"),
        include_str!("../../../migrations/postgres/0003_status_log_by_page.sql"),
    ),
    (
        4,
        "notifications",
        include_str!("../../../migrations/sqlite/0004_notifications.sql"),
        include_str!("../../../migrations/postgres/0004_notifications.sql"),
    ),
    (
        5,
        "admin",
        include_str!("../../../migrations/sqlite/0005_admin.sql"),
        include_str!("../../../migrations/postgres/0005_admin.sql"),
    ),
    (
        6,
        "page_changes",
        include_str!("../../../migrations/sqlite/0006_page_changes.sql"),
        include_str!("../../../migrations/postgres/0006_page_changes.sql"),
    ),
    (
        7,
        "security",
        include_str!("../../../migrations/sqlite/0007_security.sql"),
        include_str!("../../../migrations/postgres/0007_security.sql"),
    ),
    (
        8,
        "metrics",
        include_str!("../../../migrations/sqlite/0008_metrics.sql"),
        include_str!("../../../migrations/postgres/0008_metrics.sql"),
    ),
    (
        9,
        "automation",
        include_str!("../../../migrations/sqlite/0009_automation.sql"),
        include_str!("../../../migrations/postgres/0009_automation.sql"),
    ),
    (
        11,
        "worker_release",
        include_str!("../../../migrations/sqlite/0011_worker_release.sql"),
        include_str!("../../../migrations/postgres/0011_worker_release.sql"),
    ),
    (
        14,
        "automation_incidents",
        include_str!("../../../migrations/sqlite/0014_automation_incidents.sql"),
        include_str!("../../../migrations/postgres/0014_automation_incidents.sql"),
    ),
];

/// Whether the previous release still runs on the schema after a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only adds (tables, nullable or defaulted columns, indexes): older builds run on it.
    Expand,
    /// Drops, renames, tightens or changes meaning: older builds must be gone first.
    Contract,
}

impl Kind {
    /// `expand` or `contract`, as in the annotation and the bookkeeping table.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Expand => "expand",
            Kind::Contract => "contract",
        }
    }

    /// The kind named by `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "expand" => Some(Kind::Expand),
            "contract" => Some(Kind::Contract),
            _ => None,
        }
    }
}

/// The annotation every migration file opens with: `-- herald: expand` or
/// `-- herald: contract`, alone on the first line.
pub const ANNOTATION: &str = "-- herald: ";

/// The kind a migration file's first line declares, and the SQL after that line. `None` when
/// the first line is not an annotation.
pub fn annotated(sql: &str) -> Option<(Kind, &str)> {
    let (first, rest) = sql.split_once('\n').unwrap_or((sql, ""));
    let kind = Kind::parse(first.trim_end_matches('\r').strip_prefix(ANNOTATION)?)?;
    Some((kind, rest))
}

/// One migration this build knows.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub version: i64,
    pub name: &'static str,
    pub kind: Kind,
    /// The SQL without its annotation line.
    body: &'static str,
}

/// Every migration this build knows for `backend`, in order. A file without an annotation
/// counts as contract (the tests refuse such a file; a build never assumes "safe").
pub(crate) fn known(backend: Backend) -> Vec<Known> {
    MIGRATIONS
        .iter()
        .map(|(version, name, sqlite, pg)| {
            let sql = match backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *pg,
            };
            let (kind, body) = annotated(sql).unwrap_or((Kind::Contract, sql));
            Known {
                version: *version,
                name,
                kind,
                body,
            }
        })
        .collect()
}

/// The highest version.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

/// Herald's own bookkeeping beside sqlx's `_sqlx_migrations`: the kind of every migration
/// applied, written in the migration's own transaction, so that an *older* build, which does
/// not have the file, can still tell whether it may run on the schema. Created before any
/// migration runs (like sqlx's table, it is not itself a numbered migration).
pub(crate) const KINDS_TABLE: &str = "CREATE TABLE IF NOT EXISTS herald_migration_kinds (\
     version BIGINT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL)";

/// Records `m`'s kind (idempotent).
pub(crate) fn record_kind_sql(m: &Known) -> String {
    format!(
        "INSERT INTO herald_migration_kinds (version, name, kind) VALUES ({}, '{}', '{}') \
         ON CONFLICT (version) DO NOTHING",
        m.version,
        m.name.replace('\'', "''"),
        m.kind.as_str()
    )
}

/// A sqlx migrator for `migrations`, applied in order. Each migration's SQL is its file
/// without the annotation line, followed by the statement recording its kind (same
/// transaction). The checksum sqlx compares is that of the file without the annotation, so
/// databases migrated before files were annotated still match. Applied migrations this
/// build does not know (a newer build's) are ignored here: the caller checked them first.
pub(crate) fn migrator(migrations: &[Known]) -> Migrator {
    let mut m = Migrator::with_migrations(
        migrations
            .iter()
            .map(|k| {
                let checksum = Migration::new(
                    k.version,
                    Cow::Borrowed(k.name),
                    MigrationType::Simple,
                    k.body.into_sql_str(),
                    false,
                )
                .checksum;
                let sql = format!("{}\n;\n{};\n", k.body, record_kind_sql(k));
                Migration {
                    version: k.version,
                    description: Cow::Borrowed(k.name),
                    migration_type: MigrationType::Simple,
                    sql: sqlx::AssertSqlSafe(sql).into_sql_str(),
                    checksum,
                    no_tx: false,
                }
            })
            .collect(),
    );
    m.set_ignore_missing(true);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_listed_once_per_backend() {
        for dir in ["sqlite", "postgres"] {
            let path = format!("{}/../../migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            let listed: Vec<String> = MIGRATIONS
                .iter()
                .map(|(v, n, _, _)| format!("{v:04}_{n}.sql"))
                .collect();
            assert_eq!(files, listed, "migrations/{dir} and MIGRATIONS differ");
        }
    }

    #[test]
    fn versions_increase() {
        for w in MIGRATIONS.windows(2) {
            assert!(w[1].0 > w[0].0, "{} after {}", w[1].0, w[0].0);
        }
    }
}
