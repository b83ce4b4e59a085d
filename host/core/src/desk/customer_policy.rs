//! What a customer may set and see: the create policy an admin configures and
//! the customer's view of tickets and articles.
//!
//! A customer creating a ticket sets its title, its first article (with
//! attachments) and a queue from [`CustomerPolicy::queues`]; the core applies
//! the default state, priority and type. Any other field is refused with
//! [`DeskError::ForbiddenFields`] naming it (refusing is clearer than silently
//! dropping what the customer asked for), unless the admin allowed it in
//! [`CustomerPolicy::fields`]. A customer reading a ticket gets
//! [`TicketView::Customer`]: no agent logins, only customer-visible dynamic fields.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::desk::error::FieldError;
use crate::desk::{Actor, Article, Desk, DeskError, NewArticle, NewTicket, ObjectType, Ticket, TicketView};

/// A ticket field beyond title, article and queue that an admin may let
/// customers set when they create a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerField {
    /// `priority` (otherwise the default priority).
    Priority,
    /// `type` (otherwise `Unclassified`).
    Type,
    /// `dynamic_fields` of the ticket and of its articles, customer-visible fields only.
    DynamicFields,
}

impl CustomerField {
    /// Every field an admin may allow.
    pub const ALL: [CustomerField; 3] = [CustomerField::Priority, CustomerField::Type, CustomerField::DynamicFields];

    /// The configuration and wire name (as the create request names the field).
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerField::Priority => "priority",
            CustomerField::Type => "type",
            CustomerField::DynamicFields => "dynamic_fields",
        }
    }

    /// Parses a configuration name.
    pub fn parse(s: &str) -> Option<CustomerField> {
        CustomerField::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// What customers may set when they create a ticket (configuration, read at start).
#[derive(Debug, Clone, Default)]
pub struct CustomerPolicy {
    /// Queues a customer may name; empty means only the default queue. A
    /// customer naming no queue always gets the default queue.
    pub queues: Vec<String>,
    /// Optional fields customers may set as well (default: none).
    pub fields: Vec<CustomerField>,
}

impl CustomerPolicy {
    fn allows(&self, field: CustomerField) -> bool {
        self.fields.contains(&field)
    }
}

/// Collects the refused fields of one customer request.
#[derive(Default)]
struct Refusals(Vec<FieldError>);

impl Refusals {
    fn refuse(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish(self) -> Result<(), DeskError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DeskError::ForbiddenFields(self.0))
        }
    }
}

const NOT_FOR_CUSTOMERS: &str = "customers may not set this field";
const NOT_ALLOWED: &str = "customers may not set this field here; an admin can allow it with customer_fields";

impl Desk {
    /// Refuses a customer's ticket create that sets anything the policy does
    /// not allow, naming every such field (does nothing for other actors).
    /// Runs before any validation, so a refused field is a 403 whatever its value.
    pub(crate) async fn check_customer_create(&self, actor: &Actor, input: &NewTicket) -> Result<(), DeskError> {
        let Actor::Customer { login } = actor else { return Ok(()) };
        let policy = &self.settings().customer;
        let mut refused = Refusals::default();
        if let Some(queue) = &input.queue {
            let default = [self.settings().default_queue.clone()];
            let allowed: &[String] = if policy.queues.is_empty() { &default } else { &policy.queues };
            if !allowed.contains(queue) {
                refused.refuse("queue", format!("customers may not create tickets in queue '{queue}'; allowed: {}", allowed.join(", ")));
            }
        }
        if input.priority.is_some() && !policy.allows(CustomerField::Priority) {
            refused.refuse("priority", NOT_ALLOWED);
        }
        if input.ticket_type.is_some() && !policy.allows(CustomerField::Type) {
            refused.refuse("type", NOT_ALLOWED);
        }
        for (field, set) in [
            ("state", input.state.is_some()),
            ("owner", input.owner.is_some()),
            ("responsible", input.responsible.is_some()),
            ("customer_company", input.customer_company.is_some()),
            ("pending_until", input.pending_until.is_some()),
        ] {
            if set {
                refused.refuse(field, NOT_FOR_CUSTOMERS);
            }
        }
        if input.customer_user.as_deref().is_some_and(|c| c != login) {
            refused.refuse("customer_user", "a customer creates tickets only for itself");
        }
        self.refuse_hidden_values(ObjectType::Ticket, &input.dynamic_fields, "dynamic_fields", &mut refused).await?;
        self.refuse_hidden_values(ObjectType::Article, &input.article.dynamic_fields, "article.dynamic_fields", &mut refused).await?;
        refused.finish()
    }

    /// Refuses a customer's article (a reply) that sets dynamic fields the
    /// policy does not allow (does nothing for other actors).
    pub(crate) async fn check_customer_article(&self, actor: &Actor, input: &NewArticle) -> Result<(), DeskError> {
        if !matches!(actor, Actor::Customer { .. }) {
            return Ok(());
        }
        let mut refused = Refusals::default();
        self.refuse_hidden_values(ObjectType::Article, &input.dynamic_fields, "dynamic_fields", &mut refused).await?;
        refused.finish()
    }

    /// Customers set dynamic fields only when the admin allows it, and then
    /// only customer-visible ones.
    async fn refuse_hidden_values(
        &self,
        object_type: ObjectType,
        values: &BTreeMap<String, Value>,
        prefix: &str,
        refused: &mut Refusals,
    ) -> Result<(), DeskError> {
        if values.is_empty() {
            return Ok(());
        }
        if !self.settings().customer.allows(CustomerField::DynamicFields) {
            values.keys().for_each(|name| refused.refuse(format!("{prefix}.{name}"), NOT_ALLOWED));
            return Ok(());
        }
        let visible = self.customer_visible_fields(object_type).await?;
        for name in values.keys().filter(|name| !visible.contains(*name)) {
            refused.refuse(format!("{prefix}.{name}"), "customers may set only customer-visible dynamic fields");
        }
        Ok(())
    }

    /// Names of the customer-visible fields of `object_type`.
    pub(crate) async fn customer_visible_fields(&self, object_type: ObjectType) -> Result<HashSet<String>, DeskError> {
        Ok(self
            .catalog()
            .await?
            .fields()
            .iter()
            .filter(|d| d.object_type == object_type && d.customer_visible)
            .map(|d| d.name.clone())
            .collect())
    }

    /// The ticket as `actor` may see it: unchanged for staff, the customer's
    /// view for customers.
    pub(crate) async fn ticket_view(&self, actor: &Actor, mut ticket: Ticket) -> Result<Ticket, DeskError> {
        if matches!(actor, Actor::Customer { .. }) {
            customer_view(&mut ticket, &self.customer_visible_fields(ObjectType::Ticket).await?);
        }
        Ok(ticket)
    }

    /// [`Desk::ticket_view`] for several tickets (one lookup of the field definitions).
    pub(crate) async fn ticket_views(&self, actor: &Actor, mut tickets: Vec<Ticket>) -> Result<Vec<Ticket>, DeskError> {
        if matches!(actor, Actor::Customer { .. }) && !tickets.is_empty() {
            let visible = self.customer_visible_fields(ObjectType::Ticket).await?;
            tickets.iter_mut().for_each(|t| customer_view(t, &visible));
        }
        Ok(tickets)
    }

    /// The articles as `actor` may see them: customers get only customer-visible
    /// dynamic fields, and an article someone else wrote names only the kind of
    /// writer (`agent`, `system`), never an agent's login or a plugin (which
    /// articles a customer sees is decided by the caller).
    pub(crate) async fn article_views(&self, actor: &Actor, mut articles: Vec<Article>) -> Result<Vec<Article>, DeskError> {
        if matches!(actor, Actor::Customer { .. }) {
            let visible = self.article_fields_visible(&articles).await?;
            let own = actor.label();
            articles.iter_mut().for_each(|a| customer_article_view(a, &own, &visible));
        }
        Ok(articles)
    }

    /// [`Desk::article_views`] for one article.
    pub(crate) async fn article_view(&self, actor: &Actor, mut article: Article) -> Result<Article, DeskError> {
        if matches!(actor, Actor::Customer { .. }) {
            let visible = self.article_fields_visible(std::slice::from_ref(&article)).await?;
            customer_article_view(&mut article, &actor.label(), &visible);
        }
        Ok(article)
    }

    /// The customer-visible article fields, looked up only when one of `articles` has any.
    async fn article_fields_visible(&self, articles: &[Article]) -> Result<HashSet<String>, DeskError> {
        if articles.iter().any(|a| !a.dynamic_fields.is_empty()) {
            self.customer_visible_fields(ObjectType::Article).await
        } else {
            Ok(HashSet::new())
        }
    }
}

/// Turns an article into its customer's view: the writer named only by kind
/// unless it is the customer (`own`: their actor label), only the visible fields.
fn customer_article_view(article: &mut Article, own: &str, visible: &HashSet<String>) {
    if article.created_by != own {
        article.created_by = article.sender_type.as_str().to_string();
    }
    article.dynamic_fields.retain(|name, _| visible.contains(name));
}

/// Turns a ticket into its customer's view: no agent logins, only the visible fields.
fn customer_view(ticket: &mut Ticket, visible: &HashSet<String>) {
    ticket.view = TicketView::Customer;
    ticket.owner = None;
    ticket.responsible = None;
    ticket.dynamic_fields.retain(|name, _| visible.contains(name));
}
