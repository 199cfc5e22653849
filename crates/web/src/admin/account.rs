//! Signing in and out, and changing one's password.

use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use herald_domain::actor::{Actor, ActorKind};

use super::form::FormState;
use super::session::{self, LOCKOUT, MAX_FAILURES, Posted, SESSION_TTL, Signed};
use super::views::{Layout, LoginView, PasswordView};
use super::{html, html_status};
use crate::extract::ClientIp;
use crate::state::AppState;

/// Sign-in attempts (right or wrong) one client address may make...
pub(super) const PER_IP: i64 = 30;
/// ...within this window.
const PER_IP_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The sign-in form (or the dashboard, when already signed in).
pub(super) async fn login_form(State(app): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if <Signed as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &app)
        .await
        .is_ok()
    {
        return Redirect::to("/admin").into_response();
    }
    login_page(StatusCode::OK, String::new(), String::new())
}

fn login_page(status: StatusCode, email: String, error: String) -> Response {
    html_status(
        status,
        &LoginView {
            l: Layout {
                title: "Sign in".to_owned(),
                ..Layout::default()
            },
            email,
            error,
        },
    )
}

/// Checks the password; on success starts a session. Five failures in a row from one client
/// address lock that address out of that account for 15 minutes (the answer does not say
/// whether the account exists). The lock is per account *and* address so that failing on
/// purpose cannot keep the account's owner out; guessing from many addresses is bounded by
/// the per-address limit ([`PER_IP`]) and the cost of Argon2id.
pub(super) async fn login(State(app): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let fields = match session::read_form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let email = fields.get("email").trim().to_lowercase();
    let password = fields.get("password");
    let now = app.now();
    let store = app.store();
    let fail = |email: String, msg: &str, status| login_page(status, email, msg.to_owned());
    if email.is_empty() || password.is_empty() || email.len() > 320 || password.len() > 1024 {
        return fail(
            email,
            "Enter your email and password.",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // Per address first: many accounts tried from one address are refused too.
    let client = ClientIp::of(&app, &parts);
    let ip = client.key();
    match store
        .take_rate(&format!("admin-login-ip:{ip}"), PER_IP, PER_IP_WINDOW, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return fail(
                email,
                "Too many sign-in attempts from your network. Try again in 15 minutes.",
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Err(e) => return unavailable(&e),
    }
    match store.login_locked_until(&email, &ip, now).await {
        Ok(Some(_)) => {
            return fail(
                email,
                "Too many failed attempts. Try again in 15 minutes.",
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Ok(None) => {}
        Err(e) => return unavailable(&e),
    }
    let user = match store.find_user_by_email(&email).await {
        Ok(u) => u,
        Err(e) => return unavailable(&e),
    };
    // Hash even for unknown addresses so timing does not reveal which exist.
    let ok = match &user {
        Some((_, hash)) => herald_domain::password::verify(password, hash),
        None => {
            let _ = herald_domain::password::verify(password, &DUMMY_HASH);
            false
        }
    };
    let Some((user, _)) = user.filter(|_| ok) else {
        let locked = store
            .record_login_failure(&email, &ip, MAX_FAILURES, LOCKOUT, now)
            .await;
        tracing::info!(email = %email, locked = matches!(locked, Ok(Some(_))), "admin sign-in failed");
        return match locked {
            Ok(Some(_)) => fail(
                email,
                "Too many failed attempts. Try again in 15 minutes.",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            Ok(None) => fail(
                email,
                "That email and password do not match.",
                StatusCode::UNAUTHORIZED,
            ),
            Err(e) => unavailable(&e),
        };
    };
    let token = session::random_token();
    let actor = Actor {
        kind: ActorKind::User,
        id: user.id.clone(),
        ip: client.text(),
    };
    if let Err(e) = store
        .create_admin_session(
            &user,
            &session::token_hash(&token),
            &session::random_token(),
            now + SESSION_TTL,
            &actor,
            now,
        )
        .await
    {
        return unavailable(&e);
    }
    (
        [(header::SET_COOKIE, session::cookie(&app, Some(&token)))],
        Redirect::to("/admin"),
    )
        .into_response()
}

/// The hash of a random password, checked against for unknown addresses.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    herald_domain::password::hash(&session::random_token()).unwrap_or_default()
});

fn unavailable(e: &herald_store::StoreError) -> Response {
    tracing::error!(error = %e, "admin account operation failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "herald cannot reach its database; try again shortly",
    )
        .into_response()
}

async fn end(app: &AppState, p: Posted, everywhere: bool) -> Response {
    if let Err(e) = app
        .store()
        .end_admin_sessions(&p.who.session, everywhere, &p.who.actor, app.now())
        .await
    {
        return unavailable(&e);
    }
    (
        [(header::SET_COOKIE, session::cookie(app, None))],
        Redirect::to("/admin/login"),
    )
        .into_response()
}

/// Signs this browser out.
pub(super) async fn logout(State(app): State<AppState>, p: Posted) -> Response {
    end(&app, p, false).await
}

/// Signs every session of the user out.
pub(super) async fn logout_everywhere(State(app): State<AppState>, p: Posted) -> Response {
    end(&app, p, true).await
}

/// The account page: password change and "sign out everywhere".
pub(super) async fn password_form(who: Signed) -> Response {
    html(&PasswordView {
        l: Layout::new(&who, "Your account"),
        f: FormState::default(),
        done: false,
    })
}

/// Changes the password (the current one is required); other sessions are signed out.
pub(super) async fn change_password(State(app): State<AppState>, req: Request) -> Response {
    let p = match Posted::from_request(req, &app).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut f = FormState::default();
    let current = p.fields.get("current");
    let new = p.fields.get("password");
    let ok_current = match app.store().get_user_with_hash(&p.who.session.user.id).await {
        Ok(Some((_, hash))) => herald_domain::password::verify(current, &hash),
        Ok(None) => false,
        Err(e) => return unavailable(&e),
    };
    if !ok_current {
        f.add("current", "That is not your current password.");
    }
    if new != p.fields.get("confirm") {
        f.add("confirm", "The two new passwords differ.");
    }
    let hash = match herald_domain::password::hash(new) {
        Ok(h) => Some(h),
        Err(inv) => {
            f.add("password", inv.message);
            None
        }
    };
    if let (false, Some(hash)) = (f.has_errors(), hash) {
        match app
            .store()
            .change_password(&p.who.session, &hash, &p.who.actor, app.now())
            .await
        {
            Ok(()) => {
                return html(&PasswordView {
                    l: Layout::new(&p.who, "Your account"),
                    f,
                    done: true,
                });
            }
            Err(e) => f.store_error(&e),
        }
    }
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &PasswordView {
            l: Layout::new(&p.who, "Your account"),
            f,
            done: false,
        },
    )
}
