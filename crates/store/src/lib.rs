//! Herald's storage layer: every SQL statement herald runs lives in this crate.
//!
//! [`Store`] is the one handle the rest of herald uses. Each public method is one use case
//! ("post an incident update", "rename a component") and runs in its own transaction, which
//! also bumps the page's version (public snapshots follow it) and appends to the audit log,
//! so a change, its audit entry and its consequences commit or vanish together.
//!
//! The same code serves SQLite and PostgreSQL through the dialect seam in `db`; the
//! conformance suite in the integration tests runs every method on both.
#![forbid(unsafe_code)]

mod audit;
mod automation;
pub mod backup;
mod columns;
mod components;
mod db;
mod error;
mod import;
mod incidents;
mod jobs;
mod keys;
pub mod kinds;
mod leader;
mod listen;
mod metric_points;
mod metrics;
pub mod migration_lint;
mod migrations;
mod notifications;
mod ordering;
mod page_state;
mod pages;
mod schema;
mod sessions;
mod status_log;
mod subscribers;
mod templates;
mod users;
mod write;

pub use audit::AuditEntry;
pub use automation::CheckResult;
pub use columns::ColumnDrift;
pub use db::{Backend, DbOptions};
pub use error::StoreError;
pub use import::{
    BulkCreated, BulkImported, ImportCounts, Imported, ImportedSubscriber, IncidentImport,
    SubscriberImport,
};
pub use incidents::{IncidentOrder, IncidentQuery};
pub use jobs::{
    Finish, FinishReport, Job, JobState, NewJob, Outcome, QueueStats, ReconcilerRun, later,
};
pub use leader::Leadership;
pub use listen::{CHANGES_CHANNEL, ChangeListener};
pub use metric_points::ChartData;
pub use migrations::Kind as MigrationKind;
pub use notifications::{Delivery, DeliveryRecord, Event, Recipient};
pub use page_state::{Changes, PageDelta, PageState};
pub use schema::{Foreign, OlderWorker, Pending, SchemaStatus, release, set_release};
pub use sessions::AdminSession;
pub use status_log::StatusLogEntry;
pub use subscribers::{QUARANTINE_TTL, SubscriberQuery, UNCONFIRMED_TTL, WebhookSecrets};

use db::{Db, One};
use std::sync::Arc;
use tokio::sync::Notify;

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Herald's database.
#[derive(Clone)]
pub struct Store {
    db: Db,
    signals: Arc<Signals>,
}

/// In-process wake-ups: a commit that enqueued jobs wakes this process's claimers of those
/// queues at once, and only those (other nodes hear of it through PostgreSQL's NOTIFY, and
/// everyone polls as a fallback). Waking every queue's claimers for each job made each one
/// run a claim through SQLite's single writer: a dozen empty claims per incident update.
#[derive(Debug, Default)]
pub struct Signals {
    queues: std::sync::Mutex<std::collections::HashMap<String, Arc<Notify>>>,
}

impl Signals {
    fn queues(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Arc<Notify>>> {
        self.queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes the claimers of every queue (jobs of any queue may have become available).
    fn jobs_enqueued(&self) {
        for n in self.queues().values() {
            n.notify_waiters();
        }
    }

    /// Wakes the claimers of `queues`.
    fn jobs_enqueued_in<'a>(&self, queues: impl IntoIterator<Item = &'a str>) {
        let map = self.queues();
        for q in queues {
            if let Some(n) = map.get(q) {
                n.notify_waiters();
            }
        }
    }

    fn queue(&self, queue: &str) -> Arc<Notify> {
        self.queues().entry(queue.to_owned()).or_default().clone()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.db.backend())
            .finish()
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`). Does not migrate.
    pub async fn connect(url: &str, opts: &DbOptions) -> Result<Store> {
        Ok(Store {
            db: Db::connect(url, opts).await?,
            signals: Arc::default(),
        })
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The schema version the database is at (0 before any migration).
    pub async fn schema_version(&self) -> Result<i64> {
        let row: Option<One<Option<i64>>> = self
            .db
            .read_opt(
                "SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success",
                vec![],
            )
            .await
            .or_else(|e| match e {
                // No migrations table yet.
                StoreError::Internal(_) => Ok(None),
                e => Err(e),
            })?;
        Ok(row.and_then(|r| r.v).unwrap_or(0))
    }

    /// The schema version this build expects.
    pub fn expected_schema_version() -> i64 {
        migrations::latest()
    }

    /// A cheap round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        let _: Option<One<i64>> = self
            .db
            .read_opt("SELECT CAST(1 AS BIGINT) AS v", vec![])
            .await?;
        Ok(())
    }

    /// Notified when this process commits new jobs in `queue` (call `notified()` and
    /// `enable()` it before looking for work, so a wake-up between the look and the wait is
    /// not lost).
    pub fn jobs_signal(&self, queue: &str) -> Arc<Notify> {
        self.signals.queue(queue)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.db.close().await;
    }
}
