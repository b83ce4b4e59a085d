//! Database access shared by every service: one pool over SQLite or PostgreSQL.
//!
//! Queries are written once in portable SQL with `$1` placeholders and run
//! through sqlx's `Any` driver. The few statements that differ (full-text
//! search, `FOR UPDATE SKIP LOCKED`) branch on [`Backend`].

mod group_commit;
mod sql;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction};

use group_commit::{GroupCommit, SharedTx};

pub use sql::{Arg, Sql};

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite in WAL mode (the default for a laptop or a small team).
    Sqlite,
    /// PostgreSQL (for scale and for several nodes).
    Postgres,
}

/// How durably SQLite commits (PRAGMA synchronous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    /// fsync the WAL on every commit: an acknowledged write survives a crash of
    /// the process and of the machine.
    Full,
    /// fsync only at checkpoints: survives a crash of the process (kill -9),
    /// may lose the last commits on power loss.
    Normal,
}

impl FromStr for SqliteSync {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!("unknown SQLite synchronous mode '{other}' (use full or normal)")),
        }
    }
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached or a statement failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL is not one we support.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The SQLite batch a write shared its commit with failed (the write
    /// was not stored).
    #[error("database error: {0}")]
    Batch(String),
}

/// How long [`Db::ping`] may take before the database counts as unreachable.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A cloneable handle on the database pool.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// On SQLite writes take turns in one shared batch transaction and share
    /// its commit (across processes they are serialised by `BEGIN IMMEDIATE`).
    writer: Option<GroupCommit>,
    /// The SQLite file, for [`Db::ping`]: the pool's open connections go on
    /// working on a file that was moved or deleted under them.
    sqlite_file: Option<String>,
    /// The PostgreSQL URL, for [`Db::listen`] (a listener needs its own connection).
    postgres_url: Option<Arc<str>>,
}

/// A write transaction: its own on PostgreSQL; on SQLite a savepoint in the
/// batch it shares a commit with (see `group_commit`). Dropped without
/// `commit`, its writes are rolled back.
pub struct WriteTx {
    /// The connection to run the write's statements on (`&mut *tx.tx`).
    pub tx: TxConn,
}

/// The connection of a [`WriteTx`].
pub enum TxConn {
    /// A transaction of its own (PostgreSQL).
    Own(Transaction<'static, Any>),
    /// A savepoint in SQLite's shared batch.
    Shared(SharedTx),
}

impl Deref for TxConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            TxConn::Own(tx) => tx,
            TxConn::Shared(tx) => tx,
        }
    }
}

impl DerefMut for TxConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            TxConn::Own(tx) => tx,
            TxConn::Shared(tx) => tx,
        }
    }
}

impl WriteTx {
    /// Commits; returns once the write is durable (on SQLite, once the batch
    /// holding it is).
    pub async fn commit(self) -> Result<(), DbError> {
        match self.tx {
            TxConn::Own(tx) => tx.commit().await?,
            TxConn::Shared(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Rolls the write back now (a dropped transaction would roll back only
    /// when its connection is next used).
    pub async fn rollback(self) -> Result<(), DbError> {
        match self.tx {
            TxConn::Own(tx) => tx.rollback().await?,
            TxConn::Shared(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

impl Db {
    /// Connects to `url` (`sqlite://...` or `postgres://...`); creates the
    /// SQLite file (and its directory) when missing.
    pub async fn connect(url: &str, sync: SqliteSync) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(DbError::UnsupportedUrl(url.to_string()));
        };
        let pool = match backend {
            Backend::Sqlite => {
                if let Some(path) = sqlite_path(url) {
                    if let Some(parent) = Path::new(&path).parent() {
                        if !parent.as_os_str().is_empty() {
                            std::fs::create_dir_all(parent).map_err(|e| {
                                DbError::Sqlx(sqlx::Error::Configuration(format!("cannot create {}: {e}", parent.display()).into()))
                            })?;
                        }
                    }
                }
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                let synchronous = match sync {
                    SqliteSync::Full => "FULL",
                    SqliteSync::Normal => "NORMAL",
                };
                AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            for pragma in [
                                "PRAGMA journal_mode = WAL".to_string(),
                                format!("PRAGMA synchronous = {synchronous}"),
                                "PRAGMA foreign_keys = ON".to_string(),
                                "PRAGMA busy_timeout = 10000".to_string(),
                            ] {
                                sqlx::query(&pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(40).acquire_timeout(Duration::from_secs(30)).connect(url).await?,
        };
        let writer = (backend == Backend::Sqlite).then(GroupCommit::default);
        let sqlite_file = if backend == Backend::Sqlite { sqlite_path(url) } else { None };
        let postgres_url = (backend == Backend::Postgres).then(|| Arc::from(url));
        Ok(Db { pool, backend, writer, sqlite_file, postgres_url })
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres").run(&self.pool).await?;
                // Fresh statistics, so a freshly loaded database gets good plans
                // before autovacuum comes round.
                sqlx::query("ANALYZE tickets, ticket_search, dynamic_field_values, articles").execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A pooled connection, for a series of reads.
    pub async fn conn(&self) -> Result<PoolConnection<Any>, DbError> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a write transaction (on SQLite, a turn in the shared batch).
    pub async fn begin_write(&self) -> Result<WriteTx, DbError> {
        // On SQLite the batch takes the write lock at BEGIN (IMMEDIATE): a
        // deferred transaction that read first could not upgrade while another
        // process (the CLI next to a running server) writes, and would fail
        // with "database is locked" instead of waiting out busy_timeout.
        let tx = match &self.writer {
            Some(writer) => TxConn::Shared(writer.begin(&self.pool).await?),
            None => TxConn::Own(self.pool.begin().await?),
        };
        Ok(WriteTx { tx })
    }

    /// Answers whether the database is reachable, within [`PING_TIMEOUT`]. On
    /// SQLite that includes opening the configured file afresh (read-only) and
    /// reading its schema: a file moved away, deleted or unreadable is noticed
    /// although the pool's connections still hold the old one.
    pub async fn ping(&self) -> Result<(), DbError> {
        let check = async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            if let Some(file) = &self.sqlite_file {
                use sqlx::Connection;
                let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{file}?mode=ro")).await?;
                sqlx::query("SELECT COUNT(*) FROM sqlite_master").fetch_one(&mut conn).await?;
                conn.close().await?;
            }
            Ok(())
        };
        tokio::time::timeout(PING_TIMEOUT, check).await.map_err(|_| DbError::Sqlx(sqlx::Error::PoolTimedOut))?
    }

    /// A listener on PostgreSQL `channel` (its own connection, which sqlx
    /// re-opens when it drops; notifications sent meanwhile are lost, so
    /// listeners keep a poll as their safety net); `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<sqlx::postgres::PgListener>, DbError> {
        let Some(url) = &self.postgres_url else { return Ok(None) };
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(channel).await?;
        Ok(Some(listener))
    }

    /// Closes the pool, waiting for checked-out connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file path inside a `sqlite://` URL, if any (none for PostgreSQL or `:memory:`).
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Reads a boolean column stored as BOOLEAN (PostgreSQL) or 0/1 (SQLite).
pub fn get_bool(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// True when `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation() || db.code().is_some_and(|c| c == "23505" || c == "2067" || c == "1555"),
        _ => false,
    }
}

/// True when `err` is a foreign-key violation (a row is still referenced).
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_foreign_key_violation() || db.code().is_some_and(|c| c == "23503" || c == "787"),
        _ => false,
    }
}
