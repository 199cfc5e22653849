//! Herald's one integration-test binary: every test drives a real herald (HTTP on port 0)
//! or the real store, on SQLite and on PostgreSQL.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod helpers;

mod admin_auth;
mod admin_automation;
mod admin_browser;
mod admin_components;
mod admin_forms;
mod admin_metrics;
mod admin_routes;
mod admin_screens;
mod admin_security;
mod admin_subscribers;
mod admin_support;
mod api_auth;
mod api_bad_input;
mod api_components;
mod api_embed;
mod api_groups;
mod api_incidents;
mod api_page_settings;
mod api_pages;
mod api_postmortem;
mod api_uptime;
mod automation_alerts;
mod automation_am;
mod automation_api;
mod automation_checks;
mod automation_incidents;
mod automation_support;
mod automation_tls;
mod browser;
mod cli;
pub mod compat;
mod db_outage;
mod deploy_backup;
mod deploy_restart;
mod deploy_schema;
mod deploy_support;
mod fault_proxy;
mod import_data;
mod import_fixture;
mod import_herald;
mod import_statuspage;
mod metrics_api;
mod metrics_charts;
mod metrics_pull;
mod metrics_support;
mod notify_egress;
mod notify_email;
mod notify_failures;
mod notify_http;
mod notify_process;
mod notify_reliability;
mod notify_support;
mod openapi;
mod process;
mod public_api;
mod public_browser;
mod public_feeds;
mod public_html;
mod public_model;
mod public_nodes;
mod public_subscribe;
mod security_api;
mod security_hosts;
mod security_limits;
mod security_private;
mod store_admin;
mod store_conformance;
mod store_powerloss;
mod subscribers_import;
mod worker_ack_fetch;
mod worker_health;
mod worker_leader;
mod worker_model;
mod worker_process;
mod worker_queue;
mod worker_reconcilers;
