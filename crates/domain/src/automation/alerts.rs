//! Alerts: Prometheus Alertmanager's webhook payload (version 4) and the generic webhook's
//! body, turned into per-alert state with Alertmanager's semantics.
//!
//! Each alert is keyed by its fingerprint (its label set's hash), so the same alert sent by
//! every Alertmanager of an HA cluster, or sent again after `repeat_interval`, lands on one
//! stored state and changes nothing the second time. States are ordered by `startsAt` and
//! `endsAt`: a resolve ends the occurrence that started at or before its `endsAt`, and a
//! `firing` whose `startsAt` is not after the stored resolve's `endsAt` is a late copy of
//! the occurrence already over (never a reopening); a new occurrence starts later.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::{IncidentRule, Rule, find_component};
use crate::component::Component;
use crate::status::ComponentStatus;
use crate::{Invalid, Result};

/// Alertmanager's webhook body (`version` "4"); fields herald does not use are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertmanagerPayload {
    #[serde(default)]
    pub version: Option<String>,
    pub alerts: Vec<AlertIn>,
}

/// One alert of the payload.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertIn {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(rename = "endsAt", default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// What herald keeps of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    pub fingerprint: String,
    pub component_id: String,
    /// The status the alert asks for while it fires.
    pub status: ComponentStatus,
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// `alertname`, for the reason shown with a change.
    pub name: String,
}

/// An alert of the payload, read: which component, which status, firing or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub fingerprint: String,
    pub component_id: String,
    pub status: ComponentStatus,
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub name: String,
    /// The incident its rule (or, if the caller fills it in, its integration) opens.
    pub incident: Option<IncidentRule>,
}

/// The default severity map.
pub fn severity_status(severity: Option<&str>) -> ComponentStatus {
    match severity.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => ComponentStatus::MajorOutage,
        Some("error" | "major") => ComponentStatus::PartialOutage,
        _ => ComponentStatus::DegradedPerformance,
    }
}

/// A fingerprint for an alert that came without one: SHA-256 of its sorted labels.
fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0xff]);
        h.update(v.as_bytes());
        h.update([0xfe]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads alert `i`: `Ok(None)` when it concerns no component (no `component` label and no
/// rule naming one: such alerts are ignored, so a shared Alertmanager route may send
/// herald more than it needs). A component named but unknown, a status annotation that is
/// not a status, or a status that is neither `firing` nor `resolved` is a 422 naming the
/// field.
pub fn map_alert(
    i: usize,
    a: &AlertIn,
    rules: &[Rule],
    components: &[Component],
    now: DateTime<Utc>,
) -> Result<Option<Mapped>> {
    let field = |f: &str| format!("alerts[{i}].{f}");
    let firing = match a.status.as_str() {
        "firing" => true,
        "resolved" => false,
        other => {
            return Err(Invalid::new(
                field("status"),
                format!(
                    "{}: must be firing or resolved; got {other:?}",
                    field("status")
                ),
            ));
        }
    };
    let matching: Vec<&Rule> = rules.iter().filter(|r| r.matches(&a.labels)).collect();
    let (component_key, component_field) = match a.labels.get("component") {
        Some(c) => (c.as_str(), field("labels.component")),
        None => match matching.iter().find_map(|r| r.component.as_deref()) {
            Some(c) => (c, field("labels")),
            None => return Ok(None),
        },
    };
    let component = find_component(components, component_key).ok_or_else(|| {
        Invalid::new(
            component_field.clone(),
            format!("{component_field}: no component {component_key:?} on this page"),
        )
    })?;
    let status = match a.annotations.get("status") {
        Some(s) => ComponentStatus::parse(&field("annotations.status"), s)?,
        None => match matching.iter().find_map(|r| r.status) {
            Some(s) => s,
            None => severity_status(a.labels.get("severity").map(String::as_str)),
        },
    };
    let starts_at = a.starts_at.filter(|t| t.timestamp() > 0).unwrap_or(now);
    let ends_at = a.ends_at.filter(|t| t.timestamp() > 0).unwrap_or(now);
    let fingerprint = match a.fingerprint.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() && f.len() <= 128 => f.to_owned(),
        _ => fingerprint_of(&a.labels),
    };
    Ok(Some(Mapped {
        fingerprint,
        component_id: component.id.clone(),
        status,
        firing,
        starts_at,
        ends_at,
        name: a
            .labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| "alert".to_owned()),
        incident: matching.iter().find_map(|r| r.incident.clone()),
    }))
}

/// The state after `m` arrives on `old`, or `None` when it changes nothing (a duplicate, a
/// repeat, a stale copy).
pub fn transition(old: Option<&AlertState>, m: &Mapped) -> Option<AlertState> {
    let fresh = || AlertState {
        fingerprint: m.fingerprint.clone(),
        component_id: m.component_id.clone(),
        status: m.status,
        firing: m.firing,
        starts_at: m.starts_at,
        ends_at: (!m.firing).then_some(m.ends_at),
        name: m.name.clone(),
    };
    let Some(old) = old else {
        return Some(fresh());
    };
    match (old.firing, m.firing) {
        // Still firing: only a new status or component counts.
        (true, true) => {
            (old.status != m.status || old.component_id != m.component_id).then(|| AlertState {
                starts_at: old.starts_at.min(m.starts_at),
                ..fresh()
            })
        }
        // Resolved: ends the occurrence it covers; a resolve older than the current
        // occurrence's start is stale.
        (true, false) => (m.ends_at >= old.starts_at).then(|| AlertState {
            starts_at: old.starts_at,
            component_id: old.component_id.clone(),
            status: old.status,
            ..fresh()
        }),
        // Firing after a resolve: a new occurrence only if it started after the resolve.
        (false, true) => old.ends_at.is_none_or(|end| m.starts_at > end).then(fresh),
        (false, false) => None,
    }
}

/// One item of the generic webhook's body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookItem {
    /// The component's id or exact name.
    pub component: String,
    pub status: ComponentStatus,
    #[serde(default)]
    pub message: Option<String>,
}

/// The generic webhook's body: one item or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WebhookBody {
    One(WebhookItem),
    Many(Vec<WebhookItem>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_ms;

    fn m(firing: bool, start: i64, end: i64) -> Mapped {
        Mapped {
            fingerprint: "f".into(),
            component_id: "c".into(),
            status: ComponentStatus::MajorOutage,
            firing,
            starts_at: from_ms(start),
            ends_at: from_ms(end),
            name: "A".into(),
            incident: None,
        }
    }

    #[test]
    fn duplicates_repeats_and_stale_firings_change_nothing() {
        let s1 = transition(None, &m(true, 10, 0)).unwrap();
        assert!(s1.firing);
        assert_eq!(transition(Some(&s1), &m(true, 10, 0)), None);
        let s2 = transition(Some(&s1), &m(false, 10, 20)).unwrap();
        assert!(!s2.firing);
        // The stale copy of the firing, from another Alertmanager, after the resolve.
        assert_eq!(transition(Some(&s2), &m(true, 10, 0)), None);
        assert_eq!(transition(Some(&s2), &m(false, 10, 20)), None);
        // A new occurrence.
        assert!(transition(Some(&s2), &m(true, 30, 0)).unwrap().firing);
        // A resolve that arrives before its firing blocks the firing.
        let r = transition(None, &m(false, 10, 20)).unwrap();
        assert_eq!(transition(Some(&r), &m(true, 10, 0)), None);
        // An old occurrence's resolve does not end a newer one.
        let n = transition(Some(&s2), &m(true, 30, 0)).unwrap();
        assert_eq!(transition(Some(&n), &m(false, 10, 20)), None);
    }

    #[test]
    fn severities_map_to_statuses() {
        assert_eq!(
            severity_status(Some("critical")),
            ComponentStatus::MajorOutage
        );
        assert_eq!(
            severity_status(Some("error")),
            ComponentStatus::PartialOutage
        );
        assert_eq!(
            severity_status(Some("major")),
            ComponentStatus::PartialOutage
        );
        assert_eq!(
            severity_status(Some("warning")),
            ComponentStatus::DegradedPerformance
        );
    }
}
