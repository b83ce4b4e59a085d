//! Host ceilings: every limit in a manifest is a request that the host clamps
//! to what ops allow, and what was asked for stays known beside what is granted.

use serde::{Deserialize, Serialize};

use crate::engine::{POOL_INSTANCES_PER_COMPONENT, POOL_MAX_MEMORY_BYTES, POOL_TABLE_ELEMENTS};
use crate::manifest::{Limits, Manifest, ManifestError};

/// The largest linear memory one instance can get from the pool, in MiB:
/// a manifest asking for more is refused at install.
pub const POOL_MAX_MEMORY_MIB: u64 = POOL_MAX_MEMORY_BYTES / (1024 * 1024);

/// The most the host grants any plugin, whatever its manifest asks
/// (`[plugin_ceilings]` in the server's configuration file; same keys as a
/// manifest's `[limits]` plus `breaker_threshold`). A limit a manifest leaves
/// unset takes its default, also clamped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginCeilings {
    /// Linear memory, MiB (default 256; at most [`POOL_MAX_MEMORY_MIB`]).
    pub memory_mib: u64,
    /// Wall time of one call, ms (default 60000).
    pub timeout_ms: u64,
    /// Fuel per call; `None` (the default) lets a plugin run without a fuel limit.
    pub fuel: Option<u64>,
    /// Largest input, bytes (default 16 MiB).
    pub max_input_bytes: u64,
    /// Bytes one call may hand the host in all, bytes (default 4 MiB).
    pub max_output_bytes: u64,
    /// Ticket changes one call may queue or return (default 1000).
    pub max_changes: u64,
    /// Log bytes kept per call (default 1 MiB).
    pub max_log_bytes: u64,
    /// Outbound requests per call (default 100).
    pub max_http_requests: u64,
    /// Largest HTTP response body, bytes (default 16 MiB).
    pub max_http_response_bytes: u64,
    /// Key-value store quota, bytes (default 16 MiB).
    pub kv_max_bytes: u64,
    /// Table elements (default and most: the pool's 200000).
    pub table_elements: u64,
    /// Instances per call (default and most: the pool's 50).
    pub instances: u64,
    /// Consecutive failures before the breaker suspends a plugin (default 100),
    /// so no plugin can ask never to be suspended.
    pub breaker_threshold: u32,
}

impl Default for PluginCeilings {
    fn default() -> Self {
        PluginCeilings {
            memory_mib: 256,
            timeout_ms: 60_000,
            fuel: None,
            max_input_bytes: 16 * 1024 * 1024,
            max_output_bytes: 4 * 1024 * 1024,
            max_changes: 1000,
            max_log_bytes: 1024 * 1024,
            max_http_requests: 100,
            max_http_response_bytes: 16 * 1024 * 1024,
            kv_max_bytes: 16 * 1024 * 1024,
            table_elements: POOL_TABLE_ELEMENTS,
            instances: POOL_INSTANCES_PER_COMPONENT,
            breaker_threshold: 100,
        }
    }
}

/// A limit's key, what the manifest asks, its default and its ceiling.
type LimitRow = (&'static str, Option<u64>, Option<u64>, Option<u64>);

/// One limit as asked for and as granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitGrant {
    /// The manifest key, e.g. `limits.memory_mib` or `policy.breaker_threshold`.
    pub key: &'static str,
    /// What the manifest asked for (`None`: it left the key unset).
    pub requested: Option<u64>,
    /// What the plugin gets (`None`: no limit, only for fuel).
    pub granted: Option<u64>,
}

impl LimitGrant {
    /// Whether the host gave less than the manifest asked for.
    pub fn clamped(&self) -> bool {
        self.requested.is_some() && self.requested != self.granted
    }

    /// The grant for people: `limits.timeout_ms = 500`, `… = 2000 (default)`
    /// or `… = 60000 (asked for 600000; clamped to the host ceiling)`.
    pub fn line(&self) -> String {
        let granted = self.granted.map(|g| g.to_string()).unwrap_or_else(|| "unlimited".into());
        match self.requested {
            None => format!("{} = {granted} (default)", self.key),
            Some(r) if self.clamped() => format!("{} = {granted} (asked for {r}; clamped to the host ceiling)", self.key),
            Some(_) => format!("{} = {granted}", self.key),
        }
    }

    /// How much it grants, for comparing versions (no limit is the most).
    fn rank(&self) -> u128 {
        self.granted.map(u128::from).unwrap_or(u128::MAX)
    }
}

impl PluginCeilings {
    /// Checks ceilings set by ops: each at least 1, and none above what the
    /// instance pool can give. The message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("memory_mib", self.memory_mib),
            ("timeout_ms", self.timeout_ms),
            ("max_input_bytes", self.max_input_bytes),
            ("max_output_bytes", self.max_output_bytes),
            ("max_changes", self.max_changes),
            ("max_log_bytes", self.max_log_bytes),
            ("max_http_requests", self.max_http_requests),
            ("max_http_response_bytes", self.max_http_response_bytes),
            ("kv_max_bytes", self.kv_max_bytes),
            ("table_elements", self.table_elements),
            ("instances", self.instances),
            ("breaker_threshold", u64::from(self.breaker_threshold)),
            ("fuel", self.fuel.unwrap_or(1)),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("plugin_ceilings.{key}: must be at least 1"));
        }
        let pool = [
            ("memory_mib", self.memory_mib, POOL_MAX_MEMORY_MIB),
            ("table_elements", self.table_elements, POOL_TABLE_ELEMENTS),
            ("instances", self.instances, POOL_INSTANCES_PER_COMPONENT),
        ];
        if let Some((key, value, most)) = pool.iter().find(|(_, v, most)| v > most) {
            return Err(format!("plugin_ceilings.{key}: {value} is more than the instance pool gives one plugin ({most})"));
        }
        Ok(())
    }

    /// Refuses what no ceiling can make true: memory beyond what the pool
    /// gives one instance (it would fail as a trap at run time, not as a limit).
    pub fn refuse_beyond_pool(manifest: &Manifest) -> Result<(), ManifestError> {
        match manifest.limits.memory_mib {
            Some(asked) if asked > POOL_MAX_MEMORY_MIB => Err(ManifestError {
                field: "limits.memory_mib".into(),
                message: format!(
                    "{asked} MiB is more than this host can give one plugin instance ({POOL_MAX_MEMORY_MIB} MiB); ask for at most {POOL_MAX_MEMORY_MIB}"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Every limit of `manifest` as asked for and granted, in manifest order.
    pub fn grants(&self, manifest: &Manifest) -> Vec<LimitGrant> {
        let l = &manifest.limits;
        let rows: [LimitRow; 13] = [
            ("limits.memory_mib", l.memory_mib, Some(64), Some(self.memory_mib)),
            ("limits.timeout_ms", l.timeout_ms, Some(2000), Some(self.timeout_ms)),
            ("limits.fuel", l.fuel, None, self.fuel),
            ("limits.max_input_bytes", l.max_input_bytes, Some(4 * 1024 * 1024), Some(self.max_input_bytes)),
            ("limits.max_output_bytes", l.max_output_bytes, Some(1024 * 1024), Some(self.max_output_bytes)),
            ("limits.max_changes", l.max_changes, Some(100), Some(self.max_changes)),
            ("limits.max_log_bytes", l.max_log_bytes, Some(64 * 1024), Some(self.max_log_bytes)),
            ("limits.max_http_requests", l.max_http_requests, Some(10), Some(self.max_http_requests)),
            ("limits.max_http_response_bytes", l.max_http_response_bytes, Some(1024 * 1024), Some(self.max_http_response_bytes)),
            ("limits.kv_max_bytes", l.kv_max_bytes, Some(1024 * 1024), Some(self.kv_max_bytes)),
            ("limits.table_elements", l.table_elements, Some(200_000), Some(self.table_elements)),
            ("limits.instances", l.instances, Some(50), Some(self.instances)),
            (
                "policy.breaker_threshold",
                manifest.policy.breaker_threshold.map(u64::from),
                Some(10),
                Some(u64::from(self.breaker_threshold)),
            ),
        ];
        rows.into_iter()
            .map(|(key, requested, default, ceiling)| {
                let wanted = requested.or(default);
                let granted = match (wanted, ceiling) {
                    (Some(w), Some(c)) => Some(w.min(c)),
                    (w, None) => w,
                    (None, c) => c,
                };
                // Zero is never granted: a manifest's 0 means the least there is.
                LimitGrant { key, requested, granted: granted.map(|g| g.max(1)) }
            })
            .collect()
    }

    /// Limits of `manifest` that `self` grants more of than `older` had
    /// (both under these ceilings), said for people.
    pub fn raised(&self, manifest: &Manifest, older: &Manifest) -> Vec<String> {
        let before = self.grants(older);
        self.grants(manifest)
            .into_iter()
            .zip(before)
            .filter(|(now, then)| now.rank() > then.rank())
            .map(|(now, then)| {
                let show = |g: Option<u64>| g.map(|v| v.to_string()).unwrap_or_else(|| "unlimited".into());
                format!("{} raised from {} to {}", now.key, show(then.granted), show(now.granted))
            })
            .collect()
    }
}

impl Manifest {
    /// The limits a call of this plugin runs with: what the manifest asks
    /// for (or the defaults), clamped to `ceilings`.
    pub fn limits(&self, ceilings: &PluginCeilings) -> Limits {
        let grants = ceilings.grants(self);
        let granted = |key: &str| grants.iter().find(|g| g.key == key).and_then(|g| g.granted);
        // Every key but fuel is granted a number (zero never): 1 only if a key is misspelt here.
        let at = |key: &str| granted(key).unwrap_or(1);
        Limits {
            memory_bytes: at("limits.memory_mib") * 1024 * 1024,
            timeout_ms: at("limits.timeout_ms"),
            fuel: granted("limits.fuel"),
            max_input_bytes: at("limits.max_input_bytes"),
            max_output_bytes: at("limits.max_output_bytes"),
            max_changes: at("limits.max_changes"),
            max_log_bytes: at("limits.max_log_bytes"),
            max_http_requests: at("limits.max_http_requests"),
            max_http_response_bytes: at("limits.max_http_response_bytes"),
            kv_max_bytes: at("limits.kv_max_bytes"),
            table_elements: at("limits.table_elements"),
            instances: at("limits.instances"),
        }
    }

    /// Consecutive failures before the breaker suspends the plugin, clamped to the ceiling.
    pub fn breaker_threshold(&self, ceilings: &PluginCeilings) -> i64 {
        let granted = ceilings.grants(self).into_iter().find(|g| g.key == "policy.breaker_threshold").and_then(|g| g.granted);
        granted.map(|g| g as i64).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name = \"x\"\nversion = \"0.1.0\"\nworld = \"postmaster-filter\"\nwit = \"0.1.0\"\n";

    fn manifest(extra: &str) -> Manifest {
        Manifest::parse(&format!("{BASE}{extra}")).expect("valid manifest")
    }

    #[test]
    fn unset_limits_take_the_defaults() {
        let m = manifest("");
        let limits = m.limits(&PluginCeilings::default());
        assert_eq!((limits.memory_bytes, limits.timeout_ms, limits.fuel), (64 << 20, 2000, None));
        assert_eq!(m.breaker_threshold(&PluginCeilings::default()), 10);
        assert!(PluginCeilings::default().grants(&m).iter().all(|g| !g.clamped() && g.line().ends_with("(default)")));
    }

    #[test]
    fn every_limit_is_clamped_to_its_ceiling() {
        let m = manifest(
            "[limits]\nmemory_mib = 400\ntimeout_ms = 600000\nfuel = 9000000000\nmax_input_bytes = 999999999\n\
             max_output_bytes = 999999999\nmax_changes = 999999\nmax_log_bytes = 999999999\nmax_http_requests = 999999\n\
             max_http_response_bytes = 999999999\nkv_max_bytes = 999999999\ntable_elements = 9999999\ninstances = 9999\n\
             [policy]\nbreaker_threshold = 1000000\n",
        );
        let ceilings = PluginCeilings { fuel: Some(1_000_000), ..PluginCeilings::default() };
        let grants = ceilings.grants(&m);
        assert_eq!(grants.len(), 13);
        assert!(grants.iter().all(LimitGrant::clamped), "{grants:?}");
        let limits = m.limits(&ceilings);
        let c = &ceilings;
        assert_eq!(limits.memory_bytes, c.memory_mib << 20);
        assert_eq!(
            [limits.timeout_ms, limits.max_input_bytes, limits.max_output_bytes, limits.max_log_bytes, limits.max_http_requests],
            [c.timeout_ms, c.max_input_bytes, c.max_output_bytes, c.max_log_bytes, c.max_http_requests]
        );
        assert_eq!(
            [limits.max_http_response_bytes, limits.kv_max_bytes, limits.table_elements, limits.instances],
            [c.max_http_response_bytes, c.kv_max_bytes, c.table_elements, c.instances]
        );
        assert_eq!(limits.max_changes, c.max_changes);
        assert_eq!(limits.fuel, Some(1_000_000));
        assert_eq!(m.breaker_threshold(c), 100, "no plugin can ask never to be suspended");
        let line = grants.iter().find(|g| g.key == "limits.timeout_ms").expect("timeout").line();
        assert_eq!(line, "limits.timeout_ms = 60000 (asked for 600000; clamped to the host ceiling)");
    }

    #[test]
    fn a_ceiling_below_a_default_lowers_the_default_and_a_fuel_ceiling_limits_unset_fuel() {
        let ceilings = PluginCeilings { timeout_ms: 500, fuel: Some(10), ..PluginCeilings::default() };
        let limits = manifest("").limits(&ceilings);
        assert_eq!((limits.timeout_ms, limits.fuel), (500, Some(10)));
    }

    #[test]
    fn memory_beyond_the_pool_is_refused_naming_the_key_and_the_real_ceiling() {
        let err = PluginCeilings::refuse_beyond_pool(&manifest("[limits]\nmemory_mib = 4096\n")).expect_err("too big");
        assert_eq!(err.field, "limits.memory_mib");
        assert!(err.message.contains(&format!("{POOL_MAX_MEMORY_MIB} MiB")), "{err}");
        assert!(PluginCeilings::refuse_beyond_pool(&manifest("[limits]\nmemory_mib = 512\n")).is_ok());
    }

    #[test]
    fn raised_limits_are_named() {
        let c = PluginCeilings::default();
        let old = manifest("[limits]\ntimeout_ms = 500\nfuel = 10\n");
        let new = manifest("[limits]\ntimeout_ms = 1000\n[policy]\nbreaker_threshold = 5\n");
        assert_eq!(c.raised(&new, &old), ["limits.timeout_ms raised from 500 to 1000", "limits.fuel raised from 10 to unlimited"]);
        assert!(c.raised(&old, &old).is_empty());
    }

    #[test]
    fn ceilings_from_ops_are_checked() {
        assert!(PluginCeilings::default().validate().is_ok());
        let zero = PluginCeilings { kv_max_bytes: 0, ..PluginCeilings::default() };
        assert!(zero.validate().expect_err("zero").starts_with("plugin_ceilings.kv_max_bytes"));
        let big = PluginCeilings { memory_mib: 4096, ..PluginCeilings::default() };
        assert!(big.validate().expect_err("beyond the pool").contains("memory_mib"));
        let parsed: PluginCeilings = toml::from_str("kv_max_bytes = 4096").expect("toml");
        assert_eq!(parsed, PluginCeilings { kv_max_bytes: 4096, ..PluginCeilings::default() });
    }
}
