//! The frame of every write: a transaction that knows who is writing and when, bumps the
//! page's version and appends to the audit log.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use serde_json::Value;

use herald_domain::clock::from_ms;

use crate::Result;
use crate::db::{Db, One, Tx, args};

/// A write in progress.
pub(crate) struct Write<'a> {
    pub(crate) tx: Tx,
    pub(crate) actor: &'a Actor,
    pub(crate) now: DateTime<Utc>,
}

impl<'a> Write<'a> {
    /// Starts a write transaction.
    pub(crate) async fn begin(db: &Db, actor: &'a Actor, now: DateTime<Utc>) -> Result<Write<'a>> {
        Ok(Write {
            tx: db.begin().await?,
            actor,
            now,
        })
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
        db: &Db,
        page_id: &str,
        actor: &'a Actor,
        now: DateTime<Utc>,
    ) -> Result<Write<'a>> {
        let mut w = Self::begin(db, actor, now).await?;
        let row: Option<One<i64>> =
            w.tx.fetch_optional(
                "UPDATE pages SET version = version + 1, \
                   updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END \
                 WHERE id = $1 RETURNING updated_at AS v",
                args![page_id, now],
            )
            .await?;
        w.now = from_ms(row.ok_or(crate::StoreError::NotFound)?.v);
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

    /// Commits.
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await
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
