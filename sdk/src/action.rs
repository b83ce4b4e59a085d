//! The `transition-action` world: return ticket changes for the host to
//! validate and apply when a process transition is taken.
//!
//! ```no_run
//! use switchboard_sdk::prelude::*;
//!
//! /// Closes the ticket with a note naming the transition.
//! struct CloseWithNote;
//!
//! impl TransitionAction for CloseWithNote {
//!     fn apply(context: ActionContext, params: Vec<Param>) -> Result<Vec<TicketChange>, PluginError> {
//!         let state = params.param("state").unwrap_or("closed successful");
//!         let why = context.transition.as_deref().unwrap_or("a transition");
//!         Ok(vec![
//!             TicketChange::State(state.to_owned()),
//!             TicketChange::internal_note("Closed", format!("Closed by {why}.")),
//!         ])
//!     }
//! }
//!
//! switchboard_sdk::transition_action!(CloseWithNote);
//! ```

use crate::types::{Param, PluginError, TicketChange};

pub use crate::wit::transition_action::switchboard::plugin::action_types::ActionContext;

/// A transition action. Implement it on a unit struct and export it with
/// [`transition_action!`](crate::transition_action).
pub trait TransitionAction {
    /// Computes the changes for `context.ticket`; the host validates and
    /// applies them in one transaction (in test mode it only records them).
    fn apply(context: ActionContext, params: Vec<Param>) -> Result<Vec<TicketChange>, PluginError>;
}

/// Exports a [`TransitionAction`] as the component's `apply` function.
///
/// Call it once, at the top level of the plugin crate:
/// `switchboard_sdk::transition_action!(MyAction);`
#[macro_export]
macro_rules! transition_action {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardExport;
            impl $crate::wit::transition_action::Guest for __SwitchboardExport {
                fn apply(
                    context: $crate::action::ActionContext,
                    params: ::std::vec::Vec<$crate::types::Param>,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::types::TicketChange>, $crate::types::PluginError> {
                    <$ty as $crate::action::TransitionAction>::apply(context, params)
                }
            }
            #[cfg(target_arch = "wasm32")]
    $crate::wit::transition_action::export_transition_action!(__SwitchboardExport with_types_in $crate::wit::transition_action);
        };
    };
}
