//! The automation screen's create form turned into the v1 API's integration input: numbers,
//! status codes, the type and the failing status parsed here so that a bad one is a message
//! beside its field; the rules about values (ranges, targets, components) stay the domain's.

use herald_domain::automation::checks::{CheckInput, Whole};
use herald_domain::automation::{IncidentRuleInput, IntegrationInput, IntegrationKind};
use herald_domain::status::ComponentStatus;
use std::collections::HashMap;

use super::form::FormState;

/// The number fields of the form, as the API names them.
const NUMBERS: &[&str] = &[
    "interval_seconds",
    "grace_seconds",
    "timeout_seconds",
    "failures_before_change",
    "successes_before_recovery",
    "expiry_days",
    "max_latency_ms",
    "flap_window_seconds",
];
/// The form's fields as the API's integration input (`template_id` and `publish`: the
/// incident it opens); a field that is not a number where one
/// is wanted is a message on that field.
pub(super) fn input(f: &mut FormState) -> IntegrationInput {
    let fields = f.fields.clone();
    let mut n = |name: &str| -> Option<u32> {
        let v = fields.opt(name)?;
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                f.add(name, "Enter a whole number of 0 or more.");
                None
            }
        }
    };
    let mut nums: HashMap<&str, Option<u32>> = HashMap::new();
    for name in NUMBERS {
        nums.insert(*name, n(name));
    }
    let expected_status = fields
        .opt("expected_status")
        .and_then(|v| match v.parse::<u16>() {
            Ok(s) if (100..=599).contains(&s) => Some(s),
            _ => {
                f.add("expected_status", "Enter an HTTP status code (100 to 599).");
                None
            }
        });
    let kind = match fields.get("type") {
        "" => {
            f.add("type", "Choose a type.");
            None
        }
        k => match IntegrationKind::parse("type", k) {
            Ok(k) => Some(k),
            Err(_) => {
                f.add("type", "Choose one of the types offered.");
                None
            }
        },
    };
    let down_status =
        fields
            .opt("down_status")
            .and_then(|v| match ComponentStatus::parse("down_status", &v) {
                Ok(s) => Some(s),
                Err(_) => {
                    f.add("down_status", "Choose one of the statuses offered.");
                    None
                }
            });
    let is_check = kind.is_some_and(IntegrationKind::is_check);
    let num = |name: &str| nums.get(name).copied().flatten();
    let whole = |name: &str| num(name).map(Whole::Number);
    IntegrationInput {
        kind,
        name: Some(fields.get("name").to_owned()),
        rules: None,
        flap_window_seconds: num("flap_window_seconds").filter(|_| !is_check),
        rotate_token: None,
        // The incident opened from a template when it moves a component (the API's
        // `incident`); `publish` unticked only records what would have been opened.
        incident: fields.opt("template_id").map(|t| {
            Some(IncidentRuleInput {
                template_id: Some(t),
                publish: Some(fields.get("publish") == "on"),
            })
        }),
        check: if is_check {
            CheckInput {
                component_id: fields.opt("component_id"),
                down_status,
                interval_seconds: whole("interval_seconds"),
                grace_seconds: whole("grace_seconds"),
                timeout_seconds: whole("timeout_seconds"),
                failures_before_change: whole("failures_before_change"),
                successes_before_recovery: whole("successes_before_recovery"),
                target: fields.opt("target"),
                expected_status,
                max_latency_ms: whole("max_latency_ms"),
                body_contains: fields.opt("body_contains"),
                expiry_days: whole("expiry_days"),
            }
        } else {
            CheckInput::default()
        },
    }
}
