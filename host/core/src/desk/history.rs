//! The append-only ticket history: who changed what, from what, to what, when.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use crate::desk::time::{from_micros, now_micros};
use crate::desk::{Actor, Desk, DeskError};

/// One history entry.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// Entry id (increasing).
    pub id: i64,
    /// What happened: `created`, `field_changed`, `article_added`, `linked`, `merged`, `reminder`, …
    pub event: String,
    /// The field that changed, for `field_changed`.
    pub field: Option<String>,
    /// The value before.
    pub old_value: Option<String>,
    /// The value after.
    pub new_value: Option<String>,
    /// Who did it (actor label such as `agent:admin`).
    pub actor: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Appends one entry inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    ticket_id: i64,
    event: &str,
    field: Option<&str>,
    old_value: Option<&str>,
    new_value: Option<&str>,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_history (ticket_id, event, field, old_value, new_value, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ticket_id)
    .bind(event)
    .bind(field)
    .bind(old_value)
    .bind(new_value)
    .bind(actor)
    .bind(now_micros())
    .execute(conn)
    .await?;
    Ok(())
}

impl Desk {
    /// The history of a ticket, oldest first (staff with read access only).
    pub async fn history_list(&self, actor: &Actor, ticket_id: i64) -> Result<Vec<HistoryEntry>, DeskError> {
        actor.require_staff()?;
        let mut conn = self.db().conn().await?;
        self.ticket_access(&mut conn, actor, ticket_id).await?.require_read()?;
        let rows = sqlx::query(
            "SELECT id, event, field, old_value, new_value, actor, created_at FROM ticket_history WHERE ticket_id = $1 ORDER BY id",
        )
        .bind(ticket_id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(HistoryEntry {
                    id: row.try_get("id")?,
                    event: row.try_get("event")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                    actor: row.try_get("actor")?,
                    created_at: from_micros(row.try_get("created_at")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DeskError::from)
    }
}
