//! Hostile test guest (script task): queues `params["count"]` (default 20)
//! internal notes of `params["bytes"]` bytes each (default 20 MiB) through
//! `ticket.change`, or with `params["title"]` one title change instead. It
//! ignores refusals (each is logged as `refused N: <code>: <message>`) and
//! returns outcome `done` with data `accepted` and `refused`, so the host
//! alone must stop it: the changes count against `max_output_bytes` and
//! `max_changes`, and a call that went over fails `output_too_large`.

use switchboard_sdk::prelude::*;
use switchboard_sdk::task;

/// The exported task.
pub struct ChangeFlood;

/// Reads a numeric parameter.
fn number(params: &[Param], key: &str, default: usize) -> Result<usize, PluginError> {
    match params.param(key) {
        Some(v) => v.trim().parse().map_err(|_| PluginError::bad_param(format!("{key} {v:?} is not a number"))),
        None => Ok(default),
    }
}

impl ScriptTask for ChangeFlood {
    fn run(_context: TaskContext, params: Vec<Param>) -> Result<Outcome, PluginError> {
        let change = match params.param("title") {
            Some(title) => TicketChange::Title(title.to_owned()),
            None => TicketChange::internal_note("flood", "x".repeat(number(&params, "bytes", 20 << 20)?)),
        };
        let count = if params.param("title").is_some() { 1 } else { number(&params, "count", 20)? };
        let (mut accepted, mut refused) = (0, 0);
        for i in 0..count {
            match task::change(change.clone()) {
                Ok(()) => accepted += 1,
                Err(e) => {
                    refused += 1;
                    log::warn(format!("refused {i}: {}: {}", e.code, e.message));
                }
            }
        }
        Ok(Outcome::result("done").with_data("accepted", accepted.to_string()).with_data("refused", refused.to_string()))
    }
}

switchboard_sdk::script_task!(ChangeFlood);
