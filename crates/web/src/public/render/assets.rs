//! Outputs shared by every page (the style sheet, the embed script, error pages) and the
//! status badge.

use axum::http::StatusCode;
use std::sync::{Arc, LazyLock};

use super::Source;
use crate::public::snapshot::{Kind, Output, tag_of};
use herald_domain::status::Impact;

const CSS: &str = include_str!("../../../assets/herald.css");
const EMBED_JS: &str = include_str!("../../../assets/embed.js");

static CSS_PATH: LazyLock<String> = LazyLock::new(|| {
    let tag = tag_of(CSS.as_bytes());
    format!("/assets/herald-{}.css", &tag[..12])
});

/// The style sheet's path; its name carries a hash of its content, so it is cached for good.
pub fn css_path() -> &'static str {
    &CSS_PATH
}

/// Shared outputs.
#[derive(Debug)]
pub struct Assets {
    /// The style sheet, at [`css_path`].
    pub css: Arc<Output>,
    /// `/embed/script.js`.
    pub embed: Arc<Output>,
    /// 404 for a page or path herald does not know.
    pub not_found: Arc<Output>,
    /// 404 for a private page's public paths (never cached).
    pub private: Arc<Output>,
    /// 404 under `/api/` (empty body, as Statuspage answers).
    pub api_not_found: Arc<Output>,
    /// 400 for a malformed query.
    pub bad_request: Arc<Output>,
}

impl Default for Assets {
    fn default() -> Self {
        Self::new()
    }
}

fn error_page(title: &str, text: &str) -> Vec<u8> {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body><main class=\"wrap\"><h1>{title}</h1><p>{text}</p></main></body></html>",
        css = css_path()
    )
    .into_bytes()
}

impl Assets {
    /// Renders the shared outputs.
    pub fn new() -> Self {
        let nostyle = || Kind::Html("'none'".to_owned());
        Self {
            css: Arc::new(Output::new(
                Kind::ImmutableCss,
                StatusCode::OK,
                CSS.as_bytes().to_vec(),
                true,
            )),
            embed: Arc::new(Output::new(
                Kind::Js,
                StatusCode::OK,
                EMBED_JS.as_bytes().to_vec(),
                true,
            )),
            not_found: Arc::new(Output::new(
                nostyle(),
                StatusCode::NOT_FOUND,
                error_page("Page not found", "There is no status page at this address."),
                true,
            )),
            private: Arc::new(Output::new(
                nostyle(),
                StatusCode::NOT_FOUND,
                error_page("Page not found", "There is no public status page here."),
                false,
            )),
            api_not_found: Arc::new(Output::new(
                Kind::Json,
                StatusCode::NOT_FOUND,
                Vec::new(),
                true,
            )),
            bad_request: Arc::new(Output::new(
                nostyle(),
                StatusCode::BAD_REQUEST,
                error_page(
                    "Bad request",
                    "The address has a parameter herald does not understand.",
                ),
                false,
            )),
        }
    }
}

/// Escapes text for XML and HTML (element content and quoted attributes).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// `/badge.svg`: the page name and its status sentence, shields-style.
pub fn badge(src: &Source) -> String {
    let label: String = src.page.name.chars().take(40).collect();
    let text = src.status.description;
    let width = |s: &str| 10 + 7 * s.chars().count();
    let (lw, rw) = (width(&label), width(text));
    let color = match src.status.indicator {
        Impact::None => "#1e7e34",
        Impact::Minor => "#8a6d00",
        Impact::Major => "#b35900",
        Impact::Critical => "#c0392b",
        Impact::Maintenance => "#1f5fa8",
    };
    let (label, text) = (escape(&label), escape(text));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"20\" role=\"img\" \
         aria-label=\"{label}: {text}\"><title>{label}: {text}</title>\
         <rect width=\"{lw}\" height=\"20\" fill=\"#444\"/>\
         <rect x=\"{lw}\" width=\"{rw}\" height=\"20\" fill=\"{color}\"/>\
         <g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,DejaVu Sans,sans-serif\" \
         font-size=\"11\"><text x=\"{lx}\" y=\"14\">{label}</text>\
         <text x=\"{rx}\" y=\"14\">{text}</text></g></svg>",
        w = lw + rw,
        lx = lw / 2,
        rx = lw + rw / 2,
    )
}
