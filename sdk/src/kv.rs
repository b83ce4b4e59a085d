//! A small key-value store per plugin, kept by the host (WIT interface `kv`).
//!
//! Values are bytes; the `*_string` helpers store UTF-8. The host enforces a
//! quota per plugin (`set` fails with code `too-large`) and only grants the
//! store when `plugin.toml` says `[capabilities] kv = true`.
//!
//! ```no_run
//! use switchboard_sdk::kv;
//! # fn demo() -> Result<(), switchboard_sdk::types::PluginError> {
//! // A counter that survives concurrent invocations.
//! loop {
//!     let old = kv::get("count")?;
//!     let n: u64 = old.as_deref().and_then(|b| std::str::from_utf8(b).ok()?.parse().ok()).unwrap_or(0);
//!     if kv::compare_and_swap("count", old.as_deref(), Some((n + 1).to_string().as_bytes()))? {
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```

use crate::types::PluginError;
use crate::wit::base::switchboard::plugin::kv as raw;

/// Reads a value.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, PluginError> {
    raw::get(key)
}

/// Reads a value stored as UTF-8 (invalid UTF-8 is replaced).
pub fn get_string(key: &str) -> Result<Option<String>, PluginError> {
    Ok(get(key)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Writes a value.
pub fn set(key: &str, value: impl AsRef<[u8]>) -> Result<(), PluginError> {
    raw::set(key, value.as_ref())
}

/// Deletes a value; true when it existed.
pub fn delete(key: &str) -> Result<bool, PluginError> {
    raw::delete(key)
}

/// Sets `key` to `new` (deletes it when `None`) only if its current value is
/// `expected` (`None`: absent). True when the swap happened.
pub fn compare_and_swap(key: &str, expected: Option<&[u8]>, new: Option<&[u8]>) -> Result<bool, PluginError> {
    raw::compare_and_swap(key, expected, new)
}

/// Keys starting with `prefix`, sorted.
pub fn keys(prefix: &str) -> Result<Vec<String>, PluginError> {
    raw::keys(prefix)
}
