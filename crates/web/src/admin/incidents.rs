//! Incidents and maintenances: create in one form (the incident's own screen is
//! `incident_view.rs`; updates and the postmortem are `updates.rs`). Writes call the same
//! store functions as the v1 API and then `page_changed`, so the public page shows the
//! change before the browser is answered.

use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDateTime, Utc};
use herald_domain::component::Component;
use herald_domain::id::PageId;
use herald_domain::incident::{Incident, IncidentInput, plan_create};
use herald_domain::page::Page;
use herald_domain::status::{ComponentStatus, Impact, IncidentStatus};
use herald_domain::user::Role;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::form::{Fields, FormState, options};
use super::session::{Posted, Signed};
use super::views::{CompLine, IncLine, IncidentFormView, Layout};
use super::{form_page, html, see_other};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

/// `YYYY-MM-DD HH:MM UTC`.
pub(super) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn line(i: &Incident) -> IncLine {
    IncLine {
        id: i.id.clone(),
        name: i.name.clone(),
        status: super::form::label(i.status.as_str()),
        impact: i.impact.as_str(),
        when: when(i.scheduled_for.unwrap_or(i.started_at)),
    }
}

/// The page named in the path, or the 404 page.
pub(super) async fn load_page(app: &AppState, id: &str) -> PageResult<Page> {
    app.store()
        .get_page(&PageId::from(id))
        .await?
        .ok_or(PageError::NotFound)
}

/// The page `id`, for someone whose role allows `role`: 403 first, then 404.
pub(super) async fn page_for(
    app: &AppState,
    who: &Signed,
    id: &str,
    role: Role,
) -> PageResult<Page> {
    who.require(role)?;
    load_page(app, id).await
}

pub(super) async fn components(app: &AppState, page: &Page) -> PageResult<Vec<Component>> {
    let all = app.store().list_components(&page.id).await?;
    Ok(all.into_iter().filter(|c| !c.is_group).collect())
}

const COMPONENT_STATUSES: &[&str] = &[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
pub(super) const INCIDENT_STATUSES: &[&str] =
    &["investigating", "identified", "monitoring", "resolved"];
const IMPACTS: &[&str] = &["none", "minor", "major", "critical"];

/// One picker per component, named `component.<id>`, keeping the submitted choice.
pub(super) fn pickers(comps: &[Component], f: &FormState) -> Vec<CompLine> {
    comps
        .iter()
        .map(|c| {
            let field = format!("component.{}", c.id);
            CompLine {
                opts: options(COMPONENT_STATUSES, f.v(&field)),
                id: c.id.clone(),
                name: c.name.clone(),
                status: super::form::label(c.status.as_str()),
                field,
            }
        })
        .collect()
}

/// Component changes picked in a form; unknown ids and statuses are reported on `f`.
pub(super) fn picked(
    fields: &Fields,
    comps: &[Component],
    f: &mut FormState,
) -> BTreeMap<String, ComponentStatus> {
    let mut out = BTreeMap::new();
    for (id, v) in fields.with_prefix("component.") {
        if v.is_empty() {
            continue;
        }
        if !comps.iter().any(|c| c.id == id) {
            f.add(
                "components",
                "A chosen component does not exist (any more). Reload the page.",
            );
            continue;
        }
        match v.parse::<ComponentStatus>() {
            Ok(s) => {
                out.insert(id.to_owned(), s);
            }
            Err(()) => f.add("components", format!("{v:?} is not a component status.")),
        }
    }
    out
}

/// Messages that no field of the form shows.
pub(super) fn general(f: &FormState, shown: &[&str]) -> Vec<String> {
    f.general(shown).into_iter().map(str::to_owned).collect()
}

#[derive(Debug, Deserialize)]
pub(super) struct TemplateQuery {
    template: Option<String>,
}

async fn form_view(
    app: &AppState,
    who: &Signed,
    page: &Page,
    maintenance: bool,
    f: FormState,
) -> PageResult<IncidentFormView> {
    let comps = components(app, page).await?;
    let templates = if maintenance {
        Vec::new()
    } else {
        app.store()
            .list_templates(&page.id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect()
    };
    let title = if maintenance {
        "Schedule maintenance"
    } else {
        "Report an incident"
    };
    Ok(IncidentFormView {
        l: Layout::new(who, format!("{title} · {}", page.name)),
        page_id: page.id.to_string(),
        page_name: page.name.clone(),
        maintenance,
        zone: page.zone.name(),
        statuses: options(INCIDENT_STATUSES, f.v("status")),
        impacts: options(IMPACTS, f.v("impact")),
        comps: pickers(&comps, &f),
        templates,
        general: general(
            &f,
            &[
                "name",
                "body",
                "status",
                "components",
                "scheduled_for",
                "scheduled_until",
            ],
        ),
        f,
    })
}

/// The one form that reports an incident (optionally prefilled from a template).
pub(super) async fn new_incident(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
    Query(q): Query<TemplateQuery>,
) -> PageResult {
    new_form(app, who, page_id, false, q.template).await
}

/// The maintenance form.
pub(super) async fn new_maintenance(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    new_form(app, who, page_id, true, None).await
}

async fn new_form(
    app: AppState,
    who: Signed,
    page_id: String,
    maintenance: bool,
    template: Option<String>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::IncidentManager).await?;
    let mut prefill = String::new();
    if let Some(t) = template.filter(|t| !t.is_empty()) {
        // A template that is not the page's is a 404, and a read that fails is the
        // database's error: never an empty form that looks like the template's.
        let t = app
            .store()
            .get_template(&page.id, &t)
            .await?
            .ok_or(PageError::NotFound)?;
        prefill = form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &t.title)
            .append_pair("body", &t.body)
            .finish();
    }
    let f = FormState::new(Fields::parse(prefill.as_bytes()));
    html(&form_view(&app, &who, &page, maintenance, f).await?)
}

/// A `datetime-local` value (`2026-01-02T03:04`), checked for shape and passed on without an
/// offset, so `plan_create` reads it in the page's time zone (as the form says); reported on
/// `f` when malformed.
fn local_field(fields: &Fields, name: &str, f: &mut FormState) -> Option<String> {
    let v = fields.get(name).trim();
    if v.is_empty() {
        f.add(name, "Enter a date and time.");
        return None;
    }
    let parsed = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"));
    match parsed {
        Ok(t) => Some(t.format("%Y-%m-%dT%H:%M:%S").to_string()),
        Err(_) => {
            f.add(name, "Use the form YYYY-MM-DDTHH:MM.");
            None
        }
    }
}

/// Creates an incident from the one form.
pub(super) async fn create_incident(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    create(app, page_id, p, false).await
}

/// Schedules a maintenance.
pub(super) async fn create_maintenance(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    create(app, page_id, p, true).await
}

async fn create(app: AppState, page_id: String, p: Posted, maintenance: bool) -> PageResult {
    let page = page_for(&app, &p.who, &page_id, Role::IncidentManager).await?;
    let comps = components(&app, &page).await?;
    let mut f = FormState::new(p.fields.clone());
    let fields = &p.fields;
    if fields.get("name").trim().is_empty() {
        f.add("name", "Give it a name.");
    }
    let changes = picked(fields, &comps, &mut f);
    let mut input = IncidentInput {
        name: Some(fields.get("name").trim().to_owned()),
        body: Some(fields.get("body").to_owned()),
        component_ids: Some(changes.keys().cloned().collect()),
        deliver_notifications: Some(fields.checked("notify")),
        ..IncidentInput::default()
    };
    if maintenance {
        input.status = Some(IncidentStatus::Scheduled);
        input.scheduled_for = local_field(fields, "scheduled_for", &mut f);
        input.scheduled_until = local_field(fields, "scheduled_until", &mut f);
        let (start, end) = (
            fields.checked("auto_start"),
            fields.checked("auto_complete"),
        );
        input.scheduled_auto_in_progress = Some(start);
        input.auto_transition_to_maintenance_state = Some(start);
        input.scheduled_auto_completed = Some(end);
        input.auto_transition_to_operational_state = Some(end);
    } else {
        input.components = Some(changes);
        match fields.get("status").parse::<IncidentStatus>() {
            Ok(s) if INCIDENT_STATUSES.contains(&s.as_str()) => input.status = Some(s),
            _ => f.add("status", "Choose a status."),
        }
        match fields.get("impact") {
            "" => {}
            v => match v.parse::<Impact>() {
                Ok(i) => input.impact_override = Some(Some(i)),
                Err(()) => f.add("impact", "Choose an impact."),
            },
        }
    }
    if !f.has_errors() {
        let result = app
            .store()
            .create_incident(
                &page.id,
                &p.who.actor,
                app.now(),
                &input.named_components(),
                |page, components, now| plan_create(&input, &page.id, components, now, page.zone),
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
    let v = form_view(&app, &p.who, &page, maintenance, f).await?;
    form_page(v.f.has_errors(), &v)
}
