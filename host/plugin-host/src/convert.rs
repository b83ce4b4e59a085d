//! Conversions between core types and the WIT types plugins see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mail_parser::MimeHeaders;
use serde_json::Value;

use crate::bindings::base::switchboard::plugin::types::{
    Address, Article, AttachmentInfo, DynamicField, Header, Mail, SenderType, Ticket, TicketChange,
};
use switchboard_core::desk::{self, NewArticle, Ref, TicketUpdate};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A dynamic field value as canonical text items.
pub(crate) fn value_items(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::Bool(b) => vec![if *b { "1" } else { "0" }.to_string()],
        Value::Number(n) => vec![n.to_string()],
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(value_items).collect(),
        Value::Object(_) => vec![value.to_string()],
    }
}

/// A core ticket as the plugin sees it.
pub(crate) fn ticket_to_wit(t: &desk::Ticket) -> Ticket {
    Ticket {
        id: t.id,
        number: t.number.clone(),
        title: t.title.clone(),
        queue: t.queue.clone(),
        state: t.state.clone(),
        state_type: t.state_type.as_str().to_string(),
        priority: t.priority_id,
        priority_name: t.priority.clone(),
        ticket_type: t.ticket_type.clone(),
        owner: t.owner.clone(),
        responsible: t.responsible.clone(),
        customer_user: t.customer_user.clone(),
        customer_company: t.customer_company.clone(),
        pending_until: t.pending_until.map(time),
        dynamic_fields: t.dynamic_fields.iter().map(|(name, v)| DynamicField { name: name.clone(), values: value_items(v) }).collect(),
        created_at: time(t.created_at),
        changed_at: time(t.changed_at),
    }
}

/// A core article as the plugin sees it.
pub(crate) fn article_to_wit(a: &desk::Article) -> Article {
    Article {
        id: a.id,
        channel: a.channel.as_str().to_string(),
        sender_type: match a.sender_type {
            desk::SenderType::Agent => SenderType::Agent,
            desk::SenderType::Customer => SenderType::Customer,
            desk::SenderType::System => SenderType::System,
        },
        visible_for_customer: a.visible_for_customer,
        from: a.from.clone(),
        to: a.to.clone(),
        cc: a.cc.clone(),
        subject: a.subject.clone(),
        body: a.body.clone(),
        body_html: a.body_html.clone(),
        message_id: a.message_id.clone(),
        in_reply_to: a.in_reply_to.clone(),
        references: a.references.clone(),
        attachments: a
            .attachments
            .iter()
            .map(|x| AttachmentInfo { filename: x.filename.clone(), content_type: x.content_type.clone(), size: x.size.max(0) as u64 })
            .collect(),
        created_at: time(a.created_at),
    }
}

/// Refuses changes that can never be valid, before they are queued: empty
/// names, a title, name, login or subject that is not one line (the core's
/// single-line rule), a note body over `max_note` bytes (the core's
/// `max_article_bytes`).
pub(crate) fn check_change(change: &TicketChange, max_note: usize) -> Result<(), String> {
    let line = |what: &str, value: &str| switchboard_core::desk::single_line(value).map_err(|why| format!("{what} {why}"));
    match change {
        TicketChange::Title(v) => line("the title", v)?,
        TicketChange::Queue(v) => line("the queue name", v)?,
        TicketChange::State(v) => line("the state name", v)?,
        TicketChange::TicketType(v) => line("the type name", v)?,
        TicketChange::Owner(Some(v)) | TicketChange::Responsible(Some(v)) => line("an agent login", v)?,
        TicketChange::CustomerUser(Some(v)) => line("the customer user", v)?,
        TicketChange::CustomerCompany(Some(v)) => line("the customer company", v)?,
        TicketChange::DynamicField(f) => line("a dynamic field name", &f.name)?,
        TicketChange::AddNote(n) => {
            line("a note's subject", &n.subject)?;
            if n.body.len() > max_note {
                return Err(format!("a note's body is {} bytes; at most {max_note} are accepted (max_article_bytes)", n.body.len()));
            }
        }
        _ => {}
    }
    match change {
        TicketChange::Title(t) if t.trim().is_empty() => Err("the title must not be empty".into()),
        TicketChange::Queue(q) | TicketChange::State(q) | TicketChange::TicketType(q) if q.trim().is_empty() => {
            Err("a name must not be empty".into())
        }
        TicketChange::Priority(p) if *p < 1 => Err(format!("priority {p} is not a priority id")),
        TicketChange::PendingUntil(Some(t)) if DateTime::parse_from_rfc3339(t).is_err() => Err(format!("'{t}' is not an RFC 3339 time")),
        TicketChange::DynamicField(f) if f.name.trim().is_empty() => Err("a dynamic field needs a name".into()),
        TicketChange::AddNote(n) if n.body.trim().is_empty() => Err("a note needs a body".into()),
        _ => Ok(()),
    }
}

/// Shows a queued change in the snapshot `ticket.get` returns.
pub(crate) fn apply_change_to_snapshot(t: &mut Ticket, change: &TicketChange) {
    match change {
        TicketChange::Title(v) => t.title = v.clone(),
        TicketChange::Queue(v) => t.queue = v.clone(),
        TicketChange::State(v) => t.state = v.clone(),
        TicketChange::Priority(v) => t.priority = *v,
        TicketChange::TicketType(v) => t.ticket_type = v.clone(),
        TicketChange::Owner(v) => t.owner = v.clone(),
        TicketChange::Responsible(v) => t.responsible = v.clone(),
        TicketChange::CustomerUser(v) => t.customer_user = v.clone(),
        TicketChange::CustomerCompany(v) => t.customer_company = v.clone(),
        TicketChange::PendingUntil(v) => t.pending_until = v.clone(),
        TicketChange::DynamicField(f) => {
            t.dynamic_fields.retain(|d| d.name != f.name);
            if !f.values.is_empty() {
                t.dynamic_fields.push(f.clone());
            }
        }
        TicketChange::AddNote(_) => {}
    }
}

/// Turns a dynamic field's text items into the JSON value its type expects.
fn field_value(def: Option<&desk::DynamicField>, values: &[String]) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    match def.map(|d| d.field_type) {
        Some(desk::FieldType::Multiselect) => Value::Array(values.iter().cloned().map(Value::String).collect()),
        Some(desk::FieldType::Checkbox) => Value::Bool(values[0] == "1" || values[0] == "true"),
        Some(desk::FieldType::Integer) => values[0].parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(values[0].clone())),
        _ => Value::String(values[0].clone()),
    }
}

/// Folds plugin changes into one core update plus notes to add, in order.
pub(crate) fn changes_to_update(
    changes: &[TicketChange],
    fields: &[desk::DynamicField],
    max_note: usize,
) -> Result<(TicketUpdate, Vec<NewArticle>), String> {
    let mut update = TicketUpdate::default();
    let mut notes = Vec::new();
    let mut dynamic: BTreeMap<String, Value> = BTreeMap::new();
    for change in changes {
        check_change(change, max_note)?;
        match change {
            TicketChange::Title(v) => update.title = Some(v.clone()),
            TicketChange::Queue(v) => update.queue = Some(v.clone()),
            TicketChange::State(v) => update.state = Some(v.clone()),
            TicketChange::Priority(v) => update.priority = Some(Ref::Id(*v)),
            TicketChange::TicketType(v) => update.ticket_type = Some(v.clone()),
            TicketChange::Owner(v) => update.owner = Some(v.clone()),
            TicketChange::Responsible(v) => update.responsible = Some(v.clone()),
            TicketChange::CustomerUser(v) => update.customer_user = Some(v.clone()),
            TicketChange::CustomerCompany(v) => update.customer_company = Some(v.clone()),
            TicketChange::PendingUntil(v) => {
                update.pending_until = Some(match v {
                    Some(t) => {
                        Some(DateTime::parse_from_rfc3339(t).map_err(|_| format!("'{t}' is not an RFC 3339 time"))?.with_timezone(&Utc))
                    }
                    None => None,
                })
            }
            TicketChange::DynamicField(f) => {
                let def = fields.iter().find(|d| d.name == f.name);
                dynamic.insert(f.name.clone(), field_value(def, &f.values));
            }
            TicketChange::AddNote(n) => notes.push(NewArticle {
                channel: Some("note".into()),
                sender_type: Some("system".into()),
                visible_for_customer: Some(n.visible_for_customer),
                subject: Some(n.subject.clone()),
                body: n.body.clone(),
                ..Default::default()
            }),
        }
    }
    update.dynamic_fields = dynamic;
    Ok((update, notes))
}

/// Parses a raw mail into what a postmaster filter sees.
pub(crate) fn mail_from_bytes(raw: &[u8], account: &str, trusted: bool, max_body: usize) -> Result<Mail, String> {
    let message = mail_parser::MessageParser::default().parse(raw).ok_or("the file is not a mail message")?;
    let addresses = |a: Option<&mail_parser::Address<'_>>| -> Vec<Address> {
        a.map(|a| {
            a.iter()
                .filter_map(|x| x.address().map(|email| Address { name: x.name().map(str::to_string), email: email.to_string() }))
                .collect()
        })
        .unwrap_or_default()
    };
    let cap = |s: String| -> String {
        if s.len() <= max_body {
            return s;
        }
        let mut end = max_body;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_string()
    };
    let headers = message
        .headers()
        .iter()
        .map(|h| Header {
            name: h.name().to_string(),
            value: match h.value() {
                mail_parser::HeaderValue::Text(t) => t.to_string(),
                _ => String::from_utf8_lossy(raw.get(h.offset_start() as usize..h.offset_end() as usize).unwrap_or_default())
                    .trim()
                    .to_string(),
            },
        })
        .collect();
    Ok(Mail {
        account: account.to_string(),
        account_trusted: trusted,
        headers,
        message_id: message.message_id().map(str::to_string),
        subject: message.subject().unwrap_or_default().to_string(),
        from: addresses(message.from()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        reply_to: addresses(message.reply_to()),
        text_body: message.body_text(0).map(|b| cap(b.into_owned())),
        html_body: message.body_html(0).map(|b| cap(b.into_owned())),
        attachments: message
            .attachments()
            .map(|a| AttachmentInfo {
                filename: a.attachment_name().unwrap_or("attachment").to_string(),
                content_type: a
                    .content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size: a.contents().len() as u64,
            })
            .collect(),
        size: raw.len() as u64,
    })
}
