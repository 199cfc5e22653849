//! `herald import statuspage`: copies a page from a Statuspage-compatible v1 API (Statuspage
//! itself, or another herald) into this herald's database, ids kept.
//!
//! Order: the page and its settings, the components and groups, every incident and
//! maintenance with its timeline, the incident templates, the metrics providers and metric
//! definitions (`metrics.rs`: no points, no credentials), the subscribers (with
//! `--subscribers`), and last the components' status history is closed on their current
//! statuses. Each resource is written whole in its own transaction through the store's
//! import functions (never through herald's HTTP API), and found again by id on a re-run,
//! which writes only what is missing or changed: a killed run is resumed by running the
//! same command again. The writes record a full reload of the page (`Touched::Everything`),
//! so a running herald shows the imported page within its version poll (about a second).
//! Nothing is sent to anyone: no confirmation, no notification.

pub mod convert;
mod metrics;
pub mod report;
mod resources;
pub mod source;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::Clock;
use herald_domain::id::PageId;
use herald_domain::page::{NewPage, Page, PagePatch};
use herald_store::{Imported, Store};
use serde_json::Value;

pub use report::Summary;
pub use source::{ApiKey, Source};

/// What to import, from where, how fast.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source's base URL (`https://api.statuspage.io`, or another herald's).
    pub base_url: String,
    /// The page's id at the source.
    pub page_id: String,
    pub api_key: ApiKey,
    /// Import into the page with this slug (created if missing).
    pub into: Option<String>,
    /// Import subscribers too.
    pub subscribers: bool,
    /// Read everything, write nothing, say what would be written.
    pub dry_run: bool,
    /// Requests per second to the source (0: no limit).
    pub rate: f64,
    /// Attempts per request on network errors and 5xx answers.
    pub retries: u32,
}

/// One import run.
pub(crate) struct Run<'a> {
    pub(crate) store: &'a Store,
    pub(crate) source: Source,
    pub(crate) opts: Options,
    pub(crate) actor: Actor,
    pub(crate) clock: &'a dyn Clock,
    /// The page written to (`None` in a dry run for a page that does not exist yet).
    pub(crate) page: Option<Page>,
    /// The page's id here.
    pub(crate) page_id: PageId,
    pub(crate) summary: Summary,
}

impl Run<'_> {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Runs an import; the summary says what was written and what was skipped.
pub async fn run(store: &Store, clock: &dyn Clock, opts: Options) -> anyhow::Result<Summary> {
    let source = Source::new(
        &opts.base_url,
        &opts.page_id,
        opts.api_key.clone(),
        opts.rate,
        opts.retries,
    )?;
    let mut run = Run {
        store,
        source,
        summary: Summary {
            dry_run: opts.dry_run,
            ..Summary::default()
        },
        opts,
        actor: Actor::cli(),
        clock,
        page: None,
        page_id: PageId::default(),
    };
    let result = run.all().await;
    run.summary.requests = run.source.requests;
    run.summary.throttled = run.source.throttled;
    match result {
        Ok(()) => Ok(run.summary),
        Err(e) => {
            // What was done is kept; say so with the error.
            let done = run.summary.lines().join("\n");
            Err(e.context(format!(
                "import stopped; written before it stopped:\n{done}"
            )))
        }
    }
}

impl Run<'_> {
    async fn all(&mut self) -> anyhow::Result<()> {
        let src = self.source.object("page", "").await?;
        self.page(&src).await?;
        self.components().await?;
        self.incidents().await?;
        self.templates().await?;
        self.metrics().await?;
        if self.opts.subscribers {
            self.subscribers().await?;
        } else {
            self.summary
                .notes
                .push("subscribers not read (add --subscribers to import them)".to_owned());
        }
        if !self.opts.dry_run {
            let fixed = self
                .store
                .settle_imported_history(&self.page_id, &self.actor, self.now())
                .await?;
            if fixed > 0 {
                self.summary.notes.push(format!(
                    "{fixed} component(s) had their current status logged after their imported history"
                ));
            }
        }
        Ok(())
    }

    /// Finds or creates the page, then copies its settings.
    async fn page(&mut self, src: &Value) -> anyhow::Result<()> {
        let src_id = convert::id(src).map_err(|e| anyhow::anyhow!("the source page's {e}"))?;
        let name = src
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Imported page");
        let existing = match &self.opts.into {
            Some(slug) => self.store.find_page_by_slug(slug).await?,
            None => self.store.get_page(&PageId::from(&src_id)).await?,
        };
        let page = match existing {
            Some(p) => {
                self.summary.count("page", Imported::Unchanged);
                Some(p)
            }
            None => {
                let slug = match &self.opts.into {
                    Some(s) => s.clone(),
                    None => ["slug", "subdomain"]
                        .iter()
                        .find_map(|k| src.get(*k).and_then(Value::as_str))
                        .map(str::to_owned)
                        .unwrap_or_else(|| slugify(name)),
                };
                if self.store.find_page_by_slug(&slug).await?.is_some() {
                    bail!(
                        "a page with slug {slug:?} exists already and is not page {src_id}: \
                         name the page to import into with --into SLUG"
                    );
                }
                if self.store.get_page(&PageId::from(&src_id)).await?.is_some() {
                    bail!(
                        "page {src_id} exists here already under another slug: use --into with its slug"
                    );
                }
                let zone = src.get("time_zone").and_then(Value::as_str);
                let new = NewPage::parse(name, &slug, zone)
                    .or_else(|_| NewPage::parse(name, &slug, None))
                    .with_context(|| format!("the source page {src_id} (slug {slug:?})"))?;
                let created_at = convert::time(src, "created_at")
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| self.now());
                self.summary.count("page", Imported::Created);
                if self.opts.dry_run {
                    None
                } else {
                    let (p, _) = self
                        .store
                        .import_page(
                            &PageId::from(&src_id),
                            &new,
                            created_at,
                            &self.actor,
                            self.now(),
                        )
                        .await?;
                    Some(p)
                }
            }
        };
        self.page_id = page.as_ref().map_or(PageId::from(src_id), |p| p.id.clone());
        self.page = page;
        self.settings(src).await
    }

    /// Copies the page's settings and branding; a setting herald refuses is left out and
    /// reported, the rest are applied.
    async fn settings(&mut self, src: &Value) -> anyhow::Result<()> {
        let Some(page) = self.page.clone() else {
            return Ok(());
        };
        let mut fields = src.as_object().cloned().unwrap_or_default();
        for k in [
            "id",
            "slug",
            "created_at",
            "updated_at",
            "page_url",
            "activity_score",
        ] {
            fields.remove(k);
        }
        if let Some(d) = fields
            .remove("domain")
            .and_then(|d| d.as_str().map(str::to_owned))
        {
            self.summary.notes.push(format!(
                "custom domain {d} not copied: set it on the page once its DNS points at herald"
            ));
        }
        // Statuspage sends logos as objects ({url, updated_at, size}); herald keeps the URL.
        for k in [
            "favicon_logo",
            "transactional_logo",
            "hero_cover",
            "email_logo",
            "twitter_logo",
        ] {
            if let Some(Value::Object(logo)) = fields.get(k) {
                let url = ["url", "normal_url", "retina_url"]
                    .iter()
                    .find_map(|u| logo.get(*u).and_then(Value::as_str))
                    .map_or(Value::Null, |u| Value::String(u.to_owned()));
                fields.insert(k.to_owned(), url);
            }
        }
        let mut tries = 0;
        let (patch, new) = loop {
            tries += 1;
            let patch: PagePatch = match serde_json::from_value(Value::Object(fields.clone())) {
                Ok(p) => p,
                Err(e) => {
                    self.summary
                        .skip("page", "settings", format!("unreadable: {e}"));
                    return Ok(());
                }
            };
            match page.apply(&patch) {
                Ok(p) => break (patch, p),
                Err(e) if tries < 60 => {
                    let key = e.field.trim_start_matches("page.").to_owned();
                    self.summary
                        .skip("page", format!("setting {key}"), e.message.clone());
                    if fields.remove(&key).is_none() {
                        return Ok(());
                    }
                }
                Err(e) => bail!("page settings: {e}"),
            }
        };
        if new == page {
            return Ok(());
        }
        self.summary.count("page settings", Imported::Updated);
        if !self.opts.dry_run {
            let p = self
                .store
                .update_page(&page.id, &self.actor, self.now(), |p| p.apply(&patch))
                .await?;
            self.page = Some(p);
        }
        Ok(())
    }
}

/// A slug from a page name: lowercase letters and digits, dashes between words.
fn slugify(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "imported".to_owned()
    } else {
        s.chars().take(63).collect()
    }
}
