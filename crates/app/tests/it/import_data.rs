//! Recorded Statuspage v1 shapes for the import fixture: a page in Los Angeles time (so every
//! timestamp carries an offset), a group with two components and a lone one, 130 resolved
//! incidents (two list pages), an open incident, a postmortem, a scheduled maintenance, a
//! template, and subscribers of every kind Statuspage has.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::time::PageZone;
use serde_json::{Value, json};

use crate::import_fixture::Data;

pub const PAGE: &str = "k7pq2xw9ab3d";
pub const GROUP: &str = "g1core000001";
pub const API: &str = "c1api0000001";
pub const DASH: &str = "c2dash000001";
pub const CDN: &str = "c3cdn0000001";
pub const OPEN: &str = "inc000000000";
pub const POSTMORTEM: &str = "inc000000003";
pub const MAINTENANCE: &str = "mnt000000001";
pub const RESOLVED: usize = 130;
pub const SELF_PROVIDER: &str = "mp0self00001";
pub const DATADOG: &str = "mp0datadog01";
pub const LATENCY: &str = "met0latency1";
pub const ERRORS: &str = "met0errors01";

fn zone() -> PageZone {
    PageZone::parse("t", "America/Los_Angeles").unwrap()
}

/// Metrics providers and metrics as Statuspage lists them: a `Self` provider with a pushed
/// metric, and a Datadog provider (its credentials, as always, not in the object) with a
/// query metric.
fn metrics(born: DateTime<Utc>, now: DateTime<Utc>) -> (Vec<Value>, Vec<Value>) {
    let made = born + TimeDelta::days(3);
    let provider = |id: &str, kind: &str, base: Value| {
        json!({"id": id, "type": kind, "disabled": false, "metric_base_uri": base, "last_revalidated_at": null,
            "created_at": ts(made), "updated_at": ts(made + TimeDelta::hours(1)), "page_id": PAGE})
    };
    let metric = |id: &str, provider: &str, extra: Value| {
        let mut m = json!({"id": id, "metrics_provider_id": provider, "metric_identifier": "", "display": true,
            "tooltip_description": "", "backfilled": true, "y_axis_min": null, "y_axis_max": null,
            "y_axis_hidden": false, "suffix": "", "decimal_places": 0, "most_recent_data_at": ts(now),
            "created_at": ts(made), "updated_at": ts(made + TimeDelta::days(1)), "last_fetched_at": ts(now),
            "backfill_percentage": 100});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m["reference_name"] = m["name"].clone();
        m
    };
    (
        vec![
            provider(SELF_PROVIDER, "Self", Value::Null),
            provider(DATADOG, "Datadog", Value::Null),
        ],
        vec![
            metric(
                LATENCY,
                SELF_PROVIDER,
                json!({"name": "API latency", "suffix": "ms", "decimal_places": 1, "y_axis_min": 0.0,
                    "tooltip_description": "Median over all regions"}),
            ),
            metric(
                ERRORS,
                DATADOG,
                json!({"name": "Error rate", "suffix": "%", "decimal_places": 2, "y_axis_max": 100.0,
                    "metric_identifier": "avg:api.errors.rate{env:prod}", "display": false}),
            ),
        ],
    )
}

/// A timestamp as Statuspage prints it for this page.
pub fn ts(t: DateTime<Utc>) -> String {
    zone().format(t)
}

fn component(
    id: &str,
    name: &str,
    group: Option<&str>,
    status: &str,
    pos: i64,
    born: DateTime<Utc>,
) -> Value {
    json!({
        "id": id, "page_id": PAGE, "group_id": group, "created_at": ts(born), "updated_at": ts(born + TimeDelta::days(1)),
        "group": false, "name": name, "description": format!("{name} for customers"), "position": pos,
        "status": status, "showcase": true, "only_show_if_degraded": false, "automation_email": format!("component+{id}@notifications.statuspage.io"),
        "start_date": "2023-01-10"
    })
}

fn affected(code: &str, name: &str, old: &str, new: &str) -> Value {
    json!({"code": code, "name": name, "old_status": old, "new_status": new})
}

fn update(
    id: &str,
    incident: &str,
    status: &str,
    body: &str,
    at: DateTime<Utc>,
    affected: Value,
) -> Value {
    json!({
        "id": id, "incident_id": incident, "status": status, "body": body,
        "created_at": ts(at), "updated_at": ts(at), "display_at": ts(at),
        "affected_components": affected, "deliver_notifications": true,
        "custom_tweet": null, "tweet_id": null, "wants_twitter_update": false, "twitter_updated_at": null
    })
}

fn incident(
    id: &str,
    name: &str,
    status: &str,
    impact: &str,
    created: DateTime<Utc>,
    updates: Vec<Value>,
) -> Value {
    let resolved =
        (status == "resolved" || status == "postmortem").then(|| ts(created + TimeDelta::hours(1)));
    json!({
        "id": id, "page_id": PAGE, "name": name, "status": status, "impact": impact, "impact_override": null,
        "created_at": ts(created), "updated_at": ts(created + TimeDelta::hours(1)), "started_at": ts(created),
        "monitoring_at": null, "resolved_at": resolved, "shortlink": format!("https://stspg.io/{id}"),
        "metadata": {}, "backfilled": false, "postmortem_body": null, "postmortem_body_last_updated_at": null,
        "postmortem_ignored": false, "postmortem_notified_subscribers": false, "postmortem_notified_twitter": false,
        "postmortem_published_at": null, "scheduled_for": null, "scheduled_until": null, "scheduled_remind_prior": false,
        "scheduled_reminded_at": null, "scheduled_auto_in_progress": false, "scheduled_auto_completed": false,
        "auto_transition_to_maintenance_state": false, "auto_transition_to_operational_state": false,
        "auto_transition_deliver_notifications_at_start": false, "auto_transition_deliver_notifications_at_end": false,
        "incident_updates": updates, "components": []
    })
}

/// The whole recorded page, dated relative to `now`.
pub fn statuspage(now: DateTime<Utc>) -> Data {
    let born = now - TimeDelta::days(400);
    let api = component(API, "API", Some(GROUP), "operational", 1, born);
    let dash = component(
        DASH,
        "Dashboard",
        Some(GROUP),
        "degraded_performance",
        2,
        born,
    );
    let mut cdn = component(CDN, "CDN", None, "operational", 2, born);
    cdn["showcase"] = json!(false);
    cdn["only_show_if_degraded"] = json!(true);
    cdn["description"] = Value::Null;
    let group_row = json!({
        "id": GROUP, "page_id": PAGE, "group_id": null, "created_at": ts(born), "updated_at": ts(born),
        "group": true, "name": "Core", "description": null, "position": 1, "status": "degraded_performance",
        "showcase": false, "only_show_if_degraded": false, "automation_email": null, "start_date": null,
        "components": [API, DASH]
    });
    let group = json!({
        "id": GROUP, "page_id": PAGE, "name": "Core", "description": "The core platform",
        "components": [API, DASH], "position": 1, "created_at": ts(born), "updated_at": ts(born)
    });
    let mut incidents = Vec::new();
    // The open incident: the dashboard is degraded now.
    let t = now - TimeDelta::hours(2);
    let mut open = incident(
        OPEN,
        "Slow dashboard",
        "identified",
        "minor",
        t,
        vec![
            update(
                "upd0open0002",
                OPEN,
                "identified",
                "A slow query was found.",
                t + TimeDelta::minutes(30),
                json!([{"name": "No components were affected by this update."}]),
            ),
            update(
                "upd0open0001",
                OPEN,
                "investigating",
                "Pages load slowly.",
                t,
                json!([affected(
                    DASH,
                    "Dashboard",
                    "operational",
                    "degraded_performance"
                )]),
            ),
        ],
    );
    open["components"] = json!([dash.clone()]);
    open["resolved_at"] = Value::Null;
    open["metadata"] = json!({"jira": {"issue_id": "OPS-42"}});
    incidents.push(open);
    for n in 1..=RESOLVED {
        let id = format!("inc{n:09}");
        let t = now - TimeDelta::days(n as i64 + 1);
        let status = if id == POSTMORTEM {
            "postmortem"
        } else {
            "resolved"
        };
        let mut i = incident(
            &id,
            &format!("API errors #{n}"),
            status,
            "major",
            t,
            vec![
                update(
                    &format!("upd{n:07}b2"),
                    &id,
                    "resolved",
                    "Fixed.",
                    t + TimeDelta::hours(1),
                    json!([affected(API, "API", "major_outage", "operational")]),
                ),
                update(
                    &format!("upd{n:07}a1"),
                    &id,
                    "investigating",
                    "Errors on **every** call.",
                    t,
                    json!([affected(API, "API", "operational", "major_outage")]),
                ),
            ],
        );
        i["components"] = json!([api.clone()]);
        if id == POSTMORTEM {
            i["impact_override"] = json!("critical");
            i["postmortem_body"] = json!("A config push broke the API.");
            i["postmortem_body_last_updated_at"] = json!(ts(t + TimeDelta::days(1)));
            i["postmortem_published_at"] = json!(ts(t + TimeDelta::days(1)));
            i["postmortem_notified_subscribers"] = json!(true);
        }
        incidents.push(i);
    }
    let start = now + TimeDelta::days(3);
    let mut m = incident(
        MAINTENANCE,
        "Database upgrade",
        "scheduled",
        "maintenance",
        now - TimeDelta::hours(1),
        vec![update(
            "upd0mnt00001",
            MAINTENANCE,
            "scheduled",
            "We will upgrade the database.",
            now - TimeDelta::hours(1),
            Value::Null,
        )],
    );
    m["scheduled_for"] = json!(ts(start));
    m["scheduled_until"] = json!(ts(start + TimeDelta::hours(2)));
    m["scheduled_remind_prior"] = json!(true);
    m["scheduled_auto_in_progress"] = json!(true);
    m["scheduled_auto_completed"] = json!(true);
    m["auto_transition_to_maintenance_state"] = json!(true);
    m["components"] = json!([cdn.clone()]);
    incidents.insert(1, m);
    let template = json!({
        "id": "tmpl00000001", "page_id": PAGE, "name": "API down", "title": "API errors", "body": "We are looking into it.",
        "group_id": null, "update_status": "investigating", "should_tweet": false, "should_send_notifications": true,
        "components": [api.clone()], "created_at": ts(born), "updated_at": ts(born)
    });
    let sub = |id: &str, mode: &str, extra: Value| {
        let mut s = json!({
            "id": id, "mode": mode, "email": null, "endpoint": null, "phone_number": null, "phone_country": null,
            "display_phone_number": null, "obfuscated_channel_name": null, "workspace_name": null,
            "quarantined_at": null, "purge_at": null, "components": [], "page_access_user_id": null,
            "skip_confirmation_notification": false, "created_at": ts(born + TimeDelta::days(10))
        });
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    let subscribers = vec![
        (
            "active",
            sub(
                "sub000alice1",
                "email",
                json!({"email": "alice@example.com", "components": [API]}),
            ),
        ),
        (
            "active",
            sub(
                "sub0000carol",
                "email",
                json!({"email": "carol@example.com"}),
            ),
        ),
        (
            "unconfirmed",
            sub("sub00000bob1", "email", json!({"email": "bob@example.com"})),
        ),
        (
            "active",
            sub(
                "sub00000sms1",
                "sms",
                json!({"phone_number": "4155550100", "phone_country": "US", "display_phone_number": "+1 415-555-0100"}),
            ),
        ),
        (
            "quarantined",
            sub(
                "sub0000hook1",
                "webhook",
                json!({"endpoint": "https://hooks.example.com/status", "email": "ops@example.com", "quarantined_at": ts(now - TimeDelta::days(2))}),
            ),
        ),
        (
            "active",
            sub(
                "sub000slack1",
                "slack",
                json!({"workspace_name": "Acme", "obfuscated_channel_name": "#st***"}),
            ),
        ),
        (
            "active",
            sub("sub0000part1", "integration_partner", json!({})),
        ),
    ];
    let page = json!({
        "id": PAGE, "created_at": ts(born), "updated_at": ts(now), "name": "Acme on Statuspage",
        "page_description": "Acme's services", "headline": "Live status", "branding": "premium", "subdomain": "acme-sp",
        "domain": "status.acme.example", "url": "https://acme.example", "support_url": "https://acme.example/help",
        "hidden_from_search": true, "allow_page_subscribers": true, "allow_incident_subscribers": false,
        "allow_email_subscribers": true, "allow_sms_subscribers": false, "allow_rss_atom_feeds": true,
        "allow_webhook_subscribers": true, "notifications_from_email": "status@acme.example"
    });
    let branding = json!({
        "notifications_email_footer": "You subscribed to **Acme**.", "activity_score": 12, "twitter_username": "acmestatus",
        "viewers_must_be_team_members": false, "ip_restrictions": null, "city": "Los Angeles", "state": "CA",
        "country": "US", "time_zone": "America/Los_Angeles", "css_body_background_color": "#FFFFFF",
        "css_font_color": "#333333", "css_light_font_color": "#999999", "css_greens": "#2FCC66", "css_yellows": "#F1C40F",
        "css_oranges": "#E67E22", "css_blues": "#3498DB", "css_reds": "#E74C3C", "css_border_color": "#ECECEC",
        "css_graph_color": "#3498DB", "css_link_color": "#0000EE", "css_no_data": "#B3BAC5",
        "favicon_logo": {"url": "https://cdn.example/favicon.png", "updated_at": ts(born), "size": 1200},
        "transactional_logo": null, "hero_cover": null, "email_logo": "https://cdn.example/mail.png", "twitter_logo": null
    });
    let mut page = page;
    for (k, v) in branding.as_object().unwrap() {
        page[k] = v.clone();
    }
    let (providers, metrics) = metrics(born, now);
    Data {
        page,
        components: vec![group_row, api, dash, cdn],
        groups: vec![group],
        incidents,
        templates: vec![template],
        providers,
        metrics,
        subscribers,
    }
}
