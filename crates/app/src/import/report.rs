//! What an import tells its operator: a progress bar per resource on a terminal (plain
//! progress lines otherwise), and at the end a summary with counts per resource and every
//! record left out, with why.

use herald_store::{ImportCounts, Imported};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

/// Progress of one resource.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    what: &'static str,
    done: u64,
    last_line: u64,
}

impl Progress {
    /// Starts showing progress for `what` (on standard error).
    pub fn start(what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {prefix:>14} {pos:>7} {msg} [{elapsed}]")
            {
                b.set_style(style);
            }
            b.set_prefix(what);
            b
        });
        Self {
            bar,
            what,
            done: 0,
            last_line: 0,
        }
    }

    /// `n` more records read and handled.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(b) => b.set_position(self.done),
            None if self.done - self.last_line >= 500 || self.last_line == 0 => {
                self.last_line = self.done;
                let _ = writeln!(std::io::stderr(), "import: {} {}", self.what, self.done);
            }
            None => {}
        }
    }

    /// This resource is done.
    pub fn finish(self) {
        match self.bar {
            Some(b) => b.finish_with_message("done"),
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "import: {} {} done",
                    self.what,
                    self.done
                );
            }
        }
    }
}

/// Counts per resource, in the order resources are imported.
#[derive(Debug, Default)]
pub struct Summary {
    /// Resource name → counts.
    pub resources: BTreeMap<&'static str, ImportCounts>,
    pub(crate) order: Vec<&'static str>,
    /// Records of the source that were left out of any resource, with why.
    pub notes: Vec<String>,
    /// A dry run: nothing was written.
    pub dry_run: bool,
    /// Requests sent to the source and 429 answers waited out.
    pub requests: u64,
    pub throttled: u64,
}

impl Summary {
    /// The counts of `what`.
    pub fn of(&mut self, what: &'static str) -> &mut ImportCounts {
        if !self.order.contains(&what) {
            self.order.push(what);
        }
        self.resources.entry(what).or_default()
    }

    /// Counts one record of `what`.
    pub fn count(&mut self, what: &'static str, outcome: Imported) {
        self.of(what).add(outcome);
    }

    /// Records a record of `what` left out.
    pub fn skip(&mut self, what: &'static str, id: impl Into<String>, why: impl Into<String>) {
        self.of(what).skipped.push((id.into(), why.into()));
    }

    /// The summary as lines for people.
    pub fn lines(&self) -> Vec<String> {
        let (c, u) = if self.dry_run {
            ("would create", "would update")
        } else {
            ("created", "updated")
        };
        let mut out = Vec::new();
        if self.dry_run {
            out.push("dry run: nothing was written".to_owned());
        }
        for what in &self.order {
            let n = &self.resources[what];
            out.push(format!(
                "{what}: {c} {}, {u} {}, already there {}, skipped {}",
                n.created,
                n.updated,
                n.unchanged,
                n.skipped.len()
            ));
        }
        for what in &self.order {
            for (id, why) in &self.resources[what].skipped {
                out.push(format!("skipped {what} {id}: {why}"));
            }
        }
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out.push(format!(
            "source: {} requests, {} rate-limit waits",
            self.requests, self.throttled
        ));
        out
    }
}
