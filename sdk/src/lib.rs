//! # Switchboard plugin SDK
//!
//! Write Switchboard plugins — postmaster filters, script tasks, service
//! invokers and transition actions — in Rust, compiled to WebAssembly
//! components for the `wasm32-wasip2` target.
//!
//! The contract is the WIT package `switchboard:plugin@0.1.0` in `wit/` of the
//! repository. This crate wraps the bindings `wit-bindgen` generates from it:
//!
//! * one trait per world — [`filter::PostmasterFilter`], [`task::ScriptTask`],
//!   [`invoker::ServiceInvoker`], [`action::TransitionAction`] — and one
//!   export macro per world: [`postmaster_filter!`], [`script_task!`],
//!   [`service_invoker!`], [`transition_action!`];
//! * the host's services every world gets: [`log`], [`config`], [`kv`], [`clock`];
//! * the world-specific imports: [`task::ticket`] and friends (script tasks
//!   only) and a blocking HTTP client, [`http`] (service invokers only);
//! * builders on the WIT records ([`filter::Verdict::route_to`],
//!   [`types::TicketChange::internal_note`], [`types::Params::param`], …).
//!
//! A plugin is a `cdylib` crate with one export macro call:
//!
//! ```no_run
//! use switchboard_sdk::prelude::*;
//!
//! struct Tagger;
//!
//! impl PostmasterFilter for Tagger {
//!     fn filter(mail: Mail) -> Result<Verdict, PluginError> {
//!         if mail.subject.contains("[urgent]") {
//!             log::info("urgent mail, raising priority");
//!             return Ok(Verdict::default().with_priority(5));
//!         }
//!         Ok(Verdict::default())
//!     }
//! }
//!
//! switchboard_sdk::postmaster_filter!(Tagger);
//! ```
//!
//! Depend on the SDK with only your plugin's world enabled, so the component
//! imports nothing of the other worlds:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! switchboard-sdk = { path = "../sdk", default-features = false, features = ["postmaster-filter"] }
//! ```
//!
//! and build it with `cargo build --target wasm32-wasip2 --release` (see the
//! crate's README for the linker flags and the `plugin.toml` manifest).
//!
//! Features: `postmaster-filter`, `script-task`, `service-invoker`,
//! `transition-action` (one per world, all on by default), `json` (serde
//! helpers on [`http`]).
//!
//! With only its world's feature on, a plugin cannot even name an import its
//! world lacks ([`http`] from a postmaster filter, say). On non-Wasm targets
//! the imports panic; keep the logic you unit-test natively in plain functions.
#![deny(missing_docs)]

#[doc(hidden)]
pub mod wit;

#[cfg(feature = "transition-action")]
pub mod action;
pub mod clock;
pub mod config;
#[cfg(feature = "postmaster-filter")]
pub mod filter;
#[cfg(feature = "service-invoker")]
pub mod http;
#[cfg(feature = "service-invoker")]
pub mod invoker;
pub mod kv;
pub mod log;
#[cfg(feature = "script-task")]
pub mod task;
pub mod types;

/// The WIT package version this SDK targets (`switchboard:plugin@0.1.0`);
/// write it as `wit = "…"` in `plugin.toml`.
pub const WIT_PACKAGE_VERSION: &str = "0.1.0";

/// Everything a plugin usually needs, for `use switchboard_sdk::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "transition-action")]
    pub use crate::action::{ActionContext, TransitionAction};
    #[cfg(feature = "postmaster-filter")]
    pub use crate::filter::{PostmasterFilter, Verdict};
    #[cfg(feature = "service-invoker")]
    pub use crate::invoker::{InvokeRequest, InvokeResponse, ServiceInvoker};
    #[cfg(feature = "script-task")]
    pub use crate::task::{Outcome, ScriptTask, TaskContext};
    pub use crate::types::{
        Address, Article, AttachmentInfo, DynamicField, Header, Mail, Note, Param, Params, PluginError, SenderType, Ticket, TicketChange,
    };
    pub use crate::{clock, config, kv, log};
}
