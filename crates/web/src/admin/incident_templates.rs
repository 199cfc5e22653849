//! Incident templates (incident managers and owners): list, create, edit, delete. The
//! create-incident form starts from one with `?template=<id>`.

use axum::extract::{Path, State};
use herald_domain::id::PageId;
use herald_domain::template::{Template, TemplateInput};
use herald_domain::user::Role;
use herald_store::StoreError;

use super::confirm::{Confirm, confirm_page};
use super::form::{Fields, FormState};
use super::incidents::load_page;
use super::session::{Posted, Signed};
use super::views::Layout;
use super::{form_page, see_other};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

pub(super) struct TemplateLine {
    pub id: String,
    pub name: String,
    pub title: String,
}

#[derive(askama::Template)]
#[template(path = "admin/templates.html")]
pub(super) struct TemplatesView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub list: Vec<TemplateLine>,
    /// The form: a new template when `editing` is empty.
    pub editing: String,
    pub version: String,
    pub f: FormState,
    pub general: Vec<String>,
}

fn allowed(who: &Signed) -> PageResult<()> {
    who.require(Role::IncidentManager)
}

async fn screen(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    editing: Option<&Template>,
    f: FormState,
) -> PageResult {
    let page = load_page(app, page_id).await?;
    let list = app.store().list_templates(&page.id).await?;
    let title = match editing {
        Some(t) => format!("Edit template {}", t.name),
        None => format!("Incident templates · {}", page.name),
    };
    let v = TemplatesView {
        l: Layout::new(who, title),
        page_id: page.id.to_string(),
        page_name: page.name.clone(),
        list: list
            .into_iter()
            .map(|t| TemplateLine {
                id: t.id,
                name: t.name,
                title: t.title,
            })
            .collect(),
        editing: editing.map(|t| t.id.clone()).unwrap_or_default(),
        version: editing.map(version).unwrap_or_default(),
        general: super::incidents::general(&f, &["name", "title", "body"]),
        f,
    };
    form_page(v.f.has_errors(), &v)
}

fn version(t: &Template) -> String {
    t.updated_at.timestamp_millis().to_string()
}

/// The templates and the form for a new one.
pub(super) async fn list_templates(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    allowed(&who)?;
    screen(&app, &who, &page_id, None, FormState::default()).await
}

fn input(fields: &Fields) -> TemplateInput {
    TemplateInput {
        name: Some(fields.get("name").trim().to_owned()),
        title: Some(fields.get("title").trim().to_owned()),
        body: Some(fields.get("body").to_owned()),
        ..TemplateInput::default()
    }
}

/// Saves a new template.
pub(super) async fn create_template(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    allowed(&p.who)?;
    let mut f = FormState::new(p.fields.clone());
    match Template::parse(
        &PageId::from(page_id.as_str()),
        &input(&p.fields),
        app.now(),
    ) {
        Ok(t) => match app
            .store()
            .create_template(&t, &p.who.actor, app.now())
            .await
        {
            Ok(_) => return see_other(&format!("/admin/pages/{page_id}/templates")),
            Err(e) => f.store_error(e)?,
        },
        Err(inv) => f.store_error(StoreError::Invalid(inv))?,
    }
    screen(&app, &p.who, &page_id, None, f).await
}

async fn load(app: &AppState, page_id: &str, id: &str) -> PageResult<Template> {
    app.store()
        .get_template(&PageId::from(page_id), id)
        .await?
        .ok_or(PageError::NotFound)
}

/// The form that edits a template.
pub(super) async fn edit_template(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, id)): Path<(String, String)>,
) -> PageResult {
    allowed(&who)?;
    let t = load(&app, &page_id, &id).await?;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", &t.name)
        .append_pair("title", &t.title)
        .append_pair("body", &t.body)
        .finish();
    let f = FormState::new(Fields::parse(body.as_bytes()));
    screen(&app, &who, &page_id, Some(&t), f).await
}

/// Saves a template's name, title and message.
pub(super) async fn save_template(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    allowed(&p.who)?;
    let current = load(&app, &page_id, &id).await?;
    let mut f = FormState::new(p.fields.clone());
    if p.fields.get("version") != version(&current) {
        f.add(
            "",
            "Someone else changed this template since you opened it. Reload to see their change.",
        );
    } else {
        match Template::parse(
            &PageId::from(page_id.as_str()),
            &input(&p.fields),
            app.now(),
        ) {
            Ok(mut t) => {
                t.id.clone_from(&current.id);
                t.component_ids.clone_from(&current.component_ids);
                t.update_status = current.update_status;
                t.should_send_notifications = current.should_send_notifications;
                match app
                    .store()
                    .update_template(&t, &p.who.actor, app.now())
                    .await
                {
                    Ok(_) => return see_other(&format!("/admin/pages/{page_id}/templates")),
                    Err(e) => f.store_error(e)?,
                }
            }
            Err(inv) => f.store_error(StoreError::Invalid(inv))?,
        }
    }
    screen(&app, &p.who, &page_id, Some(&current), f).await
}

/// Asks before deleting a template.
pub(super) async fn confirm_delete(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, id)): Path<(String, String)>,
) -> PageResult {
    allowed(&who)?;
    let t = load(&app, &page_id, &id).await?;
    confirm_page(&Confirm {
        l: Layout::new(&who, format!("Delete template {}", t.name)),
        text: format!(
            "Delete the template {:?}? Incidents made from it stay.",
            t.name
        ),
        action: format!("/admin/pages/{page_id}/templates/{id}/delete"),
        button: "Delete template".to_owned(),
        back: format!("/admin/pages/{page_id}/templates"),
    })
}

/// Deletes a template.
pub(super) async fn delete_template(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    allowed(&p.who)?;
    match app
        .store()
        .delete_template(
            &PageId::from(page_id.as_str()),
            &id,
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => see_other(&format!("/admin/pages/{page_id}/templates")),
        Err(e) => Err(e.into()),
    }
}
