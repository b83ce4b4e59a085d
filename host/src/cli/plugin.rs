//! `switchboard plugin …`: install and manage plugins, run them locally, and
//! apply script tasks and transition actions to tickets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::cli::CliError;
use crate::config::{CommonArgs, SigningArgs};
use crate::desk::{Actor, Desk, Trigger};
use crate::plugin::manifest::World;
use crate::plugin::{Grants, LocalInput, PluginError, PluginHost};

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// Install a component (or a new version of it) and make it active.
    ///
    /// Prints what the plugin is granted: its capabilities and every limit as
    /// asked for and as granted (clamped to the server's `[plugin_ceilings]`),
    /// and for an upgrade what is new or raised. When standard input is a
    /// terminal and --yes is not given, it shows this first and asks y/N;
    /// otherwise (scripts, CI) it installs without asking.
    Install {
        /// The component (.wasm).
        file: PathBuf,
        /// Its manifest [default: the first plugin.toml in the file's directory or above].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// A file holding the hex ed25519 signature of the component with its manifest (`plugin sign`).
        #[arg(long)]
        signature: Option<PathBuf>,
        /// Install without asking, also on a terminal.
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        signing: SigningArgs,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List installed plugins.
    List {
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Show a plugin: manifest, capabilities, configuration keys and recent invocations.
    Info {
        /// Plugin name.
        name: String,
        /// How many recent invocations to show.
        #[arg(long, default_value_t = 10)]
        invocations: i64,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Enable a plugin (also lifts a suspension by the circuit breaker).
    Enable {
        /// Plugin name.
        name: String,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Disable a plugin: callers skip it.
    Disable {
        /// Plugin name.
        name: String,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Set configuration values: KEY=VALUE … (secrets are stored encrypted).
    Config {
        /// Plugin name.
        name: String,
        /// KEY=VALUE pairs.
        #[arg(required = true)]
        values: Vec<String>,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List a plugin's installed versions.
    Versions {
        /// Plugin name.
        name: String,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Make an installed version active (upgrade or roll back).
    Activate {
        /// Plugin name.
        name: String,
        /// Version to run.
        version: String,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Remove a plugin with all its versions, configuration and store.
    Remove {
        /// Plugin name.
        name: String,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Run a script task or transition action on a ticket and apply its changes
    /// (as the system, or with `--as` with exactly that agent's rights).
    Apply {
        /// Plugin name.
        name: String,
        /// Ticket number.
        #[arg(long)]
        ticket: String,
        /// Parameters KEY=VALUE.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Check and show the changes without applying them.
        #[arg(long)]
        test: bool,
        /// Run with the rights of this agent (login) instead of the system's.
        #[arg(long = "as", value_name = "LOGIN")]
        as_agent: Option<String>,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Create a ready-to-build Rust plugin project.
    New {
        /// postmaster-filter, script-task, service-invoker or transition-action.
        #[arg(long)]
        world: String,
        /// Project (and plugin) name.
        name: String,
        /// Where to create it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Run a component once, locally, without a server, and print what it did.
    Run {
        /// The component (.wasm).
        file: PathBuf,
        /// Its manifest [default: the first plugin.toml in the file's directory or above].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Input as JSON in the world's shape (may hold params, recorded http responses).
        #[arg(long, conflicts_with_all = ["mail", "ticket_json"])]
        input: Option<PathBuf>,
        /// A mail (.eml) for postmaster filters.
        #[arg(long)]
        mail: Option<PathBuf>,
        /// A ticket as the API returns it (optionally with "articles" and "params").
        #[arg(long)]
        ticket_json: Option<PathBuf>,
        /// Configuration values KEY=VALUE for this run.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// Let service invokers make real requests (granted hosts only).
        #[arg(long)]
        allow_http: bool,
    },
    /// Make an ed25519 signing key: writes the private key to KEYFILE (mode 0600)
    /// and prints the public key for `plugin trust-key`.
    Keygen {
        /// Where to write the private key (must not exist).
        #[arg(long, value_name = "KEYFILE")]
        out: PathBuf,
    },
    /// Sign a component together with its manifest (the signature covers both;
    /// see sdk/README.md) and write the hex signature to --out or stdout.
    Sign {
        /// The private key file from `plugin keygen`.
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,
        /// The component (.wasm).
        file: PathBuf,
        /// Its manifest, exactly as it will be installed [default: the first plugin.toml in the file's directory or above].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Where to write the signature [default: stdout].
        #[arg(long, value_name = "SIG")]
        out: Option<PathBuf>,
    },
    /// Trust an ed25519 public key (64 hex digits) for plugin signatures.
    TrustKey {
        /// A name for the key.
        name: String,
        /// The public key, hex.
        public_key: String,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Show the outbound HTTP audit log.
    Audit {
        /// Only this plugin.
        name: Option<String>,
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Where the database is.
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

/// The manifest to use: `--manifest`, or the first `plugin.toml` in the
/// component's directory or the directories above it, as cargo finds
/// `Cargo.toml` (so `target/wasm32-wasip2/release/x.wasm` finds the project's).
fn manifest_path(file: &Path, manifest: &Option<PathBuf>) -> Result<PathBuf, CliError> {
    if let Some(given) = manifest {
        return Ok(given.clone());
    }
    let start = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    start.ancestors().skip(1).map(|dir| dir.join("plugin.toml")).find(|candidate| candidate.is_file()).ok_or_else(|| {
        CliError::Usage(format!(
            "no plugin.toml in {} or any directory above it: pass --manifest FILE",
            start.parent().unwrap_or(Path::new("/")).display()
        ))
    })
}

fn pairs(values: &[String], what: &str) -> Result<Vec<(String, String)>, CliError> {
    values
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| CliError::Usage(format!("{what} '{kv}' must be KEY=VALUE")))
        })
        .collect()
}

/// The actor of the valid agent `login`, with its current queue permissions.
async fn agent_named(desk: &Desk, login: &str) -> Result<Actor, CliError> {
    let agent = desk.agent_list(&Actor::System).await?.into_iter().find(|a| a.login == login);
    let actor = match agent {
        Some(a) => desk.agent_actor(a.id).await?,
        None => None,
    };
    actor.map(Actor::Agent).ok_or_else(|| CliError::Usage(format!("--as {login}: no valid agent with this login")))
}

impl PluginCommand {
    /// The database flags, for the subcommands that use the database (`run`
    /// and `new` need none, so their `--help` does not show them).
    pub(crate) fn database(&self) -> Option<&CommonArgs> {
        match self {
            PluginCommand::New { .. } | PluginCommand::Run { .. } | PluginCommand::Keygen { .. } | PluginCommand::Sign { .. } => None,
            PluginCommand::Install { common, .. }
            | PluginCommand::List { common }
            | PluginCommand::Info { common, .. }
            | PluginCommand::Enable { common, .. }
            | PluginCommand::Disable { common, .. }
            | PluginCommand::Config { common, .. }
            | PluginCommand::Versions { common, .. }
            | PluginCommand::Activate { common, .. }
            | PluginCommand::Remove { common, .. }
            | PluginCommand::Apply { common, .. }
            | PluginCommand::TrustKey { common, .. }
            | PluginCommand::Audit { common, .. } => Some(common),
        }
    }

    /// The signing flag, for `install` only.
    pub(crate) fn signing(&self) -> SigningArgs {
        match self {
            PluginCommand::Install { signing, .. } => signing.clone(),
            _ => SigningArgs::default(),
        }
    }
}

/// Runs a plugin subcommand. `desk` is `None` only for commands that need no database.
pub(crate) async fn run(command: &PluginCommand, desk: Option<Desk>, host: &PluginHost) -> Result<(), CliError> {
    let admin = Actor::System;
    let need_desk = || desk.clone().ok_or_else(|| CliError::Usage("this command needs the database".into()));
    match command {
        PluginCommand::Install { file, manifest, signature, yes, .. } => {
            let bytes = read(file)?;
            let manifest_file = manifest_path(file, manifest)?;
            let text = String::from_utf8(read(&manifest_file)?)
                .map_err(|_| CliError::Usage(format!("{} is not UTF-8", manifest_file.display())))?;
            let signature = match signature {
                Some(p) => Some(String::from_utf8_lossy(&read(p)?).trim().to_string()),
                None => None,
            };
            if !yes && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                let (manifest, grants) = host.grants(&admin, &text).await.map_err(|e| with_file(e, &manifest_file))?;
                println!("{} {} will be granted:", manifest.name, manifest.version);
                print_grants(&grants);
                if !confirm("Install it? [y/N] ")? {
                    return Err(CliError::Usage("not installed: not confirmed (pass --yes to install without asking)".into()));
                }
            }
            let report = host.install(&admin, bytes, &text, signature.as_deref()).await.map_err(|e| with_file(e, &manifest_file))?;
            let s = &report.summary;
            println!("installed {} {} ({}, sha256 {})", s.name, s.active_version, s.world, &s.sha256[..16]);
            print_grants(&report.grants);
        }
        PluginCommand::Keygen { out } => {
            let public = super::plugin_keys::keygen(out)?;
            println!("wrote the private key to {} (keep it secret)", out.display());
            println!("public key: {public}");
            println!("trust it on a server with: switchboard plugin trust-key NAME {public}");
        }
        PluginCommand::Sign { key, file, manifest, out } => {
            let manifest_file = manifest_path(file, manifest)?;
            let signature = super::plugin_keys::sign(key, &read(file)?, &read(&manifest_file)?)?;
            match out {
                Some(path) => {
                    std::fs::write(path, format!("{signature}\n"))
                        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
                    println!("signed {} with {}: {}", file.display(), manifest_file.display(), path.display());
                }
                None => println!("{signature}"),
            }
        }
        PluginCommand::List { .. } => {
            println!("{:<24} {:<10} {:<18} {:<9} status", "NAME", "VERSION", "WORLD", "FAILURES");
            for p in need_desk()?.plugin_list(&admin).await? {
                let status = match (&p.suspended_reason, p.enabled) {
                    (Some(why), _) => format!("suspended: {why}"),
                    (None, true) => "enabled".into(),
                    (None, false) => "disabled".into(),
                };
                println!("{:<24} {:<10} {:<18} {:<9} {status}", p.name, p.active_version, p.world, p.consecutive_failures);
            }
        }
        PluginCommand::Info { name, invocations, .. } => {
            let desk = need_desk()?;
            let p = desk.plugin_get(&admin, name).await?;
            println!("{} {} — {}", p.name, p.active_version, p.world);
            println!("sha256: {}", p.sha256);
            println!(
                "status: {}",
                if let Some(why) = &p.suspended_reason {
                    format!("suspended: {why}")
                } else if p.enabled {
                    "enabled".into()
                } else {
                    "disabled".into()
                }
            );
            println!("consecutive failures: {}", p.consecutive_failures);
            if let Ok(manifest) = crate::plugin::manifest::Manifest::parse(&p.manifest) {
                print_capabilities(&manifest.capability_lines());
                println!("limits (asked for → granted under this server's ceilings):");
                for limit in host.ceilings().grants(&manifest) {
                    println!("  - {}", limit.line());
                }
            }
            println!("manifest:\n{}", p.manifest.trim_end());
            let config = desk.plugin_config(&admin, name).await?;
            if !config.is_empty() {
                println!("configuration:");
                for (key, value) in config {
                    println!("  {key} = {}", value.unwrap_or_else(|| "(secret)".to_string()));
                }
            }
            println!("recent invocations:");
            for r in desk.plugin_invocations(&admin, name, *invocations).await? {
                println!(
                    "  {} {} {:>8} µs fuel {:>10} mem {:>6} KiB {}{}",
                    r.started_at.format("%Y-%m-%d %H:%M:%S"),
                    r.version,
                    r.duration_us,
                    r.fuel_used.unwrap_or(0),
                    r.peak_memory / 1024,
                    r.outcome,
                    r.error.map(|e| format!(" — {}: {e}", r.error_kind.map(|k| k.as_str()).unwrap_or("unknown"))).unwrap_or_default()
                );
            }
        }
        PluginCommand::Enable { name, .. } | PluginCommand::Disable { name, .. } => {
            let enable = matches!(command, PluginCommand::Enable { .. });
            let p = need_desk()?.plugin_set_enabled(&admin, name, enable).await?;
            host.invalidate(name).await;
            println!("{} {}", p.name, if enable { "enabled" } else { "disabled" });
        }
        PluginCommand::Config { name, values, .. } => {
            let values = pairs(values, "value")?;
            host.configure(&admin, name, &values).await?;
            for (key, _) in values {
                println!("set {name}.{key}");
            }
        }
        PluginCommand::Versions { name, .. } => {
            let desk = need_desk()?;
            let active = desk.plugin_get(&admin, name).await?.active_version;
            for v in desk.plugin_versions(&admin, name).await? {
                let mark = if v.version == active { "*" } else { " " };
                println!(
                    "{mark} {:<12} {} sha256 {} {}",
                    v.version,
                    v.installed_at.format("%Y-%m-%d %H:%M"),
                    &v.sha256[..16],
                    v.signed_by.map(|s| format!("signed by {s}")).unwrap_or_default()
                );
            }
        }
        PluginCommand::Activate { name, version, .. } => {
            let p = need_desk()?.plugin_activate(&admin, name, version).await?;
            host.invalidate(name).await;
            println!("{} now runs {}", p.name, p.active_version);
        }
        PluginCommand::Remove { name, .. } => {
            need_desk()?.plugin_remove(&admin, name).await?;
            host.invalidate(name).await;
            println!("removed {name}");
        }
        PluginCommand::Apply { name, ticket, params, test, as_agent, .. } => {
            let desk = need_desk()?;
            let caller = match as_agent {
                None => admin.clone(),
                Some(login) => agent_named(&desk, login).await?,
            };
            let t = desk.ticket_get_by_number(&caller, ticket).await?;
            let trigger = if *test { Trigger::Test } else { Trigger::Apply };
            let run = host.apply_to_ticket(&caller, trigger, name, t.id, pairs(params, "param")?).await?;
            host.flush().await;
            println!(
                "{} {} on ticket {}: {} in {} µs",
                run.report.plugin,
                run.report.version,
                t.number,
                run.result.clone().unwrap_or_else(|| "done".into()),
                run.report.duration_us
            );
            for c in &run.changes {
                println!("  change: {c}");
            }
            println!(
                "{}",
                if run.applied {
                    "changes applied"
                } else if *test {
                    "test mode: nothing changed"
                } else {
                    "no changes"
                }
            );
        }
        PluginCommand::New { world, name, dir } => {
            crate::plugin::manifest::check_name(name).map_err(|m| CliError::Usage(format!("plugin name '{name}': {m}")))?;
            let w = World::parse(world).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown world '{world}'; use postmaster-filter, script-task, service-invoker or transition-action"
                ))
            })?;
            let root = crate::plugin::template::create(dir, name, w).map_err(|e| CliError::Usage(e.to_string()))?;
            println!("created {}; build it with: cd {} && cargo build --release", root.display(), root.display());
        }
        PluginCommand::Run { file, manifest, input, mail, ticket_json, settings, allow_http } => {
            let bytes = read(file)?;
            let manifest_file = manifest_path(file, manifest)?;
            let text = String::from_utf8(read(&manifest_file)?)
                .map_err(|_| CliError::Usage(format!("{} is not UTF-8", manifest_file.display())))?;
            let parse_json = |p: &PathBuf| -> Result<serde_json::Value, CliError> {
                serde_json::from_slice(&read(p)?).map_err(|e| CliError::Usage(format!("{}: line {}: {e}", p.display(), e.line())))
            };
            let local = match (input, mail, ticket_json) {
                (Some(p), _, _) => LocalInput::Json(parse_json(p)?),
                (_, Some(p), _) => LocalInput::Mail(read(p)?),
                (_, _, Some(p)) => LocalInput::TicketJson(parse_json(p)?),
                _ => return Err(CliError::Usage("give --input FILE.json, --mail FILE.eml or --ticket-json FILE".into())),
            };
            let config: BTreeMap<String, String> = pairs(settings, "--set")?.into_iter().collect();
            let (result, report) =
                host.run_local(&bytes, &text, local, config, *allow_http).await.map_err(|e| with_file(e, &manifest_file))?;
            match &result {
                Ok(value) => println!("result:\n{}", serde_json::to_string_pretty(value).unwrap_or_default()),
                Err(f) => println!("FAILED ({}): {}", f.kind, f.message),
            }
            println!("log:\n{}", if report.logs.is_empty() { "(empty)\n".to_string() } else { report.logs.clone() }.trim_end());
            let fuel = report.fuel_used.map_or_else(|| "not counted".to_string(), |f| f.to_string());
            println!("duration: {} µs, fuel: {fuel}, peak memory: {} KiB", report.duration_us, report.peak_memory / 1024);
            if result.is_err() {
                return Err(CliError::Usage("the plugin call failed".into()));
            }
        }
        PluginCommand::TrustKey { name, public_key, .. } => {
            let ok = hex::decode(public_key.trim()).ok().filter(|k| k.len() == 32).is_some();
            if !ok {
                return Err(CliError::Usage("the public key must be 64 hex digits (32 bytes, ed25519)".into()));
            }
            need_desk()?.trusted_key_add(&admin, name, &public_key.trim().to_ascii_lowercase()).await?;
            println!("trusting key '{name}' for plugin signatures");
        }
        PluginCommand::Audit { name, limit, .. } => {
            for r in need_desk()?.plugin_http_audit(&admin, name.as_deref(), *limit).await? {
                println!(
                    "{} {}@{} {} {}://{}:{} status {} {} B {} µs {}",
                    r.created_at.format("%Y-%m-%d %H:%M:%S"),
                    r.plugin,
                    r.version,
                    r.method,
                    r.scheme,
                    r.host,
                    r.port,
                    r.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                    r.bytes,
                    r.duration_us,
                    r.outcome
                );
            }
        }
    }
    Ok(())
}

/// Prints capabilities, limits and what an upgrade adds.
fn print_grants(grants: &Grants) {
    print_capabilities(&grants.capabilities);
    println!("limits:");
    for limit in &grants.limits {
        println!("  - {}", limit.line());
    }
    if let Some(previous) = &grants.previous_version {
        if grants.added_capabilities.is_empty() {
            println!("nothing new compared with {previous}");
        }
        for c in &grants.added_capabilities {
            println!("NEW compared with {previous}: {c}");
        }
    }
}

fn print_capabilities(lines: &[String]) {
    if lines.is_empty() {
        println!("granted: nothing beyond logging, configuration and the clock");
    } else {
        println!("granted:");
        for c in lines {
            println!("  - {c}");
        }
    }
}

/// Asks on the terminal; only `y` or `yes` agrees.
fn confirm(question: &str) -> Result<bool, CliError> {
    use std::io::Write;
    print!("{question}");
    std::io::stdout().flush().map_err(|e| CliError::Usage(format!("cannot ask: {e}")))?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| CliError::Usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

fn with_file(err: PluginError, manifest: &Path) -> CliError {
    match err {
        PluginError::Manifest(m) => CliError::Usage(format!("{}: {m}", manifest.display())),
        other => CliError::Plugin(other),
    }
}
