//! The public Status API v2 (STATUSPAGE-API.md §1): response shapes field for field, and the
//! documents each endpoint serves. Lists are newest first and capped at 50; timestamps are
//! in the page's zone with three fractional digits.

use herald_domain::component::Component;
use herald_domain::incident::{Incident, IncidentKind, IncidentUpdate};
use herald_domain::status::{ComponentStatus, Impact, IncidentStatus, PageStatus};
use herald_domain::time::PageZone;
use serde::Serialize;
use std::sync::Arc;

use super::{Source, timeline};
use crate::public::fragments::{Fragment, Insert, Pieces, Place, hasher, splice};
use crate::public::model::Held;
use std::hash::BuildHasher;

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
            page_id: c.page_id.to_string(),
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
    /// Always null, as on live Statuspage pages (incidents and maintenances alike).
    pub reminder_intervals: Option<String>,
}

impl IncidentV2 {
    /// The incident without its timeline, for a long one whose updates go in as pieces.
    fn frame(i: &Incident, src: &Source) -> Self {
        let mut f = Self::shape(i, src, false);
        f.incident_updates.clear();
        f
    }

    fn new(i: &Incident, src: &Source) -> Self {
        Self::shape(i, src, true)
    }

    fn shape(i: &Incident, src: &Source, updates: bool) -> Self {
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
            page_id: i.page_id.to_string(),
            incident_updates: if updates {
                i.updates.iter().map(|u| UpdateV2::new(u, z)).collect()
            } else {
                Vec::new()
            },
            components: i
                .component_ids
                .iter()
                .filter_map(|id| src.components.iter().find(|c| c.id == *id))
                .map(|c| ComponentV2::new(c, &src.components, z))
                .collect(),
            scheduled_for: maintenance.then(|| z.format_opt(i.scheduled_for)),
            scheduled_until: maintenance.then(|| z.format_opt(i.scheduled_until)),
            reminder_intervals: None,
        }
    }
}

/// A document's envelope, serialised with its lists empty: their items go in as pieces.
#[derive(Serialize)]
struct Envelope<'a> {
    page: &'a PageV2,
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incidents: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_maintenances: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a PageStatus>,
}

/// Components per piece of a document's `components` list.
const CHUNK: usize = 25;

const COMPONENTS: &str = "\"components\":[]";
const INCIDENTS: &str = "\"incidents\":[]";
const MAINTENANCES: &str = "\"scheduled_maintenances\":[]";

/// JSON of `items`, each preceded by a comma unless it is the list's first.
fn json_items<T: Serialize>(items: &[T], first: bool) -> Vec<u8> {
    let mut text = Vec::with_capacity(items.len() * 400);
    for (k, item) in items.iter().enumerate() {
        if !first || k > 0 {
            text.push(b',');
        }
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut text, item);
    }
    text
}

/// An incident's JSON as a list item, as pieces: one, made only when the incident, the
/// components or the page's fields changed; for a long timeline, its frame and its runs of
/// updates (`super::timeline`).
fn incident_pieces(src: &Source, i: &Held, first: bool, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    if !timeline::is_long(i) {
        let key = hasher().hash_one(("v2", i.rev, src.revs, first));
        return vec![pieces.get_or_make(key, Place::Later, || {
            json_items(&[IncidentV2::new(i, src)], first)
        })];
    }
    let z = src.page.zone;
    let frame = json_items(&[IncidentV2::frame(i, src)], first);
    let runs = timeline::run_pieces(src, i, "v2", pieces, |updates, first| {
        let shaped: Vec<UpdateV2> = updates.iter().map(|u| UpdateV2::new(u, z)).collect();
        json_items(&shaped, first)
    });
    splice(
        &frame,
        vec![(Insert::json_list("\"incident_updates\":[]"), runs)],
        pieces,
    )
}

/// Every v2 document of a page, as pieces: the envelope, and its lists' items from
/// `pieces` when unchanged (components by runs of [`CHUNK`] and incidents one by one, by
/// revision, so nothing unchanged is even shaped again).
pub fn documents(src: &Source, pieces: &Pieces) -> Vec<(&'static str, Vec<Arc<Fragment>>)> {
    let z = src.page.zone;
    let page = PageV2 {
        id: src.page.id.to_string(),
        name: src.page.name.clone(),
        url: src.page_url(),
        time_zone: z.name().to_owned(),
        updated_at: z.format(src.page.updated_at),
    };
    // A run of components is shaped only when the components or the page's fields (its
    // zone) changed since the last render: a write that touches an incident alone takes
    // every run as it was, however many components the page has.
    let component_pieces: Vec<Arc<Fragment>> = src
        .components
        .chunks(CHUNK)
        .enumerate()
        .map(|(n, chunk)| {
            let key = hasher().hash_one(("v2 components", src.revs, n));
            pieces.get_or_make(key, Place::Later, || {
                let shaped: Vec<ComponentV2> = chunk
                    .iter()
                    .map(|c| ComponentV2::new(c, &src.components, z))
                    .collect();
                json_items(&shaped, n == 0)
            })
        })
        .collect();
    use IncidentStatus as S;
    let (realtime, maint) = (IncidentKind::Realtime, IncidentKind::Maintenance);
    let unresolved = [S::Investigating, S::Identified, S::Monitoring];
    // Each list names at most LIST_CAP incidents, whatever the length of the history.
    let pick = |kind: IncidentKind, statuses: &[IncidentStatus]| -> Vec<Arc<Fragment>> {
        src.incidents
            .iter()
            .filter(|i| i.kind == kind && (statuses.is_empty() || statuses.contains(&i.status)))
            .take(LIST_CAP)
            .enumerate()
            .flat_map(|(k, i)| incident_pieces(src, i, k == 0, pieces))
            .collect()
    };
    let doc = |e: Envelope, lists: Vec<(&str, Vec<Arc<Fragment>>)>| {
        let text = serde_json::to_vec(&e).unwrap_or_default();
        let inserts = lists
            .into_iter()
            .map(|(marker, list)| (Insert::json_list(marker), list))
            .collect();
        splice(&text, inserts, pieces)
    };
    let empty = || Envelope {
        page: &page,
        components: None,
        incidents: None,
        scheduled_maintenances: None,
        status: None,
    };
    let open = pick(realtime, &unresolved);
    vec![
        (
            "/api/v2/summary.json",
            doc(
                Envelope {
                    components: Some([]),
                    incidents: Some([]),
                    scheduled_maintenances: Some([]),
                    status: Some(&src.status),
                    ..empty()
                },
                vec![
                    (COMPONENTS, component_pieces.clone()),
                    (INCIDENTS, open.clone()),
                    (
                        MAINTENANCES,
                        pick(maint, &[S::Scheduled, S::InProgress, S::Verifying]),
                    ),
                ],
            ),
        ),
        (
            "/api/v2/status.json",
            doc(
                Envelope {
                    status: Some(&src.status),
                    ..empty()
                },
                vec![],
            ),
        ),
        (
            "/api/v2/components.json",
            doc(
                Envelope {
                    components: Some([]),
                    ..empty()
                },
                vec![(COMPONENTS, component_pieces)],
            ),
        ),
        (
            "/api/v2/incidents.json",
            doc(
                Envelope {
                    incidents: Some([]),
                    ..empty()
                },
                vec![(INCIDENTS, pick(realtime, &[]))],
            ),
        ),
        (
            "/api/v2/incidents/unresolved.json",
            doc(
                Envelope {
                    incidents: Some([]),
                    ..empty()
                },
                vec![(INCIDENTS, open)],
            ),
        ),
        (
            "/api/v2/incidents/resolved.json",
            doc(
                Envelope {
                    incidents: Some([]),
                    ..empty()
                },
                vec![(INCIDENTS, pick(realtime, &[S::Resolved, S::Postmortem]))],
            ),
        ),
        (
            "/api/v2/scheduled-maintenances.json",
            doc(
                Envelope {
                    scheduled_maintenances: Some([]),
                    ..empty()
                },
                vec![(MAINTENANCES, pick(maint, &[]))],
            ),
        ),
        (
            "/api/v2/scheduled-maintenances/upcoming.json",
            doc(
                Envelope {
                    scheduled_maintenances: Some([]),
                    ..empty()
                },
                vec![(MAINTENANCES, pick(maint, &[S::Scheduled]))],
            ),
        ),
        (
            "/api/v2/scheduled-maintenances/active.json",
            doc(
                Envelope {
                    scheduled_maintenances: Some([]),
                    ..empty()
                },
                vec![(MAINTENANCES, pick(maint, &[S::InProgress, S::Verifying]))],
            ),
        ),
    ]
}
