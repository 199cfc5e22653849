//! Skipping work on re-render: the secondary pages (uptime months, history months, incident
//! pages) are large and rarely change with a write, so each gets a fingerprint of exactly
//! what it shows; when the fingerprint matches the previous snapshot's, its output is reused
//! without rendering, hashing or compressing. Time-driven refreshes render everything.

use herald_domain::incident::Incident;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use super::Source;
use crate::public::snapshot::{Output, PageSnapshot};

/// Fingerprints of what the pages show.
pub struct Prints {
    /// Page branding and settings, components: what every page's layout shows.
    pub layout: u64,
}

fn hash(f: impl FnOnce(&mut DefaultHasher)) -> u64 {
    let mut h = DefaultHasher::new();
    f(&mut h);
    h.finish()
}

impl Prints {
    /// The fingerprints of `src`.
    pub fn new(src: &Source) -> Self {
        let p = &src.page;
        let layout = hash(|h| {
            (&p.name, &p.slug, &p.domain, p.zone.name()).hash(h);
            serde_json::to_string(&p.settings)
                .unwrap_or_default()
                .hash(h);
            for c in &src.components {
                (
                    &c.id,
                    &c.name,
                    &c.group_id,
                    c.status.as_str(),
                    c.showcase,
                    c.position,
                )
                    .hash(h);
                (c.start_date, c.only_show_if_degraded, &c.description).hash(h);
            }
        });
        Self { layout }
    }

    /// What an incident's page shows.
    pub fn incident(&self, i: &Incident) -> u64 {
        hash(|h| {
            self.layout.hash(h);
            incident_print(i, h);
        })
    }

    /// What the uptime pages show: the status history, incident names and dates, the day.
    pub fn uptime(&self, src: &Source) -> u64 {
        hash(|h| {
            self.layout.hash(h);
            src.log.len().hash(h);
            if let Some(e) = src.log.last() {
                (&e.component_id, e.status.as_str(), e.at).hash(h);
            }
            for i in &src.incidents {
                (
                    &i.id,
                    &i.name,
                    i.started_at,
                    i.resolved_at,
                    &i.component_ids,
                )
                    .hash(h);
            }
            src.page.zone.date(src.now).hash(h);
            let w = &src.weights;
            (w.major_outage.to_bits(), w.partial_outage.to_bits()).hash(h);
            w.degraded_performance.to_bits().hash(h);
        })
    }

    /// What the history pages show: every incident, and the month.
    pub fn history(&self, src: &Source) -> u64 {
        hash(|h| {
            self.layout.hash(h);
            for i in &src.incidents {
                incident_print(i, h);
            }
            src.page.zone.date(src.now).hash(h);
        })
    }
}

fn incident_print(i: &Incident, h: &mut DefaultHasher) {
    (
        &i.id,
        &i.name,
        i.status.as_str(),
        i.impact.as_str(),
        i.updated_at,
    )
        .hash(h);
    (
        i.started_at,
        i.resolved_at,
        i.scheduled_for,
        i.scheduled_until,
    )
        .hash(h);
    (&i.component_ids, i.updates.len(), i.postmortem.published_at).hash(h);
    (i.postmortem.updated_at, &i.postmortem.body).hash(h);
    for u in &i.updates {
        (&u.id, u.updated_at, u.display_at).hash(h);
    }
}

/// Decides, output by output, whether the previous snapshot's can be kept.
pub struct Memo<'a> {
    prev: Option<&'a PageSnapshot>,
    force: bool,
    /// The fingerprints of the new snapshot.
    pub keys: HashMap<String, u64>,
}

impl<'a> Memo<'a> {
    /// `force`: render everything (a time-driven refresh).
    pub fn new(prev: Option<&'a PageSnapshot>, force: bool) -> Self {
        Self {
            prev,
            force,
            keys: HashMap::new(),
        }
    }

    /// The output named `name` with fingerprint `key`: the previous one (`previous` picks it
    /// from the previous snapshot) if its fingerprint is the same, else `make()`.
    pub fn get(
        &mut self,
        name: String,
        key: u64,
        previous: impl FnOnce(&PageSnapshot) -> Option<&Arc<Output>>,
        make: impl FnOnce() -> Arc<Output>,
    ) -> Arc<Output> {
        let reuse = match self.prev {
            Some(p) if !self.force && p.keys.get(&name) == Some(&key) => previous(p).cloned(),
            _ => None,
        };
        self.keys.insert(name, key);
        reuse.unwrap_or_else(make)
    }
}
