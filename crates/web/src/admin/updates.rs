//! Posting updates (resolving is one) and the postmortem.

use axum::extract::{Path, State};
use herald_domain::Invalid;
use herald_domain::id::IncidentId;
use herald_domain::incident::{
    IncidentInput, PostmortemInput, plan_update, publish_postmortem, save_postmortem_draft,
};
use herald_domain::status::IncidentStatus;
use herald_domain::user::Role;

use super::form::FormState;
use super::incident_view::{incident_view, load_incident};
use super::incidents::{components, page_for, picked};
use super::session::Posted;
use super::{form_page, see_other};
use crate::error::PageResult;
use crate::state::AppState;

/// Posts an update in one step: status, message and component changes. A form rendered
/// before someone else's change (another tab, a colleague) is refused, not merged.
pub(super) async fn post_update(
    State(app): State<AppState>,
    Path((page_id, incident_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    let page = page_for(&app, &p.who, &page_id, Role::IncidentManager).await?;
    let comps = components(&app, &page).await?;
    let fields = &p.fields;
    let mut f = FormState::new(fields.clone());
    let changes = picked(fields, &comps, &mut f);
    let version: i64 = fields.get("version").parse().unwrap_or(-1);
    let mut input = IncidentInput {
        body: Some(fields.get("body").to_owned()),
        deliver_notifications: Some(fields.checked("notify")),
        ..IncidentInput::default()
    };
    match fields.get("status").parse::<IncidentStatus>() {
        Ok(s) => input.status = Some(s),
        Err(()) => f.add("status", "Choose a status."),
    }
    if !changes.is_empty() {
        input.components = Some(changes);
    }
    if !f.has_errors() {
        let result = app
            .store()
            .update_incident(
                &page.id,
                &IncidentId::from(incident_id.as_str()),
                &p.who.actor,
                app.now(),
                &input.named_components(),
                |page, current, components, now| {
                    if current.updated_at.timestamp_millis() != version {
                        return Err(Invalid::new(
                            "version",
                            "This incident changed since you opened this form (another tab or a colleague). Your text is kept below: check the timeline and post again.",
                        ));
                    }
                    plan_update(current, &input, components, now, page.zone)
                },
            )
            .await;
        match result {
            Ok(i) => {
                app.page_changed(&page.id).await;
                return see_other(&format!("/admin/pages/{}/incidents/{}", page.id, i.id));
            }
            Err(e) => f.store_error(e)?,
        }
    }
    let i = load_incident(&app, &page, &incident_id).await?;
    let v = incident_view(&app, &p.who, &page, &i, f, FormState::default()).await?;
    form_page(v.f.has_errors(), &v)
}

/// Saves the postmortem draft, or publishes it (`action=publish`).
pub(super) async fn postmortem(
    State(app): State<AppState>,
    Path((page_id, incident_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    let page = page_for(&app, &p.who, &page_id, Role::IncidentManager).await?;
    let input = PostmortemInput {
        body_draft: Some(p.fields.get("body_draft").to_owned()),
        notify_subscribers: Some(p.fields.checked("notify")),
        ..PostmortemInput::default()
    };
    let publish = p.fields.get("action") == "publish";
    let action = if publish {
        "postmortem.publish"
    } else {
        "postmortem.save_draft"
    };
    let result = app
        .store()
        .modify_incident(
            &page.id,
            &IncidentId::from(incident_id.as_str()),
            action,
            &p.who.actor,
            app.now(),
            |i, now| {
                // Publishing publishes what the form holds: it is saved as the draft first,
                // in the same write (one transaction, one audit entry).
                let mut i = i.clone();
                i.postmortem = save_postmortem_draft(&i.postmortem, &input, now)?;
                if publish {
                    publish_postmortem(&i, &input, now)
                } else {
                    Ok(i)
                }
            },
        )
        .await;
    let mut pm = FormState::new(p.fields.clone());
    match result {
        Ok(i) => {
            app.page_changed(&page.id).await;
            see_other(&format!("/admin/pages/{}/incidents/{}", page.id, i.id))
        }
        Err(e) => {
            pm.store_error(e)?;
            let i = load_incident(&app, &page, &incident_id).await?;
            let v = incident_view(&app, &p.who, &page, &i, FormState::default(), pm).await?;
            form_page(v.pm.has_errors(), &v)
        }
    }
}
