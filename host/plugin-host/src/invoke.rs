//! One invocation: a fresh store and instance from the cached `InstancePre`,
//! every limit armed, the call, and a record of how it went.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::admission::Admitted;
use crate::calls::{Call, CallResult};
use crate::egress::{EgressHooks, EgressPolicy, HostPattern};
use crate::engine::SLICE_TICKS;
use crate::failure::{outcome_of, Failure, FailureKind};
use crate::logs::LogSink;
use crate::manifest::{Manifest, World};
use crate::output::{check_result, OutputBudget};
use crate::state::{LimitExceeded, LimitHit, Limiter, PluginIdentity, StoreState, TicketScope};
use crate::{Loaded, Prepared};
use switchboard_core::desk::{HttpAuditRecord, InvocationRecord, SystemDesk};

/// How an invocation went, for the caller and the record.
#[derive(Debug, Clone)]
pub struct Report {
    /// Plugin name.
    pub plugin: String,
    /// Version.
    pub version: String,
    /// World.
    pub world: World,
    /// Wall time in microseconds.
    pub duration_us: u64,
    /// Fuel consumed; `None` when the plugin ran without counting it (it has
    /// no fuel limit: counting costs about a third of a short call).
    pub fuel_used: Option<u64>,
    /// Peak linear memory in bytes.
    pub peak_memory: u64,
    /// The plugin's log (and captured stdout/stderr).
    pub logs: String,
}

impl Report {
    /// The report of a call that never ran (refused, or its store could not be built).
    pub(crate) fn empty(identity: &PluginIdentity, world: World, logs: &str) -> Report {
        Report {
            plugin: identity.name.clone(),
            version: identity.version.clone(),
            world,
            duration_us: 0,
            fuel_used: None,
            peak_memory: 0,
            logs: logs.to_string(),
        }
    }

    /// The stored record of this invocation.
    pub(crate) fn record(&self, outcome: &Result<(), Failure>) -> InvocationRecord {
        InvocationRecord {
            id: 0,
            plugin: self.plugin.clone(),
            version: self.version.clone(),
            world: self.world.as_str().to_string(),
            function: self.world.function().to_string(),
            started_at: chrono::Utc::now() - chrono::Duration::microseconds(self.duration_us as i64),
            duration_us: self.duration_us as i64,
            fuel_used: self.fuel_used.map(|f| f as i64),
            peak_memory: self.peak_memory as i64,
            outcome: outcome_of(outcome),
            error_kind: outcome.as_ref().err().map(|f| f.kind),
            error: outcome.as_ref().err().map(|f| f.message.clone()),
            logs: self.logs.clone(),
        }
    }
}

/// Builds the store of one invocation.
pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    identity: &Arc<PluginIdentity>,
    manifest: &Manifest,
    desk: Option<SystemDesk>,
    host_runtime: Option<tokio::runtime::Handle>,
    ticket: Option<TicketScope>,
) -> Result<Store<StoreState>, Failure> {
    let limits = &identity.limits;
    let log = LogSink::new(limits.max_log_bytes as usize, &identity.name, &identity.version);
    let budget = OutputBudget::new(limits);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(log.stream(false)).stderr(log.stream(true)).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    for dir in &identity.directories {
        let perms = if dir.write { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
        let host = dir.recheck().map_err(|e| Failure::new(FailureKind::Host, format!("granted directory refused: {e}")))?;
        wasi.preopened_dir(host, &dir.guest, perms)
            .map_err(|e| Failure::new(FailureKind::Host, format!("granted directory {} cannot be opened: {e}", host.display())))?;
    }
    let hooks = if manifest.world == World::ServiceInvoker {
        EgressHooks::new(EgressPolicy {
            replay: identity.http_replay.clone(),
            live: identity.http_live,
            plugin: identity.name.clone(),
            version: identity.version.clone(),
            patterns: manifest.capabilities.http.iter().filter_map(|p| HostPattern::parse(p).ok()).collect(),
            allow_internal: manifest.capabilities.http_private,
            max_requests: limits.max_http_requests,
            max_response_bytes: limits.max_http_response_bytes,
            timeout: std::time::Duration::from_millis(limits.timeout_ms),
            budget: budget.clone(),
        })
    } else {
        EgressHooks::default()
    };
    let state = StoreState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        http: WasiHttpCtx::new(),
        hooks,
        limiter: Limiter::new(limits),
        plugin: identity.clone(),
        log,
        budget,
        desk,
        host_runtime,
        ticket,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    // The guest's first yield comes at the next epoch tick (within 1 ms):
    // a call still running then moves from the caller's thread to the
    // execution threads (see `PluginHost::call`), where it yields to the
    // calls beside it every slice. Past its deadline (wall time from now) it
    // traps.
    let deadline = Instant::now() + std::time::Duration::from_millis(limits.timeout_ms);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Err(wasmtime::Error::new(Trap::Interrupt))
        } else {
            Ok(UpdateDeadline::Yield(SLICE_TICKS))
        }
    });
    if identity.counts_fuel {
        store.set_fuel(limits.fuel.unwrap_or(u64::MAX)).map_err(|e| Failure::new(FailureKind::Host, e.to_string()))?;
    }
    Ok(store)
}

/// Names the cause of a failed call.
pub(crate) fn classify(err: &wasmtime::Error, hit: Option<LimitHit>, timeout_ms: u64) -> Failure {
    if let Some(limit) = err.downcast_ref::<LimitExceeded>() {
        let kind = match hit {
            Some(LimitHit::Table) => FailureKind::TableLimit,
            _ => FailureKind::MemoryLimit,
        };
        return Failure::new(kind, limit.0.clone());
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => Failure::new(FailureKind::Timeout, format!("the plugin ran longer than its {timeout_ms} ms limit")),
            Trap::OutOfFuel => Failure::new(FailureKind::Fuel, "the plugin used up its fuel budget"),
            Trap::StackOverflow => Failure::new(FailureKind::StackOverflow, "the plugin overflowed its stack"),
            Trap::UnreachableCodeReached => {
                Failure::new(FailureKind::Trap, "the plugin trapped: unreachable code (a panic or abort in the guest)")
            }
            Trap::MemoryOutOfBounds => {
                Failure::new(FailureKind::Trap, "the plugin trapped: out-of-bounds memory access (a bug, or its shadow stack overflowed)")
            }
            other => Failure::new(FailureKind::Trap, format!("the plugin trapped: {other}")),
        };
    }
    if hit == Some(LimitHit::Memory) {
        return Failure::new(FailureKind::MemoryLimit, format!("{err:#}"));
    }
    let text = format!("{err:#}");
    if text.contains("pool") && text.contains("exhausted") || text.contains("maximum concurrent") {
        return Failure::new(FailureKind::Instantiate, format!("no instance slot free: {text}"));
    }
    Failure::new(FailureKind::Trap, text)
}

/// Collects the report from a finished store.
pub(crate) fn finish(store: Store<StoreState>, started: Instant, world: World, initial_fuel: Option<u64>) -> (Report, StoreState) {
    // Asked only of a store that counts fuel: on the other engine the answer
    // is an error, and an error captures a backtrace when RUST_BACKTRACE is set.
    let fuel_left = if initial_fuel.is_some() { store.get_fuel().ok() } else { None };
    let state = store.into_data();
    let logs = state.log.finish();
    let report = Report {
        plugin: state.plugin.name.clone(),
        version: state.plugin.version.clone(),
        world,
        duration_us: started.elapsed().as_micros() as u64,
        fuel_used: initial_fuel.zip(fuel_left).map(|(initial, left)| initial.saturating_sub(left)),
        peak_memory: state.limiter.peak_memory as u64,
        logs,
    };
    (report, state)
}

/// Everything one call needs on an execution thread (owned: it runs there).
pub(crate) struct Execution {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) loaded: Arc<Loaded>,
    pub(crate) desk: Option<SystemDesk>,
    pub(crate) host_runtime: Option<tokio::runtime::Handle>,
    pub(crate) call: Call,
    pub(crate) scope: Option<TicketScope>,
    /// The admitted share: held until the guest is gone, so a caller that
    /// stops waiting does not free a slot its guest still uses.
    pub(crate) share: Admitted,
}

/// What an execution produced.
pub(crate) struct Executed {
    pub(crate) result: Result<CallResult, Failure>,
    pub(crate) report: Report,
    pub(crate) scope: Option<TicketScope>,
    pub(crate) audit: Vec<HttpAuditRecord>,
}

/// Runs one call on the current (execution) thread: store, instance, call,
/// every limit armed. A guest blocked inside a host call is cut off one
/// second after its timeout.
pub(crate) async fn execute(execution: Execution) -> Executed {
    let Execution { engine, loaded, desk, host_runtime, call, scope, share } = execution;
    let identity = &loaded.identity;
    let world = loaded.manifest.world;
    let mut store = match new_store(&engine, identity, &loaded.manifest, desk, host_runtime, scope) {
        Ok(store) => store,
        Err(failure) => {
            return Executed { result: Err(failure), report: Report::empty(identity, world, ""), scope: None, audit: Vec::new() };
        }
    };
    let initial_fuel = if identity.counts_fuel { store.get_fuel().ok() } else { None };
    let started = Instant::now();
    let timeout = std::time::Duration::from_millis(identity.limits.timeout_ms);
    let run = async {
        match (&loaded.prepared, &call) {
            (Prepared::Filter(pre), Call::Filter(mail)) => {
                let instance = pre.instantiate_async(&mut store).await?;
                Ok(instance.call_filter(&mut store, mail).await?.map(CallResult::Verdict))
            }
            (Prepared::Script(pre), Call::Script(context, params)) => {
                let instance = pre.instantiate_async(&mut store).await?;
                Ok(instance.call_run(&mut store, context, params).await?.map(CallResult::Outcome))
            }
            (Prepared::Action(pre), Call::Action(context, params)) => {
                let instance = pre.instantiate_async(&mut store).await?;
                Ok(instance.call_apply(&mut store, context, params).await?.map(CallResult::Changes))
            }
            (Prepared::Invoker(pre), Call::Invoke(request)) => {
                let instance = pre.instantiate_async(&mut store).await?;
                Ok(instance.call_invoke(&mut store, request).await?.map(CallResult::Response))
            }
            _ => Err(wasmtime::Error::msg(format!("this plugin implements {}, not the world of this call", world.as_str()))),
        }
    };
    let outcome: Result<Result<CallResult, _>, wasmtime::Error> =
        match tokio::time::timeout(timeout + std::time::Duration::from_secs(1), run).await {
            Ok(r) => r,
            Err(_) => Err(wasmtime::Error::new(Trap::Interrupt)),
        };
    let hit = store.data().limiter.hit;
    let audit = store.data().hooks.take_audit();
    let (report, mut state) = finish(store, started, world, initial_fuel);
    // The instance is gone: its slot and memory go to the next caller.
    drop(share);
    let result = match outcome {
        Err(err) => Err(classify(&err, hit, identity.limits.timeout_ms)),
        Ok(Err(plugin_error)) => Err(Failure::new(FailureKind::PluginError, format!("{}: {}", plugin_error.code, plugin_error.message))),
        Ok(Ok(value)) => check_result(&value, value.approx_size() as u64, &state.budget).map(|()| value),
    };
    // Output refused during the call (changes, kv, request bodies) fails it, whatever the guest made of the refusal.
    let result = match state.budget.refusal() {
        Some(why) => Err(Failure::new(FailureKind::OutputTooLarge, why)),
        None => result,
    };
    Executed { result, report, scope: state.ticket.take(), audit }
}
