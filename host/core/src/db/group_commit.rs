//! Group commit on SQLite: concurrent write transactions share one commit.
//!
//! SQLite has one writer and a durable commit costs an fsync, so writes one
//! after the other are bounded by the disk, not by their work. Here every
//! [`SharedTx`] runs inside its own `SAVEPOINT` of one open batch transaction,
//! taking turns on the batch (a fair, FIFO lock). When a write is done it
//! releases its savepoint and queues for the lock once more; the writers that
//! queued meanwhile join the batch first, and whoever holds the lock when the
//! batch is still open commits it for all of them — one fsync for the batch.
//!
//! A write is acknowledged (its `commit` returns) only once the batch that
//! holds it is durable; a write that fails or is dropped rolls back only its
//! own savepoint; a batch whose commit fails fails every write in it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use super::DbError;

/// How a batch ended: `None` while open, then its commit's result.
type Outcome = Option<Result<(), Arc<str>>>;

/// The open batch and its bookkeeping, behind the writer lock.
#[derive(Default)]
pub(crate) struct Batch {
    /// The shared transaction (`BEGIN IMMEDIATE`), while a batch is open.
    tx: Option<Transaction<'static, Any>>,
    /// Counts batches, so a writer can tell whether its batch is still open.
    generation: u64,
    /// Where the open batch's outcome is announced.
    done: Option<watch::Sender<Outcome>>,
    /// Writes released into the open batch and waiting for its commit.
    pending: usize,
    /// A write was dropped inside its savepoint: roll that back first.
    abandoned: bool,
}

/// The SQLite writer: one batch at a time, shared by everyone who writes.
#[derive(Clone, Default)]
pub(crate) struct GroupCommit {
    batch: Arc<Mutex<Batch>>,
}

const SAVEPOINT: &str = "SAVEPOINT sb_write";
const RELEASE: &str = "RELEASE sb_write";
const ROLLBACK_TO: &str = "ROLLBACK TO sb_write";

impl GroupCommit {
    /// Starts a write in its own savepoint of the open batch (opening one
    /// when none is), once the writers before it are done.
    pub(crate) async fn begin(&self, pool: &AnyPool) -> Result<SharedTx, DbError> {
        let mut batch = self.batch.clone().lock_owned().await;
        batch.tidy_abandoned().await;
        if batch.tx.is_none() {
            batch.tx = Some(pool.begin_with("BEGIN IMMEDIATE").await?);
            batch.generation += 1;
            batch.done = Some(watch::channel(None).0);
        }
        if let Err(err) = batch.run(SAVEPOINT).await {
            batch.fail(&err.to_string()).await;
            return Err(err.into());
        }
        Ok(SharedTx { batch: Some(batch), writer: self.clone() })
    }

    /// Commits or rolls back whatever batch is open, when nobody else will:
    /// after a write was dropped or its caller stopped waiting.
    fn tidy_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let writer = self.clone();
        runtime.spawn(async move {
            let mut batch = writer.batch.lock_owned().await;
            batch.tidy_abandoned().await;
            if batch.tx.is_some() {
                if batch.pending > 0 {
                    batch.commit().await;
                } else {
                    batch.fail("nothing to commit").await;
                }
            }
        });
    }
}

impl Batch {
    fn conn(&mut self) -> Result<&mut AnyConnection, sqlx::Error> {
        match self.tx.as_mut() {
            Some(tx) => Ok(&mut **tx),
            None => Err(sqlx::Error::Protocol("the shared write batch is closed".into())),
        }
    }

    async fn run(&mut self, statement: &'static str) -> Result<(), sqlx::Error> {
        let conn = self.conn()?;
        sqlx::query(statement).execute(&mut *conn).await.map(|_| ())
    }

    /// Undoes a write that was dropped inside its savepoint.
    async fn tidy_abandoned(&mut self) {
        if !std::mem::take(&mut self.abandoned) {
            return;
        }
        if let Err(err) = self.undo_savepoint().await {
            self.fail(&format!("rolling back an abandoned write: {err}")).await;
        }
    }

    async fn undo_savepoint(&mut self) -> Result<(), sqlx::Error> {
        self.run(ROLLBACK_TO).await?;
        self.run(RELEASE).await
    }

    /// Commits the open batch and tells every write in it.
    async fn commit(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        let result = tx.commit().await.map_err(|e| Arc::from(e.to_string()));
        self.pending = 0;
        if let Some(done) = self.done.take() {
            done.send_replace(Some(result));
        }
    }

    /// Rolls the whole batch back, failing every write released into it.
    async fn fail(&mut self, why: &str) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.rollback().await;
        }
        let failed = self.pending > 0;
        self.pending = 0;
        if let Some(done) = self.done.take() {
            let message = if failed { format!("the shared commit was rolled back: {why}") } else { why.to_string() };
            done.send_replace(Some(Err(Arc::from(message))));
        }
    }
}

/// One write inside the shared batch; derefs to the batch's connection.
pub struct SharedTx {
    batch: Option<OwnedMutexGuard<Batch>>,
    writer: GroupCommit,
}

impl SharedTx {
    /// Releases the write's savepoint and waits until the batch holding it
    /// is durable (committing it when this writer's turn comes first).
    pub(crate) async fn commit(mut self) -> Result<(), DbError> {
        let Some(mut batch) = self.batch.take() else { return Err(closed()) };
        if let Err(err) = batch.run(RELEASE).await {
            if batch.undo_savepoint().await.is_err() {
                batch.fail(&err.to_string()).await;
            }
            return Err(err.into());
        }
        batch.pending += 1;
        let generation = batch.generation;
        let mut done = match &batch.done {
            Some(done) => done.subscribe(),
            None => return Err(closed()),
        };
        drop(batch);
        // Until the batch settles, a dropped caller leaves it for a tidy-up.
        let mut guard = TidyOnDrop(Some(self.writer.clone()));
        let writer = self.writer.clone();
        let settle = async move {
            let mut batch = writer.batch.lock_owned().await;
            batch.tidy_abandoned().await;
            if batch.generation == generation && batch.tx.is_some() {
                batch.commit().await;
            }
        };
        tokio::select! {
            biased;
            _ = done.wait_for(Option::is_some) => {}
            () = settle => {}
        }
        guard.0 = None;
        let outcome = done.borrow().clone();
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(why)) => Err(DbError::Batch(why.to_string())),
            None => Err(closed()),
        }
    }

    /// Rolls the write's savepoint back; the batch goes on for the others.
    pub(crate) async fn rollback(mut self) -> Result<(), DbError> {
        let Some(mut batch) = self.batch.take() else { return Ok(()) };
        if let Err(err) = batch.undo_savepoint().await {
            batch.fail(&err.to_string()).await;
            return Err(err.into());
        }
        if batch.pending == 0 {
            // Nothing else in the batch: end it now, freeing SQLite's write lock.
            batch.fail("nothing to commit").await;
        }
        Ok(())
    }
}

fn closed() -> DbError {
    DbError::Batch("the shared write batch closed before this write was committed".into())
}

impl Drop for SharedTx {
    fn drop(&mut self) {
        if let Some(mut batch) = self.batch.take() {
            batch.abandoned = true;
            drop(batch);
            self.writer.tidy_later();
        }
    }
}

/// Tidies the batch up if a committing caller stops waiting for it.
struct TidyOnDrop(Option<GroupCommit>);

impl Drop for TidyOnDrop {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            writer.tidy_later();
        }
    }
}

impl Deref for SharedTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self.batch.as_ref().and_then(|b| b.tx.as_ref()) {
            Some(tx) => tx,
            None => unreachable!("a SharedTx holds its open batch until commit or rollback consume it"),
        }
    }
}

impl DerefMut for SharedTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self.batch.as_mut().and_then(|b| b.tx.as_mut()) {
            Some(tx) => tx,
            None => unreachable!("a SharedTx holds its open batch until commit or rollback consume it"),
        }
    }
}
