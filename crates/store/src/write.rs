//! The frame of every write: a transaction that knows who is writing and when, bumps the
//! page's version and appends to the audit log.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use serde_json::Value;
use std::sync::Arc;

use crate::db::{One, Tx, args};
use crate::jobs::NewJob;
use crate::{Result, Signals, Store};

/// A write in progress.
pub(crate) struct Write<'a> {
    pub(crate) tx: Tx,
    pub(crate) actor: &'a Actor,
    pub(crate) now: DateTime<Utc>,
    signals: Arc<Signals>,
    enqueued: bool,
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
            enqueued: false,
        })
    }

    /// Enqueues jobs in this transaction: they exist if and only if the write commits.
    pub(crate) async fn enqueue(&mut self, jobs: &[NewJob]) -> Result<Vec<i64>> {
        let ids = crate::jobs::enqueue_tx(&mut self.tx, jobs, self.now).await?;
        self.enqueued |= !ids.is_empty();
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
        page_id: &str,
        actor: &'a Actor,
        now: DateTime<Utc>,
    ) -> Result<Write<'a>> {
        let mut w = Self::begin(store, actor, now).await?;
        let row: Option<One<i64>> =
            w.tx.fetch_optional(
                "UPDATE pages SET version = version + 1, \
                   updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END \
                 WHERE id = $1 RETURNING updated_at AS v",
                args![page_id, now],
            )
            .await?;
        w.now = from_ms(row.ok_or(crate::StoreError::NotFound)?.v);
        crate::notify::notify_in(&mut w.tx, page_id).await?;
        Ok(w)
    }

    /// Appends one audit entry. `changes` maps each changed field to `[old, new]`.
    pub(crate) async fn audit(
        &mut self,
        page_id: Option<&str>,
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

    /// Commits, then wakes this process's workers if jobs were enqueued.
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        if self.enqueued {
            self.signals.jobs_enqueued();
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
