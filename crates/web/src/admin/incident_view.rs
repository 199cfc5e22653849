//! One incident's screen: its timeline, the update form and, once resolved, the postmortem
//! form; a maintenance shows its window in the page's time zone.

use axum::extract::{Path, State};
use herald_domain::id::IncidentId;
use herald_domain::incident::{Incident, IncidentKind};
use herald_domain::page::Page;
use herald_domain::user::Role;

use super::form::{FormState, options};
use super::html;
use super::incidents::{INCIDENT_STATUSES, components, general, line, load_page, pickers, when};
use super::session::Signed;
use super::views::{IncidentView, Layout, UpdLine};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

pub(super) async fn load_incident(app: &AppState, page: &Page, id: &str) -> PageResult<Incident> {
    match app
        .store()
        .get_incident(&page.id, &IncidentId::from(id))
        .await
    {
        Ok(Some(i)) => Ok(i),
        Ok(None) => Err(PageError::NotFound),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn incident_view(
    app: &AppState,
    who: &Signed,
    page: &Page,
    i: &Incident,
    f: FormState,
    pm: FormState,
) -> PageResult<IncidentView> {
    let comps = components(app, page).await?;
    let statuses: &[&'static str] = if i.kind == IncidentKind::Maintenance {
        &["scheduled", "in_progress", "verifying", "completed"]
    } else {
        INCIDENT_STATUSES
    };
    let current = if f.v("status").is_empty() {
        i.status.as_str()
    } else {
        f.v("status")
    };
    let pm_body = if pm.v("body_draft").is_empty() {
        i.postmortem
            .body_draft
            .clone()
            .or_else(|| i.postmortem.body.clone())
            .unwrap_or_default()
    } else {
        pm.v("body_draft").to_owned()
    };
    Ok(IncidentView {
        l: Layout::new(who, i.name.clone()),
        page_id: page.id.to_string(),
        page_name: page.name.clone(),
        i: line(i),
        window: match (i.scheduled_for, i.scheduled_until) {
            (Some(from), Some(until)) => format!(
                "{} – {}",
                page.zone.strftime(from, "%Y-%m-%d %H:%M"),
                page.zone.strftime(until, "%Y-%m-%d %H:%M %Z")
            ),
            _ => String::new(),
        },
        updates: i
            .updates
            .iter()
            .map(|u| UpdLine {
                status: super::form::label(u.status.as_str()),
                body: u.body.clone(),
                at: when(u.display_at),
            })
            .collect(),
        version: i.updated_at.timestamp_millis(),
        statuses: options(statuses, current),
        comps: pickers(&comps, &f),
        general: general(&f, &["body", "status", "components"]),
        f,
        pm,
        pm_published: i.postmortem.published_at.is_some(),
        pm_body,
        can_manage: who.can(Role::IncidentManager),
        closed: !i.is_open(),
    })
}

/// An incident: its timeline, the update form and, once resolved, the postmortem.
pub(super) async fn show_incident(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, incident_id)): Path<(String, String)>,
) -> PageResult {
    let page = load_page(&app, &page_id).await?;
    let i = load_incident(&app, &page, &incident_id).await?;
    html(
        &incident_view(
            &app,
            &who,
            &page,
            &i,
            FormState::default(),
            FormState::default(),
        )
        .await?,
    )
}
