//! What can go wrong in the store, said in terms of how the caller should react.

use herald_domain::Invalid;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// The write clashes with existing data (a taken slug, domain or email).
    #[error("{0}")]
    Conflict(String),
    /// A domain rule failed while planning the write.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The database cannot be reached right now; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database URL or options are wrong.
    #[error("{0}")]
    Config(String),
    /// This build cannot run on the database's schema (a newer release's contract step, a
    /// half-applied migration); the message names the migration.
    #[error("{0}")]
    Incompatible(String),
    /// A backup or restore could not be made; nothing was changed. The message says why.
    #[error("{0}")]
    Backup(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A bug or a corrupt row: details are logged, never shown to clients.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(conflict_message(d.constraint().unwrap_or(""), d.message()))
            }
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                StoreError::Conflict("a referenced object does not exist".to_owned())
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(d) if d.code().is_some_and(|c| server_unavailable(&c)) => {
                StoreError::Unavailable(e.to_string())
            }
            // PostgreSQL refuses text holding U+0000 (`character_not_in_repertoire`): a value
            // of the request's, which validation should have refused and did not; the write
            // is rolled back and the client told, rather than a 500.
            sqlx::Error::Database(d) if d.code().as_deref() == Some("22021") => {
                StoreError::Invalid(Invalid::new(
                    "",
                    "text may not contain the NUL character (U+0000)",
                ))
            }
            _ => StoreError::Internal(e.to_string()),
        }
    }
}

/// PostgreSQL's SQLSTATEs for "this session cannot be served now": a connection exception
/// (class 08), the server shutting down or this backend terminated by an administrator
/// (57P01-57P03, 57P05), too many connections (53300). Retrying later may work.
fn server_unavailable(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "57P05" | "53300")
}

/// Turns a unique violation into a sentence. PostgreSQL names the constraint; SQLite names
/// the columns in its message (`UNIQUE constraint failed: pages.slug`).
fn conflict_message(constraint: &str, message: &str) -> String {
    let hay = format!("{constraint} {message}");
    if hay.contains("slug") {
        "that slug is already used by another page".to_owned()
    } else if hay.contains("domain") {
        "that domain is already used by another page".to_owned()
    } else if hay.contains("email") {
        "that email address is already registered".to_owned()
    } else {
        "this conflicts with an existing object".to_owned()
    }
}
