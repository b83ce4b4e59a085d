//! The HTTP adapter: JSON over axum, bearer tokens, problem+json errors,
//! OpenAPI generated from the handlers, health and Prometheus metrics.
//!
//! Architecture invariant: only this module knows HTTP and the wire DTOs; it
//! converts to and from `desk` types at the edge.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use switchboard_core::desk::Desk;
use switchboard_plugin_host::PluginHost;

pub use error::{ApiError, Problem, ProblemField};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Largest accepted request body, in bytes.
    pub max_request_bytes: usize,
    /// Further collectors `/metrics` shows (the job worker's).
    pub registries: Vec<prometheus::Registry>,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The core.
    pub desk: Desk,
    /// The plugin host.
    pub plugins: PluginHost,
    /// Prometheus collectors.
    metrics: Arc<metrics::Metrics>,
    /// The other layers' collectors, shown beside ours.
    registries: Arc<Vec<prometheus::Registry>>,
    /// The OpenAPI document, rendered once.
    openapi: Arc<String>,
}

/// The OpenAPI router with every documented route.
fn api_router() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi());
    let router = catalog::routes(router);
    let router = people::routes(router);
    let router = fields::routes(router);
    let router = tickets::routes(router);
    let router = articles::routes(router);
    let router = links::routes(router);
    let router = plugins::routes(router);
    admin::routes(router)
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().split_for_parts().1;
    openapi::complete(&mut doc);
    doc
}

/// Builds the whole application: API, OpenAPI document, health, metrics.
pub fn app(desk: Desk, plugins: PluginHost, settings: ApiSettings) -> Router {
    let (api, mut doc) = api_router().split_for_parts();
    openapi::complete(&mut doc);
    let openapi = Arc::new(doc.to_pretty_json().unwrap_or_else(|_| "{}".into()));
    let registries = Arc::new(settings.registries);
    let state = AppState { desk, plugins, metrics: metrics::Metrics::new(), registries, openapi };
    api.route("/api/v1/openapi.json", get(openapi_json))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn(close_after_refused_body))
        .layer(DefaultBodyLimit::max(settings.max_request_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), actor = tracing::field::Empty)
        }))
        .with_state(state)
}

/// A request refused before its body was read (401, 403, 413 …) leaves unread
/// bytes on the connection: tell the client the connection ends here, so it
/// does not send its next request into a closing socket.
async fn close_after_refused_body(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let has_body = request.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v != "0")
        || request.headers().contains_key(axum::http::header::TRANSFER_ENCODING);
    let mut response = next.run(request).await;
    if has_body && response.status().is_client_error() {
        response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    }
    response
}

async fn openapi_json(State(state): State<AppState>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], state.openapi.as_str().to_owned()).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.desk.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the database does not answer")
    })?;
    Ok("ready")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "this route does not take that method; see /api/v1/openapi.json")
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route; see /api/v1/openapi.json")
}

/// Declares a `{"items": [...]}` list schema for a DTO.
macro_rules! list_dto {
    ($name:ident, $item:ty) => {
        #[doc = concat!("A list of `", stringify!($item), "`.")]
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub(crate) struct $name {
            /// The entries.
            pub(crate) items: Vec<$item>,
        }
    };
}

mod admin;
mod articles;
mod auth;
mod catalog;
mod dto;
mod enums;
mod error;
mod fields;
mod json;
mod links;
mod metrics;
mod openapi;
mod path;
mod people;
mod plugins;
mod query;
mod tickets;
mod uploads;
