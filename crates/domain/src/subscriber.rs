//! Subscribers: who hears about incidents, on which channel, for which components.
//!
//! A subscriber has one channel (e-mail, SMS, webhook, Slack, Microsoft Teams, Discord) and a
//! scope: the whole page, some components (only incidents that affect them), or one incident
//! (until it resolves). E-mail and SMS subscribers confirm first (double opt-in); until then
//! they get nothing, and they are purged after 7 days.

pub mod import;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::id::{ComponentId, IncidentId, PageId, SubscriberId};
use crate::page::parse_email;
use crate::status::string_enum;
use crate::{Invalid, Result};

string_enum! {
    /// How a subscriber is reached.
    Channel {
        /// SMTP e-mail.
        Email = "email",
        /// Text message through a Twilio-compatible API.
        Sms = "sms",
        /// Signed JSON POST (Standard Webhooks).
        Webhook = "webhook",
        /// Slack incoming webhook.
        Slack = "slack",
        /// Microsoft Teams incoming webhook / workflow.
        Teams = "teams",
        /// Discord webhook.
        Discord = "discord",
    }
}

impl Channel {
    /// Whether messages go to a URL the subscriber gave (and so through the egress guard).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Self::Webhook | Self::Slack | Self::Teams | Self::Discord
        )
    }

    /// Whether the subscriber must confirm before anything is sent (double opt-in).
    pub fn needs_confirmation(self) -> bool {
        matches!(self, Self::Email | Self::Sms)
    }

    /// Statuspage's `mode` value for the v1 API (Teams and Discord are herald's).
    pub fn mode(self) -> &'static str {
        self.as_str()
    }
}

string_enum! {
    /// Where a subscriber stands.
    SubscriberState {
        /// Waiting for the confirmation link to be followed.
        Unconfirmed = "unconfirmed",
        /// Receives notifications.
        Active = "active",
        /// Stopped after repeated delivery failures; an owner can reactivate it.
        Quarantined = "quarantined",
        /// Unsubscribed; kept only to answer "you are unsubscribed" and for counts.
        Unsubscribed = "unsubscribed",
    }
}

/// A subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    pub id: SubscriberId,
    pub page_id: PageId,
    pub channel: Channel,
    /// E-mail address (e-mail subscribers; webhook subscribers' failure contact).
    pub email: Option<String>,
    /// E.164 phone number (SMS).
    pub phone_number: Option<String>,
    /// ISO 3166 two-letter country of the phone number.
    pub phone_country: Option<String>,
    /// The URL messages are posted to (webhook and chat channels).
    pub endpoint: Option<String>,
    /// Only this incident (incident subscriptions).
    pub incident_id: Option<IncidentId>,
    /// Only these components (empty: the whole page).
    pub component_ids: Vec<ComponentId>,
    pub state: SubscriberState,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub quarantined_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// When a quarantined or unconfirmed subscriber will be deleted.
    pub purge_at: Option<DateTime<Utc>>,
    /// Consecutive delivery failures (reset by a success).
    pub failures: i64,
}

impl Subscriber {
    /// Whether an incident touching `components` concerns this subscriber.
    pub fn wants(&self, incident_id: Option<&str>, components: &[String]) -> bool {
        if let Some(only) = &self.incident_id {
            return incident_id == Some(only.as_str());
        }
        self.component_ids.is_empty()
            || self
                .component_ids
                .iter()
                .any(|c| components.iter().any(|x| c == x))
    }

    /// A short, non-secret description of where messages go, for lists and logs.
    pub fn target(&self) -> String {
        match self.channel {
            Channel::Email => self.email.clone().unwrap_or_default(),
            Channel::Sms => self
                .phone_number
                .as_deref()
                .map(obfuscate_phone)
                .unwrap_or_default(),
            _ => self
                .endpoint
                .as_deref()
                .map(endpoint_host)
                .unwrap_or_default(),
        }
    }
}

fn obfuscate_phone(p: &str) -> String {
    let keep = p.len().saturating_sub(4);
    format!("{}{}", "*".repeat(keep), &p[keep..])
}

fn endpoint_host(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|r| r.split(['/', '?', '#']).next())
        .unwrap_or("")
        .to_owned()
}

/// A subscriber as clients send it, inside `{"subscriber": {...}}` (and the public form).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct SubscriberInput {
    pub email: Option<String>,
    pub phone_number: Option<String>,
    /// Two-letter country (default US) when the number is not in +international form.
    pub phone_country: Option<String>,
    /// Webhook (or chat) URL.
    pub endpoint: Option<String>,
    /// Herald extension: `slack`, `teams` or `discord` for chat webhooks (default: by field).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Only these components.
    pub component_ids: Option<Vec<String>>,
    /// Only this incident.
    pub incident_id: Option<String>,
    /// Admin-created subscribers may skip double opt-in.
    pub skip_confirmation_notification: Option<bool>,
}

/// A subscriber to create, validated (component and incident ids are checked by the store).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscriber {
    pub channel: Channel,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub phone_country: Option<String>,
    pub endpoint: Option<String>,
    pub incident_id: Option<String>,
    pub component_ids: Vec<String>,
    /// Active at once (admin-created with skip_confirmation, or a channel without opt-in).
    pub confirmed: bool,
}

/// Country calling codes accepted for numbers given without `+`.
const CALLING_CODES: &[(&str, &str)] = &[
    ("US", "1"),
    ("CA", "1"),
    ("GB", "44"),
    ("IE", "353"),
    ("FR", "33"),
    ("DE", "49"),
    ("NL", "31"),
    ("BE", "32"),
    ("ES", "34"),
    ("IT", "39"),
    ("PT", "351"),
    ("CH", "41"),
    ("AT", "43"),
    ("SE", "46"),
    ("NO", "47"),
    ("DK", "45"),
    ("FI", "358"),
    ("PL", "48"),
    ("AU", "61"),
    ("NZ", "64"),
    ("JP", "81"),
    ("IN", "91"),
    ("BR", "55"),
    ("MX", "52"),
];

/// Parses a phone number into E.164 (`+15551234567`).
pub fn parse_phone(number: &str, country: Option<&str>) -> Result<(String, String)> {
    let field = "subscriber.phone_number";
    let digits: String = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let junk = number
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)));
    let country = country.unwrap_or("US").trim().to_ascii_uppercase();
    if junk || digits.is_empty() {
        return Err(Invalid::new(
            field,
            format!("{field} must be a phone number such as +1 555 123 4567"),
        ));
    }
    let e164 = if number.trim_start().starts_with('+') {
        format!("+{digits}")
    } else {
        let code = CALLING_CODES
            .iter()
            .find(|(c, _)| *c == country)
            .map(|(_, code)| *code)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!("give the number in international form (+...) for country {country:?}"),
                )
            })?;
        let national = if code == "1" {
            digits.trim_start_matches('1')
        } else {
            digits.trim_start_matches('0')
        };
        format!("+{code}{national}")
    };
    let n = e164.len() - 1;
    if !(8..=15).contains(&n) {
        return Err(Invalid::new(
            field,
            format!("{field} must have 8 to 15 digits with its country code; got {n}"),
        ));
    }
    Ok((e164, country))
}

/// Parses a webhook or chat URL's shape: absolute http(s), a host, no credentials. Whether
/// the host may be reached is the egress guard's call (it resolves DNS).
pub fn parse_endpoint(field: &str, url: &str) -> Result<String> {
    let url = url.trim();
    let bad = |why: &str| Invalid::new(field, format!("{field} {why}; got {url:?}"));
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must be an http or https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("must not carry a user name or password"));
    }
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("is not a valid URL"));
    }
    Ok(url.to_owned())
}

impl NewSubscriber {
    /// Validates a subscription. `admin` may skip confirmation.
    pub fn parse(input: &SubscriberInput, admin: bool) -> Result<Self> {
        let email = input.email.as_deref().filter(|e| !e.trim().is_empty());
        let phone = input
            .phone_number
            .as_deref()
            .filter(|p| !p.trim().is_empty());
        let endpoint = input.endpoint.as_deref().filter(|e| !e.trim().is_empty());
        let channel = match (input.kind.as_deref(), endpoint, phone, email) {
            (Some(k), Some(_), _, _) => match Channel::parse("subscriber.type", k)? {
                c @ (Channel::Slack | Channel::Teams | Channel::Discord | Channel::Webhook) => c,
                _ => {
                    return Err(Invalid::new(
                        "subscriber.type",
                        "subscriber.type is for chat webhooks: slack, teams or discord",
                    ));
                }
            },
            (Some(_), None, _, _) => {
                return Err(Invalid::new(
                    "subscriber.endpoint",
                    "a chat subscription needs an endpoint URL",
                ));
            }
            (None, Some(_), _, _) => Channel::Webhook,
            (None, None, Some(_), _) => Channel::Sms,
            (None, None, None, Some(_)) => Channel::Email,
            (None, None, None, None) => {
                return Err(Invalid::new(
                    "subscriber",
                    "give an email, a phone_number or an endpoint to subscribe",
                ));
            }
        };
        let email = email
            .map(|e| parse_email("subscriber.email", e).map(|e| e.to_lowercase()))
            .transpose()?;
        if channel == Channel::Webhook && email.is_none() {
            return Err(Invalid::new(
                "subscriber.email",
                "a webhook subscription needs an email address to tell when the endpoint fails",
            ));
        }
        let (phone_number, phone_country) = match (channel, phone) {
            (Channel::Sms, Some(p)) => {
                let (n, c) = parse_phone(p, input.phone_country.as_deref())?;
                (Some(n), Some(c))
            }
            _ => (None, None),
        };
        let endpoint = endpoint
            .map(|e| parse_endpoint("subscriber.endpoint", e))
            .transpose()?;
        if channel == Channel::Webhook
            && endpoint
                .as_deref()
                .is_some_and(|e| e.contains("hooks.slack.com"))
        {
            return Err(Invalid::new(
                "subscriber.endpoint",
                "Slack URLs are not webhook endpoints: subscribe with \"type\": \"slack\" instead",
            ));
        }
        let mut component_ids = input.component_ids.clone().unwrap_or_default();
        component_ids.sort();
        component_ids.dedup();
        let confirmed = !channel.needs_confirmation()
            || (admin && input.skip_confirmation_notification.unwrap_or(false));
        Ok(Self {
            channel,
            email: if channel == Channel::Sms { None } else { email },
            phone_number,
            phone_country,
            endpoint,
            incident_id: input.incident_id.clone().filter(|i| !i.is_empty()),
            component_ids,
            confirmed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str, admin: bool) -> Result<NewSubscriber> {
        NewSubscriber::parse(&serde_json::from_str(json).unwrap(), admin)
    }

    #[test]
    fn the_channel_follows_the_fields_given() {
        assert_eq!(
            parse(r#"{"email": "Ops@Example.org"}"#, false)
                .unwrap()
                .channel,
            Channel::Email
        );
        assert_eq!(
            parse(r#"{"email": "ops@example.org"}"#, false)
                .unwrap()
                .email
                .as_deref(),
            Some("ops@example.org")
        );
        assert_eq!(
            parse(r#"{"phone_number": "+44 20 7946 0958"}"#, false)
                .unwrap()
                .channel,
            Channel::Sms
        );
        let w = parse(
            r#"{"endpoint": "https://hooks.example.com/x", "email": "a@example.org"}"#,
            false,
        )
        .unwrap();
        assert_eq!((w.channel, w.confirmed), (Channel::Webhook, true));
        let s = parse(
            r#"{"endpoint": "https://hooks.slack.com/services/T/B/x", "type": "slack"}"#,
            false,
        )
        .unwrap();
        assert_eq!(s.channel, Channel::Slack);
        assert!(parse("{}", false).is_err());
    }

    #[test]
    fn email_and_sms_need_confirmation_unless_an_admin_skips_it() {
        assert!(
            !parse(r#"{"email": "a@example.org"}"#, false)
                .unwrap()
                .confirmed
        );
        assert!(
            !parse(
                r#"{"email": "a@example.org", "skip_confirmation_notification": true}"#,
                false
            )
            .unwrap()
            .confirmed
        );
        assert!(
            parse(
                r#"{"email": "a@example.org", "skip_confirmation_notification": true}"#,
                true
            )
            .unwrap()
            .confirmed
        );
    }

    #[test]
    fn phone_numbers_become_e164() {
        assert_eq!(
            parse_phone("(555) 123-4567", None).unwrap().0,
            "+15551234567"
        );
        assert_eq!(
            parse_phone("020 7946 0958", Some("gb")).unwrap().0,
            "+442079460958"
        );
        assert_eq!(
            parse_phone("+33 1 23 45 67 89", Some("US")).unwrap().0,
            "+33123456789"
        );
        assert!(parse_phone("12", None).is_err());
        assert!(parse_phone("call me", None).is_err());
        assert!(parse_phone("0123456789", Some("ZZ")).is_err());
    }

    #[test]
    fn endpoints_are_http_urls_without_credentials() {
        assert!(parse_endpoint("e", "https://hooks.example.com/a?b=c").is_ok());
        assert!(parse_endpoint("e", "ftp://x.example").is_err());
        assert!(parse_endpoint("e", "https://user:pw@x.example/").is_err());
        assert!(parse_endpoint("e", "https:///path").is_err());
        assert!(
            parse(
                r#"{"endpoint": "https://hooks.slack.com/services/x", "email": "a@example.org"}"#,
                false
            )
            .is_err()
        );
        assert!(
            parse(r#"{"endpoint": "https://hooks.example.com/x"}"#, false).is_err(),
            "a webhook needs a contact email"
        );
    }

    #[test]
    fn scope_decides_which_incidents_concern_a_subscriber() {
        let mut s = Subscriber {
            id: "s".into(),
            page_id: "p".into(),
            channel: Channel::Email,
            email: Some("a@example.org".into()),
            phone_number: None,
            phone_country: None,
            endpoint: None,
            incident_id: None,
            component_ids: vec![],
            state: SubscriberState::Active,
            created_at: crate::clock::from_ms(0),
            confirmed_at: None,
            quarantined_at: None,
            unsubscribed_at: None,
            purge_at: None,
            failures: 0,
        };
        assert!(s.wants(Some("i"), &[]), "whole page");
        s.component_ids = vec!["api".into()];
        assert!(s.wants(Some("i"), &["api".into(), "db".into()]));
        assert!(!s.wants(Some("i"), &["db".into()]));
        s.incident_id = Some("i".into());
        assert!(s.wants(Some("i"), &[]));
        assert!(!s.wants(Some("j"), &["api".into()]));
    }

    #[test]
    fn targets_do_not_reveal_secrets() {
        assert_eq!(obfuscate_phone("+15551234567"), "********4567");
        assert_eq!(
            endpoint_host("https://hooks.example.com/secret/token"),
            "hooks.example.com"
        );
    }
}
