//! The frame of every write: a transaction that knows who is writing and when, bumps the
//! page's version, records what it changed for the nodes' page models (`page_changes`), and
//! appends to the audit log.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::db::{Tx, args};
use crate::jobs::NewJob;
use crate::{Result, Signals, Store};

/// A write in progress.
pub(crate) struct Write<'a> {
    pub(crate) tx: Tx,
    pub(crate) actor: &'a Actor,
    pub(crate) now: DateTime<Utc>,
    signals: Arc<Signals>,
    /// The queues this write enqueued jobs in.
    enqueued: Vec<String>,
    /// The page this write is on and the version it gave it (`on_page`).
    page: Option<(String, i64)>,
    /// What of the page it changed, for `page_changes`; `None` until the write says, which
    /// records `*` (reload everything): a write that forgets to say costs a full reload of
    /// the page's model, never a stale one.
    touched: Option<BTreeSet<String>>,
    /// `Touched::Everything` was said.
    everything: bool,
}

/// What a write changed of a page's public model.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Touched<'a> {
    /// The page's components or groups: their set, order or grouping.
    Components,
    /// One component's row only (its status, name or settings; not its place).
    Component(&'a str),
    /// One incident or maintenance.
    Incident(&'a str),
    /// The page's metrics: their set or definitions (not their points).
    Metrics,
    /// Nothing public but the page row (subscribers, templates, settings).
    Nothing,
    /// Anything: the page's models reload it in full.
    Everything,
}

/// Versions of `page_changes` kept per page; a node further behind reloads the page.
const CHANGES_KEPT: i64 = 10_000;

#[derive(sqlx::FromRow)]
struct Bumped {
    updated_at: i64,
    version: i64,
}

impl<'a> Write<'a> {
    /// Starts a write transaction.
    pub(crate) async fn begin(
        store: &Store,
        actor: &'a Actor,
        now: DateTime<Utc>,
    ) -> Result<Write<'a>> {
        Ok(Write {
            tx: store.db.begin().await?,
            actor,
            now,
            signals: store.signals.clone(),
            enqueued: Vec::new(),
            page: None,
            touched: None,
            everything: false,
        })
    }

    /// Records that this write changed `what` of its page.
    pub(crate) fn touch(&mut self, what: Touched<'_>) {
        let set = self.touched.get_or_insert_with(BTreeSet::new);
        match what {
            Touched::Components => {
                set.insert("components".to_owned());
            }
            Touched::Component(id) => {
                set.insert(format!("component:{id}"));
            }
            Touched::Incident(id) => {
                set.insert(format!("incident:{id}"));
            }
            Touched::Metrics => {
                set.insert("metrics".to_owned());
            }
            Touched::Nothing => {}
            Touched::Everything => self.everything = true,
        }
    }

    /// The version this write gives its page (0 outside `on_page`).
    pub(crate) fn version(&self) -> i64 {
        self.page.as_ref().map_or(0, |p| p.1)
    }

    /// Enqueues jobs in this transaction: they exist if and only if the write commits.
    pub(crate) async fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        let ids = crate::jobs::enqueue_tx(&mut self.tx, jobs, self.now).await?;
        if !ids.is_empty() {
            for j in jobs {
                if !self.enqueued.contains(&j.queue) {
                    self.enqueued.push(j.queue.clone());
                }
            }
        }
        Ok(ids)
    }

    /// Starts a write transaction on one page. Its first statement bumps the page's version
    /// and `updated_at`, which also takes the page row's lock: writes to one page queue
    /// behind each other on PostgreSQL (SQLite's single writer already does), so a
    /// read-modify-write below never works from a stale read.
    ///
    /// The write's time is `now`, or the page's last write time if that is later: two
    /// requests that read the clock in one order but got the lock in the other still get
    /// times in commit order, so a component's status history, ordered by time, ends in its
    /// current status. Fails with `NotFound` when the page does not exist.
    pub(crate) async fn on_page(
        store: &Store,
        page_id: &PageId,
        actor: &'a Actor,
        now: DateTime<Utc>,
    ) -> Result<Write<'a>> {
        let mut w = Self::begin(store, actor, now).await?;
        let row: Option<Bumped> =
            w.tx.fetch_optional(
                "UPDATE pages SET version = version + 1, \
                   updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END \
                 WHERE id = $1 RETURNING updated_at, version",
                args![page_id, now],
            )
            .await?;
        let row = row.ok_or(crate::StoreError::NotFound)?;
        w.now = from_ms(row.updated_at);
        w.page = Some((page_id.as_str().to_owned(), row.version));
        crate::listen::notify_in(&mut w.tx, page_id.as_str()).await?;
        Ok(w)
    }

    /// Appends one audit entry. `changes` maps each changed field to `[old, new]`.
    pub(crate) async fn audit(
        &mut self,
        page_id: Option<&PageId>,
        action: &str,
        target_type: &str,
        target_id: &str,
        changes: Value,
    ) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO audit_log (at, page_id, actor_type, actor_id, action, target_type, target_id, changes, source_ip) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                args![
                    self.now,
                    page_id,
                    self.actor.kind.as_str(),
                    &self.actor.id,
                    action,
                    target_type,
                    target_id,
                    changes.to_string(),
                    self.actor.ip.as_deref()
                ],
            )
            .await?;
        Ok(())
    }

    /// Commits, then wakes this process's workers if jobs were enqueued. A write on a page
    /// first records what it changed (`page_changes`).
    pub(crate) async fn commit(mut self) -> Result<()> {
        if let Some((page_id, version)) = self.page.take() {
            self.record_changes(&page_id, version).await?;
        }
        self.tx.commit().await?;
        self.signals
            .jobs_enqueued_in(self.enqueued.iter().map(String::as_str));
        Ok(())
    }
}

impl Write<'_> {
    async fn record_changes(&mut self, page_id: &str, version: i64) -> Result<()> {
        let targets: Vec<String> = match self.touched.take() {
            _ if self.everything => vec!["*".to_owned()],
            None => vec!["*".to_owned()],
            Some(set) if set.is_empty() => vec![String::new()],
            Some(set) => set.into_iter().collect(),
        };
        let mut sql = crate::db::SqlBuilder::new(
            "INSERT INTO page_changes (page_id, version, target) VALUES ",
        );
        for (n, t) in targets.into_iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .bind(page_id)
                .push(", ")
                .bind(version)
                .push(", ")
                .bind(t)
                .push(")");
        }
        let (text, a) = sql.finish();
        self.tx.execute(text, a).await?;
        if version % 1000 == 0 {
            self.tx
                .execute(
                    "DELETE FROM page_changes WHERE page_id = $1 AND version <= $2",
                    args![page_id, version - CHANGES_KEPT],
                )
                .await?;
        }
        Ok(())
    }
}

/// Builds an audit `changes` object from `(field, old, new)` triples, keeping only fields
/// whose value changed.
pub(crate) fn diff(fields: &[(&str, Value, Value)]) -> Value {
    Value::Object(
        fields
            .iter()
            .filter(|(_, old, new)| old != new)
            .map(|(k, old, new)| {
                (
                    (*k).to_owned(),
                    Value::Array(vec![old.clone(), new.clone()]),
                )
            })
            .collect(),
    )
}
