//! API keys: only hashes are stored.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::apikey::{ApiKey, GeneratedKey};
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use serde_json::json;

use crate::columns::cols;
use crate::db::args;
use crate::write::Write;
use crate::{Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    last4: String,
    read_only: bool,
    all_pages: bool,
    created_at: i64,
    revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct KeyPageRow {
    key_id: String,
    page_id: String,
}

impl Store {
    /// Stores a new key's hash. `page_ids: None` lets it use every page.
    pub async fn create_key(
        &self,
        name: &str,
        key: &GeneratedKey,
        read_only: bool,
        page_ids: Option<&[PageId]>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ApiKey> {
        let mut w = Write::begin(self, actor, now).await?;
        let id = herald_domain::id::generate();
        w.tx.execute(
            "INSERT INTO api_keys (id, name, prefix, last4, hash, read_only, all_pages, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![&id, name, &key.prefix, &key.last4, &key.hash, read_only, page_ids.is_none(), now],
        )
        .await?;
        for p in page_ids.unwrap_or_default() {
            let n = w
                .tx
                .execute(
                    "INSERT INTO api_key_pages (key_id, page_id) SELECT $1, id FROM pages WHERE id = $2",
                    args![&id, p],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::Invalid(herald_domain::Invalid::new(
                    "page",
                    format!("no page {p:?}"),
                )));
            }
        }
        w.audit(None, "api_key.create", "api_key", &id, json!({"prefix": [null, key.prefix], "read_only": [null, read_only], "pages": [null, page_ids]}))
            .await?;
        w.commit().await?;
        self.get_key(&id).await?.ok_or(StoreError::NotFound)
    }

    async fn keys_where(&self, rows: Vec<KeyRow>) -> Result<Vec<ApiKey>> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let page_ids = if r.all_pages {
                None
            } else {
                let pages: Vec<KeyPageRow> = self
                    .db
                    .read("SELECT key_id, page_id FROM api_key_pages WHERE key_id = $1 ORDER BY page_id", args![&r.id])
                    .await?;
                Some(
                    pages
                        .into_iter()
                        .filter(|p| p.key_id == r.id)
                        .map(|p| PageId::from(p.page_id))
                        .collect(),
                )
            };
            out.push(ApiKey {
                id: r.id,
                name: r.name,
                prefix: r.prefix,
                last4: r.last4,
                read_only: r.read_only,
                page_ids,
                created_at: from_ms(r.created_at),
                revoked_at: r.revoked_at.map(from_ms),
            });
        }
        Ok(out)
    }

    /// The key with this hash, revoked or not.
    pub async fn find_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>> {
        let rows: Vec<KeyRow> = self
            .db
            .read(
                concat!("SELECT ", cols!(api_keys), " FROM api_keys WHERE hash = $1"),
                args![hash],
            )
            .await?;
        Ok(self.keys_where(rows).await?.pop())
    }

    /// A key by id.
    pub async fn get_key(&self, id: &str) -> Result<Option<ApiKey>> {
        let rows: Vec<KeyRow> = self
            .db
            .read(
                concat!("SELECT ", cols!(api_keys), " FROM api_keys WHERE id = $1"),
                args![id],
            )
            .await?;
        Ok(self.keys_where(rows).await?.pop())
    }

    /// Every key, newest first.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        let rows: Vec<KeyRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(api_keys),
                    " FROM api_keys ORDER BY created_at DESC, id"
                ),
                vec![],
            )
            .await?;
        self.keys_where(rows).await
    }

    /// Revokes a key: it stops working on the very next request, on every node (keys are
    /// looked up on every request, never cached).
    pub async fn revoke_key(&self, id: &str, actor: &Actor, now: DateTime<Utc>) -> Result<ApiKey> {
        let mut w = Write::begin(self, actor, now).await?;
        let n =
            w.tx.execute(
                "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                args![id, now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            None,
            "api_key.revoke",
            "api_key",
            id,
            json!({"revoked_at": [null, now.timestamp_millis()]}),
        )
        .await?;
        w.commit().await?;
        self.get_key(id).await?.ok_or(StoreError::NotFound)
    }
}
