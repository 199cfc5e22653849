//! The public side of subscriptions: the subscribe form on the status page, Statuspage's
//! legacy `POST/DELETE /api/v2/subscribers.json`, and the pages signed links open (confirm,
//! manage, unsubscribe — RFC 8058 one-click included).
//!
//! These requests reach the router through the front (`crate::server`), which finds the page
//! from the host or the `/p/<slug>/` prefix and hands it over as a [`PublicPage`]. Rules:
//! - a subscribe answers the same whatever the address's state (new, waiting, subscribed), so
//!   the form cannot tell anyone who is subscribed; each client address may subscribe
//!   [`PER_IP`] times per [`PER_IP_WINDOW`], and each address receives at most
//!   [`PER_TARGET`] confirmation messages a day;
//! - nothing about a subscriber is shown or changed without a link sent to it: every link
//!   carries a signed token for one subscriber and one purpose;
//! - GET never changes anything (mail scanners follow links): confirming and unsubscribing
//!   are POSTs, from a button or from the mail client's one-click unsubscribe;
//! - a private page (`viewers_must_be_team_members`) answers every one of these paths with
//!   404: only its team adds subscribers, and only those are notified (`notify::fanout`).
//!
//! The HTML pages are here; Statuspage's JSON endpoints are in [`json`].

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use herald_domain::actor::Actor;
use herald_domain::id::{ComponentId, PageId, SubscriberId};
use herald_domain::page::Page;
use herald_domain::subscriber::{Channel, NewSubscriber, Subscriber, SubscriberState};
use herald_notify::links::{Links, Purpose};
use serde::Deserialize;

use crate::api::v1::subscribers::{SubscriberEnvelope, check_endpoint};
use crate::error::{ApiError, PageError, PageResult};
use crate::extract::{ApiBody, ClientIp};
use crate::public::render::html::{Layout, finish};
use crate::server::PublicPage;
use crate::state::AppState;

mod json;
use json::cors;
pub use json::{subscribe_json, unsubscribe_json, unsubscribe_json_path};

/// Subscribe requests accepted per client address per [`PER_IP_WINDOW`].
pub const PER_IP: i64 = 5;
/// The window of [`PER_IP`].
pub const PER_IP_WINDOW: TimeDelta = TimeDelta::minutes(10);
/// Confirmation messages one address may receive per day.
pub const PER_TARGET: i64 = 3;

/// What every subscribe answers, whatever the address's state.
const SUBSCRIBE_MESSAGE: &str = "If this address can receive notifications, a message to confirm the subscription is on its way. Nothing is sent until it is confirmed.";

/// The page of a public request, with what its pages need.
pub struct Public {
    page: Page,
    page_url: String,
    links: Links,
    actor_ip: Option<String>,
}

impl FromRequestParts<AppState> for Public {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let Some(PublicPage(id)) = parts.extensions.get::<PublicPage>().cloned() else {
            return Err(ApiError::NotFound.into_response());
        };
        let page = match app.store().get_page(&PageId::from(id.as_str())).await {
            // A private page has no public side at all: nobody may subscribe to it, confirm,
            // manage or unsubscribe through it (its team adds subscribers through the API
            // or the admin UI). The answer is the 404 of a page that does not exist.
            Ok(Some(p)) if !p.settings.viewers_must_be_team_members => p,
            Ok(_) => return Err(cors(ApiError::NotFound.into_response())),
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let links = app
            .link_signer()
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let actor_ip = ClientIp::of(app, parts).text();
        Ok(Public {
            page_url: page.public_url(&app.config().public_url),
            page,
            links,
            actor_ip,
        })
    }
}

impl Public {
    fn actor(&self, id: &str) -> Actor {
        Actor::public(id, self.actor_ip.clone())
    }

    fn link(&self, path: &str, id: &SubscriberId, purpose: Purpose, app: &AppState) -> String {
        format!(
            "{}/subscriptions/{path}{}",
            self.page_url,
            self.links.token(id, purpose, app.now())
        )
    }

    /// The subscriber a token grants `purpose` on, if it is one of this page's.
    async fn holder(
        &self,
        app: &AppState,
        token: &str,
        purposes: &[Purpose],
    ) -> Result<Subscriber, ApiError> {
        let id = purposes
            .iter()
            .find_map(|p| self.links.check(token, *p, app.now()))
            .ok_or(ApiError::NotFound)?;
        app.store()
            .get_subscriber(&self.page.id, &id)
            .await?
            .ok_or(ApiError::NotFound)
    }
}

/// Checks the limits and subscribes; the answer never depends on the address's state.
async fn subscribe(
    app: &AppState,
    public: &Public,
    body: &SubscriberEnvelope,
) -> Result<NewSubscriber, ApiError> {
    let s = &public.page.settings;
    let now = app.now();
    let ip = public.actor_ip.as_deref().unwrap_or("unknown");
    let bucket = format!("subscribe-ip:{ip}");
    if !app
        .store()
        .take_rate(&bucket, PER_IP, PER_IP_WINDOW, now)
        .await?
    {
        return Err(ApiError::TooManyRequests {
            retry_after: u64::try_from(PER_IP_WINDOW.num_seconds()).unwrap_or(600),
            limit: format!(
                "{PER_IP} subscriptions per {} minutes from one address",
                PER_IP_WINDOW.num_minutes()
            ),
        });
    }
    let new = NewSubscriber::parse(&body.subscriber, false)?;
    if new.channel.is_http() {
        // An endpoint has no inbox to confirm from: a public form taking one would let anyone
        // make herald post to any URL. The page's team adds these (API or admin).
        return Err(ApiError::Unprocessable {
            field: Some("subscriber.endpoint".into()),
            message: "webhook and chat subscriptions are added by the page's team; subscribe here with an e-mail address or a phone number".into(),
        });
    }
    // A page-wide subscription needs the page's subscriptions open, one to an incident the
    // incident subscriptions (Statuspage's two settings); either also needs its channel.
    let allowed = match new.incident_id {
        None => s.allow_page_subscribers,
        Some(_) => s.allow_incident_subscribers,
    } && match new.channel {
        Channel::Email => s.allow_email_subscribers,
        Channel::Sms => s.allow_sms_subscribers,
        _ => s.allow_webhook_subscribers,
    };
    if !allowed {
        return Err(ApiError::Unprocessable {
            field: Some("subscriber".into()),
            message: format!(
                "this page does not take {} subscriptions",
                new.channel.as_str()
            ),
        });
    }
    check_endpoint(app, &new).await?;
    let target = new
        .email
        .as_deref()
        .or(new.phone_number.as_deref())
        .unwrap_or_default();
    let per_target = format!(
        "confirm:{}:{}:{target}",
        public.page.id,
        new.channel.as_str()
    );
    let send = app
        .store()
        .take_rate(&per_target, PER_TARGET, TimeDelta::days(1), now)
        .await?;
    let secret = (new.channel == Channel::Webhook).then(herald_notify::signing::new_secret);
    app.store()
        .create_subscriber(
            &public.page.id,
            &new,
            secret.as_deref(),
            send,
            &public.actor("subscribe"),
            now,
        )
        .await?;
    Ok(new)
}

#[derive(Template)]
#[template(path = "public/subscription.html")]
struct View {
    l: Layout,
    heading: String,
    paragraphs: Vec<String>,
    manage: Option<ManageForm>,
    /// A one-button form: (action, label).
    button: Option<(String, String)>,
    manage_link: Option<String>,
}

struct ManageForm {
    action: String,
    /// (id, name, checked)
    components: Vec<(String, String, bool)>,
}

impl View {
    fn new(public: &Public, heading: &str) -> View {
        View {
            l: Layout::for_page(&public.page, &public.page_url, heading),
            heading: heading.to_owned(),
            paragraphs: Vec::new(),
            manage: None,
            button: None,
            manage_link: None,
        }
    }

    fn say(mut self, p: impl Into<String>) -> View {
        self.paragraphs.push(p.into());
        self
    }

    /// The page, answered with 200 (an error's status is set by [`PageError`]).
    fn send(self) -> Response {
        let (html, style) = finish(&self, &self.l.style);
        let mut headers = HeaderMap::new();
        let csp = format!(
            "default-src 'none'; style-src 'self' {style}; img-src 'self' https: data:; base-uri 'none'; \
             object-src 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        for (name, value) in [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            // Links carry tokens: never leak them to another site.
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::CONTENT_SECURITY_POLICY, csp),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
        (headers, html).into_response()
    }
}

impl Public {
    /// An error on a page in this status page's look.
    fn shown(&self, e: impl Into<PageError>) -> PageError {
        let e = e.into();
        let not_found = match &e {
            PageError::Api(a) => matches!(**a, ApiError::NotFound),
            other => matches!(other, PageError::NotFound),
        };
        let (heading, text) = if not_found {
            (
                "Link not valid",
                "This link is not valid, or it has expired. Subscribe again from the status page."
                    .to_owned(),
            )
        } else {
            ("Something is not right", e.words().1)
        };
        let page = View::new(self, heading).say(text).send();
        e.shown(page)
    }
}

/// `POST /subscriptions`: the subscribe form of the status page.
pub async fn subscribe_form(
    State(app): State<AppState>,
    public: Public,
    ApiBody(body): ApiBody<SubscriberEnvelope>,
) -> PageResult {
    subscribe(&app, &public, &body)
        .await
        .map_err(|e| public.shown(e))?;
    Ok(View::new(&public, "Check your inbox")
        .say(SUBSCRIBE_MESSAGE)
        .send())
}

/// `GET /subscriptions/confirm/<token>`: asks for the click that confirms.
pub async fn confirm_page(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
) -> PageResult {
    let sub = public
        .holder(&app, &token, &[Purpose::Confirm])
        .await
        .map_err(|e| public.shown(e))?;
    if sub.state != SubscriberState::Unconfirmed {
        return Ok(already(&app, &public, &sub));
    }
    let mut v = View::new(&public, "Confirm your subscription").say(format!(
        "Confirm to receive notifications from {} at {}.",
        public.page.name,
        sub.target()
    ));
    v.button = Some((
        public.link("confirm/", &sub.id, Purpose::Confirm, &app),
        "Confirm subscription".into(),
    ));
    Ok(v.send())
}

/// `POST /subscriptions/confirm/<token>`: confirms.
pub async fn confirm(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
) -> PageResult {
    let sub = public
        .holder(&app, &token, &[Purpose::Confirm])
        .await
        .map_err(|e| public.shown(e))?;
    let confirmed = app
        .store()
        .confirm_subscriber(
            &public.page.id,
            &sub.id,
            &public.actor(sub.id.as_str()),
            app.now(),
        )
        .await
        .map_err(|e| public.shown(e))?;
    if !confirmed {
        return Ok(already(&app, &public, &sub));
    }
    let mut v = View::new(&public, "Subscription confirmed").say(format!(
        "You will be notified of incidents and maintenance on {}.",
        public.page.name
    ));
    v.manage_link = Some(public.link("", &sub.id, Purpose::Manage, &app));
    Ok(v.send())
}

/// The answer to a link whose work is done already.
fn already(app: &AppState, public: &Public, sub: &Subscriber) -> Response {
    let (heading, text) = match sub.state {
        SubscriberState::Unsubscribed => (
            "Not subscribed",
            "This subscription was cancelled. Subscribe again from the status page.",
        ),
        _ => (
            "Already confirmed",
            "This subscription is confirmed already.",
        ),
    };
    let mut v = View::new(public, heading).say(text);
    if sub.state != SubscriberState::Unsubscribed {
        v.manage_link = Some(public.link("", &sub.id, Purpose::Manage, app));
    }
    v.send()
}

/// `GET /subscriptions/unsubscribe/<token>`: asks for the click that unsubscribes (RFC
/// 8058: a GET must not unsubscribe).
pub async fn unsubscribe_page(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
) -> PageResult {
    let sub = public
        .holder(&app, &token, &[Purpose::Unsubscribe])
        .await
        .map_err(|e| public.shown(e))?;
    if sub.state == SubscriberState::Unsubscribed {
        return Ok(already(&app, &public, &sub));
    }
    let mut v = View::new(&public, "Unsubscribe").say(format!(
        "Stop notifications from {} to {}?",
        public.page.name,
        sub.target()
    ));
    v.button = Some((
        public.link("unsubscribe/", &sub.id, Purpose::Unsubscribe, &app),
        "Unsubscribe".into(),
    ));
    Ok(v.send())
}

/// `POST /subscriptions/unsubscribe/<token>`: unsubscribes at once, with or without the
/// one-click body `List-Unsubscribe=One-Click` (RFC 8058), without cookies.
pub async fn unsubscribe(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
) -> PageResult {
    let sub = public
        .holder(&app, &token, &[Purpose::Unsubscribe, Purpose::Manage])
        .await
        .map_err(|e| public.shown(e))?;
    let ids = [sub.id.clone()];
    app.store()
        .unsubscribe(
            &public.page.id,
            &ids,
            &public.actor(sub.id.as_str()),
            app.now(),
        )
        .await
        .map_err(|e| public.shown(e))?;
    Ok(View::new(&public, "Unsubscribed")
        .say(format!(
            "{} will not be sent notifications from {} any more.",
            sub.target(),
            public.page.name
        ))
        .send())
}

/// The manage form's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ManageBody {
    component_ids: Vec<ComponentId>,
}

async fn manage_view(
    app: &AppState,
    public: &Public,
    sub: &Subscriber,
    note: Option<&str>,
) -> Result<Response, ApiError> {
    if sub.state == SubscriberState::Unsubscribed {
        return Ok(already(app, public, sub));
    }
    let components = app.store().list_components(&public.page.id).await?;
    let mut v = View::new(public, "Your subscription").say(format!(
        "Notifications from {} go to {}.",
        public.page.name,
        sub.target()
    ));
    if let Some(n) = note {
        v = v.say(n);
    }
    v.manage = Some(ManageForm {
        action: public.link("", &sub.id, Purpose::Manage, app),
        components: components
            .into_iter()
            .filter(|c| !c.is_group)
            .map(|c| {
                let on = sub.component_ids.iter().any(|s| *s == c.id);
                (c.id, c.name, on)
            })
            .collect(),
    });
    v.button = Some((
        public.link("unsubscribe/", &sub.id, Purpose::Unsubscribe, app),
        "Unsubscribe from everything".into(),
    ));
    Ok(v.send())
}

/// `GET /subscriptions/<token>`: the manage page.
pub async fn manage_page(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
) -> PageResult {
    let r = async {
        let sub = public.holder(&app, &token, &[Purpose::Manage]).await?;
        manage_view(&app, &public, &sub, None).await
    };
    r.await.map_err(|e| public.shown(e))
}

/// `POST /subscriptions/<token>`: saves the components chosen on the manage page.
pub async fn manage_save(
    State(app): State<AppState>,
    public: Public,
    Path(token): Path<String>,
    ApiBody(body): ApiBody<ManageBody>,
) -> PageResult {
    let r = async {
        let sub = public.holder(&app, &token, &[Purpose::Manage]).await?;
        let sub = app
            .store()
            .set_subscriber_components(
                &public.page.id,
                &sub.id,
                &body.component_ids,
                &public.actor(sub.id.as_str()),
                app.now(),
            )
            .await?;
        manage_view(&app, &public, &sub, Some("Saved.")).await
    };
    r.await.map_err(|e| public.shown(e))
}
