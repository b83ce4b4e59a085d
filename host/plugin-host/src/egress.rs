//! Outbound HTTP for service invokers, checked on every request inside the
//! host's send hook: the URL must match a granted `scheme://host[:port]`
//! pattern; the name is resolved here and every address checked (private,
//! loopback, link-local and metadata addresses are refused unless granted);
//! the connection goes to the checked address, so a second DNS answer cannot
//! sneak in. A URL with user info (`http://user:pw@host/`) is refused (put
//! credentials in a header). Redirects are returned to the plugin, never
//! followed. Request bodies count against the call's output budget
//! (`max_output_bytes`), response bodies against `max_http_response_bytes`.
//! Every request, allowed or denied, is audited.

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

use crate::output::OutputBudget;
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
        // An IPv6 literal is granted as `[::1]` and compared without brackets, as requests name it.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
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

/// IPv4 ranges that are not the public internet (IANA special-purpose
/// registry): this network, private, shared (CGN), loopback, link-local (the
/// cloud metadata address), IETF protocol assignments, documentation, the
/// 6to4 relay, benchmarking, multicast, reserved and broadcast.
const V4_INTERNAL: [(u32, u8); 16] = [
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0a00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 shared address space (CGN)
    (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16 link-local, cloud metadata
    (0xac10_0000, 12), // 172.16.0.0/12 private
    (0xc000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xc000_0200, 24), // 192.0.2.0/24 documentation (TEST-NET-1)
    (0xc058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
    (0xc0a8_0000, 16), // 192.168.0.0/16 private
    (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24 documentation (TEST-NET-2)
    (0xcb00_7100, 24), // 203.0.113.0/24 documentation (TEST-NET-3)
    (0xe000_0000, 4),  // 224.0.0.0/4 multicast
    (0xf000_0000, 4),  // 240.0.0.0/4 reserved
    (0xffff_ffff, 32), // 255.255.255.255 broadcast
];

/// The public IPv6 space: global unicast, 2000::/3. Everything outside it
/// (::/96 IPv4-compatible, ::ffff:0:0/96 IPv4-mapped, 64:ff9b::/96 and
/// 64:ff9b:1::/48 NAT64, 100::/64 discard, fc00::/7 unique-local, fe80::/10
/// link-local, fec0::/10 site-local, ff00::/8 multicast, loopback and
/// unspecified) is internal.
const V6_PUBLIC: (u128, u8) = (0x2000 << 112, 3);

/// Special-purpose ranges inside 2000::/3 that are internal too: the IETF
/// protocol block with Teredo (2001::/23, 2001::/32), documentation
/// (2001:db8::/32, 3fff::/20), 6to4 (2002::/16, which embeds any IPv4
/// address, the internal ones included) and SRv6 SIDs (5f00::/16).
const V6_INTERNAL: [(u128, u8); 5] =
    [(0x2001 << 112, 23), (0x2001_0db8 << 96, 32), (0x2002 << 112, 16), (0x3fff << 112, 20), (0x5f00 << 112, 16)];

/// Whether `addr` lies in `net/prefix` (`T` is u32 or u128).
fn in_net<T>(addr: T, (net, prefix): (T, u8)) -> bool
where
    T: Copy + PartialEq + std::ops::Shr<u32, Output = T> + std::ops::BitXor<Output = T> + From<u8>,
{
    let bits = (std::mem::size_of::<T>() * 8) as u32;
    let prefix = u32::from(prefix);
    prefix == 0 || ((addr ^ net) >> (bits - prefix)) == T::from(0)
}

/// Whether an address is not on the public internet: private, loopback,
/// link-local, metadata, documentation, multicast, reserved, or any IPv6
/// address outside global unicast or inside a special-purpose range that can
/// carry an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible and -mapped).
/// Such addresses are refused unless `capabilities.http_private` is granted.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let addr = u32::from(v4);
            V4_INTERNAL.iter().any(|net| in_net(addr, *net))
        }
        IpAddr::V6(v6) => {
            let addr = u128::from(v6);
            !in_net(addr, V6_PUBLIC) || V6_INTERNAL.iter().any(|net| in_net(addr, *net))
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
    /// The call's output budget, which request bodies are charged to.
    pub(crate) budget: Arc<OutputBudget>,
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
            if request.uri().authority().is_some_and(|a| a.as_str().contains('@')) {
                return Err(deny("the URL holds user info (user:password@); send credentials in a header instead".into()));
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
                send(request, addr, &target, connect_timeout, policy.max_response_bytes, bytes.clone(), policy.budget.clone()),
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
    budget: Arc<OutputBudget>,
) -> Result<http::Response<WasiBody>, Error> {
    let tcp = match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => return Err(Error::ConnectionTimeout),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Err(Error::ConnectionRefused),
        Ok(Err(e)) => return Err(Error::Connect(e)),
        Ok(Ok(s)) => s,
    };
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    *request.uri_mut() = http::Uri::builder().path_and_query(path).build().map_err(|_| Error::HttpRequestUriInvalid)?;
    let request = request.map(|body| ChargedBody { inner: body, budget: budget.clone() }.boxed_unsync());
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

/// A request body charged to the call's output budget frame by frame; past
/// `max_output_bytes` it fails, so the request is never completed.
struct ChargedBody {
    inner: WasiBody,
    budget: Arc<OutputBudget>,
}

impl Body for ChargedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if self.budget.charge("an HTTP request body", data.len() as u64).is_err() {
                        return Poll::Ready(Some(Err(Error::HttpRequestBodySize(Some(data.len() as u64)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
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
        let v6 = HostPattern::parse("http://[64:ff9b::7f00:1]:8080").expect("valid");
        assert!(v6.matches("http", "64:ff9b::7f00:1", 8080), "an IPv6 literal grant matches the request's host");
        let q = HostPattern::parse("https://hooks.example.com").expect("valid");
        assert!(q.matches("https", "HOOKS.example.com", 443));
        for bad in ["hooks.example.com", "ftp://x", "https://x/path", "https://a.*.com", "https://u@x", "https://x:99999"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    /// (range, an address at its start, one at its end or inside) for every internal range.
    const INTERNAL: &[(&str, &str, &str)] = &[
        ("0.0.0.0/8", "0.0.0.0", "0.255.255.255"),
        ("10.0.0.0/8", "10.0.0.0", "10.255.255.255"),
        ("100.64.0.0/10", "100.64.0.0", "100.127.255.255"),
        ("127.0.0.0/8", "127.0.0.1", "127.255.255.254"),
        ("169.254.0.0/16", "169.254.0.1", "169.254.169.254"),
        ("172.16.0.0/12", "172.16.0.1", "172.31.255.255"),
        ("192.0.0.0/24", "192.0.0.1", "192.0.0.255"),
        ("192.0.2.0/24", "192.0.2.1", "192.0.2.255"),
        ("192.88.99.0/24", "192.88.99.1", "192.88.99.255"),
        ("192.168.0.0/16", "192.168.0.1", "192.168.255.255"),
        ("198.18.0.0/15", "198.18.0.1", "198.19.255.255"),
        ("198.51.100.0/24", "198.51.100.1", "198.51.100.255"),
        ("203.0.113.0/24", "203.0.113.1", "203.0.113.255"),
        ("224.0.0.0/4", "224.0.0.1", "239.255.255.255"),
        ("240.0.0.0/4", "240.0.0.1", "255.255.255.254"),
        ("broadcast", "255.255.255.255", "255.255.255.255"),
        ("::/128 unspecified, ::1 loopback", "::", "::1"),
        ("::/96 IPv4-compatible", "::7f00:1", "::a9fe:a9fe"),
        ("::/96 IPv4-compatible, public v4", "::1.1.1.1", "::ffff:ffff"),
        ("::ffff:0:0/96 IPv4-mapped", "::ffff:127.0.0.1", "::ffff:169.254.169.254"),
        ("::ffff:0:0/96 IPv4-mapped, public v4", "::ffff:1.1.1.1", "::ffff:8.8.8.8"),
        ("64:ff9b::/96 NAT64", "64:ff9b::a9fe:a9fe", "64:ff9b::808:808"),
        ("64:ff9b:1::/48 local NAT64", "64:ff9b:1::1", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"),
        ("100::/64 discard", "100::", "100::ffff:ffff:ffff:ffff"),
        ("2001::/32 Teredo", "2001::1", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2001::/23 IETF protocol assignments", "2001:2::1", "2001:1ff:ffff::1"),
        ("2001:db8::/32 documentation", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("2002::/16 6to4", "2002:7f00:1::1", "2002:a9fe:a9fe::1"),
        ("2002::/16 6to4, public v4", "2002:101:101::1", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("3fff::/20 documentation", "3fff::1", "3fff:fff:ffff::1"),
        ("5f00::/16 SRv6", "5f00::1", "5f00:ffff::1"),
        ("fc00::/7 unique-local", "fc00::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fe80::/10 link-local", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fec0::/10 site-local", "fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("ff00::/8 multicast", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("outside 2000::/3", "1::1", "4000::1"),
    ];

    #[test]
    fn every_special_purpose_range_is_internal() {
        for (range, first, last) in INTERNAL {
            for ip in [first, last] {
                assert!(is_internal(ip.parse().expect("ip")), "{ip} ({range}) must count as internal");
            }
        }
    }

    #[test]
    fn public_addresses_next_to_the_ranges_are_not_internal() {
        for ip in [
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700::1111",
            "2001:200::1",
            "2001:4860:4860::8888",
            "2003::1",
            "2a00:1450:4001::1",
            "3ffe:ffff::1",
        ] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip} is public");
        }
    }
}
