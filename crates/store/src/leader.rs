//! Leadership for reconcilers: on PostgreSQL, exactly one node runs each reconciler, the one
//! holding a session-level advisory lock on a connection it keeps. If that node dies its
//! connection closes, the lock is freed, and another node takes over at its next attempt.
//! On SQLite (one node) every process leads.

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use crate::db::{Db, One};
use crate::{Result, Store};

/// Held while this process leads a reconciler; dropping it gives leadership up.
pub struct Leadership {
    conn: Option<PoolConnection<Postgres>>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("postgres", &self.conn.is_some())
            .finish()
    }
}

impl Store {
    /// Tries to become the leader of `name`; `None` when another node leads it.
    pub async fn try_lead(&self, name: &str) -> Result<Option<Leadership>> {
        match &self.db {
            Db::Sqlite { .. } => Ok(Some(Leadership { conn: None })),
            Db::Postgres(pool, _) => {
                let mut conn = pool.acquire().await?;
                // The key includes the schema, so separate herald installations (and test
                // schemas) sharing a database do not block each other.
                let got: One<bool> = sqlx::query_as(
                    "SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':reconciler:' || $1, 0)) AS v",
                )
                .bind(name)
                .fetch_one(&mut *conn)
                .await?;
                Ok(got.v.then_some(Leadership { conn: Some(conn) }))
            }
        }
    }
}

impl Leadership {
    /// Whether leadership is still held (its connection still works).
    pub async fn is_held(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(c) => sqlx::query("SELECT 1").execute(&mut **c).await.is_ok(),
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Closing the session (not returning it to the pool) releases the advisory lock.
        if let Some(c) = self.conn.take() {
            drop(c.detach());
        }
    }
}
