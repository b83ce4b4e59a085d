//! Reading stored values back: a value this version never writes is an error, never a default.
//!
//! Every enum and timestamp the core stores as text or microseconds is parsed
//! here. A row that holds something else (a hand-edited database, a newer
//! version's value after a downgrade) makes the read fail with the column and
//! the value named, instead of silently reading as `open`, 1970 or `null`.

use std::fmt::Display;

use chrono::{DateTime, TimeZone, Utc};

/// The error for a stored value that does not parse: sqlx's own column-decode
/// error, so it travels the same way as a broken row (logged, a 500 on the wire).
pub(crate) fn corrupt(column: &str, value: impl Display, expected: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("the stored value '{value}' is not {expected}; the database holds a value this version never writes").into(),
    }
}

/// Parses a stored name with the type's own `parse`, naming the column when it fails.
pub(crate) fn parse<T>(column: &str, text: &str, parse: impl FnOnce(&str) -> Option<T>, expected: &str) -> Result<T, sqlx::Error> {
    parse(text).ok_or_else(|| corrupt(column, text, expected))
}

/// A stored time: microseconds since the epoch within the years 0000-9999.
pub(crate) fn time(column: &str, micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    Utc.timestamp_micros(micros)
        .single()
        .filter(|t| crate::desk::time::time_in_range(*t))
        .ok_or_else(|| corrupt(column, micros, "a time in microseconds within the years 0000-9999"))
}

/// A stored optional time.
pub(crate) fn time_opt(column: &str, micros: Option<i64>) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    micros.map(|m| time(column, m)).transpose()
}

/// A stored JSON document.
pub(crate) fn json<T: serde::de::DeserializeOwned>(column: &str, text: &str, expected: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| corrupt(column, format!("{text:.80}… ({e})"), expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_column() {
        let err = time("created_at", i64::MAX).expect_err("out of range");
        assert!(err.to_string().contains("created_at"), "{err}");
        assert!(time("created_at", 0).is_ok());
        let err = parse("state_type", "opne", |s| (s == "open").then_some(()), "a state type").expect_err("typo");
        assert!(err.to_string().contains("opne") && err.to_string().contains("state_type"), "{err}");
        assert!(json::<serde_json::Value>("payload", "{", "JSON").is_err());
    }
}
