//! Alerts and webhook items arriving for an integration, in one write each: alert states
//! upserted in multi-row statements, each touched component's wish derived from the alerts
//! still firing, then `apply_wishes`.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::automation::alerts::{
    AlertState, AlertmanagerPayload, WebhookItem, map_alert, transition,
};
use herald_domain::automation::{Outcome, Wish, find_component};
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use herald_domain::status::ComponentStatus;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::apply::{apply_wishes, load_ctx};
use super::{integration_tx, wish};
use crate::db::{SqlBuilder, args};
use crate::write::{Touched, Write};
use crate::{Result, Store};

/// Rows per multi-row statement (10 parameters each: well under both backends' limits).
const BATCH: usize = 500;

#[derive(sqlx::FromRow)]
struct AlertRow {
    fingerprint: String,
    component_id: String,
    name: String,
    status: String,
    firing: bool,
    starts_at: i64,
    ends_at: Option<i64>,
}

async fn count_request(w: &mut Write<'_>, integration_id: &str) -> Result<()> {
    w.tx.execute(
        "UPDATE integrations SET requests = requests + 1, last_request_at = $2 WHERE id = $1",
        args![integration_id, w.now],
    )
    .await?;
    Ok(())
}

async fn upsert_alerts(
    w: &mut Write<'_>,
    integration_id: &str,
    page_id: &str,
    states: &[AlertState],
) -> Result<()> {
    for chunk in states.chunks(BATCH) {
        let mut sql = SqlBuilder::new(
            "INSERT INTO integration_alerts (integration_id, fingerprint, page_id, component_id, name, status, firing, starts_at, ends_at, updated_at) VALUES ",
        );
        for (n, s) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .bind(integration_id)
                .push(", ")
                .bind(&s.fingerprint)
                .push(", ")
                .bind(page_id)
                .push(", ")
                .bind(&s.component_id)
                .push(", ")
                .bind(&s.name)
                .push(", ")
                .bind(s.status.as_str())
                .push(", ")
                .bind(s.firing)
                .push(", ")
                .bind(s.starts_at)
                .push(", ")
                .bind(s.ends_at)
                .push(", ")
                .bind(w.now)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (integration_id, fingerprint) DO UPDATE SET page_id = excluded.page_id, \
             component_id = excluded.component_id, name = excluded.name, status = excluded.status, \
             firing = excluded.firing, starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
             updated_at = excluded.updated_at",
        );
        let (text, a) = sql.finish();
        w.tx.execute(text, a).await?;
    }
    Ok(())
}

/// Each touched component's wish: the worst status its firing alerts (of any integration
/// of the page) ask for, or operational.
async fn alert_wishes(
    w: &mut Write<'_>,
    page_id: &str,
    source: &str,
    touched: &BTreeSet<String>,
) -> Result<Vec<(String, Wish)>> {
    let mut firing: BTreeMap<String, Vec<(ComponentStatus, String)>> = BTreeMap::new();
    let ids: Vec<&String> = touched.iter().collect();
    for chunk in ids.chunks(BATCH) {
        let mut sql = SqlBuilder::new(
            "SELECT fingerprint, component_id, name, status, firing, starts_at, ends_at FROM integration_alerts WHERE page_id = ",
        );
        sql.bind(page_id)
            .push(" AND firing AND component_id IN ")
            .bind_list(chunk.iter().map(|s| s.as_str()));
        let (text, a) = sql.finish();
        let rows: Vec<AlertRow> = w.tx.fetch_all(text, a).await?;
        for r in rows {
            let status = r.status.parse().unwrap_or(ComponentStatus::MajorOutage);
            firing
                .entry(r.component_id)
                .or_default()
                .push((status, r.name));
        }
    }
    Ok(touched
        .iter()
        .map(|cid| {
            let (status, reason) = match firing.get(cid) {
                Some(list) => {
                    let worst = ComponentStatus::worst(list.iter().map(|(s, _)| *s));
                    let names: BTreeSet<&str> = list
                        .iter()
                        .filter(|(s, _)| *s == worst)
                        .map(|(_, n)| n.as_str())
                        .collect();
                    let names: Vec<&str> = names.into_iter().take(5).collect();
                    (worst, format!("alert {} firing", names.join(", ")))
                }
                None => (
                    ComponentStatus::Operational,
                    "every alert resolved".to_owned(),
                ),
            };
            (cid.clone(), wish(status, source, reason))
        })
        .collect())
}

impl Store {
    /// Takes an Alertmanager payload for integration `id`, in one transaction: stores each
    /// alert's state (duplicates, repeats and stale copies change nothing) and moves the
    /// components whose wish changed. A payload naming an unknown component or status is
    /// refused whole (422), with nothing changed.
    pub async fn receive_alerts(
        &self,
        page_id: &PageId,
        id: &str,
        payload: &AlertmanagerPayload,
        ip: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let actor = Actor::integration(id, ip);
        let mut w = Write::on_page(self, page_id, &actor, now).await?;
        w.touch(Touched::Nothing);
        let integ = integration_tx(&mut w.tx, id).await?;
        let mut ctx = load_ctx(&mut w, page_id).await?;
        let mut out = Outcome::default();
        let mut mapped = Vec::with_capacity(payload.alerts.len());
        for (i, a) in payload.alerts.iter().enumerate() {
            match map_alert(i, a, &integ.config.rules, &ctx.components, w.now)? {
                Some(m) => mapped.push(m),
                None => out.ignored += 1,
            }
        }
        let rows: Vec<AlertRow> = w
            .tx
            .fetch_all(
                "SELECT fingerprint, component_id, name, status, firing, starts_at, ends_at FROM integration_alerts WHERE integration_id = $1",
                args![id],
            )
            .await?;
        let mut states: HashMap<String, AlertState> = rows
            .into_iter()
            .map(|r| {
                let s = AlertState {
                    status: r.status.parse().unwrap_or(ComponentStatus::MajorOutage),
                    component_id: r.component_id,
                    firing: r.firing,
                    starts_at: from_ms(r.starts_at),
                    ends_at: r.ends_at.map(from_ms),
                    name: r.name,
                    fingerprint: r.fingerprint,
                };
                (s.fingerprint.clone(), s)
            })
            .collect();
        let mut changed: BTreeMap<String, AlertState> = BTreeMap::new();
        let mut touched = BTreeSet::new();
        for m in &mapped {
            if let Some(next) = transition(states.get(&m.fingerprint), m) {
                if let Some(old) = states.get(&m.fingerprint) {
                    touched.insert(old.component_id.clone());
                }
                touched.insert(next.component_id.clone());
                changed.insert(next.fingerprint.clone(), next.clone());
                states.insert(next.fingerprint.clone(), next);
            }
        }
        out.alerts_updated = changed.len();
        let changed: Vec<AlertState> = changed.into_values().collect();
        upsert_alerts(&mut w, id, page_id.as_str(), &changed).await?;
        let mut wishes = alert_wishes(&mut w, page_id.as_str(), id, &touched).await?;
        // The incident a wish may open: that of the rule of an alert of this payload firing
        // on the component, else the integration's.
        for (cid, wish) in &mut wishes {
            wish.incident = mapped
                .iter()
                .filter(|m| m.firing && m.component_id == *cid)
                .find_map(|m| m.incident.clone())
                .or_else(|| integ.config.incident.clone());
        }
        let window = TimeDelta::seconds(i64::from(integ.config.flap_window_seconds));
        apply_wishes(&mut w, &mut ctx, wishes, window, &mut out).await?;
        count_request(&mut w, id).await?;
        w.commit().await?;
        Ok(out)
    }

    /// Takes the generic webhook's items for integration `id`: each sets its component's
    /// wish. An unknown component is refused whole (422 naming the item), nothing changed.
    pub async fn receive_webhook(
        &self,
        page_id: &PageId,
        id: &str,
        items: &[WebhookItem],
        single: bool,
        ip: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let actor = Actor::integration(id, ip);
        let mut w = Write::on_page(self, page_id, &actor, now).await?;
        w.touch(Touched::Nothing);
        let integ = integration_tx(&mut w.tx, id).await?;
        let mut ctx = load_ctx(&mut w, page_id).await?;
        let mut wishes = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = if single {
                "component".to_owned()
            } else {
                format!("[{i}].component")
            };
            let c = find_component(&ctx.components, &item.component).ok_or_else(|| {
                Invalid::new(
                    field.clone(),
                    format!("{field}: no component {:?} on this page", item.component),
                )
            })?;
            let reason = match item.message.as_deref().map(str::trim) {
                Some(m) if !m.is_empty() => m.chars().take(500).collect(),
                _ => format!("webhook {}", integ.name),
            };
            let mut wish = wish(item.status, id, reason);
            wish.incident.clone_from(&integ.config.incident);
            wishes.push((c.id.clone(), wish));
        }
        let mut out = Outcome::default();
        let window = TimeDelta::seconds(i64::from(integ.config.flap_window_seconds));
        apply_wishes(&mut w, &mut ctx, wishes, window, &mut out).await?;
        count_request(&mut w, id).await?;
        w.commit().await?;
        Ok(out)
    }
}
