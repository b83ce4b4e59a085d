//! The plugin host: runs WebAssembly components in a sandbox (wasmtime).
//!
//! Architecture invariant: this is the only module that knows wasmtime. It
//! turns plugin results into `desk` calls, so plugins obey the same rules as
//! every other adapter.
//!
//! Every installed component is compiled once (cached on disk by sha256 and
//! engine) and kept as an `InstancePre`; each invocation gets a fresh instance
//! with memory, time, fuel, table and output limits, so nothing leaks between
//! calls and a hostile plugin only fails its own call.

mod bindings;
mod calls;
mod convert;
pub mod egress;
mod engine;
mod host_fns;
mod invoke;
mod local;
pub mod manifest;
mod recorder;
mod state;
pub mod template;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{RwLock, Semaphore};
use wasmtime::component::Component;

use crate::desk::{Actor, Desk, DeskError, NewPluginVersion, PluginSummary};
use crate::plugin::bindings::{action, filter, invoker, script};
use crate::plugin::engine::PluginEngine;
use crate::plugin::manifest::{Manifest, World};
use crate::plugin::state::PluginIdentity;

pub use calls::{ApplyOutcome, ScriptRun};
pub use invoke::{Failure, Report};
pub use local::LocalInput;
pub use recorder::PluginMetrics;

/// Errors of plugin management (installing, loading, configuring).
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The component or manifest is not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A manifest key is wrong.
    #[error("plugin.toml: {0}")]
    Manifest(#[from] manifest::ManifestError),
    /// The signature is missing, malformed or not from a trusted key.
    #[error("signature: {0}")]
    Signature(String),
    /// The plugin is disabled or suspended.
    #[error("{0}")]
    Unavailable(String),
    /// The engine could not be set up.
    #[error("wasm engine: {0}")]
    Engine(String),
    /// A core operation failed.
    #[error(transparent)]
    Desk(#[from] DeskError),
}

/// Settings of the plugin host.
#[derive(Debug, Clone)]
pub struct PluginHostSettings {
    /// Where precompiled components are cached.
    pub cache_dir: PathBuf,
    /// Refuse plugins without a valid signature from a trusted key.
    pub require_signatures: bool,
    /// Invocation records kept per plugin.
    pub records_kept: i64,
}

/// A component prepared for instantiation, per world.
pub(crate) enum Prepared {
    Filter(filter::PostmasterFilterPre<state::StoreState>),
    Script(script::ScriptTaskPre<state::StoreState>),
    Action(action::TransitionActionPre<state::StoreState>),
    Invoker(invoker::ServiceInvokerPre<state::StoreState>),
}

/// A loaded plugin version.
pub(crate) struct Loaded {
    pub(crate) identity: Arc<PluginIdentity>,
    pub(crate) manifest: Manifest,
    pub(crate) sha256: String,
    pub(crate) prepared: Prepared,
    /// Registry row's change time when loaded (config, enable, activate).
    pub(crate) stamp: chrono::DateTime<chrono::Utc>,
    pub(crate) enabled: bool,
    pub(crate) suspended: Option<String>,
    /// When the registry was last consulted for this entry.
    pub(crate) checked: std::sync::Mutex<std::time::Instant>,
    /// Failures in a row seen by this node (to reset the stored count cheaply).
    pub(crate) failures: std::sync::atomic::AtomicU64,
}

/// How long a loaded plugin is used without asking the registry again
/// (changes made through this node apply at once).
const REGISTRY_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// What an install did.
#[derive(Debug, Clone)]
pub struct InstallReport {
    /// The plugin as now installed.
    pub summary: PluginSummary,
    /// Capabilities it was granted.
    pub capabilities: Vec<String>,
    /// Capabilities the previous active version did not have.
    pub added_capabilities: Vec<String>,
}

/// The plugin host handle (cheap to clone).
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    engine: PluginEngine,
    desk: Option<Desk>,
    settings: PluginHostSettings,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    /// One permit per pool slot: when all are taken, callers wait (within
    /// their own timeout) instead of failing on an exhausted pool.
    slots: Semaphore,
    recorder: recorder::Recorder,
}

impl PluginHost {
    /// Starts a host. Without a desk (local `plugin run`) there is no key-value
    /// store, no records and no ticket changes.
    pub fn new(desk: Option<Desk>, settings: PluginHostSettings) -> Result<PluginHost, PluginError> {
        let engine = PluginEngine::new(settings.cache_dir.clone())?;
        let recorder = recorder::Recorder::start(desk.clone(), settings.records_kept);
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                desk,
                settings,
                loaded: RwLock::new(HashMap::new()),
                slots: Semaphore::new(engine::POOL_INSTANCES as usize),
                recorder,
            }),
        })
    }

    /// Prometheus metrics of plugin calls.
    pub fn metrics(&self) -> &PluginMetrics {
        self.inner.recorder.metrics()
    }

    /// Waits until queued records are written (for orderly shutdown and tests).
    pub async fn flush(&self) {
        self.inner.recorder.flush().await;
    }

    fn desk(&self) -> Result<&Desk, PluginError> {
        self.inner.desk.as_ref().ok_or_else(|| PluginError::Unavailable("this needs a database".into()))
    }

    /// Compiles and checks a component against the world its manifest names.
    async fn prepare(
        &self,
        manifest: &Manifest,
        sha256: &str,
        bytes: &[u8],
        config: BTreeMap<String, String>,
    ) -> Result<Loaded, PluginError> {
        let component = self.inner.engine.load(sha256, bytes).await?;
        let prepared = self.instance_pre(manifest.world, &component)?;
        Ok(Loaded {
            identity: Arc::new(PluginIdentity {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                limits: manifest.limits(),
                kv: manifest.capabilities.kv,
                config,
                http_replay: None,
                http_live: true,
            }),
            manifest: manifest.clone(),
            sha256: sha256.to_string(),
            prepared,
            stamp: chrono::Utc::now(),
            enabled: true,
            suspended: None,
            checked: std::sync::Mutex::new(std::time::Instant::now()),
            failures: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn instance_pre(&self, world: World, component: &Component) -> Result<Prepared, PluginError> {
        let mismatch = |e: wasmtime::Error| {
            PluginError::Invalid(format!(
                "the component does not implement the {} world of switchboard:plugin@0.1: {e:#}. Build it against wit/ with world \"{}\"",
                world.as_str(),
                world.as_str()
            ))
        };
        let pre = self.inner.engine.linker(world).instantiate_pre(component).map_err(mismatch)?;
        Ok(match world {
            World::PostmasterFilter => Prepared::Filter(filter::PostmasterFilterPre::new(pre).map_err(mismatch)?),
            World::ScriptTask => Prepared::Script(script::ScriptTaskPre::new(pre).map_err(mismatch)?),
            World::TransitionAction => Prepared::Action(action::TransitionActionPre::new(pre).map_err(mismatch)?),
            World::ServiceInvoker => Prepared::Invoker(invoker::ServiceInvokerPre::new(pre).map_err(mismatch)?),
        })
    }

    /// Installs (or upgrades to) a component with its manifest (admin). The
    /// component must implement the manifest's world; a signature, when given
    /// or required, must verify against a trusted key.
    pub async fn install(
        &self,
        actor: &Actor,
        bytes: Vec<u8>,
        manifest_text: &str,
        signature: Option<&str>,
    ) -> Result<InstallReport, PluginError> {
        actor.require_admin()?;
        let desk = self.desk()?;
        let manifest = Manifest::parse(manifest_text)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let signed_by = self.check_signature(&bytes, signature).await?;
        let defaults = config_defaults(&manifest);
        self.prepare(&manifest, &sha256, &bytes, defaults).await?;
        let previous = desk.plugin_get(actor, &manifest.name).await.ok().and_then(|p| Manifest::parse(&p.manifest).ok());
        let summary = desk
            .plugin_install(
                actor,
                NewPluginVersion {
                    name: manifest.name.clone(),
                    version: manifest.version.clone(),
                    sha256,
                    world: manifest.world.as_str().to_string(),
                    manifest: manifest_text.to_string(),
                    component: bytes,
                    signed_by,
                },
            )
            .await?;
        self.inner.loaded.write().await.remove(&manifest.name);
        Ok(InstallReport {
            summary,
            capabilities: manifest.capability_lines(),
            added_capabilities: previous.map(|p| manifest.added_capabilities(&p)).unwrap_or_else(|| manifest.capability_lines()),
        })
    }

    async fn check_signature(&self, bytes: &[u8], signature: Option<&str>) -> Result<Option<String>, PluginError> {
        use ed25519_dalek::{Signature, Verifier, VerifyingKey};
        let Some(signature) = signature else {
            if self.inner.settings.require_signatures {
                return Err(PluginError::Signature("this server requires signed plugins; pass --signature FILE".into()));
            }
            return Ok(None);
        };
        let raw = hex::decode(signature.trim()).map_err(|_| PluginError::Signature("expected 128 hex digits".into()))?;
        let signature = Signature::from_slice(&raw).map_err(|_| PluginError::Signature("expected a 64-byte ed25519 signature".into()))?;
        for (name, key_hex) in self.desk()?.trusted_keys().await? {
            let Some(key) =
                hex::decode(&key_hex).ok().and_then(|k| <[u8; 32]>::try_from(k).ok()).and_then(|k| VerifyingKey::from_bytes(&k).ok())
            else {
                continue;
            };
            if key.verify(bytes, &signature).is_ok() {
                return Ok(Some(name));
            }
        }
        Err(PluginError::Signature("it does not verify against any trusted key (switchboard plugin trust-key)".into()))
    }

    /// The loaded active version of `name`, reloading when the registry changed.
    pub(crate) async fn loaded(&self, name: &str) -> Result<Arc<Loaded>, PluginError> {
        let desk = self.desk()?;
        let cached = self.inner.loaded.read().await.get(name).cloned();
        if let Some(hit) = &cached {
            if hit.checked.lock().map(|c| c.elapsed() < REGISTRY_RECHECK).unwrap_or(false) {
                return Ok(hit.clone());
            }
        }
        let summary = desk.plugin_get(&Actor::System, name).await?;
        if let Some(hit) = cached {
            if hit.sha256 == summary.sha256 && hit.stamp >= summary.changed_at && hit.enabled == summary.enabled {
                if let Ok(mut checked) = hit.checked.lock() {
                    *checked = std::time::Instant::now();
                }
                return Ok(hit);
            }
        }
        let manifest = Manifest::parse(&summary.manifest)?;
        let bytes = desk.plugin_component(name, &summary.active_version).await?;
        let mut config = config_defaults(&manifest);
        for value in desk.plugin_config_values(name).await? {
            config.insert(value.key, value.value);
        }
        let mut loaded = self.prepare(&manifest, &summary.sha256, &bytes, config).await?;
        loaded.stamp = summary.changed_at;
        loaded.enabled = summary.enabled;
        loaded.suspended = summary.suspended_reason.clone();
        let loaded = Arc::new(loaded);
        self.inner.loaded.write().await.insert(name.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// Loads every installed plugin (at start, so first calls are fast).
    pub async fn preload(&self) -> Result<usize, PluginError> {
        let plugins = self.desk()?.plugin_list(&Actor::System).await?;
        let mut count = 0;
        for p in plugins {
            match self.loaded(&p.name).await {
                Ok(_) => count += 1,
                Err(err) => tracing::warn!(plugin = %p.name, error = %err, "could not load plugin"),
            }
        }
        Ok(count)
    }

    /// Sets a configuration value, checking it against the manifest schema (admin).
    pub async fn configure(&self, actor: &Actor, name: &str, key: &str, value: &str) -> Result<(), PluginError> {
        actor.require_admin()?;
        let desk = self.desk()?;
        let summary = desk.plugin_get(actor, name).await?;
        let manifest = Manifest::parse(&summary.manifest)?;
        let spec = manifest.config.get(key).ok_or_else(|| {
            let keys: Vec<&str> = manifest.config.keys().map(String::as_str).collect();
            PluginError::Invalid(format!("{name} has no configuration key '{key}'; its keys: {}", keys.join(", ")))
        })?;
        manifest::check_value(spec.value_type, value).map_err(|m| PluginError::Invalid(format!("{key}: {m}")))?;
        desk.plugin_config_set(actor, name, key, value, spec.secret).await?;
        self.inner.loaded.write().await.remove(name);
        Ok(())
    }

    /// Forgets a loaded plugin so the next call reloads it.
    pub async fn invalidate(&self, name: &str) {
        self.inner.loaded.write().await.remove(name);
    }
}

/// Default values from the manifest's configuration schema.
pub(crate) fn config_defaults(manifest: &Manifest) -> BTreeMap<String, String> {
    manifest.config.iter().filter_map(|(k, spec)| spec.default.clone().map(|d| (k.clone(), d))).collect()
}
