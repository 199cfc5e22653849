//! Admin sessions, login throttling and the user operations the admin UI needs.
//!
//! A session is identified by the SHA-256 of its cookie token (the token itself is never
//! stored). Every change a user makes to their own account writes one audit entry.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::user::{Role, User};
use serde_json::json;

use crate::db::args;
use crate::write::Write;
use crate::{Result, Store, StoreError};

/// A signed-in user and their session.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminSession {
    pub user: User,
    /// SHA-256 of the cookie token, hex.
    pub token_hash: String,
    /// The token every form of this session must send back.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_hash: String,
    csrf_token: String,
    expires_at: i64,
    id: String,
    email: String,
    role: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    role: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct FailureRow {
    failures: i64,
    locked_until: Option<i64>,
}

fn parse_role(id: &str, role: &str) -> Result<Role> {
    role.parse::<Role>()
        .map_err(|()| StoreError::Internal(format!("user {id} has role {role:?}")))
}

impl Store {
    /// A user and their password hash, by id (disabled users are not found).
    pub async fn get_user_with_hash(&self, id: &str) -> Result<Option<(User, String)>> {
        let row: Option<UserRow> = self
            .db
            .read_opt(
                "SELECT id, email, password_hash, role, created_at FROM users WHERE id = $1 AND disabled_at IS NULL",
                args![id],
            )
            .await?;
        row.map(|r| {
            Ok((
                User {
                    role: parse_role(&r.id, &r.role)?,
                    id: r.id,
                    email: r.email,
                    created_at: from_ms(r.created_at),
                },
                r.password_hash,
            ))
        })
        .transpose()
    }

    /// Every user that is not disabled, by email.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = self
            .db
            .read(
                "SELECT id, email, password_hash, role, created_at FROM users WHERE disabled_at IS NULL ORDER BY email",
                args![],
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(User {
                    role: parse_role(&r.id, &r.role)?,
                    id: r.id,
                    email: r.email,
                    created_at: from_ms(r.created_at),
                })
            })
            .collect()
    }

    /// Records a sign-in: stores the session and writes one audit entry (`user.login`).
    pub async fn create_admin_session(
        &self,
        user: &User,
        token_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut w = Write::begin(self, actor, now).await?;
        w.tx.execute(
            "INSERT INTO admin_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            args![token_hash, &user.id, csrf_token, now, expires_at],
        )
        .await?;
        // A success from this client clears its failures (a lock was checked before).
        w.tx.execute(
            "DELETE FROM admin_login_throttle WHERE email = $1 AND client = $2",
            args![&user.email, actor.ip.as_deref().unwrap_or("unknown")],
        )
        .await?;
        // Sessions that have run out are of no use to anyone: sweep them on each sign-in.
        w.tx.execute(
            "DELETE FROM admin_sessions WHERE expires_at <= $1",
            args![now],
        )
        .await?;
        w.audit(None, "user.login", "user", &user.id, json!({}))
            .await?;
        w.commit().await
    }

    /// The live session with this token hash, with its (enabled) user.
    pub async fn find_admin_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AdminSession>> {
        let row: Option<SessionRow> = self
            .db
            .read_opt(
                "SELECT s.token_hash, s.csrf_token, s.expires_at, u.id, u.email, u.role, u.created_at \
                 FROM admin_sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
                args![token_hash, now],
            )
            .await?;
        row.map(|r| {
            Ok(AdminSession {
                user: User {
                    role: parse_role(&r.id, &r.role)?,
                    id: r.id,
                    email: r.email,
                    created_at: from_ms(r.created_at),
                },
                token_hash: r.token_hash,
                csrf_token: r.csrf_token,
                expires_at: from_ms(r.expires_at),
            })
        })
        .transpose()
    }

    /// Signs one session out (`user.logout`), or, with `everywhere`, every session of its
    /// user (`user.logout_everywhere`). One audit entry either way.
    pub async fn end_admin_sessions(
        &self,
        session: &AdminSession,
        everywhere: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut w = Write::begin(self, actor, now).await?;
        let (n, action) = if everywhere {
            let n =
                w.tx.execute(
                    "DELETE FROM admin_sessions WHERE user_id = $1",
                    args![&session.user.id],
                )
                .await?;
            (n, "user.logout_everywhere")
        } else {
            let n =
                w.tx.execute(
                    "DELETE FROM admin_sessions WHERE token_hash = $1",
                    args![&session.token_hash],
                )
                .await?;
            (n, "user.logout")
        };
        w.audit(
            None,
            action,
            "user",
            &session.user.id,
            json!({ "sessions": [n, 0] }),
        )
        .await?;
        w.commit().await?;
        Ok(n)
    }

    /// Sets a user's password hash and signs out every other session of theirs; one audit
    /// entry (`user.password_change`, without the hashes).
    pub async fn change_password(
        &self,
        session: &AdminSession,
        new_hash: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut w = Write::begin(self, actor, now).await?;
        let n =
            w.tx.execute(
                "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND disabled_at IS NULL",
                args![new_hash, now, &session.user.id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.tx.execute(
            "DELETE FROM admin_sessions WHERE user_id = $1 AND token_hash <> $2",
            args![&session.user.id, &session.token_hash],
        )
        .await?;
        w.audit(
            None,
            "user.password_change",
            "user",
            &session.user.id,
            json!({ "password": ["[redacted]", "[redacted]"] }),
        )
        .await?;
        w.commit().await
    }

    /// When sign-ins to `email` from `client` (an address) are locked, until when.
    pub async fn login_locked_until(
        &self,
        email: &str,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let row: Option<FailureRow> = self
            .db
            .read_opt(
                "SELECT failures, locked_until FROM admin_login_throttle WHERE email = $1 AND client = $2",
                args![email.trim().to_lowercase(), client],
            )
            .await?;
        Ok(row
            .and_then(|r| r.locked_until)
            .map(from_ms)
            .filter(|t| *t > now))
    }

    /// Counts a failed sign-in to `email` from `client`; the `max_failures`-th failure in a
    /// row locks that client out of that account for `lock_for` (other clients, the account's
    /// owner among them, are not affected). Returns the lock's end when this failure set one.
    /// Not audited: it changes no data anyone administers (the log line is the record).
    pub async fn record_login_failure(
        &self,
        email: &str,
        client: &str,
        max_failures: i64,
        lock_for: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let email = email.trim().to_lowercase();
        let mut tx = self.db.begin().await?;
        // Make sure the row exists, so two first failures at once cannot both insert it.
        tx.execute(
            "INSERT INTO admin_login_throttle (email, client, failures, locked_until) VALUES ($1, $2, 0, NULL) \
             ON CONFLICT (email, client) DO NOTHING",
            args![&email, client],
        )
        .await?;
        let row: Option<FailureRow> = tx
            .fetch_optional(
                "SELECT failures, locked_until FROM admin_login_throttle WHERE email = $1 AND client = $2",
                args![&email, client],
            )
            .await?;
        if let Some(until) = row
            .as_ref()
            .and_then(|r| r.locked_until)
            .map(from_ms)
            .filter(|t| *t > now)
        {
            return Ok(Some(until));
        }
        // A lock that has run out starts a fresh count.
        let before = match &row {
            Some(r) if r.locked_until.is_some_and(|t| from_ms(t) <= now) => 0,
            Some(r) => r.failures,
            None => 0,
        };
        let failures = before + 1;
        let locked = (failures >= max_failures).then(|| now + lock_for);
        let failures = if locked.is_some() { 0 } else { failures };
        tx.execute(
            "UPDATE admin_login_throttle SET failures = $1, locked_until = $2 WHERE email = $3 AND client = $4",
            args![failures, locked, &email, client],
        )
        .await?;
        tx.commit().await?;
        Ok(locked)
    }
}

impl Store {
    /// Changes a user's role; one audit entry (`user.role`, old → new).
    pub async fn set_user_role(
        &self,
        user_id: &str,
        role: Role,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let mut w = Write::begin(self, actor, now).await?;
        let row: Option<UserRow> = w
            .tx
            .fetch_optional(
                "SELECT id, email, password_hash, role, created_at FROM users WHERE id = $1 AND disabled_at IS NULL",
                args![user_id],
            )
            .await?;
        let row = row.ok_or(StoreError::NotFound)?;
        w.tx.execute(
            "UPDATE users SET role = $1, updated_at = $2 WHERE id = $3",
            args![role.as_str(), now, user_id],
        )
        .await?;
        w.audit(
            None,
            "user.role",
            "user",
            user_id,
            json!({ "role": [&row.role, role.as_str()] }),
        )
        .await?;
        w.commit().await?;
        Ok(User {
            id: row.id,
            email: row.email,
            role,
            created_at: from_ms(row.created_at),
        })
    }
}
