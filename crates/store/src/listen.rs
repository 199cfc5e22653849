//! Change notifications between nodes on PostgreSQL: every write on a page sends
//! `pg_notify(CHANGES_CHANNEL, page_id)` inside its transaction, so PostgreSQL delivers it
//! when (and only if) the write commits; [`ChangeListener`] receives them. A notification can
//! be lost (a listener's connection drops), so listeners also poll page versions.
//! SQLite runs one node: nothing is sent and there is nothing to listen to.

use sqlx::postgres::PgListener;

use crate::db::Db;
use crate::{Result, Store, StoreError};

/// [`CHANGES_CHANNEL`] as a literal, for statements assembled with `concat!` (the page's
/// version bump sends it: `write.rs`).
macro_rules! changes_channel {
    () => {
        "herald_page_changed"
    };
}
pub(crate) use changes_channel;

/// The channel page changes are announced on; the payload is the page id.
pub const CHANGES_CHANNEL: &str = changes_channel!();

/// A connection listening for page changes.
pub struct ChangeListener {
    inner: PgListener,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangeListener")
    }
}

impl ChangeListener {
    /// Waits for the next changed page id; `None` when the connection was lost (changes
    /// announced from then on are missed until a new listener is up: the caller catches up
    /// with a version poll once it is).
    pub async fn recv(&mut self) -> Result<Option<String>> {
        let n = self.inner.try_recv().await.map_err(StoreError::from)?;
        Ok(n.map(|n| n.payload().to_owned()))
    }
}

impl Store {
    /// Starts listening for page changes: `None` on SQLite, where there are no other nodes.
    pub async fn listen_changes(&self) -> Result<Option<ChangeListener>> {
        match &self.db {
            Db::Sqlite { .. } => Ok(None),
            Db::Postgres(pool, _) => {
                let mut inner = PgListener::connect_with(pool).await?;
                inner.listen(CHANGES_CHANNEL).await?;
                Ok(Some(ChangeListener { inner }))
            }
        }
    }
}
