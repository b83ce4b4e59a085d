//! `escalation`: a transition action that escalates a ticket.
//!
//! * priority below `min_priority` (default 4) → raised to it;
//! * no owner and `escalation_owner` configured → that agent becomes owner;
//! * dynamic field `Escalated` set to `1`;
//! * an internal note (not visible to the customer) lists what was done.
//!
//! Parameters `min_priority` and `escalation_owner` override the config for
//! one call; `reason` is added to the note.

use switchboard_sdk::config::parse_int;
use switchboard_sdk::prelude::*;

/// The exported action.
pub struct Escalation;

impl TransitionAction for Escalation {
    fn apply(context: ActionContext, params: Vec<Param>) -> Result<Vec<TicketChange>, PluginError> {
        let min_priority = match params.param("min_priority") {
            Some(p) => parse_int("min_priority", p).map_err(|e| PluginError::bad_param(e.message))?,
            None => config::get_int("min_priority", 4)?,
        };
        let owner = params.param("escalation_owner").map(str::to_owned).or_else(|| config::get("escalation_owner"));
        let settings = Settings {
            min_priority,
            owner: owner.filter(|o| !o.trim().is_empty()),
            reason: params.param("reason").map(str::to_owned),
            transition: context.transition.clone(),
        };
        let changes = plan(&context.ticket, &settings);
        log::info(format!("ticket {}: escalating with {} change(s)", context.ticket.number, changes.len()));
        Ok(changes)
    }
}

switchboard_sdk::transition_action!(Escalation);

/// What the escalation does, after config and parameters are merged.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Raise the priority to at least this.
    pub min_priority: i64,
    /// Owner to set when the ticket has none.
    pub owner: Option<String>,
    /// Extra sentence for the note.
    pub reason: Option<String>,
    /// The transition being taken (named in the note).
    pub transition: Option<String>,
}

/// The changes escalating `ticket` takes (a pure function, tested natively).
pub fn plan(ticket: &Ticket, s: &Settings) -> Vec<TicketChange> {
    let mut changes = Vec::new();
    let mut lines = Vec::new();
    if ticket.priority < s.min_priority {
        changes.push(TicketChange::Priority(s.min_priority));
        lines.push(format!("Priority raised from {} to {}.", ticket.priority, s.min_priority));
    }
    if ticket.owner.is_none() {
        if let Some(owner) = &s.owner {
            changes.push(TicketChange::Owner(Some(owner.clone())));
            lines.push(format!("Owner set to {owner}."));
        }
    }
    changes.push(TicketChange::set_dynamic_field("Escalated", "1"));
    lines.push("Marked as escalated.".into());
    if let Some(reason) = s.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        lines.push(format!("Reason: {reason}"));
    }
    let via = s.transition.as_deref().map(|t| format!(" by transition \"{t}\"")).unwrap_or_default();
    changes.push(TicketChange::internal_note("Ticket escalated", format!("Escalated{via}.\n{}", lines.join("\n"))));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings { min_priority: 4, owner: Some("duty-manager".into()), ..Settings::default() }
    }

    #[test]
    fn raises_priority_sets_owner_marks_and_notes() {
        let t = Ticket { priority: 2, ..Ticket::default() };
        let changes = plan(&t, &Settings { transition: Some("Escalate".into()), reason: Some("SLA breached".into()), ..settings() });
        assert_eq!(changes[0], TicketChange::Priority(4));
        assert_eq!(changes[1], TicketChange::Owner(Some("duty-manager".into())));
        assert_eq!(changes[2], TicketChange::set_dynamic_field("Escalated", "1"));
        let TicketChange::AddNote(note) = &changes[3] else { panic!("{:?}", changes[3]) };
        assert!(!note.visible_for_customer);
        assert!(note.body.contains("transition \"Escalate\""), "{}", note.body);
        assert!(note.body.contains("from 2 to 4") && note.body.contains("SLA breached"), "{}", note.body);
    }

    #[test]
    fn keeps_a_higher_priority_and_an_existing_owner() {
        let t = Ticket { priority: 5, owner: Some("bob".into()), ..Ticket::default() };
        let changes = plan(&t, &settings());
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0], TicketChange::set_dynamic_field("Escalated", "1"));
        assert!(matches!(changes[1], TicketChange::AddNote(_)));
    }

    #[test]
    fn no_owner_configured_leaves_the_owner_alone() {
        let t = Ticket { priority: 4, ..Ticket::default() };
        let changes = plan(&t, &Settings { owner: None, ..settings() });
        assert!(!changes.iter().any(|c| matches!(c, TicketChange::Owner(_))));
    }
}
