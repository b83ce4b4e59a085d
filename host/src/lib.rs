//! Switchboard: a helpdesk whose automation runs as sandboxed WebAssembly.
//!
//! # Layout
//! - [`desk`]: the helpdesk core (tickets, articles, catalogue, agents,
//!   customers, tokens, job queue). Knows nothing of HTTP or plugins.
//! - [`db`]: the pool over SQLite or PostgreSQL and the migrations.
//! - [`api`]: the HTTP adapter (axum): JSON DTOs, auth, problem+json, OpenAPI, metrics.
//! - [`worker`]: runs due jobs from the durable queue.
//! - [`server`]: wires it together: `run(config, listener, shutdown)`.
//! - [`config`] and [`cli`]: flags, env, TOML, and the subcommands.

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod desk;
pub mod plugin;
pub mod server;
pub mod worker;
