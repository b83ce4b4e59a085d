//! The shared wasmtime engines (one counting fuel, one not): configuration,
//! the epoch ticker, the strict per-world linkers and the on-disk cache of
//! precompiled components.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings;
use crate::manifest::World;
use crate::state::StoreState;
use crate::PluginError;

/// One epoch tick: the longest a call runs on the caller's thread before it
/// moves to the execution threads.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Ticks a guest runs on an execution thread before it yields to the calls
/// beside it (10 ms); also the granularity of wall-time limits.
pub(crate) const SLICE_TICKS: u64 = 10;

/// Pool sizing (fits a 2-core machine; big Python/JS components included).
pub(crate) const POOL_INSTANCES: u32 = 64;

/// The most linear memory the pool gives one instance, in bytes: no manifest
/// or ceiling can grant more (see `ceilings::POOL_MAX_MEMORY_MIB`).
pub(crate) const POOL_MAX_MEMORY_BYTES: u64 = 512 * 1024 * 1024;

/// Table elements the pool gives one table.
pub(crate) const POOL_TABLE_ELEMENTS: u64 = 200_000;

/// Core instances the pool gives one component.
pub(crate) const POOL_INSTANCES_PER_COMPONENT: u64 = 50;

/// One wasmtime engine with its linkers.
struct Flavor {
    engine: Engine,
    linkers: Vec<(World, Linker<StoreState>)>,
    /// Names this engine's compiled-code compatibility in artifact file names.
    engine_key: String,
}

/// The engines, their linkers and the artifact cache.
///
/// Two engines: code compiled to count fuel runs about half again as long as
/// the same code without (measured by the plugins bench), so only plugins
/// with a fuel limit — and local `plugin run`s, which report the fuel a call
/// used — run on the fuel-counting one. Both have epoch interruption, which
/// bounds every call's wall time.
pub(crate) struct PluginEngine {
    /// Indexed by "counts fuel".
    flavors: [Flavor; 2],
    cache_dir: PathBuf,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn engine_config(pooling: bool, fuel: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(fuel);
    config.max_wasm_stack(512 * 1024);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 4)
            .total_stacks(POOL_INSTANCES)
            .max_core_instances_per_component(POOL_INSTANCES_PER_COMPONENT as u32)
            .max_memories_per_component(16)
            .max_tables_per_component(32)
            .max_memory_size(POOL_MAX_MEMORY_BYTES as usize)
            .table_elements(POOL_TABLE_ELEMENTS as usize)
            .max_component_instance_size(8 * 1024 * 1024)
            .max_core_instance_size(8 * 1024 * 1024)
            .linear_memory_keep_resident(4 * 1024 * 1024)
            .table_keep_resident(4 * 1024 * 1024);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

impl Flavor {
    fn new(fuel: bool) -> Result<Flavor, PluginError> {
        let engine = match Engine::new(&engine_config(true, fuel)) {
            Ok(engine) => engine,
            Err(err) => {
                tracing::warn!(error = %err, "pooling allocator unavailable; using on-demand allocation");
                Engine::new(&engine_config(false, fuel)).map_err(|e| PluginError::Engine(e.to_string()))?
            }
        };
        let mut linkers = Vec::new();
        for world in World::ALL {
            linkers.push((world, strict_linker(&engine, world)?));
        }
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        Ok(Flavor { engine, linkers, engine_key })
    }
}

impl PluginEngine {
    /// Builds both engines (pooling allocator, falling back to on-demand
    /// allocation where the pool cannot be reserved) and starts their ticker.
    pub(crate) fn new(cache_dir: PathBuf) -> Result<PluginEngine, PluginError> {
        let flavors = [Flavor::new(false)?, Flavor::new(true)?];
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticked: Vec<_> = flavors.iter().map(|f| f.engine.weak()).collect();
        let stop = stop_ticker.clone();
        std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    for weak in &ticked {
                        match weak.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => return,
                        }
                    }
                }
            })
            .map_err(|e| PluginError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(PluginEngine { flavors, cache_dir, stop_ticker })
    }

    fn flavor(&self, fuel: bool) -> &Flavor {
        &self.flavors[usize::from(fuel)]
    }

    /// The engine whose code counts fuel (`fuel`) or does not.
    pub(crate) fn engine(&self, fuel: bool) -> &Engine {
        &self.flavor(fuel).engine
    }

    /// The linker of `world` on that engine: WASI p2 (granting nothing by
    /// itself), our interfaces for that world and, for service invokers only,
    /// wasi:http.
    pub(crate) fn linker(&self, world: World, fuel: bool) -> &Linker<StoreState> {
        let (_, linker) = self.flavor(fuel).linkers.iter().find(|(w, _)| *w == world).expect("a linker exists for every world");
        linker
    }

    fn artifact_path(&self, sha256: &str, fuel: bool) -> PathBuf {
        self.cache_dir.join(format!("{sha256}-{}.cwasm", self.flavor(fuel).engine_key))
    }

    /// Compiles `bytes` (or loads the cached artifact for `sha256`), writing
    /// the artifact on a miss. Compilation of big components takes seconds:
    /// it runs on a blocking thread and only at install or first load.
    pub(crate) async fn load(&self, sha256: &str, bytes: &[u8], fuel: bool) -> Result<Component, PluginError> {
        let path = self.artifact_path(sha256, fuel);
        let expected_digest = self.cache_dir.join(format!("{sha256}-{}.sha256", self.flavor(fuel).engine_key));
        let engine = self.engine(fuel).clone();
        if let Some(component) = load_cached(&engine, &path, &expected_digest) {
            return Ok(component);
        }
        let owned = bytes.to_vec();
        let compiling = engine.clone();
        let compiled = tokio::task::spawn_blocking(move || compiling.precompile_component(&owned))
            .await
            .map_err(|e| PluginError::Engine(e.to_string()))?
            .map_err(|e| PluginError::Invalid(format!("not a valid WebAssembly component: {e:#}")))?;
        if let Err(err) = write_artifact(&self.cache_dir, &path, &expected_digest, &compiled) {
            tracing::warn!(error = %err, path = %path.display(), "could not cache a compiled plugin; it will be compiled again next start");
        }
        deserialize_trusted(&engine, Artifact::Bytes(&compiled))
            .ok_or_else(|| PluginError::Engine("a freshly compiled component did not load".into()))
    }
}

fn strict_linker(engine: &Engine, world: World) -> Result<Linker<StoreState>, PluginError> {
    let mut linker = Linker::<StoreState>::new(engine);
    let fail = |e: wasmtime::Error| PluginError::Engine(format!("linker for {}: {e}", world.as_str()));
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(fail)?;
    crate::fs_guard::add_to_linker(&mut linker).map_err(fail)?;
    match world {
        World::PostmasterFilter => {
            bindings::filter::PostmasterFilter::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?
        }
        World::ScriptTask => bindings::script::ScriptTask::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?,
        World::TransitionAction => {
            bindings::action::TransitionAction::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?
        }
        World::ServiceInvoker => {
            wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(fail)?;
            use bindings::base::switchboard::plugin as ours;
            ours::types::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?;
            ours::log::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?;
            ours::config::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?;
            ours::kv::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?;
            ours::clock::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s).map_err(fail)?;
            bindings::invoker::switchboard::plugin::invoker_types::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s)
                .map_err(fail)?;
        }
    }
    Ok(linker)
}

/// Loads a cached artifact only if its digest matches the one this host
/// recorded when it wrote it: nothing else is ever deserialized.
fn load_cached(engine: &Engine, path: &Path, digest_path: &Path) -> Option<Component> {
    use sha2::{Digest, Sha256};
    let recorded = std::fs::read_to_string(digest_path).ok()?;
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).ok()?;
    if hex::encode(hasher.finalize()) != recorded.trim() {
        tracing::warn!(path = %path.display(), "cached plugin artifact does not match its digest; recompiling");
        return None;
    }
    deserialize_trusted(engine, Artifact::File(path))
}

/// A precompiled component, in memory or in the cache (memory-mapped).
enum Artifact<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// Deserializes a precompiled component.
#[allow(unsafe_code)]
fn deserialize_trusted(engine: &Engine, artifact: Artifact<'_>) -> Option<Component> {
    // SAFETY: the artifact is one this host produced with
    // `Engine::precompile_component` — just now, or earlier with its sha256
    // recorded beside it and checked by the caller. wasmtime additionally
    // checks that a compatible engine built it.
    let loaded = match artifact {
        Artifact::Bytes(bytes) => unsafe { Component::deserialize(engine, bytes) },
        Artifact::File(path) => unsafe { Component::deserialize_file(engine, path) },
    };
    match loaded {
        Ok(component) => Some(component),
        Err(err) => {
            tracing::warn!(error = %err, "cached plugin artifact is not usable; recompiling");
            None
        }
    }
}

fn write_artifact(dir: &Path, path: &Path, digest_path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use sha2::{Digest, Sha256};
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    std::fs::write(digest_path, hex::encode(Sha256::digest(bytes)))?;
    Ok(())
}
