//! Plugins through the real host: the example plugins, install checks and the
//! precompiled cache, the Python and JavaScript ports, the webhook invoker;
//! hostile guests and the breaker (`sandbox`), the caps on every output path
//! (`caps`), outbound HTTP (`egress`), the key-value store (`kv`), limits and
//! directory grants (`limits`), whose rights a plugin acts with (`permissions`)
//! in the modules below. Every test runs on each
//! backend.

#[path = "plugins/caps.rs"]
mod caps;
mod common;
#[path = "plugins/egress.rs"]
mod egress;
#[path = "plugins/kv.rs"]
mod kv;
#[path = "plugins/limits.rs"]
mod limits;
#[path = "plugins/permissions.rs"]
mod permissions;
#[path = "plugins/sandbox.rs"]
mod sandbox;
#[path = "plugins/support.rs"]
mod support;

use std::time::Instant;

use common::each_backend;
use serde_json::json;
use support::*;
use switchboard::desk::{Actor, CatalogInput, CatalogKind, DynamicFieldInput, HistoryEvent, NewArticle, NewTicket, Trigger};
use switchboard::plugin::wit::mail_from_bytes;

pub(crate) const SPAM: &[u8] = b"From: Lucky Winner <promo@bulk.example>\r\nTo: a@x.example, b@x.example, c@x.example, d@x.example, e@x.example, f@x.example, g@x.example, h@x.example, i@x.example, j@x.example, k@x.example\r\nSubject: YOU ARE A WINNER!!! CLAIM YOUR FREE PRIZE NOW\r\nPrecedence: bulk\r\nX-Spam-Flag: YES\r\n\r\nCongratulations winner! Click here to claim your free prize, viagra, lottery, bitcoin.\r\n";
pub(crate) const HAM: &[u8] = b"From: Jane Doe <jane@example.com>\r\nTo: support@example.com\r\nSubject: Printer on fire\r\nMessage-ID: <1@example.com>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nThe printer in room 4 smokes.\r\n";

/// The tests of this binary run one at a time: one measures the process's memory.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Creates the queues the keyword router's bundled rules route to (Hardware,
/// Billing) and a ticket in Raw that they route: "Printer out of toner".
pub(crate) async fn toner_ticket(desk: &switchboard::desk::Desk) -> i64 {
    for queue in ["Hardware", "Billing"] {
        desk.catalog_create(&Actor::System, CatalogKind::Queue, CatalogInput { name: queue.into(), ..Default::default() })
            .await
            .expect("queue");
    }
    let ticket = NewTicket {
        title: "Printer out of toner".into(),
        queue: Some("Raw".into()),
        article: NewArticle { body: "The printer needs new toner.".into(), ..Default::default() },
        ..Default::default()
    };
    desk.ticket_create(&Actor::System, ticket).await.expect("ticket").ticket.id
}

pub(crate) fn mail(raw: &[u8]) -> switchboard::plugin::wit::Mail {
    mail_from_bytes(raw, "test", false, 1 << 20).expect("parse mail")
}

#[tokio::test]
async fn example_plugins_do_their_jobs_through_the_real_host() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let desk = db.desk.clone();
        for name in ["spam-filter", "keyword-router", "escalation"] {
            install(&host, name, |m| m).await;
        }

        let (verdict, report) = host.filter_mail("spam-filter", mail(SPAM)).await.expect("loaded");
        let verdict = verdict.expect("spam filter ran");
        assert_eq!(verdict.queue.as_deref(), Some("Junk"), "{}: spam goes to Junk: {verdict:?}", db.name);
        assert!(report.duration_us > 0);
        assert_eq!(report.fuel_used, None, "{}: fuel is counted only for a plugin with a fuel limit", db.name);
        let (verdict, _) = host.filter_mail("spam-filter", mail(HAM)).await.expect("loaded");
        assert_eq!(verdict.expect("ran").queue, None, "{}: a normal mail stays where it is", db.name);

        let id = toner_ticket(&desk).await;
        let dry = host.apply_to_ticket(&Actor::System, Trigger::Test, "keyword-router", id, vec![]).await.expect("test run");
        assert!(!dry.applied && !dry.changes.is_empty(), "test mode reports changes: {:?}", dry.changes);
        assert_eq!(desk.ticket_get(&Actor::System, id).await.expect("get").queue, "Raw", "test mode changes nothing");
        let run = host.apply_to_ticket(&Actor::System, Trigger::Apply, "keyword-router", id, vec![]).await.expect("apply");
        assert!(run.applied);
        assert_eq!(run.ticket.queue, "Hardware", "{}: routed by keyword", db.name);
        assert_eq!(run.ticket.priority_id, 4);
        let history = desk.history_list(&Actor::System, id).await.expect("history");
        assert!(
            history.iter().any(|h| h.field.as_deref() == Some("queue") && h.actor == "plugin:keyword-router@0.1.0 by system (apply)"),
            "{}: history names the plugin, version, who set it off and how: {history:?}",
            db.name
        );
        assert!(history.iter().any(|h| h.event == HistoryEvent::ArticleAdded), "the router leaves a note");

        desk.dynamic_field_create(
            &Actor::System,
            DynamicFieldInput {
                name: "Escalated".into(),
                object_type: "ticket".into(),
                field_type: "checkbox".into(),
                ..Default::default()
            },
        )
        .await
        .expect("field");
        let run = host.apply_to_ticket(&Actor::System, Trigger::Apply, "escalation", id, vec![]).await.expect("escalate");
        assert!(run.applied, "{:?}", run.changes);
        assert_eq!(run.ticket.dynamic_fields.get("Escalated"), Some(&json!(true)));
        assert!(run.ticket.priority_id >= 4);
        host.flush().await;
        let records = desk.plugin_invocations(&Actor::System, "keyword-router", 10).await.expect("records");
        assert_eq!(records.len(), 2, "every invocation is recorded");
        assert!(records.iter().all(|r| r.outcome.as_str() == "ok" && r.peak_memory > 0));
        db
    })
    .await;
}

#[tokio::test]
async fn install_checks_the_world_and_the_manifest_and_restarts_use_the_cache() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let (wasm, manifest) = built("spam-filter").expect("built");
        let wrong = manifest.replace("world = \"postmaster-filter\"", "world = \"script-task\"");
        let err = host.install(&Actor::System, wasm.clone(), &wrong, None).await.expect_err("wrong world");
        assert!(err.to_string().contains("script-task"), "{err}");
        let err = host
            .install(&Actor::System, wasm.clone(), &manifest.replace("wit = \"0.1.0\"", "wit = \"9.0.0\""), None)
            .await
            .expect_err("wit");
        assert!(err.to_string().contains("wit"), "{err}");
        let err = host.install(&Actor::System, b"not wasm".to_vec(), &manifest, None).await.expect_err("garbage");
        assert!(err.to_string().contains("component"), "{err}");
        let agent = Actor::Customer { login: "x".into() };
        assert!(host.install(&agent, wasm.clone(), &manifest, None).await.is_err(), "only admins install");
        host.install(&Actor::System, wasm, &manifest, None).await.expect("install");
        let artifacts: Vec<std::path::PathBuf> = std::fs::read_dir(cache.path())
            .expect("cache dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect();
        assert_eq!(artifacts.len(), 1, "the compiled component is cached on disk");
        let artifact = artifacts[0].clone();
        let written = std::fs::metadata(&artifact).and_then(|m| m.modified()).expect("mtime");
        // A restart: a new host over the same database and cache loads without compiling.
        let restarted = support::host(&db, cache.path());
        let started = Instant::now();
        assert_eq!(restarted.preload().await.expect("preload"), 1);
        let (verdict, _) = restarted.filter_mail("spam-filter", mail(HAM)).await.expect("loaded");
        verdict.expect("runs after a restart");
        eprintln!("restart to first call: {:?}", started.elapsed());
        let reused = std::fs::metadata(&artifact).and_then(|m| m.modified()).expect("mtime");
        assert_eq!(reused, written, "the restart loaded the cached artifact instead of compiling again");

        // An artifact this host did not record for the component is never loaded, even a
        // valid one: swap in the compiled panic guest (same world) under spam-filter's name.
        // Without the digest check the restarted host would run it and trap.
        install(&host, "panic", |m| m).await;
        let panic_artifact = std::fs::read_dir(cache.path())
            .expect("cache dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "cwasm") && *p != artifact)
            .expect("the panic guest's artifact");
        // (Replaced, not rewritten in place: running hosts still map the old file.)
        let forged = artifact.with_extension("forged");
        std::fs::copy(&panic_artifact, &forged).expect("copy");
        std::fs::rename(&forged, &artifact).expect("swap in the forged artifact");
        let again = support::host(&db, cache.path());
        assert_eq!(again.preload().await.expect("preload"), 2);
        let (verdict, report) = again.filter_mail("spam-filter", mail(HAM)).await.expect("loaded");
        verdict.unwrap_or_else(|f| panic!("the forged artifact was loaded: {f}\n{}", report.logs));
        let replaced = std::fs::read(&artifact).expect("artifact") != std::fs::read(&panic_artifact).expect("artifact");
        assert!(replaced, "the forged artifact was replaced");
        db
    })
    .await;
}

/// The Python and JavaScript builds of the spam filter (made by
/// plugins/build-py.sh and build-js.sh, which tests/run calls).
fn guest_language_filter(file: &str, dir: &str) -> Option<(Vec<u8>, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = std::fs::read(root.join("target/wasm32-wasip2/release").join(file)).ok();
    let manifest = std::fs::read_to_string(root.join("plugins").join(dir).join("plugin.toml")).ok();
    match (wasm, manifest) {
        (Some(w), Some(m)) => Some((w, m)),
        _ if std::env::var_os("SWITCHBOARD_REQUIRE_GUEST_LANGS").is_some() => {
            panic!("{file} was not built (plugins/build-py.sh, build-js.sh)")
        }
        _ => None,
    }
}

#[tokio::test]
async fn python_and_javascript_filters_agree_with_the_rust_one() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        // A cache shared across runs: compiling the big components once is enough.
        let cache = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugin-test-cache");
        let host = host(&db, &cache);
        install(&host, "spam-filter", |m| m).await;
        for (file, dir) in [("spam_filter_py.wasm", "spam-filter-py"), ("spam_filter_js.wasm", "spam-filter-js")] {
            let Some((wasm, manifest)) = guest_language_filter(file, dir) else {
                eprintln!("{file} not built; skipping (tests/run builds it)");
                continue;
            };
            let report = host.install(&Actor::System, wasm, &manifest, None).await.unwrap_or_else(|e| panic!("install {file}: {e}"));
            let name = report.summary.name;
            for raw in [SPAM, HAM] {
                let (rust, _) = host.filter_mail("spam-filter", mail(raw)).await.expect("loaded");
                let (other, report) = host.filter_mail(&name, mail(raw)).await.expect("loaded");
                let (rust, other) = (rust.expect("rust runs"), other.unwrap_or_else(|f| panic!("{name}: {f}\n{}", report.logs)));
                assert_eq!(other.queue, rust.queue, "{name} routes like the Rust filter");
                let score = |v: &switchboard::plugin::wit::Verdict| {
                    v.dynamic_fields.iter().find(|f| f.name == "SpamScore").map(|f| f.values.clone())
                };
                assert_eq!(score(&other), score(&rust), "{name} scores like the Rust filter");
            }
        }
        db
    })
    .await;
}

#[tokio::test]
async fn the_webhook_invoker_posts_and_maps_the_answer() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let (port, seen) = capturing_server(ok_response("{\"id\": 42, \"status\": \"open\"}")).await;
        let (down, _) = http_server("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into()).await;
        let caps = format!("http = [\"http://localhost:{port}\", \"http://localhost:{down}\"]\nhttp_private = true");
        install(&host, "webhook-invoker", |m| with_capabilities(m, &caps)).await;
        let config = |url: String| {
            vec![
                ("url".to_string(), url),
                ("token".to_string(), "s3cret-token".to_string()),
                ("mapping".to_string(), "id=>ExternalId,status=>ExternalStatus".to_string()),
            ]
        };
        host.configure(&Actor::System, "webhook-invoker", &config(format!("http://localhost:{port}/hook"))).await.expect("configure");
        let (result, report) = host.invoke_service("webhook-invoker", request(&[("customer", "jane")])).await.expect("loaded");
        let response = result.unwrap_or_else(|f| panic!("{f}\n{}", report.logs));
        assert_eq!(response.error_code, None);
        assert_eq!(data(&response.data, "ExternalId"), Some("42"), "{}: {response:?}", db.name);
        assert_eq!(data(&response.data, "ExternalStatus"), Some("open"));
        let requests = seen.lock().expect("lock").clone();
        assert_eq!(requests.len(), 1);
        let sent = requests[0].to_ascii_lowercase();
        assert!(sent.starts_with("post /hook "), "{sent}");
        assert!(sent.contains("authorization: bearer s3cret-token"), "the secret token is sent: {sent}");
        assert!(sent.contains("\"customer\"") && sent.contains("jane"), "params are in the document: {sent}");
        assert!(!report.logs.contains("s3cret-token"), "secrets stay out of the log");

        host.configure(&Actor::System, "webhook-invoker", &config(format!("http://localhost:{down}/hook"))).await.expect("configure");
        let (result, _) = host.invoke_service("webhook-invoker", request(&[])).await.expect("loaded");
        assert_eq!(result.expect("answered").error_code.as_deref(), Some("http-503"), "the caller can branch on the remote refusal");
        db
    })
    .await;
}
