//! Every way a plugin hands data to the host is counted against one budget
//! per call: its result, the changes it queues through `ticket.change`, its
//! key-value writes and the bodies of its outbound HTTP requests share
//! `limits.max_output_bytes`, and the changes of one call (queued or
//! returned) are at most `limits.max_changes`. A refused charge is a
//! `too-large` plugin error to the guest at once, and the call then fails
//! `output_too_large` whatever the guest returns, so nothing of it is applied
//! and applying a plugin's changes never holds the database writer for
//! longer than a normal request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::bindings::base::switchboard::plugin::types::{PluginError, TicketChange};
use crate::bindings::filter::switchboard::plugin::filter_types::Verdict;
use crate::calls::CallResult;
use crate::failure::{Failure, FailureKind};
use crate::manifest::Limits;

/// What one call has handed the host so far, and the first reason a charge
/// was refused. Shared (atomics) with the egress hook, whose request bodies
/// are sent from another task. The default budget is zero: it refuses everything.
#[derive(Debug, Default)]
pub(crate) struct OutputBudget {
    /// `max_output_bytes`.
    max_bytes: u64,
    /// `max_changes`.
    max_changes: u64,
    /// Bytes accepted so far.
    used: AtomicU64,
    /// Changes accepted so far.
    changes: AtomicU64,
    /// Why the first refused charge was refused; once set, the call fails.
    refused: Mutex<Option<String>>,
}

impl OutputBudget {
    /// A fresh budget under `limits`.
    pub(crate) fn new(limits: &Limits) -> Arc<OutputBudget> {
        Arc::new(OutputBudget {
            max_bytes: limits.max_output_bytes,
            max_changes: limits.max_changes,
            used: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            refused: Mutex::new(None),
        })
    }

    /// Charges `bytes` for `what` (e.g. "a key-value write"); over
    /// `max_output_bytes` the charge is refused, remembered, and the reason returned.
    pub(crate) fn charge(&self, what: &str, bytes: u64) -> Result<(), String> {
        let before = self.used.fetch_add(bytes, Ordering::SeqCst);
        let total = before.saturating_add(bytes);
        if total > self.max_bytes {
            self.used.fetch_sub(bytes, Ordering::SeqCst);
            return Err(self.refuse(format!(
                "{what} of {bytes} bytes would take this call's output to {total} bytes, over max_output_bytes {}",
                self.max_bytes
            )));
        }
        Ok(())
    }

    /// Charges one queued ticket change of `bytes`: it counts against
    /// `max_changes` and `max_output_bytes`.
    pub(crate) fn charge_change(&self, bytes: u64) -> Result<(), String> {
        let count = self.changes.fetch_add(1, Ordering::SeqCst) + 1;
        if count > self.max_changes {
            self.changes.fetch_sub(1, Ordering::SeqCst);
            return Err(self.refuse(format!("more than {} changes in one call (max_changes)", self.max_changes)));
        }
        self.charge("a ticket change", bytes).inspect_err(|_| {
            self.changes.fetch_sub(1, Ordering::SeqCst);
        })
    }

    /// Remembers the first refusal and returns `why`.
    fn refuse(&self, why: String) -> String {
        if let Ok(mut first) = self.refused.lock() {
            first.get_or_insert_with(|| why.clone());
        }
        why
    }

    /// Why a charge of this call was refused, if one was: the call fails `output_too_large`.
    pub(crate) fn refusal(&self) -> Option<String> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    /// Bytes charged so far.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

/// The plugin error a refused charge is to the guest.
pub(crate) fn too_large(why: String) -> PluginError {
    PluginError { code: "too-large".into(), message: why }
}

/// What one change costs against `max_output_bytes`: its text plus a small
/// fixed amount, so even empty changes are not free.
pub(crate) fn change_bytes(change: &TicketChange) -> u64 {
    let opt = |v: &Option<String>| v.as_ref().map_or(0, String::len);
    let text = match change {
        TicketChange::Title(v) | TicketChange::Queue(v) | TicketChange::State(v) | TicketChange::TicketType(v) => v.len(),
        TicketChange::Priority(_) => 8,
        TicketChange::Owner(v)
        | TicketChange::Responsible(v)
        | TicketChange::CustomerUser(v)
        | TicketChange::CustomerCompany(v)
        | TicketChange::PendingUntil(v) => opt(v),
        TicketChange::DynamicField(f) => f.name.len() + f.values.iter().map(|v| v.len() + 4).sum::<usize>(),
        TicketChange::AddNote(n) => n.subject.len() + n.body.len(),
    };
    text as u64 + 16
}

/// Checks a finished call's result: a transition action's changes are at
/// most `max_changes`, the result's `size` (bytes) is charged, and a verdict's
/// single-line fields are single lines; then any refusal during the call fails it.
pub(crate) fn check_result(value: &CallResult, size: u64, budget: &OutputBudget) -> Result<(), Failure> {
    if let CallResult::Changes(changes) = value {
        if changes.len() as u64 > budget.max_changes {
            let why = budget.refuse(format!("the result has {} changes, over max_changes {}", changes.len(), budget.max_changes));
            return Err(Failure::new(FailureKind::OutputTooLarge, why));
        }
    }
    budget.charge("the result", size).map_err(|why| Failure::new(FailureKind::OutputTooLarge, why))?;
    if let CallResult::Verdict(verdict) = value {
        verdict_lines(verdict).map_err(|why| Failure::new(FailureKind::InvalidOutput, why))?;
    }
    match budget.refusal() {
        Some(why) => Err(Failure::new(FailureKind::OutputTooLarge, why)),
        None => Ok(()),
    }
}

/// Refuses a verdict whose title, names or logins hold a line break or
/// another control character (the core's single-line rule).
fn verdict_lines(v: &Verdict) -> Result<(), String> {
    let fields = [
        ("queue", &v.queue),
        ("state", &v.state),
        ("owner", &v.owner),
        ("responsible", &v.responsible),
        ("ticket-type", &v.ticket_type),
        ("title", &v.title),
        ("customer-user", &v.customer_user),
        ("customer-company", &v.customer_company),
    ];
    for (name, value) in fields {
        if let Some(text) = value {
            switchboard_core::desk::single_line(text).map_err(|why| format!("the verdict's {name} {why}"))?;
        }
    }
    for field in &v.dynamic_fields {
        switchboard_core::desk::single_line(&field.name).map_err(|why| format!("a dynamic field name {why}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::base::switchboard::plugin::types::Note;

    fn limits(max_bytes: u64, max_changes: u64) -> Limits {
        let mut limits = crate::manifest::Manifest::parse("name = \"p\"\nversion = \"0.1.0\"\nworld = \"script-task\"\nwit = \"0.1.0\"\n")
            .expect("manifest")
            .limits(&crate::ceilings::PluginCeilings::default());
        limits.max_output_bytes = max_bytes;
        limits.max_changes = max_changes;
        limits
    }

    fn note(bytes: usize) -> TicketChange {
        TicketChange::AddNote(Note { subject: "s".into(), body: "x".repeat(bytes), visible_for_customer: false })
    }

    #[test]
    fn changes_count_against_bytes_and_number() {
        let budget = OutputBudget::new(&limits(1000, 3));
        budget.charge_change(change_bytes(&note(100))).expect("first");
        let why = budget.charge_change(change_bytes(&note(2000))).expect_err("over the bytes");
        assert!(why.contains("max_output_bytes 1000"), "{why}");
        assert_eq!(budget.used(), 117, "a refused charge is not kept");
        budget.charge_change(change_bytes(&note(10))).expect("second");
        budget.charge_change(change_bytes(&note(10))).expect("third");
        let why = budget.charge_change(change_bytes(&note(10))).expect_err("over the count");
        assert!(why.contains("max_changes"), "{why}");
        assert!(budget.refusal().expect("remembered").contains("max_output_bytes"), "the first refusal is what the call fails with");
    }

    #[test]
    fn a_result_fails_when_anything_was_refused_or_it_is_too_big() {
        let budget = OutputBudget::new(&limits(1000, 100));
        let outcome = CallResult::Changes(vec![note(1)]);
        check_result(&outcome, 10, &budget).expect("small");
        let budget = OutputBudget::new(&limits(1000, 100));
        let err = check_result(&outcome, 1001, &budget).expect_err("big");
        assert_eq!(err.kind, "output_too_large");
        let budget = OutputBudget::new(&limits(1_000_000, 100));
        let many = CallResult::Changes((0..101).map(|_| note(1)).collect());
        let err = check_result(&many, 100, &budget).expect_err("too many");
        assert!(err.message.contains("101 changes, over max_changes 100"), "{err}");
        let budget = OutputBudget::new(&limits(1000, 100));
        let _ = budget.charge("a key-value write", 5000);
        let err = check_result(&outcome, 10, &budget).expect_err("refused earlier");
        assert!(err.message.contains("key-value write"), "{err}");
        let verdict = Verdict {
            queue: None,
            state: None,
            priority: None,
            owner: None,
            responsible: None,
            ticket_type: None,
            title: Some("ok\nADMIN TOKEN".into()),
            customer_user: None,
            customer_company: None,
            dynamic_fields: Vec::new(),
            sender_type: None,
            visible_for_customer: None,
            ignore: false,
            stop: false,
        };
        let err = check_result(&CallResult::Verdict(verdict), 10, &OutputBudget::new(&limits(1000, 100))).expect_err("two lines");
        assert_eq!(err.kind, "invalid_output", "{err}");
    }
}
