//! The HTTP server loop: hyper HTTP/1.1 connections whose first stop is the public snapshot
//! lookup. A GET or HEAD of a public path is answered right here from the in-memory
//! snapshot — a header-map clone and a `Bytes` clone, no routing, no middleware, no
//! database — and everything else goes to the axum router with its layers. This keeps the
//! public page's serving path close to what a static file server does.
//!
//! Rules applied here, to every request and response:
//! - a request must carry exactly one valid `Host` (RFC 9112 §3.2: HTTP/1.1 without one, or
//!   with two, is a 400), so that no two parts of herald can read a different host;
//! - a tenant's custom domain serves that page only (its public paths, its subscription
//!   pages, the shared assets) and health: the admin UI, the API and `/metrics` answer 404
//!   there;
//! - behind https (`public_url`), every response carries `Strict-Transport-Security`.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::public::Assets;
use crate::public::cold::ColdKey;
use crate::public::resolve::{self, Answer, Place};
use crate::public::snapshot::{Output, PageSnapshot, Snapshots};

/// The page a dynamic public request (subscribing, managing a subscription) is for, found
/// from its host or `/p/<slug>/` prefix; the request's path is then the path below the
/// page's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPage(pub String);

/// A response body: snapshot bytes, or whatever the router produced.
pub type FrontBody = Either<Full<Bytes>, axum::body::Body>;

/// The per-connection service.
#[derive(Clone)]
struct Front {
    snapshots: Arc<Snapshots>,
    assets: Arc<Assets>,
    router: Router,
    remote: SocketAddr,
    /// Send HSTS on every response (herald is reached over https).
    hsts: bool,
}

/// The HSTS header value: a year, as the admin UI has always sent it.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Whether a request's `Host` is acceptable: exactly one, and a valid authority; HTTP/1.0
/// may leave it out.
fn host_ok<B>(req: &Request<B>) -> bool {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(h), None) => h
            .to_str()
            .is_ok_and(|h| h.parse::<axum::http::uri::Authority>().is_ok()),
        (None, _) => req.version() < Version::HTTP_11,
        (Some(_), Some(_)) => false,
    }
}

/// The future of one request.
enum FrontFuture {
    Ready(Option<Response<FrontBody>>),
    Routed(Pin<Box<dyn Future<Output = Response<FrontBody>> + Send>>),
}

impl Future for FrontFuture {
    type Output = Result<Response<FrontBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            FrontFuture::Ready(r) => Poll::Ready(Ok(r.take().unwrap_or_else(|| {
                bytes_response(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new())
            }))),
            FrontFuture::Routed(f) => f.as_mut().poll(cx).map(Ok),
        }
    }
}

fn bytes_response(status: StatusCode, body: Bytes) -> Response<FrontBody> {
    let mut r = Response::new(Either::Left(Full::new(body)));
    *r.status_mut() = status;
    r
}

/// Sends `output`, honouring `Accept-Encoding` and `If-None-Match`.
fn send(output: &Output, req: &Request<Incoming>) -> Response<FrontBody> {
    let h = req.headers();
    let ae = h.get(header::ACCEPT_ENCODING).map(HeaderValue::as_bytes);
    if output.status == StatusCode::OK
        && let Some(inm) = h.get(header::IF_NONE_MATCH)
        && output.matches(inm.as_bytes())
    {
        let mut r = bytes_response(StatusCode::NOT_MODIFIED, Bytes::new());
        *r.headers_mut() = output.not_modified(ae);
        return r;
    }
    let v = output.variant(ae);
    let headers = v.headers();
    let mut r = bytes_response(output.status, v.body);
    *r.headers_mut() = headers;
    r
}

/// Answers with a rarely read output that is not cached: rendered from the snapshot's model
/// on a blocking thread (a large history or uptime page takes milliseconds), then cached.
async fn render_cold(
    snap: Option<Arc<PageSnapshot>>,
    key: ColdKey,
    req: Request<Incoming>,
) -> Response<FrontBody> {
    let Some(snap) = snap else {
        return bytes_response(StatusCode::NOT_FOUND, Bytes::new());
    };
    let rendered = tokio::task::spawn_blocking(move || {
        let o = snap.cold_output(&key);
        o.unwrap_or_else(|| snap.not_found.clone())
    })
    .await;
    match rendered {
        Ok(o) => send(&o, &req),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page output failed");
            bytes_response(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new())
        }
    }
}

/// A request body that records whether it was read to the end.
struct Tracked {
    inner: Incoming,
    done: Arc<AtomicBool>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = r {
            self.done.store(true, Ordering::Relaxed);
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Front {
    /// Marks a response as this server sends every one.
    fn finish(hsts: bool, mut r: Response<FrontBody>) -> Response<FrontBody> {
        if hsts {
            r.headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, HSTS.clone());
        }
        r
    }

    fn ready(&self, r: Response<FrontBody>) -> FrontFuture {
        FrontFuture::Ready(Some(Self::finish(self.hsts, r)))
    }

    /// Hands a request that is not a public path to the router, unless it came for a
    /// tenant's custom domain, which serves nothing of herald's own but its health.
    fn pass(&self, req: Request<Incoming>, custom_domain: bool) -> FrontFuture {
        if custom_domain && !matches!(req.uri().path(), "/livez" | "/readyz") {
            return self.ready(send(&self.assets.not_found, &req));
        }
        self.route(req)
    }

    fn route(&self, mut req: Request<Incoming>) -> FrontFuture {
        req.extensions_mut().insert(ConnectInfo(self.remote));
        let done = Arc::new(AtomicBool::new(false));
        let has_body = !hyper::body::Body::is_end_stream(req.body());
        let tracked = done.clone();
        let req = crate::middleware::strip_json_suffix(req.map(|inner| {
            axum::body::Body::new(Tracked {
                inner,
                done: tracked,
            })
        }));
        let router = self.router.clone();
        let hsts = self.hsts;
        FrontFuture::Routed(Box::pin(async move {
            let mut r = match tower::ServiceExt::oneshot(router, req).await {
                Ok(r) => r.map(Either::Right),
                Err(never) => match never {},
            };
            // A request answered before its body was read (413, or a 404 decided from the
            // path) leaves bytes on the connection: close it, and say so, so that clients
            // do not send their next request on a connection about to be dropped.
            if has_body && !done.load(Ordering::Relaxed) {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Front::finish(hsts, r)
        }))
    }
}

impl hyper::service::Service<Request<Incoming>> for Front {
    type Response = Response<FrontBody>;
    type Error = Infallible;
    type Future = FrontFuture;

    fn call(&self, req: Request<Incoming>) -> FrontFuture {
        if !host_ok(&req) {
            let mut r = ApiError::BadRequest(
                "A request must carry exactly one Host header with a valid host name.".into(),
            )
            .into_response()
            .map(Either::Right);
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return self.ready(r);
        }
        let index = self.snapshots.load();
        let host = req
            .headers()
            .get(header::HOST)
            .map(HeaderValue::as_bytes)
            .or_else(|| req.uri().host().map(str::as_bytes));
        let (path, query) = (req.uri().path(), req.uri().query());
        if let Some((page_id, rest)) = resolve::dynamic(&index, host, path) {
            let page = PublicPage(page_id.to_owned());
            let target = match query {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_owned(),
            };
            let mut req = req;
            if let Ok(uri) = target.parse() {
                *req.uri_mut() = uri;
            }
            req.extensions_mut().insert(page);
            return self.route(req);
        }
        let custom_domain = resolve::is_custom_domain(&index, host);
        let method = req.method();
        if method == Method::GET || method == Method::HEAD {
            return match resolve::resolve(&index, &self.assets, host, path, query) {
                Answer::Output(o) => self.ready(send(o, &req)),
                Answer::Cold(s, key) => match s.cached(&key) {
                    Some(o) => self.ready(send(&o, &req)),
                    None => {
                        let snap = index.by_id.get(&s.page_id).cloned();
                        let hsts = self.hsts;
                        FrontFuture::Routed(Box::pin(async move {
                            Front::finish(hsts, render_cold(snap, key, req).await)
                        }))
                    }
                },
                Answer::Redirect(to) => {
                    let mut r = bytes_response(StatusCode::PERMANENT_REDIRECT, Bytes::new());
                    if let Ok(v) = HeaderValue::from_str(&to) {
                        r.headers_mut().insert(header::LOCATION, v);
                    }
                    self.ready(r)
                }
                Answer::Pass => self.pass(req, custom_domain),
            };
        }
        match resolve::locate(&index, &self.assets, host, path, query) {
            Place::Pass => self.pass(req, custom_domain),
            _ if method == Method::OPTIONS => {
                let mut r = bytes_response(StatusCode::NO_CONTENT, Bytes::new());
                let h = r.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                h.insert(
                    header::ALLOW,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                self.ready(r)
            }
            _ => {
                let mut r = bytes_response(StatusCode::METHOD_NOT_ALLOWED, Bytes::new());
                r.headers_mut().insert(
                    header::ALLOW,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                self.ready(r)
            }
        }
    }
}

/// Longest a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// After the listener closes, how long connections just accepted get to send their request
/// before idle connections are closed.
const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(250);
/// Longest in-flight requests may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (at most [`DRAIN_TIMEOUT`]).
pub async fn run(
    listener: TcpListener,
    snapshots: Arc<Snapshots>,
    assets: Arc<Assets>,
    router: Router,
    hsts: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = Front {
            snapshots: snapshots.clone(),
            assets: assets.clone(),
            router: router.clone(),
            remote,
            hsts,
        };
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // A connection accepted just before the stop may not have sent its request yet, and
    // hyper's graceful shutdown closes such an idle connection unanswered. Let those
    // requests arrive first (requests already in flight go on meanwhile).
    tokio::time::sleep(FIRST_REQUEST_GRACE).await;
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("in-flight requests did not finish in time");
        }
    }
    Ok(())
}
