//! `/history.atom` and `/history.rss` (STATUSPAGE-API.md §1.7): one entry per incident or
//! maintenance, newest first, whose HTML content has one paragraph per update. Every piece
//! of user text is escaped for HTML, and the HTML is escaped again for XML.

use herald_domain::incident::Incident;

use super::assets::escape;
use super::{LIST_CAP, Source};

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

/// An incident's updates as the feed's HTML (not yet escaped for XML).
fn content(src: &Source, i: &Incident) -> String {
    let z = src.page.zone;
    i.updates
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

fn entries(src: &Source) -> impl Iterator<Item = &Incident> {
    src.incidents.iter().take(LIST_CAP).map(|i| &i.incident)
}

/// `/history.atom`.
pub fn atom(src: &Source) -> String {
    let z = src.page.zone;
    let (host, url) = (escape(&host(src)), escape(&src.page_url()));
    let name = escape(&src.page.name);
    let mut out = format!(
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
    for i in entries(src) {
        out.push_str(&format!(
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
            escape(&content(src, i)),
        ));
    }
    out.push_str("</feed>\n");
    out
}

/// `/history.rss`.
pub fn rss(src: &Source) -> String {
    let url = escape(&src.page_url());
    let mut out = format!(
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
    for i in entries(src) {
        let link = escape(&src.incident_url(&i.id));
        out.push_str(&format!(
            "    <item>\n\
             \x20     <title>{}</title>\n\
             \x20     <description>{}</description>\n\
             \x20     <pubDate>{}</pubDate>\n\
             \x20     <link>{link}</link>\n\
             \x20     <guid>{link}</guid>\n\
             \x20   </item>\n",
            escape(&i.name),
            escape(&content(src, i)),
            i.created_at.to_rfc2822(),
        ));
    }
    out.push_str("  </channel>\n</rss>\n");
    out
}
