//! What automation does to components, inside one write: alerts become per-alert state,
//! each touched component's wish is the worst status still firing, and every wish goes
//! through `decide` (repeat, change, held back by an open incident, deferred by the flap
//! window). A change goes through the same status write, status log, notification event and
//! audit entry as the components API's.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::automation::alerts::{
    AlertState, AlertmanagerPayload, WebhookItem, map_alert, transition,
};
use herald_domain::automation::{
    Change, ComponentAutomation, Decision, Outcome, Wish, decide, find_component,
};
use herald_domain::clock::from_ms;
use herald_domain::component::Component;
use herald_domain::page::PageSettings;
use herald_domain::status::ComponentStatus;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{integration_tx, wish};
use crate::components::{page_components_tx, record_component_event, set_status};
use crate::db::{One, SqlBuilder, args};
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

/// Rows per multi-row statement (10 parameters each: well under both backends' limits).
const BATCH: usize = 500;

#[derive(sqlx::FromRow)]
pub(crate) struct StateRow {
    component_id: String,
    desired: Option<String>,
    changed_at: Option<i64>,
    changed_by: Option<String>,
    changed_reason: Option<String>,
    pending_status: Option<String>,
    pending_source: Option<String>,
    pending_reason: Option<String>,
    pending_due_at: Option<i64>,
    held_status: Option<String>,
    held_source: Option<String>,
    held_reason: Option<String>,
    held_at: Option<i64>,
}

fn wish_of(s: Option<String>, source: Option<String>, reason: Option<String>) -> Option<Wish> {
    Some(Wish {
        status: s?.parse().ok()?,
        source: source.unwrap_or_default(),
        reason: reason.unwrap_or_default(),
    })
}

impl StateRow {
    pub(crate) fn into_state(self) -> ComponentAutomation {
        ComponentAutomation {
            desired: self.desired.and_then(|d| d.parse().ok()),
            changed_at: self.changed_at.map(from_ms),
            changed_by: self.changed_by,
            changed_reason: self.changed_reason,
            pending: wish_of(
                self.pending_status,
                self.pending_source,
                self.pending_reason,
            ),
            pending_due_at: self.pending_due_at.map(from_ms),
            held: wish_of(self.held_status, self.held_source, self.held_reason),
            held_at: self.held_at.map(from_ms),
            component_id: self.component_id,
        }
    }
}

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

/// The page as automation sees it inside a write.
pub(crate) struct Ctx {
    components: Vec<Component>,
    /// Components an open incident or running maintenance names.
    open: HashSet<String>,
    overrides: bool,
}

pub(crate) async fn load_ctx(w: &mut Write<'_>, page_id: &str) -> Result<Ctx> {
    let components = page_components_tx(&mut w.tx, page_id).await?;
    let open: Vec<One<String>> = w
        .tx
        .fetch_all(
            "SELECT DISTINCT ic.component_id AS v FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
             WHERE i.page_id = $1 AND i.status IN ('investigating', 'identified', 'monitoring', 'in_progress', 'verifying')",
            args![page_id],
        )
        .await?;
    let settings: One<String> =
        w.tx.fetch_one(
            "SELECT settings AS v FROM pages WHERE id = $1",
            args![page_id],
        )
        .await?;
    let settings: PageSettings = serde_json::from_str(&settings.v)
        .map_err(|e| StoreError::Internal(format!("page {page_id} settings: {e}")))?;
    Ok(Ctx {
        components,
        open: open.into_iter().map(|o| o.v).collect(),
        overrides: settings.automation_overrides_incidents,
    })
}

async fn load_state(w: &mut Write<'_>, component_id: &str) -> Result<ComponentAutomation> {
    let row: Option<StateRow> =
        w.tx.fetch_optional(
            "SELECT * FROM component_automation WHERE component_id = $1",
            args![component_id],
        )
        .await?;
    Ok(row
        .map(StateRow::into_state)
        .unwrap_or_else(|| ComponentAutomation {
            component_id: component_id.to_owned(),
            ..Default::default()
        }))
}

async fn save_state(w: &mut Write<'_>, page_id: &str, s: &ComponentAutomation) -> Result<()> {
    let (p, h) = (s.pending.as_ref(), s.held.as_ref());
    w.tx.execute(
        "INSERT INTO component_automation (component_id, page_id, desired, changed_at, changed_by, changed_reason, \
           pending_status, pending_source, pending_reason, pending_due_at, held_status, held_source, held_reason, held_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (component_id) DO UPDATE SET desired = excluded.desired, changed_at = excluded.changed_at, \
           changed_by = excluded.changed_by, changed_reason = excluded.changed_reason, pending_status = excluded.pending_status, \
           pending_source = excluded.pending_source, pending_reason = excluded.pending_reason, pending_due_at = excluded.pending_due_at, \
           held_status = excluded.held_status, held_source = excluded.held_source, held_reason = excluded.held_reason, \
           held_at = excluded.held_at, updated_at = excluded.updated_at",
        args![
            &s.component_id,
            page_id,
            s.desired.map(ComponentStatus::as_str),
            s.changed_at,
            s.changed_by.as_deref(),
            s.changed_reason.as_deref(),
            p.map(|p| p.status.as_str()),
            p.map(|p| p.source.as_str()),
            p.map(|p| p.reason.as_str()),
            s.pending_due_at,
            h.map(|h| h.status.as_str()),
            h.map(|h| h.source.as_str()),
            h.map(|h| h.reason.as_str()),
            s.held_at,
            w.now
        ],
    )
    .await?;
    Ok(())
}

fn change(c: &Component, to: ComponentStatus, wish: &Wish) -> Change {
    Change {
        component_id: c.id.clone(),
        component: c.name.clone(),
        from: c.status,
        to,
        reason: wish.reason.clone(),
    }
}

/// Changes component `c` to `wish` now: status, log, notification event, audit.
async fn make_change(
    w: &mut Write<'_>,
    ctx: &mut Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    out: &mut Outcome,
) -> Result<()> {
    let c = ctx.components[idx].clone();
    set_status(w, &c, wish.status).await?;
    record_component_event(w, &c.page_id, &c.id, c.status, wish.status).await?;
    w.audit(
        Some(&c.page_id),
        "component.update",
        "component",
        &c.id,
        json!({"status": [c.status.as_str(), wish.status.as_str()], "reason": [null, wish.reason]}),
    )
    .await?;
    st.changed_at = Some(w.now);
    st.changed_by = Some(wish.source.clone());
    st.changed_reason = Some(wish.reason.clone());
    st.pending = None;
    st.pending_due_at = None;
    out.changed.push(change(&c, wish.status, wish));
    ctx.components[idx].status = wish.status;
    Ok(())
}

async fn hold_back(
    w: &mut Write<'_>,
    ctx: &Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    out: &mut Outcome,
) -> Result<()> {
    let c = &ctx.components[idx];
    w.audit(
        Some(&c.page_id),
        "automation.held_back",
        "component",
        &c.id,
        json!({"status": [c.status.as_str(), wish.status.as_str()], "reason": [null, format!("{} (held back: an open incident names this component)", wish.reason)]}),
    )
    .await?;
    st.held = Some(wish.clone());
    st.held_at = Some(w.now);
    st.pending = None;
    st.pending_due_at = None;
    out.held_back.push(change(c, wish.status, wish));
    Ok(())
}

/// Applies wishes (component id, wish) with `flap_window`.
pub(crate) async fn apply_wishes(
    w: &mut Write<'_>,
    ctx: &mut Ctx,
    wishes: Vec<(String, Wish)>,
    flap_window: TimeDelta,
    out: &mut Outcome,
) -> Result<()> {
    for (cid, wish) in wishes {
        let Some(idx) = ctx
            .components
            .iter()
            .position(|c| c.id == cid && !c.is_group)
        else {
            continue;
        };
        let page_id = ctx.components[idx].page_id.clone();
        let mut st = load_state(w, &cid).await?;
        let current = ctx.components[idx].status;
        let incident = ctx.open.contains(&cid) && !ctx.overrides;
        let d = decide(&st, current, wish.status, incident, flap_window, w.now);
        if d == Decision::Repeat {
            continue;
        }
        st.desired = Some(wish.status);
        match d {
            Decision::Repeat => {}
            Decision::Same => {
                st.pending = None;
                st.pending_due_at = None;
            }
            Decision::HeldBack => hold_back(w, ctx, &mut st, idx, &wish, out).await?,
            Decision::Deferred { due } => {
                out.deferred
                    .push(change(&ctx.components[idx], wish.status, &wish));
                st.pending = Some(wish);
                st.pending_due_at = Some(due);
            }
            Decision::Change => make_change(w, ctx, &mut st, idx, &wish, out).await?,
        }
        save_state(w, &page_id, &st).await?;
    }
    Ok(())
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
        page_id: &str,
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
        upsert_alerts(&mut w, id, page_id, &changed).await?;
        let wishes = alert_wishes(&mut w, page_id, id, &touched).await?;
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
        page_id: &str,
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
            wishes.push((c.id.clone(), wish(item.status, id, reason)));
        }
        let mut out = Outcome::default();
        let window = TimeDelta::seconds(i64::from(integ.config.flap_window_seconds));
        apply_wishes(&mut w, &mut ctx, wishes, window, &mut out).await?;
        count_request(&mut w, id).await?;
        w.commit().await?;
        Ok(out)
    }

    /// Applies the changes whose flap window has ended, as of `now`; returns the pages
    /// whose components changed.
    pub async fn apply_due_automation(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        #[derive(sqlx::FromRow)]
        struct Due {
            component_id: String,
            page_id: String,
            pending_source: Option<String>,
        }
        let due: Vec<Due> = self
            .db
            .read(
                "SELECT component_id, page_id, pending_source FROM component_automation WHERE pending_due_at <= $1",
                args![now],
            )
            .await?;
        let mut pages = Vec::new();
        for d in due {
            let actor =
                Actor::integration(d.pending_source.as_deref().unwrap_or("automation"), None);
            let mut w = Write::on_page(self, &d.page_id, &actor, now).await?;
            w.touch(Touched::Nothing);
            let mut ctx = load_ctx(&mut w, &d.page_id).await?;
            let mut st = load_state(&mut w, &d.component_id).await?;
            let (Some(wish), Some(at)) = (st.pending.clone(), st.pending_due_at) else {
                continue;
            };
            if at > w.now {
                continue;
            }
            let Some(idx) = ctx.components.iter().position(|c| c.id == d.component_id) else {
                continue;
            };
            let mut out = Outcome::default();
            st.pending = None;
            st.pending_due_at = None;
            let c = &ctx.components[idx];
            if wish.status == c.status {
            } else if ctx.open.contains(&c.id) && !ctx.overrides {
                hold_back(&mut w, &ctx, &mut st, idx, &wish, &mut out).await?;
            } else {
                make_change(&mut w, &mut ctx, &mut st, idx, &wish, &mut out).await?;
            }
            save_state(&mut w, &d.page_id, &st).await?;
            w.commit().await?;
            if out.page_changed() {
                pages.push(d.page_id);
            }
        }
        Ok(pages)
    }
}
