//! Expand/contract: whether this build may run on the database's schema, and migrating it.
//!
//! Every migration is annotated *expand* (the previous release still runs after it) or
//! *contract* (older releases must be gone first). A build compares the migrations the
//! database has applied with those it knows:
//!
//! - applied ones it does not know (a newer build's) are fine when each is recorded as
//!   expand in `herald_migration_kinds` (written in the migration's own transaction, so an
//!   older build can read what it has no file for); a contract one, or one whose kind was
//!   never recorded, makes this build refuse to start, naming it;
//! - known ones not yet applied: `migrate` applies the expand ones, in order, and stops at the
//!   first contract one, which only `migrate_contract` runs, once no worker of an older
//!   release is alive (the `workers` table records each worker's release and the newest
//!   migration its build knows).

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use crate::db::args;
use crate::migrations::{self, KINDS_TABLE, Kind, Known};
use crate::{Result, Store, StoreError};

/// A migration the database has applied that this build does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub version: i64,
    pub name: String,
    /// `None` when the build that applied it recorded no kind (an unannotated build).
    pub kind: Option<Kind>,
}

/// A migration this build knows that the database has not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub version: i64,
    pub name: String,
    pub kind: Kind,
}

/// The database's schema as this build sees it.
#[derive(Debug, Clone)]
pub struct SchemaStatus {
    /// The highest version applied (0: none).
    pub applied: i64,
    /// The highest version this build knows.
    pub known: i64,
    /// Every version applied, with its kind where known (this build's, else the record).
    pub applied_kinds: BTreeMap<i64, Option<Kind>>,
    /// Applied migrations this build does not know, oldest first.
    pub foreign: Vec<Foreign>,
    /// Known migrations not applied, oldest first.
    pub pending: Vec<Pending>,
    /// A migration sqlx recorded as failed (only possible for non-transactional ones).
    pub failed: Option<i64>,
}

impl SchemaStatus {
    /// The first applied migration this build cannot run on, if any.
    pub fn blocking(&self) -> Option<&Foreign> {
        self.foreign.iter().find(|f| f.kind != Some(Kind::Expand))
    }

    /// Why this build must not run on the schema at all (not even migrate it), if so.
    pub fn refusal(&self) -> Option<String> {
        if let Some(v) = self.failed {
            return Some(format!(
                "migration {v} is recorded as failed half-way; restore the database or repair \
                 it by hand before starting herald"
            ));
        }
        let f = self.blocking()?;
        let why = match f.kind {
            Some(_) => {
                "a contract step: this build's code may depend on what it removed or changed"
            }
            None => "applied by a build that recorded no kind, so it may not be safe",
        };
        Some(format!(
            "schema {}, this build knows {}: migration {} ({}) is {why}. Run a release that \
             knows migration {}",
            self.applied, self.known, f.version, f.name, f.version
        ))
    }

    /// The first known expand migration not applied yet: this build needs it.
    pub fn behind(&self) -> Option<&Pending> {
        self.pending.iter().find(|p| p.kind == Kind::Expand)
    }

    /// This build may serve on the schema as it is.
    pub fn ready(&self) -> bool {
        self.refusal().is_none() && self.behind().is_none()
    }

    /// One line for `/readyz` and logs, e.g. `schema 8, this build knows 7: compatible`.
    pub fn summary(&self) -> String {
        let head = format!("schema {}, this build knows {}", self.applied, self.known);
        if let Some(r) = self.refusal() {
            return r;
        }
        if let Some(p) = self.behind() {
            return format!(
                "{head}: migration {} ({}) is not applied (herald migrate)",
                p.version, p.name
            );
        }
        if let Some(p) = self.pending.first() {
            return format!(
                "{head}: contract step {} ({}) waits for herald migrate --contract",
                p.version, p.name
            );
        }
        if !self.foreign.is_empty() {
            return format!("{head}: compatible");
        }
        head
    }
}

static RELEASE: OnceLock<String> = OnceLock::new();

/// Names this process's release (version and commit) in the `workers` table; the binary
/// sets it once at start. Defaults to the crate version.
pub fn set_release(release: String) {
    let _ = RELEASE.set(release);
}

/// This process's release, as recorded in the `workers` table.
pub fn release() -> &'static str {
    RELEASE
        .get()
        .map_or(env!("CARGO_PKG_VERSION"), String::as_str)
}

/// A live worker whose build does not know every migration `migrate_contract` would apply.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OlderWorker {
    pub id: String,
    pub hostname: String,
    pub release: Option<String>,
    pub schema_known: Option<i64>,
}

impl Store {
    /// How this build stands with the database's schema. Changes nothing.
    pub async fn schema_status(&self) -> Result<SchemaStatus> {
        #[derive(sqlx::FromRow)]
        struct Applied {
            version: i64,
            description: String,
            success: bool,
        }
        #[derive(sqlx::FromRow)]
        struct Recorded {
            version: i64,
            kind: String,
        }
        // Before the first migration neither table exists: nothing is applied.
        let applied: Vec<Applied> = self
            .db
            .read(
                "SELECT version, description, success FROM _sqlx_migrations ORDER BY version",
                vec![],
            )
            .await
            .or_else(missing_table)?;
        let recorded: Vec<Recorded> = self
            .db
            .read("SELECT version, kind FROM herald_migration_kinds", vec![])
            .await
            .or_else(missing_table)?;
        let recorded: BTreeMap<i64, Option<Kind>> = recorded
            .into_iter()
            .map(|r| (r.version, Kind::parse(&r.kind)))
            .collect();
        let known = migrations::known(self.backend());
        let by_version: BTreeMap<i64, &Known> = known.iter().map(|k| (k.version, k)).collect();
        let done: BTreeSet<i64> = applied
            .iter()
            .filter(|a| a.success)
            .map(|a| a.version)
            .collect();
        let mut applied_kinds = BTreeMap::new();
        let mut foreign = Vec::new();
        for a in applied.iter().filter(|a| a.success) {
            let kind = match by_version.get(&a.version) {
                Some(k) => Some(k.kind),
                None => recorded.get(&a.version).copied().flatten(),
            };
            applied_kinds.insert(a.version, kind);
            if !by_version.contains_key(&a.version) {
                foreign.push(Foreign {
                    version: a.version,
                    name: a.description.clone(),
                    kind,
                });
            }
        }
        Ok(SchemaStatus {
            applied: done.last().copied().unwrap_or(0),
            known: migrations::latest(),
            applied_kinds,
            foreign,
            pending: known
                .iter()
                .filter(|k| !done.contains(&k.version))
                .map(|k| Pending {
                    version: k.version,
                    name: k.name.to_owned(),
                    kind: k.kind,
                })
                .collect(),
            failed: applied.iter().find(|a| !a.success).map(|a| a.version),
        })
    }

    /// Applies the pending expand migrations, in order, stopping before the first contract
    /// one. Refuses, changing nothing, when the schema has a migration this build cannot run
    /// on. Each migration commits whole or not at all (a killed migration leaves nothing).
    pub async fn migrate(&self) -> Result<()> {
        self.run_migrations(false).await
    }

    /// Applies every pending migration, contract steps included, once no live worker (one
    /// whose heartbeat is at or after `alive_since`) runs a build that does not know them.
    /// Returns the versions applied.
    pub async fn migrate_contract(&self, alive_since: DateTime<Utc>) -> Result<Vec<i64>> {
        let before = self.schema_status().await?;
        let Some(newest) = before.pending.iter().map(|p| p.version).max() else {
            return Ok(Vec::new());
        };
        let older = self.older_workers(newest, alive_since).await?;
        if let Some(w) = older.first() {
            return Err(StoreError::Incompatible(format!(
                "{} worker(s) of an older release are alive, e.g. {} on {} ({}, knows migrations up \
                 to {}); contract steps wait until every node runs a build that knows migration \
                 {newest}",
                older.len(),
                w.id,
                w.hostname,
                w.release.as_deref().unwrap_or("release not recorded"),
                w.schema_known.map_or("?".to_owned(), |v| v.to_string()),
            )));
        }
        self.run_migrations(true).await?;
        Ok(before.pending.iter().map(|p| p.version).collect())
    }

    /// Live workers whose build does not know migration `version`.
    pub async fn older_workers(
        &self,
        version: i64,
        alive_since: DateTime<Utc>,
    ) -> Result<Vec<OlderWorker>> {
        self.db
            .read(
                "SELECT id, hostname, release, schema_known FROM workers \
                 WHERE heartbeat_at >= $1 AND (schema_known IS NULL OR schema_known < $2) \
                 ORDER BY id",
                args![alive_since, version],
            )
            .await
    }

    /// Migrates, trying again when another node migrating at the same moment got in the way
    /// (PostgreSQL's `CREATE TABLE IF NOT EXISTS` race, SQLite's lock): each migration
    /// commits whole or not at all, so another try starts from a clean state.
    async fn run_migrations(&self, contract: bool) -> Result<()> {
        let mut attempt = 0u64;
        loop {
            match self.try_migrations(contract).await {
                Err(e @ StoreError::Incompatible(_)) => return Err(e),
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::info!(error = %e, attempt, "migrating failed, perhaps racing another node; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                r => return r,
            }
        }
    }

    async fn try_migrations(&self, contract: bool) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(KINDS_TABLE, vec![]).await?;
        tx.commit().await?;
        let status = self.schema_status().await?;
        if let Some(why) = status.refusal() {
            return Err(StoreError::Incompatible(why));
        }
        let pending: BTreeSet<i64> = status.pending.iter().map(|p| p.version).collect();
        let known = migrations::known(self.backend());
        let run: Vec<Known> = known
            .iter()
            .take_while(|k| contract || k.kind == Kind::Expand || !pending.contains(&k.version))
            .copied()
            .collect();
        let applying: Vec<i64> = run
            .iter()
            .filter(|k| pending.contains(&k.version))
            .map(|k| k.version)
            .collect();
        if !applying.is_empty() {
            tracing::info!(versions = ?applying, "applying migrations");
        }
        self.db.migrate(&migrations::migrator(&run)).await?;
        // Record the kinds of migrations applied before herald recorded kinds.
        let done = self.schema_status().await?;
        let mut tx = self.db.begin().await?;
        for k in known
            .iter()
            .filter(|k| done.applied_kinds.contains_key(&k.version))
        {
            tx.execute(sqlx::AssertSqlSafe(migrations::record_kind_sql(k)), vec![])
                .await?;
        }
        tx.commit().await
    }
}

/// A missing table reads as no rows (the database was never migrated).
fn missing_table<T>(e: StoreError) -> Result<Vec<T>> {
    match e {
        StoreError::Internal(_) => Ok(Vec::new()),
        e => Err(e),
    }
}
