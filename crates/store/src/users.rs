//! Admin users.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::user::{Role, User};
use serde_json::json;

use crate::columns::cols;
use crate::db::args;
use crate::write::Write;
use crate::{Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    role: String,
    created_at: i64,
}

impl UserRow {
    fn into_user(self) -> Result<(User, String)> {
        Ok((
            User {
                role: self.role.parse::<Role>().map_err(|()| {
                    StoreError::Internal(format!("user {} has role {:?}", self.id, self.role))
                })?,
                id: self.id,
                email: self.email,
                created_at: from_ms(self.created_at),
            },
            self.password_hash,
        ))
    }
}

impl Store {
    /// Creates a user; the email is stored lowercase and must be unused.
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let email = email.trim().to_lowercase();
        let mut w = Write::begin(self, actor, now).await?;
        let id = herald_domain::id::generate();
        w.tx.execute(
            "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            args![&id, &email, password_hash, role.as_str(), now],
        )
        .await?;
        w.audit(
            None,
            "user.create",
            "user",
            &id,
            json!({"email": [null, email], "role": [null, role.as_str()]}),
        )
        .await?;
        w.commit().await?;
        Ok(User {
            id,
            email,
            role,
            created_at: now,
        })
    }

    /// A user and their password hash, by email (case-insensitive).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        let row: Option<UserRow> = self
            .db
            .read_opt(
                concat!(
                    "SELECT ",
                    cols!(users),
                    " FROM users WHERE email = $1 AND disabled_at IS NULL"
                ),
                args![email.trim().to_lowercase()],
            )
            .await?;
        row.map(UserRow::into_user).transpose()
    }
}
