//! What happens when a pending time passes: auto-close or a reminder.

use chrono::SecondsFormat;
use sqlx::{AnyConnection, Row};

use crate::db::Backend;
use crate::desk::catalog::StateType;
use crate::desk::catalog_cache::Catalog;
use crate::desk::history::{record, HistoryEvent};
use crate::desk::job_run::{complete_in, Claim, JobRan};
use crate::desk::ticket_write::lock_ticket;
use crate::desk::time::{from_micros, now_micros, to_micros};
use crate::desk::{DeskError, SystemDesk};

impl SystemDesk {
    /// Handles a [`JobTask::PendingDue`](crate::desk::JobTask::PendingDue) job. A ticket that left its pending state
    /// or got a new pending time since the job was queued is left alone (found
    /// by a read, without the writer), and running the same job twice changes
    /// nothing more than running it once. What it writes commits with the job's
    /// completion.
    pub(crate) async fn handle_pending_due(&self, ticket_id: i64, due: i64, claim: Claim<'_>) -> Result<JobRan, DeskError> {
        if now_micros() < due || !self.still_pending(ticket_id, due).await? {
            return Ok(JobRan::NothingToDo);
        }
        let catalog = self.desk().catalog().await?;
        let mut tx = self.db().begin_write().await?;
        act_on_due(&mut tx.tx, self.db().backend(), &catalog, ticket_id, due).await?;
        if !complete_in(&mut tx.tx, claim).await? {
            tx.rollback().await?;
            return Ok(JobRan::LeaseLost);
        }
        tx.commit().await?;
        Ok(JobRan::Completed)
    }

    /// Whether the ticket still has the pending time `due` in a pending state
    /// (a read: most due jobs of a busy desk find their ticket moved on).
    async fn still_pending(&self, ticket_id: i64, due: i64) -> Result<bool, DeskError> {
        let state_type: Option<String> = sqlx::query_scalar(
            "SELECT s.state_type FROM tickets t JOIN states s ON s.id = t.state_id WHERE t.id = $1 AND t.pending_until = $2",
        )
        .bind(ticket_id)
        .bind(due)
        .fetch_optional(self.db().pool())
        .await?;
        Ok(state_type.and_then(|s| StateType::parse(&s)).is_some_and(StateType::is_pending))
    }
}

/// Closes or reminds, under the ticket's lock, if the ticket still has the
/// pending time `due`; writes nothing otherwise.
async fn act_on_due(conn: &mut AnyConnection, backend: Backend, catalog: &Catalog, ticket_id: i64, due: i64) -> Result<(), DeskError> {
    let ticket = match lock_ticket(conn, backend, catalog, ticket_id).await {
        Ok(t) => t,
        Err(DeskError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    if ticket.pending_until.map(to_micros) != Some(due) {
        return Ok(());
    }
    match ticket.state_type {
        StateType::PendingAutoClose => {
            let row = sqlx::query(
                    "SELECT s.id, s.name FROM states s WHERE s.id = (SELECT next_state_id FROM states WHERE id = $1) OR (s.state_type = 'closed_successful' AND s.valid = $2) ORDER BY CASE WHEN s.id = (SELECT next_state_id FROM states WHERE id = $1) THEN 0 ELSE 1 END, s.id LIMIT 1",
                )
                .bind(ticket.state_id)
                .bind(true)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| DeskError::Conflict("no closed state is configured for auto-close".into()))?;
            let state_id: i64 = row.try_get(0)?;
            let state_name: String = row.try_get(1)?;
            sqlx::query("UPDATE tickets SET state_id = $1, pending_until = NULL, changed_at = $2 WHERE id = $3")
                .bind(state_id)
                .bind(now_micros())
                .bind(ticket_id)
                .execute(&mut *conn)
                .await?;
            record(
                conn,
                ticket_id,
                HistoryEvent::FieldChanged,
                Some("state"),
                Some(&ticket.state),
                Some(&state_name),
                "system:pending-auto-close",
            )
            .await?;
        }
        StateType::PendingReminder => {
            // The entry names the pending time it reminds of, so a second run
            // of this job (its lease ran out before it was marked done) finds
            // it and writes nothing. The pending time stays: the ticket is
            // still pending, and its time has passed.
            let due_text = from_micros(due).to_rfc3339_opts(SecondsFormat::AutoSi, true);
            let done: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM ticket_history WHERE ticket_id = $1 AND event = 'reminder' AND field = 'pending_until' AND new_value = $2 LIMIT 1",
                )
                .bind(ticket_id)
                .bind(&due_text)
                .fetch_optional(&mut *conn)
                .await?;
            if done.is_some() {
                return Ok(());
            }
            record(conn, ticket_id, HistoryEvent::Reminder, Some("pending_until"), None, Some(&due_text), "system:pending-reminder")
                .await?;
        }
        _ => {}
    }
    Ok(())
}
