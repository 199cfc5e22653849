//! Subscribers: the list (search, channel and state filters, pages of 50), adding one on any
//! channel (webhook and chat URLs pass the v1 API's egress check before anything is saved),
//! unsubscribing, the CSV export (the v1 API's) and the import of a CSV or JSON file (the v1
//! API's `import_file`: all or nothing, every bad line listed). Reading needs an incident
//! manager; every change, the export (every address at once) and the import need an owner.

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};
use herald_domain::id::{PageId, SubscriberId};
use herald_domain::subscriber::{Channel, NewSubscriber, SubscriberInput, SubscriberState};
use herald_domain::user::Role;
use herald_store::{StoreError, SubscriberQuery};
use serde::Deserialize;

use super::form::{FormState, Opt, options};
use super::incidents::{load_page, page_for};
use super::session::{Posted, Signed};
use super::views::Layout;
use super::{form_page, see_other};
use crate::api::v1::subscriber_import::{Format, ImportReport, import_file};
use crate::api::v1::subscribers::{check_endpoint, subscribers_csv};
use crate::error::{ApiError, PageError, PageResult};
use crate::state::AppState;

/// Subscribers per screen.
const PER_PAGE: i64 = 50;
const CHANNELS: &[&str] = &["email", "sms", "webhook", "slack", "teams", "discord"];
const STATES: &[&str] = &["active", "unconfirmed", "quarantined", "unsubscribed"];

/// The list's filters, as the GET form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct Filter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub page: Option<i64>,
}

impl Filter {
    /// The store query, or a message when a filter is not one the form offers.
    fn query(&self) -> Result<SubscriberQuery, String> {
        let channel = match self.channel.as_str() {
            "" => None,
            c => Some(Channel::parse("channel", c).map_err(|_| "Unknown channel.".to_owned())?),
        };
        let state = match self.state.as_str() {
            "" => None,
            s => Some(SubscriberState::parse("state", s).map_err(|_| "Unknown state.".to_owned())?),
        };
        if self.q.chars().count() > 320 {
            return Err("The search text is too long.".to_owned());
        }
        let page = self.page.unwrap_or(0).clamp(0, 1_000_000);
        Ok(SubscriberQuery {
            channel,
            state,
            q: Some(self.q.trim().to_owned()).filter(|q| !q.is_empty()),
            limit: PER_PAGE + 1,
            offset: page * PER_PAGE,
        })
    }

    /// The query string of this filter on another page of results.
    fn link(&self, page: i64) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.q)
            .append_pair("channel", &self.channel)
            .append_pair("state", &self.state)
            .append_pair("page", &page.to_string())
            .finish()
    }
}

pub(super) struct SubLine {
    pub id: SubscriberId,
    pub channel: &'static str,
    pub target: String,
    pub state: &'static str,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/subscribers.html")]
pub(super) struct SubscribersView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub subs: Vec<SubLine>,
    pub filter: Filter,
    pub filter_error: String,
    pub channels: Vec<Opt>,
    pub states: Vec<Opt>,
    pub prev: String,
    pub next: String,
    pub export: String,
    pub add_channels: Vec<Opt>,
    /// The add form.
    pub f: FormState,
    pub general: Vec<String>,
    /// A new webhook subscriber's signing secret, shown once.
    pub secret: String,
    pub owner: bool,
    /// What the last import did, or why it was refused.
    pub imported: ImportView,
}

/// The import form's outcome.
#[derive(Debug, Default)]
pub(super) struct ImportView {
    /// What was imported (empty when nothing was).
    pub done: String,
    /// Why nothing was imported.
    pub refused: String,
    /// The bad lines (refused) or the skipped ones (done).
    pub lines: Vec<String>,
    /// New webhook subscribers' signing secrets, shown once: (line, URL, secret).
    pub secrets: Vec<(String, String, String)>,
}

impl ImportView {
    fn done(r: &ImportReport) -> Self {
        let skipped = r
            .skipped_by_reason
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
            .collect::<Vec<_>>();
        let mut done = format!("Imported {} subscribers", r.created);
        if !skipped.is_empty() {
            done.push_str(&format!("; skipped {} ({})", r.skipped, skipped.join(", ")));
        }
        if r.confirmations > 0 {
            done.push_str(&format!(
                "; {} confirmation messages are on their way",
                r.confirmations
            ));
        }
        done.push('.');
        let place = |v: &serde_json::Value| {
            v.get("line")
                .map(|n| format!("line {n}"))
                .or_else(|| v.get("index").map(|n| format!("subscribers[{n}]")))
                .unwrap_or_default()
        };
        ImportView {
            done,
            refused: String::new(),
            lines: r
                .skipped_rows
                .iter()
                .map(|v| {
                    format!(
                        "{}: skipped, {}",
                        place(v),
                        v["reason"].as_str().unwrap_or("").replace('_', " ")
                    )
                })
                .collect(),
            secrets: r
                .webhooks
                .iter()
                .map(|w| {
                    (
                        w.line
                            .map(|n| format!("line {n}"))
                            .or_else(|| w.index.map(|n| format!("subscribers[{n}]")))
                            .unwrap_or_default(),
                        w.endpoint.clone(),
                        w.webhook_secret.clone(),
                    )
                })
                .collect(),
        }
    }

    fn refused(message: String, lines: Vec<String>) -> Self {
        ImportView {
            refused: message,
            lines,
            ..ImportView::default()
        }
    }
}

async fn screen(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    filter: Filter,
    f: FormState,
    secret: String,
) -> PageResult {
    screen_with(
        app,
        who,
        page_id,
        filter,
        f,
        secret,
        ImportView::default(),
        None,
    )
    .await
}

#[expect(
    clippy::too_many_arguments,
    reason = "one screen, shown after each of its forms"
)]
async fn screen_with(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    filter: Filter,
    f: FormState,
    secret: String,
    import: ImportView,
    refusal: Option<PageError>,
) -> PageResult {
    let page = load_page(app, page_id).await?;
    let (subs, filter_error) = match filter.query() {
        Ok(q) => match app.store().list_subscribers(&page.id, &q).await {
            Ok(s) => (s, String::new()),
            Err(e) => return Err(e.into()),
        },
        Err(m) => (Vec::new(), m),
    };
    let n = filter.page.unwrap_or(0).max(0);
    let more = subs.len() as i64 > PER_PAGE;
    let invalid = f.has_errors() || !filter_error.is_empty();
    let base = format!("/admin/pages/{}/subscribers", page.id);
    let v = SubscribersView {
        l: Layout::new(who, format!("Subscribers · {}", page.name)),
        page_id: page.id.to_string(),
        page_name: page.name.clone(),
        subs: subs
            .iter()
            .take(PER_PAGE as usize)
            .map(|s| SubLine {
                id: s.id.clone(),
                channel: s.channel.as_str(),
                target: s
                    .endpoint
                    .clone()
                    .or_else(|| s.phone_number.clone())
                    .or_else(|| s.email.clone())
                    .unwrap_or_default(),
                state: s.state.as_str(),
                created: page.zone.strftime(s.created_at, "%Y-%m-%d %H:%M %Z"),
            })
            .collect(),
        channels: options(CHANNELS, &filter.channel),
        states: options(STATES, &filter.state),
        prev: if n > 0 {
            format!("{base}?{}", filter.link(n - 1))
        } else {
            String::new()
        },
        next: if more {
            format!("{base}?{}", filter.link(n + 1))
        } else {
            String::new()
        },
        export: format!("{base}/export.csv?{}", filter.link(0)),
        add_channels: options(CHANNELS, f.v("channel")),
        general: super::incidents::general(&f, &["channel", "email", "phone_number", "endpoint"]),
        filter,
        filter_error,
        f,
        secret,
        owner: who.can(Role::Owner),
        imported: import,
    };
    match refusal {
        Some(e) => Err(e.shown(Html(v.render()?))),
        None => form_page(invalid, &v),
    }
}

/// The subscriber list (incident managers and owners).
pub(super) async fn subscribers(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
    Query(filter): Query<Filter>,
) -> PageResult {
    who.require(Role::IncidentManager)?;
    screen(
        &app,
        &who,
        &page_id,
        filter,
        FormState::default(),
        String::new(),
    )
    .await
}

/// Names a domain rule about a subscriber after the form's field.
fn field_of(domain_field: &str) -> &'static str {
    match domain_field.rsplit('.').next().unwrap_or("") {
        "email" => "email",
        "phone_number" | "phone_country" => "phone_number",
        "endpoint" => "endpoint",
        "type" => "channel",
        _ => "",
    }
}

/// Adds a subscriber (owners). E-mail and SMS subscribers are sent a confirmation unless
/// "skip confirmation" is ticked.
pub(super) async fn add_subscriber(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    let fields = &p.fields;
    let mut f = FormState::new(fields.clone());
    let channel = fields.get("channel").parse::<Channel>().ok();
    if channel.is_none() {
        f.add("channel", "Choose a channel.");
    }
    let http = channel.is_none_or(Channel::is_http);
    let sms = channel == Some(Channel::Sms);
    let input = SubscriberInput {
        email: fields.opt("email").filter(|_| !sms),
        phone_number: fields.opt("phone_number").filter(|_| sms),
        phone_country: fields.opt("phone_country"),
        endpoint: fields.opt("endpoint").filter(|_| http),
        kind: channel
            .filter(|c| c.is_http())
            .map(|c| c.as_str().to_owned()),
        skip_confirmation_notification: Some(fields.checked("skip_confirmation")),
        ..SubscriberInput::default()
    };
    if http && input.endpoint.is_none() {
        f.add("endpoint", "Enter the URL to post to.");
    }
    let mut secret = String::new();
    if !f.has_errors() {
        match NewSubscriber::parse(&input, true) {
            Err(inv) => f.add(field_of(&inv.field), inv.message),
            Ok(new) => match check_endpoint(&app, &new).await {
                Err(ApiError::Unprocessable { message, .. }) => f.add(
                    "endpoint",
                    format!(
                        "{}. Herald only posts to public addresses.",
                        message
                            .replace("subscriber.endpoint", "This URL")
                            .trim_end_matches('.')
                    ),
                ),
                Err(_) => f.add("endpoint", "This URL cannot be used."),
                Ok(()) => {
                    let s =
                        (new.channel == Channel::Webhook).then(herald_notify::signing::new_secret);
                    match app
                        .store()
                        .create_subscriber(
                            &PageId::from(page_id.as_str()),
                            &new,
                            s.as_deref(),
                            !new.confirmed,
                            &p.who.actor,
                            app.now(),
                        )
                        .await
                    {
                        Ok((_, true)) => match s {
                            Some(s) => secret = s,
                            None => {
                                return see_other(&format!("/admin/pages/{page_id}/subscribers"));
                            }
                        },
                        Ok((_, false)) => f.add("", "That subscriber already exists on this page."),
                        Err(StoreError::Invalid(inv)) => f.add(field_of(&inv.field), inv.message),
                        Err(e) => f.store_error(e)?,
                    }
                }
            },
        }
    }
    let f = if secret.is_empty() {
        f
    } else {
        FormState::default()
    };
    screen(&app, &p.who, &page_id, Filter::default(), f, secret).await
}

/// Unsubscribes one subscriber (owners).
pub(super) async fn unsubscribe(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, SubscriberId)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    app.store()
        .get_subscriber(&PageId::from(page_id.as_str()), &id)
        .await?
        .ok_or(PageError::NotFound)?;
    match app
        .store()
        .unsubscribe(
            &PageId::from(page_id.as_str()),
            std::slice::from_ref(&id),
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => see_other(&format!("/admin/pages/{page_id}/subscribers")),
        Err(e) => Err(e.into()),
    }
}

/// The filtered subscribers as CSV, every page of them (owners).
pub(super) async fn export_csv(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
    Query(filter): Query<Filter>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::Owner).await?;
    let mut q = match filter.query() {
        Ok(q) => q,
        Err(m) => return Err(PageError::BadRequest(m)),
    };
    q.limit = 1_000_000;
    q.offset = 0;
    let subs = app.store().list_subscribers(&page.id, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"subscribers-{}.csv\"", page.slug),
            ),
        ],
        subscribers_csv(&subs, page.zone),
    )
        .into_response())
}

/// Imports a CSV or JSON file of subscribers (owners): a `multipart/form-data` post of the
/// CSRF token, the file and "skip the confirmation". The screen shows what was imported, or
/// every bad line (the first 20) and that nothing was.
pub(super) async fn import_subscribers(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    who: Signed,
    req: Request,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::Owner).await?;
    let refused = |e: PageError, lines: Vec<String>| {
        let (_, message) = e.words();
        refused_screen(&app, &who, &page_id, e, ImportView::refused(message, lines))
    };
    let upload = match read_upload(req, &who).await {
        Ok(u) => u,
        Err(Ok(forbidden)) => return Err(forbidden),
        Err(Err(ApiError::PayloadTooLarge)) => {
            let e = PageError::PayloadTooLarge(
                "The file is larger than 10 MiB: nothing was imported. Split it and upload each part.".into(),
            );
            return refused(e, Vec::new()).await;
        }
        Err(Err(e)) => return refused(e.into(), Vec::new()).await,
    };
    if upload.bytes.is_empty() {
        let e = PageError::Unprocessable("Choose a CSV or JSON file to import.".into());
        return refused(e, Vec::new()).await;
    }
    match import_file(
        &app,
        &page,
        &who.actor,
        upload.format,
        upload.bytes,
        Some(upload.skip),
    )
    .await
    {
        Ok(report) => {
            screen_with(
                &app,
                &who,
                &page_id,
                Filter::default(),
                FormState::default(),
                String::new(),
                ImportView::done(&report),
                None,
            )
            .await
        }
        Err(ApiError::Rows(r)) => {
            let lines = r.errors.iter().map(ToString::to_string).collect();
            let more = if r.total > r.errors.len() {
                format!(" The first {} are listed.", r.errors.len())
            } else {
                String::new()
            };
            let rows = if r.total == 1 { "row" } else { "rows" };
            let e = PageError::Unprocessable(format!(
                "Nothing was imported: {} {rows} cannot be imported.{more}",
                r.total
            ));
            refused(e, lines).await
        }
        Err(ApiError::BadRequest(message)) => {
            let e = PageError::BadRequest(format!(
                "The file cannot be read, so nothing was imported: {message}"
            ));
            refused(e, Vec::new()).await
        }
        Err(e) => refused(e.into(), Vec::new()).await,
    }
}

/// The subscribers screen after a refused import.
async fn refused_screen(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    refusal: PageError,
    view: ImportView,
) -> PageResult {
    screen_with(
        app,
        who,
        page_id,
        Filter::default(),
        FormState::default(),
        String::new(),
        view,
        Some(refusal),
    )
    .await
}

/// The import form's fields.
struct UploadForm {
    format: Format,
    bytes: bytes::Bytes,
    skip: bool,
}

/// Reads the import form: `Err(Ok(page))` for a bad CSRF token, `Err(Err(..))` for a body
/// that is not the form or cannot be read (too large).
async fn read_upload(
    req: Request,
    who: &Signed,
) -> Result<UploadForm, Result<PageError, ApiError>> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        // Not a file upload (a form without its file input): its token is checked like any
        // form's, and then there is nothing to import.
        let fields = super::session::read_form(req.into_body())
            .await
            .map_err(Ok)?;
        if !super::session::constant_time_eq(fields.get("csrf").as_bytes(), who.csrf().as_bytes()) {
            return Err(Ok(expired()));
        }
        return Err(Err(ApiError::Unprocessable {
            field: Some("file".into()),
            message:
                "Choose a CSV or JSON file to import (the form sends it as multipart/form-data)."
                    .into(),
        }));
    }
    let mut form = Multipart::from_request(req, &()).await.map_err(|e| {
        Err(ApiError::BadRequest(format!(
            "The import form could not be read: {}",
            e.body_text()
        )))
    })?;
    let mut csrf = String::new();
    let mut out = UploadForm {
        format: Format::Csv,
        bytes: bytes::Bytes::new(),
        skip: false,
    };
    let failed = |e: axum::extract::multipart::MultipartError| Err(ApiError::from(e));
    while let Some(field) = form.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "csrf" => csrf = field.text().await.map_err(failed)?,
            "skip_confirmation" => out.skip = !field.text().await.map_err(failed)?.is_empty(),
            "file" => {
                // The token comes first in the form: without it the file is not even read.
                if !super::session::constant_time_eq(csrf.as_bytes(), who.csrf().as_bytes()) {
                    return Err(Ok(expired()));
                }
                let json = field.content_type().is_some_and(|t| t.contains("json"))
                    || field
                        .file_name()
                        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".json"));
                out.format = if json { Format::Json } else { Format::Csv };
                out.bytes = field.bytes().await.map_err(failed)?;
            }
            _ => {}
        }
    }
    if !super::session::constant_time_eq(csrf.as_bytes(), who.csrf().as_bytes()) {
        return Err(Ok(expired()));
    }
    Ok(out)
}

fn expired() -> PageError {
    PageError::Forbidden(
        "This form has expired or did not come from this site. Go back, reload and try again."
            .into(),
    )
}
