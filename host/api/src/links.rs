//! Links between tickets: `/api/v1/tickets/{id}/links`.

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
use crate::enums::LinkKindName;
use crate::error::{ApiError, Problem};
use crate::json::ApiJson;
use crate::path::ApiPath;
use crate::query::ApiQuery;
use crate::AppState;
use switchboard_core::desk::{LinkKind, TicketLink};

response_dto! {
    /// A link.
    LinkDto from TicketLink as l {
        /// Source ticket id (the parent for parent_child).
        source: i64,
        /// Target ticket id (the child for parent_child).
        target: i64,
        /// How the tickets are linked.
        kind: LinkKindName,
        /// When it was made.
        created_at: DateTime<Utc>,
    }
}

list_dto!(LinkListDto, LinkDto);

/// A link to create from this ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkCreateDto {
    /// Target ticket id.
    target: i64,
    /// `parent_child` (this ticket is the parent) or `related`.
    #[schema(value_type = LinkKindName)]
    kind: String,
}

fn kind(s: &str) -> Result<LinkKind, ApiError> {
    LinkKind::parse(s).ok_or_else(|| ApiError::field("kind", format!("unknown link kind '{s}'; expected parent_child or related")))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/links", tag = "tickets", summary = "Link this ticket to another",
    params(("id" = i64, Path, description = "Source ticket id")), request_body = LinkCreateDto,
    responses((status = 201, body = LinkDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn add_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<LinkCreateDto>,
) -> Result<(StatusCode, Json<LinkDto>), ApiError> {
    let link = state.desk.link_add(&caller.actor, id, d.target, kind(&d.kind)?).await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/links", tag = "tickets", summary = "Links of a ticket (as source or target)",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = LinkListDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn list_links(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<LinkListDto>, ApiError> {
    Ok(Json(LinkListDto { items: state.desk.link_list(&caller.actor, id).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/links/{target}", tag = "tickets", summary = "Remove a link",
    params(("id" = i64, Path, description = "Source ticket id"), ("target" = i64, Path, description = "Target ticket id"),
        ("kind" = Option<LinkKindName>, Query, description = "parent_child or related (default related)")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn remove_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, target)): ApiPath<(i64, i64)>,
    ApiQuery(params): ApiQuery,
) -> Result<StatusCode, ApiError> {
    let kind = kind(params.get("kind").map(String::as_str).unwrap_or("related"))?;
    state.desk.link_remove(&caller.actor, id, target, kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the link routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(add_link, list_links)).routes(routes!(remove_link))
}
