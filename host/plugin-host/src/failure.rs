//! Why a plugin call failed: a [`FailureKind`] (the core's, with whose fault
//! it was) and a message for people.

use std::fmt;

pub use switchboard_core::desk::{FailureKind, InvocationOutcome};

/// Why an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The cause.
    pub kind: FailureKind,
    /// What happened, for people, on one line.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`; the message is escaped onto one line (it may
    /// quote the guest: its error text, a backtrace's names).
    pub(crate) fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        let message = message.into();
        let message = match crate::logs::escape(&message) {
            std::borrow::Cow::Borrowed(_) => message,
            std::borrow::Cow::Owned(escaped) => escaped,
        };
        Failure { kind, message }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// The outcome of a call that ended with `status`.
pub fn outcome_of(status: &Result<(), Failure>) -> InvocationOutcome {
    match status {
        Ok(()) => InvocationOutcome::Ok,
        Err(f) if f.kind == FailureKind::PluginError => InvocationOutcome::PluginError,
        Err(_) => InvocationOutcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_name_plugin_errors_apart() {
        let failed = |kind| Err(Failure::new(kind, "x"));
        assert_eq!(outcome_of(&Ok(())), InvocationOutcome::Ok);
        assert_eq!(outcome_of(&failed(FailureKind::PluginError)), InvocationOutcome::PluginError);
        assert_eq!(outcome_of(&failed(FailureKind::Timeout)), InvocationOutcome::Failed);
    }
}
