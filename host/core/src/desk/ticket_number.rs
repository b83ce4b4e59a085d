//! Human ticket numbers: `YYYYMMDD` + two-digit system id + a counter.
//!
//! The counter comes from a PostgreSQL sequence (no lock held across the
//! transaction) or, on SQLite, a counter row updated under the single writer.
//! Either way no two tickets ever get the same number, and the unique index on
//! `tickets.number` backs that up.

use chrono::Utc;
use sqlx::{Any, AnyConnection};

use crate::db::Backend;

/// Draws the next ticket number inside the creating transaction.
pub(crate) async fn next_number(conn: &mut AnyConnection, backend: Backend, system_id: u32) -> Result<String, sqlx::Error> {
    let counter: i64 = match backend {
        Backend::Postgres => sqlx::query_scalar::<Any, i64>("SELECT nextval('ticket_number_seq')").fetch_one(conn).await?,
        Backend::Sqlite => {
            sqlx::query_scalar::<Any, i64>(
                "INSERT INTO ticket_counters (day, counter) VALUES ('all', 1) ON CONFLICT (day) DO UPDATE SET counter = ticket_counters.counter + 1 RETURNING counter",
            )
            .fetch_one(conn)
            .await?
        }
    };
    Ok(format_number(&Utc::now().format("%Y%m%d").to_string(), system_id, counter))
}

/// Formats a ticket number from its parts.
pub(crate) fn format_number(date: &str, system_id: u32, counter: i64) -> String {
    format!("{date}{:02}{counter:06}", system_id % 100)
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
