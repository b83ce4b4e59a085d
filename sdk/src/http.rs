//! A small blocking HTTP client over `wasi:http/outgoing-handler`, for
//! service invokers (the only world that imports it).
//!
//! The host only lets requests through to the `scheme://host[:port]` patterns
//! granted in `plugin.toml` and caps the number of requests and the response
//! bytes per invocation; a refused request fails with an [`HttpError`] whose
//! [`code`](HttpError::code) is the `wasi:http` error-code name (e.g.
//! `http-request-denied`, `destination-ip-prohibited`, `dns-error`).
//! Redirects are not followed: a 3xx is returned as it is.
//!
//! ```no_run
//! use switchboard_sdk::http;
//! # fn demo() -> Result<(), switchboard_sdk::http::HttpError> {
//! let status = http::get("https://status.example.com/api/health")?.status;
//! let created = http::Request::post("https://hooks.example.com/ticket")
//!     .bearer_auth("s3cret")
//!     .json_text(r#"{"ticket": 42}"#)
//!     .max_response_bytes(16 * 1024)
//!     .send()?;
//! println!("{status} {}", created.text());
//! # Ok(()) }
//! ```

use crate::types::PluginError;
use crate::wit::service_invoker::wasi::http::outgoing_handler;
use crate::wit::service_invoker::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::wit::service_invoker::wasi::io::streams::StreamError;

/// The response body cap when none is set: 1 MiB (the host's default too).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Bytes written per `blocking-write-and-flush` call (the WASI maximum).
const WRITE_CHUNK: usize = 4096;

/// Bytes asked for per read.
const READ_CHUNK: u64 = 64 * 1024;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    code: String,
    message: String,
}

impl HttpError {
    fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }

    fn from_wasi(context: &str, error: &ErrorCode) -> Self {
        let debug = format!("{error:?}");
        Self::new(error_code_name(&debug), format!("{context}: {debug}"))
    }

    /// A machine-readable code: the `wasi:http` `error-code` case in kebab
    /// case (`http-request-denied`, `connection-refused`, …), or one of
    /// `invalid-url`, `invalid-header`, `too-large`, `io-error`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// A sentence for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for PluginError {
    fn from(e: HttpError) -> Self {
        PluginError::new(e.code, e.message)
    }
}

/// Turns `ErrorCode::DnsError(..)` (a Debug rendering) into `dns-error`.
fn error_code_name(debug: &str) -> String {
    let name = debug.strip_prefix("ErrorCode::").unwrap_or(debug);
    let name = name.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        "http-error".into()
    } else {
        out
    }
}

/// A URL split into what `wasi:http` wants.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    scheme: String,
    authority: String,
    path_with_query: String,
}

/// Splits `scheme://host[:port][/path][?query][#fragment]`; userinfo is refused.
fn split_url(url: &str) -> Result<Target, HttpError> {
    let bad = |why: &str| HttpError::new("invalid-url", format!("{url:?}: {why}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Err(bad("bad scheme"));
    }
    let rest = rest.split('#').next().unwrap_or("");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    if authority.contains('@') {
        return Err(bad("credentials in URLs are not supported; send a header"));
    }
    if authority.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("bad host"));
    }
    let path_with_query = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    Ok(Target { scheme, authority: authority.to_owned(), path_with_query })
}

/// A request to send with [`send`](Request::send).
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    max_response_bytes: usize,
    timeout_ms: Option<u64>,
}

impl Request {
    /// A request with any method (`GET`, `PUT`, `PATCH`, …).
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            timeout_ms: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header (repeat for several values).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body given as text, with `Content-Type: application/json`.
    pub fn json_text(self, json: impl Into<String>) -> Self {
        self.header("content-type", "application/json").body(json.into())
    }

    /// Serialises `value` as the JSON body, with `Content-Type: application/json`.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self, HttpError> {
        let text = serde_json::to_string(value).map_err(|e| HttpError::new("invalid-body", e.to_string()))?;
        Ok(self.json_text(text))
    }

    /// Fails the request with `too-large` when the response body is longer
    /// (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Asks the host for connect, first-byte and between-bytes timeouts (the
    /// plugin's own `timeout_ms` limit applies anyway).
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// Sends the request and reads the whole response, blocking.
    pub fn send(self) -> Result<Response, HttpError> {
        let target = split_url(&self.url)?;
        let mut entries: Vec<(String, Vec<u8>)> =
            self.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec())).collect();
        // A known length instead of chunked encoding: more servers accept it.
        let sends_body = !self.body.is_empty() || matches!(self.method.to_ascii_uppercase().as_str(), "POST" | "PUT" | "PATCH");
        if sends_body && !entries.iter().any(|(n, _)| n == "content-length") {
            entries.push(("content-length".into(), self.body.len().to_string().into_bytes()));
        }
        let fields = Fields::from_list(&entries).map_err(|e| HttpError::new("invalid-header", format!("{e:?}")))?;

        let request = OutgoingRequest::new(fields);
        let method = match self.method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_owned()),
        };
        let scheme = match target.scheme.as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.to_owned()),
        };
        let invalid = |what: &str| HttpError::new("invalid-url", format!("the host refused the {what} of {:?}", self.url));
        request.set_method(&method).map_err(|()| HttpError::new("invalid-method", self.method.clone()))?;
        request.set_scheme(Some(&scheme)).map_err(|()| invalid("scheme"))?;
        request.set_authority(Some(&target.authority)).map_err(|()| invalid("host"))?;
        request.set_path_with_query(Some(&target.path_with_query)).map_err(|()| invalid("path"))?;
        let body = request.body().map_err(|()| HttpError::new("io-error", "request body unavailable"))?;

        let options = self.timeout_ms.map(|ms| {
            let options = RequestOptions::new();
            let ns = Some(ms.saturating_mul(1_000_000));
            // Hosts may not support every timeout; the plugin's limit applies anyway.
            let _ = options.set_connect_timeout(ns);
            let _ = options.set_first_byte_timeout(ns);
            let _ = options.set_between_bytes_timeout(ns);
            options
        });

        let pending = outgoing_handler::handle(request, options).map_err(|e| HttpError::from_wasi("request refused", &e))?;
        write_body(body, &self.body)?;

        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(e))) => return Err(HttpError::from_wasi("request failed", &e)),
            Some(Err(())) | None => return Err(HttpError::new("io-error", "response already taken or not ready")),
        };
        drop(pending);

        let status = response.status();
        let headers = response.headers().entries().into_iter().map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned())).collect();
        let incoming = response.consume().map_err(|()| HttpError::new("io-error", "response body unavailable"))?;
        let body = read_body(&incoming, self.max_response_bytes);
        drop(IncomingBody::finish(incoming));
        drop(response);
        Ok(Response { status, headers, body: body? })
    }
}

/// Writes `bytes` to the request body and finishes it.
fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    {
        let stream = body.write().map_err(|()| HttpError::new("io-error", "request body stream unavailable"))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream.blocking_write_and_flush(chunk).map_err(|e| stream_error("writing the request body", e))?;
        }
        // The stream must be dropped before the body is finished.
    }
    OutgoingBody::finish(body, None).map_err(|e| HttpError::from_wasi("finishing the request body", &e))
}

/// Reads the response body, failing past `limit` bytes.
fn read_body(incoming: &IncomingBody, limit: usize) -> Result<Vec<u8>, HttpError> {
    let stream = incoming.stream().map_err(|()| HttpError::new("io-error", "response body stream unavailable"))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if out.len() + chunk.len() > limit {
                    return Err(HttpError::new("too-large", format!("response body exceeds {limit} bytes")));
                }
                out.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(out),
            Err(e) => return Err(stream_error("reading the response body", e)),
        }
    }
}

fn stream_error(context: &str, e: StreamError) -> HttpError {
    match e {
        StreamError::Closed => HttpError::new("io-error", format!("{context}: stream closed")),
        StreamError::LastOperationFailed(err) => match crate::wit::service_invoker::wasi::http::types::http_error_code(&err) {
            Some(code) => HttpError::from_wasi(context, &code),
            None => HttpError::new("io-error", format!("{context}: {}", err.to_debug_string())),
        },
    }
}

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case as `wasi:http` gives them.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::new("invalid-json", e.to_string()))
    }
}

/// `GET url` with the default body cap.
pub fn get(url: &str) -> Result<Response, HttpError> {
    Request::get(url).send()
}

/// `POST url` with a JSON body given as text.
pub fn post_json(url: &str, json: impl Into<String>) -> Result<Response, HttpError> {
    Request::post(url).json_text(json).send()
}

/// `GET url` and parse the body as JSON (any status; check it yourself with
/// [`Request::send`] when it matters).
#[cfg(feature = "json")]
pub fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, HttpError> {
    Request::get(url).header("accept", "application/json").send()?.json()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let t = split_url("HTTPS://hooks.example.com:8443/a/b?x=1#frag").unwrap();
        assert_eq!(t, Target { scheme: "https".into(), authority: "hooks.example.com:8443".into(), path_with_query: "/a/b?x=1".into() });
        let t = split_url("http://h").unwrap();
        assert_eq!(t.path_with_query, "/");
        let t = split_url("http://h?q=1").unwrap();
        assert_eq!((t.authority.as_str(), t.path_with_query.as_str()), ("h", "/?q=1"));
        assert_eq!(split_url("h/x").unwrap_err().code(), "invalid-url");
        assert_eq!(split_url("http:///x").unwrap_err().code(), "invalid-url");
        assert_eq!(split_url("http://user:pw@h/").unwrap_err().code(), "invalid-url");
    }

    #[test]
    fn names_error_codes() {
        assert_eq!(error_code_name("ErrorCode::HttpRequestDenied"), "http-request-denied");
        assert_eq!(error_code_name("ErrorCode::DnsError(DnsErrorPayload { .. })"), "dns-error");
        assert_eq!(error_code_name("ErrorCode::InternalError(Some(\"x\"))"), "internal-error");
        assert_eq!(error_code_name(""), "http-error");
    }
}
