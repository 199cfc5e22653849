//! `/history.atom` and `/history.rss` (STATUSPAGE-API.md §1.7): one entry per incident or
//! maintenance, newest first, whose HTML content has one paragraph per update. Askama
//! templates (`templates/public/feed_*`): the content is an HTML template, escaped as HTML,
//! and the feeds are XML templates that escape it again with [`Xml`].

use askama::Template;
use askama::filters::{Escaper, Html};
use herald_domain::incident::IncidentUpdate;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use super::{LIST_CAP, Source, timeline};
use crate::public::fragments::{Fragment, Pieces, Place, hasher};
use crate::public::model::Held;

/// The escaper of the `.xml` templates (askama.toml): HTML's, after leaving out the
/// characters XML 1.0 cannot hold (control characters other than tab and line ends).
#[derive(Debug, Clone, Copy)]
pub struct Xml;

impl Escaper for Xml {
    fn write_escaped_str<W: fmt::Write>(&self, dest: W, string: &str) -> fmt::Result {
        let allowed = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
        if string.chars().all(allowed) {
            Html.write_escaped_str(dest, string)
        } else {
            Html.write_escaped_str(
                dest,
                &string.chars().filter(|c| allowed(*c)).collect::<String>(),
            )
        }
    }
}

/// `text` escaped for XML, as the templates escape it.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    // Writing into a String cannot fail.
    let _ = Xml.write_escaped_str(&mut out, text);
    out
}

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

struct UpdateView<'a> {
    month: String,
    day: String,
    time: String,
    zone: String,
    status: &'static str,
    body: &'a str,
}

#[derive(Template)]
#[template(path = "public/feed_updates.html")]
struct UpdatesHtml<'a> {
    updates: Vec<UpdateView<'a>>,
}

/// Updates as the feed's HTML (not yet escaped for XML).
fn content(src: &Source, updates: &[IncidentUpdate]) -> String {
    let z = src.page.zone;
    let updates = updates
        .iter()
        .map(|u| UpdateView {
            month: z.strftime(u.display_at, "%b"),
            day: z.strftime(u.display_at, "%-d"),
            time: z.strftime(u.display_at, "%H:%M"),
            zone: z.strftime(u.display_at, "%Z"),
            status: u.status.label(),
            body: &u.body,
        })
        .collect();
    UpdatesHtml { updates }.render().unwrap_or_default()
}

fn entries(src: &Source) -> impl Iterator<Item = &Held> {
    src.incidents.iter().take(LIST_CAP).map(|i| &**i)
}

/// Which part of an entry a template renders: all of it around `content`, or its opening
/// or closing half (a long timeline's runs go between them).
#[derive(Clone, Copy)]
enum Part {
    Whole,
    Open,
    Close,
}

impl Part {
    fn open(self) -> bool {
        matches!(self, Self::Whole | Self::Open)
    }
    fn close(self) -> bool {
        matches!(self, Self::Whole | Self::Close)
    }
}

/// A feed's entry for an incident, as pieces: `render(part, content)` is the entry (or a
/// half of it) around its content. One piece, made only when the incident, the components
/// or the page's fields changed; for a long timeline, the entry's two halves and runs of
/// updates (`super::timeline`; escaping text piece by piece is escaping it whole).
fn entry(
    src: &Source,
    i: &Held,
    pieces: &Pieces,
    feed: &'static str,
    render: impl Fn(Part, &str) -> String,
) -> Vec<Arc<Fragment>> {
    if !timeline::is_long(i) {
        let key = hasher().hash_one((feed, i.rev, src.revs));
        return vec![pieces.get_or_make(key, Place::Later, || {
            render(Part::Whole, &content(src, &i.updates)).into_bytes()
        })];
    }
    let mut out = vec![pieces.get(render(Part::Open, "").into_bytes(), Place::Later)];
    out.extend(timeline::run_pieces(src, i, feed, pieces, |u, _| {
        xml(&content(src, u)).into_bytes()
    }));
    out.push(pieces.get(render(Part::Close, "").into_bytes(), Place::Later));
    out
}

#[derive(Template)]
#[template(path = "public/feed_atom_head.xml")]
struct AtomHead<'a> {
    host: &'a str,
    url: &'a str,
    name: &'a str,
    updated: String,
}

#[derive(Template)]
#[template(path = "public/feed_atom_entry.xml")]
struct AtomEntry<'a> {
    open: bool,
    close: bool,
    host: &'a str,
    id: String,
    published: String,
    updated: String,
    link: String,
    title: &'a str,
    content: &'a str,
}

/// `/history.atom`, as pieces (the head, one per entry, the end).
pub fn atom(src: &Source, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    let z = src.page.zone;
    let (host, url) = (host(src), src.page_url());
    let head = AtomHead {
        host: &host,
        url: &url,
        name: &src.page.name,
        updated: z.format(src.page.updated_at),
    };
    let mut out = vec![pieces.get(render_bytes(&head), Place::Later)];
    for i in entries(src) {
        out.extend(entry(src, i, pieces, "atom", |part, content| {
            AtomEntry {
                open: part.open(),
                close: part.close(),
                host: &host,
                id: numeric(&i.id),
                published: z.format(i.created_at),
                updated: z.format(i.updated_at),
                link: src.incident_url(&i.id),
                title: &i.name,
                content,
            }
            .render()
            .unwrap_or_default()
        }));
    }
    out.push(pieces.get(b"</feed>\n".to_vec(), Place::Later));
    out
}

#[derive(Template)]
#[template(path = "public/feed_rss_head.xml")]
struct RssHead<'a> {
    url: &'a str,
    name: &'a str,
    updated: String,
}

#[derive(Template)]
#[template(path = "public/feed_rss_item.xml")]
struct RssItem<'a> {
    open: bool,
    close: bool,
    title: &'a str,
    published: String,
    link: String,
    content: &'a str,
}

/// `/history.rss`, as pieces (the head, one per item, the end).
pub fn rss(src: &Source, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    let url = src.page_url();
    let head = RssHead {
        url: &url,
        name: &src.page.name,
        updated: src.page.updated_at.to_rfc2822(),
    };
    let mut out = vec![pieces.get(render_bytes(&head), Place::Later)];
    for i in entries(src) {
        out.extend(entry(src, i, pieces, "rss", |part, content| {
            RssItem {
                open: part.open(),
                close: part.close(),
                title: &i.name,
                published: i.created_at.to_rfc2822(),
                link: src.incident_url(&i.id),
                content,
            }
            .render()
            .unwrap_or_default()
        }));
    }
    out.push(pieces.get(b"  </channel>\n</rss>\n".to_vec(), Place::Later));
    out
}

fn render_bytes(t: &impl Template) -> Vec<u8> {
    t.render().unwrap_or_default().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_leaves_out_what_xml_cannot_hold() {
        assert_eq!(xml("a<b>&\"'"), "a&#60;b&#62;&#38;&#34;&#39;");
        assert_eq!(xml("bell\u{7} tab\t line\n"), "bell tab\t line\n");
    }
}
