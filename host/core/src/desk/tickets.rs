//! Tickets: the types, reading, and the access check every ticket operation uses.
//!
//! Creating and changing tickets lives in `ticket_write`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{Arg, Sql};
use crate::desk::catalog_cache::Catalog;
use crate::desk::dynamic_fields::{read_values, ObjectType};
use crate::desk::stored;
use crate::desk::{Actor, Article, Desk, DeskError, NewArticle, QueuePermission, StateType};

/// A reference to a catalogue entry by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// By row id (priorities are usually given by id 1-5).
    Id(i64),
    /// By unique name.
    Name(String),
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Id(id) => write!(f, "{id}"),
            Ref::Name(name) => write!(f, "{name}"),
        }
    }
}

/// Whose view of a ticket the core handed out; adapters show what it holds
/// and, for a customer's view, leave out the agent fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketView {
    /// Staff, the system and plugins: every field.
    Staff,
    /// The ticket's customer: `owner` and `responsible` are cleared and
    /// `dynamic_fields` holds only customer-visible fields.
    Customer,
}

/// A ticket as read back, with names resolved.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Ticket id.
    pub id: i64,
    /// Human ticket number.
    pub number: String,
    /// Title.
    pub title: String,
    /// Queue id.
    pub queue_id: i64,
    /// Queue name.
    pub queue: String,
    /// State id.
    pub state_id: i64,
    /// State name.
    pub state: String,
    /// State type of the state.
    pub state_type: StateType,
    /// Priority id.
    pub priority_id: i64,
    /// Priority name.
    pub priority: String,
    /// Type id.
    pub type_id: i64,
    /// Type name.
    pub ticket_type: String,
    /// Owner login.
    pub owner: Option<String>,
    /// Responsible agent login.
    pub responsible: Option<String>,
    /// Customer user login.
    pub customer_user: Option<String>,
    /// Customer company id.
    pub customer_company: Option<String>,
    /// When a pending state is due.
    pub pending_until: Option<DateTime<Utc>>,
    /// The ticket this one was merged into.
    pub merged_into: Option<i64>,
    /// Dynamic field values by field name.
    pub dynamic_fields: BTreeMap<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
    /// Whose view this is (what was left out for a customer).
    pub view: TicketView,
}

/// A new ticket with its first article.
#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    /// Title (required).
    pub title: String,
    /// Queue name (default: the configured default queue).
    pub queue: Option<String>,
    /// Priority (default id 3).
    pub priority: Option<Ref>,
    /// State name (default `new`).
    pub state: Option<String>,
    /// Type name (default `Unclassified`).
    pub ticket_type: Option<String>,
    /// Owner login.
    pub owner: Option<String>,
    /// Responsible login.
    pub responsible: Option<String>,
    /// Customer user login.
    pub customer_user: Option<String>,
    /// Customer company id (default: the customer user's company).
    pub customer_company: Option<String>,
    /// Due time for pending states.
    pub pending_until: Option<DateTime<Utc>>,
    /// Ticket dynamic field values.
    pub dynamic_fields: BTreeMap<String, Value>,
    /// The first article.
    pub article: NewArticle,
    /// Idempotency: (token id, key, hash of the request) — a repeat returns the first ticket.
    pub idempotency: Option<(i64, String, String)>,
}

/// Changes to a ticket; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    /// New title.
    pub title: Option<String>,
    /// New queue name.
    pub queue: Option<String>,
    /// New state name.
    pub state: Option<String>,
    /// New priority.
    pub priority: Option<Ref>,
    /// New type name.
    pub ticket_type: Option<String>,
    /// New owner login.
    pub owner: Option<Option<String>>,
    /// New responsible login.
    pub responsible: Option<Option<String>>,
    /// New customer user login.
    pub customer_user: Option<Option<String>>,
    /// New customer company id.
    pub customer_company: Option<Option<String>>,
    /// New pending time.
    pub pending_until: Option<Option<DateTime<Utc>>>,
    /// Dynamic field values to set (null clears).
    pub dynamic_fields: BTreeMap<String, Value>,
}

/// The result of a create.
#[derive(Debug, Clone)]
pub struct CreatedTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// Its first article.
    pub article: Article,
    /// True when an Idempotency-Key matched an earlier create and nothing new was written.
    pub replayed: bool,
}

/// What an actor may do with one ticket.
pub(crate) struct TicketAccess {
    pub(crate) ticket_id: i64,
    /// Name of the ticket's queue, for refusals that say what was refused.
    queue: String,
    permission: Option<QueuePermission>,
    customer_owned: Option<bool>,
}

impl TicketAccess {
    /// What `actor` may do with a ticket in `queue_id` belonging to `customer_user`.
    fn new(actor: &Actor, ticket_id: i64, queue_id: i64, queue: &str, customer_user: Option<&str>) -> TicketAccess {
        TicketAccess {
            ticket_id,
            queue: queue.to_string(),
            permission: actor.queue_permission(queue_id),
            customer_owned: match actor {
                Actor::Customer { login } => Some(customer_user == Some(login.as_str())),
                _ => None,
            },
        }
    }

    /// Refuses actors that may not read the ticket.
    pub(crate) fn require_read(&self) -> Result<(), DeskError> {
        match (self.customer_owned, self.permission) {
            (Some(true), _) | (None, Some(_)) => Ok(()),
            (Some(false), _) => Err(DeskError::NotFound { what: "ticket", id: self.ticket_id.to_string() }),
            (None, None) => Err(DeskError::Forbidden(format!("no permission on queue '{}' of ticket {}", self.queue, self.ticket_id))),
        }
    }

    /// Refuses actors that may not change the ticket (customers may add articles to their own).
    pub(crate) fn require_write(&self, actor: &Actor) -> Result<(), DeskError> {
        self.require_read()?;
        match (actor, self.permission) {
            (Actor::Customer { .. }, _) | (_, Some(QueuePermission::Rw)) => Ok(()),
            _ => Err(DeskError::Forbidden(format!("no rw permission on queue '{}' of ticket {}", self.queue, self.ticket_id))),
        }
    }
}

pub(crate) const TICKET_SELECT: &str = "SELECT t.id, t.number, t.title, t.queue_id, q.name AS queue_name, t.state_id, s.name AS state_name, s.state_type, t.priority_id, p.name AS priority_name, t.type_id, ty.name AS type_name, o.login AS owner_login, r.login AS responsible_login, t.customer_user, t.customer_company, t.pending_until, t.merged_into, t.created_at, t.changed_at FROM tickets t JOIN queues q ON q.id = t.queue_id JOIN states s ON s.id = t.state_id JOIN priorities p ON p.id = t.priority_id JOIN ticket_types ty ON ty.id = t.type_id LEFT JOIN agents o ON o.id = t.owner_id LEFT JOIN agents r ON r.id = t.responsible_id";

fn ticket_from_row(row: &AnyRow) -> Result<Ticket, sqlx::Error> {
    let state_type: String = row.try_get("state_type")?;
    Ok(Ticket {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        title: row.try_get("title")?,
        queue_id: row.try_get("queue_id")?,
        queue: row.try_get("queue_name")?,
        state_id: row.try_get("state_id")?,
        state: row.try_get("state_name")?,
        state_type: stored::parse("state_type", &state_type, StateType::parse, "a state type")?,
        priority_id: row.try_get("priority_id")?,
        priority: row.try_get("priority_name")?,
        type_id: row.try_get("type_id")?,
        ticket_type: row.try_get("type_name")?,
        owner: row.try_get("owner_login")?,
        responsible: row.try_get("responsible_login")?,
        customer_user: row.try_get("customer_user")?,
        customer_company: row.try_get("customer_company")?,
        pending_until: stored::time_opt("pending_until", row.try_get("pending_until")?)?,
        merged_into: row.try_get("merged_into")?,
        dynamic_fields: BTreeMap::new(),
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
        view: TicketView::Staff,
    })
}

/// Runs a ticket SELECT (built on [`TICKET_SELECT`]) and loads dynamic fields.
pub(crate) async fn load_tickets(conn: &mut AnyConnection, sql: &Sql) -> Result<Vec<Ticket>, sqlx::Error> {
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let mut tickets: Vec<Ticket> = rows.iter().map(ticket_from_row).collect::<Result<_, _>>()?;
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let mut values = read_values(conn, ObjectType::Ticket, &ids).await?;
    for ticket in &mut tickets {
        ticket.dynamic_fields = values.remove(&ticket.id).unwrap_or_default();
    }
    Ok(tickets)
}

/// [`TICKET_SELECT`] with the ticket's dynamic field values joined in: one
/// row per stored item, or one row with NULLs for a ticket without values.
static TICKET_WITH_VALUES: LazyLock<String> = LazyLock::new(|| {
    TICKET_SELECT.replacen(" FROM tickets t ", ", v.field_id AS df_field, v.value_text AS df_item FROM tickets t ", 1)
        + " LEFT JOIN dynamic_field_values v ON v.object_id = t.id AND v.field_id IN (SELECT id FROM dynamic_fields WHERE object_type = 'ticket')"
});

/// Reads one ticket with its dynamic field values in one statement. The
/// values' definitions come from `catalog`; a field it does not know yet (made
/// on another node a moment ago) sends the read the long way, through
/// [`read_values`]. Take the snapshot before the connection: loading one
/// needs a connection of its own.
pub(crate) async fn load_ticket(conn: &mut AnyConnection, catalog: &Catalog, id: i64) -> Result<Option<Ticket>, sqlx::Error> {
    let mut sql = Sql::new(&TICKET_WITH_VALUES);
    sql.push(" WHERE t.id = ").bind(Arg::Int(id)).push(" ORDER BY v.field_id, v.position");
    let rows = sql.query().fetch_all(&mut *conn).await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let mut ticket = ticket_from_row(first)?;
    let mut items: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for row in &rows {
        if let Some(field) = row.try_get::<Option<i64>, _>("df_field")? {
            items.entry(field).or_default().push(row.try_get("df_item")?);
        }
    }
    for (field, items) in items {
        let Some(def) = catalog.field_by_id(field) else {
            ticket.dynamic_fields = read_values(conn, ObjectType::Ticket, &[id]).await?.remove(&id).unwrap_or_default();
            return Ok(Some(ticket));
        };
        ticket.dynamic_fields.insert(def.name.clone(), def.items_to_value(&items));
    }
    Ok(Some(ticket))
}

impl Desk {
    /// Reads a ticket the actor may see.
    pub async fn ticket_get(&self, actor: &Actor, id: i64) -> Result<Ticket, DeskError> {
        actor.require_not_integration()?;
        let catalog = self.catalog().await?;
        let mut conn = self.db().conn().await?;
        let ticket = load_ticket(&mut conn, &catalog, id).await?.ok_or(DeskError::NotFound { what: "ticket", id: id.to_string() })?;
        drop(conn);
        self.access_of(actor, &ticket).require_read()?;
        self.ticket_view(actor, ticket).await
    }

    /// Reads a ticket the actor may change (rw on its queue): what a caller
    /// needs before it sets off a plugin run on the ticket.
    pub async fn ticket_get_writable(&self, actor: &Actor, id: i64) -> Result<Ticket, DeskError> {
        actor.require_staff()?;
        let ticket = self.ticket_get(actor, id).await?;
        self.access_of(actor, &ticket).require_write(actor)?;
        Ok(ticket)
    }

    /// Reads a ticket by its human number.
    pub async fn ticket_get_by_number(&self, actor: &Actor, number: &str) -> Result<Ticket, DeskError> {
        actor.require_not_integration()?;
        crate::desk::input::check_text("number", number)?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1").bind(number).fetch_optional(self.db().pool()).await?;
        let id = id.ok_or(DeskError::NotFound { what: "ticket", id: number.to_string() })?;
        self.ticket_get(actor, id).await
    }

    fn access_of(&self, actor: &Actor, ticket: &Ticket) -> TicketAccess {
        TicketAccess::new(actor, ticket.id, ticket.queue_id, &ticket.queue, ticket.customer_user.as_deref())
    }

    /// Looks up what `actor` may do with ticket `id`.
    pub(crate) async fn ticket_access(&self, conn: &mut AnyConnection, actor: &Actor, id: i64) -> Result<TicketAccess, DeskError> {
        actor.require_not_integration()?;
        let row =
            sqlx::query("SELECT t.queue_id, t.customer_user, q.name FROM tickets t JOIN queues q ON q.id = t.queue_id WHERE t.id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(DeskError::NotFound { what: "ticket", id: id.to_string() })?;
        let queue_id: i64 = row.try_get(0)?;
        let customer_user: Option<String> = row.try_get(1)?;
        let queue: String = row.try_get(2)?;
        Ok(TicketAccess::new(actor, id, queue_id, &queue, customer_user.as_deref()))
    }
}
