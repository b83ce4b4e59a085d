//! The one place that runs `bindgen!`: host bindings for every world in `wit/`.
//!
//! The interfaces every world shares (types, log, config, kv, clock, ticket)
//! are generated once, in `base`, and reused by the per-world modules.

#![allow(missing_docs, unreachable_pub, clippy::all)]

/// Shared interfaces (`plugin-base` plus `ticket`).
pub mod base {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchboard:plugin/script-task",
        imports: {
            "switchboard:plugin/kv": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// The `postmaster-filter` world.
pub mod filter {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchboard:plugin/postmaster-filter",
        imports: { default: trappable },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "switchboard:plugin/types": super::base::switchboard::plugin::types,
            "switchboard:plugin/log": super::base::switchboard::plugin::log,
            "switchboard:plugin/config": super::base::switchboard::plugin::config,
            "switchboard:plugin/kv": super::base::switchboard::plugin::kv,
            "switchboard:plugin/clock": super::base::switchboard::plugin::clock,
        },
    });
}

/// The `script-task` world.
pub use base as script;

/// The `transition-action` world.
pub mod action {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchboard:plugin/transition-action",
        imports: { default: trappable },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "switchboard:plugin/types": super::base::switchboard::plugin::types,
            "switchboard:plugin/log": super::base::switchboard::plugin::log,
            "switchboard:plugin/config": super::base::switchboard::plugin::config,
            "switchboard:plugin/kv": super::base::switchboard::plugin::kv,
            "switchboard:plugin/clock": super::base::switchboard::plugin::clock,
        },
    });
}

/// The `service-invoker` world.
pub mod invoker {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "switchboard:plugin/service-invoker",
        imports: { default: trappable },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
        with: {
            "switchboard:plugin/types": super::base::switchboard::plugin::types,
            "switchboard:plugin/log": super::base::switchboard::plugin::log,
            "switchboard:plugin/config": super::base::switchboard::plugin::config,
            "switchboard:plugin/kv": super::base::switchboard::plugin::kv,
            "switchboard:plugin/clock": super::base::switchboard::plugin::clock,
            "wasi": wasmtime_wasi_http::p2::bindings,
        },
    });
}
