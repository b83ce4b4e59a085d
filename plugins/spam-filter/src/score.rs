//! Pure spam and auto-reply scoring: no host calls, so it runs (and is tested)
//! natively.
//!
//! Every signal adds points; [`assess`] returns the total and the reasons.
//! Auto-reply signals are collected separately: an auto-reply is not spam,
//! but it must not be answered by another automatic reply.

use switchboard_sdk::types::Mail;

/// Words and phrases that are rarely seen outside spam (lower case).
pub const SPAM_WORDS: &[&str] = &[
    "viagra",
    "cialis",
    "lottery",
    "you have won",
    "you've won",
    "winner",
    "casino",
    "free money",
    "make money fast",
    "work from home",
    "crypto giveaway",
    "bitcoin investment",
    "double your bitcoin",
    "100% free",
    "risk-free",
    "act now",
    "limited time offer",
    "click here",
    "weight loss",
    "miracle cure",
    "cheap meds",
    "wire transfer",
    "million dollars",
    "inheritance fund",
    "beneficiary",
    "nigerian prince",
    "claim your prize",
    "congratulations you",
    "unclaimed",
    "enlarge",
];

/// Subject prefixes of auto-replies (lower case).
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "out of office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto:",
    "abwesenheitsnotiz",
    "réponse automatique",
    "away from office",
];

/// Points for the individual signals.
pub mod points {
    /// An upstream scanner flagged the mail (`X-Spam-Flag: YES`, `X-Spam-Status: Yes`).
    pub const UPSTREAM_FLAG: i64 = 5;
    /// `Precedence: bulk` or `junk`.
    pub const PRECEDENCE_BULK: i64 = 2;
    /// `Precedence: list`, `List-Id` or `List-Unsubscribe`.
    pub const MAILING_LIST: i64 = 1;
    /// A spam word in the subject (each).
    pub const SUBJECT_WORD: i64 = 2;
    /// A spam word in the body (each).
    pub const BODY_WORD: i64 = 1;
    /// Cap on all spam-word points together.
    pub const WORDS_CAP: i64 = 6;
    /// No Message-ID.
    pub const NO_MESSAGE_ID: i64 = 2;
    /// More than [`super::MANY_RECIPIENTS`] recipients.
    pub const MANY_RECIPIENTS: i64 = 2;
    /// More than [`super::HORDE_OF_RECIPIENTS`] recipients (instead of the above).
    pub const HORDE_OF_RECIPIENTS: i64 = 3;
    /// An all-caps subject.
    pub const SHOUTING_SUBJECT: i64 = 2;
    /// Three or more `!` or `$` in the subject.
    pub const EXCLAMATIONS: i64 = 1;
    /// No From address.
    pub const NO_SENDER: i64 = 2;
    /// Reply-To in another domain than From.
    pub const REPLY_TO_ELSEWHERE: i64 = 1;
    /// An HTML body without a text part.
    pub const HTML_ONLY: i64 = 1;
}

/// More recipients than this add [`points::MANY_RECIPIENTS`].
pub const MANY_RECIPIENTS: usize = 10;
/// More recipients than this add [`points::HORDE_OF_RECIPIENTS`].
pub const HORDE_OF_RECIPIENTS: usize = 50;

/// The word list in use: [`SPAM_WORDS`] plus the admin's extra words.
#[derive(Debug, Clone)]
pub struct Rules {
    words: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Self { words: SPAM_WORDS.iter().map(|w| (*w).to_owned()).collect() }
    }
}

impl Rules {
    /// The built-in words plus `extra`, a comma-separated list (blank entries ignored).
    pub fn with_extra_words(extra: &str) -> Self {
        let mut rules = Self::default();
        rules.words.extend(extra.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()));
        rules
    }
}

/// One reason for points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Points added.
    pub points: i64,
    /// What was seen.
    pub why: String,
}

/// The result of [`assess`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assessment {
    /// The spam score (sum of the reasons' points).
    pub score: i64,
    /// Why.
    pub reasons: Vec<Reason>,
    /// The auto-reply signals seen (empty: not an auto-reply).
    pub auto_reply: Vec<String>,
}

impl Assessment {
    /// True when any auto-reply signal was seen.
    pub fn is_auto_reply(&self) -> bool {
        !self.auto_reply.is_empty()
    }

    fn add(&mut self, points: i64, why: impl Into<String>) {
        self.score += points;
        self.reasons.push(Reason { points, why: why.into() });
    }
}

/// Scores `mail`.
pub fn assess(mail: &Mail, rules: &Rules) -> Assessment {
    let mut a = Assessment::default();
    auto_reply_signals(mail, &mut a);
    header_signals(mail, &mut a);
    word_signals(mail, rules, &mut a);
    shape_signals(mail, &mut a);
    a
}

fn auto_reply_signals(mail: &Mail, a: &mut Assessment) {
    if let Some(v) = mail.header("Auto-Submitted") {
        if !v.trim().eq_ignore_ascii_case("no") {
            a.auto_reply.push(format!("Auto-Submitted: {}", v.trim()));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Autoresponder"] {
        if let Some(v) = mail.header(name) {
            a.auto_reply.push(format!("{name}: {}", v.trim()));
        }
    }
    if mail.header("Precedence").is_some_and(|v| v.trim().eq_ignore_ascii_case("auto_reply")) {
        a.auto_reply.push("Precedence: auto_reply".into());
    }
    let subject = mail.subject.trim().to_lowercase();
    if let Some(prefix) = AUTO_REPLY_SUBJECTS.iter().find(|p| subject.starts_with(**p)) {
        a.auto_reply.push(format!("subject starts with {prefix:?}"));
    }
}

fn header_signals(mail: &Mail, a: &mut Assessment) {
    let flagged = mail.header("X-Spam-Flag").is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
        || mail.header("X-Spam-Status").is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("yes"));
    if flagged {
        a.add(points::UPSTREAM_FLAG, "flagged as spam upstream (X-Spam-Flag/X-Spam-Status)");
    }
    let precedence = mail.header("Precedence").map(|v| v.trim().to_ascii_lowercase());
    match precedence.as_deref() {
        Some(p @ ("bulk" | "junk")) => a.add(points::PRECEDENCE_BULK, format!("Precedence: {p}")),
        Some("list") => a.add(points::MAILING_LIST, "Precedence: list"),
        _ => {
            if mail.has_header("List-Id") || mail.has_header("List-Unsubscribe") {
                a.add(points::MAILING_LIST, "mailing list headers (List-Id/List-Unsubscribe)");
            }
        }
    }
    if mail.message_id.as_deref().is_none_or(|m| m.trim().is_empty()) && !mail.has_header("Message-ID") {
        a.add(points::NO_MESSAGE_ID, "no Message-ID");
    }
}

fn word_signals(mail: &Mail, rules: &Rules, a: &mut Assessment) {
    let subject = mail.subject.to_lowercase();
    let body = mail.body().to_lowercase();
    let mut total = 0;
    let mut hits = Vec::new();
    for word in &rules.words {
        if subject.contains(word.as_str()) {
            total += points::SUBJECT_WORD;
            hits.push(format!("{word:?} in subject"));
        } else if body.contains(word.as_str()) {
            total += points::BODY_WORD;
            hits.push(format!("{word:?} in body"));
        }
    }
    if total > 0 {
        a.add(total.min(points::WORDS_CAP), format!("spam words: {}", hits.join(", ")));
    }
}

fn shape_signals(mail: &Mail, a: &mut Assessment) {
    let recipients = mail.recipient_count();
    if recipients > HORDE_OF_RECIPIENTS {
        a.add(points::HORDE_OF_RECIPIENTS, format!("{recipients} recipients"));
    } else if recipients > MANY_RECIPIENTS {
        a.add(points::MANY_RECIPIENTS, format!("{recipients} recipients"));
    }
    if is_shouting(&mail.subject) {
        a.add(points::SHOUTING_SUBJECT, "all-caps subject");
    }
    let marks = mail.subject.chars().filter(|c| matches!(c, '!' | '$')).count();
    if marks >= 3 {
        a.add(points::EXCLAMATIONS, format!("{marks} '!'/'$' in subject"));
    }
    match mail.sender() {
        None => a.add(points::NO_SENDER, "no From address"),
        Some(from) => {
            let from_domain = domain(from);
            if let Some(reply_to) = mail.reply_to.first() {
                if from_domain.is_some() && domain(&reply_to.email) != from_domain {
                    a.add(points::REPLY_TO_ELSEWHERE, format!("Reply-To {} is in another domain than From {from}", reply_to.email));
                }
            }
        }
    }
    if mail.text_body.as_deref().is_none_or(|t| t.trim().is_empty()) && mail.html_body.is_some() {
        a.add(points::HTML_ONLY, "HTML body without a text part");
    }
}

/// True for a subject with at least 8 letters, all upper case.
pub fn is_shouting(subject: &str) -> bool {
    let letters: Vec<char> = subject.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 8 && letters.iter().all(|c| c.is_uppercase())
}

fn domain(address: &str) -> Option<String> {
    address.rsplit_once('@').map(|(_, d)| d.trim().trim_end_matches('>').to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::types::{Address, Header};

    fn ordinary() -> Mail {
        Mail {
            message_id: Some("<abc@mail.example.com>".into()),
            subject: "Cannot log in to the portal".into(),
            from: vec![Address::new("alice@example.com")],
            to: vec![Address::new("support@example.com")],
            text_body: Some("Hello, since this morning I cannot log in. Regards, Alice".into()),
            ..Mail::default()
        }
    }

    fn reasons(a: &Assessment) -> String {
        a.reasons.iter().map(|r| r.why.clone()).collect::<Vec<_>>().join(" | ")
    }

    #[test]
    fn ordinary_mail_scores_zero() {
        let a = assess(&ordinary(), &Rules::default());
        assert_eq!(a.score, 0, "{}", reasons(&a));
        assert!(!a.is_auto_reply());
    }

    #[test]
    fn upstream_flag_alone_reaches_the_default_threshold() {
        let mut m = ordinary();
        m.headers.push(Header::new("x-spam-flag", " YES "));
        assert_eq!(assess(&m, &Rules::default()).score, 5);
        let mut m = ordinary();
        m.headers.push(Header::new("X-Spam-Status", "Yes, score=12.3 required=5.0"));
        assert_eq!(assess(&m, &Rules::default()).score, 5);
        let mut m = ordinary();
        m.headers.push(Header::new("X-Spam-Flag", "NO"));
        assert_eq!(assess(&m, &Rules::default()).score, 0);
    }

    #[test]
    fn precedence_and_list_headers() {
        let mut m = ordinary();
        m.headers.push(Header::new("Precedence", "bulk"));
        assert_eq!(assess(&m, &Rules::default()).score, points::PRECEDENCE_BULK);
        let mut m = ordinary();
        m.headers.push(Header::new("Precedence", "junk"));
        m.headers.push(Header::new("List-Id", "<news.example.com>"));
        assert_eq!(assess(&m, &Rules::default()).score, points::PRECEDENCE_BULK);
        let mut m = ordinary();
        m.headers.push(Header::new("List-Id", "<news.example.com>"));
        assert_eq!(assess(&m, &Rules::default()).score, points::MAILING_LIST);
    }

    #[test]
    fn spam_words_count_more_in_the_subject_and_are_capped() {
        let mut m = ordinary();
        m.subject = "Claim your prize now".into();
        assert_eq!(assess(&m, &Rules::default()).score, points::SUBJECT_WORD);
        let mut m = ordinary();
        m.text_body = Some("Click here for cheap meds".into());
        assert_eq!(assess(&m, &Rules::default()).score, 2 * points::BODY_WORD);
        let mut m = ordinary();
        m.subject = "viagra cialis casino lottery winner".into();
        assert_eq!(assess(&m, &Rules::default()).score, points::WORDS_CAP);
    }

    #[test]
    fn extra_words_from_config() {
        let mut m = ordinary();
        m.subject = "Great SEO services".into();
        assert_eq!(assess(&m, &Rules::default()).score, 0);
        assert_eq!(assess(&m, &Rules::with_extra_words(" seo services , ,backlinks")).score, points::SUBJECT_WORD);
    }

    #[test]
    fn missing_message_id_and_sender() {
        let mut m = ordinary();
        m.message_id = None;
        assert_eq!(assess(&m, &Rules::default()).score, points::NO_MESSAGE_ID);
        m.from.clear();
        assert_eq!(assess(&m, &Rules::default()).score, points::NO_MESSAGE_ID + points::NO_SENDER);
    }

    #[test]
    fn many_recipients() {
        let mut m = ordinary();
        m.to = (0..11).map(|i| Address::new(format!("u{i}@example.com"))).collect();
        assert_eq!(assess(&m, &Rules::default()).score, points::MANY_RECIPIENTS);
        m.cc = (0..40).map(|i| Address::new(format!("c{i}@example.com"))).collect();
        assert_eq!(assess(&m, &Rules::default()).score, points::HORDE_OF_RECIPIENTS);
    }

    #[test]
    fn shouting_and_exclamations() {
        assert!(is_shouting("URGENT PAYMENT NEEDED"));
        assert!(!is_shouting("URGENT"));
        assert!(!is_shouting("Urgent payment needed"));
        let mut m = ordinary();
        m.subject = "BUY NOW!!! BEST PRICE".into();
        assert_eq!(assess(&m, &Rules::default()).score, points::SHOUTING_SUBJECT + points::EXCLAMATIONS);
    }

    #[test]
    fn reply_to_in_another_domain_and_html_only() {
        let mut m = ordinary();
        m.reply_to = vec![Address::new("collect@elsewhere.example.net")];
        m.text_body = None;
        m.html_body = Some("<p>hi</p>".into());
        assert_eq!(assess(&m, &Rules::default()).score, points::REPLY_TO_ELSEWHERE + points::HTML_ONLY);
        m.reply_to = vec![Address::new("Alice@EXAMPLE.com")];
        assert_eq!(assess(&m, &Rules::default()).score, points::HTML_ONLY);
    }

    #[test]
    fn auto_replies_are_recognised_but_not_spam() {
        for header in
            [Header::new("Auto-Submitted", "auto-replied"), Header::new("X-Autoreply", "yes"), Header::new("Precedence", "auto_reply")]
        {
            let mut m = ordinary();
            m.headers.push(header.clone());
            let a = assess(&m, &Rules::default());
            assert!(a.is_auto_reply(), "{header:?}");
            assert_eq!(a.score, 0, "{header:?}: {}", reasons(&a));
        }
        let mut m = ordinary();
        m.headers.push(Header::new("Auto-Submitted", "no"));
        assert!(!assess(&m, &Rules::default()).is_auto_reply());
        let mut m = ordinary();
        m.subject = "Automatic reply: Cannot log in".into();
        assert!(assess(&m, &Rules::default()).is_auto_reply());
    }

    #[test]
    fn a_typical_spam_mail_scores_high() {
        let m = Mail {
            subject: "CONGRATULATIONS YOU HAVE WON!!!".into(),
            from: vec![Address::new("promo@lucky.example")],
            reply_to: vec![Address::new("claims@other.example")],
            to: (0..30).map(|i| Address::new(format!("u{i}@example.com"))).collect(),
            html_body: Some("<b>Click here</b> to claim your prize via wire transfer".into()),
            headers: vec![Header::new("Precedence", "bulk")],
            ..Mail::default()
        };
        let a = assess(&m, &Rules::default());
        assert!(a.score >= 15, "{}: {}", a.score, reasons(&a));
    }
}
