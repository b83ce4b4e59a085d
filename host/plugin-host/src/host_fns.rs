//! Host functions of our interfaces: log, config, kv, clock and ticket.
//!
//! Capabilities are checked inside each function: a plugin without the `kv`
//! grant gets `denied` from every kv call.

use crate::bindings::base::switchboard::plugin::types::{Article, PluginError, Ticket, TicketChange};
use crate::bindings::base::switchboard::plugin::{clock, config, kv, log, task_types, ticket, types};
use crate::bindings::{action, filter, invoker};
use crate::convert::{apply_change_to_snapshot, check_change};
use crate::logs::Source;
use crate::output::{change_bytes, too_large};
use crate::state::{on_host, StoreState};

fn denied(what: &str) -> PluginError {
    PluginError { code: "denied".into(), message: format!("this plugin was not granted {what}") }
}

impl types::Host for StoreState {}
impl task_types::Host for StoreState {}
impl filter::switchboard::plugin::filter_types::Host for StoreState {}
impl action::switchboard::plugin::action_types::Host for StoreState {}
impl invoker::switchboard::plugin::invoker_types::Host for StoreState {}

impl log::Host for StoreState {
    /// Keeps the line (escaped onto one line) in the call's capped log, which
    /// is also what reaches tracing.
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let source = match level {
            log::Level::Trace => Source::Trace,
            log::Level::Debug => Source::Debug,
            log::Level::Info => Source::Info,
            log::Level::Warn => Source::Warn,
            log::Level::Error => Source::Error,
        };
        self.log.push(source, &message);
        Ok(())
    }
}

impl config::Host for StoreState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.plugin.config.get(&key).cloned())
    }

    fn keys(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.plugin.config.keys().cloned().collect())
    }
}

impl clock::Host for StoreState {
    fn now_millis(&mut self) -> wasmtime::Result<i64> {
        Ok(chrono::Utc::now().timestamp_millis())
    }

    fn now_rfc3339(&mut self) -> wasmtime::Result<String> {
        Ok(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }
}

impl StoreState {
    /// The store, the plugin's name and its quota, if the plugin was granted kv.
    /// The quota holds for the plugin's whole store; each write also counts
    /// against this call's output budget ([`StoreState::kv_charge`]).
    fn kv_scope(&self) -> Result<(switchboard_core::desk::SystemDesk, String, i64), PluginError> {
        if !self.plugin.kv {
            return Err(denied("the key-value store (capabilities.kv)"));
        }
        let desk = self
            .desk
            .clone()
            .ok_or_else(|| PluginError { code: "unavailable".into(), message: "no key-value store in this run (no database)".into() })?;
        Ok((desk, self.plugin.name.clone(), self.plugin.limits.kv_max_bytes as i64))
    }
}

impl StoreState {
    /// Charges a write of `key` = `value` to this call's output budget.
    fn kv_charge(&self, key: &str, value: Option<&[u8]>) -> Result<(), PluginError> {
        let bytes = key.len() + value.map_or(0, <[u8]>::len);
        self.budget.charge("a key-value write", bytes as u64).map_err(too_large)
    }
}

fn kv_error(err: switchboard_core::desk::KvError) -> PluginError {
    match err {
        switchboard_core::desk::KvError::TooLarge { .. } => PluginError { code: "too-large".into(), message: err.to_string() },
        switchboard_core::desk::KvError::BadKey => PluginError { code: "invalid".into(), message: err.to_string() },
        switchboard_core::desk::KvError::Desk(inner) => {
            tracing::warn!(error = %inner, "plugin key-value store failed");
            PluginError { code: "unavailable".into(), message: "the key-value store is unavailable".into() }
        }
    }
}

impl kv::Host for StoreState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, PluginError>> {
        let scope = self.kv_scope();
        Ok(on_host(self.host_runtime.clone(), async move {
            let (desk, plugin, _) = scope?;
            desk.kv_get(&plugin, &key).await.map_err(kv_error)
        })
        .await)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), PluginError>> {
        let scope = self.kv_scope().and_then(|s| self.kv_charge(&key, Some(&value)).map(|()| s));
        Ok(on_host(self.host_runtime.clone(), async move {
            let (desk, plugin, quota) = scope?;
            desk.kv_write(&plugin, &key, Err(()), Some(&value), quota).await.map(|_| ()).map_err(kv_error)
        })
        .await)
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, PluginError>> {
        let scope = self.kv_scope();
        Ok(on_host(self.host_runtime.clone(), async move {
            let (desk, plugin, quota) = scope?;
            let existed = desk.kv_get(&plugin, &key).await.map_err(kv_error)?.is_some();
            desk.kv_write(&plugin, &key, Err(()), None, quota).await.map_err(kv_error)?;
            Ok(existed)
        })
        .await)
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> wasmtime::Result<Result<bool, PluginError>> {
        let scope = self.kv_scope().and_then(|s| self.kv_charge(&key, new.as_deref()).map(|()| s));
        Ok(on_host(self.host_runtime.clone(), async move {
            let (desk, plugin, quota) = scope?;
            desk.kv_write(&plugin, &key, Ok(expected.as_deref()), new.as_deref(), quota).await.map_err(kv_error)
        })
        .await)
    }

    async fn keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, PluginError>> {
        let scope = self.kv_scope();
        Ok(on_host(self.host_runtime.clone(), async move {
            let (desk, plugin, _) = scope?;
            desk.kv_keys(&plugin, &prefix).await.map_err(kv_error)
        })
        .await)
    }
}

impl ticket::Host for StoreState {
    fn get(&mut self) -> wasmtime::Result<Ticket> {
        let scope = self.ticket.as_ref().ok_or_else(|| wasmtime::Error::msg("the ticket interface is only available to script tasks"))?;
        let mut snapshot = scope.ticket.clone();
        for change in &scope.changes {
            apply_change_to_snapshot(&mut snapshot, change);
        }
        Ok(snapshot)
    }

    fn articles(&mut self) -> wasmtime::Result<Vec<Article>> {
        let scope = self.ticket.as_ref().ok_or_else(|| wasmtime::Error::msg("the ticket interface is only available to script tasks"))?;
        Ok(scope.articles.clone())
    }

    /// Queues a change after checking it, and charges it to the call's
    /// output budget (`max_changes`, `max_output_bytes`): past either the
    /// guest gets `too-large` and the whole call fails `output_too_large`.
    fn change(&mut self, change: TicketChange) -> wasmtime::Result<Result<(), PluginError>> {
        let max_note =
            self.desk.as_ref().map_or(switchboard_core::desk::DEFAULT_MAX_ARTICLE_BYTES, |d| d.desk().settings().max_article_bytes);
        let scope = self.ticket.as_mut().ok_or_else(|| wasmtime::Error::msg("the ticket interface is only available to script tasks"))?;
        // The budget first: a change over it fails the call, whatever else is wrong with it.
        if let Err(why) = self.budget.charge_change(change_bytes(&change)) {
            return Ok(Err(too_large(why)));
        }
        if let Err(message) = check_change(&change, max_note) {
            return Ok(Err(PluginError { code: "invalid".into(), message }));
        }
        scope.changes.push(change);
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::kv::Host as _;
    use crate::engine::PluginEngine;
    use crate::invoke::new_store;
    use crate::manifest::Manifest;
    use crate::state::PluginIdentity;
    use switchboard_core::db::{Db, SqliteSync};
    use switchboard_core::desk::{Actor, DeskSettings, NewPluginVersion, SystemDesk};

    const MANIFEST: &str = "name = \"kv-probe\"\nversion = \"0.1.0\"\nworld = \"postmaster-filter\"\nwit = \"0.1.0\"\n";

    async fn desk(dir: &std::path::Path) -> SystemDesk {
        let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()), SqliteSync::Normal).await.expect("db");
        db.migrate().await.expect("migrate");
        let desk = SystemDesk::new(db, DeskSettings::default());
        desk.desk()
            .plugin_install(
                &Actor::System,
                NewPluginVersion {
                    name: "kv-probe".into(),
                    version: "0.1.0".into(),
                    sha256: "00".into(),
                    world: "postmaster-filter".into(),
                    manifest: MANIFEST.into(),
                    component: vec![0],
                    signed_by: None,
                },
            )
            .await
            .expect("registry row");
        desk
    }

    fn identity(kv: bool, quota: u64) -> Arc<PluginIdentity> {
        let manifest = Manifest::parse(MANIFEST).expect("manifest");
        let mut limits = manifest.limits(&crate::PluginCeilings::default());
        limits.kv_max_bytes = quota;
        Arc::new(PluginIdentity {
            name: "kv-probe".into(),
            version: "0.1.0".into(),
            limits,
            directories: Vec::new(),
            kv,
            config: BTreeMap::new(),
            http_replay: None,
            http_live: false,
            counts_fuel: false,
        })
    }

    #[tokio::test]
    async fn kv_works_when_granted_and_is_denied_otherwise() {
        let dir = tempfile::tempdir().expect("temp");
        let desk = desk(dir.path()).await;
        let engine = PluginEngine::new(dir.path().join("cache")).expect("engine");
        let manifest = Manifest::parse(MANIFEST).expect("manifest");

        let mut denied = new_store(engine.engine(false), &identity(false, 1024), &manifest, Some(desk.clone()), None, None).expect("store");
        let err = denied.data_mut().get("k".into()).await.expect("no trap").expect_err("not granted");
        assert_eq!(err.code, "denied");
        let err = denied.data_mut().set("k".into(), b"v".to_vec()).await.expect("no trap").expect_err("not granted");
        assert_eq!(err.code, "denied");

        let mut store = new_store(engine.engine(false), &identity(true, 64), &manifest, Some(desk.clone()), None, None).expect("store");
        let kv = store.data_mut();
        kv.set("count".into(), b"1".to_vec()).await.expect("no trap").expect("set");
        assert_eq!(kv.get("count".into()).await.expect("no trap").expect("get"), Some(b"1".to_vec()));
        assert!(
            !kv.compare_and_swap("count".into(), Some(b"7".to_vec()), Some(b"2".to_vec())).await.expect("no trap").expect("cas"),
            "stale expectation"
        );
        assert!(kv.compare_and_swap("count".into(), Some(b"1".to_vec()), Some(b"2".to_vec())).await.expect("no trap").expect("cas"));
        assert!(kv.compare_and_swap("fresh".into(), None, Some(b"x".to_vec())).await.expect("no trap").expect("cas absent"));
        assert_eq!(kv.keys("".into()).await.expect("no trap").expect("keys"), vec!["count".to_string(), "fresh".to_string()]);
        let err = kv.set("big".into(), vec![0u8; 100]).await.expect("no trap").expect_err("over quota");
        assert_eq!(err.code, "too-large");
        assert!(kv.delete("count".into()).await.expect("no trap").expect("delete"));
        assert!(!kv.delete("count".into()).await.expect("no trap").expect("delete again"));
    }
}
