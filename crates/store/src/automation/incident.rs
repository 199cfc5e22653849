//! Automation's incidents, inside the write that moves the component. A change away from
//! operational whose wish carries an incident rule, on a component no open incident names,
//! opens an incident from the rule's template (`publish: false`: only an
//! `automation.incident_draft` audit entry records what would have been opened, since herald
//! has no unpublished incidents). While that incident is open, automation's later changes of
//! the component are posted to it as updates, and the change back to operational resolves
//! it, once. All of it goes through the incident API's own write
//! (`incidents::apply_change`): the component is moved by the incident, and subscribers hear
//! of it through the incident's notifications only, never also as a bare component change.

use std::collections::BTreeMap;

use herald_domain::automation::{ComponentAutomation, IncidentAction, Outcome, Wish};
use herald_domain::id::IncidentId;
use herald_domain::incident::{IncidentInput, plan_create, plan_update};
use herald_domain::status::{ComponentStatus, IncidentStatus};
use herald_domain::template::Template;
use serde_json::json;

use super::apply::{Ctx, change, make_change};
use crate::Result;
use crate::db::{One, args};
use crate::incidents::{apply_change, load_tx};
use crate::templates::template_tx;
use crate::write::Write;

/// Carries out a change of component `idx` to `wish`, through automation's incident when
/// there is (or should be) one, else as a plain component change.
pub(super) async fn carry_out(
    w: &mut Write<'_>,
    ctx: &mut Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    out: &mut Outcome,
) -> Result<()> {
    if let Some(id) = ctx.own_open(st) {
        return post_update(w, ctx, st, idx, wish, &id, out).await;
    }
    let (cid, page_id) = (
        ctx.components[idx].id.clone(),
        ctx.components[idx].page_id.clone(),
    );
    let rule = wish
        .incident
        .as_ref()
        .filter(|_| wish.status != ComponentStatus::Operational && !ctx.any_open(&cid));
    let Some(rule) = rule else {
        return make_change(w, ctx, st, idx, wish, out).await;
    };
    let template = template_tx(&mut w.tx, page_id.as_str(), &rule.template_id).await?;
    match template {
        Some(t) if rule.publish => open(w, ctx, st, idx, wish, &t, out).await,
        Some(t) => {
            make_change(w, ctx, st, idx, wish, out).await?;
            w.audit(
                Some(&page_id),
                "automation.incident_draft",
                "component",
                &cid,
                json!({"incident": [null, {"template_id": t.id, "name": t.title, "body": t.body,
                        "components": {cid.as_str(): wish.status.as_str()}, "reason": wish.reason}]}),
            )
            .await?;
            out.incidents.push(IncidentAction {
                action: "draft",
                incident_id: None,
                component_id: cid,
                template_id: Some(t.id),
            });
            Ok(())
        }
        None => {
            // The template was deleted after the rule named it: the change still happens.
            make_change(w, ctx, st, idx, wish, out).await?;
            w.audit(
                Some(&page_id),
                "automation.incident_skipped",
                "component",
                &cid,
                json!({"template_id": [null, rule.template_id], "reason": [null, "the incident template no longer exists"]}),
            )
            .await
        }
    }
}

/// Opens an incident from `t` with the component at the wish's status.
async fn open(
    w: &mut Write<'_>,
    ctx: &mut Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    t: &Template,
    out: &mut Outcome,
) -> Result<()> {
    let c = ctx.components[idx].clone();
    let page = w.page()?;
    let status = t
        .update_status
        .filter(|s| {
            matches!(
                s,
                IncidentStatus::Investigating
                    | IncidentStatus::Identified
                    | IncidentStatus::Monitoring
            )
        })
        .unwrap_or(IncidentStatus::Investigating);
    let body = if t.body.is_empty() {
        wish.reason.clone()
    } else {
        t.body.clone()
    };
    let input = IncidentInput {
        name: Some(t.title.clone()),
        status: Some(status),
        body: Some(body),
        component_ids: Some(vec![c.id.clone()]),
        components: Some(BTreeMap::from([(c.id.clone(), wish.status)])),
        deliver_notifications: Some(t.should_send_notifications),
        metadata: Some(json!({"herald": {"integration_id": wish.source, "template_id": t.id}})),
        ..Default::default()
    };
    let plan = plan_create(&input, &c.page_id, &ctx.components, w.now, page.zone)?;
    apply_change(w, &ctx.components, None, &plan).await?;
    let id = plan.incident.id.clone();
    moved(ctx, st, idx, wish, out, w.now);
    ctx.open.entry(c.id.clone()).or_default().push(id.clone());
    st.incident_id = Some(id.clone());
    out.incidents.push(IncidentAction {
        action: "opened",
        incident_id: Some(id),
        component_id: c.id,
        template_id: Some(t.id.clone()),
    });
    Ok(())
}

/// Posts the wish to automation's open incident `id`: back to operational resolves it.
async fn post_update(
    w: &mut Write<'_>,
    ctx: &mut Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    id: &str,
    out: &mut Outcome,
) -> Result<()> {
    let c = ctx.components[idx].clone();
    let page = w.page()?;
    let current = load_tx(&mut w.tx, &c.page_id, &IncidentId::from(id)).await?;
    // Told as the incident's opening was (a template may open it without notifications).
    let first: Option<One<bool>> = w
        .tx
        .fetch_optional(
            "SELECT deliver_notifications AS v FROM incident_updates WHERE incident_id = $1 ORDER BY seq LIMIT 1",
            args![id],
        )
        .await?;
    let resolve = wish.status == ComponentStatus::Operational;
    let input = IncidentInput {
        status: resolve.then_some(IncidentStatus::Resolved),
        body: Some(if resolve {
            format!("Resolved: {}.", wish.reason)
        } else {
            wish.reason.clone()
        }),
        components: Some(BTreeMap::from([(c.id.clone(), wish.status)])),
        deliver_notifications: Some(first.is_none_or(|f| f.v)),
        ..Default::default()
    };
    let plan = plan_update(&current, &input, &ctx.components, w.now, page.zone)?;
    apply_change(w, &ctx.components, Some(&current), &plan).await?;
    if c.status != wish.status {
        moved(ctx, st, idx, wish, out, w.now);
    }
    if resolve {
        if let Some(l) = ctx.open.get_mut(&c.id) {
            l.retain(|i| i != id);
        }
        st.incident_id = None;
    }
    out.incidents.push(IncidentAction {
        action: if resolve { "resolved" } else { "updated" },
        incident_id: Some(id.to_owned()),
        component_id: c.id,
        template_id: None,
    });
    Ok(())
}

/// Records that the incident moved the component as automation wished.
fn moved(
    ctx: &mut Ctx,
    st: &mut ComponentAutomation,
    idx: usize,
    wish: &Wish,
    out: &mut Outcome,
    now: chrono::DateTime<chrono::Utc>,
) {
    out.changed
        .push(change(&ctx.components[idx], wish.status, wish));
    ctx.components[idx].status = wish.status;
    st.changed_at = Some(now);
    st.changed_by = Some(wish.source.clone());
    st.changed_reason = Some(wish.reason.clone());
    st.pending = None;
    st.pending_due_at = None;
}
