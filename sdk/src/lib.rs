//! Switchboard plugin SDK: idiomatic wrappers over the WIT bindings in `wit/`.
//!
//! The plugin runtime is not part of this release yet; this crate reserves the
//! name and the place in the workspace.
#![deny(missing_docs)]

/// The WIT package version this SDK targets.
pub const WIT_PACKAGE_VERSION: &str = "0.1.0";
