//! `spam-filter`: a postmaster filter that scores incoming mail for spam and
//! recognises auto-replies.
//!
//! * A score at or above `threshold` (config, default 5) sends the ticket to
//!   `junk_queue` (default `Junk`) and records the score in the dynamic field
//!   `SpamScore`.
//! * An auto-reply (out-of-office and the like) is kept (`ignore = false`),
//!   stored with sender type `system`, marked with `AutoReply=1` and, if
//!   `auto_reply_state` is configured, given that state.
//!
//! The scoring itself is [`score::assess`], a pure function with unit tests
//! that run natively (`cargo test -p spam-filter --target x86_64-unknown-linux-gnu`).

pub mod score;

use switchboard_sdk::prelude::*;

use score::{assess, Assessment, Rules};

/// The exported filter.
pub struct SpamFilter;

impl PostmasterFilter for SpamFilter {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        let threshold = config::get_int("threshold", 5)?;
        let junk_queue = config::get_or("junk_queue", "Junk");
        let auto_reply_state = config::get("auto_reply_state").filter(|s| !s.trim().is_empty());
        let rules = Rules::with_extra_words(&config::get_or("extra_words", ""));

        let assessment = assess(&mail, &rules);
        log::debug(explain(&mail, &assessment, threshold));
        Ok(verdict(&assessment, threshold, &junk_queue, auto_reply_state.as_deref()))
    }
}

switchboard_sdk::postmaster_filter!(SpamFilter);

/// Turns an assessment into a verdict (no host calls: unit-testable).
pub fn verdict(assessment: &Assessment, threshold: i64, junk_queue: &str, auto_reply_state: Option<&str>) -> Verdict {
    let mut verdict = Verdict::default();
    if assessment.is_auto_reply() {
        verdict.ignore = false;
        verdict = verdict.with_sender_type(SenderType::System).with_dynamic_field("AutoReply", "1");
        if let Some(state) = auto_reply_state {
            verdict = verdict.with_state(state);
        }
    }
    if assessment.score >= threshold {
        verdict = verdict.with_queue(junk_queue).with_dynamic_field("SpamScore", assessment.score.to_string());
    }
    verdict
}

/// One debug line with the score and every reason.
fn explain(mail: &Mail, assessment: &Assessment, threshold: i64) -> String {
    let spam = if assessment.score >= threshold { "spam" } else { "not spam" };
    let mut line = format!(
        "mail {:?} from {}: score {} (threshold {threshold}, {spam})",
        mail.message_id.as_deref().unwrap_or("<no message-id>"),
        mail.sender().unwrap_or("<no sender>"),
        assessment.score,
    );
    for reason in &assessment.reasons {
        line.push_str(&format!("; +{} {}", reason.points, reason.why));
    }
    if !assessment.auto_reply.is_empty() {
        line.push_str(&format!("; auto-reply: {}", assessment.auto_reply.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::types::Header;

    #[test]
    fn spam_goes_to_the_junk_queue_with_its_score() {
        let mail = Mail { subject: "YOU HAVE WON THE LOTTERY".into(), headers: vec![Header::new("X-Spam-Flag", "YES")], ..Mail::default() };
        let a = assess(&mail, &Rules::default());
        let v = verdict(&a, 5, "Junk", None);
        assert_eq!(v.queue.as_deref(), Some("Junk"));
        assert_eq!(v.dynamic_fields.iter().find(|f| f.name == "SpamScore").map(|f| f.values[0].clone()), Some(a.score.to_string()));
        assert!(!v.ignore);
    }

    #[test]
    fn an_auto_reply_is_kept_as_a_system_article() {
        let mail = Mail {
            subject: "Out of Office: back Monday".into(),
            message_id: Some("<1@x>".into()),
            headers: vec![Header::new("Auto-Submitted", "auto-replied")],
            from: vec![switchboard_sdk::types::Address::new("bob@example.com")],
            to: vec![switchboard_sdk::types::Address::new("support@example.com")],
            text_body: Some("I am away.".into()),
            ..Mail::default()
        };
        let a = assess(&mail, &Rules::default());
        let v = verdict(&a, 5, "Junk", Some("open"));
        assert_eq!(v.queue, None);
        assert_eq!(v.sender_type, Some(SenderType::System));
        assert_eq!(v.state.as_deref(), Some("open"));
        assert!(v.dynamic_fields.iter().any(|f| f.name == "AutoReply" && f.values == ["1"]));
        assert!(!v.ignore);
    }

    #[test]
    fn ordinary_mail_changes_nothing() {
        let mail = Mail {
            subject: "Printer on floor 3 is jammed".into(),
            message_id: Some("<2@x>".into()),
            from: vec![switchboard_sdk::types::Address::new("alice@example.com")],
            to: vec![switchboard_sdk::types::Address::new("support@example.com")],
            text_body: Some("Hi, the printer jams on every page. Thanks, Alice".into()),
            ..Mail::default()
        };
        let a = assess(&mail, &Rules::default());
        assert_eq!(a.score, 0, "{:?}", a.reasons);
        assert!(verdict(&a, 5, "Junk", None).is_noop());
    }
}
