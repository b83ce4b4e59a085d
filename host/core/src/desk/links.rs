//! Links between tickets (parent/child, related) and merging.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::desk::catalog::StateType;
use crate::desk::history::{record, HistoryEvent};
use crate::desk::search::append_search_body;
use crate::desk::stored;
use crate::desk::ticket_write::lock_ticket;
use crate::desk::time::{from_micros, now_micros};
use crate::desk::{Actor, Desk, DeskError, Ticket};

/// The kind of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `source` is the parent of `target`.
    ParentChild,
    /// The tickets are related (symmetric).
    Related,
}

impl LinkKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::ParentChild => "parent_child",
            LinkKind::Related => "related",
        }
    }

    /// Parses `parent_child` or `related`.
    pub fn parse(s: &str) -> Option<LinkKind> {
        match s {
            "parent_child" => Some(LinkKind::ParentChild),
            "related" => Some(LinkKind::Related),
            _ => None,
        }
    }
}

/// A link between two tickets.
#[derive(Debug, Clone)]
pub struct TicketLink {
    /// Source ticket (the parent for parent/child).
    pub source: i64,
    /// Target ticket (the child for parent/child).
    pub target: i64,
    /// Kind.
    pub kind: LinkKind,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl Desk {
    /// Links `source` to `target` (rw on both queues).
    pub async fn link_add(&self, actor: &Actor, source: i64, target: i64, kind: LinkKind) -> Result<TicketLink, DeskError> {
        actor.require_staff()?;
        if source == target {
            return Err(DeskError::invalid("target", "a ticket cannot be linked to itself"));
        }
        let mut tx = self.db().begin_write().await?;
        self.ticket_access(&mut tx.tx, actor, source).await?.require_write(actor)?;
        self.ticket_access(&mut tx.tx, actor, target)
            .await
            .map_err(|e| match e {
                DeskError::NotFound { .. } => DeskError::invalid("target", format!("unknown ticket {target}")),
                other => other,
            })?
            .require_write(actor)?;
        let now = now_micros();
        sqlx::query("INSERT INTO ticket_links (source_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4)")
            .bind(source)
            .bind(target)
            .bind(kind.as_str())
            .bind(now)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, "this link"))?;
        let label = actor.label();
        record(&mut tx.tx, source, HistoryEvent::Linked, Some(kind.as_str()), None, Some(&target.to_string()), &label).await?;
        record(&mut tx.tx, target, HistoryEvent::Linked, Some(kind.as_str()), None, Some(&source.to_string()), &label).await?;
        tx.commit().await?;
        Ok(TicketLink { source, target, kind, created_at: from_micros(now) })
    }

    /// Lists links in which the ticket is source or target.
    pub async fn link_list(&self, actor: &Actor, ticket_id: i64) -> Result<Vec<TicketLink>, DeskError> {
        actor.require_staff()?;
        let mut conn = self.db().conn().await?;
        self.ticket_access(&mut conn, actor, ticket_id).await?.require_read()?;
        let rows = sqlx::query(
            "SELECT source_id, target_id, kind, created_at FROM ticket_links WHERE source_id = $1 OR target_id = $1 ORDER BY created_at",
        )
        .bind(ticket_id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(2)?;
                Ok(TicketLink {
                    source: r.try_get(0)?,
                    target: r.try_get(1)?,
                    kind: stored::parse("kind", &kind, LinkKind::parse, "a link kind")?,
                    created_at: stored::time("created_at", r.try_get(3)?)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DeskError::from)
    }

    /// Removes a link (either direction for related links).
    pub async fn link_remove(&self, actor: &Actor, source: i64, target: i64, kind: LinkKind) -> Result<(), DeskError> {
        actor.require_staff()?;
        let mut tx = self.db().begin_write().await?;
        self.ticket_access(&mut tx.tx, actor, source).await?.require_write(actor)?;
        let mut done = sqlx::query("DELETE FROM ticket_links WHERE source_id = $1 AND target_id = $2 AND kind = $3")
            .bind(source)
            .bind(target)
            .bind(kind.as_str())
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if done == 0 && kind == LinkKind::Related {
            done = sqlx::query("DELETE FROM ticket_links WHERE source_id = $1 AND target_id = $2 AND kind = $3")
                .bind(target)
                .bind(source)
                .bind(kind.as_str())
                .execute(&mut *tx.tx)
                .await?
                .rows_affected();
        }
        if done == 0 {
            return Err(DeskError::NotFound { what: "link", id: format!("{source}->{target}") });
        }
        let label = actor.label();
        record(&mut tx.tx, source, HistoryEvent::Unlinked, Some(kind.as_str()), Some(&target.to_string()), None, &label).await?;
        record(&mut tx.tx, target, HistoryEvent::Unlinked, Some(kind.as_str()), Some(&source.to_string()), None, &label).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Merges ticket `id` into `into`: its articles move to `into`, it gets the
    /// merged state and points at `into`.
    pub async fn ticket_merge(&self, actor: &Actor, id: i64, into: i64) -> Result<Ticket, DeskError> {
        actor.require_staff()?;
        if id == into {
            return Err(DeskError::invalid("into", "a ticket cannot be merged into itself"));
        }
        let catalog = self.catalog().await?;
        let mut tx = self.db().begin_write().await?;
        let conn = &mut *tx.tx;
        self.ticket_access(conn, actor, id).await?.require_write(actor)?;
        self.ticket_access(conn, actor, into)
            .await
            .map_err(|e| match e {
                DeskError::NotFound { .. } => DeskError::invalid("into", format!("unknown ticket {into}")),
                other => other,
            })?
            .require_write(actor)?;
        let source = lock_ticket(conn, self.db().backend(), &catalog, id).await?;
        let target = lock_ticket(conn, self.db().backend(), &catalog, into).await?;
        if source.state_type == StateType::Merged {
            return Err(DeskError::Conflict(format!("ticket {} is already merged", source.number)));
        }
        if target.state_type == StateType::Merged {
            return Err(DeskError::invalid(
                "into",
                format!("ticket {} is itself merged; merge into {} instead", target.number, target.merged_into.unwrap_or_default()),
            ));
        }
        let merged_state: i64 = sqlx::query_scalar("SELECT id FROM states WHERE state_type = 'merged' ORDER BY id LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| DeskError::Conflict("no state of type merged is configured".into()))?;
        let moved: Vec<(String, String, bool)> =
            sqlx::query("SELECT subject, body, visible_for_customer FROM articles WHERE ticket_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, crate::db::get_bool(r, "visible_for_customer")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        sqlx::query("UPDATE articles SET ticket_id = $1 WHERE ticket_id = $2").bind(into).bind(id).execute(&mut *conn).await?;
        for (subject, body, public) in moved {
            append_search_body(conn, self.db().backend(), into, &format!("{subject}\n{body}"), public).await?;
        }
        let now = now_micros();
        sqlx::query("UPDATE tickets SET state_id = $1, merged_into = $2, pending_until = NULL, changed_at = $3 WHERE id = $4")
            .bind(merged_state)
            .bind(into)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE tickets SET changed_at = $1 WHERE id = $2").bind(now).bind(into).execute(&mut *conn).await?;
        let label = actor.label();
        record(conn, id, HistoryEvent::Merged, Some("merged_into"), None, Some(&target.number), &label).await?;
        record(conn, id, HistoryEvent::FieldChanged, Some("state"), Some(&source.state), Some("merged"), &label).await?;
        record(conn, into, HistoryEvent::Merged, Some("merged_from"), None, Some(&source.number), &label).await?;
        tx.commit().await?;
        self.ticket_get(&Actor::System, id).await
    }
}
