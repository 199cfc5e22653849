//! TLS certificate expiry checks: a TLS handshake with `host:port` through the egress
//! policy's address guard (the same resolve-check-dial-exactly-that as TCP checks), the
//! chain verified against the trusted roots *at the reconciler's time* (time is an input:
//! a test's manual clock moves certificates towards their end as the real clock would), and
//! the leaf certificate's `notAfter` read with x509-parser.
//!
//! rustls runs on the ring provider, chosen explicitly (never the process default), so no
//! other crate's choice of provider can change or break it.

use chrono::{DateTime, Utc};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

use crate::egress::EgressPolicy;

/// The certificates TLS checks trust.
#[derive(Debug, Clone)]
pub struct TlsRoots(Arc<RootCertStore>);

impl TlsRoots {
    /// No root at all (tests add their own CA with [`TlsRoots::add_pem`]).
    pub fn empty() -> Self {
        Self(Arc::new(RootCertStore::empty()))
    }

    /// The operating system's roots (what the HTTP client trusts too). Certificates the
    /// system store holds but rustls cannot parse are skipped.
    pub fn system() -> Self {
        let mut store = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "a system root certificate could not be read");
        }
        let (added, ignored) = store.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "system roots for TLS checks");
        Self(Arc::new(store))
    }

    /// Adds every certificate of a PEM document (an internal CA); returns how many. A
    /// document with none is refused (a wrong file would otherwise trust nothing, silently).
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, String> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM certificate list: {e}"))?;
        let store = Arc::make_mut(&mut self.0);
        let mut n = 0;
        for c in certs {
            store
                .add(c)
                .map_err(|e| format!("not a usable root certificate: {e}"))?;
            n += 1;
        }
        if n == 0 {
            return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned());
        }
        Ok(n)
    }

    /// How many roots are trusted.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no root is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[expect(
    deprecated,
    reason = "ring has no post-quantum key exchange; a check that reads a certificate's expiry sends nothing worth harvesting, and ring builds without the aws-lc toolchain"
)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Verifies like rustls's WebPKI verifier, at a given time rather than the system's.
#[derive(Debug)]
struct AtTime {
    inner: Arc<WebPkiServerVerifier>,
    now: UnixTime,
}

impl ServerCertVerifier for AtTime {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            self.now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn client_config(roots: &TlsRoots, now: DateTime<Utc>) -> Result<ClientConfig, String> {
    let provider = provider();
    let inner = WebPkiServerVerifier::builder_with_provider(roots.0.clone(), provider.clone())
        .build()
        .map_err(|e| format!("no trusted roots: {e}"))?;
    let secs = u64::try_from(now.timestamp()).unwrap_or(0);
    let verifier = AtTime {
        inner,
        now: UnixTime::since_unix_epoch(Duration::from_secs(secs)),
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Splits `host:port` (`[v6]:port` too).
pub fn split_target(target: &str) -> Result<(&str, u16), String> {
    target
        .rsplit_once(':')
        .and_then(|(h, p)| {
            Some((
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse::<u16>().ok()?,
            ))
        })
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| format!("{target:?} is not host:port"))
}

/// Connects to `target` (`host:port`) within `timeout`, verifies its certificate chain at
/// `now` for the host's name (or address) and returns the leaf certificate's `notAfter`.
/// `Err` says why: blocked by the egress policy, no connection, a failed handshake or an
/// invalid (untrusted, expired, wrong name) certificate.
pub async fn certificate_not_after(
    policy: &EgressPolicy,
    roots: &TlsRoots,
    target: &str,
    timeout: Duration,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let (host, port) = split_target(target)?;
    // The URL rules first, as for HTTP checks: local names (`localhost`, `*.internal`) and
    // every spelling of an address literal are refused before anything is resolved.
    policy
        .check_url(&format!("https://{target}/"))
        .map_err(|b| format!("blocked: {b}"))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host:?} is not a host name or address"))?;
    let addrs = policy
        .resolve(host, port)
        .await
        .map_err(|b| format!("blocked: {b}"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(roots, now)?));
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect(&addrs[..])
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let leaf = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| "the server sent no certificate".to_owned())?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
            .map_err(|e| format!("the certificate cannot be read: {e}"))?;
        let at = cert.validity().not_after.timestamp();
        DateTime::<Utc>::from_timestamp(at, 0)
            .ok_or_else(|| format!("the certificate's notAfter ({at}) is out of range"))
    };
    match tokio::time::timeout(timeout, handshake).await {
        Ok(r) => r,
        Err(_) => Err(format!("no TLS handshake within {} s", timeout.as_secs())),
    }
}
