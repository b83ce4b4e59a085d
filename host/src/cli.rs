//! The `switchboard` command line: `serve`, `migrate`, `token`, `agent` and `plugin`.

mod agent;
mod plugin;
mod plugin_keys;

use crate::config::{CommonArgs, Config, ConfigError, ServeArgs};
use crate::desk::{Actor, Desk, DeskError, NewToken, SystemDesk};
use crate::server::{self, StartError};
use clap::{Parser, Subcommand};

/// Switchboard: a helpdesk whose automation runs as sandboxed WebAssembly plugins.
///
/// Every setting is a flag, a SWITCHBOARD_* environment variable, or a key in
/// the TOML file given with --config.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: HTTP API and job worker (embedded SQLite by default).
    Serve {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Apply database migrations and exit (serve also migrates at start).
    Migrate(CommonArgs),
    /// Create, list and revoke API tokens.
    Token {
        #[command(flatten)]
        common: CommonArgs,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Recover agents on the database directly (e.g. promote one back to admin).
    Agent {
        #[command(flatten)]
        common: CommonArgs,
        #[command(subcommand)]
        command: agent::AgentCommand,
    },
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
    /// The server (or the database under a command) could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A core operation was refused.
    #[error(transparent)]
    Desk(#[from] DeskError),
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
            Command::Serve { common, serve } => {
                let config = Config::resolve(common, serve)?;
                serve_command(config).await
            }
            Command::Migrate(common) => {
                let config = Config::resolve(common, &ServeArgs::default())?;
                open(&config).await?;
                println!("database is up to date ({})", redact(&config.database_url));
                Ok(())
            }
            Command::Token { common, command } => {
                let config = Config::resolve(common, &ServeArgs::default())?;
                let system = open(&config).await?;
                system.bootstrap().await?;
                token_command(system.desk(), command).await
            }
            Command::Agent { common, command } => {
                let config = Config::resolve(common, &ServeArgs::default())?;
                agent::run(open(&config).await?.desk(), command).await
            }
            Command::Plugin(command) => {
                let local = command.database().is_none();
                let common = command.database().cloned().unwrap_or_default();
                let config = Config::resolve(&common, &ServeArgs { signing: command.signing(), ..Default::default() })?;
                let system = if local { None } else { Some(open(&config).await?) };
                if let Some(system) = &system {
                    system.bootstrap().await?;
                }
                let cache =
                    if local { std::env::temp_dir().join("switchboard-plugin-cache") } else { config.data_dir.join("plugin-cache") };
                let host = crate::plugin::PluginHost::new(system.clone(), server::plugin_settings(&config, cache))?;
                let result = plugin::run(command, system.as_ref().map(|s| s.desk().clone()), &host).await;
                host.flush().await;
                result
            }
        }
    }
}

/// Opens and migrates the database (no server needed).
async fn open(config: &Config) -> Result<SystemDesk, CliError> {
    Ok(server::open_desk(config).await?)
}

/// `switchboard serve`: start-up in [`server::Node::prepare`], then the terminal
/// output a person starting the server reads, then serving until a signal.
async fn serve_command(config: Config) -> Result<(), CliError> {
    let node = server::Node::prepare(config).await?;
    let first = &node.first_start;
    if let Some(token) = &first.admin_token {
        println!("First start: created the default queues, states, priorities, types and the 'admin' agent.");
        println!("ADMIN TOKEN (shown once): {token}");
        println!("Keep it safe; create more with `switchboard token create`.");
    }
    for plugin in &first.installed {
        println!("installed bundled plugin {plugin}");
    }
    for err in &first.failed {
        eprintln!("warning: a bundled plugin did not install: {err}");
    }
    tracing::info!(plugins = node.plugins_loaded, "plugins ready");
    let listener = node.bind().await?;
    let addr = listener.local_addr()?;
    println!("switchboard listening on http://{addr} (database: {})", redact(&node.config.database_url));
    node.serve(listener, server::shutdown_signal()).await?;
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
