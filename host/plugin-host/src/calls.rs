//! Calling plugins: one generic path (slot, store, instance, call, limits,
//! record, breaker) and the world-specific entry points on top of it.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::admission::Refused;
use crate::bindings::action::switchboard::plugin::action_types::ActionContext;
use crate::bindings::base::switchboard::plugin::task_types::{Outcome, TaskContext};
use crate::bindings::base::switchboard::plugin::types::{Mail, Param, TicketChange};
use crate::bindings::filter::switchboard::plugin::filter_types::Verdict;
use crate::bindings::invoker::switchboard::plugin::invoker_types::{InvokeRequest, InvokeResponse};
use crate::convert::{article_to_wit, changes_to_update, ticket_to_wit};
use crate::failure::{Failure, FailureKind};
use crate::invoke::{execute, Executed, Execution, Report};
use crate::manifest::World;
use crate::state::TicketScope;
use crate::PluginChange;
use crate::{Loaded, PluginError, PluginHost};
use switchboard_core::desk::{Actor, DeskError, Ticket, Trigger};

/// The input of one call.
#[derive(Debug, Clone, Serialize)]
pub(crate) enum Call {
    Filter(Mail),
    Script(TaskContext, Vec<Param>),
    Action(ActionContext, Vec<Param>),
    Invoke(InvokeRequest),
}

/// The result of one call.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum CallResult {
    Verdict(Verdict),
    Outcome(Outcome),
    Changes(Vec<TicketChange>),
    Response(InvokeResponse),
}

fn opt(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

impl Call {
    /// The input's size in bytes, roughly (strings and bytes); the mail path
    /// is counted by hand because it is the hot one.
    pub(crate) fn approx_size(&self) -> usize {
        match self {
            Call::Filter(m) => {
                let addresses = |a: &Vec<crate::bindings::base::switchboard::plugin::types::Address>| {
                    a.iter().map(|x| x.email.len() + opt(&x.name)).sum::<usize>()
                };
                m.headers.iter().map(|h| h.name.len() + h.value.len()).sum::<usize>()
                    + m.subject.len()
                    + opt(&m.message_id)
                    + addresses(&m.from)
                    + addresses(&m.to)
                    + addresses(&m.cc)
                    + addresses(&m.reply_to)
                    + opt(&m.text_body)
                    + opt(&m.html_body)
                    + m.attachments.iter().map(|a| a.filename.len() + a.content_type.len()).sum::<usize>()
            }
            other => serde_json::to_vec(other).map(|v| v.len()).unwrap_or(usize::MAX),
        }
    }
}

impl CallResult {
    /// The result's size in bytes, roughly.
    pub(crate) fn approx_size(&self) -> usize {
        match self {
            CallResult::Verdict(v) => {
                opt(&v.queue)
                    + opt(&v.state)
                    + opt(&v.owner)
                    + opt(&v.responsible)
                    + opt(&v.ticket_type)
                    + opt(&v.title)
                    + opt(&v.customer_user)
                    + opt(&v.customer_company)
                    + v.dynamic_fields.iter().map(|f| f.name.len() + f.values.iter().map(String::len).sum::<usize>()).sum::<usize>()
                    + 64
            }
            other => serde_json::to_vec(other).map(|v| v.len()).unwrap_or(usize::MAX),
        }
    }
}

/// What a script task run produced.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// The outcome the task reported (script tasks only).
    pub result: Option<String>,
    /// Changes the plugin asked for.
    pub changes: Vec<PluginChange>,
    /// The ticket after the changes (unchanged in test mode).
    pub ticket: Ticket,
    /// True when the changes were applied.
    pub applied: bool,
    /// How the call went.
    pub report: Report,
}

/// What `plugin apply` did.
pub type ApplyOutcome = ScriptRun;

impl PluginHost {
    /// Runs one call against a loaded plugin with every limit armed, and
    /// records it. The ticket scope (script tasks) comes back with the queued changes.
    pub(crate) async fn call(
        &self,
        loaded: &Arc<Loaded>,
        call: Call,
        scope: Option<TicketScope>,
    ) -> (Result<CallResult, Failure>, Report, Option<TicketScope>) {
        let identity = &loaded.identity;
        let world = loaded.manifest.world;
        let empty_report = |logs: &str| Report::empty(identity, world, logs);
        if !loaded.enabled {
            let why = loaded.suspended.clone().unwrap_or_else(|| "the plugin is disabled".into());
            return (Err(Failure::new(FailureKind::Disabled, why)), empty_report(""), scope);
        }
        if let Some(missing) =
            loaded.manifest.config.iter().find(|(key, spec)| spec.required && !identity.config.contains_key(*key)).map(|(k, _)| k)
        {
            let failure = Failure::new(
                FailureKind::Config,
                format!("required configuration key '{missing}' is not set (switchboard plugin config {} {missing}=…)", identity.name),
            );
            return self.conclude(loaded, Err(failure), empty_report(""), scope, Vec::new()).await;
        }
        let input_size = call.approx_size() as u64;
        if input_size > identity.limits.max_input_bytes {
            let failure = Failure::new(
                FailureKind::InputTooLarge,
                format!("the input is {input_size} bytes, over max_input_bytes {}", identity.limits.max_input_bytes),
            );
            return self.conclude(loaded, Err(failure), empty_report(""), scope, Vec::new()).await;
        }
        let timeout = Duration::from_millis(identity.limits.timeout_ms);
        // Wait (in turn with other plugins' callers) at most the plugin's own
        // timeout for an execution slot and its memory.
        let plugin_key: Arc<str> = Arc::from(identity.name.as_str());
        let share = match self.inner.admission.admit(&plugin_key, identity.limits.memory_bytes, timeout).await {
            Ok(share) => share,
            Err(Refused::Busy { waited }) => {
                let failure = Failure::new(
                    FailureKind::Busy,
                    format!(
                        "no execution slot became free within {} ms (the host runs at most {} calls at once, {} of one plugin); retry later",
                        waited.as_millis(),
                        self.inner.admission.limits().instances,
                        self.inner.admission.limits().per_plugin
                    ),
                );
                return self.conclude(loaded, Err(failure), empty_report(""), scope, Vec::new()).await;
            }
            Err(Refused::TooLarge { memory, budget }) => {
                let failure = Failure::new(
                    FailureKind::Host,
                    format!(
                        "the plugin's memory limit ({} MiB) is over the host's plugin memory budget ({} MiB)",
                        memory / (1024 * 1024),
                        budget / (1024 * 1024)
                    ),
                );
                return self.conclude(loaded, Err(failure), empty_report(""), scope, Vec::new()).await;
            }
        };
        let execution = Execution {
            engine: self.inner.engine.engine(identity.counts_fuel).clone(),
            loaded: loaded.clone(),
            desk: self.inner.desk.clone(),
            host_runtime: self.inner.host_runtime.clone(),
            call,
            scope,
            share,
        };
        // The first slice (at most one epoch tick) runs here: most calls end
        // within it, without a thread hop. One still running at its first
        // yield or host wait moves to the execution threads for the rest.
        let mut task = Box::pin(execute(execution));
        let first_slice = std::future::poll_fn(|cx| std::task::Poll::Ready(task.as_mut().poll(cx))).await;
        let moved = match first_slice {
            std::task::Poll::Ready(executed) => Ok(executed),
            std::task::Poll::Pending => self.inner.executor.spawn(task).await,
        };
        let executed = match moved {
            Ok(executed) => executed,
            Err(err) => Executed {
                result: Err(Failure::new(FailureKind::Host, format!("the plugin's execution thread failed: {err}"))),
                report: empty_report(""),
                scope: None,
                audit: Vec::new(),
            },
        };
        self.conclude(loaded, executed.result, executed.report, executed.scope, executed.audit).await
    }

    /// Records the call, updates metrics and the circuit breaker.
    async fn conclude(
        &self,
        loaded: &Loaded,
        result: Result<CallResult, Failure>,
        report: Report,
        scope: Option<TicketScope>,
        audit: Vec<switchboard_core::desk::HttpAuditRecord>,
    ) -> (Result<CallResult, Failure>, Report, Option<TicketScope>) {
        let status = result.as_ref().map(|_| ()).map_err(Clone::clone);
        match &status {
            // Nothing ran: no invocation to record, only the count.
            Err(f) if f.kind.refused_before_running() => self.metrics().refused(&report.plugin, f.kind),
            _ => {
                self.inner.recorder.submit(report.record(&status), audit);
                loaded.counters.observe(&report, &status, self.metrics());
            }
        }
        if let Some(desk) = &self.inner.desk {
            match &status {
                // Only the plugin's own faults count (a plugin-error counts like
                // a trap, wit/README.md); a busy host, a caller's input or a
                // missing setting never suspend it.
                Err(f) if f.kind.is_plugin_fault() => {
                    tracing::warn!(plugin = %report.plugin, version = %report.version, kind = %f.kind, "plugin call failed: {}", f.message);
                    loaded.failures.fetch_add(1, Ordering::Relaxed);
                    match desk
                        .plugin_record_failure(
                            &report.plugin,
                            &f.to_string(),
                            loaded.manifest.breaker_threshold(&self.inner.settings.ceilings),
                        )
                        .await
                    {
                        Ok(true) => {
                            tracing::error!(plugin = %report.plugin, "plugin suspended by its circuit breaker");
                            self.invalidate(&report.plugin).await;
                        }
                        Ok(false) => {}
                        Err(err) => tracing::warn!(error = %err, "could not record a plugin failure"),
                    }
                }
                Err(_) => {}
                Ok(()) => {
                    if loaded.failures.swap(0, Ordering::Relaxed) > 0 {
                        if let Err(err) = desk.plugin_record_success(&report.plugin).await {
                            tracing::warn!(error = %err, "could not reset a plugin's failure count");
                        }
                    }
                }
            }
        }
        (result, report, scope)
    }

    /// Runs a postmaster filter on a mail.
    pub async fn filter_mail(&self, name: &str, mail: Mail) -> Result<(Result<Verdict, Failure>, Report), PluginError> {
        let loaded = self.loaded(name).await?;
        expect_world(&loaded, World::PostmasterFilter)?;
        let (result, report, _) = self.call(&loaded, Call::Filter(mail), None).await;
        Ok((
            result.and_then(|r| match r {
                CallResult::Verdict(v) => Ok(v),
                _ => Err(Failure::new(FailureKind::Host, "unexpected result type")),
            }),
            report,
        ))
    }

    /// Runs a service invoker.
    pub async fn invoke_service(
        &self,
        name: &str,
        request: InvokeRequest,
    ) -> Result<(Result<InvokeResponse, Failure>, Report), PluginError> {
        let loaded = self.loaded(name).await?;
        expect_world(&loaded, World::ServiceInvoker)?;
        let (result, report, _) = self.call(&loaded, Call::Invoke(request), None).await;
        Ok((
            result.and_then(|r| match r {
                CallResult::Response(v) => Ok(v),
                _ => Err(Failure::new(FailureKind::Host, "unexpected result type")),
            }),
            report,
        ))
    }

    /// Runs a script task or transition action against a ticket and applies
    /// its changes in one transaction (`Trigger::Test`: checks them exactly
    /// as applying would and writes nothing).
    ///
    /// The run acts as `Actor::plugin_run(plugin, version, trigger, caller)`:
    /// with the caller's rights when a caller set it off, or the rights the
    /// core's table gives a system trigger. The caller must be allowed to
    /// change the ticket before the plugin runs, parameters may not override
    /// the plugin's configuration (unless an admin sets the run off), and every
    /// queue, owner and field the changes touch is checked against that actor
    /// before anything is written; a refusal is `DeskError::Forbidden` naming
    /// what was refused. History names the plugin, version, actor and trigger.
    pub async fn apply_to_ticket(
        &self,
        caller: &Actor,
        trigger: Trigger,
        name: &str,
        ticket_id: i64,
        params: Vec<(String, String)>,
    ) -> Result<ScriptRun, PluginError> {
        if trigger.started_by_caller() {
            caller.require_staff()?;
        }
        let desk = self.desk()?.clone();
        let loaded = self.loaded(name).await?;
        let actor = Actor::plugin_run(&loaded.identity.name, &loaded.identity.version, trigger, caller)?;
        let refused = |err: DeskError| match err {
            DeskError::Forbidden(why) => PluginError::Desk(DeskError::Forbidden(format!("{}: {why}", actor.label()))),
            other => PluginError::Desk(other),
        };
        let ticket = desk.ticket_get_writable(&actor, ticket_id).await.map_err(refused)?;
        let config_keys: Vec<&str> = loaded.manifest.config.keys().map(String::as_str).collect();
        actor.check_plugin_params(name, params.iter().map(|(k, _)| k.as_str()), &config_keys)?;
        let test_mode = trigger == Trigger::Test;
        let params: Vec<Param> = params.into_iter().map(|(key, value)| Param { key, value }).collect();
        let (result, report, scope) = match loaded.manifest.world {
            World::ScriptTask => {
                let articles = desk.article_list(&actor, ticket_id).await?.iter().map(article_to_wit).collect();
                let scope = TicketScope { ticket: ticket_to_wit(&ticket), articles, changes: Vec::new() };
                let context = TaskContext { ticket_id, process: None, activity: None, test_mode };
                self.call(&loaded, Call::Script(context, params), Some(scope)).await
            }
            World::TransitionAction => {
                let context = ActionContext { ticket: ticket_to_wit(&ticket), process: None, transition: None, test_mode };
                self.call(&loaded, Call::Action(context, params), None).await
            }
            other => {
                return Err(PluginError::Invalid(format!(
                    "{name} is a {} plugin; only script tasks and transition actions change tickets",
                    other.as_str()
                )))
            }
        };
        let (outcome_name, changes) = match result {
            Err(failure) if failure.kind == FailureKind::Busy => {
                return Err(PluginError::Busy { message: format!("{name}: {}", failure.message), retry_after: retry_after(&loaded) })
            }
            Err(failure) => return Err(PluginError::Unavailable(format!("{name} failed: {failure}"))),
            Ok(CallResult::Outcome(outcome)) => (outcome.result, scope.map(|s| s.changes).unwrap_or_default()),
            Ok(CallResult::Changes(changes)) => (None, changes),
            Ok(_) => return Err(PluginError::Invalid("unexpected result type".into())),
        };
        let asked: Vec<PluginChange> = changes.iter().map(PluginChange::from).collect();
        if changes.is_empty() {
            return Ok(ScriptRun { result: outcome_name, changes: asked, ticket, applied: false, report });
        }
        let fields = desk.dynamic_field_list(&actor).await?;
        let max_note = desk.settings().max_article_bytes;
        let (update, notes) = changes_to_update(&changes, &fields, max_note).map_err(PluginError::Invalid)?;
        let (ticket, applied) = if test_mode {
            (desk.ticket_change_check(&actor, ticket_id, update, notes).await.map_err(refused)?, false)
        } else {
            (desk.ticket_change(&actor, ticket_id, update, notes).await.map_err(refused)?, true)
        };
        Ok(ScriptRun { result: outcome_name, changes: asked, ticket, applied, report })
    }
}

/// When a refused caller should try again: one plugin timeout, at least a second.
fn retry_after(loaded: &Loaded) -> Duration {
    Duration::from_millis(loaded.identity.limits.timeout_ms).max(Duration::from_secs(1))
}

fn expect_world(loaded: &Loaded, world: World) -> Result<(), PluginError> {
    if loaded.manifest.world == world {
        Ok(())
    } else {
        Err(PluginError::Invalid(format!(
            "{} is a {} plugin, not a {}",
            loaded.identity.name,
            loaded.manifest.world.as_str(),
            world.as_str()
        )))
    }
}
