//! Who is acting: the subject every core call is authorised against.

use std::collections::HashMap;

use crate::desk::{DeskError, Trigger};

/// Access an agent has to one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueuePermission {
    /// Read tickets in the queue.
    Ro,
    /// Read and change tickets in the queue.
    Rw,
}

impl QueuePermission {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            QueuePermission::Ro => "ro",
            QueuePermission::Rw => "rw",
        }
    }

    /// Parses `ro` or `rw`.
    pub fn parse(s: &str) -> Option<QueuePermission> {
        match s {
            "ro" => Some(QueuePermission::Ro),
            "rw" => Some(QueuePermission::Rw),
            _ => None,
        }
    }
}

/// An authenticated agent with its queue permissions.
#[derive(Debug, Clone)]
pub struct AgentActor {
    /// Agent id.
    pub id: i64,
    /// Agent login, used in history entries.
    pub login: String,
    /// Admins configure the system and see every queue.
    pub admin: bool,
    /// Per-queue permissions (ignored for admins).
    pub queues: HashMap<i64, QueuePermission>,
}

/// The subject of a core call.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The system itself (CLI, jobs, bootstrap): allowed everything.
    System,
    /// An agent or admin.
    Agent(AgentActor),
    /// A customer user, by login: sees only its own tickets.
    Customer {
        /// The customer user's login.
        login: String,
    },
    /// A plugin applying its changes. It has exactly the rights of
    /// `on_behalf` (whoever set it off, or the rights its system trigger was
    /// given; see [`Trigger::system_rights`]) and never admin rights of its
    /// own; history names the plugin, version, `on_behalf` and the trigger.
    /// Built by [`Actor::plugin_run`].
    Plugin {
        /// Plugin name.
        name: String,
        /// Plugin version.
        version: String,
        /// Whose rights the run has: every permission check delegates to it.
        on_behalf: Box<Actor>,
        /// What set the run off.
        trigger: Trigger,
    },
    /// An integration token: allowed only what a feature grants it explicitly.
    Integration {
        /// The token name, for history entries.
        name: String,
    },
}

impl Actor {
    /// The label written into history entries.
    pub fn label(&self) -> String {
        match self {
            Actor::System => "system".to_string(),
            Actor::Agent(a) => format!("agent:{}", a.login),
            Actor::Customer { login } => format!("customer:{login}"),
            Actor::Plugin { name, version, on_behalf, trigger } => {
                format!("plugin:{name}@{version} by {} ({trigger})", on_behalf.label())
            }
            Actor::Integration { name } => format!("integration:{name}"),
        }
    }

    /// True for the system and for admins (never for a plugin, which does not
    /// configure the system whoever set it off).
    pub fn is_admin(&self) -> bool {
        match self {
            Actor::System => true,
            Actor::Agent(a) => a.admin,
            _ => false,
        }
    }

    /// Refuses anyone but admins and the system.
    pub fn require_admin(&self) -> Result<(), DeskError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(DeskError::Forbidden("this needs the admin role".into()))
        }
    }

    /// Refuses anyone but agents, admins and the system (catalogue reads).
    pub fn require_staff(&self) -> Result<(), DeskError> {
        match self {
            Actor::System | Actor::Agent(_) => Ok(()),
            Actor::Plugin { on_behalf, .. } => on_behalf.require_staff(),
            _ => Err(DeskError::Forbidden("this needs an agent or admin token".into())),
        }
    }

    /// Refuses integrations (which have no ticket rights yet).
    pub fn require_not_integration(&self) -> Result<(), DeskError> {
        match self {
            Actor::Integration { .. } => Err(DeskError::Forbidden("integration tokens have not been granted this".into())),
            Actor::Plugin { on_behalf, .. } => on_behalf.require_not_integration(),
            _ => Ok(()),
        }
    }

    /// The permission this actor has on `queue_id` (`None`: no access).
    pub fn queue_permission(&self, queue_id: i64) -> Option<QueuePermission> {
        match self {
            Actor::System => Some(QueuePermission::Rw),
            Actor::Plugin { on_behalf, .. } => on_behalf.queue_permission(queue_id),
            Actor::Agent(a) if a.admin => Some(QueuePermission::Rw),
            Actor::Agent(a) => a.queues.get(&queue_id).copied(),
            _ => None,
        }
    }

    /// Queue ids an agent may read; `None` means every queue.
    pub fn readable_queues(&self) -> Option<Vec<i64>> {
        match self {
            Actor::Agent(a) if !a.admin => Some(a.queues.keys().copied().collect()),
            Actor::Plugin { on_behalf, .. } => on_behalf.readable_queues(),
            Actor::System | Actor::Agent(_) => None,
            _ => Some(Vec::new()),
        }
    }

    /// The agent id behind the actor, if any.
    pub fn agent_id(&self) -> Option<i64> {
        match self {
            Actor::Agent(a) => Some(a.id),
            _ => None,
        }
    }
}
