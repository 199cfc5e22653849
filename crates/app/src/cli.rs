//! The command line.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

use crate::config::Role;

/// Herald: a status page service, Statuspage-compatible.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about)]
pub struct Cli {
    /// Configuration file (TOML); missing is fine.
    #[arg(
        long,
        global = true,
        env = "HERALD_CONFIG",
        default_value = "herald.toml"
    )]
    pub config: PathBuf,
    /// Database: sqlite://path or postgres://... (overrides HERALD_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments. `--version` prints the version, the git commit and
    /// the schema version this build knows.
    pub fn parse_args() -> Cli {
        let version: &'static str = Box::leak(crate::release::version_line().into_boxed_str());
        let matches = Cli::command().version(version).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve herald (web, workers and reconcilers, or one role).
    Serve {
        /// Address to listen on (overrides HERALD_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// What this process runs.
        #[arg(long, value_enum)]
        role: Option<Role>,
        /// Do not apply migrations at start.
        #[arg(long)]
        no_migrate: bool,
        /// Once listening, write the address bound (e.g. 127.0.0.1:43211) to this file. With
        /// `--listen 127.0.0.1:0` the system picks a free port and this says which.
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Apply the pending expand migrations and exit (see --plan and --contract).
    Migrate {
        /// List the pending migrations, each with its kind and the oldest release that still
        /// runs after it; change nothing.
        #[arg(long)]
        plan: bool,
        /// Also apply contract steps, once no worker of an older release is alive.
        #[arg(long, conflicts_with = "plan")]
        contract: bool,
    },
    /// Copy the database, consistently, while herald serves (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump). A failed backup leaves any previous FILE as it was.
    Backup {
        /// The backup file to write (written beside, checked, then renamed into place).
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup into the database named by --database-url (herald stopped on it).
    Restore {
        /// The backup file (from `herald backup`).
        #[arg(long)]
        from: PathBuf,
        /// Replace a target that already holds tables.
        #[arg(long)]
        force: bool,
    },
    /// Manage pages.
    Pages {
        #[command(subcommand)]
        command: PagesCommand,
    },
    /// Manage management-API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage admin users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Inspect and replay jobs of the durable queue.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Post-deploy canary: exits 0 only if the deployment at --url works end to end.
    Verify {
        /// The deployment's base URL, e.g. https://status.example.com.
        #[arg(long)]
        url: String,
        /// How long to wait for every link (e.g. 60s, 2m).
        #[arg(long, default_value = "60s")]
        timeout: String,
    },
    /// Copy a page (settings, components, incidents, templates, subscribers) from another
    /// status service into this herald's database.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Start a demo on a fresh SQLite file, seeded with a realistic page.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The SQLite file to (re)create.
        #[arg(long, default_value = "herald-demo.db")]
        file: PathBuf,
        /// Once listening, write the address bound to this file (as for `serve`).
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
}

/// `herald import ...`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// From a Statuspage-compatible v1 API: Statuspage itself, or another herald. Ids are
    /// kept; a re-run writes only what is missing or changed (so it resumes a killed run);
    /// nothing is sent to subscribers.
    Statuspage {
        /// The page's id at the source.
        #[arg(long)]
        page_id: String,
        /// The source's API key (better in HERALD_IMPORT_API_KEY, out of the process list).
        #[arg(long, env = "HERALD_IMPORT_API_KEY", hide_env_values = true)]
        api_key: crate::import::ApiKey,
        /// The source's API address.
        #[arg(long, default_value = "https://api.statuspage.io")]
        base_url: String,
        /// Import into the page with this slug (created with the source's id if missing).
        #[arg(long)]
        into: Option<String>,
        /// Import subscribers too (without any confirmation or notification).
        #[arg(long)]
        subscribers: bool,
        /// Read everything and report what would be written, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Requests per second to the source; 0 for no limit (e.g. from another herald).
        #[arg(long, default_value_t = 1.0)]
        rate: f64,
        /// Attempts per request when the source fails (network errors, 5xx).
        #[arg(long, default_value_t = 5)]
        retries: u32,
    },
}

/// `herald pages ...`
#[derive(Debug, Subcommand)]
pub enum PagesCommand {
    /// Create a page; prints its id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// IANA time zone, e.g. Europe/Paris.
        #[arg(long, default_value = "Etc/UTC")]
        time_zone: String,
    },
    /// List pages: id, slug, name.
    List,
}

/// `herald keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints it once. Without --page it may use every page.
    Create {
        /// A page id or slug the key may use (repeatable).
        #[arg(long = "page")]
        pages: Vec<String>,
        /// The key may read but not write.
        #[arg(long)]
        read_only: bool,
        /// A label to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List keys (prefix and last four characters only).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

/// `herald users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an admin user; reads the password from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// owner, incident_manager or viewer.
        #[arg(long, default_value = "owner")]
        role: String,
    },
}

/// `herald jobs ...`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs in a state (default: discarded, the dead letters).
    List {
        #[arg(long, default_value = "discarded")]
        state: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a discarded job back in its queue (same id and idempotency key).
    Replay { id: i64 },
    /// Cancel a job that has not run yet.
    Cancel { id: i64 },
}
