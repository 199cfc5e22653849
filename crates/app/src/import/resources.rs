//! The resources of an import after the page: components and groups, incidents and
//! maintenances, templates, subscribers.

use herald_domain::component::Component;
use herald_domain::id::IncidentId;
use herald_domain::subscriber::SubscriberState;
use herald_store::{Imported, ImportedSubscriber, StoreError};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

use super::Run;
use super::convert;
use super::report::Progress;
use super::source::Paging;

/// Subscribers written per transaction.
const SUBSCRIBER_BATCH: usize = 1000;

impl Run<'_> {
    /// Reads a whole list (components and groups are short).
    pub(super) async fn read_all(
        &mut self,
        what: &'static str,
        path: &'static str,
        paging: Paging,
    ) -> anyhow::Result<Vec<Value>> {
        let mut pager = self.source.pager(what, path, paging, Vec::new());
        let mut odd = Vec::new();
        let mut all = Vec::new();
        while let Some(items) = pager.next(&mut self.source, &mut odd).await? {
            all.extend(items);
        }
        for (id, why) in odd {
            self.summary.skip(what, id, why);
        }
        Ok(all)
    }

    /// The page's components (non-groups) as they are here now.
    async fn known_components(&self) -> anyhow::Result<HashSet<String>> {
        if self.page.is_none() {
            return Ok(HashSet::new());
        }
        Ok(self
            .store
            .list_components(&self.page_id)
            .await?
            .into_iter()
            .filter(|c| !c.is_group)
            .map(|c| c.id)
            .collect())
    }

    /// Components and groups, written in one transaction.
    pub(super) async fn components(&mut self) -> anyhow::Result<()> {
        let mut progress = Progress::start("components");
        let listed = self
            .read_all("components", "/components", Paging::PerPage)
            .await?;
        let groups = self
            .read_all("component groups", "/component-groups", Paging::PerPage)
            .await?;
        let now = self.now();
        let mut all: Vec<Component> = Vec::new();
        for v in &listed {
            match convert::component(v, &self.page_id, now) {
                Ok(c) => all.push(c),
                Err(why) => self.summary.skip("components", id_of(v), why),
            }
        }
        // The groups list has the group's own name, description, position and members.
        let mut member_of: HashMap<String, String> = HashMap::new();
        for g in &groups {
            let mut group_value = g.clone();
            group_value["group"] = Value::Bool(true);
            let id = id_of(g);
            let from_list = listed
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id.as_str()));
            if let (Some(obj), Some(l)) = (group_value.as_object_mut(), from_list) {
                for k in ["showcase", "only_show_if_degraded", "start_date", "status"] {
                    if let Some(x) = l.get(k) {
                        obj.insert(k.to_owned(), x.clone());
                    }
                }
            }
            match convert::component(&group_value, &self.page_id, now) {
                Ok(c) => {
                    for m in g
                        .get("components")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        member_of.insert(m.to_owned(), c.id.clone());
                    }
                    all.retain(|x| x.id != c.id);
                    all.push(c);
                }
                Err(why) => self.summary.skip("component groups", id, why),
            }
        }
        let group_ids: HashSet<String> = all
            .iter()
            .filter(|c| c.is_group)
            .map(|c| c.id.clone())
            .collect();
        for c in all.iter_mut().filter(|c| !c.is_group) {
            if c.group_id.is_none() {
                c.group_id = member_of.get(&c.id).cloned();
            }
            if let Some(g) = c.group_id.clone()
                && !group_ids.contains(&g)
            {
                self.summary.notes.push(format!(
                    "component {} names group {g}, which the source did not list: imported outside any group",
                    c.id
                ));
                c.group_id = None;
            }
        }
        all.sort_by_key(|c| !c.is_group);
        progress.advance(all.len() as u64);
        if self.opts.dry_run {
            let here = match &self.page {
                Some(_) => self.store.list_components(&self.page_id).await?,
                None => Vec::new(),
            };
            for c in &all {
                let outcome = match here.iter().find(|h| h.id == c.id) {
                    None => Imported::Created,
                    Some(h) if h.name == c.name && h.position == c.position => Imported::Unchanged,
                    Some(_) => Imported::Updated,
                };
                self.summary.count("components", outcome);
            }
        } else {
            let counts = self
                .store
                .import_components(&self.page_id, &all, &self.actor, now)
                .await?;
            let mine = self.summary.of("components");
            mine.created += counts.created;
            mine.updated += counts.updated;
            mine.unchanged += counts.unchanged;
            mine.skipped.extend(counts.skipped);
        }
        progress.finish();
        Ok(())
    }

    /// Every incident and maintenance, one transaction each, page by page of the source.
    pub(super) async fn incidents(&mut self) -> anyhow::Result<()> {
        let mut progress = Progress::start("incidents");
        let known = self.known_components().await?;
        let mut pager = self
            .source
            .pager("incidents", "/incidents", Paging::Limit, Vec::new());
        let mut odd = Vec::new();
        while let Some(items) = pager.next(&mut self.source, &mut odd).await? {
            for v in &items {
                self.incident(v, &known).await?;
                progress.advance(1);
            }
        }
        for (id, why) in odd {
            self.summary.skip("incidents", id, why);
        }
        progress.finish();
        Ok(())
    }

    async fn incident(&mut self, v: &Value, known: &HashSet<String>) -> anyhow::Result<()> {
        let now = self.now();
        let i = match convert::incident(v, &self.page_id, known, now) {
            Ok(i) => i,
            Err(why) => {
                self.summary.skip("incidents", id_of(v), why);
                return Ok(());
            }
        };
        let existing = match &self.page {
            Some(_) => {
                self.store
                    .get_incident(&self.page_id, &IncidentId::from(&i.id))
                    .await?
            }
            None => None,
        };
        if existing.as_ref() == Some(&i) {
            self.summary.count("incidents", Imported::Unchanged);
            return Ok(());
        }
        if self.opts.dry_run {
            let outcome = if existing.is_some() {
                Imported::Updated
            } else {
                Imported::Created
            };
            self.summary.count("incidents", outcome);
            self.summary.of("incident updates").created += i.updates.len() as u64;
            return Ok(());
        }
        match self.store.import_incident(&i, &self.actor, now).await {
            Ok(r) => {
                self.summary.count("incidents", r.outcome);
                self.summary.of("incident updates").created += r.new_updates;
                for (id, why) in r.skipped_updates {
                    self.summary.skip("incident updates", id, why);
                }
            }
            Err(StoreError::Conflict(why)) => self.summary.skip("incidents", &i.id, why),
            Err(StoreError::Invalid(e)) => self.summary.skip("incidents", &i.id, e.message),
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("writing incident {}", i.id)));
            }
        }
        Ok(())
    }

    /// Incident templates.
    pub(super) async fn templates(&mut self) -> anyhow::Result<()> {
        let mut progress = Progress::start("templates");
        let known = self.known_components().await?;
        let listed = self
            .read_all("templates", "/incident_templates", Paging::PerPage)
            .await?;
        let now = self.now();
        for v in &listed {
            progress.advance(1);
            let t = match convert::template(v, &self.page_id, &known, now) {
                Ok(t) => t,
                Err(why) => {
                    self.summary.skip("templates", id_of(v), why);
                    continue;
                }
            };
            if self.opts.dry_run || self.page.is_none() {
                let here = match &self.page {
                    Some(_) => self.store.get_template(&self.page_id, &t.id).await?,
                    None => None,
                };
                let outcome = match here {
                    None => Imported::Created,
                    Some(h) if h == t => Imported::Unchanged,
                    Some(_) => Imported::Updated,
                };
                self.summary.count("templates", outcome);
                continue;
            }
            match self.store.import_template(&t, &self.actor, now).await {
                Ok(o) => self.summary.count("templates", o),
                Err(StoreError::Conflict(why)) => self.summary.skip("templates", &t.id, why),
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!("writing template {}", t.id)));
                }
            }
        }
        progress.finish();
        Ok(())
    }

    /// Subscribers of every state but unsubscribed, in batches; nothing is sent to them.
    pub(super) async fn subscribers(&mut self) -> anyhow::Result<()> {
        let mut progress = Progress::start("subscribers");
        let known = self.known_components().await?;
        let incidents: HashSet<String> = match &self.page {
            Some(_) => self
                .store
                .incident_ids(&self.page_id)
                .await?
                .into_iter()
                .collect(),
            None => HashSet::new(),
        };
        let mut seen: HashSet<String> = HashSet::new();
        for state in [
            SubscriberState::Active,
            SubscriberState::Unconfirmed,
            SubscriberState::Quarantined,
        ] {
            let mut pager = self.source.pager(
                "subscribers",
                "/subscribers",
                Paging::LimitFromZero,
                vec![("state", state.as_str().to_owned())],
            );
            let mut odd = Vec::new();
            let mut batch: Vec<ImportedSubscriber> = Vec::new();
            while let Some(items) = pager.next(&mut self.source, &mut odd).await? {
                progress.advance(items.len() as u64);
                let now = self.now();
                for v in &items {
                    match convert::subscriber(v, state, &known, &incidents, now) {
                        Ok(s) if seen.insert(s.id.clone()) => batch.push(s),
                        Ok(_) => {}
                        Err(why) => self.summary.skip("subscribers", id_of(v), why),
                    }
                }
                if batch.len() >= SUBSCRIBER_BATCH {
                    self.write_subscribers(std::mem::take(&mut batch)).await?;
                }
            }
            self.write_subscribers(batch).await?;
            for (id, why) in odd {
                self.summary.skip("subscribers", id, why);
            }
        }
        progress.finish();
        Ok(())
    }

    async fn write_subscribers(&mut self, batch: Vec<ImportedSubscriber>) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.opts.dry_run || self.page.is_none() {
            let ids: Vec<&str> = batch.iter().map(|s| s.id.as_str()).collect();
            let here = match &self.page {
                Some(_) => {
                    self.store
                        .existing_subscriber_ids(&self.page_id, &ids)
                        .await?
                }
                None => Vec::new(),
            };
            let mine = self.summary.of("subscribers");
            mine.unchanged += here.len() as u64;
            mine.created += (batch.len() - here.len()) as u64;
            return Ok(());
        }
        let r = self
            .store
            .import_subscribers(&self.page_id, &batch, &self.actor, self.now())
            .await
            .map_err(|e| anyhow::Error::new(e).context("writing a batch of subscribers"))?;
        let mine = self.summary.of("subscribers");
        mine.created += r.created;
        mine.unchanged += r.existing;
        Ok(())
    }
}

pub(super) fn id_of(v: &Value) -> String {
    v.get("id")
        .and_then(Value::as_str)
        .unwrap_or("(no id)")
        .to_owned()
}
