//! The columns of every table this release reads whole, named rather than `*`.
//!
//! PostgreSQL keeps each statement herald prepares (the connection's statement cache: one
//! round trip per statement instead of two, and no planning from scratch). A prepared
//! `SELECT *` or `RETURNING *` fails ever after with "cached plan must not change result
//! type" once a migration adds a column to its table, so a node of the previous release
//! would break the moment a newer one runs its expand migration (DESIGN.md: deploys roll
//! back). A statement that names its columns keeps its result type when columns are added:
//! every whole-row read is written `concat!("SELECT ", cols!(pages), " FROM pages ...")`.
//!
//! `herald verify` and the store's tests check that each list is its table's columns in the
//! migrated schema (`Store::column_drift`), so a migration that adds a column this release
//! reads cannot be forgotten here.

use std::collections::BTreeSet;

use crate::db::{Backend, One, args};
use crate::{Result, Store};

/// The columns of `table` (one of the tables below), comma-separated.
macro_rules! cols {
    (pages) => {
        "id, slug, name, domain, time_zone, settings, hidden, version, created_at, updated_at"
    };
    (components) => {
        "id, page_id, group_id, is_group, name, description, status, position, showcase, only_show_if_degraded, start_date, created_at, updated_at"
    };
    (incidents) => {
        "id, page_id, kind, name, status, impact, impact_override, created_at, updated_at, started_at, monitoring_at, resolved_at, scheduled_for, scheduled_until, scheduled_reminded_at, scheduled_remind_prior, scheduled_auto_in_progress, scheduled_auto_completed, auto_transition_to_maintenance_state, auto_transition_to_operational_state, auto_transition_deliver_notifications_at_start, auto_transition_deliver_notifications_at_end, backfilled, metadata, pm_body, pm_body_updated_at, pm_body_draft, pm_body_draft_updated_at, pm_published_at, pm_notify_subscribers, pm_notify_twitter, pm_custom_tweet, pm_ignored, pm_notified_subscribers, pm_notified_twitter, pm_created_at, pm_updated_at"
    };
    (incident_updates) => {
        "id, incident_id, status, body, created_at, updated_at, display_at, deliver_notifications, custom_tweet, tweet_id, wants_twitter_update, twitter_updated_at, affected_components, seq"
    };
    (incident_templates) => {
        "id, page_id, name, title, body, group_id, update_status, should_tweet, should_send_notifications, component_ids, created_at, updated_at"
    };
    (component_automation) => {
        "component_id, page_id, desired, changed_at, changed_by, changed_reason, pending_status, pending_source, pending_reason, pending_due_at, held_status, held_source, held_reason, held_at, updated_at, incident_id, pending_incident"
    };
    (jobs) => {
        "id, queue, kind, page_id, payload, state, attempt, max_attempts, timeout_ms, fair_seq, run_at, unique_key, lease_owner, lease_expires_at, attempted_at, finished_at, last_error, created_at"
    };
    (reconciler_runs) => {
        "name, node, last_run_at, last_success_at, last_error"
    };
    (notification_events) => {
        "id, page_id, kind, incident_id, update_id, component_id, data, payload, created_at"
    };
    (deliveries) => {
        "id, event_id, subscriber_id, page_id, channel, state, attempts, last_status, last_error, created_at, updated_at, delivered_at"
    };
    (metrics) => {
        "id, page_id, provider_id, name, metric_identifier, transform, suffix, y_axis_min, y_axis_max, y_axis_hidden, display, decimal_places, tooltip_description, position, backfill_from, watermark, fetched_to, most_recent_data_at, last_fetched_at, last_error, last_error_at, data_rev, created_at, updated_at"
    };
    (users) => {
        "id, email, password_hash, role, created_at, updated_at, disabled_at"
    };
    (audit_log) => {
        "id, at, page_id, actor_type, actor_id, action, target_type, target_id, changes, source_ip"
    };
    (api_keys) => {
        "id, name, prefix, last4, hash, read_only, all_pages, user_id, created_at, revoked_at"
    };
    (subscribers) => {
        "id, page_id, channel, email, phone_number, phone_country, endpoint, incident_id, state, failures, created_at, confirmed_at, quarantined_at, unsubscribed_at, purge_at"
    };
    (metrics_providers) => {
        "id, page_id, type, disabled, metric_base_uri, credentials, settings, last_revalidated_at, created_at, updated_at"
    };
}
pub(crate) use cols;

/// Every table listed in [`cols!`] with its columns, for the drift check.
pub(crate) const TABLES: &[(&str, &str)] = &[
    ("pages", cols!(pages)),
    ("components", cols!(components)),
    ("incidents", cols!(incidents)),
    ("incident_updates", cols!(incident_updates)),
    ("incident_templates", cols!(incident_templates)),
    ("component_automation", cols!(component_automation)),
    ("jobs", cols!(jobs)),
    ("reconciler_runs", cols!(reconciler_runs)),
    ("notification_events", cols!(notification_events)),
    ("deliveries", cols!(deliveries)),
    ("metrics", cols!(metrics)),
    ("users", cols!(users)),
    ("audit_log", cols!(audit_log)),
    ("api_keys", cols!(api_keys)),
    ("subscribers", cols!(subscribers)),
    ("metrics_providers", cols!(metrics_providers)),
];

/// Columns that no whole-row read takes, read only by the statements that need them: a
/// webhook's signing secrets by the delivery that signs with them, never with every listing.
pub(crate) const READ_APART: &[(&str, &str)] = &[(
    "subscribers",
    "secret, previous_secret, previous_secret_until, paused_until, target, added_by_team",
)];

/// How the column lists above differ from the database's tables.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ColumnDrift {
    /// `table.column` this release reads that the database lacks: its migrations have not
    /// all run.
    pub missing: Vec<String>,
    /// `table.column` the database has that neither a list nor [`READ_APART`] names: a newer
    /// release added it (as its expand migrations may), or a migration of this release did
    /// and `cols!` was not told.
    pub unlisted: Vec<String>,
}

impl Store {
    /// Compares every `cols!` list with its table in the database.
    pub async fn column_drift(&self) -> Result<ColumnDrift> {
        let mut drift = ColumnDrift::default();
        for (table, listed) in TABLES {
            let sql = match self.db.backend() {
                Backend::Sqlite => "SELECT name AS v FROM pragma_table_info($1)",
                Backend::Postgres => {
                    "SELECT CAST(column_name AS TEXT) AS v FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1"
                }
            };
            let rows: Vec<One<String>> = self.db.read(sql, args![*table]).await?;
            let have: BTreeSet<&str> = rows.iter().map(|r| r.v.as_str()).collect();
            let want: BTreeSet<&str> = listed.split(", ").collect();
            let apart: BTreeSet<&str> = READ_APART
                .iter()
                .filter(|(t, _)| t == table)
                .flat_map(|(_, cols)| cols.split(", "))
                .collect();
            let name = |c: &&str| format!("{table}.{c}");
            drift.missing.extend(want.difference(&have).map(name));
            drift.unlisted.extend(
                have.difference(&want)
                    .filter(|c| !apart.contains(*c))
                    .map(name),
            );
        }
        Ok(drift)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// A statement that reads `*` would break a running node when a newer release adds a
    /// column (module doc); this one reads the store's own sources.
    #[test]
    fn no_statement_reads_star() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 20, "the store's sources were not found");
        let mut found = Vec::new();
        for (path, text) in &files {
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                let star = [concat!("SELECT", " *"), concat!("RETURNING", " *")]
                    .iter()
                    .any(|needle| code.contains(needle))
                    || code
                        .as_bytes()
                        .windows(3)
                        .any(|w| w[0].is_ascii_alphanumeric() && w[1] == b'.' && w[2] == b'*');
                if star {
                    found.push(format!("{path}:{}: {code}", n + 1));
                }
            }
        }
        assert!(
            found.is_empty(),
            "statements reading *:\n{}",
            found.join("\n")
        );
    }
}
