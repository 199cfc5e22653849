//! Postmortems: a draft saved any time, published once the incident is resolved (the
//! incident's status then becomes `postmortem`), and taken back to draft.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Incident, IncidentKind};
use crate::error::optional_text;
use crate::status::IncidentStatus;
use crate::{Invalid, Result};

/// Longest postmortem.
pub const POSTMORTEM_MAX: usize = 100_000;

/// An incident's postmortem: a draft, and the published text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Postmortem {
    pub body: Option<String>,
    pub body_updated_at: Option<DateTime<Utc>>,
    pub body_draft: Option<String>,
    pub body_draft_updated_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub notify_subscribers: bool,
    pub notify_twitter: bool,
    pub custom_tweet: Option<String>,
    pub ignored: bool,
    pub notified_subscribers: bool,
    pub notified_twitter: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A postmortem request body, inside `{"postmortem": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PostmortemInput {
    pub body_draft: Option<String>,
    pub notify_subscribers: Option<bool>,
    pub notify_twitter: Option<bool>,
    pub custom_tweet: Option<String>,
}

/// Saves a postmortem draft.
pub fn save_postmortem_draft(
    current: &Postmortem,
    input: &PostmortemInput,
    now: DateTime<Utc>,
) -> Result<Postmortem> {
    let draft = input.body_draft.as_deref().ok_or_else(|| {
        Invalid::new("postmortem.body_draft", "postmortem.body_draft is required")
    })?;
    let n = draft.chars().count();
    if n > POSTMORTEM_MAX {
        return Err(Invalid::new(
            "postmortem.body_draft",
            format!(
                "postmortem.body_draft is too long ({n} characters; the maximum is {POSTMORTEM_MAX})"
            ),
        ));
    }
    let mut p = current.clone();
    p.body_draft = Some(draft.to_owned());
    p.body_draft_updated_at = Some(now);
    p.created_at.get_or_insert(now);
    p.updated_at = Some(now);
    Ok(p)
}

/// Publishes the draft. Only a resolved incident can have a published postmortem; the
/// incident's status becomes `postmortem`.
pub fn publish_postmortem(
    incident: &Incident,
    input: &PostmortemInput,
    now: DateTime<Utc>,
) -> Result<Incident> {
    if incident.kind != IncidentKind::Realtime
        || !matches!(
            incident.status,
            IncidentStatus::Resolved | IncidentStatus::Postmortem
        )
    {
        return Err(Invalid::new(
            "postmortem",
            "a postmortem can only be published for a resolved incident",
        ));
    }
    let mut i = incident.clone();
    i.updates.clear();
    let p = &mut i.postmortem;
    let draft = match &p.body_draft {
        Some(d) if !d.trim().is_empty() => d.clone(),
        _ => {
            return Err(Invalid::new(
                "postmortem.body_draft",
                "write a postmortem draft before publishing it",
            ));
        }
    };
    p.body = Some(draft);
    p.body_updated_at = Some(now);
    p.published_at = Some(now);
    p.notify_subscribers = input.notify_subscribers.unwrap_or(false);
    p.notify_twitter = input.notify_twitter.unwrap_or(false);
    p.custom_tweet = optional_text(
        "postmortem.custom_tweet",
        input.custom_tweet.as_deref(),
        280,
    )?;
    p.updated_at = Some(now);
    i.status = IncidentStatus::Postmortem;
    i.updated_at = now;
    Ok(i)
}

/// Takes a published postmortem back to draft; the incident returns to `resolved`.
pub fn revert_postmortem(incident: &Incident, now: DateTime<Utc>) -> Result<Incident> {
    if incident.postmortem.published_at.is_none() {
        return Err(Invalid::new(
            "postmortem",
            "the postmortem is not published",
        ));
    }
    let mut i = incident.clone();
    i.updates.clear();
    i.postmortem.published_at = None;
    i.postmortem.body = None;
    i.postmortem.body_updated_at = None;
    i.postmortem.updated_at = Some(now);
    if i.status == IncidentStatus::Postmortem {
        i.status = IncidentStatus::Resolved;
    }
    i.updated_at = now;
    Ok(i)
}
