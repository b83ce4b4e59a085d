//! Ticket search: filters, full text, sorting and keyset (cursor) pagination,
//! plus upkeep of the full-text index (FTS5 on SQLite, tsvector on PostgreSQL).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::db::{Arg, Backend, Sql};
use crate::desk::catalog::{CatalogKind, StateType};
use crate::desk::input;
use crate::desk::tickets::{load_tickets, TICKET_SELECT};
use crate::desk::time::to_micros;
use crate::desk::{Actor, Desk, DeskError, Ref, Ticket};

/// The column to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    /// Ticket id (creation order).
    Id,
    /// Creation time.
    CreatedAt,
    /// Last change.
    ChangedAt,
    /// Priority id.
    Priority,
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            SortKey::Id => "t.id",
            SortKey::CreatedAt => "t.created_at",
            SortKey::ChangedAt => "t.changed_at",
            SortKey::Priority => "t.priority_id",
        }
    }

    /// Parses `id`, `created_at`, `changed_at` or `priority`, with an optional leading `-` for descending.
    pub fn parse(s: &str) -> Option<(SortKey, bool)> {
        let (desc, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let key = match name {
            "id" | "number" => SortKey::Id,
            "created_at" => SortKey::CreatedAt,
            "changed_at" => SortKey::ChangedAt,
            "priority" => SortKey::Priority,
            _ => return None,
        };
        Some((key, desc))
    }
}

/// Filters and paging for a ticket search; every set filter must match.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    /// Queue name.
    pub queue: Option<String>,
    /// State name.
    pub state: Option<String>,
    /// State type.
    pub state_type: Option<StateType>,
    /// Priority id or name.
    pub priority: Option<Ref>,
    /// Owner login.
    pub owner: Option<String>,
    /// Customer user login.
    pub customer_user: Option<String>,
    /// Customer company id.
    pub customer_company: Option<String>,
    /// Words that must all occur in the title or an article.
    pub text: Option<String>,
    /// Dynamic field equality filters (field name, value as text).
    pub dynamic_fields: Vec<(String, String)>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// Changed at or after.
    pub changed_after: Option<DateTime<Utc>>,
    /// Changed before.
    pub changed_before: Option<DateTime<Utc>>,
    /// Sort column and direction (true: descending). Default: newest first.
    pub sort: Option<(SortKey, bool)>,
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct TicketPage {
    /// The tickets of this page.
    pub items: Vec<Ticket>,
    /// Cursor for the next page, if there is one.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    k: SortKey,
    d: bool,
    v: i64,
    id: i64,
}

impl Desk {
    /// Searches tickets the actor may read.
    pub async fn ticket_search(&self, actor: &Actor, query: TicketQuery) -> Result<TicketPage, DeskError> {
        actor.require_not_integration()?;
        input::check(&query)?;
        let limit = i64::from(query.limit.unwrap_or(50));
        if !(1..=500).contains(&limit) {
            return Err(DeskError::invalid("limit", "must be between 1 and 500"));
        }
        let (key, desc) = query.sort.unwrap_or((SortKey::Id, true));
        let cursor = match &query.cursor {
            None => None,
            Some(c) => {
                let parsed = URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok())
                    .filter(|c| c.k == key && c.d == desc);
                Some(parsed.ok_or_else(|| {
                    DeskError::invalid("cursor", "is not a cursor of this search (same sort) returned by a previous page")
                })?)
            }
        };
        let mut sql = Sql::new(TICKET_SELECT);
        sql.push(" WHERE 1 = 1");
        match actor {
            Actor::Customer { login } => {
                // A customer's view has no owner, so it cannot be searched by one.
                if query.owner.is_some() {
                    return Err(DeskError::ForbiddenFields(vec![crate::desk::FieldError::new(
                        "owner",
                        "customers cannot search by owner",
                    )]));
                }
                sql.push(" AND t.customer_user = ").bind(Arg::Text(login.clone()));
            }
            _ => {
                if let Some(queues) = actor.readable_queues() {
                    if queues.is_empty() {
                        return Ok(TicketPage { items: Vec::new(), next_cursor: None });
                    }
                    sql.push(" AND t.queue_id IN ").bind_list(queues.iter().map(|q| Arg::Int(*q)));
                }
            }
        }
        // Names are resolved to ids first, so the (queue_id, state_id, id)
        // index serves the filter and the order on both backends.
        for (name, kind, column) in [(&query.queue, CatalogKind::Queue, "t.queue_id"), (&query.state, CatalogKind::State, "t.state_id")] {
            if let Some(name) = name {
                let Some(id) = self.catalog().await?.id_of(kind, name) else {
                    return Ok(TicketPage { items: Vec::new(), next_cursor: None });
                };
                sql.push(&format!(" AND {column} = ")).bind(Arg::Int(id));
            }
        }
        if let Some(st) = query.state_type {
            sql.push(" AND s.state_type = ").bind(Arg::Text(st.as_str().to_string()));
        }
        match &query.priority {
            Some(Ref::Id(id)) => {
                sql.push(" AND t.priority_id = ").bind(Arg::Int(*id));
            }
            Some(Ref::Name(name)) => {
                sql.push(" AND p.name = ").bind(Arg::Text(name.clone()));
            }
            None => {}
        }
        if let Some(o) = &query.owner {
            sql.push(" AND o.login = ").bind(Arg::Text(o.clone()));
        }
        if let Some(c) = &query.customer_user {
            sql.push(" AND t.customer_user = ").bind(Arg::Text(c.clone()));
        }
        if let Some(c) = &query.customer_company {
            sql.push(" AND t.customer_company = ").bind(Arg::Text(c.clone()));
        }
        for (column, op, time) in [
            ("t.created_at", ">=", query.created_after),
            ("t.created_at", "<", query.created_before),
            ("t.changed_at", ">=", query.changed_after),
            ("t.changed_at", "<", query.changed_before),
        ] {
            if let Some(time) = time {
                sql.push(&format!(" AND {column} {op} ")).bind(Arg::Int(to_micros(time)));
            }
        }
        if !query.dynamic_fields.is_empty() {
            let catalog = self.catalog().await?;
            // A customer knows only the customer-visible fields.
            let customer = matches!(actor, Actor::Customer { .. });
            for (name, value) in &query.dynamic_fields {
                let def = catalog
                    .field(crate::desk::ObjectType::Ticket, name)
                    .filter(|d| d.customer_visible || !customer)
                    .ok_or_else(|| DeskError::invalid(format!("df.{name}"), format!("unknown ticket dynamic field '{name}'")))?;
                let wanted = match def.field_type {
                    crate::desk::FieldType::Checkbox => serde_json::Value::Bool(matches!(value.as_str(), "1" | "true")),
                    crate::desk::FieldType::Multiselect => serde_json::Value::Array(vec![serde_json::Value::String(value.clone())]),
                    _ => serde_json::Value::String(value.clone()),
                };
                let items = def.canonical_items(&wanted).map_err(|m| DeskError::invalid(format!("df.{name}"), m))?;
                let item = items.into_iter().next().unwrap_or_default();
                sql.push(" AND EXISTS (SELECT 1 FROM dynamic_field_values v WHERE v.object_id = t.id AND v.field_id = ")
                    .bind(Arg::Int(def.id))
                    .push(" AND v.value_text = ")
                    .bind(Arg::Text(item))
                    .push(")");
            }
        }
        if let Some(text) = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let customer = matches!(actor, Actor::Customer { .. });
            match self.db().backend() {
                Backend::Sqlite => {
                    let words: Vec<String> = text.split_whitespace().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
                    let columns = if customer { "{title public_body}" } else { "{title body}" };
                    sql.push(" AND t.id IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ")
                        .bind(Arg::Text(format!("{columns}: ({})", words.join(" "))))
                        .push(")");
                }
                Backend::Postgres => {
                    // An array of the matching ids is computed first (from the GIN
                    // index), so the planner never walks the primary key testing
                    // every ticket against the text.
                    let document = if customer { "(title_tsv || public_tsv)" } else { "(title_tsv || body_tsv)" };
                    sql.push(&format!(
                        " AND t.id = ANY(ARRAY(SELECT ticket_id FROM ticket_search WHERE {document} @@ plainto_tsquery('simple', "
                    ))
                    .bind(Arg::Text(text.to_string()))
                    .push(")))");
                }
            }
        }
        let column = key.column();
        let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
        if let Some(c) = &cursor {
            if key == SortKey::Id {
                sql.push(&format!(" AND t.id {cmp} ")).bind(Arg::Int(c.id));
            } else {
                sql.push(&format!(" AND ({column} {cmp} ")).bind(Arg::Int(c.v));
                sql.push(&format!(" OR ({column} = ")).bind(Arg::Int(c.v));
                sql.push(&format!(" AND t.id {cmp} ")).bind(Arg::Int(c.id)).push("))");
            }
        }
        if key == SortKey::Id {
            sql.push(&format!(" ORDER BY t.id {dir}"));
        } else {
            sql.push(&format!(" ORDER BY {column} {dir}, t.id {dir}"));
        }
        sql.push(" LIMIT ").bind(Arg::Int(limit + 1));
        let mut conn = self.db().conn().await?;
        let mut items = load_tickets(&mut conn, &sql).await?;
        drop(conn);
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|t| {
                let v = match key {
                    SortKey::Id => t.id,
                    SortKey::CreatedAt => to_micros(t.created_at),
                    SortKey::ChangedAt => to_micros(t.changed_at),
                    SortKey::Priority => t.priority_id,
                };
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Cursor { k: key, d: desc, v, id: t.id }).unwrap_or_default())
            })
        } else {
            None
        };
        Ok(TicketPage { items: self.ticket_views(actor, items).await?, next_cursor })
    }
}

/// Creates the full-text row of a new ticket with its first article's text
/// (in the customer-visible part too when `public`): what
/// [`append_search_body`] would make of an empty row, in one statement.
pub(crate) async fn insert_search_doc(
    conn: &mut AnyConnection,
    backend: Backend,
    ticket_id: i64,
    title: &str,
    text: &str,
    public: bool,
) -> Result<(), sqlx::Error> {
    let sql = match (backend, public) {
        (Backend::Sqlite, false) => "INSERT INTO ticket_search (rowid, title, body, public_body) VALUES ($1, $2, ' ' || $3, '')",
        (Backend::Sqlite, true) => "INSERT INTO ticket_search (rowid, title, body, public_body) VALUES ($1, $2, ' ' || $3, ' ' || $3)",
        // The article's vector is made once, for the body and (when public) the customer's part.
        (Backend::Postgres, false) => {
            "INSERT INTO ticket_search (ticket_id, title_tsv, body_tsv, public_tsv) SELECT $1, to_tsvector('simple', $2), v, ''::tsvector FROM (SELECT switchboard_tsv_append(''::tsvector, to_tsvector('simple', $3), $4) AS v) AS article"
        }
        (Backend::Postgres, true) => {
            "INSERT INTO ticket_search (ticket_id, title_tsv, body_tsv, public_tsv) SELECT $1, to_tsvector('simple', $2), v, v FROM (SELECT switchboard_tsv_append(''::tsvector, to_tsvector('simple', $3), $4) AS v) AS article"
        }
    };
    let query = sqlx::query(sql).bind(ticket_id).bind(title).bind(prefix(text, INDEXED_ARTICLE_BYTES));
    let query = if backend == Backend::Postgres { query.bind(TSVECTOR_BUDGET) } else { query };
    query.execute(conn).await?;
    Ok(())
}

/// How much of one article is indexed, in bytes: its first 256 KiB. The bound
/// is the same on both backends; on PostgreSQL it keeps `to_tsvector` of one
/// article well under the 1 MiB a tsvector may hold (at most about three bytes
/// of lexemes and positions per byte of text).
const INDEXED_ARTICLE_BYTES: usize = 256 * 1024;

/// PostgreSQL: the bytes one ticket's body tsvector may grow to (see
/// `switchboard_tsv_append`), under the 1 MiB limit with room for the title
/// that the search index concatenates with it.
const TSVECTOR_BUDGET: i64 = 1_000_000;

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Adds article text to a ticket's full-text row (to the customer-visible
/// part too when the article is visible to the customer). Only the first
/// [`INDEXED_ARTICLE_BYTES`] are indexed, and on PostgreSQL the row stays
/// within [`TSVECTOR_BUDGET`]: past it, only words the row lacks are added,
/// while they fit. A big ticket never refuses an article for its index.
pub(crate) async fn append_search_body(
    conn: &mut AnyConnection,
    backend: Backend,
    ticket_id: i64,
    text: &str,
    public: bool,
) -> Result<(), sqlx::Error> {
    let sql = match (backend, public) {
        (Backend::Sqlite, false) => "UPDATE ticket_search SET body = body || ' ' || $1 WHERE rowid = $2",
        (Backend::Sqlite, true) => "UPDATE ticket_search SET body = body || ' ' || $1, public_body = public_body || ' ' || $1 WHERE rowid = $2",
        (Backend::Postgres, false) => {
            "UPDATE ticket_search SET body_tsv = switchboard_tsv_append(body_tsv, to_tsvector('simple', $1), $3) WHERE ticket_id = $2"
        }
        (Backend::Postgres, true) => {
            "UPDATE ticket_search SET body_tsv = switchboard_tsv_append(body_tsv, to_tsvector('simple', $1), $3), public_tsv = switchboard_tsv_append(public_tsv, to_tsvector('simple', $1), $3) WHERE ticket_id = $2"
        }
    };
    let query = sqlx::query(sql).bind(prefix(text, INDEXED_ARTICLE_BYTES)).bind(ticket_id);
    let query = if backend == Backend::Postgres { query.bind(TSVECTOR_BUDGET) } else { query };
    query.execute(conn).await?;
    Ok(())
}

/// Replaces the title in a ticket's full-text row.
pub(crate) async fn set_search_title(conn: &mut AnyConnection, backend: Backend, ticket_id: i64, title: &str) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => "UPDATE ticket_search SET title = $1 WHERE rowid = $2",
        Backend::Postgres => "UPDATE ticket_search SET title_tsv = to_tsvector('simple', $1) WHERE ticket_id = $2",
    };
    sqlx::query(sql).bind(title).bind(ticket_id).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indexed_prefix_ends_on_a_character() {
        assert_eq!(prefix("short", 10), "short");
        assert_eq!(prefix("äöü", 3), "ä");
        assert_eq!(prefix("äöü", 4), "äö");
        assert_eq!(prefix("abc", 0), "");
    }
}
