//! `herald demo`: a fresh SQLite file seeded with a page that looks lived in: two groups and
//! ten components, 90 days of status history from past incidents, a resolved incident with a
//! published postmortem, an incident in progress with three updates, a completed and an
//! upcoming maintenance, incident templates, and two system metrics (pushed, `Self`) with the
//! last day of points, so the page shows charts.
//!
//! The history is written through the same store methods the API uses, with past times as
//! their input, so the demo is also a walk through the real write path. Events are written
//! oldest first: a page's write times never go backwards (see `store/src/write.rs`).

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::Clock;
use herald_domain::component::{ComponentInput, GroupInput, NewComponent};
use herald_domain::id::IncidentId;
use herald_domain::incident::{
    IncidentInput, PostmortemInput, plan_create, plan_update, publish_postmortem,
    save_postmortem_draft,
};
use herald_domain::metric::points::{self, Point};
use herald_domain::metric::{Metric, MetricInput, Provider, ProviderInput};
use herald_domain::page::{NewPage, Page, PagePatch};
use herald_domain::template::{Template, TemplateInput};
use herald_store::Store;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::{server, shutdown};

/// What the seed made.
#[derive(Debug)]
pub struct Seeded {
    /// The demo page.
    pub page: Page,
    /// A read-write API key for every page.
    pub api_key: String,
    /// The admin UI's sign-in: an owner's e-mail address...
    pub admin_email: String,
    /// ...and the password generated for it (shown once, stored only as a hash).
    pub admin_password: String,
}

/// The demo's admin account.
pub const DEMO_ADMIN_EMAIL: &str = "admin@acme.example";

/// Recreates `file`, seeds it, prints where to look, and serves until stopped.
pub async fn run(
    mut config: Config,
    file: &Path,
    ready_file: Option<&Path>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let f = format!("{}{suffix}", file.display());
        match std::fs::remove_file(&f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {f}"));
            }
            _ => {}
        }
    }
    let store = server::open_store(&config).await?;
    let seeded = seed(&store, clock.now()).await?;
    let listener = server::bind(&mut config, ready_file).await?;
    let base = config.public_url();
    let mut out = std::io::stdout().lock();
    writeln!(out, "herald demo is running on a fresh {}", file.display())?;
    writeln!(out, "  status page:  {}", seeded.page.public_url(&base))?;
    writeln!(
        out,
        "  API base:     {base}/v1   (page id {})",
        seeded.page.id
    )?;
    writeln!(out, "  API key:      {}", seeded.api_key)?;
    writeln!(out, "  admin:        {base}/admin/login")?;
    writeln!(out, "  admin e-mail: {}", seeded.admin_email)?;
    writeln!(out, "  password:     {}", seeded.admin_password)?;
    writeln!(
        out,
        "  try:          curl -H 'Authorization: OAuth {}' {base}/v1/pages/{}/incidents/unresolved",
        seeded.api_key, seeded.page.id
    )?;
    drop(out);
    server::run(&config, store, listener, clock, shutdown::on_signal()).await
}

fn input(v: Value) -> anyhow::Result<IncidentInput> {
    Ok(serde_json::from_value(v)?)
}

struct Seeder<'a> {
    store: &'a Store,
    page: Page,
    actor: Actor,
    now: DateTime<Utc>,
    ids: HashMap<&'static str, String>,
}

impl Seeder<'_> {
    fn ago(&self, days: i64, minutes: i64) -> DateTime<Utc> {
        self.now - TimeDelta::days(days) - TimeDelta::minutes(minutes)
    }

    fn id(&self, name: &str) -> String {
        self.ids.get(name).cloned().unwrap_or_default()
    }

    /// `{"Component name": "status"}` → `{"<id>": "status"}`.
    fn statuses(&self, by_name: &[(&str, &str)]) -> Value {
        Value::Object(
            by_name
                .iter()
                .map(|(n, s)| (self.id(n), json!(s)))
                .collect(),
        )
    }

    async fn open(&self, at: DateTime<Utc>, v: Value) -> anyhow::Result<String> {
        let i = input(v)?;
        let created = self
            .store
            .create_incident(
                &self.page.id,
                &self.actor,
                at,
                &i.named_components(),
                |p, comps, at| plan_create(&i, &p.id, comps, at, p.zone),
            )
            .await?;
        Ok(created.id)
    }

    async fn post(&self, id: &str, at: DateTime<Utc>, v: Value) -> anyhow::Result<()> {
        let i = input(v)?;
        self.store
            .update_incident(
                &self.page.id,
                &IncidentId::from(id),
                &self.actor,
                at,
                &i.named_components(),
                |p, cur, comps, at| plan_update(cur, &i, comps, at, p.zone),
            )
            .await?;
        Ok(())
    }

    /// A short realtime incident on one component: opened, then resolved `minutes` later.
    async fn blip(&self, b: Blip<'_>) -> anyhow::Result<()> {
        let start = self.ago(b.days_ago, 0);
        let id = self
            .open(
                start,
                json!({"name": b.name, "status": "investigating", "body": b.first,
                    "components": self.statuses(&[(b.component, b.status)])}),
            )
            .await?;
        let end = start + TimeDelta::minutes(b.minutes);
        self.post(
            &id,
            end,
            json!({"status": "resolved", "body": b.last,
                "components": self.statuses(&[(b.component, "operational")])}),
        )
        .await
    }
}

/// A past incident that hit one component for a while.
struct Blip<'a> {
    days_ago: i64,
    name: &'a str,
    component: &'a str,
    status: &'a str,
    minutes: i64,
    first: &'a str,
    last: &'a str,
}

/// A number in [-1, 1) that looks random and is the same on every run: the demo's noise.
fn wobble(k: i64, salt: u64) -> f64 {
    let mut x = (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x % 2000) as f64 / 1000.0 - 1.0
}

/// The page's displayed metrics, pushed (`Self`), with every 30 s bucket of the last 24
/// hours before `now`: the API's response time (a daily swing, noise, a bump during the
/// webhook incident in progress) and the webhook delivery delay the incident is about.
async fn metrics(s: &Seeder<'_>) -> anyhow::Result<()> {
    let now = s.now;
    let provider: ProviderInput = serde_json::from_value(json!({"type": "Self"}))?;
    let provider = s
        .store
        .create_provider(&Provider::parse(&s.page.id, &provider, now)?, &s.actor, now)
        .await?;
    let incident_start = s.ago(0, 35).timestamp();
    let last = points::snap(now.timestamp());
    let buckets = 24 * 3600 / points::BUCKET_SECS;
    let response = |t: i64, k: i64| {
        let day = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
        let bump = if t >= incident_start { 40.0 } else { 0.0 };
        118.0 + 22.0 * (day - 1.2).sin() + 9.0 * wobble(k, 1) + bump
    };
    let delay = |t: i64, k: i64| {
        let since = (t - incident_start) as f64 / 60.0;
        let base = 2.1 + 0.6 * wobble(k, 2);
        if since < -5.0 {
            base
        } else if since < 15.0 {
            // Up to 10 minutes while one queue partition fell behind...
            base + 580.0 * ((since + 5.0) / 20.0)
        } else {
            // ...then draining.
            (base + 580.0 - 32.0 * (since - 15.0)).max(base + 60.0)
        }
    };
    type Curve<'a> = &'a dyn Fn(i64, i64) -> f64;
    let shown: [(&str, &str, i64, &str, Curve); 2] = [
        (
            "API response time",
            "ms",
            0,
            "Median time to answer a request at api.acme.example",
            &response,
        ),
        (
            "Webhook delivery delay",
            "s",
            1,
            "From an event to its webhook's delivery",
            &delay,
        ),
    ];
    for (name, suffix, places, tip, curve) in shown {
        let input: MetricInput = serde_json::from_value(json!({
            "name": name, "suffix": suffix, "decimal_places": places,
            "tooltip_description": tip, "display": true,
        }))?;
        let m = s
            .store
            .create_metric(&Metric::parse(&provider, &input, now)?, &s.actor, now)
            .await?;
        let pts: Vec<Point> = (0..buckets)
            .rev()
            .map(|k| {
                let bucket = last - k * points::BUCKET_SECS;
                Point {
                    bucket,
                    value: (curve(bucket, k) * 10.0).round() / 10.0,
                }
            })
            .collect();
        s.store
            .push_points(&s.page.id, &[(m.id, pts)], &s.actor, now)
            .await?;
    }
    Ok(())
}

/// Seeds a demo page at `now` and returns it with a new API key.
pub async fn seed(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let actor = Actor::system("demo-seed");
    let created = now - TimeDelta::days(120);
    let page = store
        .create_page(
            &NewPage::parse("Acme Cloud", "acme", Some("Etc/UTC"))?,
            &actor,
            created,
        )
        .await?;
    let patch: PagePatch = serde_json::from_value(json!({
        "headline": "Live status of Acme Cloud's services",
        "page_description": "Acme Cloud hosts APIs, dashboards and data for 40,000 teams.",
        "url": "https://acme.example",
        "support_url": "https://acme.example/support",
        "custom_footer_text": "Questions? Write to support@acme.example.",
        "notifications_from_email": "status@acme.example",
    }))?;
    let page = store
        .update_page(&page.id, &actor, created, |p| p.apply(&patch))
        .await?;

    let mut s = Seeder {
        store,
        page,
        actor,
        now,
        ids: HashMap::new(),
    };
    let born = s.ago(100, 0);
    let start_date = s.page.zone.date(born).to_string();
    let components: [(&str, &str, &str); 10] = [
        ("API", "REST and GraphQL API at api.acme.example", "core"),
        ("Dashboard", "The web app at app.acme.example", "core"),
        ("Authentication", "Sign-in, SSO and API tokens", "core"),
        ("Webhooks", "Outgoing webhook deliveries", "core"),
        ("Database", "Managed PostgreSQL clusters", "core"),
        ("CDN", "Static asset delivery in 40 regions", "edge"),
        ("DNS", "Authoritative DNS for customer domains", "edge"),
        (
            "Email Delivery",
            "Transactional e-mail sent on your behalf",
            "",
        ),
        ("Billing", "Invoices and payment processing", ""),
        ("Support Portal", "help.acme.example", ""),
    ];
    for (name, description, _) in components {
        let c: ComponentInput = serde_json::from_value(
            json!({"name": name, "description": description, "start_date": start_date}),
        )?;
        let c = store
            .create_component(&s.page.id, &NewComponent::parse(&c)?, &s.actor, born)
            .await?;
        s.ids.insert(name, c.id);
    }
    for (group, key, description) in [
        ("Core Platform", "core", "The services behind every request"),
        ("Edge Network", "edge", "Where traffic enters"),
    ] {
        let members = components
            .iter()
            .filter(|c| c.2 == key)
            .map(|c| s.id(c.0))
            .collect();
        store
            .create_group(
                &s.page.id,
                &GroupInput::parse(group, Some(description), members)?,
                &s.actor,
                born,
            )
            .await?;
    }

    s.blip(Blip {
        days_ago: 78,
        name: "DNS resolution failures in eu-west",
        component: "DNS",
        status: "partial_outage",
        minutes: 47,
        first: "Some customers in Europe cannot resolve their domains. We are investigating.",
        last: "Resolution has recovered after we withdrew a faulty anycast route.",
    })
    .await?;
    s.blip(Blip {
        days_ago: 61,
        name: "Slow dashboard loading",
        component: "Dashboard",
        status: "degraded_performance",
        minutes: 125,
        first: "The dashboard is loading slowly for some users.",
        last: "A cache node was replaced; dashboard load times are back to normal.",
    })
    .await?;
    // A completed maintenance.
    let t = s.ago(45, 0);
    let cdn = s.open(t - TimeDelta::days(7), json!({"name": "CDN provider migration", "status": "scheduled",
        "scheduled_for": t.to_rfc3339(), "scheduled_until": (t + TimeDelta::hours(2)).to_rfc3339(),
        "body": "We are moving static assets to a new CDN. Assets may load slowly for a few minutes.",
        "component_ids": [s.id("CDN")]})).await?;
    s.post(
        &cdn,
        t,
        json!({"status": "in_progress", "body": "The migration has started.",
        "components": s.statuses(&[("CDN", "under_maintenance")])}),
    )
    .await?;
    s.post(
        &cdn,
        t + TimeDelta::minutes(80),
        json!({"status": "completed", "body": "The migration is complete.",
        "components": s.statuses(&[("CDN", "operational")])}),
    )
    .await?;

    s.blip(Blip {
        days_ago: 40,
        name: "Webhook delivery delays",
        component: "Webhooks",
        status: "degraded_performance",
        minutes: 95,
        first: "Webhook deliveries are delayed by up to 20 minutes.",
        last: "All queued webhooks have been delivered.",
    })
    .await?;
    // An authentication outage that got worse before it got better.
    let t = s.ago(26, 0);
    let auth = s.open(t, json!({"name": "Authentication outage", "status": "investigating",
        "body": "Users cannot sign in. We are investigating.", "components": s.statuses(&[("Authentication", "major_outage")])})).await?;
    s.post(
        &auth,
        t + TimeDelta::minutes(38),
        json!({"status": "monitoring",
        "body": "An expired signing certificate was replaced. Most sign-ins work again.",
        "components": s.statuses(&[("Authentication", "partial_outage")])}),
    )
    .await?;
    s.post(&auth, t + TimeDelta::minutes(58), json!({"status": "resolved",
        "body": "Sign-in works for everyone.", "components": s.statuses(&[("Authentication", "operational")])})).await?;

    // The resolved incident with a published postmortem.
    let t = s.ago(12, 0);
    let api = s.open(t, json!({"name": "Elevated API error rates", "status": "investigating", "impact_override": "major",
        "body": "Around 8% of API requests fail with HTTP 503. We are investigating.",
        "components": s.statuses(&[("API", "partial_outage")])})).await?;
    s.post(&api, t + TimeDelta::minutes(14), json!({"status": "identified",
        "body": "A configuration change reduced the API's connection pool. We are rolling it back."})).await?;
    s.post(
        &api,
        t + TimeDelta::minutes(31),
        json!({"status": "monitoring",
        "body": "The rollback is complete and error rates are falling.",
        "components": s.statuses(&[("API", "degraded_performance")])}),
    )
    .await?;
    s.post(
        &api,
        t + TimeDelta::minutes(62),
        json!({"status": "resolved",
        "body": "Error rates have been normal for 30 minutes. This incident is resolved.",
        "components": s.statuses(&[("API", "operational")])}),
    )
    .await?;
    let pm_at = t + TimeDelta::days(2);
    let draft = PostmortemInput {
        body_draft: Some("## What happened\n\nA configuration change shrank the API's database connection pool from 200 to 20 connections. Under normal load, 8% of requests waited too long for a connection and failed with HTTP 503 for 62 minutes.\n\n## What we are changing\n\n- Pool sizes are now checked by a canary before a rollout continues.\n- An alert fires when more than 1% of requests wait for a connection.".into()),
        ..PostmortemInput::default()
    };
    let publish = PostmortemInput {
        notify_subscribers: Some(true),
        ..PostmortemInput::default()
    };
    store
        .modify_incident(
            &s.page.id,
            &IncidentId::from(&api),
            "postmortem.publish",
            &s.actor,
            pm_at,
            |i, pm_at| {
                let mut i = i.clone();
                i.postmortem = save_postmortem_draft(&i.postmortem, &draft, pm_at)?;
                publish_postmortem(&i, &publish, pm_at)
            },
        )
        .await?;

    s.blip(Blip {
        days_ago: 5,
        name: "Email delivery delays to Microsoft domains",
        component: "Email Delivery",
        status: "degraded_performance",
        minutes: 180,
        first: "E-mails to outlook.com and hotmail.com addresses are delayed.",
        last: "Microsoft lifted the rate limit; delayed e-mails have been delivered.",
    })
    .await?;

    // An upcoming maintenance.
    let start = (now + TimeDelta::days(3))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    s.open(s.ago(1, 0), json!({"name": "Database engine upgrade", "status": "scheduled",
        "scheduled_for": start.to_rfc3339(), "scheduled_until": (start + TimeDelta::hours(2)).to_rfc3339(),
        "scheduled_remind_prior": true, "scheduled_auto_in_progress": true, "scheduled_auto_completed": true,
        "auto_transition_to_maintenance_state": true, "auto_transition_to_operational_state": true,
        "body": "We are upgrading our managed PostgreSQL clusters. Expect up to 30 seconds of write unavailability per cluster.",
        "component_ids": [s.id("Database")]})).await?;

    // The incident in progress, with three updates.
    let t = s.ago(0, 35);
    let live = s
        .open(
            t,
            json!({"name": "Delayed webhook deliveries", "status": "investigating",
        "body": "Webhook deliveries are delayed by up to 10 minutes. We are investigating.",
        "components": s.statuses(&[("Webhooks", "degraded_performance")])}),
        )
        .await?;
    s.post(&live, t + TimeDelta::minutes(15), json!({"status": "identified",
        "body": "One queue partition fell behind after a node restart. We are adding capacity to drain it."})).await?;
    s.post(&live, t + TimeDelta::minutes(30), json!({"status": "identified",
        "body": "The backlog is shrinking; new deliveries arrive within 2 minutes. Older ones follow in order."})).await?;

    for (name, title, body) in [
        (
            "Investigating errors",
            "Elevated error rates",
            "We are investigating elevated error rates and will post an update within 30 minutes.",
        ),
        (
            "Third-party outage",
            "Degraded service due to an upstream provider",
            "An upstream provider is having an outage. We are working with them and will update this page.",
        ),
    ] {
        let t: TemplateInput = serde_json::from_value(
            json!({"name": name, "title": title, "body": body, "update_status": "investigating"}),
        )?;
        store
            .create_template(&Template::parse(&s.page.id, &t, now)?, &s.actor, now)
            .await?;
    }

    metrics(&s).await?;

    let key = apikey::generate();
    store
        .create_key("demo", &key, false, None, &s.actor, now)
        .await?;
    // 36 random base-36 characters from the thread's CSPRNG: about 186 bits.
    let admin_password = [(); 3].map(|()| herald_domain::id::generate()).join("-");
    store
        .create_user(
            DEMO_ADMIN_EMAIL,
            &herald_domain::password::hash(&admin_password)?,
            herald_domain::user::Role::Owner,
            &s.actor,
            now,
        )
        .await?;
    let page = store
        .get_page(&s.page.id)
        .await?
        .context("the demo page vanished")?;
    Ok(Seeded {
        page,
        api_key: key.secret,
        admin_email: DEMO_ADMIN_EMAIL.to_owned(),
        admin_password,
    })
}
