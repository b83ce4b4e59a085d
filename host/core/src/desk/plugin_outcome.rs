//! How a plugin call ended, as the invocation records store it: whether it
//! succeeded, and if not, why and whose fault that was (the circuit breaker
//! counts only a plugin's own faults, never a busy host or a caller's input).

use std::fmt;

/// The cause of a failed call. Its `as_str` form is what invocation records,
/// metrics and the API show (`error_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The guest trapped (a panic, an abort, an out-of-bounds access).
    Trap,
    /// The guest ran past its `timeout_ms` (wall time from its start).
    Timeout,
    /// The guest asked for more linear memory than its limit.
    MemoryLimit,
    /// The guest asked for more table elements than its limit.
    TableLimit,
    /// The guest used up its fuel budget.
    Fuel,
    /// The guest overflowed its stack.
    StackOverflow,
    /// The guest handed the host more than `max_output_bytes` in all
    /// (result, changes, key-value writes, request bodies) or more than
    /// `max_changes` ticket changes.
    OutputTooLarge,
    /// The guest's result breaks a rule no limit covers (a control
    /// character in a single-line field, say).
    InvalidOutput,
    /// The caller's input was over `max_input_bytes`.
    InputTooLarge,
    /// The guest returned its own `plugin-error`.
    PluginError,
    /// The component could not be instantiated for a host reason.
    Instantiate,
    /// Something on the host's side failed (a database error, a bad grant).
    Host,
    /// The plugin is disabled or suspended; nothing ran.
    Disabled,
    /// A required configuration key is not set; nothing ran.
    Config,
    /// No execution slot or memory became free within the caller's deadline;
    /// nothing ran. The caller may retry later.
    Busy,
}

impl FailureKind {
    /// The kind's name in records, metrics and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Trap => "trap",
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory_limit",
            FailureKind::TableLimit => "table_limit",
            FailureKind::Fuel => "fuel",
            FailureKind::StackOverflow => "stack_overflow",
            FailureKind::OutputTooLarge => "output_too_large",
            FailureKind::InvalidOutput => "invalid_output",
            FailureKind::InputTooLarge => "input_too_large",
            FailureKind::PluginError => "plugin_error",
            FailureKind::Instantiate => "instantiate",
            FailureKind::Host => "host",
            FailureKind::Disabled => "disabled",
            FailureKind::Config => "config",
            FailureKind::Busy => "busy",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [FailureKind; 15] = [
        FailureKind::Trap,
        FailureKind::Timeout,
        FailureKind::MemoryLimit,
        FailureKind::TableLimit,
        FailureKind::Fuel,
        FailureKind::StackOverflow,
        FailureKind::OutputTooLarge,
        FailureKind::InvalidOutput,
        FailureKind::InputTooLarge,
        FailureKind::PluginError,
        FailureKind::Instantiate,
        FailureKind::Host,
        FailureKind::Disabled,
        FailureKind::Config,
        FailureKind::Busy,
    ];

    /// Parses exactly a name [`FailureKind::as_str`] gives.
    pub fn parse(s: &str) -> Option<FailureKind> {
        FailureKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True when the plugin itself caused the failure: only these count
    /// towards its circuit breaker. A busy host, a caller's oversized input,
    /// a missing configuration value or a host error are nobody's fault
    /// the plugin could fix, so they never suspend it.
    pub fn is_plugin_fault(self) -> bool {
        matches!(
            self,
            FailureKind::Trap
                | FailureKind::Timeout
                | FailureKind::MemoryLimit
                | FailureKind::TableLimit
                | FailureKind::Fuel
                | FailureKind::StackOverflow
                | FailureKind::OutputTooLarge
                | FailureKind::InvalidOutput
                | FailureKind::PluginError
        )
    }

    /// True when the guest never ran (so there is no invocation to record).
    pub fn refused_before_running(self) -> bool {
        matches!(self, FailureKind::Disabled | FailureKind::Busy)
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FailureKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How a finished call is recorded (`outcome` of an invocation record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationOutcome {
    /// The call returned a result within every limit.
    Ok,
    /// The guest returned its own `plugin-error`.
    PluginError,
    /// Any other failure.
    Failed,
}

impl InvocationOutcome {
    /// The outcome's name in records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationOutcome::Ok => "ok",
            InvocationOutcome::PluginError => "plugin_error",
            InvocationOutcome::Failed => "failed",
        }
    }

    /// Every outcome, in declaration order.
    pub const ALL: [InvocationOutcome; 3] = [InvocationOutcome::Ok, InvocationOutcome::PluginError, InvocationOutcome::Failed];

    /// Parses exactly a name [`InvocationOutcome::as_str`] gives.
    pub fn parse(s: &str) -> Option<InvocationOutcome> {
        InvocationOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for InvocationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::parse(kind.as_str()), Some(kind));
        }
        for outcome in InvocationOutcome::ALL {
            assert_eq!(InvocationOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(FailureKind::parse("Trap"), None);
    }

    #[test]
    fn only_the_plugins_own_faults_count() {
        for kind in [FailureKind::Busy, FailureKind::Disabled, FailureKind::Config, FailureKind::Host, FailureKind::InputTooLarge] {
            assert!(!kind.is_plugin_fault(), "{kind} must not trip the breaker");
        }
        for kind in [FailureKind::Trap, FailureKind::Timeout, FailureKind::MemoryLimit, FailureKind::PluginError] {
            assert!(kind.is_plugin_fault(), "{kind} is the plugin's own fault");
        }
    }
}
