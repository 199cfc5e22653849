//! Management API v1 objects, field for field as Statuspage's (STATUSPAGE-API.md
//! §2.3). Responses are bare objects and arrays. Every timestamp is printed in the page's
//! time zone with three fractional digits.

use herald_domain::component::Component;
use herald_domain::incident::{AffectedComponent, Incident, IncidentUpdate};
use herald_domain::page::{Branding, Page};
use herald_domain::status::{ComponentStatus, Impact, IncidentStatus};
use herald_domain::template::Template;
use herald_domain::time::PageZone;
use herald_domain::uptime::UptimeWeights;
use serde::Serialize;
use utoipa::ToSchema;

/// A page (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct PageV1 {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub name: String,
    pub page_description: Option<String>,
    pub headline: Option<String>,
    #[schema(value_type = String, example = "basic")]
    pub branding: Branding,
    pub subdomain: Option<String>,
    /// Custom domain (CNAME) serving the page.
    pub domain: Option<String>,
    /// The company's website.
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
    pub activity_score: f64,
    pub twitter_username: Option<String>,
    pub viewers_must_be_team_members: bool,
    pub ip_restrictions: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub time_zone: String,
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
    /// Herald extension: the page's URL name (`/p/<slug>`).
    pub slug: String,
    /// Herald extension: the public status page address.
    pub page_url: String,
    /// Herald extension: text shown above the public page.
    pub custom_header_text: Option<String>,
    /// Herald extension: text shown below the public page.
    pub custom_footer_text: Option<String>,
    /// Herald extension: how much of each status counts as down time in this page's uptime;
    /// `null`: the instance's weights.
    pub uptime_weights: Option<UptimeWeights>,
    /// Herald extension: whether automation may change components an open incident names.
    pub automation_overrides_incidents: bool,
}

impl PageV1 {
    /// The v1 view of `p`; `base_url` is herald's public address.
    pub fn new(p: &Page, base_url: &str) -> Self {
        let z = p.zone;
        let s = p.settings.clone();
        Self {
            id: p.id.to_string(),
            created_at: z.format(p.created_at),
            updated_at: z.format(p.updated_at),
            name: p.name.clone(),
            page_description: s.page_description,
            headline: s.headline,
            branding: s.branding,
            subdomain: s.subdomain,
            domain: p.domain.clone(),
            url: s.url,
            support_url: s.support_url,
            hidden_from_search: s.hidden_from_search,
            allow_page_subscribers: s.allow_page_subscribers,
            allow_incident_subscribers: s.allow_incident_subscribers,
            allow_email_subscribers: s.allow_email_subscribers,
            allow_sms_subscribers: s.allow_sms_subscribers,
            allow_rss_atom_feeds: s.allow_rss_atom_feeds,
            allow_webhook_subscribers: s.allow_webhook_subscribers,
            notifications_from_email: s.notifications_from_email,
            notifications_email_footer: s.notifications_email_footer,
            activity_score: 0.0,
            twitter_username: s.twitter_username,
            viewers_must_be_team_members: s.viewers_must_be_team_members,
            ip_restrictions: s.ip_restrictions,
            city: s.city,
            state: s.state,
            country: s.country,
            time_zone: z.name().to_owned(),
            css_body_background_color: s.css_body_background_color,
            css_font_color: s.css_font_color,
            css_light_font_color: s.css_light_font_color,
            css_greens: s.css_greens,
            css_yellows: s.css_yellows,
            css_oranges: s.css_oranges,
            css_blues: s.css_blues,
            css_reds: s.css_reds,
            css_border_color: s.css_border_color,
            css_graph_color: s.css_graph_color,
            css_link_color: s.css_link_color,
            css_no_data: s.css_no_data,
            favicon_logo: s.favicon_logo,
            transactional_logo: s.transactional_logo,
            hero_cover: s.hero_cover,
            email_logo: s.email_logo,
            twitter_logo: s.twitter_logo,
            slug: p.slug.clone(),
            page_url: p.public_url(base_url),
            custom_header_text: s.custom_header_text,
            custom_footer_text: s.custom_footer_text,
            uptime_weights: s.uptime_weights,
            automation_overrides_incidents: s.automation_overrides_incidents,
        }
    }
}

/// A component (v1). Groups appear too, with `group: true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentV1 {
    pub id: String,
    pub page_id: String,
    pub group_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Whether this is a component group.
    pub group: bool,
    pub name: String,
    pub description: Option<String>,
    pub position: i64,
    pub status: ComponentStatus,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    /// Always null: herald does not change statuses by e-mail.
    pub automation_email: Option<String>,
    /// `YYYY-MM-DD`.
    pub start_date: Option<String>,
    /// For groups: the ids of their components, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

impl ComponentV1 {
    /// The v1 view of `c`; `all` (the page's components) supplies a group's children.
    pub fn new(c: &Component, all: &[Component], z: PageZone) -> Self {
        Self {
            id: c.id.clone(),
            page_id: c.page_id.to_string(),
            group_id: c.group_id.clone(),
            created_at: z.format(c.created_at),
            updated_at: z.format(c.updated_at),
            group: c.is_group,
            name: c.name.clone(),
            description: c.description.clone(),
            position: c.position,
            status: c.status,
            showcase: c.showcase,
            only_show_if_degraded: c.only_show_if_degraded,
            automation_email: None,
            start_date: c.start_date.map(|d| d.to_string()),
            components: c.is_group.then(|| children(c, all)),
        }
    }
}

fn children(group: &Component, all: &[Component]) -> Vec<String> {
    all.iter()
        .filter(|x| x.group_id.as_deref() == Some(group.id.as_str()))
        .map(|x| x.id.clone())
        .collect()
}

/// A component group (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupV1 {
    pub id: String,
    pub page_id: String,
    pub name: String,
    pub description: Option<String>,
    /// Ids of its components, in order.
    pub components: Vec<String>,
    pub position: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl GroupV1 {
    /// The v1 view of group `g`.
    pub fn new(g: &Component, all: &[Component], z: PageZone) -> Self {
        Self {
            id: g.id.clone(),
            page_id: g.page_id.to_string(),
            name: g.name.clone(),
            description: g.description.clone(),
            components: children(g, all),
            position: g.position,
            created_at: z.format(g.created_at),
            updated_at: z.format(g.updated_at),
        }
    }
}

/// A component status change recorded on an update.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffectedComponentV1 {
    /// The component's id.
    pub code: String,
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

impl From<&AffectedComponent> for AffectedComponentV1 {
    fn from(a: &AffectedComponent) -> Self {
        Self {
            code: a.code.clone(),
            name: a.name.clone(),
            old_status: a.old_status,
            new_status: a.new_status,
        }
    }
}

/// One entry of an incident's timeline (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentUpdateV1 {
    pub id: String,
    pub incident_id: String,
    pub status: IncidentStatus,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
    pub display_at: String,
    pub affected_components: Option<Vec<AffectedComponentV1>>,
    pub deliver_notifications: bool,
    pub custom_tweet: Option<String>,
    pub tweet_id: Option<String>,
    pub wants_twitter_update: bool,
    pub twitter_updated_at: Option<String>,
}

impl IncidentUpdateV1 {
    /// The v1 view of `u`.
    pub fn new(u: &IncidentUpdate, z: PageZone) -> Self {
        Self {
            id: u.id.clone(),
            incident_id: u.incident_id.clone(),
            status: u.status,
            body: u.body.clone(),
            created_at: z.format(u.created_at),
            updated_at: z.format(u.updated_at),
            display_at: z.format(u.display_at),
            affected_components: u
                .affected_components
                .as_ref()
                .map(|v| v.iter().map(Into::into).collect()),
            deliver_notifications: u.deliver_notifications,
            custom_tweet: u.custom_tweet.clone(),
            tweet_id: u.tweet_id.clone(),
            wants_twitter_update: u.wants_twitter_update,
            twitter_updated_at: z.format_opt(u.twitter_updated_at),
        }
    }
}

/// An incident or scheduled maintenance (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentV1 {
    pub id: String,
    pub page_id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub impact_override: Option<Impact>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: String,
    pub monitoring_at: Option<String>,
    pub resolved_at: Option<String>,
    pub shortlink: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub backfilled: bool,
    pub postmortem_body: Option<String>,
    pub postmortem_body_last_updated_at: Option<String>,
    pub postmortem_ignored: bool,
    pub postmortem_notified_subscribers: bool,
    pub postmortem_notified_twitter: bool,
    /// A timestamp (Statuspage's spec mistypes it as boolean).
    pub postmortem_published_at: Option<String>,
    pub scheduled_for: Option<String>,
    pub scheduled_until: Option<String>,
    pub scheduled_remind_prior: bool,
    pub scheduled_reminded_at: Option<String>,
    pub scheduled_auto_in_progress: bool,
    pub scheduled_auto_completed: bool,
    pub auto_transition_to_maintenance_state: bool,
    pub auto_transition_to_operational_state: bool,
    pub auto_transition_deliver_notifications_at_start: bool,
    pub auto_transition_deliver_notifications_at_end: bool,
    /// Newest first.
    pub incident_updates: Vec<IncidentUpdateV1>,
    /// The affected components as they are now.
    pub components: Vec<ComponentV1>,
}

impl IncidentV1 {
    /// The v1 view of `i` on `page`; `components` are the page's components.
    pub fn new(i: &Incident, page: &Page, components: &[Component], base_url: &str) -> Self {
        let z = page.zone;
        let f = &i.flags;
        Self {
            id: i.id.clone(),
            page_id: i.page_id.to_string(),
            name: i.name.clone(),
            status: i.status,
            impact: i.impact,
            impact_override: i.impact_override,
            created_at: z.format(i.created_at),
            updated_at: z.format(i.updated_at),
            started_at: z.format(i.started_at),
            monitoring_at: z.format_opt(i.monitoring_at),
            resolved_at: z.format_opt(i.resolved_at),
            shortlink: shortlink(page, &i.id, base_url),
            metadata: i.metadata.clone(),
            backfilled: i.backfilled,
            postmortem_body: i.postmortem.body.clone(),
            postmortem_body_last_updated_at: z.format_opt(i.postmortem.body_updated_at),
            postmortem_ignored: i.postmortem.ignored,
            postmortem_notified_subscribers: i.postmortem.notified_subscribers,
            postmortem_notified_twitter: i.postmortem.notified_twitter,
            postmortem_published_at: z.format_opt(i.postmortem.published_at),
            scheduled_for: z.format_opt(i.scheduled_for),
            scheduled_until: z.format_opt(i.scheduled_until),
            scheduled_remind_prior: f.remind_prior,
            scheduled_reminded_at: z.format_opt(i.scheduled_reminded_at),
            scheduled_auto_in_progress: f.auto_in_progress,
            scheduled_auto_completed: f.auto_completed,
            auto_transition_to_maintenance_state: f.auto_transition_to_maintenance_state,
            auto_transition_to_operational_state: f.auto_transition_to_operational_state,
            auto_transition_deliver_notifications_at_start: f
                .auto_transition_deliver_notifications_at_start,
            auto_transition_deliver_notifications_at_end: f
                .auto_transition_deliver_notifications_at_end,
            incident_updates: i
                .updates
                .iter()
                .map(|u| IncidentUpdateV1::new(u, z))
                .collect(),
            components: i
                .component_ids
                .iter()
                .filter_map(|id| components.iter().find(|c| c.id == *id))
                .map(|c| ComponentV1::new(c, components, z))
                .collect(),
        }
    }
}

/// The link to an incident on the public page. Statuspage uses its `stspg.io` shortener; a
/// compatible server may link the incident page itself (STATUSPAGE-API.md §1.4).
pub fn shortlink(page: &Page, incident_id: &str, base_url: &str) -> String {
    format!("{}/incidents/{incident_id}", page.public_url(base_url))
}

/// An incident's postmortem (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemV1 {
    /// Always null: drafts are previewed in the admin UI.
    pub preview_key: Option<String>,
    pub body: Option<String>,
    pub body_updated_at: Option<String>,
    pub body_draft: Option<String>,
    pub body_draft_updated_at: Option<String>,
    pub published_at: Option<String>,
    pub notify_subscribers: bool,
    pub notify_twitter: bool,
    pub custom_tweet: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl PostmortemV1 {
    /// The v1 view of `i`'s postmortem.
    pub fn new(i: &Incident, z: PageZone) -> Self {
        let p = &i.postmortem;
        Self {
            preview_key: None,
            body: p.body.clone(),
            body_updated_at: z.format_opt(p.body_updated_at),
            body_draft: p.body_draft.clone(),
            body_draft_updated_at: z.format_opt(p.body_draft_updated_at),
            published_at: z.format_opt(p.published_at),
            notify_subscribers: p.notify_subscribers,
            notify_twitter: p.notify_twitter,
            custom_tweet: p.custom_tweet.clone(),
            created_at: z.format_opt(p.created_at),
            updated_at: z.format_opt(p.updated_at),
        }
    }
}

/// An incident template (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateV1 {
    pub id: String,
    pub components: Vec<ComponentV1>,
    pub name: String,
    pub title: String,
    pub body: String,
    pub group_id: Option<String>,
    pub update_status: Option<IncidentStatus>,
    pub should_tweet: bool,
    pub should_send_notifications: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl TemplateV1 {
    /// The v1 view of `t`.
    pub fn new(t: &Template, components: &[Component], z: PageZone) -> Self {
        Self {
            id: t.id.clone(),
            components: t
                .component_ids
                .iter()
                .filter_map(|id| components.iter().find(|c| c.id == *id))
                .map(|c| ComponentV1::new(c, components, z))
                .collect(),
            name: t.name.clone(),
            title: t.title.clone(),
            body: t.body.clone(),
            group_id: t.group_id.clone(),
            update_status: t.update_status,
            should_tweet: t.should_tweet,
            should_send_notifications: t.should_send_notifications,
            created_at: z.format(t.created_at),
            updated_at: z.format(t.updated_at),
        }
    }
}

/// A subscriber (v1).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberV1 {
    pub id: String,
    /// `email`, `sms`, `webhook`, `slack`, `teams` or `discord`.
    pub mode: String,
    pub email: Option<String>,
    pub endpoint: Option<String>,
    pub phone_number: Option<String>,
    pub phone_country: Option<String>,
    pub display_phone_number: Option<String>,
    pub obfuscated_channel_name: Option<String>,
    pub workspace_name: Option<String>,
    pub quarantined_at: Option<String>,
    pub purge_at: Option<String>,
    /// Ids of the components it follows (empty: the whole page).
    pub components: Vec<String>,
    pub page_access_user_id: Option<String>,
    pub skip_confirmation_notification: bool,
    pub created_at: String,
    /// Herald extension: `unconfirmed`, `active`, `quarantined` or `unsubscribed`.
    pub state: String,
    /// Herald extension: the incident it follows, for incident subscriptions.
    pub incident_id: Option<String>,
    /// Herald extension: the webhook signing secret, present only in the response that
    /// created the subscriber (or rotated the secret). Store it; it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

impl SubscriberV1 {
    /// The v1 view of `s`.
    pub fn new(s: &herald_domain::subscriber::Subscriber, z: PageZone) -> Self {
        Self {
            id: s.id.to_string(),
            mode: s.channel.mode().to_owned(),
            email: s.email.clone(),
            endpoint: s.endpoint.clone(),
            phone_number: s.phone_number.clone(),
            phone_country: s.phone_country.clone(),
            display_phone_number: s.phone_number.clone(),
            obfuscated_channel_name: None,
            workspace_name: None,
            quarantined_at: z.format_opt(s.quarantined_at),
            purge_at: z.format_opt(s.purge_at),
            components: s.component_ids.iter().map(ToString::to_string).collect(),
            page_access_user_id: None,
            skip_confirmation_notification: false,
            created_at: z.format(s.created_at),
            state: s.state.as_str().to_owned(),
            incident_id: s.incident_id.as_ref().map(ToString::to_string),
            webhook_secret: None,
        }
    }
}
