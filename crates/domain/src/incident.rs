//! Incidents and scheduled maintenances: one object, two life cycles.
//!
//! A realtime incident moves through `investigating → identified → monitoring → resolved`
//! (and `postmortem` once its postmortem is published); a scheduled maintenance through
//! `scheduled → in_progress → verifying → completed`. Each change a person posts becomes an
//! [`IncidentUpdate`] in the timeline, carrying the component statuses it changed.
//!
//! The planning functions here ([`plan_create`], [`plan_update`]) take the current state and
//! what the client sent and return every row to write; the store runs them inside the
//! transaction that writes the result, so two concurrent updates never lose each other.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::component::Component;
use crate::error::{optional_text, required_name};
use crate::id::{ComponentId, PageId};
use crate::status::{ComponentStatus, Impact, IncidentStatus};
use crate::time::PageZone;
use crate::{Invalid, Result};

mod postmortem;
pub use postmortem::{
    POSTMORTEM_MAX, Postmortem, PostmortemInput, publish_postmortem, revert_postmortem,
    save_postmortem_draft,
};

/// Longest incident name.
pub const NAME_MAX: usize = 255;
/// Longest update body.
pub const BODY_MAX: usize = 25_000;

/// A maintenance window: (start, end).
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Whether an incident is unplanned or a scheduled maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentKind {
    /// Unplanned.
    Realtime,
    /// Planned, with a window.
    Maintenance,
}

impl IncidentKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Realtime => "realtime",
            Self::Maintenance => "maintenance",
        }
    }

    /// Parses a stored name.
    pub fn from_stored(s: &str) -> Self {
        if s == "maintenance" {
            Self::Maintenance
        } else {
            Self::Realtime
        }
    }
}

/// An incident or scheduled maintenance with its timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: String,
    pub page_id: PageId,
    pub kind: IncidentKind,
    pub name: String,
    pub status: IncidentStatus,
    /// The impact shown: `impact_override` when set, else computed from component statuses.
    pub impact: Impact,
    pub impact_override: Option<Impact>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub monitoring_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    pub scheduled_reminded_at: Option<DateTime<Utc>>,
    pub flags: MaintenanceFlags,
    pub backfilled: bool,
    /// Free JSON object whose top-level values are objects.
    pub metadata: serde_json::Value,
    pub postmortem: Postmortem,
    /// Ids of the components this incident affects.
    pub component_ids: Vec<String>,
    /// The timeline, newest first.
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// Whether the incident is still open.
    pub fn is_open(&self) -> bool {
        !self.status.is_closed()
    }

    /// [`Incident::component_ids`] typed, for the store's lookups.
    pub fn affected_component_ids(&self) -> Vec<ComponentId> {
        self.component_ids.iter().map(ComponentId::from).collect()
    }
}

/// A scheduled maintenance's automation flags (all false for realtime incidents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaintenanceFlags {
    pub remind_prior: bool,
    pub auto_in_progress: bool,
    pub auto_completed: bool,
    pub auto_transition_to_maintenance_state: bool,
    pub auto_transition_to_operational_state: bool,
    pub auto_transition_deliver_notifications_at_start: bool,
    pub auto_transition_deliver_notifications_at_end: bool,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentUpdate {
    pub id: String,
    pub incident_id: String,
    pub status: IncidentStatus,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the update is shown as having happened (editable).
    pub display_at: DateTime<Utc>,
    pub deliver_notifications: bool,
    pub custom_tweet: Option<String>,
    pub tweet_id: Option<String>,
    pub wants_twitter_update: bool,
    pub twitter_updated_at: Option<DateTime<Utc>>,
    /// The component statuses this update changed; `None` when it changed none.
    pub affected_components: Option<Vec<AffectedComponent>>,
}

/// A component status change recorded on an update, with the name it had at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedComponent {
    /// The component's id.
    pub code: String,
    /// Its name when the update was posted.
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

/// An incident as clients send it, inside `{"incident": {...}}` (STATUSPAGE-API.md §2.3).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct IncidentInput {
    /// Required on create; at most 255 characters.
    pub name: Option<String>,
    pub status: Option<IncidentStatus>,
    /// Overrides the impact computed from component statuses.
    #[serde(deserialize_with = "crate::patch::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Impact>))]
    pub impact_override: Option<Option<Impact>>,
    /// The message of the update this request posts (at most 25,000 characters).
    #[serde(alias = "message")]
    pub body: Option<String>,
    /// Components affected by the incident.
    pub component_ids: Option<Vec<String>>,
    /// New status per component id.
    pub components: Option<BTreeMap<String, ComponentStatus>>,
    /// Notify subscribers of this update (default true).
    pub deliver_notifications: Option<bool>,
    /// Free JSON; top-level values must be objects.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
    /// A historical incident: created resolved, dated `backfill_date`.
    pub backfilled: Option<bool>,
    /// `YYYY-MM-DD` (or a timestamp) of a backfilled incident.
    pub backfill_date: Option<String>,
    /// Start of a maintenance window (ISO 8601).
    pub scheduled_for: Option<String>,
    /// End of a maintenance window (ISO 8601).
    pub scheduled_until: Option<String>,
    pub scheduled_remind_prior: Option<bool>,
    #[serde(alias = "scheduled_auto_transition")]
    pub scheduled_auto_in_progress: Option<bool>,
    pub scheduled_auto_completed: Option<bool>,
    pub auto_transition_to_maintenance_state: Option<bool>,
    pub auto_transition_to_operational_state: Option<bool>,
    pub auto_transition_deliver_notifications_at_start: Option<bool>,
    pub auto_transition_deliver_notifications_at_end: Option<bool>,
    pub wants_twitter_update: Option<bool>,
    pub custom_tweet: Option<String>,
}

/// Everything one create or update writes.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentChange {
    /// The incident's new state (its `updates` list is not rewritten; see `new_update`).
    pub incident: Incident,
    /// The update appended to the timeline, if the request posted one.
    pub new_update: Option<IncidentUpdate>,
    /// Component statuses to set, in the order given.
    pub component_changes: Vec<(String, ComponentStatus)>,
}

fn check_metadata(v: &serde_json::Value) -> Result<serde_json::Value> {
    match v {
        serde_json::Value::Object(m) if m.values().all(serde_json::Value::is_object) => {
            if v.to_string().len() > 16 * 1024 {
                return Err(Invalid::new(
                    "incident.metadata",
                    "incident.metadata is larger than 16 KiB",
                ));
            }
            Ok(v.clone())
        }
        serde_json::Value::Null => Ok(serde_json::json!({})),
        _ => Err(Invalid::new(
            "incident.metadata",
            "incident.metadata must be an object whose values are objects, e.g. {\"jira\": {\"issue_id\": \"OPS-42\"}}",
        )),
    }
}

impl IncidentInput {
    /// The component ids this request names (in `component_ids` and `components`): all a
    /// plan looks up besides an updated incident's own, so a write reads only these.
    pub fn named_components(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.component_ids.iter().flatten().cloned().collect();
        ids.extend(self.components.iter().flat_map(|c| c.keys().cloned()));
        // A name that cannot be an id names no component: it is not looked up (the plan
        // then refuses it as unknown), so no stray bytes reach the database.
        ids.retain(|id| crate::id::looks_valid(id));
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Resolves the components a request names against the page's components: each must exist on
/// the page and not be a group. Returns (affected ids, status changes with old statuses).
fn resolve_components(
    input: &IncidentInput,
    page_components: &[Component],
) -> Result<(Vec<String>, Vec<AffectedComponent>)> {
    let find = |field: &str, id: &str| -> Result<&Component> {
        match page_components.iter().find(|c| c.id == id) {
            Some(c) if !c.is_group => Ok(c),
            Some(_) => Err(Invalid::new(
                field,
                format!("{field}: {id:?} is a component group; name its components instead"),
            )),
            None => Err(Invalid::new(
                field,
                format!("{field}: no component {id:?} on this page"),
            )),
        }
    };
    let mut ids = Vec::new();
    for id in input.component_ids.iter().flatten() {
        find("incident.component_ids", id)?;
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let mut changes = Vec::new();
    for (id, new_status) in input.components.iter().flatten() {
        let c = find("incident.components", id)?;
        if !ids.contains(id) {
            ids.push(id.clone());
        }
        if c.status != *new_status {
            changes.push(AffectedComponent {
                code: c.id.clone(),
                name: c.name.clone(),
                old_status: c.status,
                new_status: *new_status,
            });
        }
    }
    Ok((ids, changes))
}

fn computed_impact(kind: IncidentKind, current: Impact, changes: &[AffectedComponent]) -> Impact {
    if kind == IncidentKind::Maintenance {
        return Impact::Maintenance;
    }
    changes
        .iter()
        .map(|c| c.new_status.implied_impact())
        .filter(|i| *i != Impact::Maintenance)
        .fold(current, Impact::max)
}

fn body_of(input: &IncidentInput) -> Result<Option<String>> {
    match input.body.as_deref() {
        None => Ok(None),
        Some(b) => {
            let n = b.chars().count();
            if n > BODY_MAX {
                return Err(Invalid::new(
                    "incident.body",
                    format!(
                        "incident.body is too long ({n} characters; the maximum is {BODY_MAX})"
                    ),
                ));
            }
            Ok(Some(b.trim().to_owned()))
        }
    }
}

fn window(input: &IncidentInput, zone: PageZone, current: Window) -> Result<Window> {
    let parse = |field: &str, v: &Option<String>| -> Result<Option<DateTime<Utc>>> {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| zone.parse_datetime(field, s))
            .transpose()
    };
    let from = parse("incident.scheduled_for", &input.scheduled_for)?.or(current.0);
    let until = parse("incident.scheduled_until", &input.scheduled_until)?.or(current.1);
    Ok((from, until))
}

fn apply_flags(flags: &mut MaintenanceFlags, input: &IncidentInput) {
    let pairs = [
        (&mut flags.remind_prior, input.scheduled_remind_prior),
        (
            &mut flags.auto_in_progress,
            input.scheduled_auto_in_progress,
        ),
        (&mut flags.auto_completed, input.scheduled_auto_completed),
        (
            &mut flags.auto_transition_to_maintenance_state,
            input.auto_transition_to_maintenance_state,
        ),
        (
            &mut flags.auto_transition_to_operational_state,
            input.auto_transition_to_operational_state,
        ),
        (
            &mut flags.auto_transition_deliver_notifications_at_start,
            input.auto_transition_deliver_notifications_at_start,
        ),
        (
            &mut flags.auto_transition_deliver_notifications_at_end,
            input.auto_transition_deliver_notifications_at_end,
        ),
    ];
    for (dst, src) in pairs {
        if let Some(v) = src {
            *dst = v;
        }
    }
}

fn new_update(
    incident: &Incident,
    status: IncidentStatus,
    body: String,
    at: DateTime<Utc>,
    input: &IncidentInput,
    changes: &[AffectedComponent],
) -> Result<IncidentUpdate> {
    Ok(IncidentUpdate {
        id: crate::id::generate(),
        incident_id: incident.id.clone(),
        status,
        body,
        created_at: at,
        updated_at: at,
        display_at: at,
        deliver_notifications: input.deliver_notifications.unwrap_or(true),
        custom_tweet: optional_text("incident.custom_tweet", input.custom_tweet.as_deref(), 280)?,
        tweet_id: None,
        wants_twitter_update: input.wants_twitter_update.unwrap_or(false),
        twitter_updated_at: None,
        affected_components: (!changes.is_empty()).then(|| changes.to_vec()),
    })
}

fn stamp_status(incident: &mut Incident, status: IncidentStatus, at: DateTime<Utc>) {
    incident.status = status;
    if status == IncidentStatus::Monitoring && incident.monitoring_at.is_none() {
        incident.monitoring_at = Some(at);
    }
    if status.is_closed() {
        if incident.resolved_at.is_none() {
            incident.resolved_at = Some(at);
        }
    } else {
        incident.resolved_at = None;
    }
}

/// Plans a new incident or maintenance from what the client sent.
pub fn plan_create(
    input: &IncidentInput,
    page_id: &PageId,
    page_components: &[Component],
    now: DateTime<Utc>,
    zone: PageZone,
) -> Result<IncidentChange> {
    let name = required_name(
        "incident.name",
        input.name.as_deref().unwrap_or(""),
        NAME_MAX,
    )?;
    let body = body_of(input)?.unwrap_or_default();
    let backfilled = input.backfilled.unwrap_or(false);
    let has_window = input.scheduled_for.is_some() || input.scheduled_until.is_some();
    let status = match input.status {
        Some(s) => s,
        None if has_window => IncidentStatus::Scheduled,
        None if backfilled => IncidentStatus::Resolved,
        None => IncidentStatus::Investigating,
    };
    if status == IncidentStatus::Postmortem {
        return Err(Invalid::new(
            "incident.status",
            "incident.status postmortem is set by publishing the postmortem of a resolved incident",
        ));
    }
    let kind = if status.is_maintenance() {
        IncidentKind::Maintenance
    } else {
        IncidentKind::Realtime
    };
    let (scheduled_for, scheduled_until) = window(input, zone, (None, None))?;
    if kind == IncidentKind::Realtime && has_window {
        return Err(Invalid::new(
            "incident.scheduled_for",
            "incident.scheduled_for and scheduled_until are only for scheduled maintenances (status scheduled, in_progress, verifying or completed)",
        ));
    }
    if kind == IncidentKind::Maintenance {
        check_window(scheduled_for, scheduled_until)?;
    }
    let mut created_at = now;
    if backfilled {
        if kind == IncidentKind::Maintenance || !status.is_closed() {
            return Err(Invalid::new(
                "incident.status",
                "a backfilled incident must be created resolved",
            ));
        }
        if input.components.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(Invalid::new(
                "incident.components",
                "a backfilled incident cannot change component statuses",
            ));
        }
        let date = input.backfill_date.as_deref().ok_or_else(|| {
            Invalid::new(
                "incident.backfill_date",
                "incident.backfill_date is required for a backfilled incident",
            )
        })?;
        created_at = match crate::time::parse_date("incident.backfill_date", date) {
            Ok(d) => zone.parse_datetime(
                "incident.backfill_date",
                &d.and_time(NaiveTime::MIN)
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string(),
            )?,
            Err(_) => zone.parse_datetime("incident.backfill_date", date)?,
        };
        if created_at > now {
            return Err(Invalid::new(
                "incident.backfill_date",
                "incident.backfill_date cannot be in the future",
            ));
        }
    }
    let (component_ids, changes) = resolve_components(input, page_components)?;
    let mut flags = MaintenanceFlags::default();
    if kind == IncidentKind::Maintenance {
        apply_flags(&mut flags, input);
    } else if input.scheduled_remind_prior.is_some()
        || input.scheduled_auto_in_progress.is_some()
        || input.scheduled_auto_completed.is_some()
    {
        return Err(Invalid::new(
            "incident.scheduled_remind_prior",
            "maintenance options are only for scheduled maintenances",
        ));
    }
    let impact_override = input.impact_override.flatten();
    let mut incident = Incident {
        id: crate::id::generate(),
        page_id: page_id.to_owned(),
        kind,
        name,
        status,
        impact: Impact::None,
        impact_override,
        created_at,
        updated_at: now,
        started_at: created_at,
        monitoring_at: None,
        resolved_at: None,
        scheduled_for,
        scheduled_until,
        scheduled_reminded_at: None,
        flags,
        backfilled,
        metadata: check_metadata(input.metadata.as_ref().unwrap_or(&serde_json::Value::Null))?,
        postmortem: Postmortem::default(),
        component_ids,
        updates: Vec::new(),
    };
    stamp_status(&mut incident, status, created_at);
    incident.impact =
        impact_override.unwrap_or_else(|| computed_impact(kind, Impact::None, &changes));
    let update = new_update(&incident, status, body, created_at, input, &changes)?;
    Ok(IncidentChange {
        component_changes: changes
            .iter()
            .map(|c| (c.code.clone(), c.new_status))
            .collect(),
        incident,
        new_update: Some(update),
    })
}

fn check_window(from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Result<()> {
    match (from, until) {
        (Some(f), Some(u)) if u > f => Ok(()),
        (Some(_), Some(_)) => Err(Invalid::new(
            "incident.scheduled_until",
            "incident.scheduled_until must be after scheduled_for",
        )),
        (None, _) => Err(Invalid::new(
            "incident.scheduled_for",
            "incident.scheduled_for is required for a scheduled maintenance",
        )),
        (_, None) => Err(Invalid::new(
            "incident.scheduled_until",
            "incident.scheduled_until is required for a scheduled maintenance",
        )),
    }
}

/// Plans a change to an incident. Sending `status`, `body` or `components` posts a new update
/// to the timeline (that is how Statuspage clients "post an update"); other fields change the
/// incident itself.
pub fn plan_update(
    current: &Incident,
    input: &IncidentInput,
    page_components: &[Component],
    now: DateTime<Utc>,
    zone: PageZone,
) -> Result<IncidentChange> {
    let mut incident = current.clone();
    incident.updates.clear();
    if let Some(name) = input.name.as_deref() {
        incident.name = required_name("incident.name", name, NAME_MAX)?;
    }
    if let Some(status) = input.status {
        let kind = if status.is_maintenance() {
            IncidentKind::Maintenance
        } else {
            IncidentKind::Realtime
        };
        if kind != current.kind {
            return Err(Invalid::new(
                "incident.status",
                match current.kind {
                    IncidentKind::Maintenance => format!(
                        "incident.status {:?} is not a maintenance status; use scheduled, in_progress, verifying or completed",
                        status.as_str()
                    ),
                    IncidentKind::Realtime => format!(
                        "incident.status {:?} is a maintenance status; an incident uses investigating, identified, monitoring or resolved",
                        status.as_str()
                    ),
                },
            ));
        }
        if status == IncidentStatus::Postmortem && current.postmortem.published_at.is_none() {
            return Err(Invalid::new(
                "incident.status",
                "incident.status postmortem is set by publishing the postmortem",
            ));
        }
    }
    if input.backfilled.is_some() || input.backfill_date.is_some() {
        return Err(Invalid::new(
            "incident.backfilled",
            "only a new incident can be backfilled",
        ));
    }
    if let Some(m) = &input.metadata {
        incident.metadata = check_metadata(m)?;
    }
    if let Some(o) = input.impact_override {
        incident.impact_override = o;
    }
    if current.kind == IncidentKind::Maintenance {
        let (from, until) = window(
            input,
            zone,
            (current.scheduled_for, current.scheduled_until),
        )?;
        check_window(from, until)?;
        incident.scheduled_for = from;
        incident.scheduled_until = until;
        apply_flags(&mut incident.flags, input);
    } else if input.scheduled_for.is_some() || input.scheduled_until.is_some() {
        return Err(Invalid::new(
            "incident.scheduled_for",
            "incident.scheduled_for is only for scheduled maintenances",
        ));
    }
    let (extra_ids, changes) = resolve_components(input, page_components)?;
    for id in extra_ids {
        if !incident.component_ids.contains(&id) {
            incident.component_ids.push(id);
        }
    }
    let body = body_of(input)?;
    let posts_update = input.status.is_some() || body.is_some() || input.components.is_some();
    let mut update = None;
    if posts_update {
        let status = input.status.unwrap_or(current.status);
        stamp_status(&mut incident, status, now);
        update = Some(new_update(
            &incident,
            status,
            body.unwrap_or_default(),
            now,
            input,
            &changes,
        )?);
    }
    let computed = computed_impact(
        current.kind,
        if current.impact_override.is_some() {
            Impact::None
        } else {
            current.impact
        },
        &changes,
    );
    incident.impact = incident.impact_override.unwrap_or(computed);
    incident.updated_at = now;
    Ok(IncidentChange {
        component_changes: changes
            .iter()
            .map(|c| (c.code.clone(), c.new_status))
            .collect(),
        incident,
        new_update: update,
    })
}

/// A change to a past update, inside `{"incident_update": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct IncidentUpdateInput {
    pub body: Option<String>,
    /// When the update is shown as having happened (ISO 8601).
    pub display_at: Option<String>,
    pub deliver_notifications: Option<bool>,
    pub wants_twitter_update: Option<bool>,
}

/// Applies an edit to a past update.
pub fn edit_update(
    current: &IncidentUpdate,
    input: &IncidentUpdateInput,
    now: DateTime<Utc>,
    zone: PageZone,
) -> Result<IncidentUpdate> {
    let mut u = current.clone();
    if let Some(b) = input.body.as_deref() {
        let n = b.chars().count();
        if n > BODY_MAX {
            return Err(Invalid::new(
                "incident_update.body",
                format!(
                    "incident_update.body is too long ({n} characters; the maximum is {BODY_MAX})"
                ),
            ));
        }
        u.body = b.trim().to_owned();
    }
    if let Some(d) = input.display_at.as_deref() {
        u.display_at = zone.parse_datetime("incident_update.display_at", d)?;
    }
    if let Some(v) = input.deliver_notifications {
        u.deliver_notifications = v;
    }
    if let Some(v) = input.wants_twitter_update {
        u.wants_twitter_update = v;
    }
    u.updated_at = now;
    Ok(u)
}

/// What a maintenance's automation should post at `now`, if anything: the start (status
/// `in_progress`, components to `under_maintenance` when asked) once the window opens, the
/// end (status `completed`, components back to `operational` when asked) once it closes.
/// Feed the result to [`plan_update`].
pub fn auto_transition(current: &Incident, now: DateTime<Utc>) -> Option<IncidentInput> {
    if current.kind != IncidentKind::Maintenance {
        return None;
    }
    let f = &current.flags;
    let set = |status: ComponentStatus| {
        Some(
            current
                .component_ids
                .iter()
                .map(|id| (id.clone(), status))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let start = current.status == IncidentStatus::Scheduled
        && f.auto_in_progress
        && current.scheduled_for.is_some_and(|t| t <= now);
    let end = matches!(
        current.status,
        IncidentStatus::InProgress | IncidentStatus::Verifying
    ) && f.auto_completed
        && current.scheduled_until.is_some_and(|t| t <= now);
    if start {
        Some(IncidentInput {
            status: Some(IncidentStatus::InProgress),
            body: Some("Scheduled maintenance is now in progress.".to_owned()),
            components: if f.auto_transition_to_maintenance_state {
                set(ComponentStatus::UnderMaintenance)
            } else {
                None
            },
            deliver_notifications: Some(f.auto_transition_deliver_notifications_at_start),
            ..IncidentInput::default()
        })
    } else if end {
        Some(IncidentInput {
            status: Some(IncidentStatus::Completed),
            body: Some("Scheduled maintenance has been completed.".to_owned()),
            components: if f.auto_transition_to_operational_state {
                set(ComponentStatus::Operational)
            } else {
                None
            },
            deliver_notifications: Some(f.auto_transition_deliver_notifications_at_end),
            ..IncidentInput::default()
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
