//! Who is signed in: the session cookie, the role checks and the CSRF token check.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeDelta;
use herald_domain::actor::{Actor, ActorKind};
use herald_domain::user::Role;
use herald_store::AdminSession;
use rand::RngExt;

use super::form::Fields;
use crate::error::{PageError, PageResult};
use crate::extract::ClientIp;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "herald_admin";
/// How long a session lasts after sign-in.
pub(super) const SESSION_TTL: TimeDelta = TimeDelta::hours(12);
/// Failed sign-ins in a row from one client address that lock it out of one account...
pub(super) const MAX_FAILURES: i64 = 5;
/// ...and for how long.
pub(super) const LOCKOUT: TimeDelta = TimeDelta::minutes(15);
/// Largest admin form body.
const FORM_LIMIT: usize = 256 * 1024;

/// A fresh random token (about 238 bits), for session cookies and CSRF fields.
pub(super) fn random_token() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The SHA-256 of a session token, as stored.
pub(super) fn token_hash(token: &str) -> String {
    herald_domain::apikey::hash(token)
}

/// The `Set-Cookie` value that stores `token` (or, with `None`, clears the cookie).
pub(super) fn cookie(app: &AppState, token: Option<&str>) -> String {
    cookie_value(token, app.config().public_url.starts_with("https://"))
}

fn cookie_value(token: Option<&str>, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/admin; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            SESSION_TTL.num_seconds()
        ),
        None => {
            format!("{SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
        }
    }
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A signed-in user. Extracting it from a request without a live session redirects to the
/// sign-in form.
#[derive(Debug, Clone)]
pub(super) struct Signed {
    pub session: AdminSession,
    pub actor: Actor,
}

impl Signed {
    /// Whether the user's role includes `role`'s rights (owner ⊇ incident manager ⊇ viewer).
    pub fn can(&self, role: Role) -> bool {
        rank(self.session.user.role) >= rank(role)
    }

    /// The 403 page unless the user may do what needs `role`.
    pub fn require(&self, role: Role) -> PageResult<()> {
        if self.can(role) {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "Your role does not allow this.".into(),
            ))
        }
    }

    pub fn email(&self) -> &str {
        &self.session.user.email
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Viewer => 0,
        Role::IncidentManager => 1,
        Role::Owner => 2,
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to("/admin/login").into_response();
        let token = cookie_token(parts).ok_or_else(to_login)?;
        let session = match app
            .store()
            .find_admin_session(&token_hash(&token), app.now())
            .await
        {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_login()),
            Err(e) => return Err(PageError::from(e).into_response()),
        };
        let actor = Actor {
            kind: ActorKind::User,
            id: session.user.id.clone(),
            ip: ClientIp::of(app, parts).text(),
        };
        Ok(Signed { session, actor })
    }
}

/// A signed-in user's form post whose CSRF token matched their session.
pub(super) struct Posted {
    pub who: Signed,
    pub fields: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let who = Signed::from_request_parts(&mut parts, app).await?;
        let fields = read_form(body).await.map_err(IntoResponse::into_response)?;
        if !constant_time_eq(fields.get("csrf").as_bytes(), who.csrf().as_bytes()) {
            return Err(PageError::Forbidden(
                "This form has expired or did not come from this site. Go back, reload and try again.".into(),
            )
            .into_response());
        }
        Ok(Posted { who, fields })
    }
}

/// Reads a urlencoded form body.
pub(super) async fn read_form(body: axum::body::Body) -> PageResult<Fields> {
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| PageError::PayloadTooLarge("The form is too large.".into()))?;
    Ok(Fields::parse(&bytes))
}

/// Equal and not empty, in time that does not depend on where they differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    !b.is_empty() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cookies_are_http_only_lax_and_secure_behind_https() {
        let c = cookie_value(Some("tok"), true);
        assert!(c.starts_with("herald_admin=tok; Path=/admin; HttpOnly; SameSite=Lax"));
        assert!(c.ends_with("; Secure"));
        assert!(!cookie_value(Some("tok"), false).contains("Secure"));
        assert!(cookie_value(None, true).contains("Max-Age=0"));
    }

    #[test]
    fn admin_tokens_are_long_random_and_compared_in_full() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 40);
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"", b""));
    }
}
