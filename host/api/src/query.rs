//! Query strings: parse errors are problem+json, no parameter hands the core
//! a value holding U+0000, and every list route reads `limit` the same way.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::json::NUL_MESSAGE;

/// The query parameters by name (a repeated name keeps its last value).
pub(crate) struct ApiQuery(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|err| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid query string: {}", err.body_text())))?;
        if let Some((name, _)) = params.iter().find(|(name, value)| name.contains('\0') || value.contains('\0')) {
            return Err(ApiError::with_field(StatusCode::BAD_REQUEST, name.replace('\0', "\\0"), NUL_MESSAGE));
        }
        Ok(ApiQuery(params))
    }
}

/// The page size of a list route: `default` when absent, otherwise a whole
/// number from 1 to `max`; anything else is a 400 naming `limit` (never
/// silently clamped).
pub(crate) fn limit(params: &HashMap<String, String>, default: u32, max: u32) -> Result<u32, ApiError> {
    let Some(raw) = params.get("limit") else { return Ok(default) };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::with_field(StatusCode::BAD_REQUEST, "limit", format!("must be a whole number from 1 to {max}, not '{raw}'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: &str) -> HashMap<String, String> {
        HashMap::from([("limit".to_string(), limit.to_string())])
    }

    #[test]
    fn limit_is_refused_out_of_range_never_clamped() {
        assert_eq!(limit(&HashMap::new(), 50, 500).ok(), Some(50));
        assert_eq!(limit(&params("1"), 50, 500).ok(), Some(1));
        assert_eq!(limit(&params("500"), 50, 500).ok(), Some(500));
        for bad in ["0", "-1", "501", "abc", "", "1.5", "99999999999"] {
            let err = limit(&params(bad), 50, 500).expect_err(bad);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(err.errors_for_test(), ["limit"], "{bad}");
        }
    }
}
