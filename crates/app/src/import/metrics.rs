//! Metrics providers and metric definitions. Their points are not copied: Statuspage's API
//! has no read of them. Statuspage never returns a provider's credentials, so an imported
//! Datadog or New Relic provider comes disabled and without them, and the summary says it
//! needs credentials; Self and Prometheus providers work as they are.

use herald_domain::metric::Provider;
use herald_store::{Imported, StoreError};
use std::collections::HashMap;

use super::Run;
use super::convert;
use super::report::Progress;
use super::resources::id_of;
use super::source::Paging;

impl Run<'_> {
    /// The page's metrics providers, then its metrics (the page's list, in display order).
    pub(super) async fn metrics(&mut self) -> anyhow::Result<()> {
        let mut progress = Progress::start("metrics");
        let listed = self
            .read_all("metrics providers", "/metrics_providers", Paging::PerPage)
            .await?;
        let now = self.now();
        let mut providers: HashMap<String, Provider> = HashMap::new();
        for v in &listed {
            progress.advance(1);
            let p = match convert::provider(v, &self.page_id, now) {
                Ok(p) => p,
                Err(why) => {
                    self.summary.skip("metrics providers", id_of(v), why);
                    continue;
                }
            };
            let here = match &self.page {
                Some(_) => self.store.get_provider(&self.page_id, &p.id).await?,
                None => None,
            };
            // Credentials an operator has set here since the last run stay, with the
            // provider's own disabled flag.
            let has_credentials = here
                .as_ref()
                .is_some_and(|h| h.credentials.api_key.is_some());
            let mut p = p;
            if has_credentials {
                p.disabled = v
                    .get("disabled")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false);
            } else if convert::needs_credentials(p.kind) {
                self.summary.notes.push(format!(
                    "metrics provider {} ({}) needs credentials: the source never sends them; it was imported \
                     disabled: set its api_key{} and enable it (PATCH /v1/pages/{}/metrics_providers/{})",
                    p.id,
                    p.kind.as_str(),
                    if p.kind == herald_domain::metric::ProviderKind::Datadog {
                        " and application_key"
                    } else {
                        ""
                    },
                    self.page_id,
                    p.id
                ));
            }
            providers.insert(p.id.clone(), p.clone());
            if self.opts.dry_run || self.page.is_none() {
                let outcome = match here {
                    None => Imported::Created,
                    Some(h) if h.same_imported(&p) => Imported::Unchanged,
                    Some(_) => Imported::Updated,
                };
                self.summary.count("metrics providers", outcome);
                continue;
            }
            match self.store.import_provider(&p, &self.actor, now).await {
                Ok(o) => self.summary.count("metrics providers", o),
                Err(StoreError::Conflict(why)) => {
                    providers.remove(&p.id);
                    self.summary.skip("metrics providers", &p.id, why);
                }
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("writing metrics provider {}", p.id))
                    );
                }
            }
        }
        let listed = self
            .read_all("metrics", "/metrics", Paging::PerPage)
            .await?;
        for (n, v) in listed.iter().enumerate() {
            progress.advance(1);
            let provider_id = v
                .get("metrics_provider_id")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let Some(provider) = providers.get(provider_id) else {
                self.summary.skip(
                    "metrics",
                    id_of(v),
                    format!("its provider {provider_id:?} was not imported"),
                );
                continue;
            };
            let position = i64::try_from(n).unwrap_or(i64::MAX - 1) + 1;
            let m = match convert::metric(v, provider, position, now) {
                Ok(m) => m,
                Err(why) => {
                    self.summary.skip("metrics", id_of(v), why);
                    continue;
                }
            };
            if self.opts.dry_run || self.page.is_none() {
                let here = match &self.page {
                    Some(_) => self.store.get_metric(&self.page_id, &m.id).await?,
                    None => None,
                };
                let outcome = match here {
                    None => Imported::Created,
                    Some(h) if h.same_imported(&m) => Imported::Unchanged,
                    Some(_) => Imported::Updated,
                };
                self.summary.count("metrics", outcome);
                continue;
            }
            match self.store.import_metric(&m, &self.actor, now).await {
                Ok(o) => self.summary.count("metrics", o),
                Err(StoreError::Conflict(why)) => self.summary.skip("metrics", &m.id, why),
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!("writing metric {}", m.id)));
                }
            }
        }
        if !listed.is_empty() {
            self.summary.notes.push(
                "metric data is not copied (the v1 API has no read of it): pushed metrics start empty, \
                 pulled ones fill the last 28 days from their provider at their first poll"
                    .to_owned(),
            );
        }
        progress.finish();
        Ok(())
    }
}
