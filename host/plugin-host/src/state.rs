//! What one invocation's `Store` holds: the WASI context (granting nothing
//! unless the manifest says so), resource limits, the plugin's log and
//! output budget, its configuration and, for script tasks, the ticket it
//! works on.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::base::switchboard::plugin::types::{Article, PluginError as GuestError, Ticket, TicketChange};
use crate::egress::EgressHooks;
use crate::logs::LogSink;
use crate::manifest::Limits;
use crate::output::OutputBudget;
use switchboard_core::desk::SystemDesk;

/// A plugin's identity and settings, shared by its invocations.
#[derive(Debug)]
pub(crate) struct PluginIdentity {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) limits: Limits,
    /// Directory grants as checked at load (canonical host paths).
    pub(crate) directories: Vec<crate::grants::CheckedGrant>,
    pub(crate) kv: bool,
    /// Configuration values (secrets included; never logged).
    pub(crate) config: BTreeMap<String, String>,
    /// Canned HTTP responses (local runs).
    pub(crate) http_replay: Option<Arc<Vec<crate::egress::RecordedResponse>>>,
    /// Real outbound requests allowed (false only in local runs without --allow-http).
    pub(crate) http_live: bool,
    /// Runs on the engine that counts fuel: the plugin has a fuel limit, or
    /// this is a local run that reports the fuel used.
    pub(crate) counts_fuel: bool,
}

/// The limit a guest ran into, for the invocation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    Memory,
    Table,
}

/// Enforces memory, table and instance limits, and records peak memory.
pub(crate) struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
    pub(crate) peak_memory: usize,
    pub(crate) hit: Option<LimitHit>,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Limiter {
        Limiter {
            memory_bytes: limits.memory_bytes as usize,
            table_elements: limits.table_elements as usize,
            instances: limits.instances as usize,
            peak_memory: 0,
            hit: None,
        }
    }
}

/// The error a refused growth traps with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LimitExceeded(pub(crate) String);

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = Some(LimitHit::Memory);
            return Err(wasmtime::Error::new(LimitExceeded(format!(
                "memory limit: the plugin asked for {} MiB, its limit is {} MiB",
                desired / (1024 * 1024),
                self.memory_bytes / (1024 * 1024)
            ))));
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.hit = Some(LimitHit::Table);
            return Err(wasmtime::Error::new(LimitExceeded(format!(
                "table limit: {desired} elements wanted, limit {}",
                self.table_elements
            ))));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.instances * 4
    }

    fn memories(&self) -> usize {
        self.instances
    }
}

/// The ticket a script task works on, and its queued changes.
pub(crate) struct TicketScope {
    pub(crate) ticket: Ticket,
    pub(crate) articles: Vec<Article>,
    pub(crate) changes: Vec<TicketChange>,
}

/// The data of one invocation's store.
pub(crate) struct StoreState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: EgressHooks,
    pub(crate) limiter: Limiter,
    pub(crate) plugin: Arc<PluginIdentity>,
    /// The call's log: `log` lines, stdout and stderr under one cap.
    pub(crate) log: LogSink,
    /// What the call has handed the host so far, against `max_output_bytes` and `max_changes`.
    pub(crate) budget: Arc<OutputBudget>,
    pub(crate) desk: Option<SystemDesk>,
    /// The runtime that owns the database connections (see [`StoreState::on_host`]).
    pub(crate) host_runtime: Option<tokio::runtime::Handle>,
    pub(crate) ticket: Option<TicketScope>,
}

/// Runs core work a guest asked for (a database call) on the host's runtime
/// `host`, beside the connections it uses, and waits for it on the execution
/// thread. Without a host runtime (local runs) it runs in place.
pub(crate) async fn on_host<T: Send + 'static>(
    host: Option<tokio::runtime::Handle>,
    work: impl std::future::Future<Output = Result<T, GuestError>> + Send + 'static,
) -> Result<T, GuestError> {
    match host {
        Some(runtime) => runtime.spawn(work).await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "a plugin's host call failed");
            Err(GuestError { code: "unavailable".into(), message: "the host could not complete the call".into() })
        }),
        None => work.await,
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}
