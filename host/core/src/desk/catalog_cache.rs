//! An in-memory snapshot of what ticket writes look names up in — queues,
//! states, priorities, types, agents and dynamic field definitions — so a
//! create or change resolves `queue: "Raw"` or `owner: "jdoe"` without a
//! statement (and, on SQLite, without holding the writer while it reads).
//!
//! Freshness, in three layers:
//! - every change to those tables made through this node drops the snapshot
//!   after its commit ([`Desk::commit_catalog_change`]);
//! - on PostgreSQL the changing transaction also sends
//!   `NOTIFY switchboard_catalog`, and every node's listener
//!   ([`crate::desk::SystemDesk::follow_catalog_changes`]) drops its own, so
//!   a change on one node reaches the others within a round trip;
//! - a snapshot older than [`MAX_AGE`] is reloaded whatever happened: the
//!   safety net for a lost notification, or a change made outside the server
//!   (the CLI writing the same SQLite file).
//!
//! A load that raced a change is never installed: each drop bumps a
//! generation, and a load installs its result only if the generation it
//! started under is still current. What a stale entry could let through is
//! bounded by the foreign keys: a ticket cannot point at a deleted queue,
//! state or agent ([`Desk::catalog_missed`] turns that into a retryable 409).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Row};

use crate::db::{get_bool, Backend, Db, DbError, WriteTx};
use crate::desk::catalog::{CatalogKind, StateType};
use crate::desk::dynamic_fields::{load_fields, DynamicField, ObjectType};
use crate::desk::error::Problems;
use crate::desk::stored;
use crate::desk::{Desk, DeskError, Ref};

/// The PostgreSQL channel a catalogue change is announced on.
pub const CATALOG_CHANNEL: &str = "switchboard_catalog";

/// How long a snapshot is trusted without any notification: 5 s.
const MAX_AGE: Duration = Duration::from_secs(5);

/// One queue, state, priority, type or agent (named by login) as a write needs it.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) id: i64,
    pub(crate) name: String,
    /// States only.
    pub(crate) state_type: Option<StateType>,
    valid: bool,
}

/// The entries of one table, by name and by id.
#[derive(Debug, Default)]
struct Entries {
    items: Vec<Resolved>,
    by_name: HashMap<String, usize>,
    by_id: HashMap<i64, usize>,
}

impl Entries {
    fn push(&mut self, entry: Resolved) {
        self.by_name.insert(entry.name.clone(), self.items.len());
        self.by_id.insert(entry.id, self.items.len());
        self.items.push(entry);
    }

    fn find(&self, wanted: &Ref) -> Option<&Resolved> {
        let index = match wanted {
            Ref::Id(id) => self.by_id.get(id),
            Ref::Name(name) => self.by_name.get(name),
        };
        index.map(|&i| &self.items[i])
    }

    /// A valid entry by id or name; records a problem under `field`, naming
    /// the entry a `noun`, when it is unknown or invalid.
    fn resolve(&self, noun: &str, wanted: &Ref, field: &str, problems: &mut Problems) -> Option<Resolved> {
        match self.find(wanted) {
            None => {
                problems.add(field, format!("unknown {noun} '{wanted}'"));
                None
            }
            Some(entry) if !entry.valid => {
                problems.add(field, format!("{noun} '{wanted}' is not valid"));
                None
            }
            Some(entry) => Some(entry.clone()),
        }
    }
}

/// One consistent snapshot of the catalogue.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// Indexed by [`kind_index`].
    entries: [Entries; 4],
    /// By login.
    agents: Entries,
    fields: Vec<DynamicField>,
}

fn kind_index(kind: CatalogKind) -> usize {
    match kind {
        CatalogKind::Queue => 0,
        CatalogKind::State => 1,
        CatalogKind::Priority => 2,
        CatalogKind::Type => 3,
    }
}

impl Catalog {
    /// Reads every table the snapshot holds (six statements on one connection).
    async fn load(conn: &mut AnyConnection) -> Result<Catalog, DeskError> {
        let mut catalog = Catalog::default();
        for kind in [CatalogKind::Queue, CatalogKind::State, CatalogKind::Priority, CatalogKind::Type] {
            let extra = if kind == CatalogKind::State { "state_type" } else { "''" };
            let sql = format!("SELECT id, name, valid, {extra} AS state_type FROM {} ORDER BY id", kind.table());
            for row in sqlx::query(&sql).fetch_all(&mut *conn).await? {
                let state_type = if kind == CatalogKind::State {
                    let text: String = row.try_get("state_type")?;
                    Some(stored::parse("state_type", &text, StateType::parse, "a state type")?)
                } else {
                    None
                };
                catalog.entries[kind_index(kind)].push(Resolved {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    state_type,
                    valid: get_bool(&row, "valid")?,
                });
            }
        }
        for row in sqlx::query("SELECT id, login, valid FROM agents").fetch_all(&mut *conn).await? {
            let (id, name, valid) = (row.try_get("id")?, row.try_get("login")?, get_bool(&row, "valid")?);
            catalog.agents.push(Resolved { id, name, state_type: None, valid });
        }
        catalog.fields = load_fields(conn).await?;
        Ok(catalog)
    }

    /// A valid entry of `kind` by id or name; records a problem under `field`
    /// when it is unknown or invalid.
    pub(crate) fn resolve(&self, kind: CatalogKind, wanted: &Ref, field: &str, problems: &mut Problems) -> Option<Resolved> {
        self.entries[kind_index(kind)].resolve(kind.noun(), wanted, field, problems)
    }

    /// The id of the entry of `kind` named `name`, valid or not (what a search filter matches).
    pub(crate) fn id_of(&self, kind: CatalogKind, name: &str) -> Option<i64> {
        self.entries[kind_index(kind)].find(&Ref::Name(name.to_string())).map(|e| e.id)
    }

    /// The id of a valid agent by login; records a problem under `field` otherwise.
    pub(crate) fn agent(&self, login: &str, field: &str, problems: &mut Problems) -> Option<i64> {
        self.agents.resolve("agent", &Ref::Name(login.to_string()), field, problems).map(|agent| agent.id)
    }

    /// Every dynamic field definition, ordered by id.
    pub(crate) fn fields(&self) -> &[DynamicField] {
        &self.fields
    }

    /// The definition with row id `id`.
    pub(crate) fn field_by_id(&self, id: i64) -> Option<&DynamicField> {
        self.fields.iter().find(|d| d.id == id)
    }

    /// The definition of `object_type` named `name`.
    pub(crate) fn field(&self, object_type: ObjectType, name: &str) -> Option<&DynamicField> {
        self.fields.iter().find(|d| d.name == name && d.object_type == object_type)
    }
}

/// The snapshot with what decides whether it may still be used.
struct Installed {
    generation: u64,
    loaded_at: Instant,
    catalog: Arc<Catalog>,
}

/// The node's snapshot holder (one per [`Desk`]).
#[derive(Default)]
pub(crate) struct CatalogCache {
    /// Bumped by every drop; a load started under an older one is discarded.
    generation: AtomicU64,
    installed: RwLock<Option<Installed>>,
    /// One load at a time: requests that find no snapshot wait for it instead
    /// of all reading the tables at once.
    loading: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    fn current(&self) -> Option<Arc<Catalog>> {
        let installed = self.installed.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        installed
            .as_ref()
            .filter(|i| i.generation == self.generation.load(Ordering::Acquire) && i.loaded_at.elapsed() < MAX_AGE)
            .map(|i| i.catalog.clone())
    }

    fn install(&self, generation: u64, catalog: Arc<Catalog>) {
        let mut installed = self.installed.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            *installed = Some(Installed { generation, loaded_at: Instant::now(), catalog });
        }
    }

    /// Forgets the snapshot; the next lookup loads a new one.
    pub(crate) fn drop_snapshot(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.installed.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    async fn get(&self, db: &Db) -> Result<Arc<Catalog>, DeskError> {
        if let Some(catalog) = self.current() {
            return Ok(catalog);
        }
        let _turn = self.loading.lock().await;
        if let Some(catalog) = self.current() {
            return Ok(catalog);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let mut conn = db.conn().await?;
        let catalog = Arc::new(Catalog::load(&mut conn).await?);
        self.install(generation, catalog.clone());
        Ok(catalog)
    }
}

/// Tells every other node, at commit, that the catalogue changed (PostgreSQL only).
async fn announce(conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, '')").bind(CATALOG_CHANNEL).execute(conn).await?;
    }
    Ok(())
}

impl Desk {
    /// The current catalogue snapshot, loaded when there is none or it is stale.
    pub(crate) async fn catalog(&self) -> Result<Arc<Catalog>, DeskError> {
        self.catalog_cache().get(self.db()).await
    }

    /// Commits a transaction that changed queues, states, priorities, types,
    /// agents or dynamic field definitions, and drops every node's snapshot.
    pub(crate) async fn commit_catalog_change(&self, mut tx: WriteTx) -> Result<(), DbError> {
        announce(&mut tx.tx, self.db().backend()).await?;
        let committed = tx.commit().await;
        self.catalog_cache().drop_snapshot();
        committed
    }

    /// Forgets this node's snapshot (another node announced a change).
    pub(crate) fn catalog_dropped(&self) {
        self.catalog_cache().drop_snapshot();
    }

    /// Turns a write refused by a foreign key — a queue, state, priority, type
    /// or agent deleted since the snapshot was taken — into a 409 to retry,
    /// and drops the snapshot so the retry sees the deletion.
    pub(crate) fn catalog_missed(&self, err: sqlx::Error) -> DeskError {
        if crate::db::is_foreign_key_violation(&err) {
            self.catalog_cache().drop_snapshot();
            DeskError::Conflict("a queue, state, priority, type or agent this write names was just removed; retry".into())
        } else {
            err.into()
        }
    }
}
