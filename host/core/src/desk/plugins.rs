//! The plugin registry: installed plugins and versions, their configuration
//! (secrets encrypted), key-value stores, invocation records and the HTTP
//! audit log. Storage only: running plugins is the `plugin` module's job.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use crate::db::{get_bool, Arg, Sql};
use crate::desk::stored;
use crate::desk::time::now_micros;
use crate::desk::{Actor, Desk, DeskError, FailureKind, InvocationOutcome};

/// An installed plugin and its active version.
#[derive(Debug, Clone)]
pub struct PluginSummary {
    /// Unique name.
    pub name: String,
    /// The version that runs.
    pub active_version: String,
    /// Disabled plugins are never invoked.
    pub enabled: bool,
    /// Failures in a row (reset by a success).
    pub consecutive_failures: i64,
    /// Why the circuit breaker suspended it, if it did.
    pub suspended_reason: Option<String>,
    /// World of the active version.
    pub world: String,
    /// Manifest (TOML) of the active version.
    pub manifest: String,
    /// sha256 of the active component.
    pub sha256: String,
    /// Installed at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub changed_at: DateTime<Utc>,
}

/// One installed version.
#[derive(Debug, Clone)]
pub struct PluginVersion {
    /// Plugin name.
    pub name: String,
    /// Version.
    pub version: String,
    /// sha256 of the component.
    pub sha256: String,
    /// World.
    pub world: String,
    /// Manifest (TOML).
    pub manifest: String,
    /// Name of the trusted key that signed it.
    pub signed_by: Option<String>,
    /// Installed at.
    pub installed_at: DateTime<Utc>,
}

/// A version to install.
#[derive(Debug, Clone)]
pub struct NewPluginVersion {
    /// Plugin name.
    pub name: String,
    /// Version.
    pub version: String,
    /// sha256 of the component, hex.
    pub sha256: String,
    /// World.
    pub world: String,
    /// Manifest text.
    pub manifest: String,
    /// The component bytes.
    pub component: Vec<u8>,
    /// Trusted key that signed it.
    pub signed_by: Option<String>,
}

/// A stored configuration value.
#[derive(Debug, Clone)]
pub struct PluginConfigValue {
    /// Key.
    pub key: String,
    /// Plain value (decrypted for secrets).
    pub value: String,
    /// Whether it is a secret (never shown or logged).
    pub secret: bool,
}

/// One recorded invocation.
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    /// Record id (0 before it is stored).
    pub id: i64,
    /// Plugin name.
    pub plugin: String,
    /// Version.
    pub version: String,
    /// World.
    pub world: String,
    /// Exported function.
    pub function: String,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// Duration in microseconds.
    pub duration_us: i64,
    /// Fuel consumed, when metered.
    pub fuel_used: Option<i64>,
    /// Peak linear memory in bytes.
    pub peak_memory: i64,
    /// How the call ended.
    pub outcome: InvocationOutcome,
    /// Why it failed, when it did.
    pub error_kind: Option<FailureKind>,
    /// The error message.
    pub error: Option<String>,
    /// The plugin's log lines (capped).
    pub logs: String,
}

/// One outbound HTTP request of a plugin.
#[derive(Debug, Clone)]
pub struct HttpAuditRecord {
    /// Plugin name.
    pub plugin: String,
    /// Version.
    pub version: String,
    /// Method.
    pub method: String,
    /// http or https.
    pub scheme: String,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: i64,
    /// Response status, if any.
    pub status: Option<i64>,
    /// Response bytes read.
    pub bytes: i64,
    /// Duration in microseconds.
    pub duration_us: i64,
    /// `ok`, `denied: …` or `error: …`.
    pub outcome: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const SUMMARY: &str = "SELECT p.name, p.active_version, p.enabled, p.consecutive_failures, p.suspended_reason, p.created_at, p.changed_at, v.world, v.manifest, v.sha256 FROM plugins p JOIN plugin_versions v ON v.name = p.name AND v.version = p.active_version";

fn summary_from_row(row: &AnyRow) -> Result<PluginSummary, sqlx::Error> {
    Ok(PluginSummary {
        name: row.try_get("name")?,
        active_version: row.try_get("active_version")?,
        enabled: get_bool(row, "enabled")?,
        consecutive_failures: row.try_get("consecutive_failures")?,
        suspended_reason: row.try_get("suspended_reason")?,
        world: row.try_get("world")?,
        manifest: row.try_get("manifest")?,
        sha256: row.try_get("sha256")?,
        created_at: stored::time("created_at", row.try_get("created_at")?)?,
        changed_at: stored::time("changed_at", row.try_get("changed_at")?)?,
    })
}

pub(crate) fn not_found(name: &str) -> DeskError {
    DeskError::NotFound { what: "plugin", id: name.to_string() }
}

impl Desk {
    /// Stores a new version and makes it active (admin only). Installing the
    /// same version with the same bytes again is a no-op; different bytes
    /// under an existing version number are refused.
    pub async fn plugin_install(&self, actor: &Actor, new: NewPluginVersion) -> Result<PluginSummary, DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        let existing: Option<String> =
            sqlx::query_scalar::<Any, String>("SELECT sha256 FROM plugin_versions WHERE name = $1 AND version = $2")
                .bind(&new.name)
                .bind(&new.version)
                .fetch_optional(&mut *tx.tx)
                .await?;
        let now = now_micros();
        match existing {
            Some(sha) if sha != new.sha256 => {
                return Err(DeskError::Conflict(format!(
                    "{} {} is already installed with different content; bump the version",
                    new.name, new.version
                )))
            }
            Some(_) => {}
            None => {
                sqlx::query(
                    "INSERT INTO plugins (name, active_version, enabled, consecutive_failures, created_at, changed_at) VALUES ($1, $2, $3, 0, $4, $4) ON CONFLICT (name) DO NOTHING",
                )
                .bind(&new.name)
                .bind(&new.version)
                .bind(true)
                .bind(now)
                .execute(&mut *tx.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO plugin_versions (name, version, sha256, world, manifest, component, signed_by, installed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&new.name)
                .bind(&new.version)
                .bind(&new.sha256)
                .bind(&new.world)
                .bind(&new.manifest)
                .bind(new.component)
                .bind(new.signed_by)
                .bind(now)
                .execute(&mut *tx.tx)
                .await?;
            }
        }
        sqlx::query(
            "UPDATE plugins SET active_version = $1, consecutive_failures = 0, suspended_reason = NULL, changed_at = $2 WHERE name = $3",
        )
        .bind(&new.version)
        .bind(now)
        .bind(&new.name)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        self.plugin_get(actor, &new.name).await
    }

    /// Lists installed plugins (admin: manifests and breaker state are configuration).
    pub async fn plugin_list(&self, actor: &Actor) -> Result<Vec<PluginSummary>, DeskError> {
        actor.require_admin()?;
        let rows = sqlx::query(&format!("{SUMMARY} ORDER BY p.name")).fetch_all(self.db().pool()).await?;
        Ok(rows.iter().map(summary_from_row).collect::<Result<_, _>>()?)
    }

    /// Reads one plugin (admin).
    pub async fn plugin_get(&self, actor: &Actor, name: &str) -> Result<PluginSummary, DeskError> {
        actor.require_admin()?;
        let row = sqlx::query(&format!("{SUMMARY} WHERE p.name = $1"))
            .bind(name)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or_else(|| not_found(name))?;
        Ok(summary_from_row(&row)?)
    }

    /// Lists the installed versions of a plugin, newest first (admin).
    pub async fn plugin_versions(&self, actor: &Actor, name: &str) -> Result<Vec<PluginVersion>, DeskError> {
        actor.require_admin()?;
        let rows = sqlx::query("SELECT name, version, sha256, world, manifest, signed_by, installed_at FROM plugin_versions WHERE name = $1 ORDER BY installed_at DESC")
            .bind(name)
            .fetch_all(self.db().pool())
            .await?;
        if rows.is_empty() {
            return Err(not_found(name));
        }
        rows.iter()
            .map(|r| {
                Ok(PluginVersion {
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    sha256: r.try_get("sha256")?,
                    world: r.try_get("world")?,
                    manifest: r.try_get("manifest")?,
                    signed_by: r.try_get("signed_by")?,
                    installed_at: stored::time("installed_at", r.try_get("installed_at")?)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DeskError::from)
    }

    /// Enables or disables a plugin (admin). Enabling also lifts a suspension.
    pub async fn plugin_set_enabled(&self, actor: &Actor, name: &str, enabled: bool) -> Result<PluginSummary, DeskError> {
        actor.require_admin()?;
        let sql = if enabled {
            "UPDATE plugins SET enabled = $1, consecutive_failures = 0, suspended_reason = NULL, changed_at = $2 WHERE name = $3"
        } else {
            "UPDATE plugins SET enabled = $1, changed_at = $2 WHERE name = $3"
        };
        self.plugin_write(sqlx::query(sql).bind(enabled).bind(now_micros()).bind(name), name).await?;
        self.plugin_get(actor, name).await
    }

    /// Makes an installed version the active one: upgrade or rollback (admin).
    pub async fn plugin_activate(&self, actor: &Actor, name: &str, version: &str) -> Result<PluginSummary, DeskError> {
        actor.require_admin()?;
        let known = self.plugin_versions(actor, name).await?;
        if !known.iter().any(|v| v.version == version) {
            let list: Vec<&str> = known.iter().map(|v| v.version.as_str()).collect();
            return Err(DeskError::invalid("version", format!("{name} has no version {version}; installed: {}", list.join(", "))));
        }
        self.plugin_write(
            sqlx::query("UPDATE plugins SET active_version = $1, consecutive_failures = 0, suspended_reason = NULL, changed_at = $2 WHERE name = $3")
                .bind(version)
                .bind(now_micros())
                .bind(name),
            name,
        )
        .await?;
        self.plugin_get(actor, name).await
    }

    /// Removes a plugin with all its versions, configuration and store (admin).
    pub async fn plugin_remove(&self, actor: &Actor, name: &str) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        for table in ["plugin_kv", "plugin_config", "plugin_versions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE name = $1")).bind(name).execute(&mut *tx.tx).await?;
        }
        let done = sqlx::query("DELETE FROM plugins WHERE name = $1").bind(name).execute(&mut *tx.tx).await?;
        if done.rows_affected() == 0 {
            return Err(not_found(name));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn plugin_write<'q>(&self, query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>, name: &str) -> Result<(), DeskError> {
        let mut tx = self.db().begin_write().await?;
        if query.execute(&mut *tx.tx).await?.rows_affected() == 0 {
            return Err(not_found(name));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets configuration values (key, value, secret) in one transaction
    /// (admin); secrets are stored encrypted.
    pub async fn plugin_config_set(&self, actor: &Actor, name: &str, values: &[(String, String, bool)]) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        for (key, value, secret) in values {
            let stored = if *secret {
                self.secrets().ok_or_else(|| DeskError::Conflict("no secret key is configured".into()))?.seal(value)?
            } else {
                value.clone()
            };
            sqlx::query(
                "INSERT INTO plugin_config (name, key, value, secret) VALUES ($1, $2, $3, $4) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value, secret = excluded.secret",
            )
            .bind(name)
            .bind(key)
            .bind(stored)
            .bind(*secret)
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("plugin {name}")))?;
        }
        sqlx::query("UPDATE plugins SET changed_at = $1 WHERE name = $2").bind(now_micros()).bind(name).execute(&mut *tx.tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A plugin's configuration as an admin may see it: every key, secrets
    /// as `None` (they are never returned to anyone; only the plugin host
    /// reads them). Secrets are still opened, so a secret this server's key
    /// cannot open is the conflict that says so: an admin learns of a changed
    /// `SWITCHBOARD_SECRET_KEY` here rather than from failing plugin calls.
    pub async fn plugin_config(&self, actor: &Actor, name: &str) -> Result<Vec<(String, Option<String>)>, DeskError> {
        actor.require_admin()?;
        self.plugin_get(actor, name).await?;
        let values = self.config_values_opened(name).await?;
        Ok(values.into_iter().map(|v| (v.key, (!v.secret).then_some(v.value))).collect())
    }

    /// Every configuration value of a plugin, secrets decrypted; the one read
    /// behind [`Desk::plugin_config`] and `SystemDesk::plugin_config_values`.
    pub(crate) async fn config_values_opened(&self, name: &str) -> Result<Vec<PluginConfigValue>, DeskError> {
        let rows = sqlx::query("SELECT key, value, secret FROM plugin_config WHERE name = $1 ORDER BY key")
            .bind(name)
            .fetch_all(self.db().pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let secret = get_bool(&row, "secret")?;
            let stored: String = row.try_get("value")?;
            let value = if secret {
                self.secrets().ok_or_else(|| DeskError::Conflict("no secret key is configured".into()))?.open(&stored)?
            } else {
                stored
            };
            out.push(PluginConfigValue { key: row.try_get("key")?, value, secret });
        }
        Ok(out)
    }

    /// The newest invocation records of a plugin (admin: their logs name
    /// tickets and queues of every caller).
    pub async fn plugin_invocations(&self, actor: &Actor, name: &str, limit: i64) -> Result<Vec<InvocationRecord>, DeskError> {
        actor.require_admin()?;
        let rows = sqlx::query(
            "SELECT id, plugin, version, world, function, started_at, duration_us, fuel_used, peak_memory, outcome, error_kind, error, logs FROM plugin_invocations WHERE plugin = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(name)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.db().pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InvocationRecord {
                    id: r.try_get("id")?,
                    plugin: r.try_get("plugin")?,
                    version: r.try_get("version")?,
                    world: r.try_get("world")?,
                    function: r.try_get("function")?,
                    started_at: stored::time("started_at", r.try_get("started_at")?)?,
                    duration_us: r.try_get("duration_us")?,
                    fuel_used: r.try_get("fuel_used")?,
                    peak_memory: r.try_get("peak_memory")?,
                    outcome: stored::parse(
                        "outcome",
                        &r.try_get::<String, _>("outcome")?,
                        InvocationOutcome::parse,
                        "an invocation outcome",
                    )?,
                    error_kind: r
                        .try_get::<Option<String>, _>("error_kind")?
                        .map(|k| stored::parse("error_kind", &k, FailureKind::parse, "a failure kind"))
                        .transpose()?,
                    error: r.try_get("error")?,
                    logs: r.try_get("logs")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DeskError::from)
    }

    /// The newest outbound HTTP audit records, optionally of one plugin (admin).
    pub async fn plugin_http_audit(&self, actor: &Actor, plugin: Option<&str>, limit: i64) -> Result<Vec<HttpAuditRecord>, DeskError> {
        actor.require_admin()?;
        let mut sql = Sql::new(
            "SELECT plugin, version, method, scheme, host, port, status, bytes, duration_us, outcome, created_at FROM plugin_http_audit",
        );
        if let Some(p) = plugin {
            sql.push(" WHERE plugin = ").bind(Arg::Text(p.to_string()));
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(Arg::Int(limit.clamp(1, 1000)));
        let rows = sql.query().fetch_all(self.db().pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(HttpAuditRecord {
                    plugin: r.try_get("plugin")?,
                    version: r.try_get("version")?,
                    method: r.try_get("method")?,
                    scheme: r.try_get("scheme")?,
                    host: r.try_get("host")?,
                    port: r.try_get("port")?,
                    status: r.try_get("status")?,
                    bytes: r.try_get("bytes")?,
                    duration_us: r.try_get("duration_us")?,
                    outcome: r.try_get("outcome")?,
                    created_at: stored::time("created_at", r.try_get("created_at")?)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DeskError::from)
    }

    /// Adds a trusted ed25519 public key (hex) for plugin signatures (admin).
    pub async fn trusted_key_add(&self, actor: &Actor, name: &str, public_key_hex: &str) -> Result<(), DeskError> {
        actor.require_admin()?;
        let mut tx = self.db().begin_write().await?;
        sqlx::query("INSERT INTO trusted_keys (name, public_key, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(public_key_hex)
            .bind(now_micros())
            .execute(&mut *tx.tx)
            .await
            .map_err(|e| DeskError::from_write(e, &format!("trusted key '{name}'")))?;
        tx.commit().await?;
        Ok(())
    }
}
