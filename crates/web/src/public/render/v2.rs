//! The public Status API v2 (STATUSPAGE-API.md §1): response shapes field for field, and the
//! documents each endpoint serves. Lists are newest first and capped at 50; timestamps are
//! in the page's zone with three fractional digits.

use herald_domain::component::Component;
use herald_domain::incident::{Incident, IncidentKind, IncidentUpdate};
use herald_domain::status::{ComponentStatus, Impact, IncidentStatus, PageStatus};
use herald_domain::time::PageZone;
use serde::Serialize;
use std::collections::HashMap;

use super::Source;

/// Longest v2 list.
pub const LIST_CAP: usize = 50;

/// `page` block of every v2 response.
#[derive(Debug, Serialize)]
pub struct PageV2 {
    pub id: String,
    pub name: String,
    pub url: String,
    pub time_zone: String,
    pub updated_at: String,
}

/// A component or group.
#[derive(Debug, Serialize)]
pub struct ComponentV2 {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
    pub description: Option<String>,
    pub showcase: bool,
    pub start_date: Option<String>,
    pub group_id: Option<String>,
    pub page_id: String,
    pub group: bool,
    pub only_show_if_degraded: bool,
    /// Groups only: their components' ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

impl ComponentV2 {
    fn new(c: &Component, all: &[Component], z: PageZone) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            status: c.status,
            created_at: z.format(c.created_at),
            updated_at: z.format(c.updated_at),
            position: c.position,
            description: c.description.clone(),
            showcase: c.showcase,
            start_date: c.start_date.map(|d| d.to_string()),
            group_id: c.group_id.clone(),
            page_id: c.page_id.clone(),
            group: c.is_group,
            only_show_if_degraded: c.only_show_if_degraded,
            components: c.is_group.then(|| {
                all.iter()
                    .filter(|x| x.group_id.as_deref() == Some(c.id.as_str()))
                    .map(|x| x.id.clone())
                    .collect()
            }),
        }
    }
}

/// A component status change on an update.
#[derive(Debug, Serialize)]
pub struct AffectedV2 {
    pub code: String,
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

/// One update of an incident's timeline.
#[derive(Debug, Serialize)]
pub struct UpdateV2 {
    pub id: String,
    pub status: IncidentStatus,
    pub body: String,
    pub incident_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub display_at: String,
    pub affected_components: Option<Vec<AffectedV2>>,
    pub deliver_notifications: bool,
    pub custom_tweet: Option<String>,
    pub tweet_id: Option<String>,
}

impl UpdateV2 {
    fn new(u: &IncidentUpdate, z: PageZone) -> Self {
        Self {
            id: u.id.clone(),
            status: u.status,
            body: u.body.clone(),
            incident_id: u.incident_id.clone(),
            created_at: z.format(u.created_at),
            updated_at: z.format(u.updated_at),
            display_at: z.format(u.display_at),
            affected_components: u.affected_components.as_ref().map(|v| {
                v.iter()
                    .map(|a| AffectedV2 {
                        code: a.code.clone(),
                        name: a.name.clone(),
                        old_status: a.old_status,
                        new_status: a.new_status,
                    })
                    .collect()
            }),
            deliver_notifications: u.deliver_notifications,
            custom_tweet: u.custom_tweet.clone(),
            tweet_id: u.tweet_id.clone(),
        }
    }
}

/// An incident, or (with `scheduled_for`/`scheduled_until`) a scheduled maintenance.
#[derive(Debug, Serialize)]
pub struct IncidentV2 {
    pub id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub created_at: String,
    pub updated_at: String,
    pub monitoring_at: Option<String>,
    pub resolved_at: Option<String>,
    pub impact: Impact,
    pub shortlink: String,
    pub started_at: String,
    pub page_id: String,
    pub incident_updates: Vec<UpdateV2>,
    pub components: Vec<ComponentV2>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_until: Option<Option<String>>,
}

impl IncidentV2 {
    fn new(i: &Incident, src: &Source) -> Self {
        let z = src.page.zone;
        let maintenance = i.kind == IncidentKind::Maintenance;
        Self {
            id: i.id.clone(),
            name: i.name.clone(),
            status: i.status,
            created_at: z.format(i.created_at),
            updated_at: z.format(i.updated_at),
            monitoring_at: z.format_opt(i.monitoring_at),
            resolved_at: z.format_opt(i.resolved_at),
            impact: i.impact,
            shortlink: src.incident_url(&i.id),
            started_at: z.format(i.started_at),
            page_id: i.page_id.clone(),
            incident_updates: i.updates.iter().map(|u| UpdateV2::new(u, z)).collect(),
            components: i
                .component_ids
                .iter()
                .filter_map(|id| src.components.iter().find(|c| c.id == *id))
                .map(|c| ComponentV2::new(c, &src.components, z))
                .collect(),
            scheduled_for: maintenance.then(|| z.format_opt(i.scheduled_for)),
            scheduled_until: maintenance.then(|| z.format_opt(i.scheduled_until)),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    page: &'a PageV2,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<&'a [ComponentV2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incidents: Option<Vec<&'a IncidentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_maintenances: Option<Vec<&'a IncidentV2>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a PageStatus>,
}

/// Every v2 document of a page: `(path, JSON bytes)`.
pub fn documents(src: &Source) -> Vec<(&'static str, Vec<u8>)> {
    let z = src.page.zone;
    let page = PageV2 {
        id: src.page.id.clone(),
        name: src.page.name.clone(),
        url: src.page_url(),
        time_zone: z.name().to_owned(),
        updated_at: z.format(src.page.updated_at),
    };
    let components: Vec<ComponentV2> = src
        .components
        .iter()
        .map(|c| ComponentV2::new(c, &src.components, z))
        .collect();
    use IncidentStatus as S;
    let (realtime, maint) = (IncidentKind::Realtime, IncidentKind::Maintenance);
    let unresolved = [S::Investigating, S::Identified, S::Monitoring];
    // Each list names at most LIST_CAP incidents, and only those are shaped, whatever the
    // length of the page's history.
    let pick = |kind: IncidentKind, statuses: &[IncidentStatus]| -> Vec<usize> {
        src.incidents
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.kind == kind && (statuses.is_empty() || statuses.contains(&i.status))
            })
            .take(LIST_CAP)
            .map(|(n, _)| n)
            .collect()
    };
    let lists = [
        pick(realtime, &unresolved),
        pick(maint, &[S::Scheduled, S::InProgress, S::Verifying]),
        pick(realtime, &[]),
        pick(realtime, &[S::Resolved, S::Postmortem]),
        pick(maint, &[]),
        pick(maint, &[S::Scheduled]),
        pick(maint, &[S::InProgress, S::Verifying]),
    ];
    let shaped: HashMap<usize, IncidentV2> = lists
        .iter()
        .flatten()
        .map(|&n| (n, IncidentV2::new(&src.incidents[n], src)))
        .collect();
    let [
        summary_incidents,
        summary_maint,
        all,
        resolved,
        all_maint,
        upcoming,
        active,
    ] = lists.map(|l| l.iter().map(|n| &shaped[n]).collect::<Vec<&IncidentV2>>());
    let empty = || Envelope {
        page: &page,
        components: None,
        incidents: None,
        scheduled_maintenances: None,
        status: None,
    };
    let doc = |e: &Envelope| serde_json::to_vec(e).unwrap_or_default();
    vec![
        (
            "/api/v2/summary.json",
            doc(&Envelope {
                components: Some(&components),
                incidents: Some(summary_incidents.clone()),
                scheduled_maintenances: Some(summary_maint),
                status: Some(&src.status),
                ..empty()
            }),
        ),
        (
            "/api/v2/status.json",
            doc(&Envelope {
                status: Some(&src.status),
                ..empty()
            }),
        ),
        (
            "/api/v2/components.json",
            doc(&Envelope {
                components: Some(&components),
                ..empty()
            }),
        ),
        (
            "/api/v2/incidents.json",
            doc(&Envelope {
                incidents: Some(all),
                ..empty()
            }),
        ),
        (
            "/api/v2/incidents/unresolved.json",
            doc(&Envelope {
                incidents: Some(summary_incidents),
                ..empty()
            }),
        ),
        (
            "/api/v2/incidents/resolved.json",
            doc(&Envelope {
                incidents: Some(resolved),
                ..empty()
            }),
        ),
        (
            "/api/v2/scheduled-maintenances.json",
            doc(&Envelope {
                scheduled_maintenances: Some(all_maint),
                ..empty()
            }),
        ),
        (
            "/api/v2/scheduled-maintenances/upcoming.json",
            doc(&Envelope {
                scheduled_maintenances: Some(upcoming),
                ..empty()
            }),
        ),
        (
            "/api/v2/scheduled-maintenances/active.json",
            doc(&Envelope {
                scheduled_maintenances: Some(active),
                ..empty()
            }),
        ),
    ]
}
