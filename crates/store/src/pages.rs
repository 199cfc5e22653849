//! Pages.

use chrono::{DateTime, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use herald_domain::page::{NewPage, Page, PageSettings};
use herald_domain::time::PageZone;
use serde_json::json;

use crate::columns::cols;
use crate::db::{One, args};
use crate::write::{Touched, Write, diff};
use crate::{Result, Store, StoreError};

#[derive(sqlx::FromRow)]
pub(crate) struct PageRow {
    id: String,
    slug: String,
    name: String,
    domain: Option<String>,
    time_zone: String,
    settings: String,
    hidden: bool,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl PageRow {
    pub(crate) fn into_page(self) -> Result<Page> {
        Ok(Page {
            settings: serde_json::from_str::<PageSettings>(&self.settings)
                .map_err(|e| StoreError::Internal(format!("page {} settings: {e}", self.id)))?,
            id: self.id.into(),
            slug: self.slug,
            name: self.name,
            domain: self.domain,
            zone: PageZone::from_stored(&self.time_zone),
            hidden: self.hidden,
            version: self.version,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

fn settings_json(s: &PageSettings) -> Result<String> {
    serde_json::to_string(s).map_err(|e| StoreError::Internal(e.to_string()))
}

impl Store {
    /// Creates a page.
    pub async fn create_page(
        &self,
        new: &NewPage,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Page> {
        let mut w = Write::begin(self, actor, now).await?;
        let id = PageId::generate();
        let settings = PageSettings::new_page();
        w.tx.execute(
            "INSERT INTO pages (id, slug, name, domain, time_zone, settings, hidden, version, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, 1, $7, $7)",
            args![&id, &new.slug, &new.name, new.zone.name(), settings_json(&settings)?, new.hidden, now],
        )
        .await?;
        w.audit(
            Some(&id),
            "page.create",
            "page",
            id.as_str(),
            json!({"name": [null, new.name], "slug": [null, new.slug]}),
        )
        .await?;
        w.commit().await?;
        self.get_page(&id).await?.ok_or(StoreError::NotFound)
    }

    /// Every page, oldest first; hidden pages (the canary) only when asked for.
    pub async fn list_pages(&self, include_hidden: bool) -> Result<Vec<Page>> {
        let rows: Vec<PageRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(pages),
                    " FROM pages WHERE hidden = FALSE OR $1 ORDER BY created_at, id"
                ),
                args![include_hidden],
            )
            .await?;
        rows.into_iter().map(PageRow::into_page).collect()
    }

    /// A page by id.
    pub async fn get_page(&self, id: &PageId) -> Result<Option<Page>> {
        let row: Option<PageRow> = self
            .db
            .read_opt(
                concat!("SELECT ", cols!(pages), " FROM pages WHERE id = $1"),
                args![id],
            )
            .await?;
        row.map(PageRow::into_page).transpose()
    }

    /// A page by slug.
    pub async fn find_page_by_slug(&self, slug: &str) -> Result<Option<Page>> {
        let row: Option<PageRow> = self
            .db
            .read_opt(
                concat!("SELECT ", cols!(pages), " FROM pages WHERE slug = $1"),
                args![slug],
            )
            .await?;
        row.map(PageRow::into_page).transpose()
    }

    /// A page by custom domain (lowercase).
    pub async fn find_page_by_domain(&self, domain: &str) -> Result<Option<Page>> {
        let row: Option<PageRow> = self
            .db
            .read_opt(
                concat!("SELECT ", cols!(pages), " FROM pages WHERE domain = $1"),
                args![domain],
            )
            .await?;
        row.map(PageRow::into_page).transpose()
    }

    /// Changes a page: `change` gets the current page (read inside the transaction) and
    /// returns the new one, or a rule it breaks.
    pub async fn update_page<F>(
        &self,
        id: &PageId,
        actor: &Actor,
        now: DateTime<Utc>,
        change: F,
    ) -> Result<Page>
    where
        F: FnOnce(&Page) -> std::result::Result<Page, Invalid> + Send,
    {
        let mut w = Write::on_page(self, id, actor, now).await?;
        // Only the page row, which every delta reads again.
        w.touch(Touched::Nothing);
        let current: PageRow =
            w.tx.fetch_one(
                concat!("SELECT ", cols!(pages), " FROM pages WHERE id = $1"),
                args![id],
            )
            .await?;
        let current = current.into_page()?;
        let new = change(&current)?;
        w.tx.execute(
            "UPDATE pages SET slug = $2, name = $3, domain = $4, time_zone = $5, settings = $6 WHERE id = $1",
            args![id, &new.slug, &new.name, new.domain.as_deref(), new.zone.name(), settings_json(&new.settings)?],
        )
        .await?;
        let before = serde_json::to_value(&current.settings).unwrap_or_default();
        let after = serde_json::to_value(&new.settings).unwrap_or_default();
        let mut fields = vec![
            ("name", json!(current.name), json!(new.name)),
            ("slug", json!(current.slug), json!(new.slug)),
            ("domain", json!(current.domain), json!(new.domain)),
            (
                "time_zone",
                json!(current.zone.name()),
                json!(new.zone.name()),
            ),
        ];
        if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
            for (k, v) in a {
                fields.push((k.as_str(), b.get(k).cloned().unwrap_or_default(), v.clone()));
            }
        }
        w.audit(Some(id), "page.update", "page", id.as_str(), diff(&fields))
            .await?;
        w.commit().await?;
        self.get_page(id).await?.ok_or(StoreError::NotFound)
    }

    /// A page's version (`None` if there is no such page): every write to the page bumps it
    /// in its own transaction.
    pub async fn page_version(&self, page_id: &PageId) -> Result<Option<i64>> {
        let row: Option<One<i64>> = self
            .db
            .read_opt(
                "SELECT version AS v FROM pages WHERE id = $1",
                args![page_id],
            )
            .await?;
        Ok(row.map(|r| r.v))
    }

    /// Each page's id and version: how other nodes notice changes they were not told about.
    pub async fn page_versions(&self) -> Result<Vec<(String, i64)>> {
        #[derive(sqlx::FromRow)]
        struct V {
            id: String,
            version: i64,
        }
        let rows: Vec<V> = self
            .db
            .read("SELECT id, version FROM pages", vec![])
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r.version)).collect())
    }
}
