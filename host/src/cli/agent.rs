//! `switchboard agent …`: operator commands on agents that work on the database
//! directly, without a token — the way back in when no admin token works.

use clap::Subcommand;

use crate::cli::CliError;
use crate::desk::{Actor, Desk};

/// Agent subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Make an agent a valid admin again (recovery when no admin token works);
    /// its existing admin tokens work again at once.
    Promote {
        /// The agent's login, e.g. admin.
        login: String,
    },
}

/// Runs an agent subcommand as the system.
pub(crate) async fn run(desk: &Desk, command: &AgentCommand) -> Result<(), CliError> {
    match command {
        AgentCommand::Promote { login } => {
            let done = desk.agent_promote(&Actor::System, login).await?;
            let agent = &done.agent;
            if done.was_valid && done.was_role == Some(agent.role) {
                println!("agent '{}' (id {}) is already a valid admin; nothing changed", agent.login, agent.id);
            } else {
                println!(
                    "promoted agent '{}' (id {}) to a valid admin (was: role {}, {})",
                    agent.login,
                    agent.id,
                    done.was_role.map_or("unknown", |r| r.as_str()),
                    if done.was_valid { "valid" } else { "invalid" }
                );
                println!(
                    "its admin tokens work again; create a new one with `switchboard token create --role admin --user {}`",
                    agent.login
                );
            }
            Ok(())
        }
    }
}
