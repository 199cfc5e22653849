//! The frame of every write: a transaction that knows who is writing and when, bumps the
//! page's version, records what it changed for the nodes' page models (`page_changes`), and
//! appends to the audit log.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::id::PageId;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::columns::cols;
use crate::db::{SqlBuilder, Tx, args};
use crate::jobs::NewJob;
use crate::pages::PageRow;
use crate::{Result, Signals, Store};
use herald_domain::page::Page;

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
    /// That page's row as the write's first statement left it.
    page_row: Option<Page>,
    /// What of the page it changed, for `page_changes`; `None` until the write says, which
    /// records `*` (reload everything): a write that forgets to say costs a full reload of
    /// the page's model, never a stale one.
    touched: Option<BTreeSet<String>>,
    /// `Touched::Everything` was said.
    everything: bool,
    /// Audit entries to write at commit.
    audits: Vec<AuditRow>,
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
            page_row: None,
            touched: None,
            everything: false,
            audits: Vec::new(),
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
        // One statement, as the lock is held from here to the commit: on PostgreSQL it also
        // queues the change notification other nodes listen for (sent at commit).
        let sql = match w.tx {
            Tx::Sqlite(_) => concat!(
                "UPDATE pages SET version = version + 1, \
                   updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END \
                 WHERE id = $1 RETURNING ",
                cols!(pages)
            ),
            Tx::Pg(_) => concat!(
                "WITH bumped AS (UPDATE pages SET version = version + 1, \
                   updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $2 END \
                 WHERE id = $1 RETURNING ",
                cols!(pages),
                ") SELECT ",
                cols!(pages),
                " FROM bumped, pg_notify('",
                crate::listen::changes_channel!(),
                "', $1)"
            ),
        };
        let row: Option<PageRow> = w.tx.fetch_optional(sql, args![page_id, now]).await?;
        let page = row.ok_or(crate::StoreError::NotFound)?.into_page()?;
        w.now = page.updated_at;
        w.page = Some((page_id.as_str().to_owned(), page.version));
        w.page_row = Some(page);
        Ok(w)
    }

    /// The page row of a write begun with `on_page`, as its version bump left it.
    pub(crate) fn page(&self) -> Result<Page> {
        self.page_row.clone().ok_or(crate::StoreError::NotFound)
    }

    /// Appends one audit entry. `changes` maps each changed field to `[old, new]`. Entries
    /// are written at commit, with what the write changed of its page, in one statement.
    pub(crate) async fn audit(
        &mut self,
        page_id: Option<&PageId>,
        action: &str,
        target_type: &str,
        target_id: &str,
        changes: Value,
    ) -> Result<()> {
        self.audits.push(AuditRow {
            page_id: page_id.map(|p| p.as_str().to_owned()),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            changes: changes.to_string(),
        });
        Ok(())
    }

    /// Commits, then wakes this process's workers if jobs were enqueued. Before, it writes
    /// the audit entries and what a write on a page changed of it (`page_changes`), and on
    /// PostgreSQL tells the other nodes' workers which queues have new jobs: there, all in
    /// one statement (data-modifying CTEs), as the page's lock is held until the commit.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let audits = std::mem::take(&mut self.audits);
        let changes = self.page.take().map(|(page_id, version)| {
            let targets = self.targets();
            (page_id, version, targets)
        });
        let mut parts = Vec::new();
        if !audits.is_empty() {
            parts.push(Part::Audits(&audits));
        }
        if let Some((page_id, version, targets)) = &changes {
            parts.push(Part::Changes(page_id, *version, targets));
        }
        if matches!(self.tx, Tx::Pg(_)) {
            let queues = (!self.enqueued.is_empty()).then(|| self.enqueued.join(","));
            // Every part but the statement's last is a CTE (PostgreSQL runs each once).
            let ctes = if queues.is_some() {
                parts.len()
            } else {
                parts.len().saturating_sub(1)
            };
            let mut sql = SqlBuilder::default();
            for (n, part) in parts.iter().enumerate() {
                if n < ctes {
                    sql.push(if n == 0 { "WITH " } else { ", " })
                        .push(["w0", "w1"][n])
                        .push(" AS (");
                }
                self.push_part(&mut sql, part);
                sql.push(if n < ctes { ") " } else { " " });
            }
            if let Some(queues) = queues {
                sql.push(concat!(
                    "SELECT pg_notify('",
                    crate::jobs::jobs_channel!(),
                    "', "
                ))
                .bind(queues)
                .push(")");
            }
            if !sql.text.is_empty() {
                let (text, a) = sql.finish();
                self.tx.execute(text, a).await?;
            }
        } else {
            for part in &parts {
                let mut sql = SqlBuilder::default();
                self.push_part(&mut sql, part);
                let (text, a) = sql.finish();
                self.tx.execute(text, a).await?;
            }
        }
        if let Some((page_id, version, _)) = &changes
            && version % 1000 == 0
        {
            self.tx
                .execute(
                    "DELETE FROM page_changes WHERE page_id = $1 AND version <= $2",
                    args![page_id, version - CHANGES_KEPT],
                )
                .await?;
        }
        self.tx.commit().await?;
        self.signals
            .jobs_enqueued_in(self.enqueued.iter().map(String::as_str));
        Ok(())
    }

    fn push_part(&self, sql: &mut SqlBuilder, part: &Part<'_>) {
        match part {
            Part::Audits(rows) => self.push_audits(sql, rows),
            Part::Changes(page_id, version, targets) => {
                push_changes(sql, page_id, *version, targets)
            }
        }
    }
}

/// A statement a write runs at commit.
enum Part<'a> {
    Audits(&'a [AuditRow]),
    Changes(&'a str, i64, &'a [String]),
}

/// One audit entry of a write, written at commit.
struct AuditRow {
    page_id: Option<String>,
    action: String,
    target_type: String,
    target_id: String,
    changes: String,
}

/// Appends the insert of a version's `page_changes` rows.
fn push_changes(sql: &mut SqlBuilder, page_id: &str, version: i64, targets: &[String]) {
    sql.push("INSERT INTO page_changes (page_id, version, target) VALUES ");
    for (n, t) in targets.iter().enumerate() {
        sql.push(if n == 0 { "(" } else { ", (" })
            .bind(page_id)
            .push(", ")
            .bind(version)
            .push(", ")
            .bind(t.as_str())
            .push(")");
    }
}

impl Write<'_> {
    /// The `page_changes` targets of this write: `*` (reload everything) unless it said.
    fn targets(&mut self) -> Vec<String> {
        match self.touched.take() {
            _ if self.everything => vec!["*".to_owned()],
            None => vec!["*".to_owned()],
            Some(set) if set.is_empty() => vec![String::new()],
            Some(set) => set.into_iter().collect(),
        }
    }

    /// Appends the insert of `rows` into the audit log.
    fn push_audits(&self, sql: &mut SqlBuilder, rows: &[AuditRow]) {
        sql.push(
            "INSERT INTO audit_log (at, page_id, actor_type, actor_id, action, target_type, \
             target_id, changes, source_ip) VALUES ",
        );
        for (n, r) in rows.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .bind(self.now)
                .push(", ")
                .bind(r.page_id.as_deref())
                .push(", ")
                .bind(self.actor.kind.as_str())
                .push(", ")
                .bind(self.actor.id.as_str())
                .push(", ")
                .bind(r.action.as_str())
                .push(", ")
                .bind(r.target_type.as_str())
                .push(", ")
                .bind(r.target_id.as_str())
                .push(", ")
                .bind(r.changes.as_str())
                .push(", ")
                .bind(self.actor.ip.as_deref())
                .push(")");
        }
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
