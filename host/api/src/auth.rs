//! Bearer-token authentication: every `/api/v1` handler takes a [`Caller`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::AppState;
use switchboard_core::desk::Actor;

/// The authenticated caller of a request.
pub(crate) struct Caller {
    /// The token's id (scopes Idempotency-Keys).
    pub(crate) token_id: i64,
    /// Who acts, with its permissions.
    pub(crate) actor: Actor,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
        let value = header.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
        let secret = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
        match state.desk.authenticate(secret).await? {
            Some((token_id, actor)) => {
                tracing::Span::current().record("actor", actor.label());
                Ok(Caller { token_id, actor })
            }
            None => Err(ApiError::unauthorized("unknown or revoked token")),
        }
    }
}
