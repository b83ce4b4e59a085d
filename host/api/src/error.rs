//! The API's one error type, rendered as RFC 9457 problem details.
//!
//! Only this module knows HTTP status codes for core errors. Internal errors
//! are logged with their cause and answered with a generic message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use switchboard_core::desk::{DeskError, FieldError};

/// One problem with one field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field, as a dotted path (`article.body`, `dynamic_fields.Region`, `priority`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// An RFC 9457 problem details document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// Field-level problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    errors: Vec<ProblemField>,
    /// Seconds after which a retry is likely to succeed (`Retry-After`).
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and explanation.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError { status, detail: detail.into(), errors: Vec::new(), retry_after: None }
    }

    /// A 422 naming one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: message.clone(),
            errors: vec![ProblemField { field: field.into(), message }],
            retry_after: None,
        }
    }

    /// An error with a status naming one field.
    pub fn with_field(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError { status, detail: message.clone(), errors: vec![ProblemField { field: field.into(), message }], retry_after: None }
    }

    /// 503 for work the server cannot take now; the client should retry
    /// after `retry_after` (rounded up to whole seconds, at least one).
    pub fn busy(detail: impl Into<String>, retry_after: std::time::Duration) -> ApiError {
        let seconds = retry_after.as_millis().div_ceil(1000).max(1) as u64;
        ApiError { retry_after: Some(seconds), ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, detail) }
    }

    /// 401 for a missing or unknown token.
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The named fields (for unit tests).
    #[cfg(test)]
    pub(crate) fn errors_for_test(&self) -> Vec<String> {
        self.errors.iter().map(|e| e.field.clone()).collect()
    }
}

impl From<DeskError> for ApiError {
    fn from(err: DeskError) -> Self {
        let status = match &err {
            DeskError::NotFound { .. } => StatusCode::NOT_FOUND,
            DeskError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DeskError::Conflict(_) => StatusCode::CONFLICT,
            DeskError::Forbidden(_) | DeskError::ForbiddenFields(_) => StatusCode::FORBIDDEN,
            DeskError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match err {
            DeskError::Invalid(fields) | DeskError::ForbiddenFields(fields) => ApiError {
                status,
                detail: fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
                errors: fields.into_iter().map(|FieldError { field, message }| ProblemField { field, message }).collect(),
                retry_after: None,
            },
            DeskError::Db(db) => {
                tracing::error!(error = %db, "database error");
                ApiError::new(status, "internal error; the server log has the details")
            }
            other => ApiError::new(status, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            problem_type: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
