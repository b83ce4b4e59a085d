//! Outbound HTTP of service invokers through the real host: grants are
//! checked on every request, the per-call request cap holds, and a guest
//! cannot forge the `Host` header to reach another virtual host.

use std::sync::atomic::Ordering;

use switchboard::desk::Actor;

use crate::common::each_backend;
use crate::support::*;
use crate::SERIAL;

#[tokio::test]
async fn outbound_http_is_checked_on_every_request() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let (granted, _) = http_server(ok_response("{\"id\": 42}")).await;
        let (other, other_hits) = http_server(ok_response("secret")).await;
        let (redirector, _) = http_server(format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{other}/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ))
        .await;
        let caps = format!("http = [\"http://localhost:{granted}\", \"http://localhost:{redirector}\"]\nhttp_private = true");
        install(&host, "http-fetch", |m| with_capabilities(m, &caps)).await;
        let call = |url: String| {
            let host = host.clone();
            async move {
                host.invoke_service("hostile-http-fetch", request(&[("url", &url)])).await.expect("loaded").0.expect("the guest reports")
            }
        };
        let granted_call = call(format!("http://localhost:{granted}/hook")).await;
        assert_eq!(data(&granted_call.data, "status"), Some("200"), "granted works: {granted_call:?}");
        let denied = call(format!("http://127.0.0.1:{other}/")).await;
        assert_eq!(denied.error_code.as_deref(), Some("http-request-denied"), "not granted is denied: {denied:?}");
        let redirect = call(format!("http://localhost:{redirector}/")).await;
        assert_eq!(data(&redirect.data, "status"), Some("302"), "redirects are returned, not followed: {redirect:?}");
        assert_eq!(other_hits.load(Ordering::SeqCst), 0, "the non-granted host was never contacted");

        // The same name without the private-address grant: it resolves to 127.0.0.1 and is refused.
        let strict = format!("http = [\"http://localhost:{granted}\"]");
        let (wasm, manifest) = built("http-fetch").expect("built");
        let manifest = with_capabilities(manifest, &strict).replace("version = \"0.1.0\"", "version = \"0.1.1\"");
        let report = host.install(&Actor::System, wasm, &manifest, None).await.expect("upgrade");
        assert!(report.grants.added_capabilities.is_empty(), "fewer grants add nothing");
        let loopback = call(format!("http://localhost:{granted}/hook")).await;
        assert_eq!(
            loopback.error_code.as_deref(),
            Some("http-request-denied"),
            "a granted name resolving to loopback is refused: {loopback:?}"
        );
        host.flush().await;
        let audit = db.desk.plugin_http_audit(&Actor::System, Some("hostile-http-fetch"), 50).await.expect("audit");
        assert!(
            audit.iter().any(|a| a.outcome == "ok" && a.status == Some(200) && a.bytes == 10),
            "allowed request audited with bytes: {audit:?}"
        );
        assert!(audit.iter().filter(|a| a.outcome.starts_with("denied")).count() >= 2, "denials audited");
        db
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_requests_stops_at_the_cap() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let (port, hits) = http_server(ok_response("{}")).await;
        // The manifest's cap: max_http_requests = 10 per call.
        let caps = format!("http = [\"http://localhost:{port}\"]\nhttp_private = true");
        install(&host, "http-flood", |m| with_capabilities(m, &caps)).await;
        let url = format!("http://localhost:{port}/flood");
        let (result, report) = host.invoke_service("hostile-http-flood", request(&[("url", &url), ("count", "50")])).await.expect("loaded");
        let response = result.unwrap_or_else(|f| panic!("the flood guest reports its refusal: {f}\n{}", report.logs));
        assert_eq!(data(&response.data, "succeeded"), Some("10"), "{}: ten requests pass: {response:?}", db.name);
        assert_eq!(data(&response.data, "attempted"), Some("11"), "the eleventh is where it stopped: {response:?}");
        assert_eq!(response.error_code.as_deref(), Some("http-request-denied"), "{response:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 10, "the server saw exactly the ten allowed requests");

        // The budget is per call: the next call starts again at zero.
        let (result, _) = host.invoke_service("hostile-http-flood", request(&[("url", &url), ("count", "3")])).await.expect("loaded");
        let response = result.expect("the guest reports");
        assert_eq!((data(&response.data, "succeeded"), response.error_code.as_deref()), (Some("3"), None), "{response:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 13);

        host.flush().await;
        let audit = db.desk.plugin_http_audit(&Actor::System, Some("hostile-http-flood"), 100).await.expect("audit");
        assert_eq!(audit.iter().filter(|a| a.outcome == "ok").count(), 13, "every sent request is audited: {audit:?}");
        let denied: Vec<_> = audit.iter().filter(|a| a.outcome.starts_with("denied")).collect();
        assert_eq!(denied.len(), 1, "the refused one is audited as denied: {audit:?}");
        assert!(denied[0].outcome.contains("more than 10 requests"), "the denial names the cap: {:?}", denied[0]);
        db
    })
    .await;
}

#[tokio::test]
async fn a_forged_host_header_never_leaves_the_host() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let (port, seen) = capturing_server(ok_response("granted vhost")).await;
        let caps = format!("http = [\"http://localhost:{port}\"]\nhttp_private = true");
        install(&host, "http-header-spoof", |m| with_capabilities(m, &caps)).await;
        let url = format!("http://localhost:{port}/");
        for forged in ["127.0.0.1:22", "internal.example", &format!("localhost:{port}")] {
            let (result, report) =
                host.invoke_service("hostile-http-header-spoof", request(&[("url", &url), ("host", forged)])).await.expect("loaded");
            let response = result.unwrap_or_else(|f| panic!("the guest reports: {f}\n{}", report.logs));
            assert_eq!(
                response.error_code.as_deref(),
                Some("invalid-header"),
                "{}: a guest-set Host header ({forged}) is refused before anything is sent: {response:?}",
                db.name
            );
            assert!(data(&response.data, "error").is_some_and(|e| e.contains("orbidden")), "the refusal says why: {response:?}");
        }
        assert!(seen.lock().expect("lock").is_empty(), "no request reached the server: {:?}", seen.lock().expect("lock"));
        db
    })
    .await;
}
