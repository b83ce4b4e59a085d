//! Timestamps: stored as microseconds since the Unix epoch, exposed as UTC.

use chrono::{DateTime, TimeZone, Utc};

/// The current time in microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Converts stored microseconds to a UTC time.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// Converts a UTC time to stored microseconds.
pub fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}
