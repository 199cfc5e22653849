//! What each command does.

use anyhow::Context;
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::page::NewPage;
use herald_domain::user::Role as UserRole;
use herald_store::Store;
use std::io::{BufRead, Write};
use std::sync::Arc;
use tokio::net::TcpListener;

use crate::cli::{Cli, Command, JobsCommand, KeysCommand, PagesCommand, UsersCommand};
use crate::config::{Config, Overrides};
use crate::{demo, server, shutdown, telemetry, verify};

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
    } = &cli.command
    {
        overrides.listen.clone_from(listen);
        overrides.role = *role;
        overrides.migrate = no_migrate.then_some(false);
    }
    if let Command::Demo { listen, file } = &cli.command {
        overrides.listen = Some(listen.clone());
        overrides.database_url = Some(format!("sqlite://{}", file.display()));
    }
    let config = Config::load(&cli.config, &overrides)?;
    telemetry::init(config.log_format);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let out = &mut std::io::stdout().lock();
    match cli.command {
        Command::Serve { .. } => {
            let store = server::open_store(&config).await?;
            let listener = TcpListener::bind(&config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            server::run(&config, store, listener, clock, shutdown::on_signal()).await
        }
        Command::Migrate => {
            let store = server::open_store(&Config {
                migrate: false,
                ..config.clone()
            })
            .await?;
            store.migrate().await?;
            tracing::info!(
                version = store.schema_version().await?,
                "schema is up to date"
            );
            Ok(())
        }
        Command::Pages { command } => {
            let store = server::open_store(&config).await?;
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
            let store = server::open_store(&config).await?;
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
                        let scope = k.page_ids.map_or("all pages".to_owned(), |p| p.join(","));
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
            let store = server::open_store(&config).await?;
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
            let store = server::open_store(&config).await?;
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
            let store = server::open_store(&Config {
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
        Command::Demo { listen, file } => demo::run(&config, &listen, &file, clock).await,
    }
}

async fn resolve_pages(store: &Store, pages: &[String]) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for p in pages {
        let page = match store.get_page(p).await? {
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
