//! What automation does to components, inside one write: every wish goes through
//! `decide` (repeat, change, held back by an open incident, deferred by the flap
//! window). A change goes through the same status write, status log, notification event and
//! audit entry as the components API's, or, when the wish opens an incident or the
//! component has one automation opened, through the incident (`incident.rs`).

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::automation::{Change, ComponentAutomation, Decision, Outcome, Wish, decide};
use herald_domain::clock::from_ms;
use herald_domain::component::Component;
use herald_domain::id::PageId;
use herald_domain::page::PageSettings;
use herald_domain::status::ComponentStatus;
use serde_json::json;
use std::collections::HashMap;

use crate::columns::cols;
use crate::components::{page_components_tx, record_component_event, set_status};
use crate::db::{One, args};
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

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
    incident_id: Option<String>,
    pending_incident: Option<String>,
}

fn wish_of(s: Option<String>, source: Option<String>, reason: Option<String>) -> Option<Wish> {
    Some(Wish {
        status: s?.parse().ok()?,
        source: source.unwrap_or_default(),
        reason: reason.unwrap_or_default(),
        incident: None,
    })
}

impl StateRow {
    pub(crate) fn into_state(self) -> ComponentAutomation {
        let mut pending = wish_of(
            self.pending_status,
            self.pending_source,
            self.pending_reason,
        );
        if let Some(p) = &mut pending {
            p.incident = self
                .pending_incident
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok());
        }
        ComponentAutomation {
            desired: self.desired.and_then(|d| d.parse().ok()),
            changed_at: self.changed_at.map(from_ms),
            changed_by: self.changed_by,
            changed_reason: self.changed_reason,
            pending,
            pending_due_at: self.pending_due_at.map(from_ms),
            incident_id: self.incident_id,
            held: wish_of(self.held_status, self.held_source, self.held_reason),
            held_at: self.held_at.map(from_ms),
            component_id: self.component_id,
        }
    }
}

/// The page as automation sees it inside a write.
pub(crate) struct Ctx {
    pub(crate) components: Vec<Component>,
    /// Per component, the open incidents and running maintenances that name it.
    pub(super) open: HashMap<String, Vec<String>>,
    overrides: bool,
}

impl Ctx {
    /// The incident automation opened for the component, if it is still open.
    pub(super) fn own_open(&self, st: &ComponentAutomation) -> Option<String> {
        let id = st.incident_id.as_ref()?;
        self.open
            .get(&st.component_id)
            .is_some_and(|l| l.contains(id))
            .then(|| id.clone())
    }

    /// Whether an open incident other than automation's own names the component and the
    /// page does not let automation override it: the people handling it decide.
    fn held(&self, st: &ComponentAutomation) -> bool {
        !self.overrides
            && self
                .open
                .get(&st.component_id)
                .is_some_and(|l| l.iter().any(|i| Some(i) != st.incident_id.as_ref()))
    }

    /// Whether any open incident names the component.
    pub(super) fn any_open(&self, component_id: &str) -> bool {
        self.open.get(component_id).is_some_and(|l| !l.is_empty())
    }
}

pub(crate) async fn load_ctx(w: &mut Write<'_>, page_id: &PageId) -> Result<Ctx> {
    let components = page_components_tx(&mut w.tx, page_id).await?;
    #[derive(sqlx::FromRow)]
    struct OpenRow {
        component_id: String,
        incident_id: String,
    }
    let rows: Vec<OpenRow> = w
        .tx
        .fetch_all(
            "SELECT ic.component_id, ic.incident_id FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
             WHERE i.page_id = $1 AND i.status IN ('investigating', 'identified', 'monitoring', 'in_progress', 'verifying')",
            args![page_id],
        )
        .await?;
    let mut open: HashMap<String, Vec<String>> = HashMap::new();
    for r in rows {
        open.entry(r.component_id).or_default().push(r.incident_id);
    }
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
        open,
        overrides: settings.automation_overrides_incidents,
    })
}

async fn load_state(w: &mut Write<'_>, component_id: &str) -> Result<ComponentAutomation> {
    let row: Option<StateRow> =
        w.tx.fetch_optional(
            concat!(
                "SELECT ",
                cols!(component_automation),
                " FROM component_automation WHERE component_id = $1"
            ),
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

async fn save_state(w: &mut Write<'_>, page_id: &PageId, s: &ComponentAutomation) -> Result<()> {
    let (p, h) = (s.pending.as_ref(), s.held.as_ref());
    w.tx.execute(
        "INSERT INTO component_automation (component_id, page_id, desired, changed_at, changed_by, changed_reason, \
           pending_status, pending_source, pending_reason, pending_due_at, held_status, held_source, held_reason, held_at, updated_at, \
           incident_id, pending_incident) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (component_id) DO UPDATE SET desired = excluded.desired, changed_at = excluded.changed_at, \
           changed_by = excluded.changed_by, changed_reason = excluded.changed_reason, pending_status = excluded.pending_status, \
           pending_source = excluded.pending_source, pending_reason = excluded.pending_reason, pending_due_at = excluded.pending_due_at, \
           held_status = excluded.held_status, held_source = excluded.held_source, held_reason = excluded.held_reason, \
           held_at = excluded.held_at, updated_at = excluded.updated_at, incident_id = excluded.incident_id, \
           pending_incident = excluded.pending_incident",
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
            w.now,
            s.incident_id.as_deref(),
            p.and_then(|p| p.incident.as_ref())
                .map(super::to_json)
                .transpose()?
        ],
    )
    .await?;
    Ok(())
}

pub(super) fn change(c: &Component, to: ComponentStatus, wish: &Wish) -> Change {
    Change {
        component_id: c.id.clone(),
        component: c.name.clone(),
        from: c.status,
        to,
        reason: wish.reason.clone(),
    }
}

/// Changes component `c` to `wish` now: status, log, notification event, audit.
pub(super) async fn make_change(
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

/// Carries out a decision that is neither a repeat nor deferred.
async fn settle(
    w: &mut Write<'_>,
    ctx: &mut Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    d: Decision,
    out: &mut Outcome,
) -> Result<()> {
    match d {
        Decision::Same => {
            st.pending = None;
            st.pending_due_at = None;
            // The component is operational already (a person set it): automation's own
            // incident is still resolved when the alerts are.
            if wish.status == ComponentStatus::Operational && ctx.own_open(st).is_some() {
                super::incident::carry_out(w, ctx, st, idx, wish, out).await?;
            }
            Ok(())
        }
        Decision::HeldBack => hold_back(w, ctx, st, idx, wish, out).await,
        _ => super::incident::carry_out(w, ctx, st, idx, wish, out).await,
    }
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
        // Automation's incident was resolved by a person: it is no longer automation's.
        let forgot = st.incident_id.is_some() && ctx.own_open(&st).is_none();
        if forgot {
            st.incident_id = None;
        }
        let current = ctx.components[idx].status;
        let d = decide(&st, current, wish.status, ctx.held(&st), flap_window, w.now);
        if d == Decision::Repeat {
            if forgot {
                save_state(w, &page_id, &st).await?;
            }
            continue;
        }
        st.desired = Some(wish.status);
        match d {
            Decision::Repeat => {}
            Decision::Deferred { due } => {
                out.deferred
                    .push(change(&ctx.components[idx], wish.status, &wish));
                st.pending = Some(wish);
                st.pending_due_at = Some(due);
            }
            d => settle(w, ctx, &mut st, idx, &wish, d, out).await?,
        }
        save_state(w, &page_id, &st).await?;
    }
    Ok(())
}

impl Store {
    pub async fn apply_due_automation(&self, now: DateTime<Utc>) -> Result<Vec<PageId>> {
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
            let page_id = PageId::from(d.page_id);
            let actor =
                Actor::integration(d.pending_source.as_deref().unwrap_or("automation"), None);
            let mut w = Write::on_page(self, &page_id, &actor, now).await?;
            w.touch(Touched::Nothing);
            let mut ctx = load_ctx(&mut w, &page_id).await?;
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
            if st.incident_id.is_some() && ctx.own_open(&st).is_none() {
                st.incident_id = None;
            }
            let decision = if wish.status == ctx.components[idx].status {
                Decision::Same
            } else if ctx.held(&st) {
                Decision::HeldBack
            } else {
                Decision::Change
            };
            settle(&mut w, &mut ctx, &mut st, idx, &wish, decision, &mut out).await?;
            save_state(&mut w, &page_id, &st).await?;
            w.commit().await?;
            if out.page_changed() {
                pages.push(page_id);
            }
        }
        Ok(pages)
    }
}
