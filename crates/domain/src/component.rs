//! Components and component groups.
//!
//! Groups are components with `is_group` set, as in Statuspage's data model: they share the
//! id space and appear in the same flat list, and hold at most one level of children. A
//! group's status is never stored: it is the worst of its children's.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::Result;
use crate::error::{optional_text, required_name};
use crate::id::PageId;
use crate::status::ComponentStatus;

/// Longest component or group name.
pub const NAME_MAX: usize = 255;
/// Longest component description.
pub const DESCRIPTION_MAX: usize = 2000;

/// A component or a component group.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// 12-character id.
    pub id: String,
    /// The page it belongs to.
    pub page_id: PageId,
    /// The group it is in, if any.
    pub group_id: Option<String>,
    /// Whether this is a group.
    pub is_group: bool,
    /// Display name.
    pub name: String,
    /// Tooltip text.
    pub description: Option<String>,
    /// Current status (for a group: the worst of its children, see [`derive_group_statuses`]).
    pub status: ComponentStatus,
    /// Order among its siblings (top level, or within its group), ascending.
    pub position: i64,
    /// Whether the public page shows its 90-day uptime bars.
    pub showcase: bool,
    /// Hidden on the public page while operational.
    pub only_show_if_degraded: bool,
    /// When the component started being used; uptime counts from here.
    pub start_date: Option<NaiveDate>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Sets each group's status to the worst of its children's; a group with no children is
/// operational.
pub fn derive_group_statuses(components: &mut [Component]) {
    let worst: Vec<(String, ComponentStatus)> = components
        .iter()
        .filter(|c| c.is_group)
        .map(|g| {
            let status = ComponentStatus::worst(
                components
                    .iter()
                    .filter(|c| c.group_id.as_deref() == Some(g.id.as_str()))
                    .map(|c| c.status),
            );
            (g.id.clone(), status)
        })
        .collect();
    for c in components.iter_mut() {
        if let Some((_, s)) = worst.iter().find(|(id, _)| *id == c.id) {
            c.status = *s;
        }
    }
}

/// Orders components the way a page shows them: top-level items by position, each group
/// followed by its children by position.
pub fn display_order(components: &[Component]) -> Vec<&Component> {
    let mut top: Vec<&Component> = components.iter().filter(|c| c.group_id.is_none()).collect();
    top.sort_by_key(|c| (c.position, c.created_at));
    let mut out = Vec::with_capacity(components.len());
    for t in top {
        out.push(t);
        if t.is_group {
            let mut kids: Vec<&Component> = components
                .iter()
                .filter(|c| c.group_id.as_deref() == Some(t.id.as_str()))
                .collect();
            kids.sort_by_key(|c| (c.position, c.created_at));
            out.extend(kids);
        }
    }
    out
}

/// A component as clients send it, inside `{"component": {...}}`. Every field is optional
/// here; [`NewComponent::parse`] and [`ComponentPatch::parse`] decide what is required.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ComponentInput {
    /// Display name (required on create, at most 255 characters).
    pub name: Option<String>,
    /// Tooltip text; `null` clears it.
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub description: Option<Option<String>>,
    /// Status; defaults to `operational` on create.
    pub status: Option<ComponentStatus>,
    /// The group to put the component in; `null` takes it out of its group.
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub group_id: Option<Option<String>>,
    /// Show 90-day uptime bars (default true).
    pub showcase: Option<bool>,
    /// Hide on the public page while operational (default false).
    pub only_show_if_degraded: Option<bool>,
    /// `YYYY-MM-DD`; uptime counts from this date.
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub start_date: Option<Option<String>>,
    /// Order among siblings (herald extension).
    pub position: Option<i64>,
}

/// A component to create, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComponent {
    /// Display name.
    pub name: String,
    /// Tooltip text.
    pub description: Option<String>,
    /// Initial status.
    pub status: ComponentStatus,
    /// Group to put it in.
    pub group_id: Option<String>,
    /// Show uptime bars.
    pub showcase: bool,
    /// Hide while operational.
    pub only_show_if_degraded: bool,
    /// Start of service.
    pub start_date: Option<NaiveDate>,
}

fn parse_start_date(d: Option<&str>) -> Result<Option<NaiveDate>> {
    d.filter(|s| !s.trim().is_empty())
        .map(|s| crate::time::parse_date("component.start_date", s))
        .transpose()
}

impl NewComponent {
    /// Validates a component to create. Only the name is required.
    pub fn parse(input: &ComponentInput) -> Result<Self> {
        Ok(Self {
            name: required_name(
                "component.name",
                input.name.as_deref().unwrap_or(""),
                NAME_MAX,
            )?,
            description: optional_text(
                "component.description",
                input.description.as_ref().and_then(|d| d.as_deref()),
                DESCRIPTION_MAX,
            )?,
            status: input.status.unwrap_or(ComponentStatus::Operational),
            group_id: input.group_id.clone().flatten().filter(|g| !g.is_empty()),
            showcase: input.showcase.unwrap_or(true),
            only_show_if_degraded: input.only_show_if_degraded.unwrap_or(false),
            start_date: parse_start_date(input.start_date.as_ref().and_then(|d| d.as_deref()))?,
        })
    }
}

/// A change to a component: each `Some` replaces the current value; `Some(None)` clears an
/// optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<ComponentStatus>,
    /// `Some(None)` moves the component out of its group.
    pub group_id: Option<Option<String>>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    pub start_date: Option<Option<NaiveDate>>,
    pub position: Option<i64>,
}

impl ComponentPatch {
    /// Validates a patch: only the fields sent are checked and changed.
    pub fn parse(input: &ComponentInput) -> Result<Self> {
        Ok(Self {
            name: input
                .name
                .as_deref()
                .map(|n| required_name("component.name", n, NAME_MAX))
                .transpose()?,
            description: input
                .description
                .as_ref()
                .map(|d| optional_text("component.description", d.as_deref(), DESCRIPTION_MAX))
                .transpose()?,
            status: input.status,
            group_id: input.group_id.clone().map(|g| g.filter(|g| !g.is_empty())),
            showcase: input.showcase,
            only_show_if_degraded: input.only_show_if_degraded,
            start_date: input
                .start_date
                .as_ref()
                .map(|d| parse_start_date(d.as_deref()))
                .transpose()?,
            position: input.position,
        })
    }

    /// A patch that only sets the status.
    pub fn status(status: ComponentStatus) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }
}

/// A component group to create or replace, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    /// Display name.
    pub name: String,
    /// Tooltip text.
    pub description: Option<String>,
    /// The components it holds, in order.
    pub component_ids: Vec<String>,
}

impl GroupInput {
    /// Validates a group. Statuspage requires a name and at least one component.
    pub fn parse(
        name: &str,
        description: Option<&str>,
        component_ids: Vec<String>,
    ) -> Result<Self> {
        let name = required_name("component_group.name", name, NAME_MAX)?;
        let description = optional_text("description", description, DESCRIPTION_MAX)?;
        if component_ids.is_empty() {
            return Err(crate::Invalid::new(
                "component_group.components",
                "component_group.components must list at least one component id",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        let component_ids: Vec<String> = component_ids
            .into_iter()
            .filter(|c| seen.insert(c.clone()))
            .collect();
        Ok(Self {
            name,
            description,
            component_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_ms;
    use ComponentStatus as S;

    fn c(id: &str, group: Option<&str>, is_group: bool, pos: i64, status: S) -> Component {
        Component {
            id: id.into(),
            page_id: "p".into(),
            group_id: group.map(Into::into),
            is_group,
            name: id.into(),
            description: None,
            status,
            position: pos,
            showcase: true,
            only_show_if_degraded: false,
            start_date: None,
            created_at: from_ms(0),
            updated_at: from_ms(0),
        }
    }

    #[test]
    fn groups_take_their_worst_childs_status() {
        let mut v = vec![
            c("g", None, true, 1, S::Operational),
            c("a", Some("g"), false, 1, S::DegradedPerformance),
            c("b", Some("g"), false, 2, S::PartialOutage),
            c("e", None, true, 2, S::MajorOutage),
        ];
        derive_group_statuses(&mut v);
        assert_eq!(v[0].status, S::PartialOutage);
        assert_eq!(v[3].status, S::Operational, "an empty group is operational");
    }

    #[test]
    fn display_order_puts_children_after_their_group() {
        let v = vec![
            c("b", Some("g"), false, 2, S::Operational),
            c("x", None, false, 2, S::Operational),
            c("a", Some("g"), false, 1, S::Operational),
            c("g", None, true, 1, S::Operational),
        ];
        let ids: Vec<&str> = display_order(&v).iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["g", "a", "b", "x"]);
    }

    #[test]
    fn new_component_needs_a_name_and_defaults_the_rest() {
        assert!(NewComponent::parse(&ComponentInput::default()).is_err());
        let input: ComponentInput = serde_json::from_str(
            r#"{"name": " API ", "group_id": "", "start_date": "2024-01-02", "unknown": 1}"#,
        )
        .unwrap();
        let n = NewComponent::parse(&input).unwrap();
        assert_eq!(n.name, "API");
        assert_eq!(n.status, S::Operational);
        assert_eq!(n.group_id, None);
        assert_eq!(n.start_date.unwrap().to_string(), "2024-01-02");
    }

    #[test]
    fn group_needs_components_and_drops_duplicates() {
        assert!(GroupInput::parse("Core", None, vec![]).is_err());
        let g = GroupInput::parse("Core", None, vec!["a".into(), "b".into(), "a".into()]).unwrap();
        assert_eq!(g.component_ids, ["a", "b"]);
    }
}

#[cfg(test)]
mod patch_tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_was_sent() {
        let input: ComponentInput =
            serde_json::from_str(r#"{"status": "major_outage", "description": null}"#).unwrap();
        let p = ComponentPatch::parse(&input).unwrap();
        assert_eq!(p.status, Some(ComponentStatus::MajorOutage));
        assert_eq!(p.description, Some(None));
        assert_eq!(p.name, None);
        assert_eq!(p.group_id, None);
    }

    #[test]
    fn unknown_statuses_do_not_parse() {
        let r: std::result::Result<ComponentInput, _> =
            serde_json::from_str(r#"{"status": "on_fire"}"#);
        assert!(r.is_err());
    }
}

/// A change to a group: `component_ids`, when sent, replaces its membership.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub component_ids: Option<Vec<String>>,
    pub position: Option<i64>,
}

impl GroupPatch {
    /// Validates a group patch.
    pub fn parse(
        name: Option<&str>,
        description: Option<Option<&str>>,
        component_ids: Option<Vec<String>>,
        position: Option<i64>,
    ) -> Result<Self> {
        if component_ids.as_ref().is_some_and(|c| c.is_empty()) {
            return Err(crate::Invalid::new(
                "component_group.components",
                "component_group.components must list at least one component id",
            ));
        }
        Ok(Self {
            name: name
                .map(|n| required_name("component_group.name", n, NAME_MAX))
                .transpose()?,
            description: description
                .map(|d| optional_text("description", d, DESCRIPTION_MAX))
                .transpose()?,
            component_ids: component_ids.map(|ids| {
                let mut seen = std::collections::HashSet::new();
                ids.into_iter().filter(|c| seen.insert(c.clone())).collect()
            }),
            position,
        })
    }
}
