//! Logging into the host's log and the plugin's own log (WIT interface `log`).
//!
//! Lines are tagged by the host with the plugin's name and version. The host
//! caps the bytes logged per invocation (`limits.max_log_bytes`); lines past
//! the cap are dropped.

use crate::wit::base::switchboard::plugin::log as raw;

pub use raw::Level;

/// Writes one line at `level`.
pub fn write(level: Level, message: impl AsRef<str>) {
    raw::write(level, message.as_ref());
}

/// Writes a `trace` line.
pub fn trace(message: impl AsRef<str>) {
    write(Level::Trace, message);
}

/// Writes a `debug` line.
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message);
}

/// Writes an `info` line.
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message);
}

/// Writes a `warn` line.
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message);
}

/// Writes an `error` line.
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message);
}
