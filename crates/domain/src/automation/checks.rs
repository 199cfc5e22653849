//! Heartbeats and built-in checks: their settings, what the last runs found, and when a run
//! of failures (or of successes) moves the component.
//!
//! A heartbeat is pinged by the thing it watches (a cron job, a batch system): a ping
//! missing for `interval + grace` sets the component's configured status and the next ping
//! restores it. A check (HTTP(S), TCP, TLS expiry) is run by herald every interval, under a
//! timeout; `failures_before_change` failures in a row set the configured status and
//! `successes_before_recovery` successes in a row restore `operational`.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{IntegrationKind, find_component};
use crate::component::Component;
use crate::status::ComponentStatus;
use crate::{Invalid, Result};

/// A check's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// The component it moves.
    pub component_id: String,
    /// The status it sets when the check fails.
    pub down_status: ComponentStatus,
    /// Heartbeat: the longest expected gap between pings; checks: how often they run.
    pub interval_seconds: u32,
    /// Heartbeat: how late a ping may be.
    pub grace_seconds: u32,
    pub timeout_seconds: u32,
    pub failures_before_change: u32,
    pub successes_before_recovery: u32,
    /// HTTP: the URL; TCP and TLS: `host:port`.
    pub target: Option<String>,
    /// HTTP: the status expected (absent: any 2xx).
    pub expected_status: Option<u16>,
    /// HTTP: slower than this fails.
    pub max_latency_ms: Option<u32>,
    /// HTTP: the body must contain this.
    pub body_contains: Option<String>,
    /// TLS: a certificate expiring within this many days fails.
    pub expiry_days: u32,
}

/// A whole number as a client sent it. Anything else is kept rather than refused by serde,
/// so that validation names the field: the check's settings are flattened into the
/// integration object, and serde's own error would name only `integration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Whole {
    Number(u32),
    Invalid(serde_json::Value),
}

impl From<u32> for Whole {
    fn from(n: u32) -> Self {
        Self::Number(n)
    }
}

/// Check settings as clients send them (inside the integration object).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct CheckInput {
    /// The component (id or exact name) a heartbeat or check moves.
    pub component_id: Option<String>,
    pub down_status: Option<ComponentStatus>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub interval_seconds: Option<Whole>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub grace_seconds: Option<Whole>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub timeout_seconds: Option<Whole>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub failures_before_change: Option<Whole>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub successes_before_recovery: Option<Whole>,
    pub target: Option<String>,
    pub expected_status: Option<u16>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub max_latency_ms: Option<Whole>,
    pub body_contains: Option<String>,
    /// TLS: a certificate expiring within this many days fails the check (default 14).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub expiry_days: Option<Whole>,
}

/// The number a client sent for `field`, if any; anything but a whole number of 0 or more
/// is refused naming the field.
fn whole(field: &str, v: Option<&Whole>) -> Result<Option<u32>> {
    match v {
        None => Ok(None),
        Some(Whole::Number(n)) => Ok(Some(*n)),
        Some(Whole::Invalid(got)) => Err(Invalid::new(
            format!("integration.{field}"),
            format!("integration.{field} must be a whole number of 0 or more; got {got}"),
        )),
    }
}

fn bounded(field: &str, v: Option<u32>, default: u32, min: u32, max: u32) -> Result<u32> {
    let v = v.unwrap_or(default);
    if v < min || v > max {
        return Err(Invalid::new(
            format!("integration.{field}"),
            format!("integration.{field} must be between {min} and {max}; got {v}"),
        ));
    }
    Ok(v)
}

impl CheckConfig {
    /// Validates check settings for `kind`, over `old` ones when updating.
    pub fn parse(
        kind: IntegrationKind,
        i: &CheckInput,
        old: Option<&CheckConfig>,
        components: &[Component],
    ) -> Result<Self> {
        let component_id = match (&i.component_id, old) {
            (Some(key), _) => find_component(components, key)
                .ok_or_else(|| {
                    Invalid::new(
                        "integration.component_id",
                        format!("integration.component_id: no component {key:?} on this page"),
                    )
                })?
                .id
                .clone(),
            (None, Some(o)) => o.component_id.clone(),
            (None, None) => {
                return Err(Invalid::new(
                    "integration.component_id",
                    "integration.component_id is required for heartbeats and checks",
                ));
            }
        };
        let default_down = if kind == IntegrationKind::Tls {
            ComponentStatus::DegradedPerformance
        } else {
            ComponentStatus::MajorOutage
        };
        let target = i
            .target
            .clone()
            .or_else(|| old.and_then(|o| o.target.clone()));
        match (kind, target.as_deref()) {
            (IntegrationKind::Heartbeat, _) => {}
            (IntegrationKind::Http, Some(t))
                if t.starts_with("http://") || t.starts_with("https://") => {}
            (IntegrationKind::Tcp | IntegrationKind::Tls, Some(t))
                if t.rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) => {}
            (IntegrationKind::Http, _) => {
                return Err(Invalid::new(
                    "integration.target",
                    "integration.target must be an http:// or https:// URL",
                ));
            }
            _ => {
                return Err(Invalid::new(
                    "integration.target",
                    "integration.target must be host:port",
                ));
            }
        }
        if target.as_ref().is_some_and(|t| t.len() > 2000) {
            return Err(Invalid::new(
                "integration.target",
                "integration.target is too long (the maximum is 2000 characters)",
            ));
        }
        let o = |f: fn(&CheckConfig) -> u32| old.map(f);
        Ok(Self {
            component_id,
            down_status: i
                .down_status
                .or(old.map(|o| o.down_status))
                .unwrap_or(default_down),
            interval_seconds: bounded(
                "interval_seconds",
                whole("interval_seconds", i.interval_seconds.as_ref())?
                    .or(o(|c| c.interval_seconds)),
                60,
                1,
                7 * 86_400,
            )?,
            grace_seconds: bounded(
                "grace_seconds",
                whole("grace_seconds", i.grace_seconds.as_ref())?.or(o(|c| c.grace_seconds)),
                60,
                0,
                86_400,
            )?,
            timeout_seconds: bounded(
                "timeout_seconds",
                whole("timeout_seconds", i.timeout_seconds.as_ref())?.or(o(|c| c.timeout_seconds)),
                10,
                1,
                60,
            )?,
            failures_before_change: bounded(
                "failures_before_change",
                whole("failures_before_change", i.failures_before_change.as_ref())?
                    .or(o(|c| c.failures_before_change)),
                1,
                1,
                100,
            )?,
            successes_before_recovery: bounded(
                "successes_before_recovery",
                whole(
                    "successes_before_recovery",
                    i.successes_before_recovery.as_ref(),
                )?
                .or(o(|c| c.successes_before_recovery)),
                1,
                1,
                100,
            )?,
            target,
            expected_status: i.expected_status.or(old.and_then(|o| o.expected_status)),
            max_latency_ms: whole("max_latency_ms", i.max_latency_ms.as_ref())?
                .or(old.and_then(|o| o.max_latency_ms)),
            body_contains: i
                .body_contains
                .clone()
                .or_else(|| old.and_then(|o| o.body_contains.clone())),
            expiry_days: bounded(
                "expiry_days",
                whole("expiry_days", i.expiry_days.as_ref())?.or(o(|c| c.expiry_days)),
                14,
                0,
                365,
            )?,
        })
    }

    /// A heartbeat's deadline after a ping at `at`.
    pub fn heartbeat_deadline(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + TimeDelta::seconds(i64::from(self.interval_seconds) + i64::from(self.grace_seconds))
    }

    /// Judges a certificate whose chain verified at `now`: `Err` says why the check failed
    /// (it expires within `expiry_days`, or has expired).
    pub fn judge_expiry(
        &self,
        not_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), String> {
        let day = not_after.format("%Y-%m-%d %H:%M UTC");
        if not_after <= now {
            return Err(format!("the certificate expired on {day}"));
        }
        let left = not_after - now;
        if left < TimeDelta::days(i64::from(self.expiry_days)) {
            return Err(format!(
                "the certificate expires on {day}, in {} days (the check wants more than {})",
                left.num_days(),
                self.expiry_days
            ));
        }
        Ok(())
    }

    /// Judges an HTTP answer: `Err` says why the check failed.
    pub fn judge_http(
        &self,
        status: u16,
        latency: std::time::Duration,
        body: &str,
    ) -> std::result::Result<(), String> {
        match self.expected_status {
            Some(want) if status != want => {
                return Err(format!("status {status}, expected {want}"));
            }
            None if !(200..300).contains(&status) => return Err(format!("status {status}")),
            _ => {}
        }
        if let Some(max) = self.max_latency_ms
            && latency.as_millis() > u128::from(max)
        {
            return Err(format!(
                "took {} ms, more than {max} ms",
                latency.as_millis()
            ));
        }
        if let Some(want) = &self.body_contains
            && !body.contains(want.as_str())
        {
            return Err(format!("the body does not contain {want:?}"));
        }
        Ok(())
    }
}

/// What the last runs (or pings) of a check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckState {
    /// Whether the check is passing (as far as changing the component goes).
    pub up: bool,
    /// Failures in a row.
    pub failures: u32,
    /// Successes in a row.
    pub successes: u32,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Default for CheckState {
    fn default() -> Self {
        Self {
            up: true,
            failures: 0,
            successes: 0,
            last_run_at: None,
            last_error: None,
        }
    }
}

impl CheckState {
    /// Records one run; returns `Some(up)` when the run flips the check.
    pub fn record(
        &mut self,
        cfg: &CheckConfig,
        outcome: std::result::Result<(), String>,
        now: DateTime<Utc>,
    ) -> Option<bool> {
        self.last_run_at = Some(now);
        match outcome {
            Ok(()) => {
                self.successes = self.successes.saturating_add(1);
                self.failures = 0;
                self.last_error = None;
                if !self.up && self.successes >= cfg.successes_before_recovery {
                    self.up = true;
                    return Some(true);
                }
            }
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                self.successes = 0;
                self.last_error = Some(e);
                if self.up && self.failures >= cfg.failures_before_change {
                    self.up = false;
                    return Some(false);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_successes_in_a_row_flip_the_check() {
        let cfg = CheckConfig {
            component_id: "c".into(),
            down_status: ComponentStatus::MajorOutage,
            interval_seconds: 60,
            grace_seconds: 0,
            timeout_seconds: 5,
            failures_before_change: 3,
            successes_before_recovery: 2,
            target: None,
            expected_status: None,
            max_latency_ms: None,
            body_contains: None,
            expiry_days: 14,
        };
        let now = crate::clock::from_ms(0);
        let mut s = CheckState::default();
        assert_eq!(s.record(&cfg, Err("x".into()), now), None);
        assert_eq!(s.record(&cfg, Err("x".into()), now), None);
        assert_eq!(s.record(&cfg, Ok(()), now), None);
        assert_eq!(s.record(&cfg, Err("x".into()), now), None);
        assert_eq!(s.record(&cfg, Err("x".into()), now), None);
        assert_eq!(s.record(&cfg, Err("x".into()), now), Some(false));
        assert_eq!(s.record(&cfg, Ok(()), now), None);
        assert_eq!(s.record(&cfg, Ok(()), now), Some(true));
    }

    #[test]
    fn a_certificate_expiring_within_the_days_fails() {
        let cfg = CheckConfig {
            component_id: "c".into(),
            down_status: ComponentStatus::DegradedPerformance,
            interval_seconds: 3600,
            grace_seconds: 0,
            timeout_seconds: 5,
            failures_before_change: 1,
            successes_before_recovery: 1,
            target: Some("example.com:443".into()),
            expected_status: None,
            max_latency_ms: None,
            body_contains: None,
            expiry_days: 14,
        };
        let now = crate::clock::from_ms(0);
        assert!(cfg.judge_expiry(now + TimeDelta::days(15), now).is_ok());
        let soon = cfg
            .judge_expiry(now + TimeDelta::days(13), now)
            .unwrap_err();
        assert!(soon.contains("in 13 days"), "{soon}");
        let gone = cfg.judge_expiry(now, now).unwrap_err();
        assert!(gone.contains("expired"), "{gone}");
    }
}
