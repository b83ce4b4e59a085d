//! Tickets: create (with Idempotency-Key), read, change, search, merge, history.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::articles::{ArticleDto, ArticleInputDto};
use crate::auth::Caller;
use crate::dto::response_dto;
use crate::enums::{HistoryEventName, StateTypeName};
use crate::error::{ApiError, Problem};
use crate::json::{double_option, parse_json, present, ApiJson, RawBody};
use crate::path::ApiPath;
use crate::query::{limit, ApiQuery};
use crate::AppState;
use switchboard_core::desk::{HistoryEntry, NewTicket, Ref, SortKey, Ticket, TicketQuery, TicketUpdate, TicketView};

/// A priority given by id (1-5 by default) or by name.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum PriorityRefDto {
    /// Priority id.
    Id(i64),
    /// Priority name.
    Name(String),
}

impl From<PriorityRefDto> for Ref {
    fn from(p: PriorityRefDto) -> Self {
        match p {
            PriorityRefDto::Id(id) => Ref::Id(id),
            PriorityRefDto::Name(name) => Ref::Name(name),
        }
    }
}

response_dto! {
    /// A ticket. The core decides what a customer sees (`TicketView`); the
    /// wire leaves the agent fields out of a customer's view.
    TicketDto from Ticket as t {
        /// Id.
        id: i64,
        /// Human ticket number (date, system id, counter).
        number: String,
        /// Title.
        title: String,
        /// Queue name.
        queue: String,
        /// State name.
        state: String,
        /// What the state means.
        state_type: StateTypeName,
        /// Priority id.
        priority: i64 = t.priority_id,
        /// Priority name.
        priority_name: String = t.priority,
        /// Type name.
        #[serde(rename = "type")]
        ticket_type: String,
        /// Owner login (left out of a customer's view).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        owner: Option<Option<String>> = (t.view == TicketView::Staff).then_some(t.owner),
        /// Responsible login (left out of a customer's view).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        responsible: Option<Option<String>> = (t.view == TicketView::Staff).then_some(t.responsible),
        /// Customer user login.
        customer_user: Option<String>,
        /// Customer company id.
        customer_company: Option<String>,
        /// When the pending state is due.
        pending_until: Option<DateTime<Utc>>,
        /// The ticket this was merged into.
        merged_into: Option<i64>,
        /// Dynamic field values by name (a customer's view: customer-visible fields only).
        #[schema(value_type = Object)]
        dynamic_fields: BTreeMap<String, serde_json::Value>,
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

/// A created ticket with its first article.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketCreatedDto {
    /// The ticket.
    #[serde(flatten)]
    ticket: TicketDto,
    /// The first article.
    article: ArticleDto,
}

/// A page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketPageDto {
    /// Tickets of this page.
    items: Vec<TicketDto>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

/// A new ticket with its first article.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketCreateDto {
    /// Title: 1-255 characters, not only spaces.
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    title: String,
    /// Queue name (required, except for customers: default queue). Customers may
    /// name only the configured customer queues and set only title, article and
    /// queue (plus the fields an admin allows); anything else is a 403 naming it.
    queue: Option<String>,
    /// Priority id or name (default 3).
    priority: Option<PriorityRefDto>,
    /// State name (default `new`).
    state: Option<String>,
    /// Type name (default `Unclassified`).
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    /// Owner login.
    owner: Option<String>,
    /// Responsible login.
    responsible: Option<String>,
    /// Customer user login (customers: always themselves).
    customer_user: Option<String>,
    /// Customer company id (default: the customer user's company).
    customer_company: Option<String>,
    /// Due time, required for pending states.
    pending_until: Option<DateTime<Utc>>,
    /// Ticket dynamic field values by name.
    #[schema(value_type = Option<Object>)]
    dynamic_fields: Option<BTreeMap<String, serde_json::Value>>,
    /// The first article.
    article: ArticleInputDto,
}

/// Changes to a ticket; absent fields stay, `null` clears the owner,
/// responsible, customer user, customer company and pending time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketUpdateDto {
    /// New title: 1-255 characters, not only spaces.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 255, pattern = r"\S")]
    title: Option<String>,
    /// New queue name.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    queue: Option<String>,
    /// New state name.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    state: Option<String>,
    /// New priority id or name.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    priority: Option<PriorityRefDto>,
    /// New type name.
    #[serde(rename = "type")]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    ticket_type: Option<String>,
    /// New owner login, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    owner: Option<Option<String>>,
    /// New responsible login, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    responsible: Option<Option<String>>,
    /// New customer user login, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    customer_user: Option<Option<String>>,
    /// New customer company id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    customer_company: Option<Option<String>>,
    /// New pending time, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pending_until: Option<Option<DateTime<Utc>>>,
    /// Dynamic field values to set (null clears one).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = Object)]
    dynamic_fields: Option<BTreeMap<String, serde_json::Value>>,
}

/// Merge request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeDto {
    /// Id of the ticket to merge into.
    into: i64,
}

response_dto! {
    /// One history entry.
    HistoryDto from HistoryEntry as h {
        /// Id.
        id: i64,
        /// What happened; `field`, `old_value` and `new_value` are read by it.
        event: HistoryEventName,
        /// Changed field.
        field: Option<String>,
        /// Value before.
        old_value: Option<String>,
        /// Value after.
        new_value: Option<String>,
        /// Who (e.g. `agent:admin`, `customer:jane@example.com`, `system:pending-auto-close`).
        actor: String,
        /// When.
        created_at: DateTime<Utc>,
    }
}

list_dto!(HistoryListDto, HistoryDto);

/// The `Idempotency-Key` of a create, if sent: once, 1-255 visible
/// characters. An empty key (also the empty structured-field string `""`) or
/// a repeated header is a 400, never silently a create without a key.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let refuse = |why: &str| ApiError::with_field(StatusCode::BAD_REQUEST, "Idempotency-Key", why);
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(refuse("must be sent once"));
    }
    let key = value.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key == "\"\"" || key.len() > 255 {
        return Err(refuse("must be 1-255 visible characters"));
    }
    Ok(Some(key.to_string()))
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", summary = "Create a ticket with its first article",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Repeat a create safely: the same key and body return the first ticket. 1-255 visible characters, sent once; an empty key is a 400")),
    request_body = TicketCreateDto,
    responses((status = 201, body = TicketCreatedDto), (status = 200, description = "Replay of an earlier create with the same Idempotency-Key", body = TicketCreatedDto),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_ticket(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<TicketCreatedDto>), ApiError> {
    let dto: TicketCreateDto = parse_json(&headers, &body)?;
    let idempotency = idempotency_key(&headers)?.map(|key| (caller.token_id, key, hex::encode(Sha256::digest(&body))));
    let input = NewTicket {
        title: dto.title,
        queue: dto.queue,
        priority: dto.priority.map(Into::into),
        state: dto.state,
        ticket_type: dto.ticket_type,
        owner: dto.owner,
        responsible: dto.responsible,
        customer_user: dto.customer_user,
        customer_company: dto.customer_company,
        pending_until: dto.pending_until,
        dynamic_fields: dto.dynamic_fields.unwrap_or_default(),
        article: dto.article.into_new_article("article.")?,
        idempotency,
    };
    let created = state.desk.ticket_create(&caller.actor, input).await?;
    let status = if created.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(TicketCreatedDto { ticket: created.ticket.into(), article: created.article.into() })))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", summary = "Read a ticket",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = TicketDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_ticket(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<TicketDto>, ApiError> {
    Ok(Json(state.desk.ticket_get(&caller.actor, id).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/tickets/by-number/{number}", tag = "tickets", summary = "Read a ticket by its number",
    params(("number" = String, Path, description = "Ticket number")),
    responses((status = 200, body = TicketDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_ticket_by_number(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
) -> Result<Json<TicketDto>, ApiError> {
    Ok(Json(state.desk.ticket_get_by_number(&caller.actor, &number).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", summary = "Change ticket fields (one history entry per change)",
    params(("id" = i64, Path, description = "Ticket id")), request_body = TicketUpdateDto,
    responses((status = 200, body = TicketDto), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<TicketUpdateDto>,
) -> Result<Json<TicketDto>, ApiError> {
    let update = TicketUpdate {
        title: d.title,
        queue: d.queue,
        state: d.state,
        priority: d.priority.map(Into::into),
        ticket_type: d.ticket_type,
        owner: d.owner,
        responsible: d.responsible,
        customer_user: d.customer_user,
        customer_company: d.customer_company,
        pending_until: d.pending_until,
        dynamic_fields: d.dynamic_fields.unwrap_or_default(),
    };
    Ok(Json(state.desk.ticket_update(&caller.actor, id, update).await?.into()))
}

fn parse_time(params: &HashMap<String, String>, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| ApiError::field(name, format!("'{v}' is not an RFC 3339 time like 2026-11-29T10:00:00Z (years 0000-9999)"))),
    }
}

const SEARCH_PARAMS: [&str; 15] = [
    "queue",
    "state",
    "state_type",
    "priority",
    "owner",
    "customer_user",
    "customer_company",
    "q",
    "created_after",
    "created_before",
    "changed_after",
    "changed_before",
    "sort",
    "limit",
    "cursor",
];

fn search_query(params: &HashMap<String, String>) -> Result<TicketQuery, ApiError> {
    for key in params.keys() {
        if !key.starts_with("df.") && !SEARCH_PARAMS.contains(&key.as_str()) {
            return Err(ApiError::field(key.clone(), format!("unknown search parameter '{key}'")));
        }
    }
    let state_type = match params.get("state_type") {
        Some(s) => Some(StateTypeName::parse(s).ok_or_else(|| ApiError::field("state_type", format!("unknown state type '{s}'")))?.into()),
        None => None,
    };
    let priority = params.get("priority").map(|p| match p.parse::<i64>() {
        Ok(id) => Ref::Id(id),
        Err(_) => Ref::Name(p.clone()),
    });
    let sort = match params.get("sort") {
        Some(s) => Some(SortKey::parse(s).ok_or_else(|| {
            ApiError::field("sort", format!("unknown sort '{s}'; use id, created_at, changed_at or priority, with - for descending"))
        })?),
        None => None,
    };
    let limit = Some(limit(params, 50, 500)?);
    let mut dynamic_fields: Vec<(String, String)> =
        params.iter().filter_map(|(k, v)| k.strip_prefix("df.").map(|name| (name.to_string(), v.clone()))).collect();
    dynamic_fields.sort();
    Ok(TicketQuery {
        queue: params.get("queue").cloned(),
        state: params.get("state").cloned(),
        state_type,
        priority,
        owner: params.get("owner").cloned(),
        customer_user: params.get("customer_user").cloned(),
        customer_company: params.get("customer_company").cloned(),
        text: params.get("q").cloned(),
        dynamic_fields,
        created_after: parse_time(params, "created_after")?,
        created_before: parse_time(params, "created_before")?,
        changed_after: parse_time(params, "changed_after")?,
        changed_before: parse_time(params, "changed_before")?,
        sort,
        limit,
        cursor: params.get("cursor").cloned(),
    })
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", summary = "Search tickets (all filters must match), sorted, with cursor pagination",
    params(
        ("queue" = Option<String>, Query, description = "Queue name"),
        ("state" = Option<String>, Query, description = "State name"),
        ("state_type" = Option<StateTypeName>, Query, description = "State type, e.g. open or pending_reminder"),
        ("priority" = Option<String>, Query, description = "Priority id or name"),
        ("owner" = Option<String>, Query, description = "Owner login"),
        ("customer_user" = Option<String>, Query, description = "Customer user login"),
        ("customer_company" = Option<String>, Query, description = "Customer company id"),
        ("q" = Option<String>, Query, description = "Full text: every word must occur in the title or an article"),
        ("df.<FieldName>" = Option<String>, Query, description = "Dynamic field value equals (multiselect: contains)"),
        ("created_after" = Option<DateTime<Utc>>, Query, description = "RFC 3339, inclusive"),
        ("created_before" = Option<DateTime<Utc>>, Query, description = "RFC 3339, exclusive"),
        ("changed_after" = Option<DateTime<Utc>>, Query, description = "RFC 3339, inclusive"),
        ("changed_before" = Option<DateTime<Utc>>, Query, description = "RFC 3339, exclusive"),
        ("sort" = Option<String>, Query, pattern = "^-?(id|number|created_at|changed_at|priority)$", description = "id (or number), created_at, changed_at or priority; prefix - for descending (default -id)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size 1-500, default 50; anything else is a 400"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses((status = 200, body = TicketPageDto), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn search_tickets(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery,
) -> Result<Json<TicketPageDto>, ApiError> {
    let page = state.desk.ticket_search(&caller.actor, search_query(&params)?).await?;
    Ok(Json(TicketPageDto { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets", summary = "Merge this ticket into another; its articles move there",
    params(("id" = i64, Path, description = "Ticket to merge")), request_body = MergeDto,
    responses((status = 200, body = TicketDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn merge_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<MergeDto>,
) -> Result<Json<TicketDto>, ApiError> {
    Ok(Json(state.desk.ticket_merge(&caller.actor, id, d.into).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/history", tag = "tickets", summary = "The ticket's history, oldest first",
    params(("id" = i64, Path, description = "Ticket id")),
    responses((status = 200, body = HistoryListDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn ticket_history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HistoryListDto>, ApiError> {
    Ok(Json(HistoryListDto { items: state.desk.history_list(&caller.actor, id).await?.into_iter().map(Into::into).collect() }))
}

/// Adds the ticket routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(search_tickets, create_ticket))
        .routes(routes!(get_ticket, update_ticket))
        .routes(routes!(get_ticket_by_number))
        .routes(routes!(merge_ticket))
        .routes(routes!(ticket_history))
}
