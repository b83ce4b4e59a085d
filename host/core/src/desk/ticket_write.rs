//! Creating and changing tickets, each in one transaction with its history.

use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, Row};

use crate::db::{is_unique_violation, Arg, Backend, DbError, Sql};
use crate::desk::articles::{insert_article, SearchRow};
use crate::desk::catalog::{CatalogKind, StateType};
use crate::desk::catalog_cache::Catalog;
use crate::desk::dynamic_fields::{insert_values, write_values, written_values, ObjectType};
use crate::desk::error::Problems;
use crate::desk::history::{record, HistoryEvent};
use crate::desk::jobs::{announce_jobs, enqueue, JobTask, NewJob};
use crate::desk::search::set_search_title;
use crate::desk::ticket_number::{insert_ticket_sql, number_arg};
use crate::desk::tickets::load_ticket;
use crate::desk::time::{from_micros, now_micros, to_micros};
use crate::desk::{Actor, CreatedTicket, Desk, DeskError, NewTicket, QueuePermission, Ref, Ticket, TicketUpdate, TicketView};

/// One changed ticket column and its history entry.
struct Change {
    field: &'static str,
    column: &'static str,
    old: Option<String>,
    new: Option<String>,
    arg: Arg,
}

impl Change {
    fn new(field: &'static str, column: &'static str, old: Option<String>, new: Option<String>, arg: Arg) -> Change {
        Change { field, column, old, new, arg }
    }
}

/// Checks a customer company id exists.
async fn check_company(conn: &mut AnyConnection, customer_id: &str, problems: &mut Problems) -> Result<(), DeskError> {
    let found: Option<i64> = sqlx::query_scalar::<Any, i64>("SELECT id FROM customer_companies WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(&mut *conn)
        .await?;
    if found.is_none() {
        problems.add("customer_company", format!("unknown customer company '{customer_id}'"));
    }
    Ok(())
}

/// The company of a known customer user, if any.
async fn company_of_user(conn: &mut AnyConnection, login: &str) -> Result<Option<String>, DeskError> {
    Ok(sqlx::query_scalar::<Any, String>(
        "SELECT c.customer_id FROM customer_users u JOIN customer_companies c ON c.id = u.customer_company_id WHERE u.login = $1",
    )
    .bind(login)
    .fetch_optional(&mut *conn)
    .await?)
}

fn check_title(problems: &mut Problems, title: &str) {
    if title.trim().is_empty() {
        problems.add("title", "must not be empty");
    } else if title.chars().count() > 255 {
        problems.add("title", "must be at most 255 characters");
    }
}

/// Schedules the job that acts when a pending time passes, and tells every
/// node's worker at commit (on PostgreSQL) so it can sleep until the earliest
/// due time; the writer wakes its own node's worker after the commit
/// ([`Desk::jobs_scheduled`]).
async fn schedule_pending(conn: &mut AnyConnection, backend: Backend, ticket_id: i64, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let due = to_micros(until);
    enqueue(conn, &NewJob::new(JobTask::PendingDue { ticket_id, pending_until: due }).at(due)).await?;
    announce_jobs(conn, backend).await
}

/// Reads a ticket inside a write transaction, locking its row on PostgreSQL
/// so concurrent changes see each other's results (SQLite has one writer).
/// `catalog` is the snapshot taken before the transaction began.
pub(crate) async fn lock_ticket(conn: &mut AnyConnection, backend: Backend, catalog: &Catalog, id: i64) -> Result<Ticket, DeskError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM tickets WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *conn).await?;
    }
    load_ticket(conn, catalog, id).await?.ok_or(DeskError::NotFound { what: "ticket", id: id.to_string() })
}

impl Desk {
    /// Creates a ticket with its first article in one transaction.
    pub async fn ticket_create(&self, actor: &Actor, input: NewTicket) -> Result<CreatedTicket, DeskError> {
        actor.require_not_integration()?;
        crate::desk::input::check(&input)?;
        self.check_customer_create(actor, &input).await?;
        if let Some((token, key, hash)) = &input.idempotency {
            if let Some(done) = self.idempotent_replay(actor, *token, key, hash).await? {
                return Ok(done);
            }
        }
        let mut problems = Problems::default();
        check_title(&mut problems, &input.title);
        let customer_login = match actor {
            Actor::Customer { login } => Some(login.clone()),
            _ => input.customer_user.clone().filter(|c| !c.trim().is_empty()),
        };
        let article = self.check_article(actor, input.article, "article", &mut problems).await?;
        let ticket_values = self.check_dynamic_values(ObjectType::Ticket, &input.dynamic_fields, "dynamic_fields", &mut problems).await?;

        // Names are resolved in the catalogue snapshot, before the write
        // transaction: on SQLite the single writer then holds its lock only for
        // the writes. Foreign keys still guard against an entry deleted since.
        let catalog = self.catalog().await?;
        let queue_name = match (&input.queue, actor) {
            (Some(q), _) => Some(q.clone()),
            (None, Actor::Customer { .. }) => Some(self.settings().default_queue.clone()),
            (None, _) => {
                problems.add("queue", "is required");
                None
            }
        };
        let queue = queue_name.and_then(|q| catalog.resolve(CatalogKind::Queue, &Ref::Name(q), "queue", &mut problems));
        let state_name = input.state.clone().unwrap_or_else(|| "new".into());
        let state = catalog.resolve(CatalogKind::State, &Ref::Name(state_name), "state", &mut problems);
        let priority = catalog.resolve(CatalogKind::Priority, &input.priority.clone().unwrap_or(Ref::Id(3)), "priority", &mut problems);
        let type_name = input.ticket_type.clone().unwrap_or_else(|| "Unclassified".into());
        let ticket_type = catalog.resolve(CatalogKind::Type, &Ref::Name(type_name), "type", &mut problems);
        let owner = input.owner.as_deref().and_then(|o| catalog.agent(o, "owner", &mut problems));
        let responsible = input.responsible.as_deref().and_then(|r| catalog.agent(r, "responsible", &mut problems));
        drop(catalog);
        let company = match (&input.customer_company, &customer_login) {
            (Some(c), _) => {
                check_company(&mut *self.db().conn().await?, c, &mut problems).await?;
                Some(c.clone())
            }
            (None, Some(login)) => company_of_user(&mut *self.db().conn().await?, login).await?,
            (None, None) => None,
        };
        let state_type = state.as_ref().and_then(|s| s.state_type);
        let pending = state_type.is_some_and(StateType::is_pending);
        if pending && input.pending_until.is_none() {
            problems.add("pending_until", "is required for a pending state");
        }
        if state_type == Some(StateType::Merged) {
            problems.add("state", "a ticket is merged with the merge operation, not by setting the state");
        }
        problems.finish()?;
        let (Some(queue), Some(state), Some(state_type), Some(priority), Some(ticket_type)) =
            (queue, state, state_type, priority, ticket_type)
        else {
            return Err(DeskError::invalid("queue", "could not be resolved"));
        };
        if !matches!(actor, Actor::Customer { .. }) && actor.queue_permission(queue.id) != Some(QueuePermission::Rw) {
            return Err(DeskError::Forbidden(format!("no rw permission on queue '{}'", queue.name)));
        }
        // Stored in microseconds: the ticket returned holds what a read returns.
        let pending_until = if pending { input.pending_until.map(|p| from_micros(to_micros(p))) } else { None };

        let mut tx = self.db().begin_write().await?;
        let conn = &mut *tx.tx;
        let number_part = number_arg(conn, self.db().backend(), self.settings().system_id).await?;
        let now = now_micros();
        let row = sqlx::query(insert_ticket_sql(self.db().backend()))
            .bind(number_part)
            .bind(input.title.trim())
            .bind(queue.id)
            .bind(state.id)
            .bind(priority.id)
            .bind(ticket_type.id)
            .bind(owner)
            .bind(responsible)
            .bind(customer_login.as_deref())
            .bind(company.as_deref())
            .bind(pending_until.map(to_micros))
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| self.catalog_missed(e))?;
        let id: i64 = row.try_get(0)?;
        let number: String = row.try_get(1)?;
        insert_values(conn, id, &ticket_values).await?;
        let search = SearchRow::Create { title: input.title.trim() };
        let article = insert_article(conn, self.db().backend(), id, article, &actor.label(), search).await?;
        record(conn, id, HistoryEvent::Created, None, None, Some(&number), &actor.label()).await?;
        if let Some(until) = pending_until {
            schedule_pending(conn, self.db().backend(), id, until).await?;
        }
        if let Some((token, key, hash)) = &input.idempotency {
            let stored = sqlx::query(
                "INSERT INTO idempotency_keys (token_id, key, request_hash, ticket_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(*token)
            .bind(key.as_str())
            .bind(hash.as_str())
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await;
            if let Err(err) = stored {
                if is_unique_violation(&err) {
                    drop(tx);
                    return match self.idempotent_replay(actor, *token, key, hash).await? {
                        Some(done) => Ok(done),
                        None => Err(DeskError::Conflict("a request with this Idempotency-Key is in progress; retry".into())),
                    };
                }
                return Err(err.into());
            }
        }
        tx.commit().await?;
        self.jobs_scheduled(pending_until.is_some());
        let ticket = Ticket {
            id,
            number,
            title: input.title.trim().to_string(),
            queue_id: queue.id,
            queue: queue.name,
            state_id: state.id,
            state: state.name,
            state_type,
            priority_id: priority.id,
            priority: priority.name,
            type_id: ticket_type.id,
            ticket_type: ticket_type.name,
            owner: owner.and(input.owner),
            responsible: responsible.and(input.responsible),
            customer_user: customer_login,
            customer_company: company,
            pending_until,
            merged_into: None,
            dynamic_fields: written_values(&ticket_values),
            created_at: from_micros(now),
            changed_at: from_micros(now),
            view: TicketView::Staff,
        };
        let ticket = self.ticket_view(actor, ticket).await?;
        let article = self.article_view(actor, article).await?;
        Ok(CreatedTicket { ticket, article, replayed: false })
    }

    /// Returns the ticket an earlier create with the same Idempotency-Key made.
    async fn idempotent_replay(&self, actor: &Actor, token: i64, key: &str, hash: &str) -> Result<Option<CreatedTicket>, DeskError> {
        let Some(row) = sqlx::query("SELECT request_hash, ticket_id FROM idempotency_keys WHERE token_id = $1 AND key = $2")
            .bind(token)
            .bind(key)
            .fetch_optional(self.db().pool())
            .await?
        else {
            return Ok(None);
        };
        let stored_hash: String = row.try_get(0)?;
        if stored_hash != hash {
            return Err(DeskError::invalid("Idempotency-Key", "this key was already used for a different request"));
        }
        let ticket = self.ticket_get(actor, row.try_get(1)?).await?;
        let first: i64 =
            sqlx::query_scalar("SELECT MIN(id) FROM articles WHERE ticket_id = $1").bind(ticket.id).fetch_one(self.db().pool()).await?;
        let article = self.article_view(actor, self.article_get(&Actor::System, ticket.id, first).await?).await?;
        Ok(Some(CreatedTicket { ticket, article, replayed: true }))
    }

    /// Changes ticket fields in one transaction, writing one history entry per change.
    pub async fn ticket_update(&self, actor: &Actor, id: i64, update: TicketUpdate) -> Result<Ticket, DeskError> {
        self.ticket_change(actor, id, update, Vec::new()).await
    }

    /// Changes ticket fields and adds notes, all in one transaction (what a
    /// plugin's changes become). Every queue, owner and field the change
    /// touches is checked against `actor` (for a plugin: whoever set it off)
    /// before anything is written.
    pub async fn ticket_change(
        &self,
        actor: &Actor,
        id: i64,
        update: TicketUpdate,
        notes: Vec<crate::desk::NewArticle>,
    ) -> Result<Ticket, DeskError> {
        self.change_ticket(actor, id, update, notes, true).await
    }

    /// Makes every check [`Desk::ticket_change`] makes, writes nothing, and
    /// returns the ticket as it was read under the lock: a plugin's test run
    /// refuses exactly what applying it would refuse.
    pub async fn ticket_change_check(
        &self,
        actor: &Actor,
        id: i64,
        update: TicketUpdate,
        notes: Vec<crate::desk::NewArticle>,
    ) -> Result<Ticket, DeskError> {
        self.change_ticket(actor, id, update, notes, false).await
    }

    /// The body of [`Desk::ticket_change`]; without `commit` the transaction
    /// is rolled back after the last check and write, and the ticket as it was
    /// before the change is returned.
    async fn change_ticket(
        &self,
        actor: &Actor,
        id: i64,
        update: TicketUpdate,
        notes: Vec<crate::desk::NewArticle>,
        commit: bool,
    ) -> Result<Ticket, DeskError> {
        actor.require_staff()?;
        crate::desk::input::check(&(&update, notes.as_slice()))?;
        let mut problems = Problems::default();
        let mut checked_notes = Vec::new();
        for (i, note) in notes.into_iter().enumerate() {
            checked_notes.push(self.check_article(actor, note, &format!("notes[{i}]"), &mut problems).await?);
        }
        if let Some(title) = &update.title {
            check_title(&mut problems, title);
        }
        let values = self.check_dynamic_values(ObjectType::Ticket, &update.dynamic_fields, "dynamic_fields", &mut problems).await?;
        let catalog = self.catalog().await?;
        let mut tx = self.db().begin_write().await?;
        let conn = &mut *tx.tx;
        let access = self.ticket_access(conn, actor, id).await?;
        access.require_write(actor)?;
        let current = lock_ticket(conn, self.db().backend(), &catalog, id).await?;

        let mut changes: Vec<Change> = Vec::new();
        if let Some(title) = &update.title {
            if title.trim() != current.title {
                changes.push(Change::new(
                    "title",
                    "title",
                    Some(current.title.clone()),
                    Some(title.trim().to_string()),
                    Arg::Text(title.trim().to_string()),
                ));
            }
        }
        if let Some(q) = &update.queue {
            if let Some(queue) = catalog.resolve(CatalogKind::Queue, &Ref::Name(q.clone()), "queue", &mut problems) {
                if actor.queue_permission(queue.id) != Some(QueuePermission::Rw) {
                    return Err(DeskError::Forbidden(format!("no rw permission on queue '{}'", queue.name)));
                }
                if queue.id != current.queue_id {
                    changes.push(Change::new("queue", "queue_id", Some(current.queue.clone()), Some(queue.name), Arg::Int(queue.id)));
                }
            }
        }
        let mut new_state_type = current.state_type;
        if let Some(s) = &update.state {
            if let Some(state) = catalog.resolve(CatalogKind::State, &Ref::Name(s.clone()), "state", &mut problems) {
                if state.state_type == Some(StateType::Merged) {
                    problems.add("state", "a ticket is merged with the merge operation, not by setting the state");
                }
                if let Some(state_type) = state.state_type {
                    new_state_type = state_type;
                }
                if state.id != current.state_id {
                    changes.push(Change::new("state", "state_id", Some(current.state.clone()), Some(state.name), Arg::Int(state.id)));
                }
            }
        }
        if let Some(p) = &update.priority {
            if let Some(priority) = catalog.resolve(CatalogKind::Priority, p, "priority", &mut problems) {
                if priority.id != current.priority_id {
                    changes.push(Change::new(
                        "priority",
                        "priority_id",
                        Some(current.priority.clone()),
                        Some(priority.name),
                        Arg::Int(priority.id),
                    ));
                }
            }
        }
        if let Some(t) = &update.ticket_type {
            if let Some(ty) = catalog.resolve(CatalogKind::Type, &Ref::Name(t.clone()), "type", &mut problems) {
                if ty.id != current.type_id {
                    changes.push(Change::new("type", "type_id", Some(current.ticket_type.clone()), Some(ty.name), Arg::Int(ty.id)));
                }
            }
        }
        for (field, column, wanted, now_login) in [
            ("owner", "owner_id", &update.owner, &current.owner),
            ("responsible", "responsible_id", &update.responsible, &current.responsible),
        ] {
            if let Some(wanted) = wanted {
                let agent = match wanted {
                    Some(login) => catalog.agent(login, field, &mut problems),
                    None => None,
                };
                if wanted != now_login {
                    changes.push(Change::new(field, column, now_login.clone(), wanted.clone(), Arg::OptInt(agent)));
                }
            }
        }
        if let Some(cu) = &update.customer_user {
            let cu = cu.clone().filter(|c| !c.trim().is_empty());
            if cu != current.customer_user {
                changes.push(Change::new("customer_user", "customer_user", current.customer_user.clone(), cu.clone(), Arg::OptText(cu)));
            }
        }
        if let Some(cc) = &update.customer_company {
            if let Some(c) = cc {
                check_company(conn, c, &mut problems).await?;
            }
            if *cc != current.customer_company {
                changes.push(Change::new(
                    "customer_company",
                    "customer_company",
                    current.customer_company.clone(),
                    cc.clone(),
                    Arg::OptText(cc.clone()),
                ));
            }
        }
        let mut pending_until = match &update.pending_until {
            Some(p) => *p,
            None => current.pending_until,
        };
        if new_state_type.is_pending() {
            if pending_until.is_none() {
                problems.add("pending_until", "is required for a pending state");
            }
        } else {
            pending_until = None;
        }
        problems.finish()?;
        if pending_until != current.pending_until {
            let show = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            changes.push(Change::new(
                "pending_until",
                "pending_until",
                show(current.pending_until),
                show(pending_until),
                Arg::OptInt(pending_until.map(to_micros)),
            ));
        }
        if changes.is_empty() && values.is_empty() && checked_notes.is_empty() {
            return Ok(current);
        }
        let mut sql = Sql::new("UPDATE tickets SET changed_at = ");
        sql.bind(Arg::Int(now_micros()));
        for change in &changes {
            sql.push(&format!(", {} = ", change.column)).bind(change.arg.clone());
        }
        sql.push(" WHERE id = ").bind(Arg::Int(id));
        sql.query().execute(&mut *conn).await.map_err(|e| self.catalog_missed(e))?;
        let label = actor.label();
        for change in &changes {
            record(conn, id, HistoryEvent::FieldChanged, Some(change.field), change.old.as_deref(), change.new.as_deref(), &label).await?;
        }
        for (def, items) in &values {
            let old = current.dynamic_fields.get(&def.name).map(|v| v.to_string());
            let new = (!items.is_empty()).then(|| def.items_to_value(items).to_string());
            if old != new {
                record(
                    conn,
                    id,
                    HistoryEvent::FieldChanged,
                    Some(&format!("dynamic_fields.{}", def.name)),
                    old.as_deref(),
                    new.as_deref(),
                    &label,
                )
                .await?;
            }
        }
        write_values(conn, id, &values).await?;
        for note in checked_notes {
            let article = insert_article(conn, self.db().backend(), id, note, &label, SearchRow::Append).await?;
            record(conn, id, HistoryEvent::ArticleAdded, None, None, Some(&article.id.to_string()), &label).await?;
        }
        if let Some(title) = &update.title {
            set_search_title(conn, self.db().backend(), id, title.trim()).await?;
        }
        if let (Some(until), true) = (pending_until, pending_until != current.pending_until || new_state_type != current.state_type) {
            schedule_pending(conn, self.db().backend(), id, until).await?;
        }
        if !commit {
            tx.rollback().await?;
            return Ok(current);
        }
        tx.commit().await.map_err(|e: DbError| DeskError::Db(e))?;
        self.jobs_scheduled(pending_until.is_some());
        self.ticket_get(&Actor::System, id).await
    }
}
