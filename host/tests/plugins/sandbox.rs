//! Hostile guests through the real host: each fails alone with its exact
//! cause while good calls go on, files are reachable only when granted, and
//! the circuit breaker suspends a plugin that keeps failing.

use switchboard::desk::Actor;

use crate::common::each_backend;
use crate::support::*;
use crate::{mail, HAM, SERIAL};

#[tokio::test]
async fn hostile_guests_fail_alone_with_the_right_cause() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        install(&host, "spam-filter", |m| m).await;
        let cases = [
            ("infinite-loop", "timeout"),
            ("alloc-bomb", "memory_limit"),
            // Recursion in Wasm locals overflows the host's Wasm stack limit.
            ("deep-recursion", "stack_overflow"),
            ("panic", "trap"),
            ("read-file", "plugin_error"),
            ("open-socket", "plugin_error"),
            ("huge-result", "output_too_large"),
        ];
        for (guest, _) in cases {
            install(&host, guest, |m| m).await;
        }
        install(&host, "read-env", |m| m).await;
        install(&host, "huge-log", |m| m).await;
        // Warm up, then measure the host's memory around the hostile calls.
        for _ in 0..3 {
            let _ = host.filter_mail("alloc-bomb", mail(HAM)).await;
        }
        let before = rss();
        let good = host.clone();
        let background = tokio::spawn(async move {
            let mut ok = 0;
            for _ in 0..200 {
                let (verdict, _) = good.filter_mail("spam-filter", mail(HAM)).await.expect("loaded");
                verdict.expect("good calls keep working");
                ok += 1;
            }
            ok
        });
        for (guest, expected) in cases {
            let name = format!("hostile-{guest}");
            let (result, report) = host.filter_mail(&name, mail(HAM)).await.expect("loaded");
            let failure = result.expect_err(&format!("{guest} must fail"));
            assert_eq!(failure.kind, expected, "{}: {guest} must fail with {expected}, got {failure}", db.name);
            if guest == "read-file" || guest == "open-socket" {
                assert!(failure.message.starts_with("denied"), "{guest}: {failure}");
            }
            assert_eq!(report.plugin, name);
        }
        assert_eq!(background.await.expect("background"), 200, "concurrent good invocations all succeeded");
        let (verdict, _) = host.filter_mail("hostile-read-env", mail(HAM)).await.expect("loaded");
        let env = verdict.expect("read-env runs");
        let count = env.dynamic_fields.iter().find(|f| f.name == "EnvCount").map(|f| f.values.clone());
        assert_eq!(count, Some(vec!["0".to_string()]), "no environment is granted");
        let (verdict, report) = host.filter_mail("hostile-huge-log", mail(HAM)).await.expect("loaded");
        verdict.expect("huge-log runs");
        assert!(report.logs.len() < 80 * 1024, "the log is capped: {} bytes", report.logs.len());
        assert!(report.logs.contains("dropped"), "the cap is said");
        let after = rss();
        assert!(after < before + 48 * 1024 * 1024, "host memory grew from {} to {} MiB", before >> 20, after >> 20);
        host.flush().await;
        let records = db.desk.plugin_invocations(&Actor::System, "hostile-infinite-loop", 5).await.expect("records");
        assert_eq!(records[0].error_kind.map(|k| k.as_str()), Some("timeout"), "the cause is recorded");
        db
    })
    .await;
}

#[tokio::test]
async fn a_directory_is_reachable_only_when_granted() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let shared = tempfile::tempdir().expect("shared dir");
        std::fs::write(shared.path().join("hello.txt"), "hello, plugin").expect("write");
        let probe = |path: &str| {
            let raw = format!("From: a@example.com\r\nTo: b@example.com\r\nSubject: probe\r\nX-Hostile-Path: {path}\r\n\r\nbody\r\n");
            mail(raw.as_bytes())
        };
        install(&host, "read-file", |m| m).await;
        let (result, _) = host.filter_mail("hostile-read-file", probe("/data/hello.txt")).await.expect("loaded");
        assert!(result.expect_err("nothing granted").message.starts_with("denied"));

        let grant = format!("directories = [{{ host = \"{}\", guest = \"/data\" }}]", shared.path().display());
        let (wasm, manifest) = built("read-file").expect("built");
        let manifest = with_capabilities(manifest, &grant).replace("version = \"0.1.0\"", "version = \"0.2.0\"");
        let report = host.install(&Actor::System, wasm, &manifest, None).await.expect("upgrade");
        assert_eq!(
            report.grants.added_capabilities.len(),
            1,
            "the upgrade says which capability it adds: {:?}",
            report.grants.added_capabilities
        );
        let (result, _) = host.filter_mail("hostile-read-file", probe("/data/hello.txt")).await.expect("loaded");
        let verdict = result.expect("the granted directory is readable");
        assert_eq!(verdict.title.as_deref(), Some("read 13 bytes of /data/hello.txt"));
        let (result, _) = host.filter_mail("hostile-read-file", probe("/etc/passwd")).await.expect("loaded");
        assert!(result.expect_err("outside the grant").message.starts_with("denied"), "only the granted directory");
        db
    })
    .await;
}

#[tokio::test]
async fn the_circuit_breaker_suspends_a_failing_plugin() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        install(&host, "panic", |m| m.replace("breaker_threshold = 10", "breaker_threshold = 3")).await;
        for _ in 0..3 {
            let (result, _) = host.filter_mail("hostile-panic", mail(HAM)).await.expect("loaded");
            assert_eq!(result.expect_err("panics").kind, "trap");
        }
        let summary = db.desk.plugin_get(&Actor::System, "hostile-panic").await.expect("plugin");
        assert!(
            !summary.enabled && summary.suspended_reason.as_deref().is_some_and(|r| r.contains("3 consecutive")),
            "{}: {summary:?}",
            db.name
        );
        let (result, _) = host.filter_mail("hostile-panic", mail(HAM)).await.expect("loaded");
        assert_eq!(result.expect_err("suspended").kind, "disabled");
        db.desk.plugin_set_enabled(&Actor::System, "hostile-panic", true).await.expect("enable");
        host.invalidate("hostile-panic").await;
        let (result, _) = host.filter_mail("hostile-panic", mail(HAM)).await.expect("loaded");
        assert_eq!(result.expect_err("runs again").kind, "trap", "enabling lifts the suspension");

        // A plugin-error counts toward the breaker like a trap (wit/README.md):
        // read-file without a granted directory answers `denied` every time.
        install(&host, "read-file", |m| m.replace("breaker_threshold = 10", "breaker_threshold = 3")).await;
        for call in 1..=3 {
            let (result, _) = host.filter_mail("hostile-read-file", mail(HAM)).await.expect("loaded");
            let failure = result.expect_err("denied");
            assert_eq!(failure.kind, "plugin_error", "{}: call {call}: {failure}", db.name);
            let summary = db.desk.plugin_get(&Actor::System, "hostile-read-file").await.expect("plugin");
            assert_eq!(summary.enabled, call < 3, "{}: after {call} plugin errors: {summary:?}", db.name);
        }
        let summary = db.desk.plugin_get(&Actor::System, "hostile-read-file").await.expect("plugin");
        assert!(
            summary.suspended_reason.as_deref().is_some_and(|r| r.contains("3 consecutive")),
            "{}: three plugin errors in a row suspend the plugin: {summary:?}",
            db.name
        );
        let (result, _) = host.filter_mail("hostile-read-file", mail(HAM)).await.expect("loaded");
        assert_eq!(result.expect_err("suspended").kind, "disabled");
        db
    })
    .await;
}
