//! Which output answers a request: by `/p/<slug>/...`, by custom domain (`Host`), or the
//! default page at `/`. Runs on every public request, so it only borrows from the current
//! snapshot index and allocates nothing on the common path.
//!
//! `/p/<slug>/` comes first so that it answers for its page whatever the `Host` says: no
//! page's custom domain, even one pointed at herald's own host, can hide another page.

use super::cold::ColdKey;
use super::render::{Assets, css_path};
use super::snapshot::{Index, Output, PageSnapshot};

/// What to answer.
#[derive(Debug)]
pub enum Answer<'a> {
    /// This output.
    Output(&'a Output),
    /// A rarely read output of this page: cached, or rendered now from its model.
    Cold(&'a PageSnapshot, ColdKey),
    /// A permanent redirect to this location (`/p/<slug>` → `/p/<slug>/`).
    Redirect(String),
    /// Not a public path: the rest of herald (API, health, admin) answers.
    Pass,
}

/// Where a request lands, before the method is considered.
#[derive(Debug)]
pub enum Place<'a> {
    /// A public path of a page: the snapshot and the path below the page's root.
    Page(&'a PageSnapshot, &'a str),
    /// A shared output (style sheet, unknown page).
    Shared(&'a Output),
    /// Add the trailing slash.
    Redirect(String),
    /// Not public.
    Pass,
}

/// Paths a page serves (below its root).
fn is_public(rest: &str) -> bool {
    matches!(
        rest,
        "/" | "/index.html"
            | "/history"
            | "/uptime"
            | "/history.atom"
            | "/history.rss"
            | "/badge.svg"
    ) || rest.starts_with("/incidents/")
        || rest.starts_with("/api/")
        || rest.starts_with("/embed/")
        || rest.starts_with("/metrics/")
}

/// The host name of a `Host` header, without its port, if it is a plausible DNS name.
fn host_name(host: &[u8]) -> Option<&str> {
    let host = std::str::from_utf8(host).ok()?;
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => host,
    };
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then_some(name)
}

fn by_domain<'a>(index: &'a Index, host: &[u8]) -> Option<&'a PageSnapshot> {
    if index.by_domain.is_empty() {
        return None;
    }
    let name = host_name(host)?;
    let name = name.trim_end_matches('.');
    if herald_domain::page::ends_in_a_number(name) {
        // An address is never a page's domain (a page saved with one before that rule
        // existed must not answer for herald's own host).
        return None;
    }
    match index.by_domain.get(name) {
        Some(s) => Some(s),
        None if name.bytes().any(|b| b.is_ascii_uppercase()) => index
            .by_domain
            .get(&name.to_ascii_lowercase())
            .map(|s| &**s),
        None => None,
    }
}

/// Whether `host` is a page's custom domain. Such a host serves that page only: herald's
/// own surface (admin, API, metrics) is not answered there.
pub fn is_custom_domain(index: &Index, host: Option<&[u8]>) -> bool {
    host.and_then(|h| by_domain(index, h)).is_some()
}

/// Where `host` + `path` lands.
pub fn locate<'a>(
    index: &'a Index,
    assets: &'a Assets,
    host: Option<&[u8]>,
    path: &'a str,
    query: Option<&str>,
) -> Place<'a> {
    if path.starts_with("/assets/") {
        return Place::Shared(if path == css_path() {
            &assets.css
        } else {
            &assets.not_found
        });
    }
    if let Some(after) = path.strip_prefix("/p/") {
        let (slug, rest) = after.find('/').map_or((after, ""), |i| after.split_at(i));
        let Some(s) = index.by_slug.get(slug) else {
            return Place::Shared(&assets.not_found);
        };
        if rest.is_empty() {
            let q = query.map(|q| format!("?{q}")).unwrap_or_default();
            return Place::Redirect(format!("/p/{slug}/{q}"));
        }
        return page_place(s, rest, true);
    }
    if let Some(s) = host.and_then(|h| by_domain(index, h)) {
        return page_place(s, path, false);
    }
    match &index.default {
        Some(s) => page_place(s, path, false),
        None if path == "/" || is_public(path) => Place::Shared(&assets.not_found),
        None => Place::Pass,
    }
}

/// Whether `rest` (a path below a page's root) is one of the page's dynamic addresses:
/// subscribing, confirming, managing and unsubscribing. These need the database, so they
/// go to the router rather than to a snapshot.
pub fn is_dynamic(rest: &str) -> bool {
    rest == "/subscriptions"
        || rest.starts_with("/subscriptions/")
        || rest == "/api/v2/subscribers.json"
        || rest.starts_with("/api/v2/subscribers/")
}

/// The page a dynamic request is for, and the path below the page's root.
pub fn dynamic<'a>(
    index: &'a Index,
    host: Option<&[u8]>,
    path: &'a str,
) -> Option<(&'a str, &'a str)> {
    let (s, rest): (&PageSnapshot, &str) = if let Some(after) = path.strip_prefix("/p/") {
        let i = after.find('/')?;
        let (slug, rest) = after.split_at(i);
        (index.by_slug.get(slug)?, rest)
    } else if let Some(s) = host.and_then(|h| by_domain(index, h)) {
        (s, path)
    } else {
        (index.default.as_deref()?, path)
    };
    is_dynamic(rest).then_some((s.page_id.as_str(), rest))
}

fn page_place<'a>(s: &'a PageSnapshot, rest: &'a str, under_p: bool) -> Place<'a> {
    if is_public(rest) {
        Place::Page(s, rest)
    } else if under_p {
        Place::Shared(&s.not_found)
    } else {
        Place::Pass
    }
}

/// The `page` query parameter: `Ok(None)` when absent, `Err` when not a number from 1.
fn page_param(query: Option<&str>) -> Result<Option<usize>, ()> {
    let Some(q) = query else { return Ok(None) };
    match q.split('&').find_map(|kv| kv.strip_prefix("page=")) {
        None => Ok(None),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(()),
        },
    }
}

fn paged<'a>(
    s: &'a PageSnapshot,
    assets: &'a Assets,
    query: Option<&str>,
    key: fn(u32) -> ColdKey,
) -> Answer<'a> {
    match page_param(query) {
        Err(()) => Answer::Output(&assets.bad_request),
        Ok(n) => match u32::try_from(n.unwrap_or(1)) {
            Ok(n) => Answer::Cold(s, key(n)),
            Err(_) => Answer::Output(&s.not_found),
        },
    }
}

/// The output of a public path of a page.
pub fn output<'a>(
    s: &'a PageSnapshot,
    assets: &'a Assets,
    rest: &str,
    query: Option<&str>,
) -> Answer<'a> {
    match rest {
        "/history" => paged(s, assets, query, ColdKey::History),
        "/uptime" => paged(s, assets, query, ColdKey::Uptime),
        _ => {
            if let Some(id) = rest.strip_prefix("/incidents/") {
                return Answer::Cold(s, ColdKey::Incident(id.to_owned()));
            }
            if let Some(key) = rest.strip_prefix("/metrics/").and_then(chart_key) {
                return Answer::Cold(s, key);
            }
            Answer::Output(match s.outputs.get(rest) {
                Some(o) => o,
                None if rest.starts_with("/api/") => &s.api_not_found,
                None => &s.not_found,
            })
        }
    }
}

/// `{id}/{day|week|month}.{json|svg}` as a chart's key.
fn chart_key(rest: &str) -> Option<ColdKey> {
    use herald_domain::metric::points::Period;
    let (id, file) = rest.split_once('/')?;
    let (period, ext) = file.split_once('.')?;
    let period = Period::ALL.into_iter().find(|p| p.as_str() == period)?;
    let json = match ext {
        "json" => true,
        "svg" => false,
        _ => return None,
    };
    Some(ColdKey::Chart(id.to_owned(), period, json))
}

/// What answers a GET or HEAD.
pub fn resolve<'a>(
    index: &'a Index,
    assets: &'a Assets,
    host: Option<&[u8]>,
    path: &'a str,
    query: Option<&str>,
) -> Answer<'a> {
    match locate(index, assets, host, path, query) {
        Place::Page(s, rest) => output(s, assets, rest, query),
        Place::Shared(o) => Answer::Output(o),
        Place::Redirect(to) => Answer::Redirect(to),
        Place::Pass => Answer::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked_and_ports_dropped() {
        assert_eq!(
            host_name(b"status.acme.example:8080"),
            Some("status.acme.example")
        );
        assert_eq!(
            host_name(b"Status.Acme.Example"),
            Some("Status.Acme.Example")
        );
        assert_eq!(host_name(b"evil host"), None);
        assert_eq!(host_name(b"a/../b"), None);
        assert_eq!(host_name(b""), None);
        assert_eq!(host_name(&[0xff, 0xfe]), None);
    }

    #[test]
    fn page_parameters() {
        assert_eq!(page_param(None), Ok(None));
        assert_eq!(page_param(Some("x=1")), Ok(None));
        assert_eq!(page_param(Some("page=2")), Ok(Some(2)));
        assert_eq!(page_param(Some("a=b&page=3")), Ok(Some(3)));
        assert_eq!(page_param(Some("page=0")), Err(()));
        assert_eq!(page_param(Some("page=-1")), Err(()));
        assert_eq!(page_param(Some("page=abc")), Err(()));
        assert_eq!(page_param(Some("page=99999999999999999999999999")), Err(()));
    }

    #[test]
    fn public_paths() {
        assert!(is_public("/"));
        assert!(is_public("/api/v2/summary.json"));
        assert!(is_public("/incidents/abc"));
        assert!(!is_public("/v1/pages"));
        assert!(!is_public("/livez"));
        assert!(!is_public("/../etc/passwd"));
        assert!(is_dynamic("/subscriptions"));
        assert!(is_dynamic("/subscriptions/confirm/x"));
        assert!(is_dynamic("/api/v2/subscribers.json"));
        assert!(!is_dynamic("/subscriptionsx"));
        assert!(!is_dynamic("/api/v2/summary.json"));
    }
}
