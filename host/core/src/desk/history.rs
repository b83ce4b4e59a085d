//! The append-only ticket history: who changed what, from what, to what, when.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, Desk, DeskError};

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryEvent {
    /// The ticket was created (`new_value`: its number).
    Created,
    /// A field changed (`field`: its name, `dynamic_fields.NAME` for a dynamic field).
    FieldChanged,
    /// An article was added (`new_value`: its id).
    ArticleAdded,
    /// A link was added (`field`: the link kind, `new_value`: the other ticket's id).
    Linked,
    /// A link was removed (`field`: the link kind, `old_value`: the other ticket's id).
    Unlinked,
    /// A merge (`field`: `merged_into` on the source, `merged_from` on the target).
    Merged,
    /// A pending reminder time was reached (`new_value`: the time).
    Reminder,
}

impl HistoryEvent {
    /// Every event, in the order above.
    pub const ALL: [HistoryEvent; 7] = [
        HistoryEvent::Created,
        HistoryEvent::FieldChanged,
        HistoryEvent::ArticleAdded,
        HistoryEvent::Linked,
        HistoryEvent::Unlinked,
        HistoryEvent::Merged,
        HistoryEvent::Reminder,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryEvent::Created => "created",
            HistoryEvent::FieldChanged => "field_changed",
            HistoryEvent::ArticleAdded => "article_added",
            HistoryEvent::Linked => "linked",
            HistoryEvent::Unlinked => "unlinked",
            HistoryEvent::Merged => "merged",
            HistoryEvent::Reminder => "reminder",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<HistoryEvent> {
        HistoryEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// One history entry.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// Entry id (increasing).
    pub id: i64,
    /// What happened.
    pub event: HistoryEvent,
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
    event: HistoryEvent,
    field: Option<&str>,
    old_value: Option<&str>,
    new_value: Option<&str>,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_history (ticket_id, event, field, old_value, new_value, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ticket_id)
    .bind(event.as_str())
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
                let event: String = row.try_get("event")?;
                Ok(HistoryEntry {
                    id: row.try_get("id")?,
                    event: stored::parse("event", &event, HistoryEvent::parse, "a history event")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                    actor: row.try_get("actor")?,
                    created_at: stored::time("created_at", row.try_get("created_at")?)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DeskError::from)
    }
}
