//! The records shared by every world (WIT interface `types`), with builders
//! and look-up helpers.

use crate::wit::base::switchboard::plugin::types as raw;

pub use raw::{Address, Article, AttachmentInfo, DynamicField, Header, Mail, Note, Param, PluginError, SenderType, Ticket, TicketChange};

impl PluginError {
    /// An error with a machine-readable `code` (e.g. `not-found`, `denied`,
    /// `bad-config`) and a sentence for people.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }

    /// A `bad-config` error: a config value is missing or malformed.
    pub fn bad_config(message: impl Into<String>) -> Self {
        Self::new("bad-config", message)
    }

    /// A `bad-param` error: a call parameter is missing or malformed.
    pub fn bad_param(message: impl Into<String>) -> Self {
        Self::new("bad-param", message)
    }
}

impl Param {
    /// A key/value pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

/// Look-ups on a parameter list (`&[Param]`, `Vec<Param>`).
pub trait Params {
    /// The value of the first parameter named `key` (exact match).
    fn param(&self, key: &str) -> Option<&str>;

    /// The value of `key`, or a `bad-param` error naming it.
    fn require_param(&self, key: &str) -> Result<&str, PluginError> {
        self.param(key).ok_or_else(|| PluginError::bad_param(format!("parameter `{key}` is required")))
    }
}

impl Params for [Param] {
    fn param(&self, key: &str) -> Option<&str> {
        self.iter().find(|p| p.key == key).map(|p| p.value.as_str())
    }
}

impl Params for Vec<Param> {
    fn param(&self, key: &str) -> Option<&str> {
        self.as_slice().param(key)
    }
}

impl DynamicField {
    /// A field with one value.
    pub fn single(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), values: vec![value.into()] }
    }

    /// A field with several values (a multiselect); an empty list clears it.
    pub fn multi(name: impl Into<String>, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { name: name.into(), values: values.into_iter().map(Into::into).collect() }
    }
}

impl Note {
    /// A note agents see but the customer does not.
    pub fn internal(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self { subject: subject.into(), body: body.into(), visible_for_customer: false }
    }

    /// A note the customer sees too.
    pub fn for_customer(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self { subject: subject.into(), body: body.into(), visible_for_customer: true }
    }
}

impl TicketChange {
    /// Sets a dynamic field to one value.
    pub fn set_dynamic_field(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::DynamicField(DynamicField::single(name, value))
    }

    /// Clears a dynamic field.
    pub fn clear_dynamic_field(name: impl Into<String>) -> Self {
        Self::DynamicField(DynamicField { name: name.into(), values: Vec::new() })
    }

    /// Adds a note the customer does not see.
    pub fn internal_note(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self::AddNote(Note::internal(subject, body))
    }

    /// Adds a note the customer sees.
    pub fn customer_note(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self::AddNote(Note::for_customer(subject, body))
    }
}

impl Ticket {
    /// The values of the dynamic field `name`, if the ticket has it.
    pub fn dynamic_field(&self, name: &str) -> Option<&[String]> {
        self.dynamic_fields.iter().find(|f| f.name == name).map(|f| f.values.as_slice())
    }

    /// The first value of the dynamic field `name`.
    pub fn dynamic_field_value(&self, name: &str) -> Option<&str> {
        self.dynamic_field(name).and_then(|v| v.first()).map(String::as_str)
    }
}

impl Mail {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// The values of every header called `name` (case-insensitive), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// True when a header called `name` is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The first From address.
    pub fn sender(&self) -> Option<&str> {
        self.from.first().map(|a| a.email.as_str())
    }

    /// The number of To and Cc recipients.
    pub fn recipient_count(&self) -> usize {
        self.to.len() + self.cc.len()
    }

    /// The plain-text body, or the HTML body when there is no text part, or "".
    pub fn body(&self) -> &str {
        self.text_body.as_deref().or(self.html_body.as_deref()).unwrap_or("")
    }
}

impl Address {
    /// An address without a display name.
    pub fn new(email: impl Into<String>) -> Self {
        Self { name: None, email: email.into() }
    }
}

impl Header {
    /// A header.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

impl Default for Mail {
    /// An empty mail (handy in unit tests): no headers, no addresses, no body.
    fn default() -> Self {
        Self {
            account: String::new(),
            account_trusted: false,
            headers: Vec::new(),
            message_id: None,
            subject: String::new(),
            from: Vec::new(),
            to: Vec::new(),
            cc: Vec::new(),
            reply_to: Vec::new(),
            text_body: None,
            html_body: None,
            attachments: Vec::new(),
            size: 0,
        }
    }
}

impl Default for Ticket {
    /// An empty ticket (handy in unit tests): id 0, priority 3 (normal), no owner.
    fn default() -> Self {
        Self {
            id: 0,
            number: String::new(),
            title: String::new(),
            queue: String::new(),
            state: "new".into(),
            state_type: "new".into(),
            priority: 3,
            priority_name: "3 normal".into(),
            ticket_type: String::new(),
            owner: None,
            responsible: None,
            customer_user: None,
            customer_company: None,
            pending_until: None,
            dynamic_fields: Vec::new(),
            created_at: String::new(),
            changed_at: String::new(),
        }
    }
}
