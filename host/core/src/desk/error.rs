//! The one error type of the core.

use crate::db::{is_foreign_key_violation, is_unique_violation, DbError};

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `article.body` or `dynamic_fields.Region`.
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// Everything a core operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The named object does not exist (or the actor may not know it exists).
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of object, e.g. "ticket".
        what: &'static str,
        /// The id or name asked for.
        id: String,
    },
    /// The input is well-formed but not acceptable.
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The change collides with existing data (duplicate name, still referenced).
    #[error("{0}")]
    Conflict(String),
    /// The actor is not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The actor may not set these fields (a customer naming a field or queue
    /// the admin has not allowed); nothing was written.
    #[error("not allowed: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    ForbiddenFields(Vec<FieldError>),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for DeskError {
    fn from(err: sqlx::Error) -> Self {
        DeskError::Db(DbError::Sqlx(err))
    }
}

impl DeskError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> DeskError {
        DeskError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Maps a unique or foreign-key violation of a write to a conflict naming `what`.
    pub(crate) fn from_write(err: sqlx::Error, what: &str) -> DeskError {
        if is_unique_violation(&err) {
            DeskError::Conflict(format!("{what} already exists"))
        } else if is_foreign_key_violation(&err) {
            DeskError::Conflict(format!("{what} is still referenced by other records"))
        } else {
            err.into()
        }
    }
}

/// Collects field errors and turns them into one [`DeskError::Invalid`].
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<FieldError>);

impl Problems {
    /// Records a problem with `field`.
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Ok when nothing was recorded.
    pub(crate) fn finish(self) -> Result<(), DeskError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DeskError::Invalid(self.0))
        }
    }
}
