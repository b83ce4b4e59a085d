//! What every input to the core obeys, whoever sends it (API, CLI, plugin):
//! text without U+0000 (PostgreSQL cannot store it, SQLite would, so both
//! backends refuse it alike), header-like and single-line fields (titles,
//! subjects, names, logins, the queue, state and type a ticket names) on one
//! line without control characters, and times within the years 0000-9999.
//!
//! Each write or lookup calls [`check`] on its input before it touches the
//! database, so a bad value is a [`DeskError::Invalid`] naming the field, never
//! a storage error.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::desk::error::Problems;
use crate::desk::time::{time_in_range, TIME_RANGE};
use crate::desk::{
    AgentInput, AgentUpdate, CatalogInput, CatalogUpdate, CompanyInput, CompanyUpdate, CustomerUserInput, CustomerUserUpdate, DeskError,
    DynamicFieldInput, DynamicFieldUpdate, NewArticle, NewTicket, NewToken, Ref, TicketQuery, TicketUpdate,
};

/// What is said of a value holding U+0000.
const NUL_MESSAGE: &str = "must not contain the character U+0000";

/// An input whose fields [`check`] can walk.
pub(crate) trait Input {
    /// Hands every text, JSON and time field to `c`, named as on the wire.
    fn visit(&self, c: &mut Checker);
}

/// Refuses `input` when any of its fields breaks a rule of this module.
pub(crate) fn check<I: Input + ?Sized>(input: &I) -> Result<(), DeskError> {
    let mut c = Checker::default();
    input.visit(&mut c);
    c.problems.finish()
}

/// Refuses one looked-up value (a name or number) holding U+0000.
pub(crate) fn check_text(field: &str, value: &str) -> Result<(), DeskError> {
    let mut c = Checker::default();
    c.text(field, value);
    c.problems.finish()
}

/// Why `value` is no single-line value (a line break, tab, escape or any
/// other control character), if it is not: the rule behind every title,
/// subject and name, for adapters that check before they call the core (the
/// plugin host refuses such a change when the guest queues it).
pub fn single_line(value: &str) -> Result<(), &'static str> {
    if value.contains('\0') {
        Err(NUL_MESSAGE)
    } else if value.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}') {
        Err(LINE_MESSAGE)
    } else {
        Ok(())
    }
}

/// What is said of a single-line value holding a control character.
const LINE_MESSAGE: &str = "must be one line without control characters (CR, LF, tab, ...)";

/// Diagnostic text the core records rather than accepts (a plugin's logs,
/// a trap message): U+0000 becomes U+FFFD, so the record is never lost.
pub(crate) fn storable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Collects the problems of one input.
#[derive(Default)]
pub(crate) struct Checker {
    problems: Problems,
    prefix: String,
}

impl Checker {
    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// Text must not hold U+0000.
    pub(crate) fn text(&mut self, field: &str, value: &str) {
        if value.contains('\0') {
            self.problems.add(self.name(field), NUL_MESSAGE);
        }
    }

    /// An optional text field.
    pub(crate) fn opt(&mut self, field: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.text(field, v);
        }
    }

    /// A header-like field (subject, address, MIME type): one line, no control
    /// characters at all, so it can never split or forge a header.
    pub(crate) fn line(&mut self, field: &str, value: &str) {
        if let Err(message) = single_line(value) {
            self.problems.add(self.name(field), message);
        }
    }

    fn opt_line(&mut self, field: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.line(field, v);
        }
    }

    /// An optional single-line field that may also be cleared (`Some(None)`).
    fn opt2_line(&mut self, field: &str, value: &Option<Option<String>>) {
        self.opt_line(field, value.as_ref().and_then(Option::as_ref));
    }

    /// Every string and key inside a JSON value.
    pub(crate) fn json(&mut self, field: &str, value: &Value) {
        match value {
            Value::String(s) => self.text(field, s),
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| self.json(&format!("{field}[{i}]"), v)),
            Value::Object(map) => {
                for (k, v) in map {
                    // A bad key is named by the object holding it.
                    self.text(field, k);
                    self.json(&format!("{field}.{k}"), v);
                }
            }
            _ => {}
        }
    }

    /// A dynamic field map: names and values.
    fn values<'a>(&mut self, field: &str, values: impl IntoIterator<Item = (&'a String, &'a Value)>) {
        for (name, value) in values {
            self.text(field, name);
            self.json(&format!("{field}.{name}"), value);
        }
    }

    /// A time must be one RFC 3339 can write.
    pub(crate) fn time(&mut self, field: &str, value: Option<DateTime<Utc>>) {
        if value.is_some_and(|t| !time_in_range(t)) {
            self.problems.add(self.name(field), TIME_RANGE);
        }
    }

    fn reference(&mut self, field: &str, value: Option<&Ref>) {
        if let Some(Ref::Name(name)) = value {
            self.line(field, name);
        }
    }

    /// Visits `input` with its fields named under `prefix` (e.g. `article.`).
    fn nested(&mut self, prefix: &str, input: &impl Input) {
        let inner = format!("{}{prefix}", self.prefix);
        let outer = std::mem::replace(&mut self.prefix, inner);
        input.visit(self);
        self.prefix = outer;
    }
}

impl Input for NewTicket {
    fn visit(&self, c: &mut Checker) {
        c.line("title", &self.title);
        c.opt_line("queue", self.queue.as_ref());
        c.reference("priority", self.priority.as_ref());
        c.opt_line("state", self.state.as_ref());
        c.opt_line("type", self.ticket_type.as_ref());
        c.opt_line("owner", self.owner.as_ref());
        c.opt_line("responsible", self.responsible.as_ref());
        c.opt_line("customer_user", self.customer_user.as_ref());
        c.opt_line("customer_company", self.customer_company.as_ref());
        c.time("pending_until", self.pending_until);
        c.values("dynamic_fields", &self.dynamic_fields);
        c.nested("article.", &self.article);
    }
}

impl Input for TicketUpdate {
    fn visit(&self, c: &mut Checker) {
        c.opt_line("title", self.title.as_ref());
        c.opt_line("queue", self.queue.as_ref());
        c.opt_line("state", self.state.as_ref());
        c.reference("priority", self.priority.as_ref());
        c.opt_line("type", self.ticket_type.as_ref());
        c.opt2_line("owner", &self.owner);
        c.opt2_line("responsible", &self.responsible);
        c.opt2_line("customer_user", &self.customer_user);
        c.opt2_line("customer_company", &self.customer_company);
        c.time("pending_until", self.pending_until.flatten());
        c.values("dynamic_fields", &self.dynamic_fields);
    }
}

/// The notes a ticket change adds (`notes[i]`).
impl Input for [NewArticle] {
    fn visit(&self, c: &mut Checker) {
        for (i, note) in self.iter().enumerate() {
            c.nested(&format!("notes[{i}]."), note);
        }
    }
}

impl<T: Input + ?Sized> Input for &T {
    fn visit(&self, c: &mut Checker) {
        (**self).visit(c);
    }
}

impl<A: Input, B: Input> Input for (A, B) {
    fn visit(&self, c: &mut Checker) {
        self.0.visit(c);
        self.1.visit(c);
    }
}

impl Input for NewArticle {
    fn visit(&self, c: &mut Checker) {
        c.opt("channel", self.channel.as_ref());
        c.opt("sender_type", self.sender_type.as_ref());
        for (field, value) in [
            ("from", &self.from),
            ("to", &self.to),
            ("cc", &self.cc),
            ("subject", &self.subject),
            ("message_id", &self.message_id),
            ("in_reply_to", &self.in_reply_to),
            ("references", &self.references),
        ] {
            c.opt_line(field, value.as_ref());
        }
        c.text("body", &self.body);
        c.opt("body_html", self.body_html.as_ref());
        c.values("dynamic_fields", &self.dynamic_fields);
        for (i, a) in self.attachments.iter().enumerate() {
            c.line(&format!("attachments[{i}].filename"), &a.filename);
            c.line(&format!("attachments[{i}].content_type"), &a.content_type);
        }
    }
}

impl Input for TicketQuery {
    fn visit(&self, c: &mut Checker) {
        c.opt("queue", self.queue.as_ref());
        c.opt("state", self.state.as_ref());
        c.reference("priority", self.priority.as_ref());
        c.opt("owner", self.owner.as_ref());
        c.opt("customer_user", self.customer_user.as_ref());
        c.opt("customer_company", self.customer_company.as_ref());
        c.opt("q", self.text.as_ref());
        for (name, value) in &self.dynamic_fields {
            c.text("df", name);
            if !name.contains('\0') {
                c.text(&format!("df.{name}"), value);
            }
        }
        c.time("created_after", self.created_after);
        c.time("created_before", self.created_before);
        c.time("changed_after", self.changed_after);
        c.time("changed_before", self.changed_before);
        c.opt("cursor", self.cursor.as_ref());
    }
}

impl Input for CatalogInput {
    fn visit(&self, c: &mut Checker) {
        c.line("name", &self.name);
        c.opt("comment", self.comment.as_ref());
        c.opt("state_type", self.state_type.as_ref());
    }
}

impl Input for CatalogUpdate {
    fn visit(&self, c: &mut Checker) {
        c.opt_line("name", self.name.as_ref());
        c.opt("comment", self.comment.as_ref());
        c.opt("state_type", self.state_type.as_ref());
    }
}

impl Input for CompanyInput {
    fn visit(&self, c: &mut Checker) {
        c.line("customer_id", &self.customer_id);
        c.line("name", &self.name);
        for (field, value) in
            [("street", &self.street), ("city", &self.city), ("country", &self.country), ("url", &self.url), ("comment", &self.comment)]
        {
            c.opt(field, value.as_ref());
        }
    }
}

impl Input for CompanyUpdate {
    fn visit(&self, c: &mut Checker) {
        c.opt_line("customer_id", self.customer_id.as_ref());
        c.opt_line("name", self.name.as_ref());
        for (field, value) in
            [("street", &self.street), ("city", &self.city), ("country", &self.country), ("url", &self.url), ("comment", &self.comment)]
        {
            c.opt(field, value.as_ref());
        }
    }
}

impl Input for CustomerUserInput {
    fn visit(&self, c: &mut Checker) {
        c.line("login", &self.login);
        c.line("email", &self.email);
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("phone", &self.phone),
            ("customer_company", &self.customer_company),
        ] {
            c.opt_line(field, value.as_ref());
        }
    }
}

impl Input for CustomerUserUpdate {
    fn visit(&self, c: &mut Checker) {
        for (field, value) in [
            ("login", &self.login),
            ("email", &self.email),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("phone", &self.phone),
        ] {
            c.opt_line(field, value.as_ref());
        }
        c.opt2_line("customer_company", &self.customer_company);
    }
}

/// Queue permissions as (queue name, level), named `permissions[i]`.
fn grants(c: &mut Checker, grants: Option<&Vec<(String, String)>>) {
    for (i, (queue, level)) in grants.into_iter().flatten().enumerate() {
        c.line(&format!("permissions[{i}].queue"), queue);
        c.text(&format!("permissions[{i}].permission"), level);
    }
}

impl Input for AgentInput {
    fn visit(&self, c: &mut Checker) {
        c.line("login", &self.login);
        c.opt_line("first_name", self.first_name.as_ref());
        c.opt_line("last_name", self.last_name.as_ref());
        c.opt_line("email", self.email.as_ref());
        c.text("role", &self.role);
        grants(c, self.permissions.as_ref());
    }
}

impl Input for AgentUpdate {
    fn visit(&self, c: &mut Checker) {
        for (field, value) in [
            ("login", &self.login),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("email", &self.email),
            ("role", &self.role),
        ] {
            c.opt_line(field, value.as_ref());
        }
        grants(c, self.permissions.as_ref());
    }
}

impl Input for DynamicFieldInput {
    fn visit(&self, c: &mut Checker) {
        c.line("name", &self.name);
        c.opt_line("label", self.label.as_ref());
        c.text("object_type", &self.object_type);
        c.text("field_type", &self.field_type);
        if let Some(config) = &self.config {
            config.possible_values.iter().enumerate().for_each(|(i, v)| c.text(&format!("config.possible_values[{i}]"), v));
        }
    }
}

impl Input for DynamicFieldUpdate {
    fn visit(&self, c: &mut Checker) {
        c.opt_line("label", self.label.as_ref());
        if let Some(config) = &self.config {
            config.possible_values.iter().enumerate().for_each(|(i, v)| c.text(&format!("config.possible_values[{i}]"), v));
        }
    }
}

impl Input for NewToken {
    fn visit(&self, c: &mut Checker) {
        c.line("name", &self.name);
        c.text("role", &self.role);
        c.opt("user", self.user.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{AttachmentInput, FieldError};

    fn fields<I: Input + ?Sized>(input: &I) -> Vec<String> {
        match check(input) {
            Ok(()) => Vec::new(),
            Err(DeskError::Invalid(fields)) => fields.into_iter().map(|FieldError { field, .. }| field).collect(),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn nul_anywhere_in_a_ticket_is_named() {
        let mut ticket = NewTicket { title: "ok".into(), queue: Some("Ra\0w".into()), ..Default::default() };
        ticket.dynamic_fields.insert("Tags".into(), serde_json::json!(["a", "b\u{0}"]));
        ticket.article.body = "body\0".into();
        ticket.article.attachments.push(AttachmentInput {
            filename: "a.txt".into(),
            content_type: "text/plain\r\nX-Evil: 1".into(),
            content: Vec::new(),
        });
        assert_eq!(
            fields(&ticket),
            ["queue", "dynamic_fields.Tags[1]", "article.body", "article.attachments[0].content_type"].map(String::from)
        );
        assert!(fields(&NewTicket { title: "fine, with – unicode".into(), ..Default::default() }).is_empty());
    }

    #[test]
    fn titles_and_names_are_one_line() {
        for title in ["forged\nADMIN TOKEN (shown once): x", "cr\r", "tab\t", "esc \u{1b}[31m", "nel \u{85}", "sep \u{2028}"] {
            let ticket = NewTicket { title: title.into(), ..Default::default() };
            assert_eq!(fields(&ticket), ["title"].map(String::from), "{title:?}");
        }
        let update = TicketUpdate { title: Some("a\nb".into()), queue: Some("Raw\r".into()), ..Default::default() };
        assert_eq!(fields(&update), ["title", "queue"].map(String::from));
        assert_eq!(fields(&CatalogInput { name: "Q\n".into(), ..Default::default() }), ["name"].map(String::from));
        assert_eq!(single_line("plain – text"), Ok(()));
        assert!(single_line("two\nlines").is_err());
    }

    #[test]
    fn recorded_text_keeps_everything_but_nul() {
        assert_eq!(storable("plain"), "plain");
        assert_eq!(storable("a\0b"), "a\u{FFFD}b");
    }

    #[test]
    fn header_fields_are_one_line() {
        let article =
            NewArticle { to: Some("a@example.com\r\nBcc: b@example.com".into()), subject: Some("s\tt".into()), ..Default::default() };
        assert_eq!(fields(&article), ["to", "subject"].map(String::from));
        let notes = [NewArticle { subject: Some("ok".into()), body: "\0".into(), ..Default::default() }];
        assert_eq!(fields(&notes[..]), ["notes[0].body"].map(String::from));
    }
}
