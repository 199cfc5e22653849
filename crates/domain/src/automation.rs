//! Automation: integrations that move component statuses for the page's team — Prometheus
//! Alertmanager and generic webhooks (pushed to herald), heartbeats (pinged) and built-in
//! checks (run by herald).
//!
//! An integration has a secret token, shown once and stored as a SHA-256 hash (like an API
//! key), and acts under its own audit identity ([`crate::actor::Actor::integration`]).
//! Every source ends in the same decision ([`decide`]): automation acts on a change of what
//! it *wants* (edge-triggered), so a repeat or a duplicate changes nothing and a status a
//! person set stays until automation wants something new; a component with an open incident
//! is left to the people handling it (the change is recorded as held back) unless the page
//! allows automation to override; and a component automation changed within the flap
//! window waits for the window's end, taking only the last wish.

pub mod alerts;
pub mod checks;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::component::Component;
use crate::error::required_name;
use crate::id::PageId;
use crate::status::{ComponentStatus, string_enum};
use crate::{Invalid, Result};

/// Integration tokens start with this (API keys with `hrld_`).
pub const TOKEN_PREFIX: &str = "hrli_";

/// Flap window a new Alertmanager or webhook integration gets.
pub const DEFAULT_FLAP_WINDOW_SECONDS: u32 = 60;

string_enum! {
    /// What kind of integration.
    IntegrationKind {
        /// Prometheus Alertmanager's webhook receiver (payload version 4).
        Alertmanager = "alertmanager",
        /// `{"component", "status", "message"}` or a list of them.
        Webhook = "webhook",
        /// A ping URL that must be called every interval.
        Heartbeat = "heartbeat",
        /// An HTTP(S) request herald makes.
        Http = "http",
        /// A TCP connection herald opens.
        Tcp = "tcp",
        /// A TLS certificate whose expiry herald watches.
        Tls = "tls",
    }
}

impl IntegrationKind {
    /// Whether herald runs it (or watches for its pings) rather than receiving alerts.
    pub fn is_check(self) -> bool {
        !matches!(self, Self::Alertmanager | Self::Webhook)
    }
}

/// An incident automation opens from a template when it moves a component away from
/// operational and no open incident names the component; the resolve posts its resolving
/// update. Herald has no unpublished (draft) incidents: `publish: false` opens none and
/// records in the audit log (`automation.incident_draft`) what would have been opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentRule {
    /// An incident template of the page: the incident's name and first message.
    pub template_id: String,
    /// `true`: open the incident (subscribers hear of it as of any incident); `false`
    /// (the default): only record what would have been opened.
    #[serde(default)]
    pub publish: bool,
}

/// `incident` as clients send it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct IncidentRuleInput {
    pub template_id: Option<String>,
    pub publish: Option<bool>,
}

impl IncidentRule {
    /// Validates `input` (sent as `field`) against the page's template ids.
    pub fn parse(field: &str, input: &IncidentRuleInput, templates: &[String]) -> Result<Self> {
        let id = input.template_id.as_deref().map(str::trim).unwrap_or("");
        if id.is_empty() {
            return Err(Invalid::new(
                format!("{field}.template_id"),
                format!(
                    "{field}.template_id is required: the id of an incident template of this page"
                ),
            ));
        }
        if !templates.iter().any(|t| t == id) {
            return Err(Invalid::new(
                format!("{field}.template_id"),
                format!("{field}.template_id: no incident template {id:?} on this page"),
            ));
        }
        Ok(Self {
            template_id: id.to_owned(),
            publish: input.publish.unwrap_or(false),
        })
    }
}

/// Maps alerts carrying a label (with a value, if given) to a component and/or a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    /// The label to look at.
    pub label: String,
    /// The value it must have; absent: any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The component (id or exact name) such alerts concern, unless they name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The status such alerts set while firing, unless a `status` annotation says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ComponentStatus>,
    /// The incident such alerts open (over the integration's own `incident`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentRule>,
}

impl Rule {
    /// Whether the rule matches these labels.
    pub fn matches(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        labels
            .get(&self.label)
            .is_some_and(|v| self.value.as_ref().is_none_or(|want| want == v))
    }
}

/// An integration's settings, stored as one JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationConfig {
    /// Alertmanager: label rules, first match wins.
    pub rules: Vec<Rule>,
    /// A component automation changed less than this long ago waits for the window's end.
    pub flap_window_seconds: u32,
    /// Heartbeats and checks: the settings of the check.
    pub check: Option<checks::CheckConfig>,
    /// The incident a change away from operational opens (Alertmanager: unless the
    /// alert's rule names one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentRule>,
}

impl Default for IntegrationConfig {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            flap_window_seconds: DEFAULT_FLAP_WINDOW_SECONDS,
            check: None,
            incident: None,
        }
    }
}

/// A stored integration, without its token.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: String,
    pub page_id: PageId,
    pub kind: IntegrationKind,
    pub name: String,
    pub config: IntegrationConfig,
    /// The first 12 characters of the token, to tell tokens apart.
    pub token_prefix: String,
    /// Requests (alerts, pings) received.
    pub requests: i64,
    pub last_request_at: Option<DateTime<Utc>>,
    /// Heartbeats and checks: what the last runs found.
    pub check_state: checks::CheckState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rule as clients send it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct RuleInput {
    pub label: Option<String>,
    pub value: Option<String>,
    pub component: Option<String>,
    pub status: Option<ComponentStatus>,
    pub incident: Option<IncidentRuleInput>,
}

/// An integration as clients send it, inside `{"integration": {...}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct IntegrationInput {
    /// `alertmanager`, `webhook`, `heartbeat`, `http`, `tcp` or `tls`; set at creation.
    #[serde(rename = "type")]
    pub kind: Option<IntegrationKind>,
    pub name: Option<String>,
    pub rules: Option<Vec<RuleInput>>,
    pub flap_window_seconds: Option<u32>,
    /// The incident a change away from operational opens; `null` on update removes it.
    #[serde(deserialize_with = "crate::patch::double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<IncidentRuleInput>))]
    pub incident: Option<Option<IncidentRuleInput>>,
    /// On update: `true` issues a new token (the old one stops working at once).
    pub rotate_token: Option<bool>,
    /// Heartbeats and checks.
    #[serde(flatten)]
    pub check: checks::CheckInput,
}

/// Finds a component (not a group) by id or exact name.
pub fn find_component<'a>(components: &'a [Component], key: &str) -> Option<&'a Component> {
    components
        .iter()
        .filter(|c| !c.is_group)
        .find(|c| c.id == key)
        .or_else(|| {
            components
                .iter()
                .filter(|c| !c.is_group)
                .find(|c| c.name == key)
        })
}

fn parse_rules(
    input: &[RuleInput],
    components: &[Component],
    templates: &[String],
) -> Result<Vec<Rule>> {
    if input.len() > 100 {
        return Err(Invalid::new(
            "integration.rules",
            "integration.rules: at most 100 rules",
        ));
    }
    input
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = |name: &str| format!("integration.rules[{i}].{name}");
            let label = required_name(&f("label"), r.label.as_deref().unwrap_or(""), 255)?;
            if r.component.is_none() && r.status.is_none() {
                return Err(Invalid::new(
                    f("component"),
                    format!(
                        "{}: a rule needs a component, a status or both",
                        f("component")
                    ),
                ));
            }
            if let Some(c) = &r.component
                && find_component(components, c).is_none()
            {
                return Err(Invalid::new(
                    f("component"),
                    format!("{}: no component {c:?} on this page", f("component")),
                ));
            }
            Ok(Rule {
                label,
                value: r.value.clone(),
                component: r.component.clone(),
                status: r.status,
                incident: r
                    .incident
                    .as_ref()
                    .map(|x| IncidentRule::parse(&f("incident"), x, templates))
                    .transpose()?,
            })
        })
        .collect()
}

impl Integration {
    /// Validates a new integration of the page whose components are `components` and whose
    /// incident templates have the ids `templates`.
    pub fn parse(
        page_id: &PageId,
        input: &IntegrationInput,
        components: &[Component],
        templates: &[String],
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let kind = input.kind.ok_or_else(|| {
            Invalid::new(
                "integration.type",
                "integration.type is required: one of alertmanager, webhook, heartbeat, http, tcp, tls",
            )
        })?;
        let mut i = Self {
            id: crate::id::generate(),
            page_id: page_id.to_owned(),
            kind,
            name: String::new(),
            config: IntegrationConfig::default(),
            token_prefix: String::new(),
            requests: 0,
            last_request_at: None,
            check_state: checks::CheckState::default(),
            created_at: now,
            updated_at: now,
        };
        if kind.is_check() {
            // Checks damp flapping with their failure and success counts.
            i.config.flap_window_seconds = 0;
            i.config.check = Some(checks::CheckConfig::parse(
                kind,
                &input.check,
                None,
                components,
            )?);
        }
        i.apply(
            &IntegrationInput {
                kind: None,
                check: checks::CheckInput::default(),
                ..input.clone()
            },
            components,
            templates,
            now,
        )?;
        if input.name.is_none() {
            return Err(Invalid::new(
                "integration.name",
                "integration.name can't be blank",
            ));
        }
        Ok(i)
    }

    /// Applies a change; on any error nothing is applied.
    pub fn apply(
        &mut self,
        input: &IntegrationInput,
        components: &[Component],
        templates: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if input.kind.is_some_and(|k| k != self.kind) {
            return Err(Invalid::new(
                "integration.type",
                "integration.type cannot change; create another integration",
            ));
        }
        let mut next = self.clone();
        if let Some(n) = &input.name {
            next.name = required_name("integration.name", n, 255)?;
        }
        if let Some(r) = &input.rules {
            next.config.rules = parse_rules(r, components, templates)?;
        }
        if let Some(x) = &input.incident {
            next.config.incident = x
                .as_ref()
                .map(|x| IncidentRule::parse("integration.incident", x, templates))
                .transpose()?;
        }
        if let Some(w) = input.flap_window_seconds {
            if w > 86_400 {
                return Err(Invalid::new(
                    "integration.flap_window_seconds",
                    "integration.flap_window_seconds must be at most 86400 (a day)",
                ));
            }
            next.config.flap_window_seconds = w;
        }
        if let Some(c) = &self.config.check {
            next.config.check = Some(checks::CheckConfig::parse(
                self.kind,
                &input.check,
                Some(c),
                components,
            )?);
        }
        next.updated_at = now;
        *self = next;
        Ok(())
    }
}

/// What automation knows of one component: what it last wanted, what it last did, and what
/// waits or was held back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComponentAutomation {
    pub component_id: String,
    /// What automation last wanted; a wish equal to it is a repeat.
    pub desired: Option<ComponentStatus>,
    /// The last change automation made: when, by which integration, why.
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
    pub changed_reason: Option<String>,
    /// A change waiting for the flap window's end.
    pub pending: Option<Wish>,
    pub pending_due_at: Option<DateTime<Utc>>,
    /// The last change held back because an incident was open on the component.
    pub held: Option<Wish>,
    pub held_at: Option<DateTime<Utc>>,
    /// The incident automation opened for the component and has not resolved yet.
    pub incident_id: Option<String>,
}

/// A status some integration wants for a component, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Wish {
    pub status: ComponentStatus,
    /// The integration.
    pub source: String,
    /// In words: `alert HighErrorRate firing (critical)`, `heartbeat missed`.
    pub reason: String,
    /// The incident to open if this wish moves the component away from operational.
    pub incident: Option<IncidentRule>,
}

/// What to do with a wish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Automation already wanted this: nothing happens.
    Repeat,
    /// Change the component now.
    Change,
    /// The wish is the component's status already: only remember it.
    Same,
    /// An incident is open on the component: record, do not change.
    HeldBack,
    /// Within the flap window: wait until `due`.
    Deferred { due: DateTime<Utc> },
}

/// Decides what a wish does to a component whose status is `current`. `incident_open`: an
/// unresolved incident (or running maintenance) names it and the page does not let
/// automation override; `flap_window`: the integration's.
pub fn decide(
    state: &ComponentAutomation,
    current: ComponentStatus,
    wish: ComponentStatus,
    incident_open: bool,
    flap_window: TimeDelta,
    now: DateTime<Utc>,
) -> Decision {
    if state.desired == Some(wish) {
        return Decision::Repeat;
    }
    if incident_open {
        return if wish == current {
            Decision::Same
        } else {
            Decision::HeldBack
        };
    }
    if wish == current {
        return Decision::Same;
    }
    match state.changed_at {
        Some(at) if at + flap_window > now => Decision::Deferred {
            due: at + flap_window,
        },
        _ => Decision::Change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_ms;
    use ComponentStatus::*;

    #[test]
    fn repeats_change_nothing_and_a_recent_change_defers_the_next() {
        let now = from_ms(1_000_000);
        let w = TimeDelta::seconds(60);
        let mut s = ComponentAutomation::default();
        assert_eq!(
            decide(&s, Operational, MajorOutage, false, w, now),
            Decision::Change
        );
        s.desired = Some(MajorOutage);
        s.changed_at = Some(now);
        assert_eq!(
            decide(&s, MajorOutage, MajorOutage, false, w, now),
            Decision::Repeat
        );
        // A person set it back: automation repeating its wish leaves their status alone.
        assert_eq!(
            decide(&s, Operational, MajorOutage, false, w, now),
            Decision::Repeat
        );
        let later = now + TimeDelta::seconds(10);
        assert_eq!(
            decide(&s, MajorOutage, Operational, false, w, later),
            Decision::Deferred { due: now + w }
        );
        assert_eq!(
            decide(&s, MajorOutage, Operational, false, w, now + w),
            Decision::Change
        );
        assert_eq!(
            decide(&s, MajorOutage, Operational, true, w, now + w),
            Decision::HeldBack
        );
    }
}

/// What a request (or a reconciler run) did to components.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    /// Components changed now.
    pub changed: Vec<Change>,
    /// Changes not made because an open incident names the component.
    pub held_back: Vec<Change>,
    /// Changes waiting for the flap window's end.
    pub deferred: Vec<Change>,
    /// Alerts whose stored state changed (duplicates and repeats do not count).
    pub alerts_updated: usize,
    /// Alerts that concern no component (no `component` label and no rule for them).
    pub ignored: usize,
    /// Incidents opened, updated or resolved (and drafts recorded) by automation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<IncidentAction>,
}

impl Outcome {
    /// Whether a component or an incident changed (the public page must be re-rendered).
    pub fn page_changed(&self) -> bool {
        !self.changed.is_empty() || self.incidents.iter().any(|i| i.incident_id.is_some())
    }
}

/// What automation did with an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentAction {
    /// `opened`, `updated`, `resolved` or `draft` (recorded, not opened).
    pub action: &'static str,
    /// The incident; absent for a draft.
    pub incident_id: Option<String>,
    pub component_id: String,
    /// The template it was opened from (absent when updated or resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
}

/// One component's change (made, held back or deferred).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub component_id: String,
    /// The component's name.
    pub component: String,
    pub from: ComponentStatus,
    pub to: ComponentStatus,
    /// Why, in words.
    pub reason: String,
}

#[cfg(test)]
mod incident_rule_tests {
    use super::*;

    #[test]
    fn an_incident_rule_names_a_template_of_the_page() {
        let templates = vec!["t1".to_owned()];
        let ok = IncidentRule::parse(
            "integration.incident",
            &IncidentRuleInput {
                template_id: Some("t1".into()),
                publish: Some(true),
            },
            &templates,
        )
        .unwrap();
        assert!(ok.publish);
        let e = IncidentRule::parse(
            "integration.rules[0].incident",
            &IncidentRuleInput {
                template_id: Some("other-page".into()),
                publish: None,
            },
            &templates,
        )
        .unwrap_err();
        assert_eq!(e.field, "integration.rules[0].incident.template_id");
        let e = IncidentRule::parse(
            "integration.incident",
            &IncidentRuleInput::default(),
            &templates,
        )
        .unwrap_err();
        assert_eq!(e.field, "integration.incident.template_id");
    }
}
