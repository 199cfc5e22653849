//! Herald's configuration: one typed struct, loaded once, from (lowest to highest)
//! built-in defaults, `herald.toml`, `HERALD_*` environment variables, then command-line
//! flags. Secrets never appear in `Debug` output or logs.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// Whether this build obeys `HERALD_FAULT`. Only the integration tests' build does: the
/// `herald` package enables its own `fault-injection` feature as a dev-dependency, which cargo
/// applies to every target it builds for `cargo test` (including the `herald` binary the
/// tests start) and to none that `cargo build`, `cargo run` or `cargo install` make.
pub const FAULTS_OBEYED: bool = cfg!(feature = "fault-injection");

/// Which parts of herald a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Web, workers and reconcilers in one process (the default; right for SQLite).
    All,
    /// Only the HTTP surface.
    Web,
    /// Only workers and reconcilers (serves health endpoints).
    Worker,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for production.
    Json,
}

/// Every setting.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address to listen on (`HERALD_LISTEN`).
    pub listen: String,
    /// `sqlite://path` or `postgres://...` (`HERALD_DATABASE_URL`).
    pub database_url: String,
    /// How herald is reached from outside, for links (`HERALD_PUBLIC_URL`); defaults to
    /// `http://<listen>`.
    pub public_url: Option<String>,
    /// What this process runs (`HERALD_ROLE`).
    pub role: Role,
    /// Apply migrations at start (`HERALD_MIGRATE`).
    pub migrate: bool,
    /// Log format (`HERALD_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Management API requests per key per minute (`HERALD_API_REQUESTS_PER_MINUTE`).
    pub api_requests_per_minute: u32,
    /// Largest database pool (`HERALD_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// PostgreSQL: how long a request waits for a working connection before answering 503
    /// with `Retry-After` (`HERALD_DB_ACQUIRE_TIMEOUT_MS`): a database that hangs, refuses
    /// or resets is reported this fast instead of holding requests.
    pub db_acquire_timeout_ms: u64,
    /// Concurrent jobs per queue on a worker (`HERALD_WORKER_CONCURRENCY`).
    pub worker_concurrency: usize,
    /// Job outcomes committed per transaction; 1 commits each job alone
    /// (`HERALD_WORKER_ACK_BATCH`).
    pub worker_ack_batch: usize,
    /// How often idle workers look for jobs without being woken (`HERALD_WORKER_POLL_MS`).
    pub worker_poll_ms: u64,
    /// Worker heartbeat period (`HERALD_WORKER_HEARTBEAT_MS`).
    pub worker_heartbeat_ms: u64,
    /// A worker silent this long is presumed dead and its jobs run again elsewhere
    /// (`HERALD_WORKER_STALE_MS`).
    pub worker_stale_ms: u64,
    /// SMTP server for e-mail notifications (`HERALD_SMTP_URL`), e.g. `smtp://127.0.0.1:2525`
    /// or `smtps://user:pass@smtp.example.com`. Unset: e-mail deliveries wait until it is set.
    pub smtp_url: Option<String>,
    /// Default sender (`HERALD_SMTP_FROM`); a page's `notifications_from_email` wins.
    pub smtp_from: String,
    /// Twilio-compatible SMS API base URL (`HERALD_SMS_URL`), e.g. `https://api.twilio.com`.
    pub sms_url: Option<String>,
    /// SMS account (`HERALD_SMS_ACCOUNT_SID`).
    pub sms_account_sid: Option<String>,
    /// SMS credential (`HERALD_SMS_AUTH_TOKEN`); never logged.
    pub sms_auth_token: Option<String>,
    /// SMS sender number (`HERALD_SMS_FROM`). The environment provider reads
    /// `+15550001111` as a number, so a number is taken as the E.164 digits.
    #[serde(deserialize_with = "phone_number")]
    pub sms_from: Option<String>,
    /// Ranges the guarded HTTP client may reach although they are not public
    /// (`HERALD_EGRESS_ALLOW`, comma-separated CIDRs; empty by default).
    pub egress_allow: String,
    /// An explicit egress proxy for webhooks (`HERALD_EGRESS_PROXY`); proxy environment
    /// variables are never used.
    pub egress_proxy: Option<String>,
    /// A PEM file of extra root certificates TLS expiry checks trust beside the system's
    /// (`HERALD_CHECK_CA_FILE`; an internal CA). Unset by default.
    pub check_ca_file: Option<String>,
    /// How long one webhook or chat delivery may take, connecting, sending and reading the
    /// answer, before it counts as failed (`HERALD_DELIVERY_TIMEOUT_MS`; at most 30 s, the
    /// limit Statuspage gives receivers).
    pub delivery_timeout_ms: u64,
    /// Most webhook/chat deliveries in flight to one destination (scheme, host, port) per
    /// worker process (`HERALD_DELIVERY_PER_DESTINATION`): a hung destination holds at most
    /// this many worker slots.
    pub delivery_per_destination: usize,
    /// This worker process's name in the `workers` table and in logs (`HERALD_WORKER_ID`);
    /// random when unset.
    pub worker_id: Option<String>,
    /// Test-only fault injection (`HERALD_FAULT`): `worker_never_claims` starts the workers
    /// but never claims a job, as in Statuspage's 2017 incident. Obeyed only by builds with
    /// the `fault-injection` feature (the integration tests' build); see [`FAULTS_OBEYED`].
    pub fault: Option<String>,
    /// The page served at `/`, by id or slug (`HERALD_DEFAULT_PAGE`); unset: the only page
    /// that is not hidden.
    pub default_page: Option<String>,
    /// Behind a reverse proxy or CDN: the header carrying the client's address
    /// (`HERALD_CLIENT_IP_HEADER`, e.g. `X-Forwarded-For`; its last entry is used). Unset:
    /// the connection's address.
    pub client_ip_header: Option<String>,
    /// Share of major-outage time counted as down time (`HERALD_UPTIME_WEIGHT_MAJOR`).
    pub uptime_weight_major: f64,
    /// Share of partial-outage time counted as down time (`HERALD_UPTIME_WEIGHT_PARTIAL`).
    pub uptime_weight_partial: f64,
    /// Share of degraded-performance time counted as down time
    /// (`HERALD_UPTIME_WEIGHT_DEGRADED`).
    pub uptime_weight_degraded: f64,
    /// Seconds between re-renders of every public page (`HERALD_SNAPSHOT_REFRESH_SECS`).
    pub snapshot_refresh_secs: u64,
    /// Milliseconds between page-version polls (`HERALD_SNAPSHOT_POLL_MS`).
    pub snapshot_poll_ms: u64,
    /// Shortest time in milliseconds between two renders of one page that other nodes'
    /// changes ask for (`HERALD_SNAPSHOT_REMOTE_GAP_MS`).
    pub snapshot_remote_gap_ms: u64,
    /// Listen for other nodes' changes with PostgreSQL LISTEN (`HERALD_SNAPSHOT_LISTEN`).
    pub snapshot_listen: bool,
    /// Megabytes of memory for rarely read public outputs (old incident pages, history and
    /// uptime months), rendered on first request (`HERALD_SNAPSHOT_CACHE_MB`).
    pub snapshot_cache_mb: u64,
    /// Seconds between polls of the metrics providers (`HERALD_METRICS_POLL_SECS`); each
    /// poll fills every metric from its watermark to now.
    pub metrics_poll_secs: u64,
    /// Longest one request to a metrics provider may take (`HERALD_METRICS_TIMEOUT_MS`).
    pub metrics_timeout_ms: u64,
    /// Milliseconds between SIGTERM and closing the listener (`HERALD_SHUTDOWN_DRAIN_MS`):
    /// meanwhile `/readyz` answers 503 and requests are still served, so a balancer
    /// health-checking `/readyz` stops sending first. Then in-flight requests and jobs finish.
    pub shutdown_drain_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            database_url: "sqlite://./herald.db".to_owned(),
            public_url: None,
            role: Role::All,
            migrate: true,
            log_format: LogFormat::Pretty,
            api_requests_per_minute: 60,
            db_max_connections: 10,
            db_acquire_timeout_ms: 750,
            worker_concurrency: 16,
            worker_ack_batch: 500,
            worker_poll_ms: 1000,
            worker_heartbeat_ms: 2000,
            worker_stale_ms: 10_000,
            worker_id: None,
            smtp_url: None,
            smtp_from: "Herald <noreply@localhost.localdomain>".to_owned(),
            sms_url: None,
            sms_account_sid: None,
            sms_auth_token: None,
            sms_from: None,
            egress_allow: String::new(),
            egress_proxy: None,
            check_ca_file: None,
            delivery_timeout_ms: 30_000,
            delivery_per_destination: 4,
            fault: None,
            default_page: None,
            client_ip_header: None,
            uptime_weight_major: 1.0,
            uptime_weight_partial: 0.3,
            uptime_weight_degraded: 0.0,
            snapshot_refresh_secs: 60,
            snapshot_poll_ms: 1000,
            snapshot_remote_gap_ms: 20,
            snapshot_listen: true,
            snapshot_cache_mb: 64,
            metrics_poll_secs: 60,
            metrics_timeout_ms: 10_000,
            shutdown_drain_ms: 0,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("role", &self.role)
            .field("migrate", &self.migrate)
            .field("log_format", &self.log_format)
            .field("api_requests_per_minute", &self.api_requests_per_minute)
            .field("db_max_connections", &self.db_max_connections)
            .field("worker_concurrency", &self.worker_concurrency)
            .field("worker_ack_batch", &self.worker_ack_batch)
            .field("worker_poll_ms", &self.worker_poll_ms)
            .field("worker_heartbeat_ms", &self.worker_heartbeat_ms)
            .field("worker_stale_ms", &self.worker_stale_ms)
            .field("worker_id", &self.worker_id)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("sms_url", &self.sms_url)
            .field("sms_account_sid", &self.sms_account_sid)
            .field(
                "sms_auth_token",
                &self.sms_auth_token.as_ref().map(|_| "***"),
            )
            .field("sms_from", &self.sms_from)
            .field("egress_allow", &self.egress_allow)
            .field(
                "egress_proxy",
                &self.egress_proxy.as_deref().map(redact_url),
            )
            .field("check_ca_file", &self.check_ca_file)
            .field("delivery_timeout_ms", &self.delivery_timeout_ms)
            .field("delivery_per_destination", &self.delivery_per_destination)
            .field("fault", &self.fault)
            .field("default_page", &self.default_page)
            .field("client_ip_header", &self.client_ip_header)
            .field("uptime_weight_major", &self.uptime_weight_major)
            .field("uptime_weight_partial", &self.uptime_weight_partial)
            .field("uptime_weight_degraded", &self.uptime_weight_degraded)
            .field("snapshot_refresh_secs", &self.snapshot_refresh_secs)
            .field("snapshot_poll_ms", &self.snapshot_poll_ms)
            .field("snapshot_remote_gap_ms", &self.snapshot_remote_gap_ms)
            .field("snapshot_listen", &self.snapshot_listen)
            .field("snapshot_cache_mb", &self.snapshot_cache_mb)
            .field("metrics_poll_secs", &self.metrics_poll_secs)
            .field("metrics_timeout_ms", &self.metrics_timeout_ms)
            .field("shutdown_drain_ms", &self.shutdown_drain_ms)
            .finish()
    }
}

/// A phone number given as text, or as the number an environment variable's `+1555...`
/// parses to (read back as `+` and its digits).
fn phone_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Phone {
        Text(String),
        Digits(u64),
    }
    Ok(Option::<Phone>::deserialize(d)?.map(|p| match p {
        Phone::Text(t) => t,
        Phone::Digits(n) => format!("+{n}"),
    }))
}

/// A URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// Settings given on the command line; only those set override the rest.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate: Option<bool>,
}

impl Config {
    /// Loads defaults < `file` (if it exists) < `HERALD_*` < `overrides`.
    pub fn load(file: &Path, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if file.exists() {
            fig = fig.merge(Toml::file(file));
        }
        let config: Config = fig
            .merge(Env::prefixed("HERALD_").ignore(&["config"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            anyhow::bail!(
                "configuration: listen must be an address such as 127.0.0.1:8080; got {:?}",
                self.listen
            );
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            anyhow::bail!("configuration: database_url must start with sqlite:// or postgres://");
        }
        if let Some(f) = self
            .fault
            .as_deref()
            .filter(|f| *f != "worker_never_claims")
        {
            anyhow::bail!(
                "configuration: unknown fault {f:?} (the only one is worker_never_claims, for tests)"
            );
        }
        if self.worker_concurrency == 0 || self.worker_stale_ms < 2 * self.worker_heartbeat_ms {
            anyhow::bail!(
                "configuration: worker_concurrency must be at least 1 and worker_stale_ms at least twice worker_heartbeat_ms"
            );
        }
        if !(1..=30_000).contains(&self.delivery_timeout_ms) || self.delivery_per_destination == 0 {
            anyhow::bail!(
                "configuration: delivery_timeout_ms must be 1..=30000 and delivery_per_destination at least 1"
            );
        }
        herald_notify::egress::EgressPolicy::parse(&self.egress_allow)
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        if let Some(path) = &self.check_ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("configuration: check_ca_file {path}: {e}"))?;
            herald_notify::tls_expiry::TlsRoots::empty()
                .add_pem(&pem)
                .map_err(|e| anyhow::anyhow!("configuration: check_ca_file {path}: {e}"))?;
        }
        if self.api_requests_per_minute == 0 {
            anyhow::bail!("configuration: api_requests_per_minute must be at least 1");
        }
        self.uptime_weights()?;
        if self.snapshot_remote_gap_ms > 10_000 {
            anyhow::bail!(
                "configuration: snapshot_remote_gap_ms must be at most 10000 (other nodes would show changes later than their version poll does)"
            );
        }
        if self.snapshot_refresh_secs == 0 || self.snapshot_poll_ms == 0 {
            anyhow::bail!(
                "configuration: snapshot_refresh_secs and snapshot_poll_ms must be at least 1"
            );
        }
        if self.metrics_poll_secs == 0 || !(1..=60_000).contains(&self.metrics_timeout_ms) {
            anyhow::bail!(
                "configuration: metrics_poll_secs must be at least 1 and metrics_timeout_ms 1..=60000"
            );
        }
        if self.snapshot_cache_mb == 0 || self.snapshot_cache_mb > 1 << 20 {
            anyhow::bail!("configuration: snapshot_cache_mb must be from 1 to 1048576");
        }
        Ok(())
    }

    /// The uptime weights, validated.
    pub fn uptime_weights(&self) -> anyhow::Result<herald_domain::uptime::UptimeWeights> {
        herald_domain::uptime::UptimeWeights::new(
            self.uptime_weight_major,
            self.uptime_weight_partial,
            self.uptime_weight_degraded,
        )
        .map_err(|e| anyhow::anyhow!("configuration: {}", e.message))
    }

    /// The public base URL, without a trailing slash.
    /// The fault to inject, if this build obeys faults; a build without the
    /// `fault-injection` feature (every build but the tests') logs that it ignores it.
    pub fn obeyed_fault(&self) -> Option<&str> {
        self.fault_if(FAULTS_OBEYED)
    }

    fn fault_if(&self, obeyed: bool) -> Option<&str> {
        let fault = self.fault.as_deref()?;
        if obeyed {
            Some(fault)
        } else {
            tracing::warn!(
                fault,
                "HERALD_FAULT is ignored: only test builds (feature fault-injection) obey it"
            );
            None
        }
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_build_that_obeys_faults_injects_them() {
        let c = Config {
            fault: Some("worker_never_claims".into()),
            ..Config::default()
        };
        assert_eq!(c.fault_if(false), None);
        assert_eq!(c.fault_if(true), Some("worker_never_claims"));
        assert_eq!(Config::default().fault_if(true), None);
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let c = Config {
            smtp_url: Some("smtps://mailer:s3cretpw@smtp.example.com".into()),
            sms_auth_token: Some("tok3n-value".into()),
            ..Config::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("s3cretpw") && !d.contains("tok3n-value"), "{d}");
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(redact_url("sqlite://./herald.db"), "sqlite://./herald.db");
        let c = Config {
            database_url: "postgres://u:hunter2hunter2@db/x".into(),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail closure returns figment::Error"
    )]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "herald.toml",
                "listen = \"127.0.0.1:9000\"\napi_requests_per_minute = 5\n",
            )?;
            jail.set_env("HERALD_API_REQUESTS_PER_MINUTE", "7");
            let c = Config::load(Path::new("herald.toml"), &Overrides::default()).unwrap();
            assert_eq!(c.listen, "127.0.0.1:9000", "file beats defaults");
            assert_eq!(c.api_requests_per_minute, 7, "environment beats file");
            let o = Overrides {
                listen: Some("127.0.0.1:9001".into()),
                ..Overrides::default()
            };
            let c = Config::load(Path::new("herald.toml"), &o).unwrap();
            assert_eq!(c.listen, "127.0.0.1:9001", "flags beat everything");
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail closure returns figment::Error"
    )]
    fn an_sms_sender_number_in_the_environment_stays_a_number() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_SMS_FROM", "+15550001111");
            jail.set_env("HERALD_DELIVERY_PER_DESTINATION", "3");
            let c = Config::load(Path::new("none.toml"), &Overrides::default()).unwrap();
            assert_eq!(c.sms_from.as_deref(), Some("+15550001111"));
            assert_eq!(c.delivery_per_destination, 3);
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail closure returns figment::Error"
    )]
    fn a_check_ca_file_must_hold_certificates() {
        figment::Jail::expect_with(|jail| {
            let load = || Config::load(Path::new("none.toml"), &Overrides::default());
            jail.set_env("HERALD_CHECK_CA_FILE", "missing.pem");
            let e = load().unwrap_err();
            assert!(e.to_string().contains("check_ca_file missing.pem"), "{e}");
            jail.create_file("junk.pem", "not a certificate")?;
            jail.set_env("HERALD_CHECK_CA_FILE", "junk.pem");
            let e = load().unwrap_err();
            assert!(e.to_string().contains("no PEM certificate"), "{e}");
            let key = rcgen::KeyPair::generate().unwrap();
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            jail.create_file("ca.pem", &ca.self_signed(&key).unwrap().pem())?;
            jail.set_env("HERALD_CHECK_CA_FILE", "ca.pem");
            let c = load().unwrap();
            assert_eq!(c.check_ca_file.as_deref(), Some("ca.pem"));
            let roots = crate::jobs::check_roots(&c).unwrap();
            assert!(!roots.is_empty());
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail closure returns figment::Error"
    )]
    fn bad_settings_are_refused_with_a_reason() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_LISTEN", "not an address");
            let e = Config::load(Path::new("none.toml"), &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("listen"), "{e}");
            jail.set_env("HERALD_LISTEN", "127.0.0.1:0");
            jail.set_env("HERALD_SNAPSHOT_REMOTE_GAP_MS", "60000");
            let e = Config::load(Path::new("none.toml"), &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("snapshot_remote_gap_ms"), "{e}");
            jail.set_env("HERALD_SNAPSHOT_REMOTE_GAP_MS", "0");
            let c = Config::load(Path::new("none.toml"), &Overrides::default()).unwrap();
            assert_eq!(
                c.snapshot_remote_gap_ms, 0,
                "no gap: render every change at once"
            );
            Ok(())
        });
    }
}
