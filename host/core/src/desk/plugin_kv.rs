//! Each plugin's key-value store, kept in the database with a size quota.

use sqlx::{Any, Row};

use crate::db::Backend;
use crate::desk::{DeskError, SystemDesk};

/// Why a key-value operation was refused (shown to the plugin).
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The write would take the plugin over its quota.
    #[error("the store would hold {wanted} bytes, over this plugin's quota of {quota}")]
    TooLarge {
        /// Bytes after the write.
        wanted: i64,
        /// The quota.
        quota: i64,
    },
    /// A key is empty or too long.
    #[error("keys must be 1-512 bytes")]
    BadKey,
    /// Storage failed.
    #[error(transparent)]
    Desk(#[from] DeskError),
}

impl From<crate::db::DbError> for KvError {
    fn from(e: crate::db::DbError) -> Self {
        KvError::Desk(e.into())
    }
}

impl From<sqlx::Error> for KvError {
    fn from(e: sqlx::Error) -> Self {
        KvError::Desk(e.into())
    }
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > 512 || key.contains('\0') {
        Err(KvError::BadKey)
    } else {
        Ok(())
    }
}

impl SystemDesk {
    /// Reads a value.
    pub async fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_key(key)?;
        Ok(sqlx::query_scalar::<Any, Vec<u8>>("SELECT value FROM plugin_kv WHERE name = $1 AND key = $2")
            .bind(plugin)
            .bind(key)
            .fetch_optional(self.db().pool())
            .await?)
    }

    /// Sets `key` to `new` (none: delete) if its value is `expected` (none:
    /// absent), or unconditionally when `expected` is `Err(())`. Returns
    /// whether the write happened.
    pub async fn kv_write(
        &self,
        plugin: &str,
        key: &str,
        expected: Result<Option<&[u8]>, ()>,
        new: Option<&[u8]>,
        quota: i64,
    ) -> Result<bool, KvError> {
        check_key(key)?;
        let mut tx = self.db().begin_write().await?;
        let lock = if self.db().backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let current: Option<Vec<u8>> =
            sqlx::query_scalar::<Any, Vec<u8>>(&format!("SELECT value FROM plugin_kv WHERE name = $1 AND key = $2{lock}"))
                .bind(plugin)
                .bind(key)
                .fetch_optional(&mut *tx.tx)
                .await?;
        if let Ok(expected) = expected {
            if current.as_deref() != expected {
                return Ok(false);
            }
        }
        match new {
            None => {
                if current.is_none() {
                    return Ok(expected.is_ok());
                }
                sqlx::query("DELETE FROM plugin_kv WHERE name = $1 AND key = $2").bind(plugin).bind(key).execute(&mut *tx.tx).await?;
            }
            Some(value) => {
                let used: i64 =
                    sqlx::query_scalar::<Any, i64>("SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM plugin_kv WHERE name = $1")
                        .bind(plugin)
                        .fetch_one(&mut *tx.tx)
                        .await?;
                let old = current.as_ref().map(|c| (c.len() + key.len()) as i64).unwrap_or(0);
                let wanted = used - old + (key.len() + value.len()) as i64;
                if wanted > quota {
                    return Err(KvError::TooLarge { wanted, quota });
                }
                let inserted = sqlx::query(
                    "INSERT INTO plugin_kv (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                )
                .bind(plugin)
                .bind(key)
                .bind(value.to_vec())
                .execute(&mut *tx.tx)
                .await;
                if let Err(err) = inserted {
                    if crate::db::is_foreign_key_violation(&err) {
                        return Err(KvError::Desk(DeskError::NotFound { what: "plugin", id: plugin.to_string() }));
                    }
                    return Err(err.into());
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Keys starting with `prefix`, sorted.
    pub async fn kv_keys(&self, plugin: &str, prefix: &str) -> Result<Vec<String>, KvError> {
        let rows = sqlx::query("SELECT key FROM plugin_kv WHERE name = $1 ORDER BY key").bind(plugin).fetch_all(self.db().pool()).await?;
        let mut keys = Vec::new();
        for row in rows {
            let key: String = row.try_get(0)?;
            if key.starts_with(prefix) {
                keys.push(key);
            }
        }
        Ok(keys)
    }
}
