//! What set off a plugin run, and the one table of the rights each trigger
//! gives the plugin: a plugin never has more rights than whoever set it off.

use crate::desk::{Actor, DeskError};

/// What started a plugin run.
///
/// A run started by a caller acts with that caller's rights; a run started by
/// the system acts with the rights [`Trigger::system_rights`] lists for its
/// trigger. Either way every check on the plugin's changes is made against
/// that actor (see `Actor::Plugin`), and history names the plugin, its
/// version, the actor and the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// A caller applied the plugin to a ticket (`POST /plugins/{name}/apply`, `plugin apply`).
    Apply,
    /// A caller ran the plugin in test mode: the changes are checked, never written.
    Test,
    /// An agent ran the plugin from a dialog (planned).
    Dialog,
    /// A caller started a process by hand, which runs the plugin (planned).
    ProcessStart,
    /// The mail pipeline ran the plugin on an incoming mail (planned).
    MailPipeline,
    /// A process step ran the plugin (planned).
    ProcessStep,
    /// An alert ran the plugin (planned).
    Alert,
}

impl Trigger {
    /// Every trigger, for documentation and tests.
    pub const ALL: [Trigger; 7] = [
        Trigger::Apply,
        Trigger::Test,
        Trigger::Dialog,
        Trigger::ProcessStart,
        Trigger::MailPipeline,
        Trigger::ProcessStep,
        Trigger::Alert,
    ];

    /// The name used in history entries and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Apply => "apply",
            Trigger::Test => "test",
            Trigger::Dialog => "dialog",
            Trigger::ProcessStart => "process-start",
            Trigger::MailPipeline => "mail-pipeline",
            Trigger::ProcessStep => "process-step",
            Trigger::Alert => "alert",
        }
    }

    /// True when a caller (an agent, an admin, the CLI operator) set the run
    /// off, so the run acts with that caller's rights.
    pub fn started_by_caller(self) -> bool {
        matches!(self, Trigger::Apply | Trigger::Test | Trigger::Dialog | Trigger::ProcessStart)
    }

    /// The rights a run started by the system acts with: the one table of
    /// them (also in ARCHITECTURE.md, "Who a plugin acts as"). `None` for
    /// triggers started by a caller, which act with the caller's rights.
    ///
    /// | trigger | acts as | why |
    /// |---|---|---|
    /// | `mail-pipeline` | system: every queue | the admin configures mail accounts and the postmaster filter chain, which decide where a mail goes |
    /// | `process-step` | system: every queue | process definitions are deployed by admins; a step does what the definition says |
    /// | `alert` | system: every queue | alert rules are configured by admins |
    ///
    /// A feature that gives its trigger narrower rights changes this table.
    pub fn system_rights(self) -> Option<Actor> {
        match self {
            Trigger::MailPipeline | Trigger::ProcessStep | Trigger::Alert => Some(Actor::System),
            Trigger::Apply | Trigger::Test | Trigger::Dialog | Trigger::ProcessStart => None,
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Actor {
    /// The actor a run of plugin `name` at `version` acts as when `caller`
    /// sets it off by `trigger`. Runs started by a caller act with the
    /// caller's rights (agents and admins only; a plugin's caller is the one
    /// behind it); runs started by the system may only be set off by
    /// [`Actor::System`] and act with [`Trigger::system_rights`].
    pub fn plugin_run(name: &str, version: &str, trigger: Trigger, caller: &Actor) -> Result<Actor, DeskError> {
        let caller = match caller {
            Actor::Plugin { on_behalf, .. } => on_behalf.as_ref(),
            other => other,
        };
        let on_behalf = match trigger.system_rights() {
            None => {
                caller.require_staff().map_err(|_| {
                    DeskError::Forbidden(format!("plugins are run by agents and admins; {} may not run {name}", caller.label()))
                })?;
                caller.clone()
            }
            Some(rights) => {
                if !matches!(caller, Actor::System) {
                    return Err(DeskError::Forbidden(format!("only the system starts {trigger} runs of plugins")));
                }
                rights
            }
        };
        Ok(Actor::Plugin { name: name.to_string(), version: version.to_string(), on_behalf: Box::new(on_behalf), trigger })
    }

    /// Refuses a run's parameters that would override the plugin's
    /// configuration (`config_keys`, which the admin sets) unless the actor
    /// behind the run is an admin or the system: otherwise a caller could
    /// choose a plugin's changes (e.g. its routing rules) by passing them in.
    pub fn check_plugin_params<'a>(
        &self,
        plugin: &str,
        params: impl IntoIterator<Item = &'a str>,
        config_keys: &[&str],
    ) -> Result<(), DeskError> {
        let behind = match self {
            Actor::Plugin { on_behalf, .. } => on_behalf.as_ref(),
            other => other,
        };
        if behind.is_admin() {
            return Ok(());
        }
        for key in params {
            if config_keys.contains(&key) {
                return Err(DeskError::Forbidden(format!(
                    "params.{key}: '{key}' is configuration of {plugin}, which only an admin sets; it cannot be overridden by a parameter"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::desk::{AgentActor, QueuePermission};

    fn agent(queues: &[(i64, QueuePermission)]) -> Actor {
        Actor::Agent(AgentActor { id: 7, login: "alice".into(), admin: false, queues: queues.iter().copied().collect::<HashMap<_, _>>() })
    }

    #[test]
    fn a_caller_started_run_has_exactly_the_callers_rights() {
        let alice = agent(&[(1, QueuePermission::Rw), (2, QueuePermission::Ro)]);
        let run = Actor::plugin_run("router", "1.0.0", Trigger::Apply, &alice).expect("agents may run plugins");
        assert_eq!(run.queue_permission(1), Some(QueuePermission::Rw));
        assert_eq!(run.queue_permission(2), Some(QueuePermission::Ro));
        assert_eq!(run.queue_permission(3), None, "no rights the caller lacks");
        assert!(!run.is_admin());
        assert_eq!(
            run.readable_queues().map(|mut q| {
                q.sort();
                q
            }),
            Some(vec![1, 2])
        );
        assert_eq!(run.label(), "plugin:router@1.0.0 by agent:alice (apply)");
    }

    #[test]
    fn customers_and_integrations_run_no_plugins_and_only_the_system_starts_system_triggers() {
        for caller in [Actor::Customer { login: "c@example.com".into() }, Actor::Integration { name: "ci".into() }] {
            assert!(matches!(Actor::plugin_run("p", "1", Trigger::Apply, &caller), Err(DeskError::Forbidden(_))));
        }
        for trigger in Trigger::ALL.into_iter().filter(|t| !t.started_by_caller()) {
            assert!(matches!(Actor::plugin_run("p", "1", trigger, &agent(&[])), Err(DeskError::Forbidden(_))), "{trigger}");
            let run = Actor::plugin_run("p", "1", trigger, &Actor::System).expect("system trigger");
            assert_eq!(run.label(), format!("plugin:p@1 by system ({trigger})"));
        }
    }

    #[test]
    fn a_plugin_setting_off_a_plugin_passes_on_its_caller_not_more() {
        let alice = agent(&[(1, QueuePermission::Ro)]);
        let outer = Actor::plugin_run("outer", "1", Trigger::Apply, &alice).expect("run");
        let inner = Actor::plugin_run("inner", "2", Trigger::Apply, &outer).expect("run");
        assert_eq!(inner.label(), "plugin:inner@2 by agent:alice (apply)");
        assert_eq!(inner.queue_permission(1), Some(QueuePermission::Ro));
    }

    #[test]
    fn only_admins_override_configuration_with_parameters() {
        let run = Actor::plugin_run("router", "1", Trigger::Apply, &agent(&[])).expect("run");
        let err = run.check_plugin_params("router", ["rules"], &["rules"]).expect_err("an agent may not override rules");
        assert!(err.to_string().contains("params.rules"), "{err}");
        run.check_plugin_params("router", ["reason"], &["rules"]).expect("other parameters are fine");
        let admin = Actor::plugin_run("router", "1", Trigger::Apply, &Actor::System).expect("run");
        admin.check_plugin_params("router", ["rules"], &["rules"]).expect("the system may");
    }
}
