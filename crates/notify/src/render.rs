//! What an event says: the webhook body (Statuspage's payload shapes plus `event_type`) and
//! the message every other channel renders from. Both are computed once per event, by the
//! fan-out, and frozen in the event row: every delivery and every retry of an event carries
//! the same content.

use herald_domain::component::Component;
use herald_domain::incident::Incident;
use herald_domain::notification::EventKind;
use herald_domain::page::Page;
use herald_domain::status::{Impact, PageStatus, page_status};
use herald_domain::time::PageZone;
use herald_store::{Event, Store};
use herald_wire::v1::{ComponentV1, IncidentV1};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Where webhook receivers read about the payloads and signatures (herald serves
/// `docs/webhooks.md` itself).
pub fn documentation(base_url: &str) -> String {
    format!("{}/docs/webhooks.md", base_url.trim_end_matches('/'))
}

/// The human side of an event, for e-mail, SMS and chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub page_name: String,
    pub page_url: String,
    /// `[Acme Cloud] Elevated API error rates` or similar.
    pub subject: String,
    /// What happened, e.g. "Identified" or "Scheduled maintenance started".
    pub headline: String,
    /// The incident's or maintenance's name (or the component's).
    pub title: String,
    /// The update's message, markdown.
    pub body: String,
    /// Link to the incident page (or the status page).
    pub link: String,
    /// Affected components with their status label.
    pub components: Vec<(String, String)>,
    /// A maintenance window, printed in the page's zone.
    pub window: Option<String>,
}

/// An event as frozen: the webhook body and the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frozen {
    pub webhook: Value,
    pub message: Message,
}

/// The page's status as webhooks report it (`status.json`'s rule), from its components'
/// statuses and its open incidents, read without timelines.
pub async fn current_status(store: &Store, page: &Page) -> herald_store::Result<PageStatus> {
    Ok(page_status(&store.rollup_input(&page.id).await?))
}

fn headline(kind: EventKind, i: &Incident) -> String {
    match kind {
        EventKind::IncidentCreated => format!("New incident: {}", i.status.label()),
        EventKind::IncidentResolved => "Resolved".to_owned(),
        EventKind::PostmortemPublished => "Postmortem published".to_owned(),
        EventKind::MaintenanceScheduled => "Maintenance scheduled".to_owned(),
        EventKind::MaintenanceStarted => "Maintenance in progress".to_owned(),
        EventKind::MaintenanceCompleted => "Maintenance completed".to_owned(),
        EventKind::MaintenanceReminder => "Maintenance starts within the hour".to_owned(),
        _ => i.status.label().to_owned(),
    }
}

/// Renders an incident or maintenance event.
pub fn incident_event(
    e: &Event,
    page: &Page,
    status: PageStatus,
    incident: &Incident,
    components: &[Component],
    base_url: &str,
) -> Frozen {
    let z = page.zone;
    let v1 = IncidentV1::new(incident, page, components, base_url);
    let link = v1.shortlink.clone();
    let webhook = json!({
        "event_type": e.kind.as_str(),
        "meta": {"documentation": documentation(base_url), "generated_at": z.format(e.created_at)},
        "page": {"id": page.id, "status_indicator": status.indicator, "status_description": status.description},
        "incident": v1,
    });
    let update = e
        .update_id
        .as_deref()
        .and_then(|u| incident.updates.iter().find(|x| x.id == u))
        .or_else(|| incident.updates.first());
    let body = match e.kind {
        EventKind::PostmortemPublished => incident.postmortem.body.clone().unwrap_or_default(),
        EventKind::MaintenanceReminder => update.map(|u| u.body.clone()).unwrap_or_default(),
        _ => update.map(|u| u.body.clone()).unwrap_or_default(),
    };
    let window = match (incident.scheduled_for, incident.scheduled_until) {
        (Some(a), Some(b)) => Some(window_text(z, a, b)),
        _ => None,
    };
    let message = Message {
        page_name: page.name.clone(),
        page_url: page.public_url(base_url),
        subject: format!("[{}] {}", page.name, incident.name),
        headline: headline(e.kind, incident),
        title: incident.name.clone(),
        body,
        link,
        components: incident
            .component_ids
            .iter()
            .filter_map(|id| components.iter().find(|c| c.id == *id))
            .map(|c| (c.name.clone(), c.status.label().to_owned()))
            .collect(),
        window,
    };
    Frozen { webhook, message }
}

fn window_text(
    z: PageZone,
    from: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> String {
    let f = |t| z.format(t);
    format!("{} to {} ({})", f(from), f(until), z.name())
}

/// Renders a component status change.
pub fn component_event(
    e: &Event,
    page: &Page,
    status: PageStatus,
    component: &Component,
    components: &[Component],
    base_url: &str,
) -> Frozen {
    let z = page.zone;
    let old = e.data["old_status"].as_str().unwrap_or("operational");
    let new = e.data["new_status"]
        .as_str()
        .unwrap_or(component.status.as_str());
    let c = ComponentV1::new(component, components, z);
    let webhook = json!({
        "event_type": e.kind.as_str(),
        "meta": {"documentation": documentation(base_url), "generated_at": z.format(e.created_at)},
        "page": {"id": page.id, "status_indicator": status.indicator, "status_description": status.description},
        "component_update": {
            "id": e.id, "created_at": z.format(e.created_at), "old_status": old, "new_status": new,
            "component_type": "Component", "component_id": component.id,
        },
        "component": {
            "id": c.id, "name": c.name, "status": new, "created_at": c.created_at, "updated_at": c.updated_at,
            "position": c.position, "description": c.description, "showcase": c.showcase, "page_id": c.page_id,
            "group_id": c.group_id,
        },
    });
    let label = |s: &str| {
        s.parse::<herald_domain::status::ComponentStatus>()
            .map(|s| s.label())
            .unwrap_or("Unknown")
            .to_owned()
    };
    let message = Message {
        page_name: page.name.clone(),
        page_url: page.public_url(base_url),
        subject: format!("[{}] {} is {}", page.name, component.name, label(new)),
        headline: format!("{} → {}", label(old), label(new)),
        title: component.name.clone(),
        body: String::new(),
        link: page.public_url(base_url),
        components: vec![(component.name.clone(), label(new))],
        window: None,
    };
    Frozen { webhook, message }
}

/// Whether an impact deserves urgency in chat colours.
pub fn color(indicator: Impact) -> &'static str {
    match indicator {
        Impact::None => "#2ecc71",
        Impact::Minor => "#f1c40f",
        Impact::Major => "#e67e22",
        Impact::Critical => "#e74c3c",
        Impact::Maintenance => "#3498db",
    }
}
