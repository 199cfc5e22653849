//! `herald migrate`: apply the expand steps, show the plan, or run the contract steps.

use herald_domain::clock::Clock;
use herald_store::{MigrationKind, Store};
use std::io::Write;
use std::time::Duration;

use crate::config::Config;
use crate::release;
use crate::server;

/// What `herald migrate` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply the pending expand migrations (what `serve` does at start).
    Expand,
    /// Print the plan, change nothing.
    Plan,
    /// Apply everything, contract steps included, once no older worker is alive.
    Contract,
}

/// Runs `herald migrate` in `mode` on the configured database.
pub async fn run(
    config: &Config,
    mode: Mode,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let store = server::open_store(&Config {
        migrate: false,
        ..config.clone()
    })
    .await?;
    match mode {
        Mode::Plan => plan(&store, out).await?,
        Mode::Expand => {
            store.migrate().await?;
            let s = store.schema_status().await?;
            writeln!(out, "{}", s.summary())?;
        }
        Mode::Contract => {
            let stale = Duration::from_millis(config.worker_stale_ms.max(1));
            let alive_since = clock.now() - chrono::TimeDelta::from_std(stale)?;
            store.migrate().await?;
            let applied = store.migrate_contract(alive_since).await?;
            if applied.is_empty() {
                writeln!(out, "no contract step is pending")?;
            }
            for v in applied {
                writeln!(out, "applied migration {v}")?;
            }
            writeln!(out, "{}", store.schema_status().await?.summary())?;
        }
    }
    store.close().await;
    Ok(())
}

/// Prints the pending migrations with their kind and the oldest release that still runs
/// after each; changes nothing.
async fn plan(store: &Store, out: &mut dyn Write) -> anyhow::Result<()> {
    let status = store.schema_status().await?;
    writeln!(out, "{}", status.summary())?;
    if status.pending.is_empty() {
        writeln!(out, "no pending migration")?;
        return Ok(());
    }
    let releases = release::releases(release::CHANGELOG);
    let oldest = release::oldest_running(&status, &releases);
    writeln!(out, "pending migrations (nothing is changed):")?;
    for (p, (_, runs)) in status.pending.iter().zip(oldest) {
        let runs = runs.map_or_else(
            || format!("no release yet (builds that know migration {})", p.version),
            |r| r.version.clone(),
        );
        let how = match p.kind {
            MigrationKind::Expand => "herald migrate",
            MigrationKind::Contract => "herald migrate --contract",
        };
        writeln!(
            out,
            "{:04} {}\t{}\toldest release that still runs after it: {runs}\t({how})",
            p.version,
            p.name,
            p.kind.as_str(),
        )?;
    }
    Ok(())
}
