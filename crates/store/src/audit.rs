//! Reading the audit log. Entries are written by every write (see `write.rs`); nothing
//! updates or deletes them.

use chrono::{DateTime, Utc};
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;

use crate::columns::cols;
use crate::db::SqlBuilder;
use crate::{Result, Store};

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub page_id: Option<String>,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// `{"field": [old, new], ...}`.
    pub changes: serde_json::Value,
    pub source_ip: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    page_id: Option<String>,
    actor_type: String,
    actor_id: String,
    action: String,
    target_type: String,
    target_id: String,
    changes: String,
    source_ip: Option<String>,
}

impl Store {
    /// The newest audit entries, optionally for one page only.
    pub async fn list_audit(
        &self,
        page_id: Option<&PageId>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let mut sql = SqlBuilder::new(concat!("SELECT ", cols!(audit_log), " FROM audit_log"));
        if let Some(p) = page_id {
            sql.push(" WHERE page_id = ").bind(p);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(limit.clamp(1, 10_000));
        let (text, args) = sql.finish();
        let rows: Vec<AuditRow> = self.db.read(text, args).await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: from_ms(r.at),
                page_id: r.page_id,
                actor_type: r.actor_type,
                actor_id: r.actor_id,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                changes: serde_json::from_str(&r.changes).unwrap_or_default(),
                source_ip: r.source_ip,
            })
            .collect())
    }
}
