//! The `postmaster-filter` world: see each incoming mail, return a [`Verdict`].
//!
//! ```no_run
//! use switchboard_sdk::prelude::*;
//!
//! /// Sends mail from the monitoring system to its own queue, closed.
//! struct Monitoring;
//!
//! impl PostmasterFilter for Monitoring {
//!     fn filter(mail: Mail) -> Result<Verdict, PluginError> {
//!         let queue = config::get_or("queue", "Monitoring");
//!         if mail.sender().is_some_and(|s| s.ends_with("@nagios.example.com")) {
//!             log::debug(format!("monitoring mail, routing to {queue}"));
//!             return Ok(Verdict::route_to(queue).with_state("closed successful").and_stop());
//!         }
//!         Ok(Verdict::default())
//!     }
//! }
//!
//! switchboard_sdk::postmaster_filter!(Monitoring);
//! ```

use crate::types::{DynamicField, Mail, PluginError, SenderType};

pub use crate::wit::postmaster_filter::switchboard::plugin::filter_types::Verdict;

/// A postmaster filter. Implement it on a unit struct and export it with
/// [`postmaster_filter!`](crate::postmaster_filter).
pub trait PostmasterFilter {
    /// Decides what happens to `mail`. An error counts as a failure of the
    /// plugin (the manifest's `policy.on_failure` says whether the mail is
    /// then processed without this filter or held).
    fn filter(mail: Mail) -> Result<Verdict, PluginError>;
}

impl Default for Verdict {
    /// Changes nothing: the mail is processed as if the filter were absent.
    fn default() -> Self {
        Self {
            queue: None,
            state: None,
            priority: None,
            owner: None,
            responsible: None,
            ticket_type: None,
            title: None,
            customer_user: None,
            customer_company: None,
            dynamic_fields: Vec::new(),
            sender_type: None,
            visible_for_customer: None,
            ignore: false,
            stop: false,
        }
    }
}

impl Verdict {
    /// Puts the ticket into `queue`.
    pub fn route_to(queue: impl Into<String>) -> Self {
        Self::default().with_queue(queue)
    }

    /// Drops the mail: no ticket, no article (and no further filters).
    pub fn drop_mail() -> Self {
        Self { ignore: true, stop: true, ..Self::default() }
    }

    /// True when the verdict changes nothing.
    pub fn is_noop(&self) -> bool {
        *self == Self::default()
    }

    /// Sets the queue.
    pub fn with_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    /// Sets the state by name.
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the priority by id (1 very low .. 5 very high by default).
    pub fn with_priority(mut self, priority: i64) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets the owner by login.
    pub fn with_owner(mut self, login: impl Into<String>) -> Self {
        self.owner = Some(login.into());
        self
    }

    /// Sets the responsible agent by login.
    pub fn with_responsible(mut self, login: impl Into<String>) -> Self {
        self.responsible = Some(login.into());
        self
    }

    /// Sets the ticket type by name.
    pub fn with_ticket_type(mut self, ticket_type: impl Into<String>) -> Self {
        self.ticket_type = Some(ticket_type.into());
        self
    }

    /// Uses `title` instead of the subject.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the customer user login.
    pub fn with_customer_user(mut self, login: impl Into<String>) -> Self {
        self.customer_user = Some(login.into());
        self
    }

    /// Sets the customer company id.
    pub fn with_customer_company(mut self, id: impl Into<String>) -> Self {
        self.customer_company = Some(id.into());
        self
    }

    /// Sets a dynamic field to one value (replacing an earlier setting of it).
    pub fn with_dynamic_field(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.with_field(DynamicField::single(name, value))
    }

    /// Sets a dynamic field (replacing an earlier setting of it).
    pub fn with_field(mut self, field: DynamicField) -> Self {
        self.dynamic_fields.retain(|f| f.name != field.name);
        self.dynamic_fields.push(field);
        self
    }

    /// Stores the article with this sender type.
    pub fn with_sender_type(mut self, sender_type: SenderType) -> Self {
        self.sender_type = Some(sender_type);
        self
    }

    /// Stores the article visible (or not) to the customer.
    pub fn with_visible_for_customer(mut self, visible: bool) -> Self {
        self.visible_for_customer = Some(visible);
        self
    }

    /// Runs no further filters after this one.
    pub fn and_stop(mut self) -> Self {
        self.stop = true;
        self
    }
}

/// Exports a [`PostmasterFilter`] as the component's `filter` function.
///
/// Call it once, at the top level of the plugin crate:
/// `switchboard_sdk::postmaster_filter!(MyFilter);`
///
/// On non-Wasm targets (unit tests) it expands to a type check only.
#[macro_export]
macro_rules! postmaster_filter {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardExport;
            impl $crate::wit::postmaster_filter::Guest for __SwitchboardExport {
                fn filter(mail: $crate::types::Mail) -> ::core::result::Result<$crate::filter::Verdict, $crate::types::PluginError> {
                    <$ty as $crate::filter::PostmasterFilter>::filter(mail)
                }
            }
            #[cfg(target_arch = "wasm32")]
    $crate::wit::postmaster_filter::export_postmaster_filter!(__SwitchboardExport with_types_in $crate::wit::postmaster_filter);
        };
    };
}
