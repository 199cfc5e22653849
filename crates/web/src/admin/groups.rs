//! The components screen: groups (create, rename, change members, delete), component order
//! (one place up or down) and component delete. Every write is one store call (one
//! transaction, one audit entry) followed by `page_changed`, as the v1 API does.

use askama::Template;
use axum::extract::{Path, State};
use herald_domain::component::{Component, GroupInput, GroupPatch, display_order};
use herald_domain::id::{ComponentId, PageId};
use herald_domain::page::Page;
use herald_domain::user::Role;
use herald_store::StoreError;

use super::confirm::{Confirm, confirm_page};
use super::form::FormState;
use super::incidents::load_page;
use super::session::{Posted, Signed};
use super::views::Layout;
use super::{form_page, see_other};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

/// One row of the component list, in display order.
pub(super) struct Row {
    pub id: String,
    pub name: String,
    pub is_group: bool,
    pub child: bool,
    pub status: String,
    pub first: bool,
    pub last: bool,
}

/// A member checkbox of a group form.
pub(super) struct Member {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// A group's own form.
pub(super) struct GroupForm {
    pub id: String,
    pub name: String,
    pub members: Vec<Member>,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin/components.html")]
pub(super) struct ComponentsView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub rows: Vec<Row>,
    pub groups: Vec<GroupForm>,
    pub new_members: Vec<Member>,
    /// The new-group form's values and messages.
    pub f: FormState,
    pub general: Vec<String>,
}

async fn all_components(app: &AppState, page: &Page) -> PageResult<Vec<Component>> {
    app.store()
        .list_components(&page.id)
        .await
        .map_err(PageError::from)
}

/// Renders the screen; `bad` is the group whose form failed ("" for the new-group form).
async fn screen(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    f: FormState,
    bad: Option<&str>,
) -> PageResult {
    let page = load_page(app, page_id).await?;
    let all = all_components(app, &page).await?;
    let ordered = display_order(&all);
    let rows = ordered
        .iter()
        .map(|c| {
            let siblings: Vec<&&Component> = ordered
                .iter()
                .filter(|s| s.group_id == c.group_id)
                .collect();
            Row {
                id: c.id.clone(),
                name: c.name.clone(),
                is_group: c.is_group,
                child: c.group_id.is_some(),
                status: super::form::label(c.status.as_str()),
                first: siblings.first().is_some_and(|s| s.id == c.id),
                last: siblings.last().is_some_and(|s| s.id == c.id),
            }
        })
        .collect();
    let leaves: Vec<&Component> = ordered.iter().copied().filter(|c| !c.is_group).collect();
    let members = |checked: &dyn Fn(&Component) -> bool| -> Vec<Member> {
        leaves
            .iter()
            .map(|c| Member {
                id: c.id.clone(),
                name: c.name.clone(),
                checked: checked(c),
            })
            .collect()
    };
    let groups = ordered
        .iter()
        .filter(|g| g.is_group)
        .map(|g| {
            let failed = bad == Some(g.id.as_str());
            GroupForm {
                id: g.id.clone(),
                name: if failed {
                    f.v("name").to_owned()
                } else {
                    g.name.clone()
                },
                members: members(&|c: &Component| {
                    if failed {
                        f.fields.checked(&format!("member.{}", c.id))
                    } else {
                        c.group_id.as_deref() == Some(g.id.as_str())
                    }
                }),
                error: if failed {
                    f.errors
                        .iter()
                        .map(|(_, m)| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    String::new()
                },
            }
        })
        .collect();
    let new_members =
        members(&|c: &Component| bad == Some("") && f.fields.checked(&format!("member.{}", c.id)));
    let invalid = f.has_errors();
    let (f, general) = if bad == Some("") {
        let g = super::incidents::general(&f, &["name", "components"]);
        (f, g)
    } else {
        let g = if bad.is_none() {
            super::incidents::general(&f, &[])
        } else {
            Vec::new()
        };
        (FormState::default(), g)
    };
    form_page(
        invalid,
        &ComponentsView {
            l: Layout::new(who, format!("Components · {}", page.name)),
            page_id: page.id.to_string(),
            page_name: page.name.clone(),
            rows,
            groups,
            new_members,
            f,
            general,
        },
    )
}

/// The components screen (owners).
pub(super) async fn components_screen(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    who.require(Role::Owner)?;
    screen(&app, &who, &page_id, FormState::default(), None).await
}

/// The ids of the ticked `member.<id>` boxes.
fn ticked(p: &Posted) -> Vec<String> {
    p.fields
        .with_prefix("member.")
        .filter(|(_, v)| matches!(*v, "on" | "true" | "1"))
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// Creates a group from its name and ticked components (owners).
pub(super) async fn create_group(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    let mut f = FormState::new(p.fields.clone());
    match GroupInput::parse(p.fields.get("name").trim(), None, ticked(&p)) {
        Ok(input) => match app
            .store()
            .create_group(
                &PageId::from(page_id.as_str()),
                &input,
                &p.who.actor,
                app.now(),
            )
            .await
        {
            Ok(_) => {
                app.page_changed(&PageId::from(page_id.as_str())).await;
                return see_other(&format!("/admin/pages/{page_id}/components"));
            }
            Err(e) => f.store_error(e)?,
        },
        Err(inv) => f.store_error(StoreError::Invalid(inv))?,
    }
    screen(&app, &p.who, &page_id, f, Some("")).await
}

/// Renames a group and replaces its members (owners).
pub(super) async fn save_group(
    State(app): State<AppState>,
    Path((page_id, group_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    let mut f = FormState::new(p.fields.clone());
    match GroupPatch::parse(
        Some(p.fields.get("name").trim()),
        None,
        Some(ticked(&p)),
        None,
    ) {
        Ok(patch) => match app
            .store()
            .update_group(
                &PageId::from(&page_id),
                &ComponentId::from(&group_id),
                &patch,
                &p.who.actor,
                app.now(),
            )
            .await
        {
            Ok(_) => {
                app.page_changed(&PageId::from(page_id.as_str())).await;
                return see_other(&format!("/admin/pages/{page_id}/components"));
            }
            Err(StoreError::NotFound) => return Err(PageError::NotFound),
            Err(e) => f.store_error(e)?,
        },
        Err(inv) => f.store_error(StoreError::Invalid(inv))?,
    }
    screen(&app, &p.who, &page_id, f, Some(&group_id)).await
}

/// Moves a component or group one place up or down among its siblings (owners).
pub(super) async fn move_component(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    let up = match p.fields.get("direction") {
        "up" => true,
        "down" => false,
        _ => {
            let mut f = FormState::new(p.fields.clone());
            f.add("", "Choose up or down.");
            return screen(&app, &p.who, &page_id, f, None).await;
        }
    };
    match app
        .store()
        .move_component(
            &PageId::from(&page_id),
            &ComponentId::from(&id),
            up,
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => {
            app.page_changed(&PageId::from(page_id.as_str())).await;
            see_other(&format!("/admin/pages/{page_id}/components"))
        }
        Err(e) => Err(e.into()),
    }
}

async fn find(app: &AppState, page_id: &str, id: &str) -> PageResult<Component> {
    let page = load_page(app, page_id).await?;
    all_components(app, &page)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(PageError::NotFound)
}

/// Asks before deleting a component or group (owners).
pub(super) async fn confirm_delete(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, id)): Path<(String, String)>,
) -> PageResult {
    who.require(Role::Owner)?;
    let c = find(&app, &page_id, &id).await?;
    let what = if c.is_group {
        format!(
            "Delete the group {:?}? Its components stay, at the top level.",
            c.name
        )
    } else {
        format!(
            "Delete the component {:?}? It disappears from the public page and from subscriptions.",
            c.name
        )
    };
    confirm_page(&Confirm {
        l: Layout::new(&who, format!("Delete {}", c.name)),
        text: what,
        action: format!("/admin/pages/{page_id}/components/{id}/delete"),
        button: "Delete".to_owned(),
        back: format!("/admin/pages/{page_id}/components"),
    })
}

/// Deletes a component or group (owners).
pub(super) async fn delete_component(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    match app
        .store()
        .delete_component(
            &PageId::from(&page_id),
            &ComponentId::from(&id),
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => {
            app.page_changed(&PageId::from(page_id.as_str())).await;
            see_other(&format!("/admin/pages/{page_id}/components"))
        }
        Err(e) => Err(e.into()),
    }
}
