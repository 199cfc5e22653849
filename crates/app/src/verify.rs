//! `herald verify --url BASE`: the post-deploy canary. It proves each link of the work flow
//! of the running deployment, in order, and names the first broken one:
//!
//! 1. **web tier**: the management API at BASE takes a write (an incident on the hidden
//!    canary page, with a nonce);
//! 2. **public page**: the write is visible when read back at once;
//! 3. **worker tier**: a canary job enqueued now is run by some worker before the deadline;
//! 4. **readiness**: BASE/readyz answers 200.
//!
//! It reads the same configuration as `serve` (it needs the database to set up the canary
//! page and a short-lived key, and to watch the canary job), and cleans up after itself.

use anyhow::{Context, anyhow, bail};
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::Clock;
use herald_domain::id::PageId;
use herald_domain::page::NewPage;
use herald_store::Store;
use herald_store::kinds::{CANARY, CanaryJob};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The canary page's slug (hidden from listings).
pub const CANARY_SLUG: &str = "herald-canary";

/// A failed link, named for the operator.
#[derive(Debug)]
pub struct Broken {
    pub link: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.link, self.detail)
    }
}

fn broken(link: &'static str, detail: impl std::fmt::Display) -> Broken {
    Broken {
        link,
        detail: detail.to_string(),
    }
}

async fn canary_page(store: &Store, clock: &dyn Clock) -> anyhow::Result<PageId> {
    if let Some(p) = store.find_page_by_slug(CANARY_SLUG).await? {
        return Ok(p.id);
    }
    let mut new = NewPage::parse("Herald canary", CANARY_SLUG, None)?;
    new.hidden = true;
    Ok(store
        .create_page(&new, &Actor::cli(), clock.now())
        .await?
        .id)
}

/// Runs the canary against `base` within `timeout`. `Ok` lists what passed.
pub async fn verify(
    store: &Store,
    clock: &dyn Clock,
    base: &str,
    timeout: Duration,
) -> Result<Vec<String>, Broken> {
    let deadline = Instant::now() + timeout;
    let base = base.trim_end_matches('/');
    let page = canary_page(store, clock)
        .await
        .map_err(|e| broken("database", e))?;
    let key = apikey::generate();
    let key_row = store
        .create_key(
            "herald verify",
            &key,
            false,
            Some(std::slice::from_ref(&page)),
            &Actor::cli(),
            clock.now(),
        )
        .await
        .map_err(|e| broken("database", e))?;
    let result = run_checks(store, clock, base, &page, &key.secret, deadline).await;
    if let Err(e) = store
        .revoke_key(&key_row.id, &Actor::cli(), clock.now())
        .await
    {
        tracing::warn!(error = %e, "could not revoke the canary key");
    }
    result
}

async fn run_checks(
    store: &Store,
    clock: &dyn Clock,
    base: &str,
    page: &PageId,
    key: &str,
    deadline: Instant,
) -> Result<Vec<String>, Broken> {
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100))
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| broken("verify", e))?;
    let nonce = herald_domain::id::generate();
    let mut passed = Vec::new();

    // 1. The web tier takes a write.
    let url = format!("{base}/v1/pages/{page}/incidents");
    let resp = http
        .post(&url)
        .header("Authorization", format!("OAuth {key}"))
        .json(&json!({"incident": {"name": format!("Canary {nonce}"), "status": "investigating", "body": format!("canary {nonce}"), "deliver_notifications": false}}))
        .send()
        .await
        .map_err(|e| broken("web tier", format!("POST {url}: {e}")))?;
    if resp.status().as_u16() != 201 {
        return Err(broken(
            "web tier",
            format!("POST {url} answered {}", resp.status()),
        ));
    }
    let incident: Value = resp.json().await.map_err(|e| broken("web tier", e))?;
    let incident_id = incident["id"].as_str().unwrap_or_default().to_owned();
    passed.push("web tier".to_owned());

    // 2. The write is visible at once.
    let read = format!("{base}/v1/pages/{page}/incidents/{incident_id}");
    let seen: Value = http
        .get(&read)
        .header("Authorization", format!("OAuth {key}"))
        .send()
        .await
        .map_err(|e| broken("public page", e))?
        .json()
        .await
        .map_err(|e| broken("public page", e))?;
    if seen["incident_updates"][0]["body"].as_str() != Some(&format!("canary {nonce}")) {
        return Err(broken(
            "public page",
            format!("{read} does not show the canary update"),
        ));
    }
    passed.push("public page".to_owned());
    let _ = http
        .delete(&read)
        .header("Authorization", format!("OAuth {key}"))
        .send()
        .await;

    // 3. A worker runs a canary job.
    store
        .enqueue(
            &[CANARY.job(
                Some(page),
                &CanaryJob {
                    nonce: nonce.clone(),
                    sleep_ms: None,
                },
            )],
            clock.now(),
        )
        .await
        .map_err(|e| broken("database", e))?;
    loop {
        match store.canary_runs(&nonce).await {
            Ok(runs) if !runs.is_empty() => break,
            Ok(_) => {}
            Err(e) => return Err(broken("database", e)),
        }
        if Instant::now() >= deadline {
            return Err(broken(
                "worker tier",
                "no worker ran the canary job before the deadline: the workers are stopped, not claiming, or far behind",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    passed.push("worker tier".to_owned());

    // 4. Readiness.
    let ready = http
        .get(format!("{base}/readyz"))
        .timeout(left())
        .send()
        .await
        .map_err(|e| broken("readiness", e))?;
    if !ready.status().is_success() {
        let body: Value = ready.json().await.unwrap_or_default();
        let failing: Vec<String> = body["checks"]
            .as_object()
            .map(|c| {
                c.iter()
                    .filter(|(_, v)| v["ok"] == false)
                    .map(|(k, v)| format!("{k} ({})", v["detail"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default();
        return Err(broken(
            "readiness",
            format!("/readyz is not ready: {}", failing.join(", ")),
        ));
    }
    passed.push("readiness".to_owned());
    Ok(passed)
}

/// Parses `60s`, `2m`, `500ms` or a bare number of seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().with_context(|| format!("bad duration {s:?}"))?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("bad duration {s:?}: use s, ms or m"),
    })
}

/// Maps a failed verify to the process's error.
pub fn into_error(b: Broken) -> anyhow::Error {
    anyhow!("verify failed: {b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("soon").is_err());
    }
}
