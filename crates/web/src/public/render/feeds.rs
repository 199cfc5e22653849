//! `/history.atom` and `/history.rss` (STATUSPAGE-API.md §1.7): one entry per incident or
//! maintenance, newest first, whose HTML content has one paragraph per update. Every piece
//! of user text is escaped for HTML, and the HTML is escaped again for XML.

use herald_domain::incident::IncidentUpdate;
use std::hash::BuildHasher;
use std::sync::Arc;

use super::assets::escape;
use super::{LIST_CAP, Source, timeline};
use crate::public::fragments::{Fragment, Pieces, Place, hasher};
use crate::public::model::Held;

/// The host part of the page's address, for `tag:` ids.
fn host(src: &Source) -> String {
    let url = src.page_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    rest.split('/').next().unwrap_or("").to_owned()
}

/// The numeric form of a base-36 id (Statuspage's feed ids are numbers).
fn numeric(id: &str) -> String {
    u64::from_str_radix(id, 36).map_or_else(|_| id.to_owned(), |n| n.to_string())
}

/// Updates as the feed's HTML (not yet escaped for XML).
fn content(src: &Source, updates: &[IncidentUpdate]) -> String {
    let z = src.page.zone;
    updates
        .iter()
        .map(|u| {
            format!(
                "<p><small>{} <var data-var='date'>{}</var>, <var data-var='time'>{}</var> {}</small><br><strong>{}</strong> - {}</p>",
                z.strftime(u.display_at, "%b"),
                z.strftime(u.display_at, "%-d"),
                z.strftime(u.display_at, "%H:%M"),
                escape(&z.strftime(u.display_at, "%Z")),
                u.status.label(),
                escape(&u.body),
            )
        })
        .collect()
}

fn entries(src: &Source) -> impl Iterator<Item = &Held> {
    src.incidents.iter().take(LIST_CAP).map(|i| &**i)
}

/// A feed's entry for an incident, as pieces: `frame(content)` is the entry around its
/// escaped content. One piece, made only when the incident, the components or the page's
/// fields changed; for a long timeline, the frame's two halves and runs of updates
/// (`super::timeline`; escaping text piece by piece is escaping it whole).
fn entry(
    src: &Source,
    i: &Held,
    pieces: &Pieces,
    feed: &'static str,
    frame: impl Fn(&str) -> String,
) -> Vec<Arc<Fragment>> {
    if !timeline::is_long(i) {
        let key = hasher().hash_one((feed, i.rev, src.revs));
        return vec![pieces.get_or_make(key, Place::Later, || {
            frame(&escape(&content(src, &i.updates))).into_bytes()
        })];
    }
    const CUT: &str = "\u{1}";
    let whole = frame(CUT);
    let (before, after) = whole.split_once(CUT).unwrap_or((&whole, ""));
    let mut out = vec![pieces.get(before.as_bytes().to_vec(), Place::Later)];
    out.extend(timeline::run_pieces(src, i, feed, pieces, |u, _| {
        escape(&content(src, u)).into_bytes()
    }));
    out.push(pieces.get(after.as_bytes().to_vec(), Place::Later));
    out
}

/// `/history.atom`, as pieces (the head, one per entry, the end).
pub fn atom(src: &Source, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    let z = src.page.zone;
    let (host, url) = (escape(&host(src)), escape(&src.page_url()));
    let name = escape(&src.page.name);
    let head = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <feed xml:lang=\"en-US\" xmlns=\"http://www.w3.org/2005/Atom\">\n\
         \x20 <id>tag:{host},2005:/history</id>\n\
         \x20 <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n\
         \x20 <link rel=\"self\" type=\"application/atom+xml\" href=\"{url}/history.atom\"/>\n\
         \x20 <title>{name} - Incident History</title>\n\
         \x20 <updated>{}</updated>\n\
         \x20 <author>\n    <name>{name}</name>\n  </author>\n",
        z.format(src.page.updated_at)
    );
    let mut out = vec![pieces.get(head.into_bytes(), Place::Later)];
    for i in entries(src) {
        out.extend(entry(src, i, pieces, "atom", |content| {
            format!(
                "  <entry>\n\
                 \x20   <id>tag:{host},2005:Incident/{}</id>\n\
                 \x20   <published>{}</published>\n\
                 \x20   <updated>{}</updated>\n\
                 \x20   <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n\
                 \x20   <title>{}</title>\n\
                 \x20   <content type=\"html\">{}</content>\n\
                 \x20 </entry>\n",
                numeric(&i.id),
                z.format(i.created_at),
                z.format(i.updated_at),
                escape(&src.incident_url(&i.id)),
                escape(&i.name),
                content,
            )
        }));
    }
    out.push(pieces.get(b"</feed>\n".to_vec(), Place::Later));
    out
}

/// `/history.rss`, as pieces (the head, one per item, the end).
pub fn rss(src: &Source, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    let url = escape(&src.page_url());
    let head = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <rss version=\"2.0\">\n\
         \x20 <channel>\n\
         \x20   <title>{} - Incident History</title>\n\
         \x20   <link>{url}</link>\n\
         \x20   <description>Statuspage</description>\n\
         \x20   <pubDate>{}</pubDate>\n",
        escape(&src.page.name),
        src.page.updated_at.to_rfc2822(),
    );
    let mut out = vec![pieces.get(head.into_bytes(), Place::Later)];
    for i in entries(src) {
        out.extend(entry(src, i, pieces, "rss", |content| {
            let link = escape(&src.incident_url(&i.id));
            format!(
                "    <item>\n\
                 \x20     <title>{}</title>\n\
                 \x20     <description>{}</description>\n\
                 \x20     <pubDate>{}</pubDate>\n\
                 \x20     <link>{link}</link>\n\
                 \x20     <guid>{link}</guid>\n\
                 \x20   </item>\n",
                escape(&i.name),
                content,
                i.created_at.to_rfc2822(),
            )
        }));
    }
    out.push(pieces.get(b"  </channel>\n</rss>\n".to_vec(), Place::Later));
    out
}
