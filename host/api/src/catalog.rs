//! `/api/v1/{queues,states,priorities,types}`: the catalogue, one macro for all four.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::AppState;
use switchboard_core::desk::{CatalogEntry, CatalogInput, CatalogKind, CatalogUpdate};

/// A queue, state, priority or ticket type.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CatalogEntryDto {
    /// Id.
    id: i64,
    /// Unique name.
    name: String,
    /// Comment for admins.
    comment: String,
    /// Whether it can be chosen for new changes.
    valid: bool,
    /// States only: new, open, pending_reminder, pending_auto_close, closed_successful, closed_unsuccessful, merged or removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    state_type: Option<String>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// Last change.
    changed_at: DateTime<Utc>,
}

impl From<CatalogEntry> for CatalogEntryDto {
    fn from(e: CatalogEntry) -> Self {
        CatalogEntryDto {
            id: e.id,
            name: e.name,
            comment: e.comment,
            valid: e.valid,
            state_type: e.state_type.map(|t| t.as_str().to_string()),
            created_at: e.created_at,
            changed_at: e.changed_at,
        }
    }
}

list_dto!(CatalogListDto, CatalogEntryDto);

/// Fields to create an entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogCreateDto {
    /// Unique name.
    name: String,
    /// Comment.
    comment: Option<String>,
    /// Valid flag (default true).
    valid: Option<bool>,
    /// States only (required for them): the state type.
    state_type: Option<String>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogUpdateDto {
    /// New name.
    name: Option<String>,
    /// New comment.
    comment: Option<String>,
    /// New valid flag.
    valid: Option<bool>,
    /// States only: new state type.
    state_type: Option<String>,
}

impl From<CatalogCreateDto> for CatalogInput {
    fn from(d: CatalogCreateDto) -> Self {
        CatalogInput { name: d.name, comment: d.comment, valid: d.valid, state_type: d.state_type }
    }
}

impl From<CatalogUpdateDto> for CatalogUpdate {
    fn from(d: CatalogUpdateDto) -> Self {
        CatalogUpdate { name: d.name, comment: d.comment, valid: d.valid, state_type: d.state_type }
    }
}

macro_rules! catalog_api {
    ($module:ident, $kind:expr, $path:literal, $item_path:literal, $noun:literal) => {
        mod $module {
            use super::*;

            #[utoipa::path(get, path = $path, tag = "catalogue", operation_id = concat!("list_", $noun),
                summary = concat!("List ", $noun, " entries"),
                responses((status = 200, body = CatalogListDto), (status = 401, body = Problem), (status = 403, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<CatalogListDto>, ApiError> {
                let entries = state.desk.catalog_list(&caller.actor, $kind).await?;
                Ok(Json(CatalogListDto { items: entries.into_iter().map(Into::into).collect() }))
            }

            #[utoipa::path(post, path = $path, tag = "catalogue", operation_id = concat!("create_", $noun),
                summary = concat!("Create a ", $noun, " (admin)"),
                request_body = CatalogCreateDto,
                responses((status = 201, body = CatalogEntryDto), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 409, body = Problem), (status = 422, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn create(State(state): State<AppState>, caller: Caller, ApiJson(body): ApiJson<CatalogCreateDto>) -> Result<(StatusCode, Json<CatalogEntryDto>), ApiError> {
                let entry = state.desk.catalog_create(&caller.actor, $kind, body.into()).await?;
                Ok((StatusCode::CREATED, Json(entry.into())))
            }

            #[utoipa::path(get, path = $item_path, tag = "catalogue", operation_id = concat!("get_", $noun),
                summary = concat!("Read a ", $noun),
                params(("id" = i64, Path, description = "Id")),
                responses((status = 200, body = CatalogEntryDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<CatalogEntryDto>, ApiError> {
                Ok(Json(state.desk.catalog_get(&caller.actor, $kind, id).await?.into()))
            }

            #[utoipa::path(patch, path = $item_path, tag = "catalogue", operation_id = concat!("update_", $noun),
                summary = concat!("Change a ", $noun, " (admin)"),
                params(("id" = i64, Path, description = "Id")),
                request_body = CatalogUpdateDto,
                responses((status = 200, body = CatalogEntryDto), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn update(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>, ApiJson(body): ApiJson<CatalogUpdateDto>) -> Result<Json<CatalogEntryDto>, ApiError> {
                Ok(Json(state.desk.catalog_update(&caller.actor, $kind, id, body.into()).await?.into()))
            }

            #[utoipa::path(delete, path = $item_path, tag = "catalogue", operation_id = concat!("delete_", $noun),
                summary = concat!("Delete an unused ", $noun, " (admin); set it invalid when tickets use it"),
                params(("id" = i64, Path, description = "Id")),
                responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn delete(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
                state.desk.catalog_delete(&caller.actor, $kind, id).await?;
                Ok(StatusCode::NO_CONTENT)
            }
        }
    };
}

catalog_api!(queues, CatalogKind::Queue, "/api/v1/queues", "/api/v1/queues/{id}", "queue");
catalog_api!(states, CatalogKind::State, "/api/v1/states", "/api/v1/states/{id}", "state");
catalog_api!(priorities, CatalogKind::Priority, "/api/v1/priorities", "/api/v1/priorities/{id}", "priority");
catalog_api!(types, CatalogKind::Type, "/api/v1/types", "/api/v1/types/{id}", "type");

/// Adds the catalogue routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(queues::list, queues::create))
        .routes(routes!(queues::get, queues::update, queues::delete))
        .routes(routes!(states::list, states::create))
        .routes(routes!(states::get, states::update, states::delete))
        .routes(routes!(priorities::list, priorities::create))
        .routes(routes!(priorities::get, priorities::update, priorities::delete))
        .routes(routes!(types::list, types::create))
        .routes(routes!(types::get, types::update, types::delete))
}
