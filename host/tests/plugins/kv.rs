//! The plugin key-value store driven by a real guest (`hostile/kv-probe`) on
//! every backend: values round-trip, a compare-and-swap counter stays exact
//! under concurrent calls, the quota holds, stores are per plugin, they
//! survive a new host, and a plugin without the grant is denied.

use switchboard::desk::Actor;
use switchboard::plugin::wit::InvokeResponse;
use switchboard::plugin::{Failure, PluginHost};

use crate::common::each_backend;
use crate::support::*;
use crate::SERIAL;

/// Runs one kv operation through the guest `plugin`.
async fn kv(host: &PluginHost, plugin: &str, params: &[(&str, &str)]) -> Result<InvokeResponse, Failure> {
    host.invoke_service(plugin, request(params)).await.expect("loaded").0
}

/// A data value of a successful kv call.
fn value(result: &Result<InvokeResponse, Failure>, key: &str) -> Option<String> {
    let response = result.as_ref().unwrap_or_else(|f| panic!("the kv call failed: {f}"));
    data(&response.data, key).map(str::to_string)
}

#[tokio::test]
async fn a_real_guest_uses_its_key_value_store() {
    require_plugins!();
    let _serial = SERIAL.lock().await;
    each_backend(|db| async move {
        let cache = tempfile::tempdir().expect("cache");
        let host = host(&db, cache.path());
        let probe = install(&host, "kv-probe", |m| m).await;

        let missing = kv(&host, &probe, &[("op", "get"), ("key", "greeting")]).await;
        assert_eq!(value(&missing, "found").as_deref(), Some("false"), "{}: nothing stored yet", db.name);
        kv(&host, &probe, &[("op", "set"), ("key", "greeting"), ("value", "hello")]).await.expect("set");
        let found = kv(&host, &probe, &[("op", "get"), ("key", "greeting")]).await;
        assert_eq!((value(&found, "found").as_deref(), value(&found, "value").as_deref()), (Some("true"), Some("hello")), "{}", db.name);

        // A compare-and-swap counter: sequential, then concurrent calls, each counted once.
        for n in 1..=3 {
            let r = kv(&host, &probe, &[("op", "incr"), ("key", "count")]).await;
            assert_eq!(value(&r, "count"), Some(n.to_string()), "{}: increment {n}", db.name);
        }
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (host, probe) = (host.clone(), probe.clone());
            calls.spawn(async move { kv(&host, &probe, &[("op", "incr"), ("key", "count")]).await });
        }
        let mut counts = Vec::new();
        while let Some(r) = calls.join_next().await {
            let r = r.expect("task");
            counts.push(value(&r, "count").and_then(|c| c.parse::<u64>().ok()).expect("a count"));
        }
        counts.sort_unstable();
        assert_eq!(counts, (4..=11).collect::<Vec<u64>>(), "{}: concurrent increments each saw their own value", db.name);
        let r = kv(&host, &probe, &[("op", "get"), ("key", "count")]).await;
        assert_eq!(value(&r, "value").as_deref(), Some("11"), "{}: no increment was lost", db.name);

        let r = kv(&host, &probe, &[("op", "keys"), ("key", "")]).await;
        assert_eq!(value(&r, "keys").as_deref(), Some("count,greeting"), "{}", db.name);
        let r = kv(&host, &probe, &[("op", "keys"), ("key", "gr")]).await;
        assert_eq!(value(&r, "keys").as_deref(), Some("greeting"), "keys by prefix");

        // The manifest's quota (kv_max_bytes = 4096) holds, and the refused write stores nothing.
        let refused = kv(&host, &probe, &[("op", "set"), ("key", "big"), ("size", "5000")]).await.expect_err("over the quota");
        assert_eq!(refused.kind, "plugin_error", "{}: {refused}", db.name);
        assert!(refused.message.starts_with("too-large"), "the guest sees the quota: {refused}");
        let r = kv(&host, &probe, &[("op", "get"), ("key", "big")]).await;
        assert_eq!(value(&r, "found").as_deref(), Some("false"), "{}: a refused write leaves nothing", db.name);

        // Deletes report whether the key existed.
        let r = kv(&host, &probe, &[("op", "delete"), ("key", "greeting")]).await;
        assert_eq!(value(&r, "existed").as_deref(), Some("true"));
        let r = kv(&host, &probe, &[("op", "delete"), ("key", "greeting")]).await;
        assert_eq!(value(&r, "existed").as_deref(), Some("false"));

        // Each plugin has its own store.
        let other = install(&host, "kv-probe", |m| m.replace("name = \"hostile-kv-probe\"", "name = \"kv-probe-other\"")).await;
        let r = kv(&host, &other, &[("op", "keys"), ("key", "")]).await;
        assert_eq!(value(&r, "keys").as_deref(), Some(""), "{}: another plugin sees none of these keys", db.name);

        // The store outlives the host: a new host over the same database reads it.
        host.flush().await;
        let restarted = crate::support::host(&db, cache.path());
        let r = kv(&restarted, &probe, &[("op", "get"), ("key", "count")]).await;
        assert_eq!(value(&r, "value").as_deref(), Some("11"), "{}: the store survives a restart", db.name);

        // Without the grant the same component is denied, and its stored values stay.
        let (wasm, manifest) = built("kv-probe").expect("built");
        let manifest = manifest.replace("kv = true", "kv = false").replace("version = \"0.1.0\"", "version = \"0.2.0\"");
        restarted.install(&Actor::System, wasm, &manifest, None).await.expect("upgrade without kv");
        let denied = kv(&restarted, &probe, &[("op", "get"), ("key", "count")]).await.expect_err("not granted");
        assert_eq!(denied.kind, "plugin_error", "{}: {denied}", db.name);
        assert!(denied.message.starts_with("denied"), "{denied}");
        assert_eq!(db.system.kv_get(&probe, "count").await.expect("kv_get"), Some(b"11".to_vec()), "denial deletes nothing");
        db
    })
    .await;
}
