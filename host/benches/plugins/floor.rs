//! The bare floor of a plugin call: the same component, instantiated fresh
//! and called through a minimal wasmtime setup with nothing of Switchboard's
//! around it — pooling allocator with keep-resident memory, synchronous calls,
//! no fuel, no epoch deadline, no limiter, no admission, no records, WASI
//! granting nothing, host functions that answer at once.

use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// This setup's own bindings of the filter world.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "switchboard:plugin/postmaster-filter",
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

use bindings::switchboard::plugin as wit;
use bindings::{PostmasterFilter, PostmasterFilterPre};
use wit::log::Level;
use wit::types::PluginError;

/// What one call's store holds.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl wit::types::Host for State {}
impl wit::filter_types::Host for State {}

impl wit::log::Host for State {
    fn write(&mut self, _level: Level, message: String) {
        std::hint::black_box(message);
    }
}

impl wit::config::Host for State {
    fn get(&mut self, _key: String) -> Option<String> {
        None
    }

    fn keys(&mut self) -> Vec<String> {
        Vec::new()
    }
}

impl wit::kv::Host for State {
    fn get(&mut self, _key: String) -> Result<Option<Vec<u8>>, PluginError> {
        Ok(None)
    }

    fn set(&mut self, _key: String, _value: Vec<u8>) -> Result<(), PluginError> {
        Ok(())
    }

    fn delete(&mut self, _key: String) -> Result<bool, PluginError> {
        Ok(false)
    }

    fn compare_and_swap(&mut self, _key: String, _expected: Option<Vec<u8>>, _new: Option<Vec<u8>>) -> Result<bool, PluginError> {
        Ok(false)
    }

    fn keys(&mut self, _prefix: String) -> Result<Vec<String>, PluginError> {
        Ok(Vec::new())
    }
}

impl wit::clock::Host for State {
    fn now_millis(&mut self) -> i64 {
        0
    }

    fn now_rfc3339(&mut self) -> String {
        String::new()
    }
}

/// A compiled filter ready to instantiate.
pub(crate) struct Floor {
    engine: Engine,
    pre: PostmasterFilterPre<State>,
    mail: wit::types::Mail,
    metered: bool,
}

impl Floor {
    /// Compiles `wasm` and converts `mail` (the host's WIT type) to this
    /// setup's own. `metered`: the code counts fuel and checks an epoch
    /// deadline, as the host's does (what those two limits cost by themselves).
    pub(crate) fn new(wasm: &[u8], mail: &impl serde::Serialize, metered: bool) -> Floor {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(16)
            .total_memories(32)
            .total_tables(64)
            .max_memory_size(64 << 20)
            .linear_memory_keep_resident(4 << 20)
            .table_keep_resident(1 << 20);
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        config.consume_fuel(metered).epoch_interruption(metered);
        let engine = Engine::new(&config).expect("floor engine");
        let component = Component::new(&engine, wasm).expect("compile the component");
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
        PostmasterFilter::add_to_linker::<_, HasSelf<State>>(&mut linker, |s| s).expect("host functions");
        let pre = PostmasterFilterPre::new(linker.instantiate_pre(&component).expect("instantiate_pre")).expect("filter exports");
        let mail = serde_json::from_value(serde_json::to_value(mail).expect("mail to json")).expect("mail from json");
        Floor { engine, pre, mail, metered }
    }

    /// One call on a fresh instance.
    fn call(&self) {
        let state = State { wasi: WasiCtx::builder().build(), table: ResourceTable::new() };
        let mut store = Store::new(&self.engine, state);
        if self.metered {
            store.set_fuel(u64::MAX).expect("fuel");
            store.set_epoch_deadline(u64::MAX / 2);
        }
        let filter = self.pre.instantiate(&mut store).expect("instantiate");
        let verdict = filter.call_filter(&mut store, &self.mail).expect("call");
        std::hint::black_box(verdict.expect("the filter's verdict"));
    }

    /// p50 and p99 of `calls` calls on one thread, and calls/s.
    pub(crate) fn latency(&self, calls: usize) -> (Duration, Duration, f64) {
        for _ in 0..calls.min(500) {
            self.call();
        }
        let mut samples = Vec::with_capacity(calls);
        let started = Instant::now();
        for _ in 0..calls {
            let t = Instant::now();
            self.call();
            samples.push(t.elapsed());
        }
        let rate = calls as f64 / started.elapsed().as_secs_f64();
        samples.sort();
        (super::percentile(&samples, 0.5), super::percentile(&samples, 0.99), rate)
    }

    /// Calls/s with `threads` OS threads making `per_thread` calls each.
    pub(crate) fn throughput(&self, threads: usize, per_thread: usize) -> f64 {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| (0..per_thread).for_each(|_| self.call()));
            }
        });
        (threads * per_thread) as f64 / started.elapsed().as_secs_f64()
    }
}
