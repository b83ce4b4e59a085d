//! `/api/v1/jobs` and `/api/v1/tokens`: operating the server (admin only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::dto::response_dto;
use crate::enums::{JobStatusName, TokenRoleName};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::query::{limit, ApiQuery};
use crate::AppState;
use switchboard_core::desk::{Job, JobQuery, JobStatus, NewToken, TokenInfo};

response_dto! {
    /// A job of the durable queue.
    JobDto from Job as j {
        /// Id.
        id: i64,
        /// Kind, e.g. `ticket.pending_due`.
        kind: String,
        /// Where the job is.
        status: JobStatusName,
        /// Attempts so far.
        attempts: i64,
        /// Attempts allowed.
        max_attempts: i64,
        /// Next (or last) run time.
        run_at: DateTime<Utc>,
        /// Error of the last failed attempt.
        last_error: Option<String>,
        /// The node's worker that holds the job, or that ran or last failed it
        /// (`host-pid-random`, as its log says at start).
        worker: Option<String>,
        /// At most one queued or running job has this key within its kind (e.g. one fetch per mail account).
        dedup_key: Option<String>,
        /// When its last attempt started.
        started_at: Option<DateTime<Utc>>,
        /// Arguments.
        #[schema(value_type = Object)]
        payload: serde_json::Value =
            serde_json::from_str(&j.payload).unwrap_or_else(|_| serde_json::Value::String(j.payload.clone())),
        /// Enqueued at.
        created_at: DateTime<Utc>,
        /// Last status change.
        updated_at: DateTime<Utc>,
    }
}

list_dto!(JobListDto, JobDto);

response_dto! {
    /// An API token (never its secret).
    TokenDto from TokenInfo as t {
        /// Id.
        id: i64,
        /// Unique name.
        name: String,
        /// First characters of the secret.
        prefix: String,
        /// What the token may do.
        role: TokenRoleName,
        /// The user it acts as.
        user: Option<String>,
        /// Created at.
        created_at: DateTime<Utc>,
        /// Revoked at.
        revoked_at: Option<DateTime<Utc>>,
    }
}

list_dto!(TokenListDto, TokenDto);

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenCreateDto {
    /// Unique name, not only spaces.
    #[schema(min_length = 1, pattern = r"\S")]
    name: String,
    /// What the token may do.
    #[schema(value_type = TokenRoleName)]
    role: String,
    /// Agent login (admin, agent) or customer user login (customer); none for integration.
    user: Option<String>,
}

/// A created token with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenCreatedDto {
    /// The token.
    #[serde(flatten)]
    token: TokenDto,
    /// The secret to send as `Authorization: Bearer <secret>`.
    secret: String,
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "admin", summary = "List recent jobs, newest first (admin)",
    params(("status" = Option<JobStatusName>, Query, description = "Only jobs in this status"),
        ("kind" = Option<String>, Query, description = "Only jobs of this kind, e.g. `ticket.pending_due`"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1-1000, default 100; anything else is a 400")),
    responses((status = 200, body = JobListDto), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn list_jobs(State(state): State<AppState>, caller: Caller, ApiQuery(params): ApiQuery) -> Result<Json<JobListDto>, ApiError> {
    let status = match params.get("status") {
        Some(s) => Some(
            JobStatus::parse(s)
                .ok_or_else(|| ApiError::field("status", format!("unknown status '{s}'; expected queued, running, done or failed")))?,
        ),
        None => None,
    };
    let kind = params.get("kind").cloned();
    if kind.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(ApiError::field("kind", "must be 1-200 characters, e.g. ticket.pending_due"));
    }
    let limit = limit(&params, 100, 1000)?;
    let jobs = state.desk.job_list(&caller.actor, JobQuery { status, kind }, i64::from(limit)).await?;
    Ok(Json(JobListDto { items: jobs.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", summary = "List API tokens (admin)",
    responses((status = 200, body = TokenListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<TokenListDto>, ApiError> {
    Ok(Json(TokenListDto { items: state.desk.token_list(&caller.actor).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", summary = "Create an API token; the secret is in this response only (admin)",
    request_body = TokenCreateDto,
    responses((status = 201, body = TokenCreatedDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<TokenCreateDto>,
) -> Result<(StatusCode, Json<TokenCreatedDto>), ApiError> {
    let (info, secret) = state.desk.token_create(&caller.actor, NewToken { name: d.name, role: d.role, user: d.user }).await?;
    Ok((StatusCode::CREATED, Json(TokenCreatedDto { token: info.into(), secret })))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{name}", tag = "admin", summary = "Revoke an API token (admin)",
    params(("name" = String, Path, description = "Token name")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn revoke_token(State(state): State<AppState>, caller: Caller, ApiPath(name): ApiPath<String>) -> Result<StatusCode, ApiError> {
    state.desk.token_revoke(&caller.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the admin routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(list_jobs)).routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}
