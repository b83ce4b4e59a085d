//! The host's clock (WIT interface `clock`).

use crate::wit::base::switchboard::plugin::clock as raw;

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    raw::now_millis()
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    raw::now_rfc3339()
}
