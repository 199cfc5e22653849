//! Components: create, rename, set status.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use herald_domain::component::{ComponentInput, ComponentPatch, NewComponent};
use herald_domain::status::ComponentStatus;
use herald_domain::user::Role;
use herald_store::StoreError;

use super::form::FormState;
use super::incidents::{components, load_page};
use super::manage::page_view;
use super::session::{Posted, Signed};
use super::views::{ComponentView, Layout};
use super::{html_status, see_other};
use crate::state::AppState;

/// Adds a component (owners).
pub(super) async fn create_component(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> Response {
    if let Some(r) = p.who.refuse_unless(Role::Owner) {
        return r;
    }
    let mut f = FormState::new(p.fields.clone());
    let input = ComponentInput {
        name: Some(p.fields.get("name").trim().to_owned()),
        description: p.fields.opt("description").map(Some),
        ..ComponentInput::default()
    };
    match NewComponent::parse(&input) {
        Ok(new) => match app
            .store()
            .create_component(&page_id, &new, &p.who.actor, app.now())
            .await
        {
            Ok(_) => {
                app.page_changed(&page_id).await;
                return see_other(&format!("/admin/pages/{page_id}"));
            }
            Err(e) => f.store_error(&e),
        },
        Err(inv) => f.store_error(&StoreError::Invalid(inv)),
    }
    match page_view(&app, &p.who, &page_id, f).await {
        Ok(v) => html_status(StatusCode::UNPROCESSABLE_ENTITY, &v),
        Err(r) => r,
    }
}

/// Sets one component's status (incident managers and owners).
pub(super) async fn set_component_status(
    State(app): State<AppState>,
    Path((page_id, component_id)): Path<(String, String)>,
    p: Posted,
) -> Response {
    if let Some(r) = p.who.refuse_unless(Role::IncidentManager) {
        return r;
    }
    let mut f = FormState::new(p.fields.clone());
    match p.fields.get("status").parse::<ComponentStatus>() {
        Ok(status) => {
            let input = ComponentInput {
                status: Some(status),
                ..ComponentInput::default()
            };
            match patch_component(&app, &p.who.actor, &page_id, &component_id, &input).await {
                Ok(()) => return see_other(&format!("/admin/pages/{page_id}")),
                Err(e) => f.store_error(&e),
            }
        }
        Err(()) => f.add("", "Choose a status."),
    }
    match page_view(&app, &p.who, &page_id, f).await {
        Ok(v) => html_status(StatusCode::UNPROCESSABLE_ENTITY, &v),
        Err(r) => r,
    }
}

async fn component_form(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    component_id: &str,
    f: Option<FormState>,
) -> Response {
    let page = match load_page(app, page_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let comps = match components(app, &page).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(c) = comps.iter().find(|c| c.id == component_id) else {
        return super::session::not_found();
    };
    let status = if f.as_ref().is_some_and(FormState::has_errors) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let f = f.unwrap_or_else(|| {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &c.name)
            .append_pair("description", c.description.as_deref().unwrap_or(""))
            .finish();
        FormState::new(super::form::Fields::parse(body.as_bytes()))
    });
    html_status(
        status,
        &ComponentView {
            l: Layout::new(who, format!("Edit {}", c.name)),
            page_id: page.id.clone(),
            page_name: page.name.clone(),
            component_id: c.id.clone(),
            f,
        },
    )
}

/// The form that renames a component or changes its description (owners).
pub(super) async fn edit_component(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, component_id)): Path<(String, String)>,
) -> Response {
    if let Some(r) = who.refuse_unless(Role::Owner) {
        return r;
    }
    component_form(&app, &who, &page_id, &component_id, None).await
}

/// Saves a component's name and description (owners).
pub(super) async fn save_component(
    State(app): State<AppState>,
    Path((page_id, component_id)): Path<(String, String)>,
    p: Posted,
) -> Response {
    if let Some(r) = p.who.refuse_unless(Role::Owner) {
        return r;
    }
    let mut f = FormState::new(p.fields.clone());
    if p.fields.get("name").trim().is_empty() {
        f.add("name", "Give it a name.");
    } else {
        let input = ComponentInput {
            name: Some(p.fields.get("name").trim().to_owned()),
            description: Some(p.fields.opt("description")),
            ..ComponentInput::default()
        };
        match patch_component(&app, &p.who.actor, &page_id, &component_id, &input).await {
            Ok(()) => return see_other(&format!("/admin/pages/{page_id}")),
            Err(e) => f.store_error(&e),
        }
    }
    component_form(&app, &p.who, &page_id, &component_id, Some(f)).await
}

/// Applies `input` to a component through the API's store call, then re-renders the page.
async fn patch_component(
    app: &AppState,
    actor: &herald_domain::actor::Actor,
    page_id: &str,
    component_id: &str,
    input: &ComponentInput,
) -> Result<(), StoreError> {
    let patch = ComponentPatch::parse(input).map_err(StoreError::Invalid)?;
    app.store()
        .update_component(page_id, component_id, &patch, actor, app.now())
        .await?;
    app.page_changed(page_id).await;
    Ok(())
}
