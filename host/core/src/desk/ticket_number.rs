//! Human ticket numbers: `YYYYMMDD` + two-digit system id + a counter.
//!
//! The counter comes from a PostgreSQL sequence (no lock held across the
//! transaction) or, on SQLite, a counter row updated under the single writer.
//! Either way no two tickets ever get the same number, and the unique index on
//! `tickets.number` backs that up.

use chrono::Utc;
use sqlx::{Any, AnyConnection};

use crate::db::Backend;

/// How an INSERT into `tickets` gets its number (its first column, `$1`).
pub(crate) struct NumberedInsert {
    /// What `$1` binds to.
    pub(crate) arg: String,
    /// Replaces `VALUES (…)` of the insert: on PostgreSQL a SELECT that draws
    /// the counter from the sequence in the same statement (one round trip
    /// fewer per create), on SQLite the plain VALUES.
    pub(crate) source: String,
}

/// The number of a ticket being created, inside its transaction: on SQLite
/// the counter row is drawn here and `$1` is the whole number; on PostgreSQL
/// `$1` is its date and system id and the insert itself draws the counter
/// (padded to six digits like [`format_number`]). `values` are the insert's
/// values from `$2` on.
pub(crate) async fn numbered_insert(
    conn: &mut AnyConnection,
    backend: Backend,
    system_id: u32,
    values: &str,
) -> Result<NumberedInsert, sqlx::Error> {
    let date = Utc::now().format("%Y%m%d").to_string();
    Ok(match backend {
        Backend::Postgres => NumberedInsert {
            arg: format_prefix(&date, system_id),
            source: format!(
                "SELECT $1 || lpad(seq.n::text, greatest(6, length(seq.n::text)), '0'), {values} FROM (SELECT nextval('ticket_number_seq') AS n) AS seq"
            ),
        },
        Backend::Sqlite => {
            let counter = sqlx::query_scalar::<Any, i64>(
                "INSERT INTO ticket_counters (day, counter) VALUES ('all', 1) ON CONFLICT (day) DO UPDATE SET counter = ticket_counters.counter + 1 RETURNING counter",
            )
            .fetch_one(conn)
            .await?;
            NumberedInsert { arg: format_number(&date, system_id, counter), source: format!("VALUES ($1, {values})") }
        }
    })
}

/// The date and system id that start a ticket number.
fn format_prefix(date: &str, system_id: u32) -> String {
    format!("{date}{:02}", system_id % 100)
}

/// Formats a ticket number from its parts.
pub(crate) fn format_number(date: &str, system_id: u32, counter: i64) -> String {
    format!("{}{counter:06}", format_prefix(date, system_id))
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_are_date_system_id_and_padded_counter() {
        assert_eq!(format_number("20261123", 10, 12), "2026112310000012");
        assert_eq!(format_number("20261123", 7, 1_234_567), "20261123071234567");
    }
}
