//! Pages: one status page each, with its slug, custom domain, time zone and settings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{optional_text, required_name};
use crate::id::PageId;
use crate::time::PageZone;
use crate::uptime::UptimeWeights;
use crate::{Invalid, Result};

/// A status page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// 12-character id.
    pub id: PageId,
    /// URL name: the page is served at `/p/<slug>/`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Custom domain (CNAME) that serves this page, lowercase.
    pub domain: Option<String>,
    /// The zone timestamps are printed in.
    pub zone: PageZone,
    /// Everything else a page owner can set.
    pub settings: PageSettings,
    /// Hidden pages (the `herald verify` canary) are left out of listings.
    pub hidden: bool,
    /// Bumped by every change to the page or anything on it; public snapshots follow it.
    pub version: i64,
    /// When the page was created.
    pub created_at: DateTime<Utc>,
    /// Last time anything on the page changed.
    pub updated_at: DateTime<Utc>,
}

/// A page's optional settings, stored as one JSON document so that adding a setting needs no
/// migration. Field names are Statuspage's v1 page fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PageSettings {
    pub page_description: Option<String>,
    pub headline: Option<String>,
    pub branding: Branding,
    pub subdomain: Option<String>,
    /// The company's website (Statuspage: "clicking on your statuspage image will link here").
    pub url: Option<String>,
    pub support_url: Option<String>,
    pub hidden_from_search: bool,
    pub allow_page_subscribers: bool,
    pub allow_incident_subscribers: bool,
    pub allow_email_subscribers: bool,
    pub allow_sms_subscribers: bool,
    pub allow_rss_atom_feeds: bool,
    pub allow_webhook_subscribers: bool,
    pub notifications_from_email: Option<String>,
    pub notifications_email_footer: Option<String>,
    pub twitter_username: Option<String>,
    pub viewers_must_be_team_members: bool,
    pub ip_restrictions: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub css_body_background_color: Option<String>,
    pub css_font_color: Option<String>,
    pub css_light_font_color: Option<String>,
    pub css_greens: Option<String>,
    pub css_yellows: Option<String>,
    pub css_oranges: Option<String>,
    pub css_blues: Option<String>,
    pub css_reds: Option<String>,
    pub css_border_color: Option<String>,
    pub css_graph_color: Option<String>,
    pub css_link_color: Option<String>,
    pub css_no_data: Option<String>,
    pub favicon_logo: Option<String>,
    pub transactional_logo: Option<String>,
    pub hero_cover: Option<String>,
    pub email_logo: Option<String>,
    pub twitter_logo: Option<String>,
    /// Plain text shown above the page (herald extension; rendered as text, never HTML).
    pub custom_header_text: Option<String>,
    /// Plain text shown below the page (herald extension).
    pub custom_footer_text: Option<String>,
    /// How much of each status counts as down time in this page's uptime (herald
    /// extension); `None`: the instance's `uptime_weight_*` settings.
    pub uptime_weights: Option<UptimeWeights>,
    /// Whether automation (alerts, checks) may change a component while an open incident
    /// names it (herald extension; default: no, the people on the incident decide).
    pub automation_overrides_incidents: bool,
    /// The status embed's corner and colours (`status_embed_config`); `None`: the defaults.
    pub status_embed_config: Option<crate::embed::EmbedConfig>,
}

impl PageSettings {
    /// The settings a new page starts with: subscriptions and feeds on, like Statuspage.
    pub fn new_page() -> Self {
        Self {
            allow_page_subscribers: true,
            allow_incident_subscribers: true,
            allow_email_subscribers: true,
            allow_sms_subscribers: true,
            allow_rss_atom_feeds: true,
            allow_webhook_subscribers: true,
            ..Self::default()
        }
    }
}

/// Statuspage's branding plan names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branding {
    /// The default.
    #[default]
    Basic,
    /// Custom CSS allowed.
    Premium,
}

/// Slugs that would shadow herald's own paths.
const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "assets",
    "static",
    "p",
    "v1",
    "v2",
    "livez",
    "readyz",
    "metrics",
    "embed",
    "history",
    "incidents",
    "uptime",
    "subscribe",
    "manage",
    "login",
    "logout",
];

/// Parses a page slug: 1–63 lowercase letters, digits and dashes, starting with a letter or
/// digit, not one of herald's own path names.
pub fn parse_slug(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-');
    if !ok {
        return Err(Invalid::new(
            field,
            format!(
                "{field} must be 1 to 63 lowercase letters, digits or dashes, not starting with a dash; got {s:?}"
            ),
        ));
    }
    if RESERVED_SLUGS.contains(&s) {
        return Err(Invalid::new(field, format!("{field} {s:?} is reserved")));
    }
    Ok(s.to_owned())
}

/// Whether a host name would be read as an IPv4 address by a URL parser or a resolver
/// (WHATWG URL's "ends in a number": `127.1`, `0x7f.1`, `2130706433`, `017700000001`,
/// `127.0.0.1.`): its last label is all digits, or `0x` and hex digits. No page's domain
/// is such a name.
pub fn ends_in_a_number(d: &str) -> bool {
    let last = d.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses a custom domain: a DNS host name, stored lowercase. IP addresses, in any spelling
/// (`127.0.0.1`, `127.1`, `0x7f.1`, `2130706433`, `[::1]`), are refused: a page's domain
/// must be a name its owner controls, never an address that reaches herald itself (see
/// [`Page::apply_domain_rules`] for herald's own host names).
pub fn parse_domain(field: &str, s: &str) -> Result<String> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) || ends_in_a_number(&d) {
        return Err(Invalid::new(
            field,
            format!(
                "{field} must be a host name such as status.example.com, not an IP address; got {s:?}"
            ),
        ));
    }
    Ok(d)
}

/// Parses a CSS colour: `#rgb` or `#rrggbb` only, because it is written into a style sheet.
pub fn parse_color(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    let hex = s.strip_prefix('#').unwrap_or("");
    if (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(Invalid::new(
            field,
            format!("{field} must be a colour such as #2ecc71; got {s:?}"),
        ))
    }
}

/// Parses an absolute http(s) URL meant for people to follow (a website, a logo).
pub fn parse_web_url(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let ok = match rest {
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty()
                && !r.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>'
                })
        }
        None => false,
    };
    if !ok || s.len() > 2048 {
        return Err(Invalid::new(
            field,
            format!("{field} must be an http or https URL; got {s:?}"),
        ));
    }
    Ok(s.to_owned())
}

/// Parses an email address (shape only: something@domain.tld, no spaces or angle brackets).
pub fn parse_email(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    let ok = s.len() <= 254
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
                && domain.matches('@').count() == 0
        });
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid::new(
            field,
            format!("{field} must be an email address; got {s:?}"),
        ))
    }
}

/// A new page, validated.
#[derive(Debug, Clone)]
pub struct NewPage {
    /// Display name.
    pub name: String,
    /// URL name.
    pub slug: String,
    /// Time zone.
    pub zone: PageZone,
    /// Hidden from listings (canary).
    pub hidden: bool,
}

impl NewPage {
    /// Validates a page to create.
    pub fn parse(name: &str, slug: &str, time_zone: Option<&str>) -> Result<Self> {
        Ok(Self {
            name: required_name("page.name", name, 255)?,
            slug: parse_slug("page.slug", slug)?,
            zone: match time_zone {
                Some(z) => PageZone::parse("page.time_zone", z)?,
                None => PageZone::UTC,
            },
            hidden: false,
        })
    }
}

/// A change to a page's settings: each `Some` replaces the current value. For optional text
/// fields, `Some(None)` clears the value.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PagePatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub domain: Option<Option<String>>,
    pub time_zone: Option<String>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub page_description: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub headline: Option<Option<String>>,
    pub branding: Option<String>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub subdomain: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub url: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub support_url: Option<Option<String>>,
    pub hidden_from_search: Option<bool>,
    pub allow_page_subscribers: Option<bool>,
    pub allow_incident_subscribers: Option<bool>,
    pub allow_email_subscribers: Option<bool>,
    pub allow_sms_subscribers: Option<bool>,
    pub allow_rss_atom_feeds: Option<bool>,
    pub allow_webhook_subscribers: Option<bool>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub notifications_from_email: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub notifications_email_footer: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub twitter_username: Option<Option<String>>,
    pub viewers_must_be_team_members: Option<bool>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub ip_restrictions: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub city: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub state: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub country: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_body_background_color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_font_color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_light_font_color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_greens: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_yellows: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_oranges: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_blues: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_reds: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_border_color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_graph_color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_link_color: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub css_no_data: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub favicon_logo: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub transactional_logo: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub hero_cover: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub email_logo: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub twitter_logo: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub custom_header_text: Option<Option<String>>,
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub custom_footer_text: Option<Option<String>>,
    /// Herald extension: this page's uptime weights; `null` returns to the instance's.
    #[serde(deserialize_with = "crate::patch::double_option")]
    pub uptime_weights: Option<Option<UptimeWeights>>,
    /// Herald extension: let automation change components that an open incident names.
    pub automation_overrides_incidents: Option<bool>,
}

type Check = fn(&str, &str) -> Result<String>;

/// Herald does not enforce Statuspage's `ip_restrictions` (an allow-list for the page), so
/// it refuses to store one rather than keep a setting that would protect nothing.
fn refuse_ip_restrictions(field: &str, _: &str) -> Result<String> {
    Err(Invalid::new(
        field,
        format!(
            "{field} is not supported: herald does not restrict the page by IP address; \
             leave it null and restrict access in front of herald (a proxy or firewall), or \
             make the page private with viewers_must_be_team_members"
        ),
    ))
}

fn set_opt(
    dst: &mut Option<String>,
    src: &Option<Option<String>>,
    field: &str,
    check: Option<Check>,
    max: usize,
) -> Result<()> {
    if let Some(v) = src {
        *dst = match optional_text(field, v.as_deref(), max)? {
            Some(text) => Some(match check {
                Some(check) => check(field, &text)?,
                None => text,
            }),
            None => None,
        };
    }
    Ok(())
}

impl Page {
    /// Applies `patch`, validating every field it sets; on any error nothing is applied.
    pub fn apply(&self, patch: &PagePatch) -> Result<Page> {
        let mut p = self.clone();
        if let Some(name) = &patch.name {
            p.name = required_name("page.name", name, 255)?;
        }
        if let Some(slug) = &patch.slug {
            p.slug = parse_slug("page.slug", slug)?;
        }
        if let Some(tz) = &patch.time_zone {
            p.zone = PageZone::parse("page.time_zone", tz)?;
        }
        set_opt(
            &mut p.domain,
            &patch.domain,
            "page.domain",
            Some(parse_domain),
            253,
        )?;
        let s = &mut p.settings;
        if let Some(b) = &patch.branding {
            s.branding = match b.as_str() {
                "basic" => Branding::Basic,
                "premium" => Branding::Premium,
                _ => {
                    return Err(Invalid::new(
                        "page.branding",
                        format!("page.branding must be one of basic, premium; got {b:?}"),
                    ));
                }
            };
        }
        let text: Option<Check> = None;
        let (url, color): (Option<Check>, Option<Check>) = (Some(parse_web_url), Some(parse_color));
        set_opt(
            &mut s.page_description,
            &patch.page_description,
            "page.page_description",
            text,
            4000,
        )?;
        set_opt(&mut s.headline, &patch.headline, "page.headline", text, 255)?;
        set_opt(
            &mut s.subdomain,
            &patch.subdomain,
            "page.subdomain",
            Some(parse_slug),
            63,
        )?;
        set_opt(
            &mut s.twitter_username,
            &patch.twitter_username,
            "page.twitter_username",
            text,
            64,
        )?;
        set_opt(
            &mut s.ip_restrictions,
            &patch.ip_restrictions,
            "page.ip_restrictions",
            Some(refuse_ip_restrictions),
            4000,
        )?;
        set_opt(&mut s.city, &patch.city, "page.city", text, 255)?;
        set_opt(&mut s.state, &patch.state, "page.state", text, 255)?;
        set_opt(&mut s.country, &patch.country, "page.country", text, 255)?;
        set_opt(
            &mut s.notifications_email_footer,
            &patch.notifications_email_footer,
            "page.notifications_email_footer",
            text,
            10_000,
        )?;
        set_opt(
            &mut s.notifications_from_email,
            &patch.notifications_from_email,
            "page.notifications_from_email",
            Some(parse_email),
            254,
        )?;
        set_opt(
            &mut s.custom_header_text,
            &patch.custom_header_text,
            "page.custom_header_text",
            text,
            1000,
        )?;
        set_opt(
            &mut s.custom_footer_text,
            &patch.custom_footer_text,
            "page.custom_footer_text",
            text,
            1000,
        )?;
        if let Some(v) = patch.automation_overrides_incidents {
            s.automation_overrides_incidents = v;
        }
        if let Some(w) = &patch.uptime_weights {
            s.uptime_weights = w.map(|w| w.validated("page.uptime_weights")).transpose()?;
        }
        set_opt(&mut s.url, &patch.url, "page.url", url, 2048)?;
        set_opt(
            &mut s.support_url,
            &patch.support_url,
            "page.support_url",
            url,
            2048,
        )?;
        set_opt(
            &mut s.favicon_logo,
            &patch.favicon_logo,
            "page.favicon_logo",
            url,
            2048,
        )?;
        set_opt(
            &mut s.transactional_logo,
            &patch.transactional_logo,
            "page.transactional_logo",
            url,
            2048,
        )?;
        set_opt(
            &mut s.hero_cover,
            &patch.hero_cover,
            "page.hero_cover",
            url,
            2048,
        )?;
        set_opt(
            &mut s.email_logo,
            &patch.email_logo,
            "page.email_logo",
            url,
            2048,
        )?;
        set_opt(
            &mut s.twitter_logo,
            &patch.twitter_logo,
            "page.twitter_logo",
            url,
            2048,
        )?;
        set_opt(
            &mut s.css_body_background_color,
            &patch.css_body_background_color,
            "page.css_body_background_color",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_font_color,
            &patch.css_font_color,
            "page.css_font_color",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_light_font_color,
            &patch.css_light_font_color,
            "page.css_light_font_color",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_greens,
            &patch.css_greens,
            "page.css_greens",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_yellows,
            &patch.css_yellows,
            "page.css_yellows",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_oranges,
            &patch.css_oranges,
            "page.css_oranges",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_blues,
            &patch.css_blues,
            "page.css_blues",
            color,
            7,
        )?;
        set_opt(&mut s.css_reds, &patch.css_reds, "page.css_reds", color, 7)?;
        set_opt(
            &mut s.css_border_color,
            &patch.css_border_color,
            "page.css_border_color",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_graph_color,
            &patch.css_graph_color,
            "page.css_graph_color",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_link_color,
            &patch.css_link_color,
            "page.css_link_color",
            color,
            7,
        )?;
        set_opt(
            &mut s.css_no_data,
            &patch.css_no_data,
            "page.css_no_data",
            color,
            7,
        )?;
        let flags: [(&mut bool, Option<bool>); 8] = [
            (&mut s.hidden_from_search, patch.hidden_from_search),
            (&mut s.allow_page_subscribers, patch.allow_page_subscribers),
            (
                &mut s.allow_incident_subscribers,
                patch.allow_incident_subscribers,
            ),
            (
                &mut s.allow_email_subscribers,
                patch.allow_email_subscribers,
            ),
            (&mut s.allow_sms_subscribers, patch.allow_sms_subscribers),
            (&mut s.allow_rss_atom_feeds, patch.allow_rss_atom_feeds),
            (
                &mut s.allow_webhook_subscribers,
                patch.allow_webhook_subscribers,
            ),
            (
                &mut s.viewers_must_be_team_members,
                patch.viewers_must_be_team_members,
            ),
        ];
        for (dst, src) in flags {
            if let Some(v) = src {
                *dst = v;
            }
        }
        Ok(p)
    }

    /// Applies `patch` as [`Page::apply`] does, and refuses a custom domain that is one of
    /// `own_hosts`, the names herald itself answers on (its public URL's host): a page that
    /// took one would answer for every page on herald's shared host.
    pub fn apply_domain_rules(&self, patch: &PagePatch, own_hosts: &[String]) -> Result<Page> {
        let p = self.apply(patch)?;
        if patch.domain.is_some()
            && let Some(d) = &p.domain
            && own_hosts.iter().any(|h| h.eq_ignore_ascii_case(d))
        {
            return Err(Invalid::new(
                "page.domain",
                format!("page.domain {d:?} is herald's own host name; use a domain of your own"),
            ));
        }
        Ok(p)
    }

    /// The public address of the page: its custom domain when it has one, else under
    /// herald's own base URL at `/p/<slug>`.
    pub fn public_url(&self, base_url: &str) -> String {
        match &self.domain {
            Some(d) => format!("https://{d}"),
            None => format!("{}/p/{}", base_url.trim_end_matches('/'), self.slug),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        Page {
            id: "abcdefghijkl".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            domain: None,
            zone: PageZone::UTC,
            settings: PageSettings::new_page(),
            hidden: false,
            version: 0,
            created_at: crate::clock::from_ms(0),
            updated_at: crate::clock::from_ms(0),
        }
    }

    #[test]
    fn slugs_are_lowercase_and_not_reserved() {
        assert!(parse_slug("s", "acme-cloud").is_ok());
        assert!(parse_slug("s", "Acme").is_err());
        assert!(parse_slug("s", "-acme").is_err());
        assert!(parse_slug("s", "admin").is_err());
        assert!(parse_slug("s", "../etc").is_err());
    }

    #[test]
    fn domains_are_host_names() {
        assert_eq!(
            parse_domain("d", "Status.Example.COM.").unwrap(),
            "status.example.com"
        );
        assert!(parse_domain("d", "localhost").is_err());
        for ip in [
            "127.0.0.1",
            "127.0.0.1.",
            "127.1",
            "0x7f.1",
            "0X7F.0x1",
            "0177.0.0.1",
            "2130706433",
            "017700000001",
            "[::1]",
            "::1",
            "[::ffff:127.0.0.1]",
            "10.0.0.1",
        ] {
            assert!(parse_domain("d", ip).is_err(), "{ip} was taken as a domain");
        }
        assert!(parse_domain("d", "1.2.3.4.nip.io").is_ok());
        assert!(parse_domain("d", "status.0x7f.example").is_ok());
        assert!(parse_domain("d", "a b.com").is_err());
        assert!(parse_domain("d", "evil.com/<script>").is_err());
    }

    #[test]
    fn herald_s_own_host_is_not_a_page_domain() {
        let own = vec!["status.herald.example".to_owned()];
        let take = |d: &str| PagePatch {
            domain: Some(Some(d.to_owned())),
            ..Default::default()
        };
        let e = page()
            .apply_domain_rules(&take("Status.Herald.Example."), &own)
            .unwrap_err();
        assert_eq!(e.field, "page.domain");
        let p = page()
            .apply_domain_rules(&take("status.acme.example"), &own)
            .unwrap();
        assert_eq!(p.domain.as_deref(), Some("status.acme.example"));
    }

    #[test]
    fn colours_cannot_inject_css() {
        assert_eq!(parse_color("c", "#2ECC71").unwrap(), "#2ecc71");
        assert!(parse_color("c", "red;}body{display:none").is_err());
        assert!(parse_color("c", "#12345").is_err());
    }

    #[test]
    fn urls_must_be_http() {
        assert!(parse_web_url("u", "https://acme.example/logo.png").is_ok());
        assert!(parse_web_url("u", "javascript:alert(1)").is_err());
        assert!(parse_web_url("u", "https://").is_err());
        assert!(parse_web_url("u", "https://a.example/\"onload=").is_err());
    }

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(parse_email("e", "ops@example.org").is_ok());
        assert!(parse_email("e", "ops@localhost").is_err());
        assert!(parse_email("e", "a b@example.org").is_err());
        assert!(parse_email("e", "<a@example.org>").is_err());
    }

    #[test]
    fn a_patch_applies_all_or_nothing() {
        let p = page();
        let patch = PagePatch {
            name: Some("New".into()),
            css_greens: Some(Some("not a colour".into())),
            ..Default::default()
        };
        let e = p.apply(&patch).unwrap_err();
        assert_eq!(e.field, "page.css_greens");
        let ok = p
            .apply(&PagePatch {
                name: Some("New".into()),
                time_zone: Some("Europe/Paris".into()),
                headline: Some(Some("Hello".into())),
                allow_sms_subscribers: Some(false),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(ok.name, "New");
        assert_eq!(ok.zone.name(), "Europe/Paris");
        assert_eq!(ok.settings.headline.as_deref(), Some("Hello"));
        assert!(!ok.settings.allow_sms_subscribers);
    }

    #[test]
    fn clearing_an_optional_field() {
        let mut p = page();
        p.settings.headline = Some("x".into());
        let q = p
            .apply(&PagePatch {
                headline: Some(None),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(q.settings.headline, None);
    }

    #[test]
    fn public_url_prefers_the_custom_domain() {
        let mut p = page();
        assert_eq!(
            p.public_url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/p/acme"
        );
        p.domain = Some("status.acme.example".into());
        assert_eq!(p.public_url("http://x"), "https://status.acme.example");
    }
}
