//! Team members and their roles (owners only).

use axum::extract::{Path, State};
use herald_domain::user::Role;

use super::form::{FormState, options};
use super::session::{Posted, Signed};
use super::views::{Layout, Member, TeamView};
use super::{form_page, see_other};
use crate::error::PageResult;
use crate::state::AppState;

const ROLES: &[&str] = &["owner", "incident_manager", "viewer"];

async fn team_view(app: &AppState, who: &Signed, f: FormState) -> PageResult {
    let users = app.store().list_users().await?;
    let role = if f.v("role").is_empty() {
        "viewer"
    } else {
        f.v("role")
    };
    let v = TeamView {
        l: Layout::new(who, "Team"),
        members: users
            .into_iter()
            .map(|u| Member {
                me: u.id == who.session.user.id,
                roles: options(ROLES, u.role.as_str()),
                role: super::form::label(u.role.as_str()),
                id: u.id,
                email: u.email,
            })
            .collect(),
        roles: options(ROLES, role),
        f,
    };
    form_page(v.f.has_errors(), &v)
}

/// Who can sign in, with which role.
pub(super) async fn team(State(app): State<AppState>, who: Signed) -> PageResult {
    who.require(Role::Owner)?;
    team_view(&app, &who, FormState::default()).await
}

/// Adds a member with a first password (to hand over and change at first sign-in).
pub(super) async fn add_member(State(app): State<AppState>, p: Posted) -> PageResult {
    p.who.require(Role::Owner)?;
    let mut f = FormState::new(p.fields.clone());
    let email = p.fields.get("email").trim().to_lowercase();
    if email.is_empty() || !email.contains('@') || email.len() > 320 {
        f.add("email", "Enter an email address.");
    }
    let role = p.fields.get("role").parse::<Role>();
    if role.is_err() {
        f.add("role", "Choose a role.");
    }
    let hash = match herald_domain::password::hash(p.fields.get("password")) {
        Ok(h) => Some(h),
        Err(inv) => {
            f.add("password", inv.message);
            None
        }
    };
    if let (false, Ok(role), Some(hash)) = (f.has_errors(), role, hash) {
        match app
            .store()
            .create_user(&email, &hash, role, &p.who.actor, app.now())
            .await
        {
            Ok(_) => return see_other("/admin/team"),
            Err(herald_store::StoreError::Conflict(_)) => {
                f.add("email", "Someone with this email is already a member.");
            }
            Err(e) => f.store_error(e)?,
        }
    }
    team_view(&app, &p.who, f).await
}

/// Changes a member's role. Owners cannot change their own (so a page never loses its last
/// owner by accident).
pub(super) async fn set_role(
    State(app): State<AppState>,
    Path(user_id): Path<String>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    let mut f = FormState::default();
    match p.fields.get("role").parse::<Role>() {
        Ok(_) if user_id == p.who.session.user.id => {
            f.add("", "You cannot change your own role.");
        }
        Ok(role) => match app
            .store()
            .set_user_role(&user_id, role, &p.who.actor, app.now())
            .await
        {
            Ok(_) => return see_other("/admin/team"),
            Err(e) => f.store_error(e)?,
        },
        Err(()) => f.add("", "Choose a role."),
    }
    team_view(&app, &p.who, f).await
}
