//! Source objects (Statuspage v1 JSON) into herald's domain types, through herald's own
//! validation. A record that breaks a rule is refused with a sentence naming the field; the
//! caller reports it with the record's id and goes on with the others.

use chrono::{DateTime, Utc};
use herald_domain::clock::truncate_ms;
use herald_domain::component::{Component, DESCRIPTION_MAX, NAME_MAX};
use herald_domain::error::{optional_text, required_name};
use herald_domain::id::PageId;
use herald_domain::incident::{
    AffectedComponent, BODY_MAX, Incident, IncidentKind, IncidentUpdate, MaintenanceFlags,
    Postmortem,
};
use herald_domain::metric::{Credentials, Metric, MetricInput, Provider, ProviderKind};
use herald_domain::status::{ComponentStatus, Impact, IncidentStatus};
use herald_domain::subscriber::{Channel, SubscriberState, parse_endpoint, parse_phone};
use herald_domain::template::Template;
use herald_store::ImportedSubscriber;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Why a record was refused.
pub type Refusal = String;

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn flag(v: &Value, key: &str, default: bool) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// The record's id, if it has herald's id shape (Statuspage's ids have it).
pub fn id(v: &Value) -> Result<String, Refusal> {
    let id = text(v, "id").unwrap_or_default();
    if herald_domain::id::looks_valid(id) {
        Ok(id.to_owned())
    } else {
        Err(format!(
            "id {id:?} is not 12 lowercase letters and digits, so it cannot be kept"
        ))
    }
}

/// A timestamp field (`None` when absent or null).
pub fn time(v: &Value, key: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(truncate_ms(t.with_timezone(&Utc))))
            .map_err(|_| format!("{key} is not an ISO 8601 timestamp: {s:?}")),
        Some(other) => Err(format!("{key} is not a timestamp: {other}")),
    }
}

fn parsed<T: std::str::FromStr>(v: &Value, key: &str) -> Result<Option<T>, Refusal> {
    match text(v, key) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} {s:?} is not a value herald knows")),
    }
}

/// A component or group of the source's components list (groups have `group: true`).
pub fn component(v: &Value, page_id: &PageId, now: DateTime<Utc>) -> Result<Component, Refusal> {
    let id = id(v)?;
    let created_at = time(v, "created_at")?.unwrap_or(now);
    let is_group = flag(v, "group", false);
    Ok(Component {
        name: required_name("component.name", text(v, "name").unwrap_or(""), NAME_MAX)
            .map_err(|e| e.message)?,
        description: optional_text(
            "component.description",
            text(v, "description"),
            DESCRIPTION_MAX,
        )
        .map_err(|e| e.message)?,
        status: parsed(v, "status")?.unwrap_or(ComponentStatus::Operational),
        group_id: if is_group {
            None
        } else {
            text(v, "group_id")
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
        },
        is_group,
        position: v.get("position").and_then(Value::as_i64).unwrap_or(0),
        showcase: flag(v, "showcase", !is_group),
        only_show_if_degraded: flag(v, "only_show_if_degraded", false),
        start_date: match text(v, "start_date").filter(|d| !d.is_empty()) {
            Some(d) => Some(
                herald_domain::time::parse_date("component.start_date", d)
                    .map_err(|e| e.message)?,
            ),
            None => None,
        },
        updated_at: time(v, "updated_at")?.unwrap_or(created_at),
        created_at,
        page_id: page_id.to_owned(),
        id,
    })
}

/// Component ids of a list of ids or of component objects, keeping those in `known`.
pub fn component_ids(v: Option<&Value>, known: &HashSet<String>) -> (Vec<String>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for item in v.and_then(Value::as_array).into_iter().flatten() {
        let id = item
            .as_str()
            .or_else(|| item.get("id").and_then(Value::as_str));
        match id {
            Some(id) if known.contains(id) && !kept.iter().any(|k| k == id) => {
                kept.push(id.to_owned());
            }
            Some(id) if known.contains(id) => {}
            Some(id) => dropped.push(id.to_owned()),
            None => {}
        }
    }
    (kept, dropped)
}

fn update(v: &Value, incident_id: &str, now: DateTime<Utc>) -> Result<IncidentUpdate, Refusal> {
    let id = id(v).map_err(|e| format!("an update's {e}"))?;
    let at = |key| time(v, key).map_err(|e| format!("update {id}: {e}"));
    let body = text(v, "body").unwrap_or("");
    if body.chars().count() > BODY_MAX {
        return Err(format!(
            "update {id}: body is longer than {BODY_MAX} characters"
        ));
    }
    let created_at = at("created_at")?.unwrap_or(now);
    let affected: Vec<AffectedComponent> = v
        .get("affected_components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("code").and_then(Value::as_str).is_some())
        .map(|a| {
            serde_json::from_value::<AffectedComponent>(a.clone())
                .map_err(|e| format!("update {id}: an affected component: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(IncidentUpdate {
        status: parsed(v, "status")
            .map_err(|e| format!("update {id}: {e}"))?
            .ok_or_else(|| format!("update {id}: status is missing"))?,
        body: body.trim().to_owned(),
        updated_at: at("updated_at")?.unwrap_or(created_at),
        display_at: at("display_at")?.unwrap_or(created_at),
        created_at,
        deliver_notifications: flag(v, "deliver_notifications", true),
        custom_tweet: text(v, "custom_tweet").map(str::to_owned),
        tweet_id: v.get("tweet_id").and_then(|t| match t {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        wants_twitter_update: flag(v, "wants_twitter_update", false),
        twitter_updated_at: at("twitter_updated_at")?,
        affected_components: (!affected.is_empty()).then_some(affected),
        incident_id: incident_id.to_owned(),
        id,
    })
}

/// An incident or maintenance with its timeline (newest first, as herald keeps it).
/// `known` holds the page's component ids; links to others are dropped.
pub fn incident(
    v: &Value,
    page_id: &PageId,
    known: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Incident, Refusal> {
    let id = id(v)?;
    let status: IncidentStatus = parsed(v, "status")?.ok_or("status is missing")?;
    let created_at = time(v, "created_at")?.unwrap_or(now);
    let scheduled_for = time(v, "scheduled_for")?;
    let mut updates = Vec::new();
    for u in v
        .get("incident_updates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        updates.push(update(u, &id, now)?);
    }
    updates.sort_by_key(|u| std::cmp::Reverse((u.display_at, u.created_at)));
    let pm_updated = time(v, "postmortem_body_last_updated_at")?;
    let pm_body = text(v, "postmortem_body").map(str::to_owned);
    let metadata = match v.get("metadata") {
        Some(m @ Value::Object(_)) => m.clone(),
        _ => json!({}),
    };
    Ok(Incident {
        kind: if scheduled_for.is_some() || status.is_maintenance() {
            IncidentKind::Maintenance
        } else {
            IncidentKind::Realtime
        },
        name: required_name(
            "incident.name",
            text(v, "name").unwrap_or(""),
            herald_domain::incident::NAME_MAX,
        )
        .map_err(|e| e.message)?,
        status,
        impact: parsed(v, "impact")?.unwrap_or(Impact::None),
        impact_override: parsed(v, "impact_override")?,
        updated_at: time(v, "updated_at")?.unwrap_or(created_at),
        started_at: time(v, "started_at")?.unwrap_or(created_at),
        monitoring_at: time(v, "monitoring_at")?,
        resolved_at: time(v, "resolved_at")?,
        scheduled_for,
        scheduled_until: time(v, "scheduled_until")?,
        scheduled_reminded_at: time(v, "scheduled_reminded_at")?,
        flags: MaintenanceFlags {
            remind_prior: flag(v, "scheduled_remind_prior", false),
            auto_in_progress: flag(v, "scheduled_auto_in_progress", false),
            auto_completed: flag(v, "scheduled_auto_completed", false),
            auto_transition_to_maintenance_state: flag(
                v,
                "auto_transition_to_maintenance_state",
                false,
            ),
            auto_transition_to_operational_state: flag(
                v,
                "auto_transition_to_operational_state",
                false,
            ),
            auto_transition_deliver_notifications_at_start: flag(
                v,
                "auto_transition_deliver_notifications_at_start",
                false,
            ),
            auto_transition_deliver_notifications_at_end: flag(
                v,
                "auto_transition_deliver_notifications_at_end",
                false,
            ),
        },
        backfilled: flag(v, "backfilled", false),
        metadata,
        postmortem: Postmortem {
            created_at: pm_body.as_ref().and(pm_updated),
            updated_at: pm_body.as_ref().and(pm_updated),
            body: pm_body,
            body_updated_at: pm_updated,
            published_at: time(v, "postmortem_published_at").unwrap_or(None),
            ignored: flag(v, "postmortem_ignored", false),
            notified_subscribers: flag(v, "postmortem_notified_subscribers", false),
            notified_twitter: flag(v, "postmortem_notified_twitter", false),
            ..Postmortem::default()
        },
        component_ids: component_ids(v.get("components"), known).0,
        updates,
        created_at,
        page_id: page_id.to_owned(),
        id,
    })
}

/// An incident template.
pub fn template(
    v: &Value,
    page_id: &PageId,
    known: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Template, Refusal> {
    let id = id(v)?;
    let body = text(v, "body").unwrap_or("");
    if body.chars().count() > BODY_MAX {
        return Err(format!("body is longer than {BODY_MAX} characters"));
    }
    let created_at = time(v, "created_at")?.unwrap_or(now);
    Ok(Template {
        name: required_name("template.name", text(v, "name").unwrap_or(""), 255)
            .map_err(|e| e.message)?,
        title: required_name(
            "template.title",
            text(v, "title").unwrap_or(""),
            herald_domain::incident::NAME_MAX,
        )
        .map_err(|e| e.message)?,
        body: body.trim().to_owned(),
        group_id: text(v, "group_id").map(str::to_owned),
        update_status: parsed(v, "update_status")?,
        should_tweet: flag(v, "should_tweet", false),
        should_send_notifications: flag(v, "should_send_notifications", true),
        component_ids: component_ids(v.get("components"), known).0,
        updated_at: time(v, "updated_at")?.unwrap_or(created_at),
        created_at,
        page_id: page_id.to_owned(),
        id,
    })
}

/// A subscriber of the list read with `state` (the item's own `state`, a herald extension,
/// wins). `incidents` holds the incident ids on the page.
pub fn subscriber(
    v: &Value,
    state: SubscriberState,
    known: &HashSet<String>,
    incidents: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<ImportedSubscriber, Refusal> {
    let id = id(v)?;
    let mode = text(v, "mode").unwrap_or("email");
    let channel: Channel = mode
        .parse()
        .map_err(|()| format!("mode {mode:?} has no herald equivalent"))?;
    let email = text(v, "email")
        .filter(|e| !e.trim().is_empty())
        .map(|e| herald_domain::page::parse_email("subscriber.email", e).map(|e| e.to_lowercase()))
        .transpose()
        .map_err(|e| e.message)?;
    let (phone_number, phone_country) = match channel {
        Channel::Sms => {
            let n = text(v, "phone_number").ok_or("an SMS subscriber without phone_number")?;
            let (n, c) = parse_phone(n, text(v, "phone_country")).map_err(|e| e.message)?;
            (Some(n), Some(c))
        }
        _ => (None, None),
    };
    let endpoint = match channel {
        c if c.is_http() => Some(
            parse_endpoint(
                "subscriber.endpoint",
                text(v, "endpoint").ok_or_else(|| {
                    format!("a {mode} subscriber without an endpoint URL (a Slack app subscription cannot be moved; re-subscribe with an incoming webhook)")
                })?,
            )
            .map_err(|e| e.message)?,
        ),
        _ => None,
    };
    match channel {
        Channel::Email if email.is_none() => return Err("an email subscriber without email".into()),
        Channel::Webhook if email.is_none() => {
            return Err("a webhook subscriber without a contact email (herald needs one)".into());
        }
        _ => {}
    }
    let state = match parsed::<SubscriberState>(v, "state")? {
        Some(SubscriberState::Unsubscribed) => return Err("unsubscribed".into()),
        Some(s) => s,
        None => state,
    };
    let incident_id = text(v, "incident_id").filter(|i| !i.is_empty());
    if let Some(i) = incident_id
        && !incidents.contains(i)
    {
        return Err(format!("follows incident {i}, which was not imported"));
    }
    Ok(ImportedSubscriber {
        channel,
        email: if channel == Channel::Sms { None } else { email },
        phone_number,
        phone_country,
        endpoint,
        incident_id: incident_id.map(str::to_owned),
        component_ids: component_ids(v.get("components"), known).0,
        state,
        created_at: time(v, "created_at")?.unwrap_or(now),
        quarantined_at: time(v, "quarantined_at")?,
        secret: (channel == Channel::Webhook).then(herald_notify::signing::new_secret),
        id,
    })
}

/// A metrics provider. Its credentials are not in the source's object (Statuspage never
/// returns them): a Datadog or New Relic provider comes without them, and disabled, so
/// herald does not poll it until an operator sets them (`needs_credentials`).
pub fn provider(v: &Value, page_id: &PageId, now: DateTime<Utc>) -> Result<Provider, Refusal> {
    let id = id(v)?;
    let kind = ProviderKind::parse("type", text(v, "type").unwrap_or("")).map_err(|e| e.message)?;
    let metric_base_uri = optional_text("metric_base_uri", text(v, "metric_base_uri"), 2048)
        .map_err(|e| e.message)?;
    if kind == ProviderKind::Prometheus && metric_base_uri.is_none() {
        return Err("a Prometheus provider without metric_base_uri".to_owned());
    }
    let created_at = time(v, "created_at")?.unwrap_or(now);
    let p = Provider {
        kind,
        disabled: flag(v, "disabled", false) || needs_credentials(kind),
        metric_base_uri,
        credentials: Credentials::default(),
        account_id: v.get("account_id").and_then(Value::as_i64),
        last_revalidated_at: time(v, "last_revalidated_at")?,
        updated_at: time(v, "updated_at")?.unwrap_or(created_at),
        created_at,
        page_id: page_id.to_owned(),
        id,
    };
    Ok(p)
}

/// Whether a provider of `kind` cannot be polled without credentials the source never sends.
pub fn needs_credentials(kind: ProviderKind) -> bool {
    matches!(kind, ProviderKind::Datadog | ProviderKind::NewRelic)
}

/// A metric of `provider`, the `position`-th of the page; a new pulled metric is filled from
/// 28 days before `now` at its first poll.
pub fn metric(
    v: &Value,
    provider: &Provider,
    position: i64,
    now: DateTime<Utc>,
) -> Result<Metric, Refusal> {
    let id = id(v)?;
    let input: MetricInput = serde_json::from_value(json!({
        "name": v.get("name").cloned().unwrap_or(Value::Null),
        "metric_identifier": v.get("metric_identifier").cloned().unwrap_or(Value::Null),
        "transform": v.get("transform").cloned().unwrap_or(Value::Null),
        "suffix": v.get("suffix").cloned().unwrap_or(Value::Null),
        "y_axis_min": v.get("y_axis_min").cloned().unwrap_or(Value::Null),
        "y_axis_max": v.get("y_axis_max").cloned().unwrap_or(Value::Null),
        "y_axis_hidden": v.get("y_axis_hidden").cloned().unwrap_or(Value::Null),
        "display": v.get("display").cloned().unwrap_or(Value::Null),
        "decimal_places": v.get("decimal_places").cloned().unwrap_or(Value::Null),
        "tooltip_description": v.get("tooltip_description").cloned().unwrap_or(Value::Null),
    }))
    .map_err(|e| format!("unreadable: {e}"))?;
    let mut m = Metric::parse(provider, &input, now).map_err(|e| e.message)?;
    let created_at = time(v, "created_at")?.unwrap_or(now);
    m.updated_at = time(v, "updated_at")?.unwrap_or(created_at);
    m.created_at = created_at;
    m.position = position;
    m.id = id;
    Ok(m)
}
