//! The human table: medians and spreads of the JSON lines of every round, with the issue's
//! targets, as Markdown (pasted into bench/RESULTS.md).

use serde_json::Value;
use std::io::BufRead;

/// The `q` quantile of sorted values (nearest rank); NaN when empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median, min and max.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let median = if s.is_empty() {
        f64::NAN
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    (
        median,
        s.first().copied().unwrap_or(f64::NAN),
        s.last().copied().unwrap_or(f64::NAN),
    )
}

struct Group {
    case: String,
    backend: String,
    system: String,
    lines: Vec<Value>,
}

impl Group {
    fn values(&self, field: &str) -> Vec<f64> {
        self.lines
            .iter()
            .filter_map(|l| l[field].as_f64())
            .collect()
    }

    fn cell(&self, field: &str, digits: usize) -> String {
        let v = self.values(field);
        let (m, lo, hi) = stats(&v);
        if v.len() > 1 {
            format!(
                "**{m:.digits$}** ({lo:.digits$}–{hi:.digits$}, n={})",
                v.len()
            )
        } else {
            format!("**{m:.digits$}** (n={})", v.len())
        }
    }

    fn median(&self, field: &str) -> f64 {
        stats(&self.values(field)).0
    }
}

fn target(case: &str, backend: &str) -> Option<f64> {
    match (case, backend) {
        ("drain_per_job", _) => Some(3_000.0),
        ("drain_batched", "sqlite") => Some(20_000.0),
        ("drain_batched", "postgres") => Some(10_000.0),
        _ => None,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// Prints the table of the JSON lines read from `input` (other lines are ignored).
pub fn summarize(input: impl BufRead) -> anyhow::Result<()> {
    let mut groups: Vec<Group> = Vec::new();
    for line in input.lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        let key = |f: &str| v[f].as_str().unwrap_or("").to_owned();
        let (case, backend, system) = (key("case"), key("backend"), key("system"));
        if case.is_empty() {
            continue;
        }
        match groups
            .iter_mut()
            .find(|g| g.case == case && g.backend == backend && g.system == system)
        {
            Some(g) => g.lines.push(v),
            None => groups.push(Group {
                case,
                backend,
                system,
                lines: vec![v],
            }),
        }
    }
    let find = |case: &str, backend: &str, system: &str| {
        groups
            .iter()
            .find(|g| g.case == case && g.backend == backend && g.system == system)
    };

    println!("### Drain rate (jobs/s: median (min–max, rounds))\n");
    println!("| case | backend | system | jobs/s | target | vs peer |");
    println!("|---|---|---|---|---|---|");
    for g in groups
        .iter()
        .filter(|g| g.case.starts_with("drain_") && !g.case.contains("backlog"))
    {
        let m = g.median("jobs_per_s");
        let peer = if g.backend == "postgres" {
            "graphile-worker"
        } else {
            "rusqlite"
        };
        let target_cell = match target(&g.case, &g.backend) {
            Some(t) if g.system == "herald" => {
                format!("≥ {t:.0}: {}", verdict(m >= t))
            }
            _ => "—".to_owned(),
        };
        let vs = match find(&g.case, &g.backend, peer) {
            Some(p) if g.system == "herald" => {
                let pm = p.median("jobs_per_s");
                format!("{:.2}× {peer} ({pm:.0})", m / pm)
            }
            _ => "—".to_owned(),
        };
        println!(
            "| {} | {} | {} | {} | {target_cell} | {vs} |",
            g.case,
            g.backend,
            g.system,
            g.cell("jobs_per_s", 0)
        );
    }

    let backlog: Vec<&Group> = groups
        .iter()
        .filter(|g| g.case.contains("backlog"))
        .collect();
    if !backlog.is_empty() {
        println!("\n### Drain rate by backlog (batched; jobs/s)\n");
        println!("| backend | system | small backlog | large backlog | drop | target ≤ 20 % |");
        println!("|---|---|---|---|---|---|");
        for g in backlog.iter().filter(|g| g.case == "drain_backlog_small") {
            if let Some(l) = find("drain_backlog_large", &g.backend, &g.system) {
                let (s, lg) = (g.median("jobs_per_s"), l.median("jobs_per_s"));
                let drop = (1.0 - lg / s) * 100.0;
                let queued = g.median("queued");
                let lq = l.median("queued");
                println!(
                    "| {} | {} | {} ({queued:.0} queued) | {} (~{lq:.0} queued) | {drop:.1} % | {} |",
                    g.backend,
                    g.system,
                    g.cell("jobs_per_s", 0),
                    l.cell("jobs_per_s", 0),
                    verdict(drop <= 20.0)
                );
            }
        }
    }

    let lat: Vec<&Group> = groups.iter().filter(|g| g.case == "latency").collect();
    if !lat.is_empty() {
        println!("\n### Enqueue → handler start, idle (ms)\n");
        println!(
            "| backend | system | p50 | p99 | max | target p50 ≤ 5, p99 ≤ 25 | p50 / p99 from commit |"
        );
        println!("|---|---|---|---|---|---|---|");
        for g in lat {
            let (p50, p99) = (g.median("p50_ms"), g.median("p99_ms"));
            let t = if g.system == "herald" {
                format!("p50 {}, p99 {}", verdict(p50 <= 5.0), verdict(p99 <= 25.0))
            } else {
                "—".to_owned()
            };
            println!(
                "| {} | {} | {} | {} | {} | {t} | {:.2} / {:.2} |",
                g.backend,
                g.system,
                g.cell("p50_ms", 2),
                g.cell("p99_ms", 2),
                g.cell("max_ms", 1),
                g.median("after_commit_p50_ms"),
                g.median("after_commit_p99_ms"),
            );
        }
    }

    let idle: Vec<&Group> = groups
        .iter()
        .filter(|g| g.case.starts_with("idle_txn"))
        .collect();
    if !idle.is_empty() {
        println!(
            "\n### Throughput with an idle transaction open (PostgreSQL; jobs/s per enqueue+drain cycle)\n"
        );
        println!(
            "| phase | system | seconds | cycles | median | min | last tenth | per-minute medians | dead tuples at end |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        for g in idle {
            for l in &g.lines {
                println!(
                    "| {} | {} | {:.0} | {} | {:.0} | {:.0} | {:.0} | {} | {} |",
                    g.case,
                    g.system,
                    l["secs"].as_f64().unwrap_or(f64::NAN),
                    l["cycles"],
                    l["jobs_per_s"].as_f64().unwrap_or(f64::NAN),
                    l["min_jobs_per_s"].as_f64().unwrap_or(f64::NAN),
                    l["last_tenth_jobs_per_s"].as_f64().unwrap_or(f64::NAN),
                    l["per_minute_medians"],
                    l.get("dead_tuples_at_end")
                        .map_or("—".to_owned(), Value::to_string),
                );
            }
        }
    }
    Ok(())
}
