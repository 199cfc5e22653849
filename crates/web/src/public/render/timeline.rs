//! Long timelines as pieces. An incident's rendered forms (its JSON in the v2 lists, its card
//! on the home page, its feed entries) are pieces keyed by its revision, which every new
//! update changes; for an incident with a long timeline that would mean shaping and
//! compressing all of it again on every update. So a timeline longer than [`RUN`] is cut
//! into runs of updates counted from the oldest (a new update, which comes first, leaves
//! every earlier run as it was), each a piece keyed by a hash of what its updates show, and
//! only the incident's frame around them is made again.

use herald_domain::incident::{Incident, IncidentUpdate};

use crate::public::model::Held;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;
use std::sync::Arc;

use super::Source;
use crate::public::fragments::{Fragment, Pieces, Place, hasher};

/// Updates per run; a timeline this long or shorter is one piece with its incident.
pub const RUN: usize = 8;

/// Whether an incident's timeline is cut into runs.
pub fn is_long(i: &Incident) -> bool {
    i.updates.len() > RUN
}

/// The runs of a timeline of `n` updates, newest first, as index ranges in display order:
/// cut from the oldest end, so that only the first (newest) run is ever partial.
pub fn runs(n: usize) -> Vec<Range<usize>> {
    let partial = n % RUN;
    let mut out = Vec::with_capacity(n / RUN + 1);
    if partial > 0 {
        out.push(0..partial);
    }
    let mut at = partial;
    while at < n {
        out.push(at..at + RUN);
        at += RUN;
    }
    out
}

fn hash_update(u: &IncidentUpdate, h: &mut impl Hasher) {
    (&u.id, u.status.as_str(), &u.body).hash(h);
    (u.created_at, u.updated_at, u.display_at).hash(h);
    (u.deliver_notifications, &u.custom_tweet, &u.tweet_id).hash(h);
    for a in u.affected_components.iter().flatten() {
        (
            &a.code,
            &a.name,
            a.old_status.as_str(),
            a.new_status.as_str(),
        )
            .hash(h);
    }
}

/// Hashes of what each run of `i`'s timeline shows, in display order: computed once per
/// state of the incident the model holds.
fn run_hashes(i: &Held) -> &[u64] {
    i.runs.get_or_init(|| {
        runs(i.updates.len())
            .into_iter()
            .map(|r| {
                let mut h = hasher().build_hasher();
                (r.start == 0).hash(&mut h);
                for u in &i.updates[r] {
                    hash_update(u, &mut h);
                }
                h.finish()
            })
            .collect()
    })
}

/// The pieces of `i`'s timeline in the form `form`: one per run, each made by
/// `render(updates, first)` (`first`: the run starts the timeline) only when the updates it
/// shows, or the page's fields, changed.
pub fn run_pieces(
    src: &Source,
    i: &Held,
    form: &'static str,
    pieces: &Pieces,
    render: impl Fn(&[IncidentUpdate], bool) -> Vec<u8>,
) -> Vec<Arc<Fragment>> {
    runs(i.updates.len())
        .into_iter()
        .zip(run_hashes(i))
        .map(|(r, run)| {
            let key = hasher().hash_one((form, src.revs.page, run));
            let updates = &i.updates[r.clone()];
            pieces.get_or_make(key, Place::Later, || render(updates, r.start == 0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_timeline_and_only_the_newest_is_partial() {
        for n in 0..40 {
            let r = runs(n);
            let flat: Vec<usize> = r.iter().flat_map(|x| x.clone()).collect();
            assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n={n}");
            assert!(r.iter().skip(1).all(|x| x.len() == RUN), "n={n}");
        }
        // A new update at the front leaves the older runs as they were (shifted by one).
        for (n, partial) in [(17, true), (24, false)] {
            let (before, after) = (runs(n), runs(n + 1));
            let shifted: Vec<Range<usize>> =
                after[1..].iter().map(|x| x.start - 1..x.end - 1).collect();
            let kept = if partial { &before[1..] } else { &before[..] };
            assert_eq!(kept, &shifted[..], "n={n}");
        }
    }
}
