//! The `script-task` world: run against one ticket, read it and change it.
//!
//! Changes queued with [`change`] are applied by the host in one transaction
//! after `run` returns `Ok` (in test mode they are only recorded); an `Err`
//! discards them. [`ticket`] already reflects the changes queued so far.
//!
//! ```no_run
//! use switchboard_sdk::prelude::*;
//! use switchboard_sdk::task;
//!
//! /// Moves tickets that mention an invoice to the Billing queue.
//! struct InvoiceMover;
//!
//! impl ScriptTask for InvoiceMover {
//!     fn run(_context: TaskContext, params: Vec<Param>) -> Result<Outcome, PluginError> {
//!         let queue = params.param("queue").unwrap_or("Billing");
//!         let mentions = task::articles().iter().any(|a| a.body.to_lowercase().contains("invoice"));
//!         if !mentions || task::ticket().queue == queue {
//!             return Ok(Outcome::result("unchanged"));
//!         }
//!         task::change(TicketChange::Queue(queue.to_owned()))?;
//!         task::change(TicketChange::internal_note("Moved", "The ticket mentions an invoice."))?;
//!         Ok(Outcome::result("moved").with_data("queue", queue))
//!     }
//! }
//!
//! switchboard_sdk::script_task!(InvoiceMover);
//! ```

use crate::types::{Article, Param, PluginError, Ticket, TicketChange};
use crate::wit::script_task::switchboard::plugin::ticket as raw;

pub use crate::wit::script_task::switchboard::plugin::task_types::{Outcome, TaskContext};

/// A process script task. Implement it on a unit struct and export it with
/// [`script_task!`](crate::script_task).
pub trait ScriptTask {
    /// Runs the task for the ticket `context.ticket_id` with the parameters
    /// the process (or caller) passed.
    fn run(context: TaskContext, params: Vec<Param>) -> Result<Outcome, PluginError>;
}

/// The ticket the task runs for, as it is now (including queued changes).
pub fn ticket() -> Ticket {
    raw::get()
}

/// The ticket's articles, oldest first.
pub fn articles() -> Vec<Article> {
    raw::articles()
}

/// Queues a change. Obviously invalid changes are refused at once; the rest
/// are validated when applied.
pub fn change(change: TicketChange) -> Result<(), PluginError> {
    raw::change(&change)
}

/// Queues several changes, stopping at the first refused one.
pub fn change_all(changes: impl IntoIterator<Item = TicketChange>) -> Result<(), PluginError> {
    changes.into_iter().try_for_each(change)
}

impl Default for Outcome {
    /// No result name, no data.
    fn default() -> Self {
        Self { result: None, data: Vec::new() }
    }
}

impl Outcome {
    /// An outcome with the result name `name` (the process can branch on it).
    pub fn result(name: impl Into<String>) -> Self {
        Self { result: Some(name.into()), data: Vec::new() }
    }

    /// Adds a data entry for the caller.
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.push(Param::new(key, value));
        self
    }
}

/// Exports a [`ScriptTask`] as the component's `run` function.
///
/// Call it once, at the top level of the plugin crate:
/// `switchboard_sdk::script_task!(MyTask);`
#[macro_export]
macro_rules! script_task {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardExport;
            impl $crate::wit::script_task::Guest for __SwitchboardExport {
                fn run(
                    context: $crate::task::TaskContext,
                    params: ::std::vec::Vec<$crate::types::Param>,
                ) -> ::core::result::Result<$crate::task::Outcome, $crate::types::PluginError> {
                    <$ty as $crate::task::ScriptTask>::run(context, params)
                }
            }
            #[cfg(target_arch = "wasm32")]
    $crate::wit::script_task::export_script_task!(__SwitchboardExport with_types_in $crate::wit::script_task);
        };
    };
}
