//! Configuration: command-line flags and `SWITCHBOARD_*` environment variables
//! (parsed by clap), an optional TOML file, then defaults that work on a laptop.
//! Flags win over the environment, which wins over the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use crate::db::SqliteSync;
use crate::desk::{CustomerField, CustomerPolicy, JobKind};
use crate::plugin::{ExecutionSettings, PluginCeilings};

/// Where the configuration and the database are: the flags of every subcommand
/// that opens the database (`serve`, `migrate`, `token`, `agent`, most of
/// `plugin`; not `plugin run` or `plugin new`). Global within the subcommand that
/// takes them, so `switchboard token --data-dir D list` works as well as
/// `switchboard token list --data-dir D`.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// TOML configuration file (keys as the long flags, with underscores).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded SQLite database and other state [default: ./switchboard-data].
    #[arg(long, global = true, env = "SWITCHBOARD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use this database instead of the embedded SQLite: postgres://USER@HOST/DB or sqlite://PATH.
    #[arg(long, global = true, env = "SWITCHBOARD_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// SQLite durability: full (fsync every commit; survives power loss) or normal (survives a crash of the process) [default: full].
    #[arg(long, global = true, env = "SWITCHBOARD_SQLITE_SYNCHRONOUS", value_name = "MODE")]
    pub sqlite_synchronous: Option<String>,
}

/// The signature rule: taken by `serve` and `plugin install`, where plugins are installed.
#[derive(Debug, Clone, Default, Args)]
pub struct SigningArgs {
    /// Refuse plugins that are not signed by a trusted key (`--require-signed-plugins=false`
    /// or the variable set to `false` turns off a `true` from the config file) [default: false].
    #[arg(
        long,
        env = "SWITCHBOARD_REQUIRE_SIGNED_PLUGINS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub require_signed_plugins: Option<bool>,
}

/// Settings only the server needs.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Two-digit system id put into every ticket number [default: 10].
    #[arg(long, env = "SWITCHBOARD_SYSTEM_ID", value_name = "N")]
    pub system_id: Option<u32>,
    /// The signature rule for installs through the API.
    #[command(flatten)]
    pub signing: SigningArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SWITCHBOARD_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Largest accepted request body in bytes, attachments included [default: 26214400].
    #[arg(long, env = "SWITCHBOARD_MAX_REQUEST_BYTES", value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Largest article body (text and HTML each) any writer may store, in bytes: API, CLI and plugin notes [default: 4194304].
    #[arg(long, env = "SWITCHBOARD_MAX_ARTICLE_BYTES", value_name = "BYTES")]
    pub max_article_bytes: Option<usize>,
    /// The longest an idle job worker sleeps, in milliseconds; an enqueue or the next due job wakes it sooner [default: 1000].
    #[arg(long, env = "SWITCHBOARD_JOB_POLL_INTERVAL_MS", value_name = "MS")]
    pub job_poll_interval_ms: Option<u64>,
    /// How long a node keeps a claimed job before another node may take it over, in
    /// seconds: the longest the jobs of a node that died wait [default: 300].
    #[arg(long, env = "SWITCHBOARD_JOB_LEASE_SECS", value_name = "SECS")]
    pub job_lease_secs: Option<u64>,
    /// Jobs this node runs at once, all kinds together [default: 32].
    #[arg(long, env = "SWITCHBOARD_JOB_CONCURRENCY", value_name = "N")]
    pub job_concurrency: Option<usize>,
    /// Jobs of one kind this node runs at once, as KIND=N, comma-separated (e.g.
    /// `ticket.pending_due=4`), so one slow kind never holds every slot [default: each kind's own].
    #[arg(long, env = "SWITCHBOARD_JOB_KIND_CONCURRENCY", value_name = "KIND=N", value_delimiter = ',')]
    pub job_kind_concurrency: Option<Vec<String>>,
    /// Queue for tickets whose creator names none (customers, later mail) [default: Raw].
    #[arg(long, env = "SWITCHBOARD_DEFAULT_QUEUE", value_name = "NAME")]
    pub default_queue: Option<String>,
    /// Queues a customer may name when it creates a ticket, comma-separated [default: the default queue only].
    #[arg(long, env = "SWITCHBOARD_CUSTOMER_QUEUES", value_name = "NAMES", value_delimiter = ',')]
    pub customer_queues: Option<Vec<String>>,
    /// Fields customers may set beyond title, article and queue, comma-separated: priority, type, dynamic_fields
    /// (customer-visible ones) [default: none].
    #[arg(long, env = "SWITCHBOARD_CUSTOMER_FIELDS", value_name = "FIELDS", value_delimiter = ',')]
    pub customer_fields: Option<Vec<String>>,
    /// Threads that run plugin code, at a lower CPU priority than those serving requests [default: one per core].
    #[arg(long, env = "SWITCHBOARD_PLUGIN_THREADS", value_name = "N")]
    pub plugin_threads: Option<usize>,
    /// Plugin calls this node runs at once, all plugins together (1-64); more wait their turn [default: 64].
    #[arg(long, env = "SWITCHBOARD_PLUGIN_CONCURRENCY", value_name = "N")]
    pub plugin_concurrency: Option<usize>,
    /// Calls of one plugin this node runs at once, so one plugin never takes every slot [default: 16].
    #[arg(long, env = "SWITCHBOARD_PLUGIN_CONCURRENCY_PER_PLUGIN", value_name = "N")]
    pub plugin_concurrency_per_plugin: Option<usize>,
    /// MiB of memory all running plugin instances may use together; each call reserves its plugin's
    /// memory limit, and a call that does not fit waits its turn [default: 2048].
    #[arg(long, env = "SWITCHBOARD_PLUGIN_MEMORY_BUDGET_MIB", value_name = "MIB")]
    pub plugin_memory_budget_mib: Option<u64>,
}

/// The TOML file: the same keys as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    sqlite_synchronous: Option<String>,
    system_id: Option<u32>,
    listen: Option<SocketAddr>,
    max_request_bytes: Option<usize>,
    max_article_bytes: Option<usize>,
    job_poll_interval_ms: Option<u64>,
    job_lease_secs: Option<u64>,
    job_concurrency: Option<usize>,
    job_kind_concurrency: Option<BTreeMap<String, usize>>,
    default_queue: Option<String>,
    customer_queues: Option<Vec<String>>,
    customer_fields: Option<Vec<String>>,
    require_signed_plugins: Option<bool>,
    plugin_threads: Option<usize>,
    plugin_concurrency: Option<usize>,
    plugin_concurrency_per_plugin: Option<usize>,
    plugin_memory_budget_mib: Option<u64>,
    plugin_ceilings: Option<PluginCeilings>,
}

/// A configuration problem, naming the setting or file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// State directory.
    pub data_dir: PathBuf,
    /// Database URL (the embedded SQLite file when none was given).
    pub database_url: String,
    /// SQLite durability.
    pub sqlite_synchronous: SqliteSync,
    /// Ticket number system id (0-99).
    pub system_id: u32,
    /// Listen address.
    pub listen: SocketAddr,
    /// Request body limit.
    pub max_request_bytes: usize,
    /// Article body limit, for every writer (the core enforces it).
    pub max_article_bytes: usize,
    /// Idle poll interval of the job worker.
    pub job_poll_interval_ms: u64,
    /// Lease of a claimed job in seconds (1 or more).
    pub job_lease_secs: u64,
    /// Jobs this node runs at once (1 or more).
    pub job_concurrency: usize,
    /// Per-kind limits on jobs run at once (each 1 or more).
    pub job_kind_concurrency: BTreeMap<JobKind, usize>,
    /// Default queue name.
    pub default_queue: String,
    /// What customers may set when they create a ticket.
    pub customer: CustomerPolicy,
    /// Only signed plugins may be installed.
    pub require_signed_plugins: bool,
    /// Where and how many plugin calls run at once.
    pub plugin_execution: ExecutionSettings,
    /// The most any plugin is granted (`[plugin_ceilings]` in the file; each key
    /// as in a manifest's `[limits]`, plus `breaker_threshold`).
    pub plugin_ceilings: PluginCeilings,
}

impl Config {
    /// Merges flags/env with the config file and defaults, and validates.
    pub fn resolve(common: &CommonArgs, serve: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &common.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let plugin_execution = plugin_execution(serve, &file)?;
        let data_dir = common.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("switchboard-data"));
        let database_url = match common.database_url.clone().or(file.database_url) {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("switchboard.db").display()),
        };
        let sync_text = common.sqlite_synchronous.clone().or(file.sqlite_synchronous).unwrap_or_else(|| "full".into());
        let sqlite_synchronous = sync_text.parse().map_err(|e| ConfigError(format!("sqlite_synchronous: {e}")))?;
        let system_id = serve.system_id.or(file.system_id).unwrap_or(10);
        if system_id > 99 {
            return Err(ConfigError(format!("system_id: {system_id} is out of range; use 0-99")));
        }
        let max_request_bytes = serve.max_request_bytes.or(file.max_request_bytes).unwrap_or(25 * 1024 * 1024);
        if max_request_bytes < 1024 {
            return Err(ConfigError("max_request_bytes: must be at least 1024".into()));
        }
        let max_article_bytes = serve.max_article_bytes.or(file.max_article_bytes).unwrap_or(crate::desk::DEFAULT_MAX_ARTICLE_BYTES);
        if max_article_bytes < 1024 {
            return Err(ConfigError("max_article_bytes: must be at least 1024".into()));
        }
        let job_poll_interval_ms = serve.job_poll_interval_ms.or(file.job_poll_interval_ms).unwrap_or(1000).max(10);
        let job_lease_secs = serve.job_lease_secs.or(file.job_lease_secs).unwrap_or(300);
        if job_lease_secs == 0 {
            return Err(ConfigError("job_lease_secs: must be at least 1".into()));
        }
        let job_concurrency = serve.job_concurrency.or(file.job_concurrency).unwrap_or(32);
        if job_concurrency == 0 {
            return Err(ConfigError("job_concurrency: must be at least 1".into()));
        }
        let kind_pairs: Vec<(String, String)> = match &serve.job_kind_concurrency {
            Some(flags) => flags
                .iter()
                .map(|f| f.split_once('=').map(|(k, n)| (k.to_string(), n.to_string())))
                .collect::<Option<_>>()
                .ok_or_else(|| ConfigError(format!("job_kind_concurrency: '{}' is not KIND=N", flags.join(","))))?,
            None => file.job_kind_concurrency.unwrap_or_default().into_iter().map(|(k, n)| (k, n.to_string())).collect(),
        };
        let job_kind_concurrency = kind_limits(&kind_pairs)?;
        let names = |list: Option<Vec<String>>| -> Vec<String> {
            list.unwrap_or_default().into_iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect()
        };
        let mut fields = Vec::new();
        for name in names(serve.customer_fields.clone().or(file.customer_fields)) {
            let field = CustomerField::parse(&name).ok_or_else(|| {
                let known: Vec<&str> = CustomerField::ALL.iter().map(|f| f.as_str()).collect();
                ConfigError(format!("customer_fields: unknown field '{name}'; expected {}", known.join(", ")))
            })?;
            fields.push(field);
        }
        let customer = CustomerPolicy { queues: names(serve.customer_queues.clone().or(file.customer_queues)), fields };
        let plugin_ceilings = file.plugin_ceilings.unwrap_or_default();
        plugin_ceilings.validate().map_err(ConfigError)?;
        Ok(Config {
            data_dir,
            database_url,
            sqlite_synchronous,
            system_id,
            listen: serve.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            max_request_bytes,
            max_article_bytes,
            job_poll_interval_ms,
            job_lease_secs,
            job_concurrency,
            job_kind_concurrency,
            default_queue: serve.default_queue.clone().or(file.default_queue).unwrap_or_else(|| "Raw".into()),
            customer,
            require_signed_plugins: serve.signing.require_signed_plugins.or(file.require_signed_plugins).unwrap_or(false),
            plugin_execution,
            plugin_ceilings,
        })
    }
}

/// The plugin execution bounds, each at least 1 (concurrency at most the pool's 64).
fn plugin_execution(serve: &ServeArgs, file: &FileConfig) -> Result<ExecutionSettings, ConfigError> {
    let defaults = ExecutionSettings::default();
    let at_least_one = |name: &str, value: Option<u64>, default: u64, max: u64| match value {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ConfigError(format!("{name}: {n} is out of range; use 1-{max}"))),
    };
    let pool = defaults.instances as u64;
    Ok(ExecutionSettings {
        threads: at_least_one(
            "plugin_threads",
            serve.plugin_threads.or(file.plugin_threads).map(|n| n as u64),
            defaults.threads as u64,
            256,
        )? as usize,
        instances: at_least_one("plugin_concurrency", serve.plugin_concurrency.or(file.plugin_concurrency).map(|n| n as u64), pool, pool)?
            as usize,
        per_plugin: at_least_one(
            "plugin_concurrency_per_plugin",
            serve.plugin_concurrency_per_plugin.or(file.plugin_concurrency_per_plugin).map(|n| n as u64),
            defaults.per_plugin as u64,
            pool,
        )? as usize,
        memory_budget_mib: at_least_one(
            "plugin_memory_budget_mib",
            serve.plugin_memory_budget_mib.or(file.plugin_memory_budget_mib),
            defaults.memory_budget_mib,
            1024 * 1024,
        )?,
    })
}

/// Reads `(KIND, N)` pairs into per-kind limits, naming a wrong kind or number.
fn kind_limits(pairs: &[(String, String)]) -> Result<BTreeMap<JobKind, usize>, ConfigError> {
    let known = || JobKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
    let mut limits = BTreeMap::new();
    for (kind, n) in pairs {
        let (kind, n) = (kind.trim(), n.trim());
        let kind = JobKind::parse(kind)
            .ok_or_else(|| ConfigError(format!("job_kind_concurrency: unknown job kind '{kind}'; expected one of {}", known())))?;
        let n: usize = n
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError(format!("job_kind_concurrency: '{n}' for {kind} is not a whole number of at least 1")))?;
        limits.insert(kind, n);
    }
    Ok(limits)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_on_a_laptop() {
        let config = Config::resolve(&CommonArgs::default(), &ServeArgs::default()).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url, "sqlite://switchboard-data/switchboard.db");
        assert_eq!(config.sqlite_synchronous, SqliteSync::Full);
        assert_eq!(config.job_lease_secs, 300);
    }

    #[test]
    fn job_kind_limits_name_the_kind_and_the_problem() {
        let with = |flags: &[&str]| {
            let serve = ServeArgs { job_kind_concurrency: Some(flags.iter().map(|f| f.to_string()).collect()), ..Default::default() };
            Config::resolve(&CommonArgs::default(), &serve)
        };
        let config = with(&["ticket.pending_due=3"]).expect("valid");
        assert_eq!(config.job_kind_concurrency, BTreeMap::from([(JobKind::PendingDue, 3)]));
        for (flags, says) in [
            (&["mail.fetch=2"][..], "unknown job kind 'mail.fetch'"),
            (&["ticket.pending_due"][..], "is not KIND=N"),
            (&["ticket.pending_due=0"][..], "at least 1"),
        ] {
            let err = with(flags).expect_err("refused").0;
            assert!(err.starts_with("job_kind_concurrency: ") && err.contains(says), "{flags:?}: {err}");
        }
    }

    #[test]
    fn job_lease_of_zero_is_refused() {
        let serve = ServeArgs { job_lease_secs: Some(0), ..Default::default() };
        let err = Config::resolve(&CommonArgs::default(), &serve).expect_err("a zero lease would hand every job out twice");
        assert!(err.0.contains("job_lease_secs"), "{err}");
        let serve = ServeArgs { job_lease_secs: Some(3), ..Default::default() };
        assert_eq!(Config::resolve(&CommonArgs::default(), &serve).expect("valid").job_lease_secs, 3);
    }

    #[test]
    fn file_fills_gaps_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("sb-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("switchboard.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nsystem_id = 42\n").expect("write");
        let common = CommonArgs { config: Some(path.clone()), ..Default::default() };
        let config = Config::resolve(&common, &ServeArgs { system_id: Some(7), ..Default::default() }).expect("valid");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.system_id, 7);
        std::fs::write(&path, "lisen = \"x\"\n").expect("write");
        let err = Config::resolve(&common, &ServeArgs::default()).expect_err("typo is an error");
        assert!(err.0.contains("lisen"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn customer_policy_comes_from_flags_or_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("switchboard.toml");
        std::fs::write(&path, "customer_queues = [\"Raw\", \"Misc\"]\ncustomer_fields = [\"priority\"]\n").expect("write");
        let common = CommonArgs { config: Some(path), ..Default::default() };
        let config = Config::resolve(&common, &ServeArgs::default()).expect("valid");
        assert_eq!(config.customer.queues, ["Raw", "Misc"]);
        assert_eq!(config.customer.fields, [CustomerField::Priority]);
        let serve = ServeArgs { customer_fields: Some(vec!["owner".into()]), ..Default::default() };
        let err = Config::resolve(&common, &serve).expect_err("owner is never a customer's");
        assert!(err.0.contains("customer_fields") && err.0.contains("owner"), "{err}");
        let defaults = Config::resolve(&CommonArgs::default(), &ServeArgs::default()).expect("defaults");
        assert!(defaults.customer.queues.is_empty() && defaults.customer.fields.is_empty(), "default: the default queue, no fields");
    }

    #[test]
    fn plugin_ceilings_come_from_the_file_and_are_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("switchboard.toml");
        let common = CommonArgs { config: Some(path.clone()), ..Default::default() };
        std::fs::write(&path, "[plugin_ceilings]\nmemory_mib = 128\nbreaker_threshold = 20\n").expect("write");
        let config = Config::resolve(&common, &ServeArgs::default()).expect("valid");
        assert_eq!((config.plugin_ceilings.memory_mib, config.plugin_ceilings.breaker_threshold), (128, 20));
        assert_eq!(config.plugin_ceilings.timeout_ms, PluginCeilings::default().timeout_ms, "unset keys keep the default");
        for (text, says) in [("memory_mib = 4096", "memory_mib"), ("kv_max_bytes = 0", "kv_max_bytes"), ("memory = 1", "memory")] {
            std::fs::write(&path, format!("[plugin_ceilings]\n{text}\n")).expect("write");
            let err = Config::resolve(&common, &ServeArgs::default()).expect_err(text);
            assert!(err.0.contains(says), "{text}: {err}");
        }
        let defaults = Config::resolve(&CommonArgs::default(), &ServeArgs::default()).expect("defaults");
        assert_eq!(defaults.plugin_ceilings, PluginCeilings::default());
    }

    #[test]
    fn require_signed_plugins_flag_beats_env_beats_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("switchboard.toml");
        let resolve = |file: Option<bool>, given: Option<bool>| {
            let text = file.map(|f| format!("require_signed_plugins = {f}\n")).unwrap_or_default();
            std::fs::write(&path, text).expect("write");
            let common = CommonArgs { config: Some(path.clone()), ..Default::default() };
            let serve = ServeArgs { signing: SigningArgs { require_signed_plugins: given }, ..Default::default() };
            Config::resolve(&common, &serve).expect("valid").require_signed_plugins
        };
        assert!(!resolve(None, None), "off by default");
        assert!(resolve(Some(true), None), "the file turns it on");
        assert!(!resolve(Some(true), Some(false)), "the environment or a flag turns off the file's true");
        assert!(resolve(Some(false), Some(true)), "the environment or a flag turns on the file's false");
    }

    #[test]
    fn require_signed_plugins_takes_an_optional_value() {
        use clap::Parser;

        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            signing: SigningArgs,
            file: Option<String>,
        }
        let parse = |args: &[&str]| Cli::try_parse_from([&["install"], args].concat()).expect("parses");
        let bare = parse(&["--require-signed-plugins", "x.wasm"]);
        assert_eq!((bare.signing.require_signed_plugins, bare.file.as_deref()), (Some(true), Some("x.wasm")), "a bare flag means true");
        assert_eq!(parse(&["--require-signed-plugins=false"]).signing.require_signed_plugins, Some(false));
        assert_eq!(parse(&["--require-signed-plugins=true"]).signing.require_signed_plugins, Some(true));
        assert!(Cli::try_parse_from(["install", "--require-signed-plugins=maybe"]).is_err(), "not a boolean");
    }
}
