//! One URL's response, ready to send: identity, gzip and brotli variants, each with its
//! response headers (content type, ETag, caching, CORS, security headers) made when the
//! output is rendered, never per request; a cold output instead keeps the maps its kind
//! shares and adds its ETag per response (`Headers`).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, Weak};

/// What kind of document an output is: decides its content type and security headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// The response headers every output of one kind, cache policy and encoding sends, but its
/// ETag. Made once and shared (`shared_headers`): a page with years of history keeps
/// thousands of outputs in its cold cache, and eight header maps each weighed more than
/// their compressed bodies.
#[derive(Debug)]
struct SharedHeaders {
    /// A 200 (or 404) response's.
    full: HeaderMap,
    /// A 304 answer's.
    not_modified: HeaderMap,
}

/// What decides an output's shared headers.
type SharedKey = (Kind, &'static str, Option<&'static str>);

/// The shared headers for `key`, made on first use. Held weakly here, so a kind no output
/// has any more (an HTML style a page no longer uses) is dropped.
fn shared_headers(key: SharedKey) -> Arc<SharedHeaders> {
    static MADE: Mutex<Option<HashMap<SharedKey, Weak<SharedHeaders>>>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let made = made.get_or_insert_with(HashMap::new);
    if let Some(h) = made.get(&key).and_then(Weak::upgrade) {
        return h;
    }
    made.retain(|_, h| h.strong_count() > 0);
    let h = Arc::new(make_headers(&key));
    made.insert(key, Arc::downgrade(&h));
    h
}

fn make_headers((kind, cache, encoding): &SharedKey) -> SharedHeaders {
    let mut full = HeaderMap::with_capacity(12);
    full.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    full.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    full.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    full.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    full.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    full.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if let Some(csp) = kind.csp() {
        full.insert(header::CONTENT_SECURITY_POLICY, hv(&csp));
    }
    if let Some(e) = encoding {
        full.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
    let mut not_modified = HeaderMap::with_capacity(5);
    not_modified.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    not_modified.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    not_modified.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    SharedHeaders { full, not_modified }
}

/// An output variant's response headers.
#[derive(Debug, Clone)]
enum Headers {
    /// Made whole, ETag included, when the output was rendered: each response clones them
    /// (the outputs every request may ask for, a few dozen per page).
    Made(Arc<(HeaderMap, HeaderMap)>),
    /// The maps its kind shares, the ETag added for each response: a cold output keeps
    /// less, as the cache holds thousands.
    Shared(Arc<SharedHeaders>, HeaderValue),
}

/// `shared` with `etag` added.
fn with_etag(shared: &HeaderMap, etag: &HeaderValue) -> HeaderMap {
    let mut h = shared.clone();
    h.insert(header::ETAG, etag.clone());
    h
}

impl Headers {
    fn new(shared: Arc<SharedHeaders>, etag: HeaderValue, compact: bool) -> Headers {
        if compact {
            return Headers::Shared(shared, etag);
        }
        Headers::Made(Arc::new((
            with_etag(&shared.full, &etag),
            with_etag(&shared.not_modified, &etag),
        )))
    }

    fn full(&self) -> HeaderMap {
        match self {
            Headers::Made(m) => m.0.clone(),
            Headers::Shared(shared, etag) => with_etag(&shared.full, etag),
        }
    }

    fn not_modified(&self) -> HeaderMap {
        match self {
            Headers::Made(m) => m.1.clone(),
            Headers::Shared(shared, etag) => with_etag(&shared.not_modified, etag),
        }
    }
}

/// One encoding of an output: its body and its response headers.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The bytes sent.
    pub body: Bytes,
    headers: Headers,
}

impl Variant {
    /// Every header of a 200 (or 404) response.
    pub fn headers(&self) -> HeaderMap {
        self.headers.full()
    }

    /// The headers of a 304 answer.
    pub fn not_modified(&self) -> HeaderMap {
        self.headers.not_modified()
    }
}

/// Makes an output's uncompressed body: for an output assembled from pieces, joining them.
pub type MakeBody = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;

/// Where an output's uncompressed body comes from.
enum Identity {
    /// At hand.
    Ready(Bytes),
    /// Made when first asked for, then kept (almost every client asks for gzip or brotli,
    /// and the uncompressed home page of a large page is megabytes, which would be copied
    /// on every write and held for nothing).
    Later(std::sync::OnceLock<Bytes>, MakeBody),
    /// Inflated from the gzip variant each time it is asked for, and never kept: a rarely
    /// read output in the cold cache holds its compressed variants only, so the cache
    /// weighs what it holds and fits two to three times more pages.
    Inflated,
}

/// One URL's response, ready to send.
pub struct Output {
    /// 200, or 404 for not-found pages.
    pub status: StatusCode,
    /// The hash shared by the variants' ETags (`If-None-Match` matching).
    pub tag: String,
    identity: Identity,
    /// The identity variant's headers.
    identity_headers: Headers,
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
            .field("identity_held", &self.identity_held())
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

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    // Our own gzip stream: it inflates.
    let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out);
    out
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        lgwin: 22,
        size_hint: body.len(),
        ..brotli::enc::BrotliEncoderParams::default()
    };
    super::brotli_pool::compress(body, &params)
}

/// How an output's variants are made.
#[derive(Debug, Clone, Copy)]
struct Recipe {
    /// Shared caches may keep it.
    cacheable: bool,
    /// It goes to the cold cache: headers from the shared maps per response.
    compact: bool,
    /// Its compressed variants are whole streams made from pieces' bytes (ETag suffixes
    /// `-gzw`, `-brw`).
    whole: bool,
}

impl Output {
    /// Renders the variants and headers of a body. `cacheable` is false for outputs that
    /// shared caches must not keep (private pages, bad requests).
    pub fn new(kind: Kind, status: StatusCode, body: Vec<u8>, cacheable: bool) -> Output {
        Self::made(kind, status, body, cacheable, false)
    }

    fn made(
        kind: Kind,
        status: StatusCode,
        body: Vec<u8>,
        cacheable: bool,
        compact: bool,
    ) -> Output {
        let tag = tag_of(&body);
        let compress = body.len() >= MIN_COMPRESS;
        let gz = compress.then(|| gzip(&body)).flatten();
        let br = compress.then(|| brotli(&body));
        let how = Recipe {
            cacheable,
            compact,
            whole: false,
        };
        Self::build(kind, status, tag, Body::Ready(body), gz, br, how)
    }

    /// As [`Output::new`], for an output kept in the cold cache: when it has a gzip variant,
    /// the uncompressed body is not kept but inflated from it for the rare client that
    /// wants it.
    pub fn compact(kind: Kind, status: StatusCode, body: Vec<u8>) -> Output {
        let mut o = Self::made(kind, status, body, true, true);
        if o.gzip.is_some() {
            o.identity = Identity::Inflated;
        }
        o
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
        let how = Recipe {
            cacheable: true,
            compact: false,
            whole: false,
        };
        let mut o = Self::build(kind, status, tag, Body::Later(len, make), gz, br, how);
        o.pieced = true;
        o
    }

    /// For an output assembled from pieces, the same output with each encoding compressed
    /// as one stream: pieces compressed apart, as a write needs them at once, are two to
    /// three times larger than the whole (`publisher.rs` settles a page that stays unchanged
    /// for a moment). The ETags change suffix, as the bytes differ; the tag, which
    /// `If-None-Match` matches and renders reuse outputs by, stays. `None` for other outputs.
    pub fn settled(&self) -> Option<Output> {
        let Identity::Later(_, make) = &self.identity else {
            return None;
        };
        if !self.pieced {
            return None;
        }
        let body = make();
        let gz = gzip(&body);
        let br = Some(brotli(&body));
        let how = Recipe {
            cacheable: true,
            compact: false,
            whole: true,
        };
        Some(Self::build(
            self.kind.clone(),
            self.status,
            self.tag.clone(),
            Body::Later(body.len(), make.clone()),
            gz,
            br,
            how,
        ))
    }

    /// Whether this output's compressed variants are pieces' streams joined.
    pub fn is_pieced(&self) -> bool {
        self.pieced
    }

    fn build(
        kind: Kind,
        status: StatusCode,
        tag: String,
        body: Body,
        gz: Option<Vec<u8>>,
        br: Option<Vec<u8>>,
        how: Recipe,
    ) -> Output {
        let cache = if !how.cacheable {
            NO_STORE
        } else if kind == Kind::ImmutableCss {
            "public, max-age=31536000, immutable"
        } else {
            PUBLIC_CACHE
        };
        let headers = |suffix: &str, enc: Option<&'static str>| {
            // Compressed whole, the bytes differ from the pieces': so does the ETag.
            let whole = if how.whole && enc.is_some() { "w" } else { "" };
            let etag = hv(&format!("\"{tag}{suffix}{whole}\""));
            Headers::new(
                shared_headers((kind.clone(), cache, enc)),
                etag,
                how.compact,
            )
        };
        // At their exact length: the compressors leave up to half a buffer unused.
        let variant = |bytes: Vec<u8>, suffix: &str, enc: &'static str| Variant {
            body: Bytes::from(bytes.into_boxed_slice()),
            headers: headers(suffix, Some(enc)),
        };
        let len = match &body {
            Body::Ready(b) => b.len(),
            Body::Later(len, _) => *len,
        };
        let smaller = |v: Option<Vec<u8>>| v.filter(|c| c.len() < len);
        let gz = smaller(gz).map(|g| variant(g, "-gz", "gzip"));
        let br = smaller(br).map(|b| variant(b, "-br", "br"));
        let identity = match body {
            Body::Ready(b) => Identity::Ready(Bytes::from(b.into_boxed_slice())),
            Body::Later(_, make) => Identity::Later(std::sync::OnceLock::new(), make),
        };
        Output {
            status,
            identity,
            identity_headers: headers("", None),
            len,
            kind,
            pieced: false,
            gzip: gz,
            br,
            tag,
        }
    }

    /// The uncompressed variant (made now if it is not kept).
    pub fn identity(&self) -> Variant {
        let body = match &self.identity {
            Identity::Ready(b) => b.clone(),
            Identity::Later(made, make) => made.get_or_init(|| Bytes::from(make())).clone(),
            Identity::Inflated => Bytes::from(
                self.gzip
                    .as_ref()
                    .map(|g| gunzip(&g.body))
                    .unwrap_or_default(),
            ),
        };
        Variant {
            body,
            headers: self.identity_headers.clone(),
        }
    }

    fn identity_held(&self) -> usize {
        match &self.identity {
            Identity::Ready(b) => b.len(),
            Identity::Later(made, _) => made.get().map_or(0, Bytes::len),
            Identity::Inflated => 0,
        }
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
    /// when kept.
    pub fn held_bytes(&self) -> usize {
        self.identity_held()
            + self.gzip.as_ref().map_or(0, |v| v.body.len())
            + self.br.as_ref().map_or(0, |v| v.body.len())
    }

    /// The compressed variant for a request's `Accept-Encoding` (brotli, then gzip), if it
    /// takes one.
    fn compressed(&self, accept_encoding: Option<&[u8]>) -> Option<&Variant> {
        let ae = accept_encoding?;
        if let Some(b) = &self.br
            && accepts(ae, b"br")
        {
            return Some(b);
        }
        self.gzip.as_ref().filter(|_| accepts(ae, b"gzip"))
    }

    /// The variant for a request's `Accept-Encoding` (brotli, then gzip, then identity).
    pub fn variant(&self, accept_encoding: Option<&[u8]>) -> Variant {
        match self.compressed(accept_encoding) {
            Some(v) => v.clone(),
            None => self.identity(),
        }
    }

    /// The headers of a 304 answer to a request with this `Accept-Encoding` (without making
    /// the body).
    pub fn not_modified(&self, accept_encoding: Option<&[u8]>) -> HeaderMap {
        match self.compressed(accept_encoding) {
            Some(v) => v.not_modified(),
            None => self.identity_headers.not_modified(),
        }
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
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(o.br.is_some());
        assert_eq!(
            o.variant(Some(b"gzip, br")).headers()[header::CONTENT_ENCODING],
            "br"
        );
        assert_eq!(
            o.variant(Some(b"gzip")).headers()[header::CONTENT_ENCODING],
            "gzip"
        );
        assert!(
            o.variant(None)
                .headers()
                .get(header::CONTENT_ENCODING)
                .is_none()
        );
        let etag = o.identity().headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(o.matches(etag.as_bytes()));
        assert!(o.matches(format!("W/{etag}, \"x\"").as_bytes()));
        assert!(!o.matches(b"\"other\""));
        let small = Output::new(Kind::Json, StatusCode::OK, b"{}".to_vec(), true);
        assert!(small.gzip.is_none() && small.br.is_none());
    }

    #[test]
    fn compact_outputs_of_a_kind_share_their_headers() {
        let shared = |o: &Output| match &o.gzip.as_ref().unwrap().headers {
            Headers::Shared(h, _) => h.clone(),
            Headers::Made(_) => panic!("a compact output keeps the shared maps"),
        };
        let a = Output::compact(Kind::Json, StatusCode::OK, "a ".repeat(400).into_bytes());
        let b = Output::compact(Kind::Json, StatusCode::OK, "b ".repeat(400).into_bytes());
        assert!(Arc::ptr_eq(&shared(&a), &shared(&b)));
        let (ga, gb) = (a.gzip.as_ref().unwrap(), b.gzip.as_ref().unwrap());
        assert_ne!(ga.headers()[header::ETAG], gb.headers()[header::ETAG]);
        // The same headers as an output made whole, ETag included.
        let whole = Output::new(
            Kind::Json,
            StatusCode::OK,
            "a ".repeat(400).into_bytes(),
            true,
        );
        assert!(matches!(
            whole.gzip.as_ref().unwrap().headers,
            Headers::Made(_)
        ));
        assert_eq!(ga.headers(), whole.gzip.as_ref().unwrap().headers());
        assert_eq!(
            a.not_modified(Some(b"gzip")),
            whole.not_modified(Some(b"gzip"))
        );
        assert_eq!(a.not_modified(None), whole.not_modified(None));
        let nm = a.not_modified(Some(b"gzip"));
        assert_eq!(nm[header::ETAG], ga.headers()[header::ETAG]);
        assert!(nm.get(header::CONTENT_TYPE).is_none());
        let private = Output::new(Kind::Json, StatusCode::OK, b"{}".to_vec(), false);
        assert_eq!(
            private.identity().headers()[header::CACHE_CONTROL],
            "no-store"
        );
        assert_eq!(a.identity().headers()[header::CACHE_CONTROL], PUBLIC_CACHE);
    }

    #[test]
    fn a_compact_output_keeps_its_compressed_variants_only() {
        let body = "an incident update, ".repeat(300).into_bytes();
        let whole = Output::new(Kind::Json, StatusCode::OK, body.clone(), true);
        let compact = Output::compact(Kind::Json, StatusCode::OK, body.clone());
        assert_eq!(compact.identity().body.as_ref(), &body[..]);
        assert_eq!(compact.identity().headers(), whole.identity().headers());
        assert_eq!(compact.len(), body.len());
        assert_eq!(
            compact.held_bytes() + body.len(),
            whole.held_bytes(),
            "the uncompressed body is neither kept nor counted"
        );
        // Too small to compress: kept as it is.
        let small = Output::compact(Kind::Json, StatusCode::OK, b"{}".to_vec());
        assert_eq!(small.identity().body.as_ref(), b"{}");
        assert_eq!(small.held_bytes(), 2);
    }
}
