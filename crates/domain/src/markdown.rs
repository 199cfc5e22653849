//! Markdown in incident updates, postmortems and descriptions, rendered to HTML that cannot
//! carry script: pulldown-cmark renders, then ammonia keeps only a small allowlist of tags
//! and attributes, and only `http`, `https` and `mailto` links. Raw HTML in the source is
//! escaped, never passed through. Use [`to_html`] wherever user text becomes markup (pages,
//! feeds, e-mails, admin previews) and [`to_text`] where markup is not wanted (SMS, chat).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

/// The sanitiser, built once.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(sanitizer);

/// Texts already rendered: a page re-renders the same update bodies at every write (an
/// incident's timeline, its card on the home page), so each is rendered once. Bounded: at
/// `MEMO_MAX_BYTES` of texts and their HTML it starts over.
static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(Mutex::default);

const MEMO_MAX_BYTES: usize = 16 << 20;

#[derive(Default)]
struct Memo {
    html: HashMap<String, String>,
    bytes: usize,
}

fn sanitizer() -> ammonia::Builder<'static> {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "a",
        "blockquote",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ]
    .into_iter()
    .collect();
    let mut b = ammonia::Builder::default();
    b.tags(tags)
        .generic_attributes(HashSet::new())
        .tag_attributes(std::iter::once(("a", ["href"].into_iter().collect())).collect())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("nofollow noopener noreferrer"))
        .strip_comments(true);
    b
}

/// Renders markdown to sanitised HTML. Headings are demoted to `h3`–`h6` so user text never
/// outranks the page's own headings; raw HTML is shown as text.
pub fn to_html(markdown: &str) -> String {
    let found = memo().html.get(markdown).cloned();
    if let Some(html) = found {
        return html;
    }
    let html = render(markdown);
    let size = markdown.len() + html.len();
    let mut m = memo();
    if m.bytes + size > MEMO_MAX_BYTES {
        m.html.clear();
        m.bytes = 0;
    }
    if m.html.insert(markdown.to_owned(), html.clone()).is_none() {
        m.bytes += size;
    }
    html
}

fn memo() -> std::sync::MutexGuard<'static, Memo> {
    // A poisoned lock only means a render panicked elsewhere: the map itself is whole.
    MEMO.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .map(|e| match e {
        // Raw HTML in the source is displayed, not interpreted.
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        e => e,
    });
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, parser);
    let demoted = demote_headings(&raw);
    SANITIZER.clean(&demoted).to_string()
}

fn demote_headings(html: &str) -> String {
    let mut out = html.to_owned();
    for (from, to) in [
        ("h1", "h3"),
        ("h2", "h4"),
        ("h3", "h5"),
        ("h4", "h6"),
        ("h5", "h6"),
    ] {
        // Rewrite in one pass per level, highest first, using placeholders so a demoted tag
        // is not demoted twice.
        out = out
            .replace(&format!("<{from}>"), &format!("<§{to}>"))
            .replace(&format!("</{from}>"), &format!("</§{to}>"));
    }
    out.replace("<§", "<").replace("</§", "</")
}

/// The text of a markdown document without its markup, for SMS and chat messages.
pub fn to_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for e in Parser::new(markdown) {
        match e {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t)
            }
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock,
            ) => out.push('\n'),
            Event::Start(Tag::Item) => out.push_str("- "),
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_text_renders_as_it_did_and_the_memo_stays_bounded() {
        let text = "**Fixed** in [the docs](https://x.example) <script>x</script>";
        let first = to_html(text);
        assert_eq!(to_html(text), first);
        assert_eq!(first, render(text), "the memo gives what a render gives");
        let big = "word ".repeat(100_000);
        for n in 0..60 {
            to_html(&format!("{n} {big}"));
            assert!(memo().bytes <= MEMO_MAX_BYTES, "{} bytes", memo().bytes);
        }
        assert!(!to_html(text).contains("<script"));
    }

    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "<svg><script>alert(1)</script></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        "![img](https://evil.example/pixel.png)",
    ];

    fn inert(html: &str) -> bool {
        let lower = html.to_lowercase();
        !lower.contains("<script")
            && !lower.contains("<img")
            && !lower.contains("<iframe")
            && !lower.contains("<svg")
            && !lower.contains("<style")
            && !lower.contains("javascript:")
            && !lower.contains("href=\"data:")
            && !lower.split('<').skip(1).any(|tag| {
                let head = tag.split('>').next().unwrap_or("");
                head.split_whitespace()
                    .skip(1)
                    .any(|attr| attr.starts_with("on"))
            })
    }

    #[test]
    fn ordinary_markdown_renders() {
        let h = to_html("**Fixed.** See [the docs](https://acme.example/docs).\n\n- one\n- two");
        assert!(h.contains("<strong>Fixed.</strong>"), "{h}");
        assert!(h.contains("<a href=\"https://acme.example/docs\" rel=\"nofollow noopener noreferrer\">the docs</a>"), "{h}");
        assert!(h.contains("<li>one</li>"));
    }

    #[test]
    fn headings_are_demoted() {
        assert_eq!(to_html("# Title").trim(), "<h3>Title</h3>");
        assert_eq!(to_html("### Three").trim(), "<h5>Three</h5>");
    }

    #[test]
    fn hostile_input_renders_inert() {
        for x in HOSTILE {
            let h = to_html(x);
            assert!(inert(&h), "{x:?} rendered as {h:?}");
        }
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let h = to_html("a <b>bold</b> claim");
        assert!(h.contains("&lt;b&gt;bold&lt;/b&gt;"), "{h}");
    }

    #[test]
    fn sanitising_twice_changes_nothing() {
        for x in HOSTILE.iter().chain(&[
            "**a** _b_ `c`",
            "<p>x</p>",
            "| a | b |\n|---|---|\n| 1 | 2 |",
        ]) {
            let once = to_html(x);
            assert_eq!(sanitizer().clean(&once).to_string(), once, "{x:?}");
        }
    }

    #[test]
    fn text_drops_markup() {
        assert_eq!(
            to_text("**Fixed.** See [docs](https://x.example).\n\n- a\n- b"),
            "Fixed. See docs.\n- a\n- b"
        );
    }
}
