//! Components: create, rename, set status.

use axum::extract::{Path, State};
use herald_domain::component::{ComponentInput, ComponentPatch, NewComponent};
use herald_domain::id::{ComponentId, PageId};
use herald_domain::status::ComponentStatus;
use herald_domain::user::Role;
use herald_store::StoreError;

use super::form::FormState;
use super::incidents::{components, load_page};
use super::manage::page_view;
use super::session::{Posted, Signed};
use super::views::{ComponentView, Layout};
use super::{form_page, see_other};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

/// Adds a component (owners).
pub(super) async fn create_component(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    let mut f = FormState::new(p.fields.clone());
    let input = ComponentInput {
        name: Some(p.fields.get("name").trim().to_owned()),
        description: p.fields.opt("description").map(Some),
        ..ComponentInput::default()
    };
    match NewComponent::parse(&input) {
        Ok(new) => match app
            .store()
            .create_component(
                &PageId::from(page_id.as_str()),
                &new,
                &p.who.actor,
                app.now(),
            )
            .await
        {
            Ok(_) => {
                app.page_changed(&PageId::from(page_id.as_str())).await;
                return see_other(&format!("/admin/pages/{page_id}"));
            }
            Err(e) => f.store_error(e)?,
        },
        Err(inv) => f.store_error(StoreError::Invalid(inv))?,
    }
    let v = page_view(&app, &p.who, &page_id, f).await?;
    form_page(v.f.has_errors(), &v)
}

/// Sets one component's status (incident managers and owners).
pub(super) async fn set_component_status(
    State(app): State<AppState>,
    Path((page_id, component_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::IncidentManager)?;
    let mut f = FormState::new(p.fields.clone());
    match p.fields.get("status").parse::<ComponentStatus>() {
        Ok(status) => {
            let input = ComponentInput {
                status: Some(status),
                ..ComponentInput::default()
            };
            match patch_component(&app, &p.who.actor, &page_id, &component_id, &input).await {
                Ok(()) => return see_other(&format!("/admin/pages/{page_id}")),
                Err(e) => f.store_error(e)?,
            }
        }
        Err(()) => f.add("", "Choose a status."),
    }
    let v = page_view(&app, &p.who, &page_id, f).await?;
    form_page(v.f.has_errors(), &v)
}

async fn component_form(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    component_id: &str,
    f: Option<FormState>,
) -> PageResult {
    let page = load_page(app, page_id).await?;
    let comps = components(app, &page).await?;
    let c = comps
        .iter()
        .find(|c| c.id == component_id)
        .ok_or(PageError::NotFound)?;
    let f = f.unwrap_or_else(|| {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("name", &c.name)
            .append_pair("description", c.description.as_deref().unwrap_or(""))
            .finish();
        FormState::new(super::form::Fields::parse(body.as_bytes()))
    });
    let v = ComponentView {
        l: Layout::new(who, format!("Edit {}", c.name)),
        page_id: page.id.to_string(),
        page_name: page.name.clone(),
        component_id: c.id.clone(),
        f,
    };
    form_page(v.f.has_errors(), &v)
}

/// The form that renames a component or changes its description (owners).
pub(super) async fn edit_component(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, component_id)): Path<(String, String)>,
) -> PageResult {
    who.require(Role::Owner)?;
    component_form(&app, &who, &page_id, &component_id, None).await
}

/// Saves a component's name and description (owners).
pub(super) async fn save_component(
    State(app): State<AppState>,
    Path((page_id, component_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
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
            Err(e) => f.store_error(e)?,
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
        .update_component(
            &PageId::from(page_id),
            &ComponentId::from(component_id),
            &patch,
            actor,
            app.now(),
        )
        .await?;
    app.page_changed(&PageId::from(page_id)).await;
    Ok(())
}
