//! `/api/v1/agents`, `/api/v1/customer-users`, `/api/v1/customer-companies`.

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
use crate::enums::{AgentRoleName, QueuePermissionName};
use crate::error::{ApiError, Problem};
use crate::json::{double_option, present, ApiJson};
use crate::path::ApiPath;
use crate::AppState;
use switchboard_core::desk::{
    Agent, AgentInput, AgentUpdate, Company, CompanyInput, CompanyUpdate, CustomerUser, CustomerUserInput, CustomerUserUpdate,
};

/// A queue permission of an agent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueGrantDto {
    /// Queue name.
    queue: String,
    /// `ro` (read) or `rw` (read and write).
    #[schema(value_type = QueuePermissionName)]
    permission: String,
}

response_dto! {
    /// An agent.
    AgentDto from Agent as a {
        /// Id.
        id: i64,
        /// Unique login.
        login: String,
        /// Given name.
        first_name: String,
        /// Family name.
        last_name: String,
        /// Mail address.
        email: String,
        /// `admin` or `agent`.
        role: AgentRoleName,
        /// Valid flag.
        valid: bool,
        /// Queue permissions.
        permissions: Vec<QueueGrantDto> = a
            .permissions
            .into_iter()
            .map(|g| QueueGrantDto { queue: g.queue, permission: g.permission.as_str().into() })
            .collect(),
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

list_dto!(AgentListDto, AgentDto);

create_dto! {
    /// Fields to create an agent.
    AgentCreateDto into AgentInput as d {
        /// Unique login.
        #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
        login: String,
        /// Given name.
        first_name: Option<String>,
        /// Family name.
        last_name: Option<String>,
        /// Mail address.
        email: Option<String>,
        /// `admin` or `agent`.
        #[schema(value_type = AgentRoleName)]
        role: String,
        /// Valid flag.
        valid: Option<bool>,
        /// Queue permissions.
        permissions: Option<Vec<QueueGrantDto>> = grants(d.permissions),
    }
}

change_dto! {
    /// Fields to change an agent; `permissions`, when given, replaces the set.
    AgentUpdateDto into AgentUpdate as d {
        /// New login.
        login: String [min_length = 1, max_length = 200, pattern = r"\S"],
        /// New given name.
        first_name: String,
        /// New family name.
        last_name: String,
        /// New mail address.
        email: String,
        /// New role.
        role: String [value_type = AgentRoleName],
        /// New valid flag.
        valid: bool,
        /// New permission set.
        permissions: Vec<QueueGrantDto> = grants(d.permissions),
    }
}

fn grants(list: Option<Vec<QueueGrantDto>>) -> Option<Vec<(String, String)>> {
    list.map(|l| l.into_iter().map(|g| (g.queue, g.permission)).collect())
}

response_dto! {
    /// A customer company.
    CompanyDto from Company as c {
        /// Id.
        id: i64,
        /// Unique customer id.
        customer_id: String,
        /// Name.
        name: String,
        /// Street.
        street: String,
        /// City.
        city: String,
        /// Country.
        country: String,
        /// Web site.
        url: String,
        /// Comment.
        comment: String,
        /// Valid flag.
        valid: bool,
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

list_dto!(CompanyListDto, CompanyDto);

create_dto! {
    /// Fields to create a company.
    CompanyCreateDto into CompanyInput as d {
        /// Unique customer id.
        #[schema(min_length = 1, max_length = 250, pattern = r"\S")]
        customer_id: String,
        /// Name.
        #[schema(min_length = 1, max_length = 250, pattern = r"\S")]
        name: String,
        /// Street.
        street: Option<String>,
        /// City.
        city: Option<String>,
        /// Country.
        country: Option<String>,
        /// Web site.
        url: Option<String>,
        /// Comment.
        comment: Option<String>,
        /// Valid flag.
        valid: Option<bool>,
    }
}

change_dto! {
    /// Fields to change a company.
    CompanyUpdateDto into CompanyUpdate as d {
        /// New customer id.
        customer_id: String [min_length = 1, max_length = 250, pattern = r"\S"],
        /// New name.
        name: String [min_length = 1, max_length = 250, pattern = r"\S"],
        /// New street.
        street: String,
        /// New city.
        city: String,
        /// New country.
        country: String,
        /// New web site.
        url: String,
        /// New comment.
        comment: String,
        /// New valid flag.
        valid: bool,
    }
}

response_dto! {
    /// A customer user.
    CustomerUserDto from CustomerUser as u {
        /// Id.
        id: i64,
        /// Unique login.
        login: String,
        /// Mail address.
        email: String,
        /// Given name.
        first_name: String,
        /// Family name.
        last_name: String,
        /// Phone.
        phone: String,
        /// The company's customer id.
        customer_company: Option<String>,
        /// Valid flag.
        valid: bool,
        /// Creation time.
        created_at: DateTime<Utc>,
        /// Last change.
        changed_at: DateTime<Utc>,
    }
}

list_dto!(CustomerUserListDto, CustomerUserDto);

create_dto! {
    /// Fields to create a customer user.
    CustomerUserCreateDto into CustomerUserInput as d {
        /// Unique login.
        #[schema(min_length = 1, max_length = 250, pattern = r"\S")]
        login: String,
        /// Mail address.
        #[schema(format = Email)]
        email: String,
        /// Given name.
        first_name: Option<String>,
        /// Family name.
        last_name: Option<String>,
        /// Phone.
        phone: Option<String>,
        /// Company customer id.
        customer_company: Option<String>,
        /// Valid flag.
        valid: Option<bool>,
    }
}

/// Fields to change a customer user; `customer_company: null` removes the company.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomerUserUpdateDto {
    /// New login.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 250, pattern = r"\S")]
    login: Option<String>,
    /// New mail address.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, format = Email)]
    email: Option<String>,
    /// New given name.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    first_name: Option<String>,
    /// New family name.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    last_name: Option<String>,
    /// New phone.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    phone: Option<String>,
    /// New company customer id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    customer_company: Option<Option<String>>,
    /// New valid flag.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    valid: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "people", summary = "List agents",
    responses((status = 200, body = AgentListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_agents(State(state): State<AppState>, caller: Caller) -> Result<Json<AgentListDto>, ApiError> {
    Ok(Json(AgentListDto { items: state.desk.agent_list(&caller.actor).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/agents", tag = "people", summary = "Create an agent (admin)", request_body = AgentCreateDto,
    responses((status = 201, body = AgentDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<AgentCreateDto>,
) -> Result<(StatusCode, Json<AgentDto>), ApiError> {
    let input: AgentInput = d.into();
    Ok((StatusCode::CREATED, Json(state.desk.agent_create(&caller.actor, input).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "people", summary = "Read an agent", params(("id" = i64, Path, description = "Agent id")),
    responses((status = 200, body = AgentDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_agent(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<AgentDto>, ApiError> {
    Ok(Json(state.desk.agent_get(&caller.actor, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "people", summary = "Change an agent (admin)", params(("id" = i64, Path, description = "Agent id")),
    request_body = AgentUpdateDto,
    responses((status = 200, body = AgentDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_agent(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<AgentUpdateDto>,
) -> Result<Json<AgentDto>, ApiError> {
    let update: AgentUpdate = d.into();
    Ok(Json(state.desk.agent_update(&caller.actor, id, update).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "people", summary = "Delete an agent without tickets (admin); otherwise set it invalid",
    params(("id" = i64, Path, description = "Agent id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn delete_agent(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    state.desk.agent_delete(&caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/customer-companies", tag = "people", summary = "List customer companies",
    responses((status = 200, body = CompanyListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_companies(State(state): State<AppState>, caller: Caller) -> Result<Json<CompanyListDto>, ApiError> {
    Ok(Json(CompanyListDto { items: state.desk.company_list(&caller.actor).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/customer-companies", tag = "people", summary = "Create a customer company (admin)", request_body = CompanyCreateDto,
    responses((status = 201, body = CompanyDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_company(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<CompanyCreateDto>,
) -> Result<(StatusCode, Json<CompanyDto>), ApiError> {
    let input: CompanyInput = d.into();
    Ok((StatusCode::CREATED, Json(state.desk.company_create(&caller.actor, input).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/customer-companies/{id}", tag = "people", summary = "Read a customer company", params(("id" = i64, Path, description = "Company id")),
    responses((status = 200, body = CompanyDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_company(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<Json<CompanyDto>, ApiError> {
    Ok(Json(state.desk.company_get(&caller.actor, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/customer-companies/{id}", tag = "people", summary = "Change a customer company (admin)",
    params(("id" = i64, Path, description = "Company id")), request_body = CompanyUpdateDto,
    responses((status = 200, body = CompanyDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_company(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<CompanyUpdateDto>,
) -> Result<Json<CompanyDto>, ApiError> {
    let update: CompanyUpdate = d.into();
    Ok(Json(state.desk.company_update(&caller.actor, id, update).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/customer-companies/{id}", tag = "people", summary = "Delete a customer company no user belongs to (admin)",
    params(("id" = i64, Path, description = "Company id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn delete_company(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    state.desk.company_delete(&caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/customer-users", tag = "people", summary = "List customer users",
    responses((status = 200, body = CustomerUserListDto), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn list_customer_users(State(state): State<AppState>, caller: Caller) -> Result<Json<CustomerUserListDto>, ApiError> {
    Ok(Json(CustomerUserListDto { items: state.desk.customer_user_list(&caller.actor).await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(post, path = "/api/v1/customer-users", tag = "people", summary = "Create a customer user (admin)", request_body = CustomerUserCreateDto,
    responses((status = 201, body = CustomerUserDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_customer_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(d): ApiJson<CustomerUserCreateDto>,
) -> Result<(StatusCode, Json<CustomerUserDto>), ApiError> {
    let input: CustomerUserInput = d.into();
    Ok((StatusCode::CREATED, Json(state.desk.customer_user_create(&caller.actor, input).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/customer-users/{id}", tag = "people", summary = "Read a customer user", params(("id" = i64, Path, description = "Customer user id")),
    responses((status = 200, body = CustomerUserDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_customer_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CustomerUserDto>, ApiError> {
    Ok(Json(state.desk.customer_user_get(&caller.actor, id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/customer-users/{id}", tag = "people", summary = "Change a customer user (admin)",
    params(("id" = i64, Path, description = "Customer user id")), request_body = CustomerUserUpdateDto,
    responses((status = 200, body = CustomerUserDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_customer_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(d): ApiJson<CustomerUserUpdateDto>,
) -> Result<Json<CustomerUserDto>, ApiError> {
    let update = CustomerUserUpdate {
        login: d.login,
        email: d.email,
        first_name: d.first_name,
        last_name: d.last_name,
        phone: d.phone,
        customer_company: d.customer_company,
        valid: d.valid,
    };
    Ok(Json(state.desk.customer_user_update(&caller.actor, id, update).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/customer-users/{id}", tag = "people", summary = "Delete a customer user (admin); tickets keep the login",
    params(("id" = i64, Path, description = "Customer user id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn delete_customer_user(State(state): State<AppState>, caller: Caller, ApiPath(id): ApiPath<i64>) -> Result<StatusCode, ApiError> {
    state.desk.customer_user_delete(&caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the people routes.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent, delete_agent))
        .routes(routes!(list_companies, create_company))
        .routes(routes!(get_company, update_company, delete_company))
        .routes(routes!(list_customer_users, create_customer_user))
        .routes(routes!(get_customer_user, update_customer_user, delete_customer_user))
}
