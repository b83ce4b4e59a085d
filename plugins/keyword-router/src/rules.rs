//! Parsing and matching of routing rules: pure functions, tested natively.

use switchboard_sdk::types::{Ticket, TicketChange};

/// One rule: `keywords=>queue[:priority]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Lower-case keywords.
    pub keywords: Vec<String>,
    /// The queue to move to.
    pub queue: String,
    /// The priority to set, if any.
    pub priority: Option<i64>,
}

/// The winning rule and the keywords that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule.
    pub rule: Rule,
    /// Its keywords found in the text.
    pub keywords: Vec<String>,
}

/// What to change and a sentence saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The changes (empty: the ticket is already where the rule says).
    pub changes: Vec<TicketChange>,
    /// The explanation for the note and the log.
    pub summary: String,
}

/// Parses `printer,toner=>Hardware:4;invoice=>Billing`. Blank rules are
/// skipped; a rule without keywords, queue or with a bad priority is an error.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for (i, raw) in text.split(';').enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let n = i + 1;
        let (keywords, target) = raw.split_once("=>").ok_or_else(|| format!("rule {n} ({raw:?}) has no `=>`"))?;
        let keywords: Vec<String> = keywords.split(',').map(|k| k.trim().to_lowercase()).filter(|k| !k.is_empty()).collect();
        if keywords.is_empty() {
            return Err(format!("rule {n} ({raw:?}) has no keywords"));
        }
        let (queue, priority) = match target.rsplit_once(':') {
            Some((q, p)) => {
                let p: i64 = p.trim().parse().map_err(|_| format!("rule {n} ({raw:?}): priority {p:?} is not a number"))?;
                (q.trim(), Some(p))
            }
            None => (target.trim(), None),
        };
        if queue.is_empty() {
            return Err(format!("rule {n} ({raw:?}) has no queue"));
        }
        rules.push(Rule { keywords, queue: queue.to_owned(), priority });
    }
    if rules.is_empty() {
        return Err("no routing rules configured".into());
    }
    Ok(rules)
}

/// The rule with the most keywords found in `haystack` (lower case); the
/// first one on a tie; `None` when nothing matched.
pub fn best_match(rules: &[Rule], haystack: &str) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    for rule in rules {
        let keywords: Vec<String> = rule.keywords.iter().filter(|k| haystack.contains(k.as_str())).cloned().collect();
        if !keywords.is_empty() && best.as_ref().is_none_or(|b| keywords.len() > b.keywords.len()) {
            best = Some(Hit { rule: rule.clone(), keywords });
        }
    }
    best
}

/// The changes that bring `ticket` to the hit's queue and priority.
pub fn plan(ticket: &Ticket, hit: &Hit) -> Plan {
    let mut changes = Vec::new();
    let mut done = Vec::new();
    if ticket.queue != hit.rule.queue {
        changes.push(TicketChange::Queue(hit.rule.queue.clone()));
        done.push(format!("moved from queue {} to {}", ticket.queue, hit.rule.queue));
    }
    if let Some(p) = hit.rule.priority {
        if ticket.priority != p {
            changes.push(TicketChange::Priority(p));
            done.push(format!("priority {} to {p}", ticket.priority));
        }
    }
    let matched = hit.keywords.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
    let summary = if done.is_empty() {
        format!("matched {matched} (rule for {})", hit.rule.queue)
    } else {
        format!("matched {matched}: {}", done.join(", "))
    };
    Plan { changes, summary }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "printer,toner=>Hardware:4;invoice,refund=>Billing:3; vpn => Network ;";

    #[test]
    fn parses_rules() {
        let rules = parse_rules(RULES).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0], Rule { keywords: vec!["printer".into(), "toner".into()], queue: "Hardware".into(), priority: Some(4) });
        assert_eq!(rules[2], Rule { keywords: vec!["vpn".into()], queue: "Network".into(), priority: None });
    }

    #[test]
    fn rejects_bad_rules() {
        assert!(parse_rules("").is_err());
        assert!(parse_rules("printer Hardware").unwrap_err().contains("rule 1"));
        assert!(parse_rules("a=>Q;=>Billing").unwrap_err().contains("rule 2"));
        assert!(parse_rules("a=>Q:high").unwrap_err().contains("not a number"));
        assert!(parse_rules("a=>:3").unwrap_err().contains("no queue"));
    }

    #[test]
    fn most_keywords_win_and_ties_go_to_the_first_rule() {
        let rules = parse_rules(RULES).unwrap();
        let hit = best_match(&rules, "my invoice shows a refund for toner").unwrap();
        assert_eq!(hit.rule.queue, "Billing");
        assert_eq!(hit.keywords, ["invoice", "refund"]);
        let hit = best_match(&rules, "toner invoice").unwrap();
        assert_eq!(hit.rule.queue, "Hardware");
        assert!(best_match(&rules, "hello").is_none());
    }

    #[test]
    fn plans_only_what_differs() {
        let rules = parse_rules(RULES).unwrap();
        let hit = best_match(&rules, "the printer is out of toner").unwrap();
        let ticket = Ticket { queue: "Raw".into(), priority: 3, ..Ticket::default() };
        let p = plan(&ticket, &hit);
        assert_eq!(p.changes, vec![TicketChange::Queue("Hardware".into()), TicketChange::Priority(4)]);
        assert!(p.summary.contains("\"printer\", \"toner\""), "{}", p.summary);
        let there = Ticket { queue: "Hardware".into(), priority: 4, ..Ticket::default() };
        assert!(plan(&there, &hit).changes.is_empty());
    }
}
