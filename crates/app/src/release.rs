//! What this build is (`herald --version`) and the releases recorded in `CHANGELOG.md`,
//! for `herald migrate --plan`.
//!
//! A release is a heading of the changelog, `## VERSION — commit HASH — migrations LIST`,
//! where LIST names the migrations that release's build knows (`1-7, 11`). Nothing here
//! reads git tags: a fresh clone need not carry them.

use herald_store::{MigrationKind, SchemaStatus, Store};
use std::collections::BTreeMap;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit this binary was built from (`unknown` outside a checkout); `build.rs`.
pub const COMMIT: &str = env!("HERALD_GIT_COMMIT");
/// The changelog, built in.
pub const CHANGELOG: &str = include_str!("../../../CHANGELOG.md");

/// `0.1.0 (commit 0123abcd..., schema 11)`: what `herald --version` prints after the name.
pub fn version_line() -> String {
    format!(
        "{VERSION} (commit {COMMIT}, schema {})",
        Store::expected_schema_version()
    )
}

/// `0.1.0+0123abcd4567`: how this process names itself in the `workers` table.
pub fn release_name() -> String {
    format!("{VERSION}+{}", COMMIT.get(..12).unwrap_or(COMMIT))
}

/// One release of the changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    /// `None` while the heading says the commit is the one that adds it.
    pub commit: Option<String>,
    /// The migrations its build knows.
    pub migrations: Vec<i64>,
}

/// The releases of `changelog`, oldest first. Headings that are not releases
/// (`## Unreleased`) are skipped.
pub fn releases(changelog: &str) -> Vec<Release> {
    let mut out: Vec<Release> = changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|h| {
            let mut parts = h.split(" — ");
            let version = parts.next()?.trim();
            if !version.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            let mut r = Release {
                version: version.to_owned(),
                commit: None,
                migrations: Vec::new(),
            };
            for part in parts {
                if let Some(c) = part.trim().strip_prefix("commit ") {
                    let c = c.trim();
                    if c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()) {
                        r.commit = Some(c.to_owned());
                    }
                } else if let Some(list) = part.trim().strip_prefix("migrations ") {
                    r.migrations = parse_list(list)?;
                }
            }
            Some(r)
        })
        .collect();
    out.reverse();
    out
}

/// `1-7, 11` → `[1, 2, ..., 7, 11]`.
fn parse_list(list: &str) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.split_once('-') {
            Some((a, b)) => out.extend(a.trim().parse::<i64>().ok()?..=b.trim().parse().ok()?),
            None => out.push(item.parse().ok()?),
        }
    }
    Some(out)
}

/// For each pending migration of `status`, in order: the oldest release (of `releases`,
/// oldest first) that still runs once it and every pending one before it are applied, i.e.
/// every applied migration that release does not know is expand. `None`: no release yet.
pub fn oldest_running<'r>(
    status: &SchemaStatus,
    releases: &'r [Release],
) -> Vec<(i64, Option<&'r Release>)> {
    let mut kinds: BTreeMap<i64, Option<MigrationKind>> = status.applied_kinds.clone();
    let mut out = Vec::new();
    for p in &status.pending {
        kinds.insert(p.version, Some(p.kind));
        let runs = releases.iter().find(|r| {
            kinds
                .iter()
                .all(|(v, k)| r.migrations.contains(v) || *k == Some(MigrationKind::Expand))
        });
        out.push((p.version, runs));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changelog_names_its_releases_with_their_migrations() {
        let rs = releases(CHANGELOG);
        let first = rs.first().expect("at least one release");
        assert_eq!(first.version, "0.1.0");
        assert!(first.migrations.contains(&1), "{first:?}");
    }

    #[test]
    fn release_headings_parse_and_other_headings_do_not() {
        let c = "# Changelog\n## Unreleased\n## 0.2.0 — commit 0123456789abcdef0123456789abcdef01234567 — migrations 1-3, 5\n\
                 ## 0.1.0 — commit: the commit that adds this line — migrations 1-2\n";
        let rs = releases(c);
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].version, "0.1.0");
        assert_eq!(rs[0].commit, None);
        assert_eq!(rs[0].migrations, vec![1, 2]);
        assert_eq!(rs[1].migrations, vec![1, 2, 3, 5]);
        assert_eq!(rs[1].commit.as_deref().map(str::len), Some(40));
    }
}
