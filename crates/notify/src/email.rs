//! E-mail over SMTP (lettre, pooled connections): one message per (event, subscriber), with
//! HTML and text parts, a `Message-ID` stable across retries (`<delivery id@host>`), and
//! RFC 8058 one-click unsubscription (`List-Unsubscribe` with an https link, and
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click`).

use askama::Template;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Mail, Tokio1Executor};

use crate::render::Message;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused for good (no such mailbox, policy): do not retry.
    #[error("{0}")]
    Permanent(String),
    /// Try again later.
    #[error("{0}")]
    Transient(String),
}

impl From<MailError> for herald_worker::JobError {
    fn from(e: MailError) -> Self {
        match e {
            MailError::Permanent(e) => Self::Permanent(e),
            MailError::Transient(e) => Self::retry(e),
        }
    }
}

/// An SMTP sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish()
    }
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

#[derive(Template)]
#[template(path = "email.html", escape = "html")]
struct Html<'a> {
    m: &'a Message,
    body_html: String,
    footer_html: String,
    /// The page's `email_logo` (an http(s) URL, checked when saved).
    logo: Option<&'a str>,
    manage: &'a str,
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "email.txt", escape = "none")]
struct Text<'a> {
    m: &'a Message,
    body_text: String,
    footer_text: String,
    manage: &'a str,
    unsubscribe: &'a str,
}

/// Links every notification e-mail carries.
#[derive(Debug, Clone)]
pub struct MailLinks {
    pub manage: String,
    pub unsubscribe: String,
}

impl Mailer {
    /// A mailer for `url` (`smtp://host:port`, `smtps://user:pass@host`) sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("smtp_from {from:?}: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp_url: {e}"))?
            .pool_config(PoolConfig::new().max_size(8))
            .build();
        let host = from.email.domain().to_owned();
        Ok(Self {
            transport,
            from,
            host,
        })
    }

    /// The `From` for a page: its own address when it set one, else herald's.
    fn sender(&self, page_from: Option<&str>, page_name: &str) -> Mailbox {
        page_from
            .and_then(|a| a.parse().ok())
            .map(|email| Mailbox::new(Some(page_name.to_owned()), email))
            .unwrap_or_else(|| self.from.clone())
    }

    /// Sends a notification about an event, with the page's sender, footer and e-mail logo
    /// (`settings`).
    pub async fn send_notification(
        &self,
        to: &str,
        delivery_id: &str,
        m: &Message,
        settings: &herald_domain::page::PageSettings,
        links: &MailLinks,
    ) -> Result<(), MailError> {
        let page_from = settings.notifications_from_email.as_deref();
        let footer = settings.notifications_email_footer.as_deref().unwrap_or("");
        let logo = settings
            .email_logo
            .as_deref()
            .filter(|l| l.starts_with("https://") || l.starts_with("http://"));
        let html = Html {
            m,
            body_html: herald_domain::markdown::to_html(&m.body),
            footer_html: herald_domain::markdown::to_html(footer),
            logo,
            manage: &links.manage,
            unsubscribe: &links.unsubscribe,
        }
        .render()
        .map_err(|e| MailError::Permanent(format!("template: {e}")))?;
        let text = Text {
            m,
            body_text: herald_domain::markdown::to_text(&m.body),
            footer_text: herald_domain::markdown::to_text(footer),
            manage: &links.manage,
            unsubscribe: &links.unsubscribe,
        }
        .render()
        .map_err(|e| MailError::Permanent(format!("template: {e}")))?;
        let mail = Mail::builder()
            .from(self.sender(page_from, &m.page_name))
            .to(to
                .parse()
                .map_err(|e| MailError::Permanent(format!("address {to:?}: {e}")))?)
            .subject(m.subject.clone())
            .message_id(Some(format!("<{delivery_id}@{}>", self.host)))
            .header(ListUnsubscribe(links.unsubscribe.clone()))
            .header(ListUnsubscribePost)
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| MailError::Permanent(e.to_string()))?;
        self.deliver(mail).await
    }

    /// Sends a plain message (confirmation links, failure notices).
    pub async fn send_plain(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        page_from: Option<&str>,
        page_name: &str,
        id: &str,
    ) -> Result<(), MailError> {
        let mail = Mail::builder()
            .from(self.sender(page_from, page_name))
            .to(to
                .parse()
                .map_err(|e| MailError::Permanent(format!("address {to:?}: {e}")))?)
            .subject(subject)
            .message_id(Some(format!("<{id}@{}>", self.host)))
            .body(body.to_owned())
            .map_err(|e| MailError::Permanent(e.to_string()))?;
        self.deliver(mail).await
    }

    async fn deliver(&self, mail: Mail) -> Result<(), MailError> {
        self.transport.send(mail).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                MailError::Permanent(e.to_string())
            } else {
                MailError::Transient(e.to_string())
            }
        })
    }
}
