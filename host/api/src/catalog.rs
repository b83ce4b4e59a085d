//! `/api/v1/{queues,states,priorities,types}`: the catalogue, one macro for all four.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::dto::response_dto;
use crate::enums::StateTypeName;
use crate::error::{ApiError, Problem};
use crate::json::{present, ApiJson};
use crate::path::ApiPath;
use crate::AppState;
use switchboard_core::desk::{CatalogEntry, CatalogInput, CatalogKind, CatalogUpdate};

response_dto! {
    /// A queue, priority or ticket type.
    CatalogEntryDto from CatalogEntry as e {
        /// Id.
        id: i64,
        /// Unique name.
        name: String,
        /// Comment for admins.
        comment: String,
        /// Whether it can be chosen for new changes.
        valid: bool,
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

response_dto! {
    /// A ticket state.
    StateDto from CatalogEntry as e {
        /// Id.
        id: i64,
        /// Unique name.
        name: String,
        /// Comment for admins.
        comment: String,
        /// Whether it can be chosen for new changes.
        valid: bool,
        /// What the state means (every stored state has one; the core refuses a row without).
        state_type: StateTypeName = e.state_type.map_or(StateTypeName::Open, Into::into),
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

list_dto!(CatalogListDto, CatalogEntryDto);
list_dto!(StateListDto, StateDto);

/// Fields to create a queue, priority or type.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogCreateDto {
    /// Unique name: 1-200 characters, not only spaces (stored trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// Comment (default empty).
    comment: Option<String>,
    /// Valid flag (default true).
    valid: Option<bool>,
}

/// Fields to change a queue, priority or type; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogUpdateDto {
    /// New name: 1-200 characters, not only spaces.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    name: Option<String>,
    /// New comment.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    comment: Option<String>,
    /// New valid flag.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    valid: Option<bool>,
}

/// Fields to create a state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateCreateDto {
    /// Unique name: 1-200 characters, not only spaces (stored trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// Comment (default empty).
    comment: Option<String>,
    /// Valid flag (default true).
    valid: Option<bool>,
    /// What the state means.
    state_type: StateTypeName,
}

/// Fields to change a state; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateUpdateDto {
    /// New name: 1-200 characters, not only spaces.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    name: Option<String>,
    /// New comment.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    comment: Option<String>,
    /// New valid flag.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    valid: Option<bool>,
    /// New state type.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    state_type: Option<StateTypeName>,
}

impl From<CatalogCreateDto> for CatalogInput {
    fn from(d: CatalogCreateDto) -> Self {
        CatalogInput { name: d.name, comment: d.comment, valid: d.valid, state_type: None }
    }
}

impl From<CatalogUpdateDto> for CatalogUpdate {
    fn from(d: CatalogUpdateDto) -> Self {
        CatalogUpdate { name: d.name, comment: d.comment, valid: d.valid, state_type: None }
    }
}

impl From<StateCreateDto> for CatalogInput {
    fn from(d: StateCreateDto) -> Self {
        CatalogInput { name: d.name, comment: d.comment, valid: d.valid, state_type: Some(d.state_type.as_str().into()) }
    }
}

impl From<StateUpdateDto> for CatalogUpdate {
    fn from(d: StateUpdateDto) -> Self {
        CatalogUpdate { name: d.name, comment: d.comment, valid: d.valid, state_type: d.state_type.map(|t| t.as_str().into()) }
    }
}

macro_rules! catalog_api {
    ($module:ident, $kind:expr, $path:literal, $item_path:literal, $noun:literal, $entry:ident, $list:ident, $create:ident, $update:ident) => {
        mod $module {
            use super::*;

            #[utoipa::path(get, path = $path, tag = "catalogue", operation_id = concat!("list_", $noun),
                summary = concat!("List ", $noun, " entries"),
                responses((status = 200, body = $list), (status = 401, body = Problem), (status = 403, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<$list>, ApiError> {
                let entries = state.desk.catalog_list(&caller.actor, $kind).await?;
                Ok(Json($list { items: entries.into_iter().map(Into::into).collect() }))
            }

            #[utoipa::path(post, path = $path, tag = "catalogue", operation_id = concat!("create_", $noun),
                summary = concat!("Create a ", $noun, " (admin)"),
                request_body = $create,
                responses((status = 201, body = $entry), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 409, body = Problem), (status = 422, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn create(State(state): State<AppState>, caller: Caller, ApiJson(body): ApiJson<$create>) -> Result<(StatusCode, Json<$entry>), ApiError> {
                let entry = state.desk.catalog_create(&caller.actor, $kind, body.into()).await?;
                Ok((StatusCode::CREATED, Json(entry.into())))
            }

            #[utoipa::path(get, path = $item_path, tag = "catalogue", operation_id = concat!("get_", $noun),
                summary = concat!("Read a ", $noun),
                params(("id" = i64, Path, description = "Id")),
                responses((status = 200, body = $entry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn get(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<$entry>, ApiError> {
                Ok(Json(state.desk.catalog_get(&caller.actor, $kind, id).await?.into()))
            }

            #[utoipa::path(patch, path = $item_path, tag = "catalogue", operation_id = concat!("update_", $noun),
                summary = concat!("Change a ", $noun, " (admin)"),
                params(("id" = i64, Path, description = "Id")),
                request_body = $update,
                responses((status = 200, body = $entry), (status = 401, body = Problem), (status = 403, body = Problem),
                    (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
                security(("bearer" = [])))]
            pub(super) async fn update(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>, ApiJson(body): ApiJson<$update>) -> Result<Json<$entry>, ApiError> {
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

catalog_api!(
    queues,
    CatalogKind::Queue,
    "/api/v1/queues",
    "/api/v1/queues/{id}",
    "queue",
    CatalogEntryDto,
    CatalogListDto,
    CatalogCreateDto,
    CatalogUpdateDto
);
catalog_api!(
    states,
    CatalogKind::State,
    "/api/v1/states",
    "/api/v1/states/{id}",
    "state",
    StateDto,
    StateListDto,
    StateCreateDto,
    StateUpdateDto
);
catalog_api!(
    priorities,
    CatalogKind::Priority,
    "/api/v1/priorities",
    "/api/v1/priorities/{id}",
    "priority",
    CatalogEntryDto,
    CatalogListDto,
    CatalogCreateDto,
    CatalogUpdateDto
);
catalog_api!(
    types,
    CatalogKind::Type,
    "/api/v1/types",
    "/api/v1/types/{id}",
    "type",
    CatalogEntryDto,
    CatalogListDto,
    CatalogCreateDto,
    CatalogUpdateDto
);

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
