//! Incident templates: canned name, message and status for common incidents.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::{optional_text, required_name};
use crate::id::PageId;
use crate::status::IncidentStatus;
use crate::{Invalid, Result};

/// A saved template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: String,
    pub page_id: PageId,
    /// Name of the template, as shown in the list.
    pub name: String,
    /// Title of the incident it creates.
    pub title: String,
    /// Message of the first update.
    pub body: String,
    /// Optional template group.
    pub group_id: Option<String>,
    /// Status the update takes.
    pub update_status: Option<IncidentStatus>,
    pub should_tweet: bool,
    pub should_send_notifications: bool,
    /// Components the incident affects.
    pub component_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A template as clients send it, inside `{"template": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub group_id: Option<String>,
    pub update_status: Option<IncidentStatus>,
    pub should_tweet: Option<bool>,
    pub should_send_notifications: Option<bool>,
    pub component_ids: Option<Vec<String>>,
}

impl Template {
    /// Validates a new template; `now` stamps it, `id`s of components are checked by the store.
    pub fn parse(page_id: &PageId, input: &TemplateInput, now: DateTime<Utc>) -> Result<Self> {
        let body = input.body.as_deref().unwrap_or("");
        if body.chars().count() > crate::incident::BODY_MAX {
            return Err(Invalid::new(
                "template.body",
                "template.body is too long (the maximum is 25000 characters)",
            ));
        }
        Ok(Self {
            id: crate::id::generate(),
            page_id: page_id.to_owned(),
            name: required_name("template.name", input.name.as_deref().unwrap_or(""), 255)?,
            title: required_name(
                "template.title",
                input.title.as_deref().unwrap_or(""),
                crate::incident::NAME_MAX,
            )?,
            body: body.trim().to_owned(),
            group_id: optional_text("template.group_id", input.group_id.as_deref(), 64)?,
            update_status: input.update_status,
            should_tweet: input.should_tweet.unwrap_or(false),
            should_send_notifications: input.should_send_notifications.unwrap_or(true),
            component_ids: input.component_ids.clone().unwrap_or_default(),
            created_at: now,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_needs_a_name_and_a_title() {
        let now = crate::clock::from_ms(0);
        let e = Template::parse(
            &PageId::from("p"),
            &TemplateInput {
                name: Some("x".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap_err();
        assert_eq!(e.field, "template.title");
        let t = Template::parse(
            &PageId::from("p"),
            &TemplateInput {
                name: Some("DB".into()),
                title: Some("Database slow".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert!(t.should_send_notifications);
        assert_eq!(t.body, "");
    }
}
