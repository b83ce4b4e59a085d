//! One invocation: a fresh store and instance from the cached `InstancePre`,
//! every limit armed, the call, and a record of how it went.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::egress::{EgressHooks, EgressPolicy, HostPattern};
use crate::engine::EPOCH_TICK;
use crate::manifest::{Manifest, World};
use crate::state::{LimitExceeded, LimitHit, Limiter, LogSink, PluginIdentity, StoreState, TicketScope};
use switchboard_core::desk::{InvocationRecord, SystemDesk};

/// Why an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `trap`, `timeout`, `memory_limit`, `table_limit`, `fuel`, `stack_overflow`,
    /// `output_too_large`, `input_too_large`, `plugin_error`, `instantiate`, `host`.
    pub kind: String,
    /// What happened.
    pub message: String,
}

impl Failure {
    pub(crate) fn new(kind: &str, message: impl Into<String>) -> Failure {
        Failure { kind: kind.to_string(), message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

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
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Peak linear memory in bytes.
    pub peak_memory: u64,
    /// The plugin's log (and captured stdout/stderr).
    pub logs: String,
}

impl Report {
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
            fuel_used: Some(self.fuel_used as i64),
            peak_memory: self.peak_memory as i64,
            outcome: match outcome {
                Ok(()) => "ok".into(),
                Err(f) if f.kind == "plugin_error" => "plugin_error".into(),
                Err(_) => "failed".into(),
            },
            error_kind: outcome.as_ref().err().map(|f| f.kind.clone()),
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
    ticket: Option<TicketScope>,
) -> Result<Store<StoreState>, Failure> {
    let limits = &identity.limits;
    let stdout = MemoryOutputPipe::new(limits.max_log_bytes as usize);
    let stderr = MemoryOutputPipe::new(limits.max_log_bytes as usize);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(stdout.clone()).stderr(stderr.clone()).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    for dir in &manifest.capabilities.directories {
        let perms = if dir.write { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
        wasi.preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|e| Failure::new("host", format!("granted directory {} cannot be opened: {e}", dir.host)))?;
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
        log: LogSink::new(limits.max_log_bytes as usize),
        stdout,
        stderr,
        desk,
        ticket,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    let ticks = limits.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_trap();
    store.set_fuel(limits.fuel.unwrap_or(u64::MAX)).map_err(|e| Failure::new("host", e.to_string()))?;
    Ok(store)
}

/// Names the cause of a failed call.
pub(crate) fn classify(err: &wasmtime::Error, hit: Option<LimitHit>, timeout_ms: u64) -> Failure {
    if let Some(limit) = err.downcast_ref::<LimitExceeded>() {
        let kind = match hit {
            Some(LimitHit::Table) => "table_limit",
            _ => "memory_limit",
        };
        return Failure::new(kind, limit.0.clone());
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => Failure::new("timeout", format!("the plugin ran longer than its {timeout_ms} ms limit")),
            Trap::OutOfFuel => Failure::new("fuel", "the plugin used up its fuel budget"),
            Trap::StackOverflow => Failure::new("stack_overflow", "the plugin overflowed its stack"),
            Trap::UnreachableCodeReached => Failure::new("trap", "the plugin trapped: unreachable code (a panic or abort in the guest)"),
            Trap::MemoryOutOfBounds => {
                Failure::new("trap", "the plugin trapped: out-of-bounds memory access (a bug, or its shadow stack overflowed)")
            }
            other => Failure::new("trap", format!("the plugin trapped: {other}")),
        };
    }
    if hit == Some(LimitHit::Memory) {
        return Failure::new("memory_limit", format!("{err:#}"));
    }
    let text = format!("{err:#}");
    if text.contains("pool") && text.contains("exhausted") || text.contains("maximum concurrent") {
        return Failure::new("instantiate", format!("no instance slot free: {text}"));
    }
    Failure::new("trap", text)
}

/// Collects the report from a finished store.
pub(crate) fn finish(store: Store<StoreState>, started: Instant, world: World, initial_fuel: u64) -> (Report, StoreState) {
    let fuel_left = store.get_fuel().unwrap_or(0);
    let mut state = store.into_data();
    let stdout = state.stdout.contents();
    let stderr = state.stderr.contents();
    let mut logs = std::mem::take(&mut state.log).finish();
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        if !bytes.is_empty() {
            logs.push_str(&format!("[{name}] {}\n", String::from_utf8_lossy(&bytes)));
        }
    }
    let report = Report {
        plugin: state.plugin.name.clone(),
        version: state.plugin.version.clone(),
        world,
        duration_us: started.elapsed().as_micros() as u64,
        fuel_used: initial_fuel.saturating_sub(fuel_left),
        peak_memory: state.limiter.peak_memory as u64,
        logs,
    };
    (report, state)
}
