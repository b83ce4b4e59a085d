//! Path parameters whose parse errors are problem+json, and which never hand
//! the core a value holding U+0000.

use axum::extract::{FromRequestParts, Path, RawPathParams};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::json::NUL_MESSAGE;

/// Like axum's `Path`, with problem+json errors.
pub(crate) struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            if let Some((name, _)) = raw.iter().find(|(_, value)| value.contains('\0')) {
                return Err(ApiError::with_field(StatusCode::BAD_REQUEST, name, NUL_MESSAGE));
            }
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(err) => Err(ApiError::new(StatusCode::BAD_REQUEST, format!("invalid path parameter: {}", err.body_text()))),
        }
    }
}
