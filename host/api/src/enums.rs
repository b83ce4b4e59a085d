//! The closed sets of words the API speaks (roles, state types, link kinds …)
//! as OpenAPI enums, mirroring the core's enums.
//!
//! The core stays free of utoipa: each mirror converts to and from its core
//! enum with an exhaustive `match`, so a variant added in the core does not
//! build until it is added here, and the unit test below checks that both
//! spell every variant alike. DTO fields that the core parses itself keep
//! `String` and name the mirror as `#[schema(value_type = …)]`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use switchboard_core::desk;

/// Declares a wire enum mirroring a core enum with the same variant names.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident mirrors $core:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        // Every wire name is the variant's name in snake_case (utoipa does not
        // read a `rename` given through a macro); the unit test checks it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the core's order.
            pub(crate) const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Parses exactly a wire name (no other spelling).
            pub(crate) fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        /// Read from a string, so a value of another JSON type is a 422
        /// naming the field (serde_json calls a number where an enum belongs
        /// a syntax error).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                let s = String::deserialize(de)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&s, &[$($wire),+])
                })
            }
        }

        impl From<desk::$core> for $name {
            fn from(v: desk::$core) -> Self {
                match v {
                    $(desk::$core::$variant => $name::$variant),+
                }
            }
        }

        impl From<$name> for desk::$core {
            fn from(v: $name) -> Self {
                match v {
                    $($name::$variant => desk::$core::$variant),+
                }
            }
        }
    };
}

wire_enum! {
    /// What a ticket state means: new, open, pending (reminder or auto-close), closed, merged or removed.
    StateTypeName mirrors StateType {
        New = "new",
        Open = "open",
        PendingReminder = "pending_reminder",
        PendingAutoClose = "pending_auto_close",
        ClosedSuccessful = "closed_successful",
        ClosedUnsuccessful = "closed_unsuccessful",
        Merged = "merged",
        Removed = "removed",
    }
}

wire_enum! {
    /// An agent's role: `admin` configures everything, `agent` works the queues granted to it.
    AgentRoleName mirrors AgentRole { Admin = "admin", Agent = "agent" }
}

wire_enum! {
    /// What an API token may do.
    TokenRoleName mirrors TokenRole { Admin = "admin", Agent = "agent", Customer = "customer", Integration = "integration" }
}

wire_enum! {
    /// An agent's access to a queue: `ro` reads, `rw` reads and writes.
    QueuePermissionName mirrors QueuePermission { Ro = "ro", Rw = "rw" }
}

wire_enum! {
    /// How two tickets are linked: `parent_child` (source is the parent) or `related`.
    LinkKindName mirrors LinkKind { ParentChild = "parent_child", Related = "related" }
}

wire_enum! {
    /// How an article came in.
    ChannelName mirrors Channel { Email = "email", Note = "note", Phone = "phone", Chat = "chat" }
}

wire_enum! {
    /// Who wrote an article.
    SenderTypeName mirrors SenderType { Agent = "agent", Customer = "customer", System = "system" }
}

wire_enum! {
    /// Where a job of the durable queue is.
    JobStatusName mirrors JobStatus { Queued = "queued", Running = "running", Done = "done", Failed = "failed" }
}

wire_enum! {
    /// What a dynamic field belongs to.
    ObjectTypeName mirrors ObjectType { Ticket = "ticket", Article = "article" }
}

wire_enum! {
    /// The type of a dynamic field's values.
    FieldTypeName mirrors FieldType {
        Text = "text",
        Textarea = "textarea",
        Dropdown = "dropdown",
        Multiselect = "multiselect",
        Checkbox = "checkbox",
        Integer = "integer",
        Date = "date",
        Datetime = "datetime",
    }
}

wire_enum! {
    /// What a history entry records.
    HistoryEventName mirrors HistoryEvent {
        Created = "created",
        FieldChanged = "field_changed",
        ArticleAdded = "article_added",
        Linked = "linked",
        Unlinked = "unlinked",
        Merged = "merged",
        Reminder = "reminder",
    }
}

wire_enum! {
    /// How a plugin call ended.
    InvocationOutcomeName mirrors InvocationOutcome { Ok = "ok", PluginError = "plugin_error", Failed = "failed" }
}

wire_enum! {
    /// Why a plugin call failed (only a plugin's own faults count toward its breaker).
    FailureKindName mirrors FailureKind {
        Trap = "trap",
        Timeout = "timeout",
        MemoryLimit = "memory_limit",
        TableLimit = "table_limit",
        Fuel = "fuel",
        StackOverflow = "stack_overflow",
        OutputTooLarge = "output_too_large",
        InvalidOutput = "invalid_output",
        InputTooLarge = "input_too_large",
        PluginError = "plugin_error",
        Instantiate = "instantiate",
        Host = "host",
        Disabled = "disabled",
        Config = "config",
        Busy = "busy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that a mirror spells every core variant as the core does, and
    /// that serde uses the same spelling.
    fn same<C: Copy + Into<W>, W: Copy + Serialize + std::fmt::Debug + PartialEq>(
        core: &[C],
        core_str: fn(C) -> &'static str,
        wire: &[W],
        wire_str: fn(W) -> &'static str,
    ) {
        assert_eq!(core.len(), wire.len(), "{wire:?}");
        for (c, w) in core.iter().zip(wire) {
            let mirrored: W = (*c).into();
            assert_eq!(mirrored, *w);
            assert_eq!(core_str(*c), wire_str(*w));
            assert_eq!(serde_json::to_value(w).ok(), Some(serde_json::Value::from(core_str(*c))));
        }
    }

    #[test]
    fn mirrors_spell_every_core_variant_alike() {
        use desk::*;
        same(&StateType::ALL, StateType::as_str, StateTypeName::ALL, StateTypeName::as_str);
        same(&[AgentRole::Admin, AgentRole::Agent], AgentRole::as_str, AgentRoleName::ALL, AgentRoleName::as_str);
        let roles = [TokenRole::Admin, TokenRole::Agent, TokenRole::Customer, TokenRole::Integration];
        same(&roles, TokenRole::as_str, TokenRoleName::ALL, TokenRoleName::as_str);
        same(&[QueuePermission::Ro, QueuePermission::Rw], QueuePermission::as_str, QueuePermissionName::ALL, QueuePermissionName::as_str);
        same(&[LinkKind::ParentChild, LinkKind::Related], LinkKind::as_str, LinkKindName::ALL, LinkKindName::as_str);
        let channels = [Channel::Email, Channel::Note, Channel::Phone, Channel::Chat];
        same(&channels, Channel::as_str, ChannelName::ALL, ChannelName::as_str);
        let senders = [SenderType::Agent, SenderType::Customer, SenderType::System];
        same(&senders, SenderType::as_str, SenderTypeName::ALL, SenderTypeName::as_str);
        let statuses = [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Failed];
        same(&statuses, JobStatus::as_str, JobStatusName::ALL, JobStatusName::as_str);
        same(&[ObjectType::Ticket, ObjectType::Article], ObjectType::as_str, ObjectTypeName::ALL, ObjectTypeName::as_str);
        same(&FieldType::ALL, FieldType::as_str, FieldTypeName::ALL, FieldTypeName::as_str);
        same(&HistoryEvent::ALL, HistoryEvent::as_str, HistoryEventName::ALL, HistoryEventName::as_str);
        same(&InvocationOutcome::ALL, InvocationOutcome::as_str, InvocationOutcomeName::ALL, InvocationOutcomeName::as_str);
        same(&FailureKind::ALL, FailureKind::as_str, FailureKindName::ALL, FailureKindName::as_str);
        // The core's parsers accept exactly the wire names, so a value the
        // document's enum allows is one the core takes, and no other.
        for name in StateTypeName::ALL {
            assert_eq!(StateTypeName::parse(name.as_str()), Some(*name));
        }
        assert_eq!(StateTypeName::parse("Open"), None);
        // A value of another type is a data error (422 naming the field), not a syntax error.
        let err = serde_json::from_value::<StateTypeName>(serde_json::json!(42)).err().map(|e| e.classify());
        assert_eq!(err, Some(serde_json::error::Category::Data));
        let err = serde_json::from_str::<StateTypeName>("\"Open\"").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("unknown variant `Open`") && err.contains("`pending_reminder`"), "{err}");
    }
}
