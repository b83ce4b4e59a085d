//! The plugin's configuration as set by the admin (WIT interface `config`).
//!
//! Keys and their types are declared in `plugin.toml` under `[config.<key>]`;
//! the host fills in declared defaults, so [`get`] sees them too. Values are
//! strings; the typed helpers parse them and report a `bad-config`
//! [`PluginError`] naming the key when they are malformed.

use crate::types::PluginError;
use crate::wit::base::switchboard::plugin::config as raw;

/// The value of `key` (secrets included: never log them).
pub fn get(key: &str) -> Option<String> {
    raw::get(key)
}

/// All configured keys.
pub fn keys() -> Vec<String> {
    raw::keys()
}

/// The value of `key`, or `default` when it is unset or blank.
pub fn get_or(key: &str, default: &str) -> String {
    get(key).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}

/// The value of `key`, or a `bad-config` error when it is unset or blank.
pub fn require(key: &str) -> Result<String, PluginError> {
    get(key).filter(|v| !v.trim().is_empty()).ok_or_else(|| PluginError::bad_config(format!("config `{key}` is required")))
}

/// `key` as an integer, or `default` when unset or blank.
pub fn get_int(key: &str, default: i64) -> Result<i64, PluginError> {
    match get(key).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => parse_int(key, &v),
    }
}

/// `key` as a boolean (`true`/`false`, `1`/`0`, `yes`/`no`), or `default`
/// when unset or blank.
pub fn get_bool(key: &str, default: bool) -> Result<bool, PluginError> {
    match get(key).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => parse_bool(key, &v),
    }
}

/// Parses an integer config value; the error names `key`.
pub fn parse_int(key: &str, value: &str) -> Result<i64, PluginError> {
    value.trim().parse().map_err(|_| PluginError::bad_config(format!("config `{key}` must be an integer, got {value:?}")))
}

/// Parses a boolean config value; the error names `key`.
pub fn parse_bool(key: &str, value: &str) -> Result<bool, PluginError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(PluginError::bad_config(format!("config `{key}` must be true or false, got {value:?}"))),
    }
}
