//! `page-seed`: builds a page with a long history, for the history-scale benchmarks
//! (`bench/history.sh`). Everything is written through the store methods the API uses, with
//! past times as their input, oldest first (a page's write times never go backwards), so the
//! page is what years of real use would leave behind. Its updates are written with
//! `deliver_notifications: false`, as an import of old history would be: otherwise the
//! benchmarked node would start by fanning out a year of notifications (tens of thousands
//! of jobs, each freezing its incident's payload) while it is measured.
//!
//! ```text
//! page-seed --database-url sqlite://big.db --components 500 --incidents 10000 --days 365
//! ```
//!
//! Prints `page=<id> slug=<slug> key=<api key>` on its last line.
#![forbid(unsafe_code)]
#![expect(
    clippy::print_stdout,
    reason = "the seeded page's id and key are the tool's output"
)]

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::component::{ComponentInput, GroupInput, NewComponent};
use herald_domain::id::IncidentId;
use herald_domain::incident::{IncidentInput, plan_create, plan_update};
use herald_domain::page::NewPage;
use herald_store::{DbOptions, Store};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "page-seed", about = "Seeds a page with a long history")]
struct Cli {
    /// `sqlite://path` or `postgres://...` (migrated first).
    #[arg(long)]
    database_url: String,
    /// The page's slug.
    #[arg(long, default_value = "big")]
    slug: String,
    /// Components (in groups of ten).
    #[arg(long, default_value_t = 50)]
    components: usize,
    /// Incidents, each with three updates (investigating, identified, resolved).
    #[arg(long, default_value_t = 1000)]
    incidents: usize,
    /// Days of history the incidents spread over.
    #[arg(long, default_value_t = 90)]
    days: i64,
}

fn input(v: Value) -> anyhow::Result<IncidentInput> {
    Ok(serde_json::from_value(v)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let store = Store::connect(&cli.database_url, &DbOptions::default())
        .await
        .context("connect")?;
    store.migrate().await?;
    let now = SystemClock.now();
    let actor = Actor::system("page-seed");
    let born = now - TimeDelta::days(cli.days + 1);
    let page = store
        .create_page(
            &NewPage::parse(&format!("Big {}", cli.slug), &cli.slug, Some("Etc/UTC"))?,
            &actor,
            born,
        )
        .await?;
    let start_date = page.zone.date(born).to_string();
    let mut ids = Vec::with_capacity(cli.components);
    for n in 0..cli.components {
        let c: ComponentInput = serde_json::from_value(json!({
            "name": format!("Service {n:04}"),
            "description": format!("Service number {n} in region {}", n % 7),
            "start_date": start_date,
        }))?;
        let c = store
            .create_component(&page.id, &NewComponent::parse(&c)?, &actor, born)
            .await?;
        ids.push(c.id);
    }
    for (g, members) in ids.chunks(10).enumerate() {
        store
            .create_group(
                &page.id,
                &GroupInput::parse(&format!("Region {g:03}"), None, members.to_vec())?,
                &actor,
                born,
            )
            .await?;
    }
    let span = TimeDelta::days(cli.days).num_seconds();
    let statuses = ["degraded_performance", "partial_outage", "major_outage"];
    for k in 0..cli.incidents {
        let at: DateTime<Utc> =
            born + TimeDelta::seconds(span * k as i64 / cli.incidents.max(1) as i64);
        let component = &ids[(k * 7919) % ids.len().max(1)];
        let status = statuses[k % statuses.len()];
        let open = input(json!({
            "name": format!("Incident {k}: elevated errors on {}", component),
            "status": "investigating",
            "body": format!("We are investigating elevated error rates (incident {k}). Some requests fail."),
            "components": {component.as_str(): status},
            "deliver_notifications": false,
        }))?;
        let created = store
            .create_incident(
                &page.id,
                &actor,
                at,
                &open.named_components(),
                |p, comps, at| plan_create(&open, &p.id, comps, at, p.zone),
            )
            .await?;
        for (minutes, body) in [
            (
                10,
                json!({"status": "identified", "body": "The cause is known; a fix is rolling out.",
                    "deliver_notifications": false}),
            ),
            (
                40,
                json!({"status": "resolved", "body": "The fix is out and error rates are normal.",
                    "components": {component.as_str(): "operational"},
                    "deliver_notifications": false}),
            ),
        ] {
            let update = input(body)?;
            store
                .update_incident(
                    &page.id,
                    &IncidentId::from(&created.id),
                    &actor,
                    at + TimeDelta::minutes(minutes),
                    &update.named_components(),
                    |p, cur, comps, at| plan_update(cur, &update, comps, at, p.zone),
                )
                .await?;
        }
        if k % 1000 == 999 {
            eprintln!("{} incidents", k + 1);
        }
    }
    let key = apikey::generate();
    store
        .create_key("page-seed", &key, false, None, &actor, now)
        .await?;
    store.close().await;
    println!("page={} slug={} key={}", page.id, page.slug, key.secret);
    Ok(())
}
