//! Embeds the git commit herald is built from (`HERALD_GIT_COMMIT`), for `herald --version`.
//!
//! A build without git or outside a checkout (a source tarball, a vendored copy) is not an
//! error: the commit comes from the `HERALD_GIT_COMMIT` environment variable if set, else it
//! is `unknown`. Cargo reruns this only when the checkout's HEAD or the branch it names moves.
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=HERALD_GIT_COMMIT");
    let from_env = std::env::var("HERALD_GIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty());
    let commit = from_env.clone().or_else(|| git(&["rev-parse", "HEAD"]));
    if from_env.is_none() {
        // Rerun when HEAD moves: HEAD itself, the branch it names, and packed refs. Only
        // files that exist are named (cargo reruns every build for a missing one).
        let dirs: Vec<PathBuf> = ["--git-dir", "--git-common-dir"]
            .iter()
            .filter_map(|a| git(&["rev-parse", a]))
            .map(PathBuf::from)
            .collect();
        let mut watch: Vec<PathBuf> = Vec::new();
        if let Some(dir) = dirs.first() {
            watch.push(dir.join("HEAD"));
        }
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            for dir in &dirs {
                watch.push(dir.join(&reference));
                watch.push(dir.join("packed-refs"));
            }
        }
        for path in watch.iter().filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        if watch.is_empty() {
            println!("cargo:rerun-if-changed=build.rs");
        }
    }
    let commit = commit.unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=HERALD_GIT_COMMIT={commit}");
}
