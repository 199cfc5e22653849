//! What each command does.

use anyhow::Context;
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_domain::page::NewPage;
use herald_domain::user::Role as UserRole;
use herald_store::Store;
use std::io::{BufRead, Write};
use std::sync::Arc;

use crate::cli::{
    Cli, Command, ImportCommand, JobsCommand, KeysCommand, PagesCommand, UsersCommand,
};
use crate::config::{Config, Overrides};
use crate::{demo, migrate, release, server, shutdown, telemetry, verify};

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut overrides = Overrides {
        database_url: cli.database_url.clone(),
        ..Overrides::default()
    };
    if let Command::Serve {
        listen,
        role,
        no_migrate,
        ..
    } = &cli.command
    {
        overrides.listen.clone_from(listen);
        overrides.role = *role;
        overrides.migrate = no_migrate.then_some(false);
    }
    if let Command::Demo { listen, file, .. } = &cli.command {
        overrides.listen = Some(listen.clone());
        overrides.database_url = Some(format!("sqlite://{}", file.display()));
    }
    let config = Config::load(&cli.config, &overrides)?;
    telemetry::init(config.log_format);
    herald_store::set_release(release::release_name());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Serve { ready_file, .. } => {
            let store = server::open_store(&config).await?;
            let mut config = config;
            let listener = server::bind(&mut config, ready_file.as_deref()).await?;
            server::run(&config, store, listener, clock, shutdown::on_signal()).await
        }
        Command::Migrate { plan, contract } => {
            let mode = match (plan, contract) {
                (true, _) => migrate::Mode::Plan,
                (false, true) => migrate::Mode::Contract,
                (false, false) => migrate::Mode::Expand,
            };
            migrate::run(&config, mode, clock.as_ref(), out).await
        }
        Command::Backup { to } => {
            let r = herald_store::backup::backup(&config.database_url, &to).await?;
            writeln!(out, "{}", copy_report("backup", &to, &r))?;
            Ok(())
        }
        Command::Restore { from, force } => {
            let r = herald_store::backup::restore(&from, &config.database_url, force).await?;
            writeln!(out, "{}", copy_report("restore", &from, &r))?;
            Ok(())
        }
        Command::Pages { command } => {
            let store = existing_store(&config).await?;
            match command {
                PagesCommand::Create {
                    name,
                    slug,
                    time_zone,
                } => {
                    let new = NewPage::parse(&name, &slug, Some(&time_zone))?;
                    let page = store.create_page(&new, &Actor::cli(), now).await?;
                    writeln!(out, "{}", page.id)?;
                }
                PagesCommand::List => {
                    for p in store.list_pages(true).await? {
                        writeln!(out, "{}\t{}\t{}", p.id, p.slug, p.name)?;
                    }
                }
            }
            Ok(())
        }
        Command::Keys { command } => {
            let store = existing_store(&config).await?;
            match command {
                KeysCommand::Create {
                    pages,
                    read_only,
                    name,
                } => {
                    let ids = resolve_pages(&store, &pages).await?;
                    let key = apikey::generate();
                    store
                        .create_key(
                            &name,
                            &key,
                            read_only,
                            (!ids.is_empty()).then_some(ids.as_slice()),
                            &Actor::cli(),
                            now,
                        )
                        .await?;
                    writeln!(out, "{}", key.secret)?;
                }
                KeysCommand::List => {
                    for k in store.list_keys().await? {
                        let scope = k.page_ids.map_or("all pages".to_owned(), |p| {
                            p.iter().map(PageId::as_str).collect::<Vec<_>>().join(",")
                        });
                        let state = if k.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        let mode = if k.read_only {
                            "read-only"
                        } else {
                            "read-write"
                        };
                        writeln!(
                            out,
                            "{}\t{}…{}\t{}\t{mode}\t{state}\t{scope}",
                            k.id, k.prefix, k.last4, k.name
                        )?;
                    }
                }
                KeysCommand::Revoke { id } => {
                    store.revoke_key(&id, &Actor::cli(), now).await?;
                }
            }
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Create { email, role },
        } => {
            let store = existing_store(&config).await?;
            let email = herald_domain::page::parse_email("email", &email)?;
            let role = UserRole::parse("role", &role)?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let hash = herald_domain::password::hash(password.trim_end_matches(['\r', '\n']))?;
            let user = store
                .create_user(&email, &hash, role, &Actor::cli(), now)
                .await?;
            writeln!(out, "{}", user.id)?;
            Ok(())
        }
        Command::Jobs { command } => {
            let store = existing_store(&config).await?;
            match command {
                JobsCommand::List { state, limit } => {
                    let state = herald_store::JobState::ALL
                        .into_iter()
                        .find(|s| s.as_str() == state)
                        .with_context(|| format!("unknown state {state:?}"))?;
                    for j in store.list_jobs(state, limit).await? {
                        let error = j.last_error.unwrap_or_default();
                        writeln!(
                            out,
                            "{}\t{}\t{}\t{}\tattempt {}/{}\t{}",
                            j.id,
                            j.queue,
                            j.kind,
                            j.state.as_str(),
                            j.attempt,
                            j.max_attempts,
                            error
                        )?;
                    }
                }
                JobsCommand::Replay { id } => {
                    store.replay_job(id, &Actor::cli(), now).await?;
                    writeln!(out, "{id}")?;
                }
                JobsCommand::Cancel { id } => {
                    store.cancel_job(id, &Actor::cli(), now).await?;
                    writeln!(out, "{id}")?;
                }
            }
            Ok(())
        }
        Command::Verify { url, timeout } => {
            let store = existing_store(&Config {
                migrate: false,
                ..config.clone()
            })
            .await?;
            let timeout = verify::parse_duration(&timeout)?;
            let passed = verify::verify(&store, clock.as_ref(), &url, timeout)
                .await
                .map_err(verify::into_error)?;
            writeln!(out, "ok: {}", passed.join(", "))?;
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Statuspage {
                    page_id,
                    api_key,
                    base_url,
                    into,
                    subscribers,
                    dry_run,
                    rate,
                    retries,
                },
        } => {
            if !(rate.is_finite() && rate >= 0.0) {
                anyhow::bail!("--rate must be 0 (no limit) or a positive number; got {rate}");
            }
            let store = existing_store(&config).await?;
            let opts = crate::import::Options {
                base_url,
                page_id,
                api_key,
                into,
                subscribers,
                dry_run,
                rate,
                retries,
            };
            let summary = crate::import::run(&store, clock.as_ref(), opts).await?;
            for line in summary.lines() {
                writeln!(out, "{line}")?;
            }
            Ok(())
        }
        Command::Demo {
            file, ready_file, ..
        } => demo::run(config, &file, ready_file.as_deref(), clock).await,
    }
}

/// Opens the database an administration command works on, which must exist already: a
/// mistyped or missing `database_url` must not quietly create an empty `./herald.db` and
/// record pages, keys or users in it that no server reads. Says which database it looked
/// for and how to name another.
async fn existing_store(config: &Config) -> anyhow::Result<Store> {
    let url = crate::config::redact_url(&config.database_url);
    let origin = if config.database_url == Config::default().database_url {
        " (the default: no database is configured)"
    } else {
        ""
    };
    let how = "Name herald's database with --database-url or HERALD_DATABASE_URL (or \
               database_url in herald.toml); `herald migrate` creates a new one";
    if let Some(path) = sqlite_file(&config.database_url)
        && !path.exists()
    {
        anyhow::bail!("no database at {}: {url}{origin}. {how}", path.display());
    }
    let store = server::open_store(config).await?;
    if store.schema_version().await? == 0 {
        anyhow::bail!("the database {url}{origin} has no herald schema. {how}");
    }
    Ok(store)
}

/// The file of a `sqlite:` URL (none for an in-memory database).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

async fn resolve_pages(store: &Store, pages: &[String]) -> anyhow::Result<Vec<PageId>> {
    let mut ids = Vec::new();
    for p in pages {
        let page = match store.get_page(&PageId::from(p)).await? {
            Some(page) => page,
            None => store
                .find_page_by_slug(p)
                .await?
                .with_context(|| format!("no page with id or slug {p:?}"))?,
        };
        ids.push(page.id);
    }
    Ok(ids)
}

/// `backup: herald.bak, 1048576 bytes in 0.8 s (1.3 MB/s), SQLite VACUUM INTO (...)`.
fn copy_report(what: &str, file: &std::path::Path, r: &herald_store::backup::CopyReport) -> String {
    let secs = r.took.as_secs_f64();
    format!(
        "{what}: {}, {} bytes in {secs:.2} s ({:.1} MB/s), {}",
        file.display(),
        r.bytes,
        r.bytes as f64 / 1e6 / secs.max(1e-6),
        r.method
    )
}
