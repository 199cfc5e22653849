//! `POST /v1/pages/{page_id}/subscribers/import` (herald extension): a page's subscriber
//! list as CSV (the export's format) or JSON, imported whole or not at all. The admin UI's
//! upload (`admin/subscribers.rs`) goes through [`import_file`] too.
//!
//! The file is read and validated off the async threads (`domain::subscriber::import`), each
//! webhook and chat URL passes the egress guard (each host resolved once), and the store
//! finishes and writes the plan in one transaction (`Store::bulk_import_subscribers`).

use axum::Json;
use axum::extract::State;
use herald_domain::actor::Actor;
use herald_domain::page::Page;
use herald_domain::subscriber::Channel;
use herald_domain::subscriber::import::{self as bulk, At, Plan, Row, SkipReason, Unreadable};
use herald_notify::egress::EgressPolicy;
use herald_notify::signing;
use herald_store::BulkImported;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use utoipa::{IntoParams, ToSchema};

use super::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Upload, WritePage};
use crate::state::AppState;

/// Skipped rows listed in an answer (the counts cover all of them).
const SKIPPED_LISTED: usize = 100;
/// Host names resolved at once for the egress check.
const RESOLVE_AT_ONCE: usize = 16;

/// What the upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
}

/// Query parameters of the import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// For a CSV upload (a JSON body says it in its own `skip_confirmation_notification`):
    /// `true` imports e-mail and SMS subscribers confirmed and sends them nothing; `false`
    /// (default) sends each new one its confirmation.
    pub skip_confirmation_notification: Option<bool>,
}

/// The JSON upload: each subscriber as `POST /subscribers` takes one (without the
/// `subscriber` wrapper).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportBody {
    /// E-mail (`email`), SMS (`phone_number`, `phone_country`), webhook (`endpoint` and
    /// `email`, where failures are reported) or chat (`endpoint` and `type`: `slack`,
    /// `teams` or `discord`); optionally `component_ids` and `incident_id`.
    #[schema(value_type = Vec<herald_domain::subscriber::SubscriberInput>)]
    pub subscribers: Vec<Value>,
    pub skip_confirmation_notification: Option<bool>,
}

/// A created webhook subscriber and its signing secret (shown in this answer only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedWebhook {
    /// The CSV line (or, as `index`, the JSON index) it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub id: String,
    pub endpoint: String,
    pub webhook_secret: String,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Subscribers created.
    pub created: usize,
    /// Rows not written (see `skipped_by_reason`).
    pub skipped: usize,
    /// `already_subscribed`, `unsubscribed` (the address left the page: an import does not
    /// sign it up again), `duplicate_in_file`, `unsubscribed_in_file` (a CSV `state`).
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// The first 100 skipped rows: `{"line" | "index": n, "reason": ...}`.
    #[schema(value_type = Vec<Object>)]
    pub skipped_rows: Vec<Value>,
    /// Confirmation messages queued (none with `skip_confirmation_notification`).
    pub confirmations: u64,
    /// Created webhook subscribers with their signing secrets.
    pub webhooks: Vec<ImportedWebhook>,
}

fn at_json(at: At, into: &mut serde_json::Map<String, Value>) {
    let (k, n) = at.key();
    into.insert(k.to_owned(), json!(n));
}

impl ImportReport {
    fn new(done: &BulkImported, secrets: &HashMap<At, (String, String)>) -> Self {
        let mut by_reason: BTreeMap<String, usize> = SkipReason::NAMES
            .iter()
            .map(|n| ((*n).to_owned(), 0))
            .collect();
        for s in &done.skipped {
            *by_reason.entry(s.reason.as_str().to_owned()).or_default() += 1;
        }
        let skipped_rows = done
            .skipped
            .iter()
            .take(SKIPPED_LISTED)
            .map(|s| {
                let mut m = serde_json::Map::new();
                at_json(s.at, &mut m);
                m.insert("reason".into(), json!(s.reason.as_str()));
                if let SkipReason::Duplicate(first) = s.reason {
                    let mut f = serde_json::Map::new();
                    at_json(first, &mut f);
                    m.insert("duplicate_of".into(), Value::Object(f));
                }
                Value::Object(m)
            })
            .collect();
        let webhooks = done
            .created
            .iter()
            .filter(|c| c.channel == Channel::Webhook)
            .filter_map(|c| {
                let (endpoint, secret) = secrets.get(&c.at)?;
                let (line, index) = match c.at {
                    At::Line(n) => (Some(n), None),
                    At::Index(n) => (None, Some(n)),
                };
                Some(ImportedWebhook {
                    line,
                    index,
                    id: c.id.clone(),
                    endpoint: endpoint.clone(),
                    webhook_secret: secret.clone(),
                })
            })
            .collect();
        ImportReport {
            created: done.created.len(),
            skipped: done.skipped.len(),
            skipped_by_reason: by_reason,
            skipped_rows,
            confirmations: done.confirmations,
            webhooks,
        }
    }
}

/// Imports subscribers to the page from CSV or JSON `text` (at most [`crate::routes::UPLOAD_LIMIT`]
/// bytes, checked by the caller). `skip` is the caller's `skip_confirmation_notification`
/// (a JSON body's own flag wins). All or nothing: a file that cannot be read is a 400 naming
/// the line, bad rows a 422 listing them; either way nothing is written.
pub(crate) async fn import_file(
    app: &AppState,
    page: &Page,
    actor: &Actor,
    format: Format,
    bytes: bytes::Bytes,
    skip: Option<bool>,
) -> ApiResult<ImportReport> {
    // Reading and validating 100,000 rows is CPU work: off the async threads.
    let read = tokio::task::spawn_blocking(move || -> ApiResult<Plan> {
        let (rows, skip): (Vec<Row>, bool) = match format {
            Format::Csv => (
                bulk::read_csv(&bytes).map_err(|m| ApiError::BadRequest(m.0))?,
                skip.unwrap_or(false),
            ),
            Format::Json => {
                let (rows, own) = bulk::read_json(&bytes).map_err(|e| match e {
                    Unreadable::Malformed(m) => ApiError::BadRequest(m.0),
                    Unreadable::Invalid(i) => i.into(),
                })?;
                (rows, own.or(skip).unwrap_or(false))
            }
        };
        if rows.is_empty() {
            return Err(ApiError::Unprocessable {
                field: Some("subscribers".into()),
                message: "the file lists no subscribers".into(),
            });
        }
        Ok(bulk::plan(rows, skip))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "subscriber import: reading the file failed");
        ApiError::Internal
    })?;
    let mut plan = read?;
    check_endpoints(&app.config().egress, &mut plan).await;
    let mut secrets = HashMap::new();
    for p in &mut plan.rows {
        if p.new.channel == Channel::Webhook {
            let s = signing::new_secret();
            secrets.insert(
                p.at,
                (p.new.endpoint.clone().unwrap_or_default(), s.clone()),
            );
            p.secret = Some(s);
        }
    }
    // Even a plan with bad rows goes to the store, which adds the rows whose components or
    // incident are not on the page and refuses the lot: one answer lists every bad line.
    match app
        .store()
        .bulk_import_subscribers(&page.id, plan, actor, app.now())
        .await?
    {
        Ok(done) => Ok(ImportReport::new(&done, &secrets)),
        Err(refused) => Err(ApiError::Rows(refused)),
    }
}

/// Every webhook and chat URL must pass the egress rules, as when one subscriber is added:
/// each URL's shape and literal address is checked, and each host name resolved once.
async fn check_endpoints(egress: &EgressPolicy, plan: &mut Plan) {
    let mut hosts: BTreeMap<(String, u16), Vec<At>> = BTreeMap::new();
    let mut refused = Vec::new();
    for p in &plan.rows {
        let Some(url) = p.new.endpoint.as_deref() else {
            continue;
        };
        match egress.check_url(url) {
            Err(b) => refused.push((p.at, b.to_string())),
            Ok(u) => {
                let host = u.host_str().unwrap_or("").to_owned();
                if host.trim_matches(['[', ']']).parse::<IpAddr>().is_err() {
                    let port = u.port_or_known_default().unwrap_or(443);
                    hosts.entry((host, port)).or_default().push(p.at);
                }
            }
        }
    }
    let mut pending = hosts.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < RESOLVE_AT_ONCE {
            let Some(((host, port), ats)) = pending.next() else {
                break;
            };
            let egress = egress.clone();
            running.spawn(async move { (egress.resolve(&host, port).await, ats) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done {
            Ok((Err(b), ats)) => refused.extend(ats.into_iter().map(|at| (at, b.to_string()))),
            Ok((Ok(_), _)) => {}
            Err(e) => tracing::error!(error = %e, "subscriber import: a lookup task failed"),
        }
    }
    for (at, why) in refused {
        plan.refuse(at, "endpoint", format!("endpoint cannot be used: {why}"));
    }
}

/// Imports subscribers from a CSV file (`Content-Type: text/csv`; herald's export format,
/// whose header names the columns: `email`, `phone_number`, `phone_country`, `endpoint`,
/// `mode`, `components`, `incident_id`, `state`) or a JSON body (`{"subscribers": [...],
/// "skip_confirmation_notification": bool}`), at most 10 MiB. All or nothing: a file that
/// cannot be read is a 400 naming the line; bad rows (an invalid address, an unknown
/// component, a URL the egress rules refuse) are a 422 whose `errors` list the first 20 with
/// their `line` (CSV) or `index` (JSON) and `field`, and nothing is imported. Addresses
/// already on the page are skipped and counted. E-mail and SMS subscribers are sent a
/// confirmation unless `skip_confirmation_notification` is true.
#[utoipa::path(post, path = "/v1/pages/{page_id}/subscribers/import", tag = "subscribers",
    params(("page_id" = String, Path), ImportParams),
    request_body(content((ImportBody = "application/json"), (String = "text/csv"))),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody)))]
pub async fn import_subscribers(
    State(app): State<AppState>,
    WritePage { page, caller }: WritePage,
    ApiQuery(p): ApiQuery<ImportParams>,
    upload: Upload,
) -> ApiResult<Json<ImportReport>> {
    let format = match upload.content_type.as_deref() {
        Some("text/csv" | "application/csv") => Format::Csv,
        Some("application/json") => Format::Json,
        Some(ct) if ct.ends_with("+json") => Format::Json,
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type {other} is not supported; send text/csv or application/json"
            )));
        }
        None => {
            return Err(ApiError::UnsupportedMediaType(
                "send a Content-Type header: text/csv or application/json".to_owned(),
            ));
        }
    };
    let report = import_file(
        &app,
        &page,
        &caller.actor,
        format,
        upload.bytes,
        p.skip_confirmation_notification,
    )
    .await?;
    Ok(Json(report))
}
