//! placeholder
use utoipa_axum::router::OpenApiRouter;
use crate::api::AppState;
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> { router }
