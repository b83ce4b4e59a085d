//! Human ticket numbers: `YYYYMMDD` + two-digit system id + a counter.
//!
//! The counter comes from a PostgreSQL sequence (no lock held across the
//! transaction) or, on SQLite, a counter row updated under the single writer.
//! Either way no two tickets ever get the same number, and the unique index on
//! `tickets.number` backs that up.

use std::sync::LazyLock;

use chrono::Utc;
use sqlx::{Any, AnyConnection};

use crate::db::Backend;

/// The columns a new ticket is inserted with, the number first.
const TICKET_COLUMNS: &str = "INSERT INTO tickets (number, title, queue_id, state_id, priority_id, type_id, owner_id, responsible_id, customer_user, customer_company, pending_until, created_at, changed_at)";

/// The insert of a new ticket on each backend, returning its id and number:
/// `$1` is what [`number_arg`] returns, `$2`… the other columns in order
/// (`$12` both times). On PostgreSQL the statement draws the counter from the
/// sequence itself (one round trip fewer per create) and pads it to six
/// digits like [`format_number`].
pub(crate) fn insert_ticket_sql(backend: Backend) -> &'static str {
    static SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
        let values = "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12";
        [
            format!("{TICKET_COLUMNS} VALUES ($1, {values}) RETURNING id, number"),
            format!(
                "{TICKET_COLUMNS} SELECT $1 || lpad(seq.n::text, greatest(6, length(seq.n::text)), '0'), {values} FROM (SELECT nextval('ticket_number_seq') AS n) AS seq RETURNING id, number"
            ),
        ]
    });
    &SQL[usize::from(backend == Backend::Postgres)]
}

/// `$1` of [`insert_ticket_sql`], inside the creating transaction: on SQLite
/// the whole number (the counter row is drawn here, under the one writer), on
/// PostgreSQL its date and system id.
pub(crate) async fn number_arg(conn: &mut AnyConnection, backend: Backend, system_id: u32) -> Result<String, sqlx::Error> {
    let date = Utc::now().format("%Y%m%d").to_string();
    Ok(match backend {
        Backend::Postgres => format_prefix(&date, system_id),
        Backend::Sqlite => {
            let counter = sqlx::query_scalar::<Any, i64>(
                "INSERT INTO ticket_counters (day, counter) VALUES ('all', 1) ON CONFLICT (day) DO UPDATE SET counter = ticket_counters.counter + 1 RETURNING counter",
            )
            .fetch_one(conn)
            .await?;
            format_number(&date, system_id, counter)
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
