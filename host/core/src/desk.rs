//! The helpdesk core: tickets, articles, catalogue, agents, customers, tokens
//! and the job queue.
//!
//! Architecture invariant: `desk` knows nothing of HTTP, the CLI or plugins.
//! Every adapter calls these services with an [`Actor`] and gets core types or a
//! [`DeskError`] back; permissions are checked here, so every adapter enforces
//! the same rules.

mod actor;
mod agents;
mod articles;
mod catalog;
mod catalog_cache;
mod customer_policy;
mod customers;
mod dynamic_fields;
mod error;
mod history;
mod input;
mod job_run;
mod jobs;
mod links;
mod pending;
mod plugin_kv;
mod plugin_outcome;
mod plugins;
mod search;
mod secrets;
mod seed;
mod stored;
mod system;
mod ticket_number;
mod ticket_write;
mod tickets;
mod time;
mod tokens;
mod trigger;

use std::sync::Arc;

use crate::db::Db;

pub use actor::{Actor, AgentActor, QueuePermission};
pub use agents::{Agent, AgentInput, AgentPromotion, AgentRole, AgentUpdate, QueueGrant};
pub use articles::{Article, AttachmentContent, AttachmentInput, AttachmentMeta, Channel, NewArticle, SenderType};
pub use catalog::{CatalogEntry, CatalogInput, CatalogKind, CatalogUpdate, StateType};
pub use catalog_cache::CATALOG_CHANNEL;
pub use customer_policy::{CustomerField, CustomerPolicy};
pub use customers::{Company, CompanyInput, CompanyUpdate, CustomerUser, CustomerUserInput, CustomerUserUpdate};
pub use dynamic_fields::{DynamicField, DynamicFieldInput, DynamicFieldUpdate, FieldConfig, FieldType, ObjectType};
pub use error::{DeskError, FieldError};
pub use history::{HistoryEntry, HistoryEvent};
pub use input::single_line;
pub use job_run::{ClaimRequest, JobRan};
pub use jobs::{backoff, Job, JobCount, JobKind, JobQuery, JobStatus, JobTask, NewJob, JOBS_CHANNEL};
pub use links::{LinkKind, TicketLink};
pub use plugin_kv::KvError;
pub use plugin_outcome::{FailureKind, InvocationOutcome};
pub use plugins::{HttpAuditRecord, InvocationRecord, NewPluginVersion, PluginConfigValue, PluginSummary, PluginVersion};
pub use search::{SortKey, TicketPage, TicketQuery};
pub use secrets::SecretBox;
pub use seed::Bootstrap;
pub use system::SystemDesk;
pub use tickets::{CreatedTicket, NewTicket, Ref, Ticket, TicketUpdate, TicketView};
pub use time::{from_micros, now_micros, to_micros};
pub use tokens::{NewToken, TokenInfo, TokenRole};
pub use trigger::Trigger;

/// Settings the core needs from the configuration.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    /// Two-digit system id placed in every ticket number (OTOBO's SystemID).
    pub system_id: u32,
    /// Queue that tickets land in when the caller names none.
    pub default_queue: String,
    /// Encrypts secrets at rest; without it secrets cannot be stored.
    pub secrets: Option<SecretBox>,
    /// What customers may set when they create a ticket.
    pub customer: CustomerPolicy,
    /// The largest article body (text and HTML each) any writer may store, in
    /// bytes: API, CLI and plugin notes alike (`max_article_bytes`).
    pub max_article_bytes: usize,
}

/// The default of [`DeskSettings::max_article_bytes`]: 4 MiB (a long mail
/// thread with its HTML; attachments are stored apart).
pub const DEFAULT_MAX_ARTICLE_BYTES: usize = 4 * 1024 * 1024;

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            system_id: 10,
            default_queue: "Raw".to_string(),
            secrets: None,
            customer: CustomerPolicy::default(),
            max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
        }
    }
}

/// The core service handle: cheap to clone, shared by every adapter.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: DeskSettings,
    /// Wakes this node's job worker when a job is enqueued here.
    jobs_wake: Arc<tokio::sync::Notify>,
    /// What ticket writes resolve names in.
    catalog: catalog_cache::CatalogCache,
}

impl Desk {
    /// Wraps a migrated database.
    pub fn new(db: Db, settings: DeskSettings) -> Desk {
        Desk {
            inner: Arc::new(Inner {
                db,
                settings,
                jobs_wake: Arc::new(tokio::sync::Notify::new()),
                catalog: catalog_cache::CatalogCache::default(),
            }),
        }
    }

    /// The database handle (core only: adapters reach data through checked methods).
    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The catalogue snapshot holder.
    fn catalog_cache(&self) -> &catalog_cache::CatalogCache {
        &self.inner.catalog
    }

    /// Checks that the database answers (readiness probes); reads no data.
    pub async fn ping(&self) -> Result<(), crate::db::DbError> {
        self.inner.db.ping().await
    }

    /// Closes the database pool (orderly shutdown).
    pub async fn close(&self) {
        self.inner.db.close().await;
    }

    /// The core settings.
    pub fn settings(&self) -> &DeskSettings {
        &self.inner.settings
    }

    /// The box that seals secrets, if a key is configured (core only).
    pub(crate) fn secrets(&self) -> Option<&SecretBox> {
        self.inner.settings.secrets.as_ref()
    }
}
