//! One URL's response, ready to send: identity, gzip and brotli variants, each with its
//! complete header map (content type, ETag, caching, CORS, security headers) computed once
//! when the output is rendered, never per request.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::Arc;

/// What kind of document an output is: decides its content type and security headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// HTML; the string is the `style-src` hash source of its inline style (`'sha256-…'`).
    Html(String),
    /// `application/json`.
    Json,
    /// Atom feed.
    Atom,
    /// RSS feed.
    Rss,
    /// SVG image.
    Svg,
    /// JavaScript.
    Js,
    /// A style sheet whose URL carries its hash: cached for a year.
    ImmutableCss,
}

/// How long shared caches may keep a page output, and how long they may serve it stale if
/// herald cannot be reached.
const PUBLIC_CACHE: &str = "public, max-age=10, stale-while-revalidate=30, stale-if-error=86400";
/// Private pages and errors that must not be cached.
const NO_STORE: &str = "no-store";

impl Kind {
    fn content_type(&self) -> &'static str {
        match self {
            Kind::Html(_) => "text/html; charset=utf-8",
            Kind::Json => "application/json; charset=utf-8",
            Kind::Atom => "application/atom+xml; charset=utf-8",
            Kind::Rss => "application/rss+xml; charset=utf-8",
            Kind::Svg => "image/svg+xml",
            Kind::Js => "text/javascript; charset=utf-8",
            Kind::ImmutableCss => "text/css; charset=utf-8",
        }
    }

    fn csp(&self) -> Option<String> {
        match self {
            Kind::Html(style) => Some(format!(
                "default-src 'none'; style-src 'self' {style}; img-src 'self' https: http: data:; \
                 base-uri 'none'; object-src 'none'; form-action 'self'"
            )),
            Kind::Svg | Kind::Json | Kind::Atom | Kind::Rss => {
                Some("default-src 'none'; base-uri 'none'; object-src 'none'".to_owned())
            }
            Kind::Js | Kind::ImmutableCss => None,
        }
    }
}

/// One encoding of an output: its body and every response header.
#[derive(Debug)]
pub struct Variant {
    /// The bytes sent.
    pub body: Bytes,
    /// Every header of a 200 (or 404) response.
    pub headers: HeaderMap,
    /// The headers of a 304 answer.
    pub not_modified: HeaderMap,
}

/// Makes an output's uncompressed body: for an output assembled from pieces, joining them.
pub type MakeBody = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;

/// One URL's response, ready to send.
pub struct Output {
    /// 200, or 404 for not-found pages.
    pub status: StatusCode,
    /// The hash shared by the variants' ETags (`If-None-Match` matching).
    pub tag: String,
    /// Uncompressed: made when first asked for, if `make` is set (almost every client
    /// asks for gzip or brotli, and the uncompressed home page of a large page is
    /// megabytes, which would be copied on every write and held for nothing).
    identity: std::sync::OnceLock<Variant>,
    make: Option<MakeBody>,
    /// The identity variant's headers, for when it is made.
    identity_headers: (HeaderMap, HeaderMap),
    /// The uncompressed body's length.
    len: usize,
    /// What it is (for [`Output::settled`]).
    kind: Kind,
    /// Its compressed variants are pieces' streams joined, not yet recompressed whole.
    pieced: bool,
    /// gzip, when it is smaller.
    pub gzip: Option<Variant>,
    /// Brotli, when it is smaller.
    pub br: Option<Variant>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("tag", &self.tag)
            .field("len", &self.len)
            .field("identity_made", &self.identity.get().is_some())
            .field("gzip", &self.gzip.as_ref().map(|v| v.body.len()))
            .field("br", &self.br.as_ref().map(|v| v.body.len()))
            .finish()
    }
}

/// The content hash an output's ETags are made of.
pub fn tag_of(body: &[u8]) -> String {
    tag_of_digest(&Sha256::digest(body))
}

/// The ETag hash of a SHA-256 digest.
pub fn tag_of_digest(digest: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// An uncompressed body: at hand, or made when asked for.
enum Body {
    Ready(Vec<u8>),
    Later(usize, MakeBody),
}

/// Bodies shorter than this are not compressed.
const MIN_COMPRESS: usize = 512;

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(body).ok()?;
    e.finish().ok()
}

fn brotli(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(body).ok()?;
    }
    Some(out)
}

impl Output {
    /// Renders the variants and headers of a body. `cacheable` is false for outputs that
    /// shared caches must not keep (private pages, bad requests).
    pub fn new(kind: Kind, status: StatusCode, body: Vec<u8>, cacheable: bool) -> Output {
        let tag = tag_of(&body);
        let compress = body.len() >= MIN_COMPRESS;
        let gz = compress.then(|| gzip(&body)).flatten();
        let br = compress.then(|| brotli(&body)).flatten();
        Self::build(kind, status, tag, Body::Ready(body), gz, br, cacheable)
    }

    /// An output whose compressed variants were made elsewhere (`super::fragments`), with
    /// its ETag from `digest`, and whose uncompressed body of `len` bytes `make` makes when
    /// it is first asked for. Always cacheable.
    pub fn from_variants(
        kind: Kind,
        status: StatusCode,
        digest: &[u8],
        (len, make): (usize, MakeBody),
        gz: Option<Vec<u8>>,
        br: Option<Vec<u8>>,
    ) -> Output {
        let tag = tag_of_digest(digest);
        let mut o = Self::build(kind, status, tag, Body::Later(len, make), gz, br, true);
        o.pieced = true;
        o
    }

    /// For an output assembled from pieces, the same output with each encoding compressed
    /// as one stream: pieces compressed apart, as a write needs them at once, are two to
    /// three times larger than the whole (`publisher.rs` settles a page that stays unchanged
    /// for a moment). The ETags change suffix, as the bytes differ; the tag, which
    /// `If-None-Match` matches and renders reuse outputs by, stays. `None` for other outputs.
    pub fn settled(&self) -> Option<Output> {
        let make = self.make.clone().filter(|_| self.pieced)?;
        let body = make();
        let gz = gzip(&body);
        let br = brotli(&body);
        let mut o = Self::build(
            self.kind.clone(),
            self.status,
            self.tag.clone(),
            Body::Later(body.len(), make),
            gz,
            br,
            true,
        );
        o.suffix_whole();
        Some(o)
    }

    /// Whether this output's compressed variants are pieces' streams joined.
    pub fn is_pieced(&self) -> bool {
        self.pieced
    }

    /// Marks the compressed variants' ETags as those of whole streams.
    fn suffix_whole(&mut self) {
        for (v, suffix) in [(&mut self.gzip, "-gzw"), (&mut self.br, "-brw")] {
            if let Some(v) = v {
                let etag = hv(&format!("\"{}{suffix}\"", self.tag));
                v.headers.insert(header::ETAG, etag.clone());
                v.not_modified.insert(header::ETAG, etag);
            }
        }
    }

    fn build(
        kind: Kind,
        status: StatusCode,
        tag: String,
        body: Body,
        gz: Option<Vec<u8>>,
        br: Option<Vec<u8>>,
        cacheable: bool,
    ) -> Output {
        let cache = if cacheable {
            if kind == Kind::ImmutableCss {
                "public, max-age=31536000, immutable"
            } else {
                PUBLIC_CACHE
            }
        } else {
            NO_STORE
        };
        let common = |suffix: &str, encoding: Option<&'static str>| {
            let mut h = HeaderMap::with_capacity(12);
            let etag = hv(&format!("\"{tag}{suffix}\""));
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(kind.content_type()),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            h.insert(header::ETAG, etag.clone());
            h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            );
            if let Some(csp) = kind.csp() {
                h.insert(header::CONTENT_SECURITY_POLICY, hv(&csp));
            }
            let mut nm = HeaderMap::with_capacity(4);
            nm.insert(header::ETAG, etag);
            nm.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            nm.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            nm.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            if let Some(e) = encoding {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
            }
            (h, nm)
        };
        let variant = |bytes: Vec<u8>, suffix: &str, enc: Option<&'static str>| {
            let (headers, not_modified) = common(suffix, enc);
            Variant {
                body: Bytes::from(bytes),
                headers,
                not_modified,
            }
        };
        let len = match &body {
            Body::Ready(b) => b.len(),
            Body::Later(len, _) => *len,
        };
        let smaller = |v: Option<Vec<u8>>| v.filter(|c| c.len() < len);
        let gz = smaller(gz).map(|g| variant(g, "-gz", Some("gzip")));
        let br = smaller(br).map(|b| variant(b, "-br", Some("br")));
        let identity_headers = common("", None);
        let (identity, make) = match body {
            Body::Ready(b) => {
                let (headers, not_modified) = identity_headers.clone();
                let v = Variant {
                    body: Bytes::from(b),
                    headers,
                    not_modified,
                };
                (std::sync::OnceLock::from(v), None)
            }
            Body::Later(_, make) => (std::sync::OnceLock::new(), Some(make)),
        };
        Output {
            status,
            identity,
            make,
            identity_headers,
            len,
            kind,
            pieced: false,
            gzip: gz,
            br,
            tag,
        }
    }

    /// The uncompressed variant (made now if it was not yet).
    pub fn identity(&self) -> &Variant {
        self.identity.get_or_init(|| {
            let (headers, not_modified) = self.identity_headers.clone();
            Variant {
                body: Bytes::from(self.make.as_ref().map(|m| m()).unwrap_or_default()),
                headers,
                not_modified,
            }
        })
    }

    /// The uncompressed body's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the uncompressed body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes this output holds now: its compressed variants, and the uncompressed one
    /// once made.
    pub fn held_bytes(&self) -> usize {
        self.identity.get().map_or(0, |v| v.body.len())
            + self.gzip.as_ref().map_or(0, |v| v.body.len())
            + self.br.as_ref().map_or(0, |v| v.body.len())
    }

    /// The variant for a request's `Accept-Encoding` (brotli, then gzip, then identity).
    pub fn variant(&self, accept_encoding: Option<&[u8]>) -> &Variant {
        if let Some(ae) = accept_encoding {
            if let Some(b) = &self.br
                && accepts(ae, b"br")
            {
                return b;
            }
            if let Some(g) = &self.gzip
                && accepts(ae, b"gzip")
            {
                return g;
            }
        }
        self.identity()
    }

    /// Whether an `If-None-Match` header names this output.
    pub fn matches(&self, if_none_match: &[u8]) -> bool {
        if_none_match == b"*"
            || if_none_match
                .windows(self.tag.len())
                .any(|w| w == self.tag.as_bytes())
    }
}

/// Whether an `Accept-Encoding` value accepts `coding` (a listed token without `q=0`).
pub fn accepts(header: &[u8], coding: &[u8]) -> bool {
    header.split(|b| *b == b',').any(|item| {
        let mut parts = item.split(|b| *b == b';');
        let name = trim(parts.next().unwrap_or_default());
        name.eq_ignore_ascii_case(coding)
            && !parts.any(|p| {
                let p = trim(p);
                p.len() >= 3
                    && p[..2].eq_ignore_ascii_case(b"q=")
                    && p[2..].iter().all(|c| *c == b'0' || *c == b'.')
            })
    })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_parsing() {
        assert!(accepts(b"gzip, deflate, br", b"br"));
        assert!(accepts(b"gzip;q=1.0", b"gzip"));
        assert!(!accepts(b"gzip;q=0", b"gzip"));
        assert!(!accepts(b"br;q=0.0, gzip", b"br"));
        assert!(!accepts(b"gzipx", b"gzip"));
        assert!(accepts(b" GZIP ", b"gzip"));
    }

    #[test]
    fn outputs_compress_and_tag() {
        let body = "hello world ".repeat(200).into_bytes();
        let o = Output::new(Kind::Json, StatusCode::OK, body.clone(), true);
        assert_eq!(o.identity().body.as_ref(), &body[..]);
        let gz = o.gzip.as_ref().unwrap();
        assert!(gz.body.len() < body.len());
        assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
        assert!(o.br.is_some());
        assert_eq!(
            o.variant(Some(b"gzip, br")).headers[header::CONTENT_ENCODING],
            "br"
        );
        assert_eq!(
            o.variant(Some(b"gzip")).headers[header::CONTENT_ENCODING],
            "gzip"
        );
        assert!(
            o.variant(None)
                .headers
                .get(header::CONTENT_ENCODING)
                .is_none()
        );
        let etag = o.identity().headers[header::ETAG]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(o.matches(etag.as_bytes()));
        assert!(o.matches(format!("W/{etag}, \"x\"").as_bytes()));
        assert!(!o.matches(b"\"other\""));
        let small = Output::new(Kind::Json, StatusCode::OK, b"{}".to_vec(), true);
        assert!(small.gzip.is_none() && small.br.is_none());
    }
}
