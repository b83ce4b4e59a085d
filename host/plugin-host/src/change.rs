//! [`PluginChange`]: a change a plugin asked for, in the host's own terms
//! (the WIT `ticket-change` stays inside this crate).

use serde::Serialize;

use crate::bindings::base::switchboard::plugin::types::TicketChange;

/// One change a script task or transition action asked for. Serialised as
/// snake_case JSON tagged by `kind`, with the ticket field names of the API
/// (`{"kind": "priority", "value": 5}`, `{"kind": "add_note", "subject": …}`),
/// which is also what `plugin run` prints. With the `openapi` feature (the API
/// crate's) it is the document's `TicketChangeDto` schema, so the wire shape
/// is written once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TicketChangeDto))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PluginChange {
    /// Set the title.
    Title {
        /// The new title.
        value: String,
    },
    /// Move to the queue of this name.
    Queue {
        /// Queue name.
        value: String,
    },
    /// Set the state of this name.
    State {
        /// State name.
        value: String,
    },
    /// Set the priority by id.
    Priority {
        /// Priority id.
        value: i64,
    },
    /// Set the ticket type of this name.
    Type {
        /// Type name.
        value: String,
    },
    /// Set (null: clear) the owner.
    Owner {
        /// Agent login.
        value: Option<String>,
    },
    /// Set (null: clear) the responsible agent.
    Responsible {
        /// Agent login.
        value: Option<String>,
    },
    /// Set (null: clear) the customer user.
    CustomerUser {
        /// Customer user login.
        value: Option<String>,
    },
    /// Set (null: clear) the customer company.
    CustomerCompany {
        /// Customer company id.
        value: Option<String>,
    },
    /// Set (null: clear) the pending time.
    PendingUntil {
        /// RFC 3339 time.
        value: Option<String>,
    },
    /// Set (no values: clear) a dynamic field.
    DynamicField {
        /// Field name.
        name: String,
        /// Canonical text items.
        values: Vec<String>,
    },
    /// Add an internal or customer-visible note.
    AddNote {
        /// Subject.
        subject: String,
        /// Plain-text body.
        body: String,
        /// Shown to the customer.
        visible_for_customer: bool,
    },
}

impl From<&TicketChange> for PluginChange {
    fn from(change: &TicketChange) -> Self {
        match change {
            TicketChange::Title(v) => PluginChange::Title { value: v.clone() },
            TicketChange::Queue(v) => PluginChange::Queue { value: v.clone() },
            TicketChange::State(v) => PluginChange::State { value: v.clone() },
            TicketChange::Priority(v) => PluginChange::Priority { value: *v },
            TicketChange::TicketType(v) => PluginChange::Type { value: v.clone() },
            TicketChange::Owner(v) => PluginChange::Owner { value: v.clone() },
            TicketChange::Responsible(v) => PluginChange::Responsible { value: v.clone() },
            TicketChange::CustomerUser(v) => PluginChange::CustomerUser { value: v.clone() },
            TicketChange::CustomerCompany(v) => PluginChange::CustomerCompany { value: v.clone() },
            TicketChange::PendingUntil(v) => PluginChange::PendingUntil { value: v.clone() },
            TicketChange::DynamicField(f) => PluginChange::DynamicField { name: f.name.clone(), values: f.values.clone() },
            TicketChange::AddNote(n) => {
                PluginChange::AddNote { subject: n.subject.clone(), body: n.body.clone(), visible_for_customer: n.visible_for_customer }
            }
        }
    }
}

impl std::fmt::Display for PluginChange {
    /// The change as JSON, e.g. `{"kind":"priority","value":5}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::base::switchboard::plugin::types::Note;

    #[test]
    fn changes_are_snake_case_json_tagged_by_kind() {
        let cases = [
            (TicketChange::Priority(5), serde_json::json!({"kind": "priority", "value": 5})),
            (TicketChange::TicketType("Incident".into()), serde_json::json!({"kind": "type", "value": "Incident"})),
            (TicketChange::Owner(None), serde_json::json!({"kind": "owner", "value": null})),
            (
                TicketChange::AddNote(Note { subject: "s".into(), body: "b".into(), visible_for_customer: false }),
                serde_json::json!({"kind": "add_note", "subject": "s", "body": "b", "visible_for_customer": false}),
            ),
        ];
        for (wit, want) in cases {
            assert_eq!(serde_json::to_value(PluginChange::from(&wit)).expect("json"), want);
        }
    }
}
