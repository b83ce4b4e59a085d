//! Outbound HTTP for service invokers, checked on every request inside the
//! host's send hook: the URL must match a granted `scheme://host[:port]`
//! pattern; the name is resolved here and every address checked (private,
//! loopback, link-local and metadata addresses are refused unless granted);
//! the connection goes to the checked address, so a second DNS answer cannot
//! sneak in. Redirects are returned to the plugin, never followed. Every
//! request, allowed or denied, is audited.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use switchboard_core::desk::HttpAuditRecord;

/// A granted `scheme://host[:port]` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: String,
    /// Exact host, or the suffix after `*.`.
    host: String,
    wildcard: bool,
    port: u16,
}

impl HostPattern {
    /// Parses `https://api.example.com`, `https://*.example.org:8443`, `http://localhost:8080`.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let (scheme, rest) = text.split_once("://").ok_or_else(|| format!("'{text}' must look like https://host[:port]"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(format!("'{text}': only http and https are supported")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(format!("'{text}': give scheme, host and port only (no path, query or user)"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, p.parse::<u16>().map_err(|_| format!("'{text}': bad port '{p}'"))?),
            _ => (authority, default_port),
        };
        let host = host.to_ascii_lowercase();
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(suffix) => (true, suffix.to_string()),
            None => (false, host),
        };
        if host.is_empty() || host.contains('*') {
            return Err(format!("'{text}': a wildcard may only be the first label, as in *.example.com"));
        }
        Ok(HostPattern { scheme, host, wildcard, port })
    }

    /// Whether a request to `scheme://host:port` is covered.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok =
            if self.wildcard { host.len() > self.host.len() && host.ends_with(&format!(".{}", self.host)) } else { host == self.host };
        scheme == self.scheme && port == self.port && host_ok
    }
}

/// Whether an address is private, loopback, link-local, metadata or otherwise
/// not on the public internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0xdb8
        }
    }
}

/// A canned response for local runs (`plugin run` input files).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordedResponse {
    /// Method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Full URL to match.
    pub url: String,
    /// Status to answer with.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Headers to answer with.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Body to answer with.
    #[serde(default)]
    pub body: String,
}

fn ok_status() -> u16 {
    200
}

/// What one plugin may reach.
#[derive(Debug, Clone, Default)]
pub(crate) struct EgressPolicy {
    /// Canned responses; when set, matching requests never touch the network.
    pub(crate) replay: Option<Arc<Vec<RecordedResponse>>>,
    /// Whether real requests may be made (false: only replayed ones).
    pub(crate) live: bool,
    pub(crate) plugin: String,
    pub(crate) version: String,
    pub(crate) patterns: Vec<HostPattern>,
    pub(crate) allow_internal: bool,
    pub(crate) max_requests: u64,
    pub(crate) max_response_bytes: u64,
    pub(crate) timeout: Duration,
}

/// An audit record and the counter of response bytes read so far.
pub(crate) type AuditEntry = (HttpAuditRecord, Arc<AtomicU64>);

/// The send hook of one invocation.
#[derive(Default)]
pub(crate) struct EgressHooks {
    policy: Arc<EgressPolicy>,
    sent: u64,
    pub(crate) audit: Arc<Mutex<Vec<AuditEntry>>>,
}

impl EgressHooks {
    /// Hooks enforcing `policy` (the default denies everything).
    pub(crate) fn new(policy: EgressPolicy) -> EgressHooks {
        EgressHooks { policy: Arc::new(policy), sent: 0, audit: Arc::default() }
    }

    /// The audit records of this invocation, with final byte counts.
    pub(crate) fn take_audit(&self) -> Vec<HttpAuditRecord> {
        let mut records = self.audit.lock().map(|mut a| std::mem::take(&mut *a)).unwrap_or_default();
        records
            .drain(..)
            .map(|(mut r, bytes)| {
                r.bytes = bytes.load(Ordering::Relaxed) as i64;
                r
            })
            .collect()
    }
}

struct Target {
    scheme: String,
    host: String,
    port: u16,
}

fn target_of(uri: &http::Uri) -> Result<Target, Error> {
    let scheme = uri.scheme().cloned().unwrap_or(Scheme::HTTPS);
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.trim_start_matches('[').trim_end_matches(']').to_string();
    let https = scheme == Scheme::HTTPS;
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Target { scheme: scheme.as_str().to_string(), host, port })
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>> + Send>
    {
        self.sent += 1;
        let over_budget = self.sent > self.policy.max_requests;
        let policy = self.policy.clone();
        let audit = self.audit.clone();
        Box::new(async move {
            let started = Instant::now();
            let method = request.method().as_str().to_string();
            let target = target_of(request.uri())?;
            let bytes = Arc::new(AtomicU64::new(0));
            let record = |outcome: String, status: Option<i64>| {
                let entry = HttpAuditRecord {
                    plugin: policy.plugin.clone(),
                    version: policy.version.clone(),
                    method: method.clone(),
                    scheme: target.scheme.clone(),
                    host: target.host.clone(),
                    port: i64::from(target.port),
                    status,
                    bytes: 0,
                    duration_us: started.elapsed().as_micros() as i64,
                    outcome,
                    created_at: chrono::Utc::now(),
                };
                if let Ok(mut a) = audit.lock() {
                    a.push((entry, bytes.clone()));
                }
            };
            let deny = |why: String| {
                tracing::warn!(plugin = %policy.plugin, host = %target.host, port = target.port, "outbound request denied: {why}");
                record(format!("denied: {why}"), None);
                Error::HttpRequestDenied
            };
            if over_budget {
                return Err(deny(format!("more than {} requests in one call", policy.max_requests)));
            }
            if !policy.patterns.iter().any(|p| p.matches(&target.scheme, &target.host, target.port)) {
                return Err(deny(format!("{}://{}:{} is not granted", target.scheme, target.host, target.port)));
            }
            if let Some(replay) = &policy.replay {
                let url = request.uri().to_string();
                let found = replay.iter().find(|r| r.url == url && r.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(&method)));
                if let Some(canned) = found {
                    let mut builder = http::Response::builder().status(canned.status);
                    for (k, v) in &canned.headers {
                        builder = builder.header(k, v);
                    }
                    let body = http_body_util::Full::new(Bytes::from(canned.body.clone())).map_err(|never| match never {}).boxed_unsync();
                    let response = builder.body(body).map_err(|e| Error::InternalError(Some(e.to_string())))?;
                    bytes.store(canned.body.len() as u64, Ordering::Relaxed);
                    record("replayed".into(), Some(i64::from(canned.status)));
                    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
                    return Ok((response, io));
                }
            }
            if !policy.live {
                return Err(deny(format!("no recorded response for {method} {}; pass --allow-http to make real requests", request.uri())));
            }
            let addrs: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, target.port)],
                Err(_) => {
                    match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((target.host.as_str(), target.port))).await {
                        Err(_) => {
                            record("error: DNS timeout".into(), None);
                            return Err(Error::DnsTimeout);
                        }
                        Ok(Err(e)) => {
                            record(format!("error: DNS: {e}"), None);
                            return Err(Error::DestinationNotFound);
                        }
                        Ok(Ok(found)) => found.collect(),
                    }
                }
            };
            let allowed: Vec<SocketAddr> = addrs.iter().copied().filter(|a| policy.allow_internal || !is_internal(a.ip())).collect();
            let Some(addr) = allowed.first().copied() else {
                return Err(deny(format!(
                    "{} resolves to an internal address ({}) and capabilities.http_private is not granted",
                    target.host,
                    addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
                )));
            };
            let connect_timeout = options.as_ref().and_then(|o| o.connect_timeout).unwrap_or(Duration::from_secs(10)).min(policy.timeout);
            let result = tokio::time::timeout(
                policy.timeout,
                send(request, addr, &target, connect_timeout, policy.max_response_bytes, bytes.clone()),
            )
            .await;
            match result {
                Err(_) => {
                    record("error: timeout".into(), None);
                    Err(Error::ConnectionReadTimeout)
                }
                Ok(Err(e)) => {
                    record(format!("error: {e}"), None);
                    Err(e)
                }
                Ok(Ok(response)) => {
                    record("ok".into(), Some(i64::from(response.status().as_u16())));
                    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
                    Ok((response, io))
                }
            }
        })
    }
}

/// Connects to the checked address and sends the request.
async fn send(
    mut request: http::Request<WasiBody>,
    addr: SocketAddr,
    target: &Target,
    connect_timeout: Duration,
    max_bytes: u64,
    counter: Arc<AtomicU64>,
) -> Result<http::Response<WasiBody>, Error> {
    let tcp = match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => return Err(Error::ConnectionTimeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Err(Error::ConnectionRefused),
        Ok(Err(e)) => return Err(Error::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    *request.uri_mut() = http::Uri::builder().path_and_query(path).build().map_err(|_| Error::HttpRequestUriInvalid)?;
    let response = if target.scheme == "https" {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::InternalError(Some(e.to_string())))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(target.host.clone()).map_err(Error::InvalidDnsNameError)?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(Error::Tls)?;
        exchange(hyper_util::rt::TokioIo::new(tls), request).await?
    } else {
        exchange(hyper_util::rt::TokioIo::new(tcp), request).await?
    };
    Ok(response.map(|body| CappedBody { inner: body, limit: max_bytes, counter }.boxed_unsync()))
}

async fn exchange<S>(io: S, request: http::Request<WasiBody>) -> Result<http::Response<Incoming>, Error>
where
    S: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(Error::from)?;
    tokio::spawn(async move {
        if let Err(err) = conn.await {
            tracing::debug!(error = %err, "plugin HTTP connection closed with an error");
        }
    });
    sender.send_request(request).await.map_err(Error::from)
}

/// A response body that counts bytes and stops at the plugin's limit.
struct CappedBody {
    inner: Incoming,
    limit: u64,
    counter: Arc<AtomicU64>,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let total = self.counter.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
                    if total > self.limit {
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(total)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_scheme_host_and_port_exactly() {
        let p = HostPattern::parse("https://*.example.org:8443").expect("valid");
        assert!(p.matches("https", "api.example.org", 8443));
        assert!(p.matches("https", "a.b.example.org", 8443));
        assert!(!p.matches("https", "example.org", 8443), "the wildcard needs a label");
        assert!(!p.matches("https", "evilexample.org", 8443));
        assert!(!p.matches("http", "api.example.org", 8443));
        assert!(!p.matches("https", "api.example.org", 443));
        let q = HostPattern::parse("https://hooks.example.com").expect("valid");
        assert!(q.matches("https", "HOOKS.example.com", 443));
        for bad in ["hooks.example.com", "ftp://x", "https://x/path", "https://a.*.com", "https://u@x", "https://x:99999"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }
}
