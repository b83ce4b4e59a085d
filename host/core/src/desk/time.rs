//! Timestamps: stored as microseconds since the Unix epoch, exposed as UTC.
//!
//! Accepted times lie within the years 0000-9999 (in UTC): RFC 3339 has a
//! four-digit year, so anything outside could not be written back on the wire.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

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

/// What a refused time is told: the range it must lie in.
pub(crate) const TIME_RANGE: &str = "must lie within the years 0000-9999 (UTC)";

/// True for a time whose UTC year is 0000-9999, i.e. one RFC 3339 can write.
pub(crate) fn time_in_range(time: DateTime<Utc>) -> bool {
    (0..=9999).contains(&chrono::Datelike::year(&time))
}

/// True for a calendar date whose year is 0000-9999.
pub(crate) fn date_in_range(date: NaiveDate) -> bool {
    (0..=9999).contains(&chrono::Datelike::year(&date))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_what_rfc_3339_can_write() {
        let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).expect("valid RFC 3339");
        assert!(time_in_range(parse("0000-01-01T00:00:00Z")));
        assert!(time_in_range(parse("9999-12-31T23:59:59.999999Z")));
        // Valid RFC 3339 whose UTC instant falls outside the four-digit years.
        assert!(!time_in_range(parse("9999-12-31T23:30:00-01:00")));
        assert!(!time_in_range(parse("0000-01-01T00:30:00+01:00")));
        assert!(!time_in_range(Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single().expect("a time")));
        assert!(!date_in_range(NaiveDate::from_ymd_opt(-1, 12, 31).expect("a date")));
        assert!(date_in_range(NaiveDate::from_ymd_opt(2026, 2, 28).expect("a date")));
    }
}
