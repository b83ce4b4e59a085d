//! [`SystemDesk`]: the handle for what only the system itself does — the
//! plugin host reading components and decrypted configuration, recording
//! invocations and the circuit breaker, plugin key-value stores, the job
//! queue. None of it takes an [`Actor`](crate::desk::Actor), so none of it is
//! on [`Desk`], whose every public method checks one.

use sqlx::{Any, Row};

use crate::db::Db;
use crate::desk::input::storable;
use crate::desk::plugins::not_found;
use crate::desk::time::now_micros;
use crate::desk::{Desk, DeskError, DeskSettings, FailureKind, HttpAuditRecord, InvocationRecord, PluginConfigValue};

/// The system's own handle on the core (cheap to clone). Whoever starts the
/// node makes it and hands it only to the parts that act as the system: the
/// plugin host, the job worker, start-up. Adapters get [`SystemDesk::desk`].
#[derive(Clone)]
pub struct SystemDesk {
    desk: Desk,
}

impl SystemDesk {
    /// Wraps a migrated database.
    pub fn new(db: Db, settings: DeskSettings) -> SystemDesk {
        SystemDesk { desk: Desk::new(db, settings) }
    }

    /// The actor-checked handle every adapter uses.
    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// The database itself: for start-up, shutdown and tests that inspect or
    /// damage stored rows; never handed to an adapter.
    pub fn db(&self) -> &Db {
        self.desk.db()
    }

    /// On PostgreSQL, drops this node's catalogue snapshot whenever any node
    /// announces a change to queues, states, priorities, types, agents or
    /// dynamic fields; runs until the task is aborted (returns at once on
    /// SQLite, where the snapshot's age is the only cross-process bound).
    /// While the listener is down, and again each time it is back, the
    /// snapshot is dropped, so a notification missed meanwhile costs one reload.
    pub async fn follow_catalog_changes(&self) {
        loop {
            match self.db().listen(crate::desk::CATALOG_CHANNEL).await {
                Ok(None) => return,
                Ok(Some(mut listener)) => {
                    self.desk.catalog_dropped();
                    loop {
                        match listener.recv().await {
                            Ok(_) => self.desk.catalog_dropped(),
                            Err(err) => {
                                tracing::warn!(error = %err, "catalogue notifications interrupted; relying on the snapshot's 5 s age until they are back");
                                break;
                            }
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not listen for catalogue notifications; relying on the snapshot's 5 s age meanwhile")
                }
            }
            self.desk.catalog_dropped();
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    }

    /// The component bytes of one version (for the plugin host).
    pub async fn plugin_component(&self, name: &str, version: &str) -> Result<Vec<u8>, DeskError> {
        sqlx::query_scalar::<Any, Vec<u8>>("SELECT component FROM plugin_versions WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(version)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or_else(|| not_found(&format!("{name} {version}")))
    }

    /// All configuration values of a plugin, secrets decrypted (the plugin host's own read for a call).
    pub async fn plugin_config_values(&self, name: &str) -> Result<Vec<PluginConfigValue>, DeskError> {
        self.desk.config_values_opened(name).await
    }

    /// Counts a failure; suspends the plugin once `threshold` failures in a
    /// row are reached. Returns true when this call suspended it.
    pub async fn plugin_record_failure(&self, name: &str, reason: &str, threshold: i64) -> Result<bool, DeskError> {
        let mut tx = self.db().begin_write().await?;
        let failures: Option<i64> = sqlx::query_scalar::<Any, i64>(
            "UPDATE plugins SET consecutive_failures = consecutive_failures + 1 WHERE name = $1 RETURNING consecutive_failures",
        )
        .bind(name)
        .fetch_optional(&mut *tx.tx)
        .await?;
        let suspend = failures.is_some_and(|f| f >= threshold);
        if suspend {
            let why = format!("suspended after {threshold} consecutive failures; last: {}", storable(reason));
            sqlx::query(
                "UPDATE plugins SET enabled = $1, suspended_reason = $2, changed_at = $3 WHERE name = $4 AND suspended_reason IS NULL",
            )
            .bind(false)
            .bind(why)
            .bind(now_micros())
            .bind(name)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        Ok(suspend)
    }

    /// Resets the failure count after a success.
    pub async fn plugin_record_success(&self, name: &str) -> Result<(), DeskError> {
        let mut tx = self.db().begin_write().await?;
        sqlx::query("UPDATE plugins SET consecutive_failures = 0 WHERE name = $1 AND consecutive_failures > 0")
            .bind(name)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores invocation records (batched by the plugin host) and keeps the
    /// newest `keep` per plugin.
    pub async fn plugin_invocations_store(&self, records: &[InvocationRecord], keep: i64) -> Result<(), DeskError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.db().begin_write().await?;
        for r in records {
            sqlx::query(
                "INSERT INTO plugin_invocations (plugin, version, world, function, started_at, duration_us, fuel_used, peak_memory, outcome, error_kind, error, logs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&r.plugin)
            .bind(&r.version)
            .bind(&r.world)
            .bind(&r.function)
            .bind(r.started_at.timestamp_micros())
            .bind(r.duration_us)
            .bind(r.fuel_used)
            .bind(r.peak_memory)
            .bind(r.outcome.as_str())
            .bind(r.error_kind.map(FailureKind::as_str))
            .bind(r.error.as_deref().map(|e| storable(e).into_owned()))
            .bind(storable(&r.logs).into_owned())
            .execute(&mut *tx.tx)
            .await?;
        }
        let mut plugins: Vec<&str> = records.iter().map(|r| r.plugin.as_str()).collect();
        plugins.sort_unstable();
        plugins.dedup();
        for plugin in plugins {
            sqlx::query(
                "DELETE FROM plugin_invocations WHERE plugin = $1 AND id <= (SELECT id FROM plugin_invocations WHERE plugin = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .bind(plugin)
            .bind(keep)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores outbound HTTP audit records.
    pub async fn plugin_http_audit_store(&self, records: &[HttpAuditRecord]) -> Result<(), DeskError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut tx = self.db().begin_write().await?;
        for r in records {
            sqlx::query(
                "INSERT INTO plugin_http_audit (plugin, version, method, scheme, host, port, status, bytes, duration_us, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&r.plugin)
            .bind(&r.version)
            .bind(&r.method)
            .bind(&r.scheme)
            .bind(&r.host)
            .bind(r.port)
            .bind(r.status)
            .bind(r.bytes)
            .bind(r.duration_us)
            .bind(&r.outcome)
            .bind(r.created_at.timestamp_micros())
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lists trusted keys as (name, public key hex).
    pub async fn trusted_keys(&self) -> Result<Vec<(String, String)>, DeskError> {
        let rows = sqlx::query("SELECT name, public_key FROM trusted_keys ORDER BY name").fetch_all(self.db().pool()).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>().map_err(DeskError::from)
    }
}
