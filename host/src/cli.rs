//! The `switchboard` command line: `serve`, `migrate`, `token` and `plugin`.

mod plugin;

use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::api::ApiSettings;
use crate::config::{CommonArgs, Config, ConfigError, ServeArgs};
use crate::db::{Db, DbError};
use crate::desk::{Actor, Desk, DeskError, DeskSettings, NewToken, SecretBox};

/// Switchboard: a helpdesk whose automation runs as sandboxed WebAssembly plugins.
///
/// Every setting is a flag, a SWITCHBOARD_* environment variable, or a key in
/// the TOML file given with --config.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: HTTP API and job worker (embedded SQLite by default).
    Serve(ServeArgs),
    /// Apply database migrations and exit (serve also migrates at start).
    Migrate,
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Install, configure, run and manage WebAssembly plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// A unique name to list and revoke the token by.
        #[arg(long)]
        name: String,
        /// admin, agent, customer or integration.
        #[arg(long)]
        role: String,
        /// The agent login (admin, agent) or customer user login (customer) the token acts as.
        #[arg(long, value_name = "LOGIN")]
        user: Option<String>,
    },
    /// List tokens (names, roles, users; never the secrets).
    List,
    /// Revoke a token by name; it stops working at once.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// Errors of the command line, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("{0}\nCheck --database-url / --data-dir and that the database server is running.")]
    Db(#[from] DbError),
    /// A core operation was refused.
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}. Pick another address with --listen.")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// A plugin operation failed.
    #[error(transparent)]
    Plugin(#[from] crate::plugin::PluginError),
    /// The command line itself is wrong.
    #[error("{0}")]
    Usage(String),
}

impl Cli {
    /// Parses the process arguments.
    pub fn from_env() -> Cli {
        Cli::parse()
    }

    /// Runs the chosen subcommand.
    pub async fn run(self) -> Result<(), CliError> {
        match &self.command {
            Command::Serve(serve) => {
                let config = Config::resolve(&self.common, serve)?;
                serve_command(config).await
            }
            Command::Migrate => {
                let config = Config::resolve(&self.common, &ServeArgs::default())?;
                open(&config).await?;
                println!("database is up to date ({})", redact(&config.database_url));
                Ok(())
            }
            Command::Token(command) => {
                let config = Config::resolve(&self.common, &ServeArgs::default())?;
                let desk = open(&config).await?;
                desk.bootstrap().await?;
                token_command(&desk, command).await
            }
            Command::Plugin(command) => {
                let config = Config::resolve(&self.common, &ServeArgs::default())?;
                let local = matches!(command, plugin::PluginCommand::Run { .. } | plugin::PluginCommand::New { .. });
                let desk = if local { None } else { Some(open(&config).await?) };
                if let Some(desk) = &desk {
                    desk.bootstrap().await?;
                }
                let cache =
                    if local { std::env::temp_dir().join("switchboard-plugin-cache") } else { config.data_dir.join("plugin-cache") };
                let host = crate::plugin::PluginHost::new(desk.clone(), plugin_settings(&config, cache))?;
                let result = plugin::run(command, desk, &host).await;
                host.flush().await;
                result
            }
        }
    }
}

/// Plugin host settings from the configuration.
fn plugin_settings(config: &Config, cache_dir: std::path::PathBuf) -> crate::plugin::PluginHostSettings {
    crate::plugin::PluginHostSettings { cache_dir, require_signatures: config.require_signed_plugins, records_kept: 200 }
}

/// Opens and migrates the database.
async fn open(config: &Config) -> Result<Desk, CliError> {
    let db = Db::connect(&config.database_url, config.sqlite_synchronous).await?;
    db.migrate().await?;
    let secrets = Some(SecretBox::new(&secret_key(config)?));
    Ok(Desk::new(db, DeskSettings { system_id: config.system_id, default_queue: config.default_queue.clone(), secrets }))
}

/// The key that encrypts secrets at rest: `SWITCHBOARD_SECRET_KEY` (64 hex
/// digits; give every node of a cluster the same) or `secret.key` in the data
/// directory, created with mode 0600 on first use.
fn secret_key(config: &Config) -> Result<[u8; 32], CliError> {
    let parse = |text: &str, origin: &str| -> Result<[u8; 32], CliError> {
        let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == 32);
        let bytes = bytes.ok_or_else(|| ConfigError(format!("{origin}: the secret key must be 64 hex digits")))?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(key)
    };
    if let Ok(text) = std::env::var("SWITCHBOARD_SECRET_KEY") {
        return parse(&text, "SWITCHBOARD_SECRET_KEY");
    }
    let path = config.data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path.display().to_string()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&config.data_dir)?;
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            std::io::Write::write_all(&mut file, hex::encode(key).as_bytes())?;
            Ok(key)
        }
        Err(err) => Err(err.into()),
    }
}

async fn serve_command(config: Config) -> Result<(), CliError> {
    let desk = open(&config).await?;
    let boot = desk.bootstrap().await?;
    let first_start = boot.admin_token.is_some();
    if let Some(token) = boot.admin_token {
        println!("First start: created the default queues, states, priorities, types and the 'admin' agent.");
        println!("ADMIN TOKEN (shown once): {token}");
        println!("Keep it safe; create more with `switchboard token create`.");
    }
    let plugins = crate::plugin::PluginHost::new(Some(desk.clone()), plugin_settings(&config, config.data_dir.join("plugin-cache")))?;
    if first_start {
        for (manifest, component) in crate::plugin::built::BUNDLED {
            match plugins.install(&Actor::System, component.to_vec(), manifest, None).await {
                Ok(report) => println!("installed bundled plugin {} {}", report.summary.name, report.summary.active_version),
                Err(err) => eprintln!("warning: a bundled plugin did not install: {err}"),
            }
        }
    }
    let started = std::time::Instant::now();
    let loaded = plugins.preload().await?;
    tracing::info!(plugins = loaded, elapsed_ms = started.elapsed().as_millis() as u64, "plugins ready");
    let listener = TcpListener::bind(config.listen).await.map_err(|source| CliError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr()?;
    println!("switchboard listening on http://{addr} (database: {})", redact(&config.database_url));
    let settings = ApiSettings { max_request_bytes: config.max_request_bytes };
    crate::server::run(
        desk,
        plugins,
        settings,
        Duration::from_millis(config.job_poll_interval_ms),
        listener,
        crate::server::shutdown_signal(),
    )
    .await?;
    println!("switchboard stopped");
    Ok(())
}

async fn token_command(desk: &Desk, command: &TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Create { name, role, user } => {
            let (info, secret) =
                desk.token_create(&Actor::System, NewToken { name: name.clone(), role: role.clone(), user: user.clone() }).await?;
            eprintln!(
                "Created {} token '{}'{}. It is shown once:",
                info.role.as_str(),
                info.name,
                info.user.map(|u| format!(" for {u}")).unwrap_or_default()
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            println!("{:<24} {:<12} {:<10} {:<28} {:<20} status", "NAME", "ROLE", "PREFIX", "USER", "CREATED");
            for t in desk.token_list(&Actor::System).await? {
                let status = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    None => "active".into(),
                };
                println!(
                    "{:<24} {:<12} {:<10} {:<28} {:<20} {status}",
                    t.name,
                    t.role.as_str(),
                    t.prefix,
                    t.user.unwrap_or_else(|| "-".into()),
                    t.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        TokenCommand::Revoke { name } => {
            desk.token_revoke(&Actor::System, name).await?;
            println!("revoked token '{name}'");
        }
    }
    Ok(())
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_terminal() {
        assert_eq!(redact("postgres://sb:secret@db/x"), "postgres://sb:***@db/x");
        assert_eq!(redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(redact("sqlite://data/switchboard.db"), "sqlite://data/switchboard.db");
    }
}
