//! Helpers for the deploy tests: a database as an older build left it (migrated from the
//! files up to a version, as sqlx did before herald annotated them) and as a newer build
//! leaves it (a migration this build does not know, recorded with its kind).

use crate::helpers::{Backend, TestDb};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// Runs `sql` (several statements) on the test database.
pub async fn exec(db: &TestDb, b: Backend, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// One number from `sql` (`SELECT ... AS n`).
pub async fn scalar(db: &TestDb, b: Backend, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    }
}

/// The migration files of `b` numbered up to `upto`: (version, name, SQL without the
/// annotation line).
pub fn files(b: Backend, upto: i64) -> Vec<(i64, String, String)> {
    let dir = crate::compat::repo_root().join(match b {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    });
    let mut out: Vec<(i64, String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            let (v, name) = stem.split_once('_')?;
            let sql = std::fs::read_to_string(&p).ok()?;
            let body = sql.split_once('\n').map_or("", |(_, b)| b).to_owned();
            Some((v.parse().ok()?, name.to_owned(), body))
        })
        .filter(|(v, _, _)| *v <= upto)
        .collect();
    out.sort();
    out
}

/// Migrates the test database with plain sqlx from the files up to `upto`, as a build from
/// before the annotations did.
pub async fn migrate_files_upto(db: &TestDb, b: Backend, upto: i64) {
    let m = Migrator::with_migrations(
        files(b, upto)
            .into_iter()
            .map(|(v, name, body)| {
                Migration::new(
                    v,
                    Cow::Owned(name),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(body).into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", db.url))
                .await
                .unwrap();
            m.run(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            m.run(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Applies `sql` as migration `version` (`name`) the way a newer herald build does: the
/// statements, sqlx's record of it and, unless `kind` is `None` (a build that records no
/// kinds), herald's record of its kind, in one transaction.
pub async fn apply_as_newer_build(
    db: &TestDb,
    b: Backend,
    version: i64,
    name: &str,
    kind: Option<&str>,
    sql: &str,
) {
    let checksum = match b {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "decode('00', 'hex')",
    };
    let record = kind.map_or(String::new(), |k| {
        format!("INSERT INTO herald_migration_kinds (version, name, kind) VALUES ({version}, '{name}', '{k}');")
    });
    exec(
        db,
        b,
        &format!(
            "BEGIN; {sql}; INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES ({version}, '{name}', TRUE, {checksum}, 0); {record} COMMIT;"
        ),
    )
    .await;
}
