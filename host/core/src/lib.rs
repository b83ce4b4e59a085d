//! Switchboard's core: the helpdesk rules ([`desk`]) over one database ([`db`]).
//!
//! This crate has no HTTP, CLI or wasmtime dependency: every adapter (the API,
//! the CLI, the plugin host, the job worker) calls [`desk::Desk`] with an
//! [`desk::Actor`] and gets core types or a [`desk::DeskError`] back.

pub mod db;
pub mod desk;
