//! The guarded outbound HTTP client: the only way herald reaches a URL a user gave it
//! (webhooks, Slack/Teams/Discord hooks).
//!
//! - The host is resolved once, by herald, and every address is checked: loopback, private,
//!   link-local (the cloud metadata service), CGNAT, benchmarking, multicast, reserved and
//!   documentation ranges are refused, as are IPv6 forms that embed an IPv4 address
//!   (IPv4-mapped `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96`, IPv4-compatible,
//!   NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4, Teredo), the IETF special-purpose
//!   `2001::/23`, documentation `3fff::/20`, SRv6 `5f00::/16` and ULA/link-local IPv6. If *any*
//!   address of a name is refused, the whole name is (Sentry's rule: a name with one public
//!   and one private record is an attack, not a mistake).
//! - The connection goes to the addresses that were checked (they are what the resolver hands
//!   the HTTP client), so a DNS answer that changes between check and connect (rebinding)
//!   cannot redirect it: each new connection resolves once, checks that answer and dials
//!   exactly it. The resolver is a [`Lookup`], so tests can stand in a rebinding DNS server.
//! - IP literals in URLs, in every spelling (`2130706433`, `0x7f.1`, `017700000001`,
//!   `[::ffff:127.0.0.1]`), are normalised by the URL parser and checked the same way.
//! - No redirects are followed (a 3xx is a failed delivery), proxy environment variables are
//!   ignored, connect and total timeouts apply, and at most `body_cap` bytes of a response are
//!   read.
//!
//! Operators may allow ranges (`HERALD_EGRESS_ALLOW`, e.g. `127.0.0.0/8` in tests).

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// A boxed, sendable future.
pub type LookupFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>,
>;

/// Where names are resolved: the system resolver ([`SystemLookup`]), or a stub in tests.
pub trait Lookup: Send + Sync + std::fmt::Debug + 'static {
    /// Every address of `host`, with `port`.
    fn lookup<'a>(&'a self, host: &'a str, port: u16) -> LookupFuture<'a>;
}

/// The operating system's resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(&'a self, host: &'a str, port: u16) -> LookupFuture<'a> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Which addresses may be reached.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    /// Ranges allowed even though they are not global.
    pub allow: Vec<IpNet>,
    lookup: Arc<dyn Lookup>,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            lookup: Arc::new(SystemLookup),
        }
    }
}

/// Why a URL may not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Blocked(pub String);

impl EgressPolicy {
    /// Parses `HERALD_EGRESS_ALLOW`: comma-separated CIDRs.
    pub fn parse(allow: &str) -> Result<Self, String> {
        let allow = allow
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>().map_err(|_| {
                    format!("egress_allow: {s:?} is not a CIDR range such as 127.0.0.0/8")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allow,
            ..Self::default()
        })
    }

    /// The same policy resolving names with `lookup`.
    pub fn with_lookup(mut self, lookup: Arc<dyn Lookup>) -> Self {
        self.lookup = lookup;
        self
    }

    /// Whether `ip` may be connected to.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|n| n.contains(&ip)) || is_global(ip)
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(Blocked(format!("{ip} is not a public address")))
        }
    }

    /// Checks a URL's scheme, credentials and, for IP literals, its address. Names are
    /// checked when they are resolved (see [`GuardedClient`]).
    pub fn check_url(&self, raw: &str) -> Result<Url, Blocked> {
        let url = Url::parse(raw).map_err(|e| Blocked(format!("not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Blocked(
                "only http and https URLs can be reached".to_owned(),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Blocked("URLs with credentials are refused".to_owned()));
        }
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if d == "localhost"
                    || d.ends_with(".localhost")
                    || d.ends_with(".local")
                    || d.ends_with(".internal")
                {
                    return Err(Blocked(format!("{d} is a local name")));
                }
            }
            None => return Err(Blocked("the URL has no host".to_owned())),
        }
        Ok(url)
    }

    /// Resolves `host` and checks every address; the addresses are returned for pinning.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Blocked> {
        let addrs: Vec<SocketAddr> = self
            .lookup
            .lookup(host, port)
            .await
            .map_err(|e| Blocked(format!("{host} does not resolve: {e}")))?;
        if addrs.is_empty() {
            return Err(Blocked(format!("{host} has no address")));
        }
        for a in &addrs {
            self.check_ip(a.ip())
                .map_err(|b| Blocked(format!("{host} resolves to {}", b.0)))?;
        }
        Ok(addrs)
    }

    /// Checks a URL fully (scheme, credentials, literal or resolved addresses), as done when
    /// a subscriber saves it.
    pub async fn check_reachable(&self, raw: &str) -> Result<Url, Blocked> {
        let url = self.check_url(raw)?;
        if let Some(Host::Domain(d)) = url.host() {
            self.resolve(d, url.port_or_known_default().unwrap_or(443))
                .await?;
        }
        Ok(url)
    }
}

fn v4_global(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 shared (CGNAT)
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 IETF protocol assignments
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 192.88.99.0/24 6to4 relay
        || o[0] >= 240) // 240.0.0.0/4 reserved
}

fn v6_global(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_global(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site local (deprecated)
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0) // ::/96 IPv4-compatible
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0xffff && s[5] == 0) // ::ffff:0:0:0/96 IPv4-translated (SIIT)
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0) // the rest of ::/64 (nothing global)
        || (s[0] == 0x64 && s[1] == 0xff9b) // 64:ff9b::/96 NAT64 and 64:ff9b:1::/48 local NAT64
        || s[0] == 0x2002 // 2002::/16 6to4
        || (s[0] == 0x2001 && s[1] < 0x200) // 2001::/23 IETF special purpose: Teredo, benchmarking, ORCHID
        || (s[0] == 0x2001 && s[1] == 0xdb8) // 2001:db8::/32 documentation
        || (s[0] & 0xfff0) == 0x3ff0 // 3fff::/20 documentation
        || s[0] == 0x5f00 // 5f00::/16 SRv6 SIDs
        || (s[0] == 0x100 && s[1] == 0 && s[2] == 0 && s[3] == 0)) // 100::/64 discard
}

/// Whether `ip` is an ordinary public address.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_global(v4),
        IpAddr::V6(v6) => v6_global(v6),
    }
}

#[derive(Debug)]
struct GuardedResolver {
    policy: Arc<EgressPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = policy.resolve(name.as_str(), 0).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Settings of the guarded client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// Most response bytes read (and kept for the delivery log).
    pub body_cap: usize,
    /// An explicit egress proxy; environment proxy variables are never used.
    pub proxy: Option<String>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            body_cap: 4096,
            proxy: None,
        }
    }
}

/// What a guarded request got back.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// At most `body_cap` bytes of the body.
    pub body: String,
}

/// Why a guarded request failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The destination may not be reached: not retried.
    #[error("blocked: {0}")]
    Blocked(#[from] Blocked),
    /// Timeout, refused connection, TLS failure: worth retrying.
    #[error("{0}")]
    Failed(String),
}

/// An HTTP client that can only reach what the policy permits.
#[derive(Debug, Clone)]
pub struct GuardedClient {
    policy: Arc<EgressPolicy>,
    http: reqwest::Client,
    body_cap: usize,
}

impl GuardedClient {
    /// Builds the client.
    pub fn new(policy: EgressPolicy, settings: &ClientSettings) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let mut b = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .user_agent(concat!(
                "herald/",
                env!("CARGO_PKG_VERSION"),
                " (+status notifications)"
            ));
        if let Some(p) = &settings.proxy {
            b = b.proxy(reqwest::Proxy::all(p).map_err(|e| format!("egress proxy: {e}"))?);
        }
        Ok(Self {
            policy,
            http: b.build().map_err(|e| e.to_string())?,
            body_cap: settings.body_cap,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// POSTs `body` (JSON) to `url` with `headers`.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, SendError> {
        let url = self.policy.check_url(url)?;
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.send(req.body(body)).await
    }

    /// GETs `url` with `headers` (metrics providers' query APIs).
    pub async fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Reply, SendError> {
        let url = self.policy.check_url(url)?;
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.send(req).await
    }

    /// GETs `url` (built-in checks), within `timeout`.
    pub async fn get_within(&self, url: &str, timeout: Duration) -> Result<Reply, SendError> {
        let url = self.policy.check_url(url)?;
        self.send(self.http.get(url).timeout(timeout)).await
    }

    /// POSTs a form (the SMS API).
    pub async fn post_form(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Result<Reply, SendError> {
        let url = self.policy.check_url(url)?;
        let mut req = self.http.post(url).form(form);
        if let Some((u, p)) = basic {
            req = req.basic_auth(u, Some(p));
        }
        self.send(req).await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, SendError> {
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                // The resolver's refusal arrives as a connect error: report it as blocked.
                let text = format!("{e:#}");
                let source = std::error::Error::source(&e)
                    .map(|s| format!("{s:#}"))
                    .unwrap_or_default();
                let all = format!("{text} {source} {:?}", e);
                if let Some(i) = all
                    .find("resolves to")
                    .or_else(|| all.find("is not a public address"))
                {
                    let start = all[..i].rfind(['(', '"', ':']).map_or(0, |p| p + 1);
                    return Err(SendError::Blocked(Blocked(
                        all[start..]
                            .split(['"', ')'])
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_owned(),
                    )));
                }
                if e.is_timeout() {
                    return Err(SendError::Failed("timed out".to_owned()));
                }
                // The causes say what went wrong (refused, reset, certificate verify failed).
                let mut why = text;
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    let c_text = c.to_string();
                    if !why.contains(&c_text) {
                        why = format!("{why}: {c_text}");
                    }
                    cause = c.source();
                }
                return Err(SendError::Failed(why));
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Ok(Some(c)) = resp.chunk().await {
            let room = self.body_cap.saturating_sub(body.len());
            body.extend_from_slice(&c[..c.len().min(room)]);
            if body.len() >= self.body_cap {
                break;
            }
        }
        Ok(Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RELIABILITY.md row 1, as literals.
    const CORPUS: &[&str] = &[
        "http://127.0.0.1/",
        "http://localhost/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://198.18.0.1/",
        "http://224.0.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b:1::7f00:1]/",
        "http://[64:ff9b:1:ffff::a00:1]/",
        "http://[::ffff:0:127.0.0.1]/",
        "http://[::ffff:0:7f00:1]/",
        "http://[::ffff:0:a9fe:a9fe]/",
        "http://[0:0:0:0:1:ffff:7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[2001::7f00:1]/",
        "http://[2001:2::1]/",
        "http://[2001:20::1]/",
        "http://[3fff::1]/",
        "http://[5f00::1]/",
        "http://user:pw@127.0.0.1/",
        "http://user:pw@example.com/",
        "ftp://example.com/",
        "http://metadata.internal/",
        "http://anything.localhost/",
    ];

    #[test]
    fn every_literal_in_the_corpus_is_refused() {
        let p = EgressPolicy::default();
        for u in CORPUS {
            assert!(p.check_url(u).is_err(), "{u} was allowed");
        }
    }

    #[test]
    fn public_addresses_pass() {
        let p = EgressPolicy::default();
        assert!(p.check_url("https://hooks.example.com/x").is_ok());
        assert!(p.check_url("https://93.184.215.14/").is_ok());
        assert!(p.check_url("https://[2606:4700::1111]/").is_ok());
    }

    #[test]
    fn an_allowed_range_opens_exactly_that_range() {
        let p = EgressPolicy::parse("127.0.0.0/8, ::1/128").unwrap();
        assert!(p.check_url("http://127.0.0.1:9000/").is_ok());
        assert!(p.check_url("http://[::1]:9000/").is_ok());
        assert!(p.check_url("http://10.0.0.1/").is_err());
        assert!(EgressPolicy::parse("not-a-cidr").is_err());
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused() {
        let p = EgressPolicy::default();
        let e = p
            .check_reachable("http://localhost.:8080/")
            .await
            .unwrap_err();
        assert!(
            e.0.contains("local") || e.0.contains("not a public address"),
            "{e}"
        );
        let e = p.resolve("localhost", 80).await.unwrap_err();
        assert!(e.0.contains("resolves to"), "{e}");
    }
}
