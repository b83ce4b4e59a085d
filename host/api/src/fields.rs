//! `/api/v1/dynamic-fields`: typed dynamic field definitions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::dto::{change_dto, create_dto, response_dto};
use crate::enums::{FieldTypeName, ObjectTypeName};
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::AppState;
use switchboard_core::desk::{DynamicField, DynamicFieldInput, DynamicFieldUpdate, FieldConfig};

/// Type-specific settings.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldConfigDto {
    /// Dropdown and multiselect: allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    possible_values: Vec<String>,
    /// Integer: smallest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<i64>,
    /// Integer: largest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<i64>,
    /// Text, textarea: longest value in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_length: Option<usize>,
}

impl From<FieldConfigDto> for FieldConfig {
    fn from(d: FieldConfigDto) -> Self {
        FieldConfig { possible_values: d.possible_values, min: d.min, max: d.max, max_length: d.max_length }
    }
}

response_dto! {
    /// A dynamic field definition.
    DynamicFieldDto from DynamicField as f {
        /// Id.
        id: i64,
        /// Unique name: the key in `dynamic_fields` maps and in `df.<name>` filters.
        name: String,
        /// Label.
        label: String,
        /// What the field belongs to.
        object_type: ObjectTypeName,
        /// The type of its values.
        field_type: FieldTypeName,
        /// Settings.
        config: FieldConfigDto = FieldConfigDto {
            possible_values: f.config.possible_values,
            min: f.config.min,
            max: f.config.max,
            max_length: f.config.max_length,
        },
        /// Valid flag.
        valid: bool,
        /// Customers see this field's values (otherwise it is left out of a customer's view).
        customer_visible: bool,
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

list_dto!(DynamicFieldListDto, DynamicFieldDto);

create_dto! {
    /// Fields to create a definition.
    DynamicFieldCreateDto into DynamicFieldInput as d {
        /// Unique name: 1-200 letters, digits, `_` or `-`.
        #[schema(pattern = "^[A-Za-z0-9_-]{1,200}$")]
        name: String,
        /// Label (default: the name).
        label: Option<String>,
        /// What the field belongs to.
        #[schema(value_type = ObjectTypeName)]
        object_type: String,
        /// The type of its values.
        #[schema(value_type = FieldTypeName)]
        field_type: String,
        /// Settings.
        config: Option<FieldConfigDto> = d.config.map(Into::into),
        /// Valid flag (default true).
        valid: Option<bool>,
        /// Shown to customers (default false).
        customer_visible: Option<bool>,
    }
}

change_dto! {
    /// Fields to change a definition (name, object and field type are fixed).
    DynamicFieldUpdateDto into DynamicFieldUpdate as d {
        /// New label.
        label: String,
        /// New settings.
        config: FieldConfigDto = d.config.map(Into::into),
        /// New valid flag.
        valid: bool,
        /// New customer-visible flag.
        customer_visible: bool,
    }
}

#[utoipa::path(get, path = "/api/v1/dynamic-fields", tag = "dynamic-fields", summary = "List dynamic field definitions",
    responses((status = 200, body = DynamicFieldListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_fields(State(state): State<AppState>, caller: Caller) -> Result<Json<DynamicFieldListDto>, ApiError> {
    Ok(Json(DynamicFieldListDto { items: state.desk.dynamic_field_list(&caller.actor).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/dynamic-fields", tag = "dynamic-fields", summary = "Create a dynamic field (admin)", request_body = DynamicFieldCreateDto,
    responses((status = 201, body = DynamicFieldDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_field(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<DynamicFieldCreateDto>,
) -> Result<(StatusCode, Json<DynamicFieldDto>), ApiError> {
    let input: DynamicFieldInput = d.into();
    Ok((StatusCode::CREATED, Json(state.desk.dynamic_field_create(&caller.actor, input).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/dynamic-fields/{id}", tag = "dynamic-fields", summary = "Read a dynamic field", params(("id" = i64, Path, description = "Field id")),
    responses((status = 200, body = DynamicFieldDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_field(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<DynamicFieldDto>, ApiError> {
    Ok(Json(state.desk.dynamic_field_get(&caller.actor, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/dynamic-fields/{id}", tag = "dynamic-fields", summary = "Change a dynamic field (admin)",
    params(("id" = i64, Path, description = "Field id")), request_body = DynamicFieldUpdateDto,
    responses((status = 200, body = DynamicFieldDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_field(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<DynamicFieldUpdateDto>,
) -> Result<Json<DynamicFieldDto>, ApiError> {
    let update: DynamicFieldUpdate = d.into();
    Ok(Json(state.desk.dynamic_field_update(&caller.actor, id, update).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/dynamic-fields/{id}", tag = "dynamic-fields", summary = "Delete a dynamic field and its values (admin)",
    params(("id" = i64, Path, description = "Field id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn delete_field(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    state.desk.dynamic_field_delete(&caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the dynamic field routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(list_fields, create_field)).routes(routes!(get_field, update_field, delete_field))
}
