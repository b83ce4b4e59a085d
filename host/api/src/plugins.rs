//! `/api/v1/plugins`: install (multipart), list, configure, enable, roll back,
//! remove, run against a ticket; invocation records and the HTTP audit log.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::dto::response_dto;
use crate::enums::{FailureKindName, InvocationOutcomeName};
use crate::error::{ApiError, Problem};
use crate::json::{present, ApiJson};
use crate::path::ApiPath;
use crate::query::{limit, ApiQuery};
use crate::uploads::PluginUploadDto;
use crate::AppState;
use switchboard_core::desk::{HttpAuditRecord, InvocationRecord, PluginSummary, PluginVersion, Trigger};
use switchboard_plugin_host::{LimitGrant, PluginChange, PluginError};

impl From<PluginError> for ApiError {
    fn from(err: PluginError) -> Self {
        match err {
            PluginError::Desk(d) => d.into(),
            PluginError::Manifest(m) => ApiError::field(format!("manifest.{}", m.field), m.message),
            PluginError::Invalid(m) => ApiError::field("component", m),
            PluginError::Signature(m) => ApiError::field("signature", m),
            PluginError::Config { key, message } => ApiError::field(key, message),
            PluginError::Unavailable(m) => ApiError::new(StatusCode::CONFLICT, m),
            PluginError::Busy { message, retry_after } => ApiError::busy(message, retry_after),
            PluginError::Engine(m) => {
                tracing::error!(error = %m, "plugin engine error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; the server log has the details")
            }
        }
    }
}

response_dto! {
    /// An installed plugin.
    PluginDto from PluginSummary as p {
        /// Name.
        name: String,
        /// Active version.
        version: String = p.active_version,
        /// World.
        world: String,
        /// sha256 of the active component.
        sha256: String,
        /// Enabled.
        enabled: bool,
        /// Why the circuit breaker suspended it.
        suspended_reason: Option<String>,
        /// Failures in a row.
        consecutive_failures: i64,
        /// The manifest (TOML).
        manifest: String,
        /// Installed at.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

list_dto!(PluginListDto, PluginDto);

/// The result of an install.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InstallDto {
    /// The plugin.
    plugin: PluginDto,
    /// Granted capabilities, one line each (outbound HTTP, key-value store, directories).
    capabilities: Vec<String>,
    /// Every limit as the manifest asked for it and as the host grants it.
    limits: Vec<LimitDto>,
    /// The version that was active before this install, if any.
    previous_version: Option<String>,
    /// What the previous version did not have: new capabilities and raised
    /// limits (on a first install, every capability and limit).
    added_capabilities: Vec<String>,
}

/// One limit: asked for and granted (less than asked when clamped to the host's ceiling).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LimitDto {
    /// The manifest key, e.g. `limits.memory_mib` or `policy.breaker_threshold`.
    key: String,
    /// What the manifest asked for; null when it left the key to the default.
    requested: Option<u64>,
    /// What the plugin gets; null only for fuel without a limit.
    granted: Option<u64>,
    /// Whether the host granted less than asked for.
    clamped: bool,
}

impl From<LimitGrant> for LimitDto {
    fn from(g: LimitGrant) -> Self {
        LimitDto { key: g.key.to_string(), requested: g.requested, granted: g.granted, clamped: g.clamped() }
    }
}

response_dto! {
    /// An installed version.
    VersionDto from PluginVersion as v {
        /// Version.
        version: String,
        /// sha256.
        sha256: String,
        /// World.
        world: String,
        /// Trusted key that signed it.
        signed_by: Option<String>,
        /// Installed at.
        installed_at: DateTime<Utc>,
    }
}

list_dto!(VersionListDto, VersionDto);

response_dto! {
    /// One recorded invocation.
    InvocationDto from InvocationRecord as r {
        /// Id.
        id: i64,
        /// Version.
        version: String,
        /// World.
        world: String,
        /// Function.
        function: String,
        /// Start.
        started_at: DateTime<Utc>,
        /// Duration, µs.
        duration_us: i64,
        /// Fuel used; null when the plugin has no fuel limit (fuel is
        /// counted only for plugins with one).
        fuel_used: Option<i64>,
        /// Peak memory, bytes.
        peak_memory: i64,
        /// How the call ended.
        outcome: InvocationOutcomeName,
        /// Why it failed, when it did.
        error_kind: Option<FailureKindName> = r.error_kind.map(Into::into),
        /// Failure message.
        error: Option<String>,
        /// Plugin log.
        logs: String,
    }
}

list_dto!(InvocationListDto, InvocationDto);

response_dto! {
    /// One outbound request of a plugin.
    HttpAuditDto from HttpAuditRecord as r {
        /// Plugin.
        plugin: String,
        /// Version.
        version: String,
        /// Method.
        method: String,
        /// Scheme.
        scheme: String,
        /// Host.
        host: String,
        /// Port.
        port: i64,
        /// Response status.
        status: Option<i64>,
        /// Response bytes.
        bytes: i64,
        /// Duration, µs.
        duration_us: i64,
        /// ok, replayed, denied: …, error: ….
        outcome: String,
        /// When.
        created_at: DateTime<Utc>,
    }
}

list_dto!(HttpAuditListDto, HttpAuditDto);

/// Changes to a plugin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginUpdateDto {
    /// Enable or disable (enabling lifts a suspension).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    enabled: Option<bool>,
    /// Make this installed version active (upgrade or rollback).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    version: Option<String>,
}

/// A run against a ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplyDto {
    /// Ticket id.
    ticket: i64,
    /// Parameters.
    #[serde(default)]
    params: BTreeMap<String, String>,
    /// Only check and report the changes (the run's trigger is `test`, not `apply`).
    #[serde(default)]
    test: bool,
}

/// The result of a run against a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApplyResultDto {
    /// The outcome a script task reported.
    result: Option<String>,
    /// The changes the plugin asked for.
    changes: Vec<PluginChange>,
    /// Whether they were applied.
    applied: bool,
    /// Duration, µs.
    duration_us: u64,
    /// Fuel used; null when the plugin has no fuel limit (fuel is counted
    /// only for plugins with one).
    fuel_used: Option<u64>,
    /// The plugin's log.
    logs: String,
}

#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins", summary = "List installed plugins (admin)",
    responses((status = 200, body = PluginListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_plugins(State(state): State<AppState>, caller: Caller) -> Result<Json<PluginListDto>, ApiError> {
    Ok(Json(PluginListDto { items: state.desk.plugin_list(&caller.actor).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/plugins", tag = "plugins",
    summary = "Install a plugin (admin): multipart with a `component` file part, a `manifest` part (plugin.toml) and optionally a `signature` part (hex ed25519 over the component and the manifest, see sdk/README.md)",
    request_body(content = PluginUploadDto, content_type = "multipart/form-data"),
    responses((status = 201, body = InstallDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn install_plugin(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<InstallDto>), ApiError> {
    caller.actor.require_admin()?;
    let mut multipart = Multipart::from_request(request, &state).await.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let (mut component, mut manifest, mut signature) = (None, None, None);
    while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::new(e.status(), format!("multipart: {}", e.body_text())))? {
        let name = field.name().unwrap_or_default().to_string();
        let data = field.bytes().await.map_err(|e| ApiError::new(e.status(), format!("multipart: {}", e.body_text())))?;
        match name.as_str() {
            "component" => component = Some(data.to_vec()),
            "manifest" => manifest = Some(String::from_utf8(data.to_vec()).map_err(|_| ApiError::field("manifest", "is not UTF-8"))?),
            "signature" => signature = Some(String::from_utf8_lossy(&data).trim().to_string()),
            other => return Err(ApiError::field(other, "unknown part; expected component, manifest and signature")),
        }
    }
    let component = component.ok_or_else(|| ApiError::field("component", "the .wasm file part is missing"))?;
    let manifest = manifest.ok_or_else(|| ApiError::field("manifest", "the plugin.toml part is missing"))?;
    let report = state.plugins.install(&caller.actor, component, &manifest, signature.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(InstallDto {
            plugin: report.summary.into(),
            capabilities: report.grants.capabilities,
            limits: report.grants.limits.into_iter().map(Into::into).collect(),
            previous_version: report.grants.previous_version,
            added_capabilities: report.grants.added_capabilities,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/plugins/{name}", tag = "plugins", summary = "Read a plugin (admin)",
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = PluginDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_plugin(State(state): State<AppState>, caller: Caller, ApiPath(name): ApiPath<String>) -> Result<Json<PluginDto>, ApiError> {
    Ok(Json(state.desk.plugin_get(&caller.actor, &name).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/plugins/{name}", tag = "plugins", summary = "Enable, disable, or switch the active version (admin)",
    params(("name" = String, Path, description = "Plugin name")), request_body = PluginUpdateDto,
    responses((status = 200, body = PluginDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_plugin(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(d): ApiJson<PluginUpdateDto>,
) -> Result<Json<PluginDto>, ApiError> {
    let mut summary = state.desk.plugin_get(&caller.actor, &name).await?;
    if let Some(version) = &d.version {
        summary = state.desk.plugin_activate(&caller.actor, &name, version).await?;
    }
    if let Some(enabled) = d.enabled {
        summary = state.desk.plugin_set_enabled(&caller.actor, &name, enabled).await?;
    }
    state.plugins.invalidate(&name).await;
    Ok(Json(summary.into()))
}

#[utoipa::path(delete, path = "/api/v1/plugins/{name}", tag = "plugins", summary = "Remove a plugin with its versions, configuration and store (admin)",
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn remove_plugin(State(state): State<AppState>, caller: Caller, ApiPath(name): ApiPath<String>) -> Result<StatusCode, ApiError> {
    state.desk.plugin_remove(&caller.actor, &name).await?;
    state.plugins.invalidate(&name).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/plugins/{name}/versions", tag = "plugins", summary = "Installed versions, newest first (admin)",
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = VersionListDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn plugin_versions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<VersionListDto>, ApiError> {
    Ok(Json(VersionListDto { items: state.desk.plugin_versions(&caller.actor, &name).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(put, path = "/api/v1/plugins/{name}/config", tag = "plugins", summary = "Set configuration values (admin); secrets are stored encrypted and never returned",
    params(("name" = String, Path, description = "Plugin name")), request_body = BTreeMap<String, String>,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn set_config(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(values): ApiJson<BTreeMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let values: Vec<(String, String)> = values.into_iter().collect();
    state.plugins.configure(&caller.actor, &name, &values).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/plugins/{name}/config", tag = "plugins", summary = "Configuration values; secrets show as null (admin)",
    params(("name" = String, Path, description = "Plugin name")),
    responses((status = 200, body = BTreeMap<String, Option<String>>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A stored secret cannot be opened with this server's secret key (was SWITCHBOARD_SECRET_KEY changed?)", body = Problem)),
    security(("bearer" = [])))]
async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<BTreeMap<String, Option<String>>>, ApiError> {
    Ok(Json(state.desk.plugin_config(&caller.actor, &name).await?.into_iter().collect()))
}

#[utoipa::path(get, path = "/api/v1/plugins/{name}/invocations", tag = "plugins", summary = "Recent invocations, newest first (admin)",
    params(("name" = String, Path, description = "Plugin name"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1-1000, default 50; anything else is a 400")),
    responses((status = 200, body = InvocationListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn invocations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery,
) -> Result<Json<InvocationListDto>, ApiError> {
    let limit = i64::from(limit(&q, 50, 1000)?);
    state.plugins.flush().await;
    Ok(Json(InvocationListDto {
        items: state.desk.plugin_invocations(&caller.actor, &name, limit).await?.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/plugins/{name}/apply", tag = "plugins",
    summary = "Run a script task or transition action on a ticket with the caller's rights and apply its changes in one transaction (test: check and report them, write nothing); 403 names the queue or parameter refused; 503 with Retry-After when no execution slot is free in time (nothing ran)",
    params(("name" = String, Path, description = "Plugin name")), request_body = ApplyDto,
    responses((status = 200, body = ApplyResultDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem, headers(("Retry-After" = u64, description = "Seconds to wait before retrying")))),
    security(("bearer" = [])))]
async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(d): ApiJson<ApplyDto>,
) -> Result<Json<ApplyResultDto>, ApiError> {
    let trigger = if d.test { Trigger::Test } else { Trigger::Apply };
    let run = state.plugins.apply_to_ticket(&caller.actor, trigger, &name, d.ticket, d.params.into_iter().collect()).await?;
    Ok(Json(ApplyResultDto {
        result: run.result,
        changes: run.changes,
        applied: run.applied,
        duration_us: run.report.duration_us,
        fuel_used: run.report.fuel_used,
        logs: run.report.logs,
    }))
}

#[utoipa::path(get, path = "/api/v1/plugin-http-audit", tag = "plugins", summary = "Outbound HTTP requests of plugins, newest first (admin)",
    params(("plugin" = Option<String>, Query, description = "Only this plugin"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1-1000, default 100; anything else is a 400")),
    responses((status = 200, body = HttpAuditListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn http_audit(State(state): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery) -> Result<Json<HttpAuditListDto>, ApiError> {
    let limit = i64::from(limit(&q, 100, 1000)?);
    state.plugins.flush().await;
    let records = state.desk.plugin_http_audit(&caller.actor, q.get("plugin").map(String::as_str), limit).await?;
    Ok(Json(HttpAuditListDto { items: records.into_iter().map(Into::into).collect() }))
}

/// Adds the plugin routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list_plugins, install_plugin))
        .routes(routes!(get_plugin, update_plugin, remove_plugin))
        .routes(routes!(plugin_versions))
        .routes(routes!(set_config, get_config))
        .routes(routes!(invocations))
        .routes(routes!(apply))
        .routes(routes!(http_audit))
}
