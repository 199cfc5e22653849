//! The admin templates' data (`templates/admin/*.html`). Everything is escaped by askama;
//! nothing is marked safe.

use askama::Template;

use super::form::{FormState, Opt};
use super::session::Signed;

/// What the frame of every signed-in screen shows.
#[derive(Debug, Clone, Default)]
pub(super) struct Layout {
    pub title: String,
    /// Empty when nobody is signed in.
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub owner: bool,
}

impl Layout {
    pub fn new(who: &Signed, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            email: who.email().to_owned(),
            role: who.session.user.role.as_str(),
            csrf: who.csrf().to_owned(),
            owner: who.can(herald_domain::user::Role::Owner),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/message.html")]
pub(super) struct Message {
    pub title: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "admin/login.html")]
pub(super) struct LoginView {
    pub l: Layout,
    pub email: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin/password.html")]
pub(super) struct PasswordView {
    pub l: Layout,
    pub f: FormState,
    pub done: bool,
}

/// An incident in a list.
#[derive(Debug, Clone)]
pub(super) struct IncLine {
    pub id: String,
    pub name: String,
    pub status: String,
    pub impact: &'static str,
    pub when: String,
}

pub(super) struct PageRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub indicator: &'static str,
    pub open: Vec<IncLine>,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub(super) struct DashboardView {
    pub l: Layout,
    pub pages: Vec<PageRow>,
    pub can_manage: bool,
}

/// A component with a status picker.
pub(super) struct CompLine {
    pub id: String,
    pub name: String,
    pub field: String,
    pub status: String,
    pub opts: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "admin/page.html")]
pub(super) struct PageView {
    pub l: Layout,
    pub page_id: String,
    pub comps: Vec<CompLine>,
    pub open: Vec<IncLine>,
    pub recent: Vec<IncLine>,
    pub can_manage: bool,
    pub f: FormState,
}

#[derive(Template)]
#[template(path = "admin/incident_form.html")]
pub(super) struct IncidentFormView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub maintenance: bool,
    /// The page's time zone, in which maintenance windows are entered.
    pub zone: &'static str,
    pub f: FormState,
    pub comps: Vec<CompLine>,
    pub statuses: Vec<Opt>,
    pub impacts: Vec<Opt>,
    pub templates: Vec<(String, String)>,
    pub general: Vec<String>,
}

pub(super) struct UpdLine {
    pub status: String,
    pub body: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "admin/incident.html")]
pub(super) struct IncidentView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub i: IncLine,
    /// A maintenance's window in the page's time zone ("" for an incident).
    pub window: String,
    pub updates: Vec<UpdLine>,
    pub version: i64,
    pub f: FormState,
    pub general: Vec<String>,
    pub comps: Vec<CompLine>,
    pub statuses: Vec<Opt>,
    pub pm: FormState,
    pub pm_published: bool,
    pub pm_body: String,
    pub can_manage: bool,
    pub closed: bool,
}

pub(super) struct KeyLine {
    pub id: String,
    pub name: String,
    pub shown: String,
    pub read_only: bool,
    pub created: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
pub(super) struct KeysView {
    pub l: Layout,
    pub keys: Vec<KeyLine>,
    pub created: String,
    pub f: FormState,
}

pub(super) struct AuditLine {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub changes: String,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub(super) struct AuditView {
    pub l: Layout,
    pub entries: Vec<AuditLine>,
    pub action: String,
    pub actor: String,
    pub page: String,
}

pub(super) struct Member {
    pub id: String,
    pub email: String,
    pub role: String,
    pub roles: Vec<Opt>,
    pub me: bool,
}

#[derive(Template)]
#[template(path = "admin/team.html")]
pub(super) struct TeamView {
    pub l: Layout,
    pub members: Vec<Member>,
    pub roles: Vec<Opt>,
    pub f: FormState,
}

#[derive(Template)]
#[template(path = "admin/component.html")]
pub(super) struct ComponentView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub component_id: String,
    pub f: FormState,
}
