//! Limits are requests the host clamps (memory beyond the pool is refused at
//! install, the breaker threshold has a ceiling), and directory grants: `/`,
//! the data directory and symlinks to it are refused, a FIFO in a granted
//! directory fails fast instead of blocking a thread.

use std::time::{Duration, Instant};

use switchboard::desk::Actor;
use switchboard::plugin::{PluginCeilings, PluginError, ProtectedPaths};

use crate::common::each_backend;
use crate::support::*;
use crate::{mail, HAM, SERIAL};

/// The manifest error of a refused install.
fn manifest_error(result: Result<switchboard::plugin::InstallReport, PluginError>) -> switchboard::plugin::manifest::ManifestError {
    match result {
        Err(PluginError::Manifest(m)) => m,
        Err(other) => panic!("expected a manifest error, got {other}"),
        Ok(report) => panic!("expected a refusal, installed {:?}", report.summary.name),
    }
}

#[tokio::test]
async fn limits_are_clamped_to_ceilings_and_memory_beyond_the_pool_is_refused() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let ceilings = PluginCeilings { memory_mib: 16, breaker_threshold: 2, ..PluginCeilings::default() };
        let host = host_with(&db, switchboard::plugin::PluginHostSettings { ceilings, ..settings(cache.path()) });
        let (wasm, manifest) = built("alloc-bomb").expect("built");

        let greedy = manifest.replace("memory_mib = 32", "memory_mib = 4096");
        let err = manifest_error(host.install(&Actor::System, wasm.clone(), &greedy, None).await);
        assert_eq!(err.field, "limits.memory_mib", "{err}");
        assert!(err.message.contains(&format!("{} MiB", switchboard::plugin::POOL_MAX_MEMORY_MIB)), "names the real ceiling: {err}");

        let asks = manifest.replace("memory_mib = 32", "memory_mib = 512").replace("breaker_threshold = 10", "breaker_threshold = 1000000");
        let report = host.install(&Actor::System, wasm.clone(), &asks, None).await.expect("install");
        let memory = report.grants.limits.iter().find(|l| l.key == "limits.memory_mib").expect("memory line");
        assert_eq!((memory.requested, memory.granted, memory.clamped()), (Some(512), Some(16), true), "{memory:?}");
        let breaker = report.grants.limits.iter().find(|l| l.key == "policy.breaker_threshold").expect("breaker line");
        assert_eq!((breaker.requested, breaker.granted), (Some(1_000_000), Some(2)));
        assert!(
            report.grants.added_capabilities.iter().any(|l| l.starts_with("limits.memory_mib = 16 (asked for 512")),
            "a first install shows every limit: {:?}",
            report.grants.added_capabilities
        );

        for call in 1..=2 {
            let (result, _) = host.filter_mail("hostile-alloc-bomb", mail(HAM)).await.expect("loaded");
            let failure = result.expect_err("the bomb fails");
            assert_eq!(failure.kind, "memory_limit", "{}: call {call}: {failure}", db.name);
            assert!(failure.message.contains("its limit is 16 MiB"), "the granted limit, not the asked one: {failure}");
        }
        let summary = db.desk.plugin_get(&Actor::System, "hostile-alloc-bomb").await.expect("plugin");
        assert!(
            summary.suspended_reason.as_deref().is_some_and(|r| r.contains("2 consecutive")),
            "{}: the breaker ceiling holds whatever the manifest asks: {summary:?}",
            db.name
        );

        // An upgrade that raises a limit names it.
        let v2 = manifest.replace("version = \"0.1.0\"", "version = \"0.2.0\"").replace("memory_mib = 32", "memory_mib = 8");
        host.install(&Actor::System, wasm.clone(), &v2, None).await.expect("lower");
        let v3 = v2.replace("version = \"0.2.0\"", "version = \"0.3.0\"").replace("[limits]", "[limits]\ntimeout_ms = 9000");
        let v3 = v3.replace("memory_mib = 8", "memory_mib = 12");
        let report = host.install(&Actor::System, wasm, &v3, None).await.expect("raise");
        assert_eq!(report.grants.previous_version.as_deref(), Some("0.2.0"));
        assert_eq!(
            report.grants.added_capabilities,
            ["limits.memory_mib raised from 8 to 12", "limits.timeout_ms raised from 2000 to 9000"],
            "{}",
            db.name
        );
        db
    })
    .await;
}

/// The open-fifo guest's manifest granting `host` as /data (read-write).
fn fifo_manifest(host: &std::path::Path) -> String {
    let (_, manifest) = built("open-fifo").expect("built");
    let manifest = manifest.replace("breaker_threshold = 10", "breaker_threshold = 50");
    with_capabilities(manifest, &format!("directories = [{{ host = \"{}\", guest = \"/data\", write = true }}]", host.display()))
}

fn probe(path: &str, mode: &str) -> switchboard::plugin::wit::Mail {
    let raw = format!(
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: probe\r\nX-Hostile-Path: {path}\r\nX-Hostile-Mode: {mode}\r\n\r\nbody\r\n"
    );
    mail(raw.as_bytes())
}

#[tokio::test]
async fn directory_grants_refuse_the_root_the_data_directory_and_symlinks_to_it() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let root = tempfile::tempdir().expect("root");
        let data = root.path().join("data");
        let files = root.path().join("files");
        std::fs::create_dir_all(&data).expect("data");
        std::fs::create_dir_all(&files).expect("files");
        std::fs::write(data.join("secret.key"), "00").expect("key");
        let protected = ProtectedPaths { data_dir: Some(data.clone()), database: None, secret_key: Some(data.join("secret.key")) };
        let host = host_with(&db, switchboard::plugin::PluginHostSettings { protected, ..settings(cache.path()) });
        let (wasm, shipped) = built("open-fifo").expect("built");

        let err = manifest_error(host.install(&Actor::System, wasm.clone(), &shipped, None).await);
        assert_eq!(err.field, "capabilities.directories[0]", "the shipped manifest asks for /: {err}");
        assert!(err.message.contains("root directory"), "{err}");
        let link = root.path().join("innocent");
        std::os::unix::fs::symlink(&data, &link).expect("symlink");
        let sneaky = files.join("..").join("data");
        for (host_path, says) in [
            (data.clone(), "data directory"),
            (link.clone(), "data directory"),
            (sneaky, "data directory"),
            ("/etc".into(), "system directory"),
        ] {
            let err = manifest_error(host.install(&Actor::System, wasm.clone(), &fifo_manifest(&host_path), None).await);
            assert_eq!(err.field, "capabilities.directories[0]", "{}: {err}", host_path.display());
            assert!(err.message.contains(says), "{}: {err}", host_path.display());
        }

        // A grant installed while harmless, then swapped to the data directory, is refused at load and at call.
        let swap = root.path().join("swap");
        std::os::unix::fs::symlink(&files, &swap).expect("symlink");
        std::fs::write(files.join("note.txt"), "hi").expect("file");
        host.install(&Actor::System, wasm, &fifo_manifest(&swap), None).await.expect("a plain directory is fine");
        let (result, _) = host.filter_mail("hostile-open-fifo", probe("/data/note.txt", "read")).await.expect("loaded");
        assert_eq!(result.expect("a regular file opens").title.as_deref(), Some("opened /data/note.txt"));
        std::fs::remove_file(&swap).expect("rm");
        std::os::unix::fs::symlink(&data, &swap).expect("swap the link");
        let (result, _) = host.filter_mail("hostile-open-fifo", probe("/data/secret.key", "read")).await.expect("cached");
        let failure = result.expect_err("the swapped grant is refused before the call");
        assert!(failure.message.contains("now resolves"), "{}: {failure}", db.name);
        host.invalidate("hostile-open-fifo").await;
        match host.filter_mail("hostile-open-fifo", probe("/data/secret.key", "read")).await {
            Err(PluginError::Manifest(m)) => assert!(m.message.contains("data directory"), "{m}"),
            Err(other) => panic!("expected the load to refuse the grant, got {other}"),
            Ok((result, _)) => panic!("the swapped grant must not load: {result:?}"),
        }
        db
    })
    .await;
}

/// Threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn a_fifo_in_a_granted_directory_fails_fast_instead_of_blocking() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let dir = tempfile::tempdir().expect("dir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success(), "mkfifo");
        std::fs::write(dir.path().join("plain.txt"), "plain").expect("file");
        host.install(&Actor::System, built("open-fifo").expect("built").0, &fifo_manifest(dir.path()), None).await.expect("install");
        let (result, _) = host.filter_mail("hostile-open-fifo", probe("/data/plain.txt", "write")).await.expect("loaded");
        result.expect("a regular file in the grant opens");
        let before = threads();
        let started = Instant::now();
        for call in 0..20 {
            let mode = if call % 2 == 0 { "read" } else { "write" };
            let (result, _) = host.filter_mail("hostile-open-fifo", probe("/data/fifo", mode)).await.expect("loaded");
            let failure = result.expect_err("a FIFO is refused");
            assert_eq!(failure.kind, "plugin_error", "{}: {mode}: {failure}", db.name);
            assert!(failure.message.contains("denied") || failure.message.contains("opening /data/fifo"), "{failure}");
        }
        // Twenty blocked opens would each have waited for the 2 s timeout.
        assert!(started.elapsed() < Duration::from_secs(5), "{}: FIFO opens took {:?}", db.name, started.elapsed());
        assert!(threads() <= before + 2, "{}: no thread is left blocked ({before} → {})", db.name, threads());
        db
    })
    .await;
}
