//! Text messages through a Twilio-compatible HTTP API: `POST {base}/2010-04-01/Accounts/
//! {account}/Messages.json` with `To`, `From` and `Body`, HTTP basic auth. The base URL is
//! the operator's configuration (a provider, or a loopback emulator in tests), not user
//! input, so this client is not the guarded one.

use std::time::Duration;

use crate::render::Message;

/// Provider settings.
#[derive(Clone)]
pub struct SmsSettings {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsSettings")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"***")
            .field("from", &self.from)
            .finish()
    }
}

/// Why a text was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("{0}")]
    Permanent(String),
    #[error("{error}")]
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
}

impl From<SmsError> for herald_worker::JobError {
    fn from(e: SmsError) -> Self {
        match e {
            SmsError::Permanent(e) => Self::Permanent(e),
            SmsError::Transient { error, retry_after } => Self::Retryable { error, retry_after },
        }
    }
}

/// An SMS sender.
#[derive(Debug, Clone)]
pub struct Sms {
    settings: SmsSettings,
    http: reqwest::Client,
}

/// At most one SMS segment's worth of text.
pub fn text(m: &Message) -> String {
    let head = format!("{}: {} - ", m.page_name, m.headline);
    let room = 150usize.saturating_sub(head.chars().count() + m.link.chars().count() + 1);
    let title: String = if m.title.chars().count() > room {
        m.title
            .chars()
            .take(room.saturating_sub(1))
            .chain(std::iter::once('…'))
            .collect()
    } else {
        m.title.clone()
    };
    format!("{head}{title} {}", m.link)
}

impl Sms {
    /// A sender.
    pub fn new(settings: SmsSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            // Like the guarded client: proxy environment variables are not followed.
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { settings, http })
    }

    /// Sends `body` to `to` (E.164). Returns the provider's message id.
    pub async fn send(&self, to: &str, body: &str) -> Result<String, SmsError> {
        let s = &self.settings;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            s.base_url.trim_end_matches('/'),
            s.account_sid
        );
        let resp = self
            .http
            .post(url)
            .basic_auth(&s.account_sid, Some(&s.auth_token))
            .form(&[("To", to), ("From", s.from.as_str()), ("Body", body)])
            .send()
            .await
            .map_err(|e| SmsError::Transient {
                error: e.to_string(),
                retry_after: None,
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs);
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        match status {
            200..=299 => Ok(body["sid"].as_str().unwrap_or_default().to_owned()),
            429 | 500..=599 => Err(SmsError::Transient {
                error: format!("provider answered {status}"),
                retry_after,
            }),
            _ => Err(SmsError::Permanent(format!(
                "provider answered {status}: {}",
                body["message"].as_str().unwrap_or("")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fit_one_segment_and_keep_the_link() {
        let m = Message {
            page_name: "Acme".into(),
            page_url: "https://s.example".into(),
            subject: String::new(),
            headline: "Resolved".into(),
            title: "x".repeat(400),
            body: String::new(),
            link: "https://s.example/incidents/abcdefghijkl".into(),
            components: vec![],
            window: None,
        };
        let t = text(&m);
        assert!(t.chars().count() <= 160, "{}", t.len());
        assert!(t.ends_with("https://s.example/incidents/abcdefghijkl"));
        assert!(t.starts_with("Acme: Resolved - "));
    }
}
