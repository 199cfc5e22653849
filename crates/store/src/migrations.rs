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
        9,
        "automation",
        include_str!("../../../migrations/sqlite/0009_automation.sql"),
        include_str!("../../../migrations/postgres/0009_automation.sql"),
    ),
];

/// The highest version.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

/// A migrator for `backend`.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, name, sqlite, pg)| {
                let sql = match backend {
                    Backend::Sqlite => *sqlite,
                    Backend::Postgres => *pg,
                };
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
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
