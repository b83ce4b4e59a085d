//! `plugin.toml`: what a plugin is, which world it implements, what it asks
//! for (capabilities), its limits and its configuration schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The worlds a plugin can implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Incoming mail filters.
    PostmasterFilter,
    /// Process script tasks.
    ScriptTask,
    /// Web service invokers.
    ServiceInvoker,
    /// Process transition actions.
    TransitionAction,
}

impl World {
    /// Every world.
    pub const ALL: [World; 4] = [World::PostmasterFilter, World::ScriptTask, World::ServiceInvoker, World::TransitionAction];

    /// The WIT world name.
    pub fn as_str(self) -> &'static str {
        match self {
            World::PostmasterFilter => "postmaster-filter",
            World::ScriptTask => "script-task",
            World::ServiceInvoker => "service-invoker",
            World::TransitionAction => "transition-action",
        }
    }

    /// Parses a WIT world name.
    pub fn parse(s: &str) -> Option<World> {
        World::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// The exported function's name.
    pub fn function(self) -> &'static str {
        match self {
            World::PostmasterFilter => "filter",
            World::ScriptTask => "run",
            World::ServiceInvoker => "invoke",
            World::TransitionAction => "apply",
        }
    }
}

/// The WIT package versions this host links.
pub const SUPPORTED_WIT: &[&str] = &["0.1.0"];

/// A directory grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryGrant {
    /// Directory on the host.
    pub host: String,
    /// Where the plugin sees it.
    pub guest: String,
    /// Whether the plugin may write (default read-only).
    #[serde(default)]
    pub write: bool,
}

/// What the plugin asks to be granted; nothing else is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// `scheme://host[:port]` patterns for outbound HTTP (`*.` allowed as the first label).
    #[serde(default)]
    pub http: Vec<String>,
    /// Outbound HTTP may reach private, loopback and link-local addresses (off by default).
    #[serde(default)]
    pub http_private: bool,
    /// Use of the key-value store.
    #[serde(default)]
    pub kv: bool,
    /// Directories.
    #[serde(default)]
    pub directories: Vec<DirectoryGrant>,
}

/// Resource limits as the manifest asks for them: requests that the host
/// clamps to its ceilings (`crate::ceilings`); unset ones take the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Linear memory, MiB (default 64).
    pub memory_mib: Option<u64>,
    /// Wall time, ms (default 2000).
    pub timeout_ms: Option<u64>,
    /// Fuel (instructions, roughly) per call; unlimited when unset.
    pub fuel: Option<u64>,
    /// Largest input in bytes (default 4 MiB).
    pub max_input_bytes: Option<u64>,
    /// Bytes a call may hand the host in all (result, ticket changes,
    /// key-value writes, HTTP request bodies; default 1 MiB).
    pub max_output_bytes: Option<u64>,
    /// Ticket changes one call may queue or return (default 100).
    pub max_changes: Option<u64>,
    /// Log bytes kept per call (default 64 KiB).
    pub max_log_bytes: Option<u64>,
    /// Outbound requests per call (default 10).
    pub max_http_requests: Option<u64>,
    /// Largest response body, bytes (default 1 MiB).
    pub max_http_response_bytes: Option<u64>,
    /// Key-value store quota, bytes (default 1 MiB).
    pub kv_max_bytes: Option<u64>,
    /// Table elements (default 200000).
    pub table_elements: Option<u64>,
    /// Instances per call (default 50).
    pub instances: Option<u64>,
}

/// Limits as granted: the defaults applied and every value clamped to the host's ceilings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, bytes.
    pub memory_bytes: u64,
    /// Wall time, ms.
    pub timeout_ms: u64,
    /// Fuel per call.
    pub fuel: Option<u64>,
    /// Largest input.
    pub max_input_bytes: u64,
    /// Bytes a call may hand the host in all.
    pub max_output_bytes: u64,
    /// Ticket changes per call.
    pub max_changes: u64,
    /// Log bytes kept.
    pub max_log_bytes: u64,
    /// Outbound requests per call.
    pub max_http_requests: u64,
    /// Largest response body.
    pub max_http_response_bytes: u64,
    /// Key-value quota.
    pub kv_max_bytes: u64,
    /// Table elements.
    pub table_elements: u64,
    /// Instances per call.
    pub instances: u64,
}

/// What callers do when the plugin fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Log and carry on as if the plugin were not there.
    #[default]
    Skip,
    /// Fail the caller's operation.
    Fail,
}

/// Failure handling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Skip or fail.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Consecutive failures that suspend the plugin (default 10).
    pub breaker_threshold: Option<u32>,
}

/// Type of a configuration value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    /// Any text.
    #[default]
    String,
    /// A whole number.
    Integer,
    /// true or false.
    Boolean,
}

/// One configuration key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigKey {
    /// Value type.
    #[serde(default, rename = "type")]
    pub value_type: ConfigType,
    /// Default value.
    pub default: Option<String>,
    /// Must be set before the plugin runs.
    #[serde(default)]
    pub required: bool,
    /// Stored encrypted, never shown or logged.
    #[serde(default)]
    pub secret: bool,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}

/// A parsed `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// The world it implements.
    pub world: World,
    /// The WIT package version it was built against.
    pub wit: String,
    /// Requested capabilities.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// Failure policy.
    #[serde(default)]
    pub policy: Policy,
    /// Configuration schema.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigKey>,
}

/// A manifest problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    /// The offending key.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError { field: field.into(), message: message.into() }
}

impl Manifest {
    /// Parses and validates a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let span = e.span().map(|s| line_of(text, s.start)).map(|l| format!(" (line {l})")).unwrap_or_default();
            problem("plugin.toml", format!("{}{span}", e.message()))
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        if self.name.is_empty()
            || self.name.len() > 64
            || !self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(problem("name", "use 1-64 characters of a-z, 0-9 and '-'"));
        }
        semver::Version::parse(&self.version)
            .map_err(|e| problem("version", format!("'{}' is not a semantic version: {e}", self.version)))?;
        let wit = semver::Version::parse(&self.wit).map_err(|e| problem("wit", format!("'{}' is not a version: {e}", self.wit)))?;
        let supported = SUPPORTED_WIT
            .iter()
            .filter_map(|v| semver::Version::parse(v).ok())
            .any(|v| v.major == wit.major && v.minor == wit.minor && wit <= v);
        if !supported {
            return Err(problem("wit", format!("this host links switchboard:plugin {}, not {}", SUPPORTED_WIT.join(", "), self.wit)));
        }
        if !self.capabilities.http.is_empty() && self.world != World::ServiceInvoker {
            return Err(problem("capabilities.http", "only service-invoker plugins can make outbound requests"));
        }
        for (i, pattern) in self.capabilities.http.iter().enumerate() {
            crate::egress::HostPattern::parse(pattern).map_err(|m| problem(format!("capabilities.http[{i}]"), m))?;
        }
        for (i, dir) in self.capabilities.directories.iter().enumerate() {
            if !dir.host.starts_with('/') || !dir.guest.starts_with('/') {
                return Err(problem(format!("capabilities.directories[{i}]"), "host and guest paths must be absolute"));
            }
        }
        let l = &self.limits;
        if l.memory_mib.is_some_and(|m| m == 0 || m > 4096) {
            return Err(problem("limits.memory_mib", "must be 1-4096"));
        }
        if l.timeout_ms.is_some_and(|t| t == 0 || t > 600_000) {
            return Err(problem("limits.timeout_ms", "must be 1-600000"));
        }
        for (key, spec) in &self.config {
            if let Some(default) = &spec.default {
                check_value(spec.value_type, default).map_err(|m| problem(format!("config.{key}.default"), m))?;
            }
        }
        Ok(())
    }

    /// A one-line-per-item description of the capabilities, for people.
    pub fn capability_lines(&self) -> Vec<String> {
        let c = &self.capabilities;
        let mut lines: Vec<String> = c.http.iter().map(|h| format!("outbound HTTP to {h}")).collect();
        if c.http_private {
            lines.push("outbound HTTP to private and loopback addresses".into());
        }
        if c.kv {
            lines.push("its key-value store".into());
        }
        for d in &c.directories {
            lines.push(format!("directory {} as {} ({})", d.host, d.guest, if d.write { "read-write" } else { "read-only" }));
        }
        lines
    }

    /// Capabilities this manifest asks for that `older` did not.
    pub fn added_capabilities(&self, older: &Manifest) -> Vec<String> {
        let before = older.capability_lines();
        self.capability_lines().into_iter().filter(|l| !before.contains(l)).collect()
    }
}

/// Checks a plugin name: 1-64 characters of a-z, 0-9 and '-', starting with a letter.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("use 1-64 characters of a-z, 0-9 and '-', starting with a letter".into())
    }
}

/// Checks a configuration value against its type.
pub fn check_value(value_type: ConfigType, value: &str) -> Result<(), String> {
    match value_type {
        ConfigType::String => Ok(()),
        ConfigType::Integer => value.trim().parse::<i64>().map(|_| ()).map_err(|_| format!("'{value}' is not a whole number")),
        ConfigType::Boolean => match value {
            "true" | "false" => Ok(()),
            _ => Err(format!("'{value}' is not true or false")),
        },
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "spam-filter"
version = "0.1.0"
world = "postmaster-filter"
wit = "0.1.0"
[capabilities]
kv = true
[config.threshold]
type = "integer"
default = "5"
"#;

    #[test]
    fn a_good_manifest_parses_with_defaults() {
        let m = Manifest::parse(GOOD).expect("valid");
        assert_eq!(m.world, World::PostmasterFilter);
        assert_eq!(m.capability_lines(), vec!["its key-value store".to_string()]);
    }

    #[test]
    fn mistakes_name_the_key() {
        let cases = [
            (GOOD.replace("spam-filter", "Spam Filter"), "name"),
            (GOOD.replace("version = \"0.1.0\"", "version = \"one\""), "version"),
            (GOOD.replace("wit = \"0.1.0\"", "wit = \"0.2.0\""), "wit"),
            (GOOD.replace("default = \"5\"", "default = \"five\""), "config.threshold.default"),
            (GOOD.replace("kv = true", "kv = true\nhttp = [\"https://x.example\"]"), "capabilities.http"),
            (GOOD.replace("kv = true", "kvv = true"), "plugin.toml"),
        ];
        for (text, field) in cases {
            let err = Manifest::parse(&text).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
        let err = Manifest::parse(&GOOD.replace("kv = true", "kvv = true")).expect_err("typo");
        assert!(err.message.contains("line 7"), "{err}");
    }
}
