//! Support for plugin tests: built components, a host over a test database,
//! and a tiny HTTP server on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use switchboard::desk::Actor;
use switchboard::plugin::wit::{InvokeRequest, Param};
use switchboard::plugin::{PluginHost, PluginHostSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestDb;

/// A component built from `plugins/` and its manifest text.
pub(crate) fn built(name: &str) -> Option<(Vec<u8>, String)> {
    let (_, wasm, manifest) = switchboard::plugin::built::BUILT.iter().find(|(n, _, _)| *n == name)?;
    Some((std::fs::read(wasm).ok()?, std::fs::read_to_string(manifest).ok()?))
}

/// Skips a test when the plugins were not built (SWITCHBOARD_SKIP_PLUGIN_BUILD).
macro_rules! require_plugins {
    () => {
        if switchboard::plugin::built::BUILT.is_empty() {
            eprintln!("plugins were not built (SWITCHBOARD_SKIP_PLUGIN_BUILD); skipping");
            return;
        }
    };
}
pub(crate) use require_plugins;

/// A plugin host over the test database, with its own artifact cache.
pub(crate) fn host(db: &TestDb, cache: &std::path::Path) -> PluginHost {
    host_with(db, settings(cache))
}

/// Default test settings: caching in `cache`, default ceilings, nothing protected.
pub(crate) fn settings(cache: &std::path::Path) -> PluginHostSettings {
    PluginHostSettings {
        cache_dir: cache.to_path_buf(),
        require_signatures: false,
        records_kept: 100,
        ceilings: Default::default(),
        protected: Default::default(),
        execution: Default::default(),
    }
}

/// A plugin host over the test database with these settings.
pub(crate) fn host_with(db: &TestDb, settings: PluginHostSettings) -> PluginHost {
    PluginHost::new(Some(db.system.clone()), settings).expect("plugin host")
}

/// Installs a built plugin, with `edit` applied to its manifest text.
pub(crate) async fn install(host: &PluginHost, name: &str, edit: impl Fn(String) -> String) -> String {
    let (wasm, manifest) = built(name).unwrap_or_else(|| panic!("plugin {name} was not built"));
    let manifest = edit(manifest);
    let report = host.install(&Actor::System, wasm, &manifest, None).await.unwrap_or_else(|e| panic!("install {name}: {e}"));
    report.summary.name
}

/// Replaces the `[capabilities]` table of a manifest.
pub(crate) fn with_capabilities(manifest: String, capabilities: &str) -> String {
    let start = manifest.find("[capabilities]").expect("manifest has [capabilities]");
    let rest = &manifest[start + "[capabilities]".len()..];
    let end = rest.find("\n[").map(|i| start + "[capabilities]".len() + i).unwrap_or(manifest.len());
    format!("{}[capabilities]\n{capabilities}\n{}", &manifest[..start], &manifest[end..])
}

/// A service invoker request with params.
pub(crate) fn request(params: &[(&str, &str)]) -> InvokeRequest {
    InvokeRequest {
        operation: "test".into(),
        params: params.iter().map(|(k, v)| Param { key: k.to_string(), value: v.to_string() }).collect(),
        ticket: None,
    }
}

/// A value of a response's data.
pub(crate) fn data<'a>(params: &'a [Param], key: &str) -> Option<&'a str> {
    params.iter().find(|p| p.key == key).map(|p| p.value.as_str())
}

/// A loopback HTTP server answering every request with `response`; counts hits.
pub(crate) async fn http_server(response: String) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, hits)
}

/// An HTTP response with a body.
pub(crate) fn ok_response(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
}

/// Resident memory of this process in bytes.
pub(crate) fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// A loopback HTTP server that answers `response` and keeps each raw request.
pub(crate) async fn capturing_server(response: String) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let response = response.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = vec![0u8; 65536];
                // Read headers, then as much body as Content-Length says.
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                if let Ok(mut seen) = log.lock() {
                    seen.push(String::from_utf8_lossy(&request).to_string());
                }
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, seen)
}
