//! Switchboard: a helpdesk whose automation runs as sandboxed WebAssembly.
//!
//! # Layout (one crate per layer; see `ARCHITECTURE.md`)
//! - [`desk`], [`db`] (crate `switchboard-core`, `host/core`): the helpdesk
//!   rules and the database. Knows nothing of HTTP, the CLI or wasmtime.
//! - [`plugin`] (crate `switchboard-plugin-host`, `host/plugin-host`): the
//!   wasmtime sandbox; turns plugin results into core calls.
//! - [`api`] (crate `switchboard-api`, `host/api`): the HTTP adapter (axum).
//! - this crate: [`worker`] (runs due jobs), [`server`] (wires API, worker and
//!   plugins), [`config`] and [`cli`] (flags, env, TOML and the subcommands).

pub use switchboard_api as api;
pub use switchboard_core::{db, desk};
pub use switchboard_plugin_host as plugin;

pub mod cli;
pub mod config;
pub mod server;
pub mod worker;
