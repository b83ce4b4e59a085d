//! The catalogue: queues, ticket states, priorities and ticket types.
//!
//! All four share one shape (name, comment, valid flag); states also carry a
//! state type and, for pending auto-close states, the state they close into.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{get_bool, Arg, Sql};
use crate::desk::error::Problems;
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, Desk, DeskError};
use chrono::{DateTime, Utc};

/// Which catalogue table an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    /// Ticket queues.
    Queue,
    /// Ticket states.
    State,
    /// Ticket priorities.
    Priority,
    /// Ticket types.
    Type,
}

impl CatalogKind {
    /// The table holding entries of this kind.
    pub(crate) fn table(self) -> &'static str {
        match self {
            CatalogKind::Queue => "queues",
            CatalogKind::State => "states",
            CatalogKind::Priority => "priorities",
            CatalogKind::Type => "ticket_types",
        }
    }

    /// Singular noun for messages, e.g. "queue".
    pub fn noun(self) -> &'static str {
        match self {
            CatalogKind::Queue => "queue",
            CatalogKind::State => "state",
            CatalogKind::Priority => "priority",
            CatalogKind::Type => "type",
        }
    }
}

/// The kind of a ticket state, which drives behaviour (pending, closed, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateType {
    /// A ticket nobody has worked on yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting; the owner is reminded when the pending time passes.
    PendingReminder,
    /// Waiting; the ticket closes itself when the pending time passes.
    PendingAutoClose,
    /// Closed, solved.
    ClosedSuccessful,
    /// Closed, not solved.
    ClosedUnsuccessful,
    /// Merged into another ticket.
    Merged,
    /// Removed (kept for history).
    Removed,
}

impl StateType {
    /// Every state type, in display order.
    pub const ALL: [StateType; 8] = [
        StateType::New,
        StateType::Open,
        StateType::PendingReminder,
        StateType::PendingAutoClose,
        StateType::ClosedSuccessful,
        StateType::ClosedUnsuccessful,
        StateType::Merged,
        StateType::Removed,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::New => "new",
            StateType::Open => "open",
            StateType::PendingReminder => "pending_reminder",
            StateType::PendingAutoClose => "pending_auto_close",
            StateType::ClosedSuccessful => "closed_successful",
            StateType::ClosedUnsuccessful => "closed_unsuccessful",
            StateType::Merged => "merged",
            StateType::Removed => "removed",
        }
    }

    /// Parses a stored or wire name (spaces and dashes accepted for underscores).
    pub fn parse(s: &str) -> Option<StateType> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        StateType::ALL.into_iter().find(|t| t.as_str() == norm)
    }

    /// True for both pending kinds.
    pub fn is_pending(self) -> bool {
        matches!(self, StateType::PendingReminder | StateType::PendingAutoClose)
    }
}

/// One queue, state, priority or type.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// Which table.
    pub kind: CatalogKind,
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free comment for admins.
    pub comment: String,
    /// Invalid entries stay for old tickets but cannot be chosen for new changes.
    pub valid: bool,
    /// States only: the state type.
    pub state_type: Option<StateType>,
    /// States only: where a pending auto-close state closes to.
    pub next_state_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// Fields to create an entry.
#[derive(Debug, Clone, Default)]
pub struct CatalogInput {
    /// Unique name.
    pub name: String,
    /// Comment.
    pub comment: Option<String>,
    /// Valid flag (default true).
    pub valid: Option<bool>,
    /// States only: the state type (required for states).
    pub state_type: Option<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CatalogUpdate {
    /// New name.
    pub name: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// New valid flag.
    pub valid: Option<bool>,
    /// States only: new state type.
    pub state_type: Option<String>,
}

const COLUMNS: &str = "id, name, comment, valid, created_at, changed_at";

fn entry_from_row(kind: CatalogKind, row: &AnyRow) -> Result<CatalogEntry, sqlx::Error> {
    let (state_type, next_state_id) = if kind == CatalogKind::State {
        let st: String = row.try_get("state_type")?;
        (Some(stored::parse("state_type", &st, StateType::parse, "a state type")?), row.try_get("next_state_id")?)
    } else {
        (None, None)
    };
    Ok(CatalogEntry {
        kind,
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        comment: row.try_get("comment")?,
        valid: get_bool(row, "valid")?,
        state_type,
        next_state_id,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
    })
}

fn select(kind: CatalogKind) -> String {
    let extra = if kind == CatalogKind::State { ", state_type, next_state_id" } else { "" };
    format!("SELECT {COLUMNS}{extra} FROM {}", kind.table())
}

fn check_name(problems: &mut Problems, name: &str) {
    if name.trim().is_empty() {
        problems.add("name", "must not be empty");
    } else if name.chars().count() > 200 {
        problems.add("name", "must be at most 200 characters");
    }
}

impl Desk {
    /// Lists every entry of `kind`, ordered by id.
    pub async fn catalog_list(&self, actor: &Actor, kind: CatalogKind) -> Result<Vec<CatalogEntry>, DeskError> {
        actor.require_staff()?;
        let rows = sqlx::query(&format!("{} ORDER BY id", select(kind))).fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(|r| entry_from_row(kind, r)).collect::<Result<_, _>>()?)
    }

    /// Reads one entry by id.
    pub async fn catalog_get(&self, actor: &Actor, kind: CatalogKind, id: i64) -> Result<CatalogEntry, DeskError> {
        actor.require_staff()?;
        let row = sqlx::query(&format!("{} WHERE id = $1", select(kind)))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(DeskError::NotFound { what: kind.noun(), id: id.to_string() })?;
        Ok(entry_from_row(kind, &row)?)
    }

    /// Creates an entry (admin only).
    pub async fn catalog_create(&self, actor: &Actor, kind: CatalogKind, input: CatalogInput) -> Result<CatalogEntry, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&input)?;
        let mut problems = Problems::default();
        check_name(&mut problems, &input.name);
        let state_type = match (kind, &input.state_type) {
            (CatalogKind::State, Some(st)) => match StateType::parse(st) {
                Some(t) => Some(t),
                None => {
                    problems.add("state_type", state_type_message(st));
                    None
                }
            },
            (CatalogKind::State, None) => {
                problems.add("state_type", "is required for a state");
                None
            }
            (_, Some(_)) => {
                problems.add("state_type", format!("only states have a state type, not a {}", kind.noun()));
                None
            }
            (_, None) => None,
        };
        problems.finish()?;
        let now = now_micros();
        let mut sql = Sql::new(&format!("INSERT INTO {} (name, comment, valid, created_at, changed_at", kind.table()));
        if kind == CatalogKind::State {
            sql.push(", state_type");
        }
        sql.push(") VALUES (")
            .bind(Arg::Text(input.name.trim().to_string()))
            .push(", ")
            .bind(Arg::Text(input.comment.unwrap_or_default()))
            .push(", ")
            .bind(Arg::Bool(input.valid.unwrap_or(true)))
            .push(", ")
            .bind(Arg::Int(now))
            .push(", ")
            .bind(Arg::Int(now));
        if let Some(st) = state_type {
            sql.push(", ").bind(Arg::Text(st.as_str().to_string()));
        }
        sql.push(") RETURNING id");
        let mut tx = self.db().begin_write().await?;
        let id: i64 = match sql.query().fetch_one(&mut *tx.tx).await {
            Ok(row) => row.try_get(0)?,
            Err(e) => return Err(DeskError::from_write(e, &format!("{} '{}'", kind.noun(), input.name.trim()))),
        };
        self.commit_catalog_change(tx).await?;
        self.catalog_get(&Actor::System, kind, id).await
    }

    /// Changes an entry (admin only).
    pub async fn catalog_update(
        &self,
        actor: &Actor,
        kind: CatalogKind,
        id: i64,
        update: CatalogUpdate,
    ) -> Result<CatalogEntry, DeskError> {
        actor.require_admin()?;
        crate::desk::input::check(&update)?;
        let mut problems = Problems::default();
        if let Some(name) = &update.name {
            check_name(&mut problems, name);
        }
        let state_type = match (&update.state_type, kind) {
            (Some(st), CatalogKind::State) => {
                let parsed = StateType::parse(st);
                if parsed.is_none() {
                    problems.add("state_type", state_type_message(st));
                }
                parsed
            }
            (Some(_), _) => {
                problems.add("state_type", format!("only states have a state type, not a {}", kind.noun()));
                None
            }
            (None, _) => None,
        };
        problems.finish()?;
        let mut sql = Sql::new(&format!("UPDATE {} SET changed_at = ", kind.table()));
        sql.bind(Arg::Int(now_micros()));
        if let Some(name) = &update.name {
            sql.push(", name = ").bind(Arg::Text(name.trim().to_string()));
        }
        if let Some(comment) = update.comment {
            sql.push(", comment = ").bind(Arg::Text(comment));
        }
        if let Some(valid) = update.valid {
            sql.push(", valid = ").bind(Arg::Bool(valid));
        }
        if let Some(st) = state_type {
            sql.push(", state_type = ").bind(Arg::Text(st.as_str().to_string()));
        }
        sql.push(" WHERE id = ").bind(Arg::Int(id));
        let mut tx = self.db().begin_write().await?;
        let done = sql
            .query()
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("{} '{}'", kind.noun(), update.name.clone().unwrap_or_default())))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: kind.noun(), id: id.to_string() });
        }
        self.commit_catalog_change(tx).await?;
        self.catalog_get(&Actor::System, kind, id).await
    }

    /// Deletes an entry that nothing references (admin only); otherwise 409 —
    /// set it invalid instead.
    pub async fn catalog_delete(&self, actor: &Actor, kind: CatalogKind, id: i64) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        let done = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", kind.table()))
            .bind(id)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("{} {id}", kind.noun())))?;
        if done.rows_affected() == 0 {
            return Err(DeskError::NotFound { what: kind.noun(), id: id.to_string() });
        }
        self.commit_catalog_change(tx).await.map_err(|e| match e {
            crate::db::DbError::Sqlx(e) => DeskError::from_write(e, &format!("{} {id}", kind.noun())),
            other => other.into(),
        })?;
        Ok(())
    }
}

fn state_type_message(given: &str) -> String {
    let names: Vec<&str> = StateType::ALL.iter().map(|t| t.as_str()).collect();
    format!("unknown state type '{given}'; expected one of {}", names.join(", "))
}
