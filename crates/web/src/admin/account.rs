//! Signing in and out, and changing one's password.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect};
use herald_domain::actor::{Actor, ActorKind};

use super::form::FormState;
use super::session::{self, LOCKOUT, MAX_FAILURES, Posted, SESSION_TTL, Signed};
use super::views::{Layout, LoginView, PasswordView};
use super::{form_page, html};
use crate::error::{PageError, PageResult};
use crate::extract::ClientIp;
use crate::state::AppState;

/// Sign-in attempts (right or wrong) one client address may make...
pub(super) const PER_IP: i64 = 30;
/// ...within this window.
const PER_IP_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The sign-in form (or the dashboard, when already signed in).
pub(super) async fn login_form(State(app): State<AppState>, req: Request) -> PageResult {
    let (mut parts, _) = req.into_parts();
    if <Signed as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &app)
        .await
        .is_ok()
    {
        return Ok(Redirect::to("/admin").into_response());
    }
    html(&login_view(String::new(), String::new()))
}

fn login_view(email: String, error: String) -> LoginView {
    LoginView {
        l: Layout {
            title: "Sign in".to_owned(),
            ..Layout::default()
        },
        email,
        error,
    }
}

/// A refused sign-in: `e`, on the sign-in form with the email kept and `e`'s sentence.
fn refused(e: PageError, email: String) -> PageError {
    let (_, sentence) = e.words();
    match login_view(email, sentence).render() {
        Ok(page) => e.shown(Html(page)),
        Err(t) => t.into(),
    }
}

/// Too many attempts, on the sign-in form.
fn too_many(why: &str, email: String) -> PageError {
    let retry_after = u64::try_from(LOCKOUT.num_seconds()).unwrap_or(900);
    refused(
        PageError::TooManyRequests {
            retry_after,
            message: why.to_owned(),
        },
        email,
    )
}

/// Checks the password; on success starts a session. Five failures in a row from one client
/// address lock that address out of that account for 15 minutes (the answer does not say
/// whether the account exists). The lock is per account *and* address so that failing on
/// purpose cannot keep the account's owner out; guessing from many addresses is bounded by
/// the per-address limit ([`PER_IP`]) and the cost of Argon2id.
pub(super) async fn login(State(app): State<AppState>, req: Request) -> PageResult {
    let (parts, body) = req.into_parts();
    let fields = session::read_form(body).await?;
    let email = fields.get("email").trim().to_lowercase();
    let password = fields.get("password");
    let now = app.now();
    let store = app.store();
    if email.is_empty() || password.is_empty() || email.len() > 320 || password.len() > 1024 {
        let e = PageError::Unprocessable("Enter your email and password.".into());
        return Err(refused(e, email));
    }
    // Per address first: many accounts tried from one address are refused too.
    let client = ClientIp::of(&app, &parts);
    let ip = client.key();
    if !store
        .take_rate(&format!("admin-login-ip:{ip}"), PER_IP, PER_IP_WINDOW, now)
        .await?
    {
        return Err(too_many(
            "Too many sign-in attempts from your network. Try again in 15 minutes.",
            email,
        ));
    }
    if store.login_locked_until(&email, &ip, now).await?.is_some() {
        return Err(too_many(
            "Too many failed attempts. Try again in 15 minutes.",
            email,
        ));
    }
    let user = store.find_user_by_email(&email).await?;
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
            .await?;
        tracing::info!(email = %email, locked = locked.is_some(), "admin sign-in failed");
        return Err(match locked {
            Some(_) => too_many("Too many failed attempts. Try again in 15 minutes.", email),
            None => refused(PageError::Unauthorized, email),
        });
    };
    let token = session::random_token();
    let actor = Actor {
        kind: ActorKind::User,
        id: user.id.clone(),
        ip: client.text(),
    };
    store
        .create_admin_session(
            &user,
            &session::token_hash(&token),
            &session::random_token(),
            now + SESSION_TTL,
            &actor,
            now,
        )
        .await?;
    Ok((
        [(header::SET_COOKIE, session::cookie(&app, Some(&token)))],
        Redirect::to("/admin"),
    )
        .into_response())
}

/// The hash of a random password, checked against for unknown addresses.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    herald_domain::password::hash(&session::random_token()).unwrap_or_default()
});

async fn end(app: &AppState, p: Posted, everywhere: bool) -> PageResult {
    app.store()
        .end_admin_sessions(&p.who.session, everywhere, &p.who.actor, app.now())
        .await?;
    Ok((
        [(header::SET_COOKIE, session::cookie(app, None))],
        Redirect::to("/admin/login"),
    )
        .into_response())
}

/// Signs this browser out.
pub(super) async fn logout(State(app): State<AppState>, p: Posted) -> PageResult {
    end(&app, p, false).await
}

/// Signs every session of the user out.
pub(super) async fn logout_everywhere(State(app): State<AppState>, p: Posted) -> PageResult {
    end(&app, p, true).await
}

/// The account page: password change and "sign out everywhere".
pub(super) async fn password_form(who: Signed) -> PageResult {
    html(&PasswordView {
        l: Layout::new(&who, "Your account"),
        f: FormState::default(),
        done: false,
    })
}

/// Changes the password (the current one is required); other sessions are signed out.
pub(super) async fn change_password(State(app): State<AppState>, p: Posted) -> PageResult {
    let mut f = FormState::default();
    let current = p.fields.get("current");
    let new = p.fields.get("password");
    let ok_current = match app.store().get_user_with_hash(&p.who.session.user.id).await {
        Ok(Some((_, hash))) => herald_domain::password::verify(current, &hash),
        Ok(None) => false,
        Err(e) => return Err(e.into()),
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
            Err(e) => f.store_error(e)?,
        }
    }
    let v = PasswordView {
        l: Layout::new(&p.who, "Your account"),
        f,
        done: false,
    };
    form_page(v.f.has_errors(), &v)
}
