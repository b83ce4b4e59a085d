//! Hostile test guest (transition action): returns `params["count"]`
//! (default 10 000) small internal notes, `note N`, well under the default
//! `max_output_bytes` in total. The host must refuse the result by its
//! number of changes (`max_changes`), so applying it never holds the
//! database writer for long.

use switchboard_sdk::prelude::*;

/// The exported action.
pub struct NoteFlood;

impl TransitionAction for NoteFlood {
    fn apply(_context: ActionContext, params: Vec<Param>) -> Result<Vec<TicketChange>, PluginError> {
        let count: usize = match params.param("count") {
            Some(v) => v.trim().parse().map_err(|_| PluginError::bad_param(format!("count {v:?} is not a number")))?,
            None => 10_000,
        };
        Ok((0..count).map(|i| TicketChange::internal_note("flood", format!("note {i}"))).collect())
    }
}

switchboard_sdk::transition_action!(NoteFlood);
