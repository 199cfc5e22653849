//! Heartbeats and checks in the database: pings, the checks that are due, and their
//! results, each one write that may move the check's component.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::automation::checks::CheckConfig;
use herald_domain::automation::{Integration, IntegrationKind, Outcome};
use herald_domain::id::PageId;
use herald_domain::status::ComponentStatus;

use super::apply::{apply_wishes, load_ctx};
use super::{COLUMNS, IntegrationRow, integration_tx, to_json, wish};
use crate::db::args;
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

/// When a new check is first due: a heartbeat after its interval and grace, a check at once.
pub(crate) fn first_due(
    kind: IntegrationKind,
    c: &CheckConfig,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    if kind == IntegrationKind::Heartbeat {
        c.heartbeat_deadline(now)
    } else {
        now
    }
}

/// A check's result as the reconciler hands it over.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// `Err` says why the check failed.
    pub outcome: std::result::Result<(), String>,
    /// When it runs next.
    pub next_due: DateTime<Utc>,
}

impl Store {
    /// A heartbeat's ping: the check is alive until its next deadline; a heartbeat that was
    /// down comes back (its component to operational).
    pub async fn ping_heartbeat(
        &self,
        page_id: &PageId,
        id: &str,
        ip: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let actor = Actor::integration(id, ip);
        let mut w = Write::on_page(self, page_id, &actor, now).await?;
        w.touch(Touched::Nothing);
        let integ = integration_tx(&mut w.tx, id).await?;
        let Some(cfg) = integ
            .config
            .check
            .clone()
            .filter(|_| integ.kind == IntegrationKind::Heartbeat)
        else {
            return Err(StoreError::NotFound);
        };
        let next = cfg.heartbeat_deadline(w.now);
        let out = record(&mut w, &integ, &cfg, Ok(()), next, "heartbeat received").await?;
        w.tx.execute(
            "UPDATE integrations SET requests = requests + 1, last_request_at = $2 WHERE id = $1",
            args![id, w.now],
        )
        .await?;
        w.commit().await?;
        Ok(out)
    }

    /// Heartbeats and checks due by `now`.
    pub async fn due_checks(&self, now: DateTime<Utc>) -> Result<Vec<Integration>> {
        let rows: Vec<IntegrationRow> = self
            .db
            .read(
                sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM integrations WHERE check_due_at <= $1 ORDER BY check_due_at LIMIT 1000"
                )),
                args![now],
            )
            .await?;
        rows.into_iter()
            .map(IntegrationRow::into_integration)
            .collect()
    }

    /// Records one run of check `id` (a missed heartbeat is a failed run).
    pub async fn record_check(
        &self,
        page_id: &PageId,
        id: &str,
        result: CheckResult,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let actor = Actor::integration(id, None);
        let mut w = Write::on_page(self, page_id, &actor, now).await?;
        w.touch(Touched::Nothing);
        let integ = integration_tx(&mut w.tx, id).await?;
        let Some(cfg) = integ.config.check.clone() else {
            return Err(StoreError::NotFound);
        };
        let out = record(
            &mut w,
            &integ,
            &cfg,
            result.outcome,
            result.next_due,
            "check passing again",
        )
        .await?;
        w.commit().await?;
        Ok(out)
    }
}

async fn record(
    w: &mut Write<'_>,
    integ: &Integration,
    cfg: &CheckConfig,
    outcome: std::result::Result<(), String>,
    next_due: DateTime<Utc>,
    recovered: &str,
) -> Result<Outcome> {
    let mut state = integ.check_state.clone();
    let flip = state.record(cfg, outcome, w.now);
    w.tx.execute(
        "UPDATE integrations SET check_state = $2, check_due_at = $3 WHERE id = $1",
        args![&integ.id, to_json(&state)?, next_due],
    )
    .await?;
    let mut out = Outcome::default();
    if let Some(up) = flip {
        let (status, reason) = if up {
            (
                ComponentStatus::Operational,
                format!("{}: {recovered}", integ.name),
            )
        } else {
            (
                cfg.down_status,
                format!(
                    "{}: {}",
                    integ.name,
                    state.last_error.as_deref().unwrap_or("failing")
                ),
            )
        };
        let mut ctx = load_ctx(w, &integ.page_id).await?;
        let mut wish = wish(status, &integ.id, reason);
        wish.incident.clone_from(&integ.config.incident);
        let window = TimeDelta::seconds(i64::from(integ.config.flap_window_seconds));
        apply_wishes(
            w,
            &mut ctx,
            vec![(cfg.component_id.clone(), wish)],
            window,
            &mut out,
        )
        .await?;
    }
    Ok(out)
}
