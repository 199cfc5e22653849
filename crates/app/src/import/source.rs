//! The source of an import: a Statuspage-compatible v1 API (Statuspage itself, or another
//! herald), read page by page at a bounded rate.
//!
//! Every request carries `Authorization: OAuth <key>`; the key is never printed, logged or put
//! in a URL. Requests are spaced to `--rate` per second; a 429 (or Statuspage's 420) waits
//! for its `Retry-After` (2 s without one, as the Terraform provider does) and tries again;
//! network errors, 5xx answers and bodies that are not JSON are retried with a doubling pause
//! (`--retries` attempts in all); a 401 or 403 stops the run at once.

use anyhow::{Context, bail};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

/// An API key that never shows itself in `Debug` output.
#[derive(Clone)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl std::str::FromStr for ApiKey {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// How a v1 list is paged.
#[derive(Debug, Clone, Copy)]
pub enum Paging {
    /// `page` (from 1) and `per_page` (components, groups, templates).
    PerPage,
    /// `page` (from 1) and `limit` (incidents).
    Limit,
    /// `page` (from 0) and `limit` (subscribers).
    LimitFromZero,
}

/// Items per request: Statuspage's maximum.
pub const PER_PAGE: usize = 100;

/// Consecutive 429 answers to one request before the run gives up.
const THROTTLES_MAX: u32 = 30;

/// A source answer that is not a page of data.
#[derive(Debug)]
pub enum Missing {
    /// 404: the source has no such thing.
    NotFound,
}

/// The source API.
#[derive(Debug)]
pub struct Source {
    http: reqwest::Client,
    base: String,
    page_id: String,
    key: ApiKey,
    gap: Option<Duration>,
    next_at: Option<Instant>,
    retries: u32,
    /// Requests sent (including retries).
    pub requests: u64,
    /// 429 answers waited out.
    pub throttled: u64,
}

impl Source {
    /// A source at `base` (e.g. `https://api.statuspage.io`) for page `page_id`. `rate` is
    /// requests per second (0: unlimited); `retries` is attempts per request.
    pub fn new(
        base: &str,
        page_id: &str,
        key: ApiKey,
        rate: f64,
        retries: u32,
    ) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/');
        let parsed = url::Url::parse(base).with_context(|| format!("--base-url {base:?}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--base-url must be an http or https URL; got {base:?}");
        }
        if page_id.is_empty()
            || !page_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("--page-id must be the page's id (letters and digits); got {page_id:?}");
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("herald-import/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.to_owned(),
            page_id: page_id.to_owned(),
            key,
            gap: (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate)),
            next_at: None,
            retries: retries.max(1),
            requests: 0,
            throttled: 0,
        })
    }

    async fn pace(&mut self) {
        let Some(gap) = self.gap else { return };
        if let Some(at) = self.next_at {
            tokio::time::sleep_until(at).await;
        }
        self.next_at = Some(Instant::now() + gap);
    }

    /// GETs `/v1/pages/{page}{path}` and parses it. `what` names the resource in messages.
    pub async fn get(
        &mut self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<Result<Value, Missing>> {
        let url = format!("{}/v1/pages/{}{path}", self.base, self.page_id);
        let mut failures = 0u32;
        let mut throttles = 0u32;
        loop {
            self.pace().await;
            self.requests += 1;
            let sent = self
                .http
                .get(&url)
                .query(query)
                .header("Authorization", format!("OAuth {}", self.key.0))
                .header("Accept", "application/json")
                .send()
                .await;
            let problem = match sent {
                Err(e) => format!("the source did not answer ({})", without_url(&e)),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match status {
                        200..=299 => match resp.bytes().await {
                            Ok(body) => match serde_json::from_slice::<Value>(&body) {
                                Ok(v) => return Ok(Ok(v)),
                                Err(e) => format!("the source sent malformed JSON ({e})"),
                            },
                            Err(e) => format!("the answer broke off ({})", without_url(&e)),
                        },
                        420 | 429 => {
                            throttles += 1;
                            self.throttled += 1;
                            if throttles >= THROTTLES_MAX {
                                bail!(
                                    "reading {what}: the source answered {status} (rate limited) {throttles} times in a row; \
                                     run again later, or with a lower --rate"
                                );
                            }
                            let wait = retry_after(resp.headers()).unwrap_or(2).min(300);
                            tracing::info!(what, wait_s = wait, "rate limited by the source");
                            tokio::time::sleep(Duration::from_secs(wait)).await;
                            continue;
                        }
                        401 | 403 => bail!(
                            "reading {what}: the source refused the API key (HTTP {status}); check --api-key \
                             and that it may read page {}",
                            self.page_id
                        ),
                        404 => return Ok(Err(Missing::NotFound)),
                        500..=599 => format!("the source failed (HTTP {status})"),
                        _ => {
                            let text = resp.text().await.unwrap_or_default();
                            let text: String = text.chars().take(200).collect();
                            bail!("reading {what}: the source answered HTTP {status}: {text}");
                        }
                    }
                }
            };
            failures += 1;
            if failures >= self.retries {
                bail!(
                    "reading {what}: {problem}, {failures} attempt(s); what was written so far is kept: \
                     run the same command again to resume"
                );
            }
            let pause = Duration::from_millis(500u64 << failures.min(6));
            tracing::warn!(what, attempt = failures, "{problem}; retrying");
            tokio::time::sleep(pause).await;
        }
    }

    /// GETs a single object; a 404 is an error naming it.
    pub async fn object(&mut self, what: &str, path: &str) -> anyhow::Result<Value> {
        match self.get(what, path, &[]).await? {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => bail!("reading {what}: the source sent something other than an object"),
            Err(Missing::NotFound) => bail!(
                "reading {what}: the source has no page {} (HTTP 404); check --page-id",
                self.page_id
            ),
        }
    }

    /// Starts reading a list.
    pub fn pager(
        &self,
        what: &'static str,
        path: &'static str,
        paging: Paging,
        extra: Vec<(&'static str, String)>,
    ) -> Pager {
        Pager {
            what,
            path,
            paging,
            extra,
            next: match paging {
                Paging::LimitFromZero => 0,
                _ => 1,
            },
            done: false,
            seen: HashSet::new(),
        }
    }
}

/// Reads one v1 list page by page, until a page comes back empty.
#[derive(Debug)]
pub struct Pager {
    what: &'static str,
    path: &'static str,
    paging: Paging,
    extra: Vec<(&'static str, String)>,
    next: u64,
    done: bool,
    seen: HashSet<String>,
}

impl Pager {
    /// The next page's items, each with an id not seen before in this list; `None` after the
    /// last. Items without an id and repeated ids go to `odd` with the reason.
    pub async fn next(
        &mut self,
        source: &mut Source,
        odd: &mut Vec<(String, String)>,
    ) -> anyhow::Result<Option<Vec<Value>>> {
        if self.done {
            return Ok(None);
        }
        let size = match self.paging {
            Paging::PerPage => "per_page",
            _ => "limit",
        };
        let mut query = vec![
            ("page", self.next.to_string()),
            (size, PER_PAGE.to_string()),
        ];
        query.extend(self.extra.iter().cloned());
        let what = format!("{} (list page {})", self.what, self.next);
        let v = match source.get(&what, self.path, &query).await? {
            Ok(v) => v,
            Err(Missing::NotFound) => {
                self.done = true;
                odd.push((
                    self.what.to_owned(),
                    "the source has no such list (HTTP 404)".to_owned(),
                ));
                return Ok(None);
            }
        };
        let Value::Array(items) = v else {
            bail!("reading {what}: the source sent something other than a list");
        };
        if items.is_empty() {
            self.done = true;
            return Ok(None);
        }
        self.next += 1;
        let mut fresh = Vec::with_capacity(items.len());
        let mut repeated = 0;
        for item in items {
            match item.get("id").and_then(Value::as_str) {
                Some(id) if self.seen.insert(id.to_owned()) => fresh.push(item),
                Some(id) => {
                    repeated += 1;
                    odd.push((id.to_owned(), format!("listed twice in {}", self.what)));
                }
                None => odd.push((what.clone(), "an item without an id".to_owned())),
            }
        }
        if fresh.is_empty() && repeated > 0 {
            // A source that ignores `page` sends the first page forever.
            bail!(
                "reading {what}: every item was already listed; the source seems to ignore paging"
            );
        }
        Ok(Some(fresh))
    }
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<u64> {
    h.get("retry-after")?.to_str().ok()?.trim().parse().ok()
}

/// A reqwest error's text without the URL (which names the source, not a secret, but is long).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" for url ({u})"), "");
    }
    if e.is_timeout() {
        "timed out".to_owned()
    } else {
        s
    }
}
