//! The status history of components (`component_status_log`), as public snapshots read it
//! to compute uptime. Rows are written by `components::set_status` in the transaction of
//! the change they record.

use chrono::{DateTime, Utc};
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use herald_domain::status::ComponentStatus;

use crate::db::{Reads, args};
use crate::{Result, Store, StoreError};

/// One row of `component_status_log`: a component took `status` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLogEntry {
    /// The component.
    pub component_id: String,
    /// Its new status.
    pub status: ComponentStatus,
    /// When.
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LogRow {
    component_id: String,
    status: String,
    at: i64,
}

/// The status history of a page's components from `since` on, oldest first (ordered by time,
/// then by insertion), preceded by each component's last change before `since` (its status at
/// `since`).
pub(crate) async fn log_since(
    r: &mut Reads<'_>,
    page_id: &str,
    since: DateTime<Utc>,
) -> Result<Vec<StatusLogEntry>> {
    let rows: Vec<LogRow> = r
        .fetch_all(
            "SELECT component_id, status, at FROM ( \
               SELECT l.component_id, l.status, l.at, l.id FROM component_status_log l \
               WHERE l.page_id = $1 AND l.at < $2 AND NOT EXISTS ( \
                 SELECT 1 FROM component_status_log m WHERE m.component_id = l.component_id \
                 AND m.at < $2 AND (m.at > l.at OR (m.at = l.at AND m.id > l.id))) \
               UNION ALL \
               SELECT component_id, status, at, id FROM component_status_log \
               WHERE page_id = $1 AND at >= $2 \
             ) x ORDER BY at, id",
            args![page_id, since],
        )
        .await?;
    entries(rows)
}

/// The rows of a page's status history written by the page's versions after `from` up to
/// `to`, in the order they were written.
pub(crate) async fn log_after(
    r: &mut Reads<'_>,
    page_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<StatusLogEntry>> {
    let rows: Vec<LogRow> = r
        .fetch_all(
            "SELECT component_id, status, at FROM component_status_log \
             WHERE page_id = $1 AND version > $2 AND version <= $3 ORDER BY at, id",
            args![page_id, from, to],
        )
        .await?;
    entries(rows)
}

fn entries(rows: Vec<LogRow>) -> Result<Vec<StatusLogEntry>> {
    rows.into_iter()
        .map(|r| {
            Ok(StatusLogEntry {
                status: r.status.parse().map_err(|()| {
                    StoreError::Internal(format!(
                        "status log of {} has status {:?}",
                        r.component_id, r.status
                    ))
                })?,
                component_id: r.component_id,
                at: from_ms(r.at),
            })
        })
        .collect()
}

impl Store {
    /// The status history of a page's components from `since` on, oldest first (ordered by
    /// time, then by insertion), preceded by each component's last change before `since` (its
    /// status at `since`). The source of uptime.
    pub async fn status_log(
        &self,
        page_id: &PageId,
        since: DateTime<Utc>,
    ) -> Result<Vec<StatusLogEntry>> {
        log_since(&mut Reads::Pools(&self.db), page_id.as_str(), since).await
    }
}
