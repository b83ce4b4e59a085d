//! `keyword-router`: a script task that reads the ticket and its articles,
//! finds the routing rule whose keywords match best and moves the ticket to
//! that rule's queue and priority through the `ticket` import, with an
//! internal note saying why.
//!
//! Rules come from the config key `rules` (a task parameter `rules`
//! overrides it), e.g. `printer,toner=>Hardware:4;invoice,refund=>Billing:3`:
//! rules separated by `;`, each `keywords=>queue[:priority]` with
//! comma-separated keywords matched case-insensitively anywhere in the title,
//! subjects and bodies. The rule with the most matching keywords wins (the
//! first one on a tie). The outcome's result is `routed` or `unchanged`.

pub mod rules;

use switchboard_sdk::prelude::*;
use switchboard_sdk::task;

use rules::{best_match, parse_rules, plan, Plan};

/// The exported task.
pub struct KeywordRouter;

impl ScriptTask for KeywordRouter {
    fn run(context: TaskContext, params: Vec<Param>) -> Result<Outcome, PluginError> {
        let text = match params.param("rules") {
            Some(r) => r.to_owned(),
            None => config::require("rules")?,
        };
        let rules = parse_rules(&text).map_err(PluginError::bad_config)?;

        let ticket = task::ticket();
        let articles = task::articles();
        let mut haystack = ticket.title.to_lowercase();
        for article in &articles {
            haystack.push('\n');
            haystack.push_str(&article.subject.to_lowercase());
            haystack.push('\n');
            haystack.push_str(&article.body.to_lowercase());
        }

        let Some(hit) = best_match(&rules, &haystack) else {
            log::debug(format!("ticket {}: no rule matched", ticket.number));
            return Ok(Outcome::result("unchanged"));
        };
        let Plan { changes, summary } = plan(&ticket, &hit);
        if changes.is_empty() {
            log::debug(format!("ticket {}: {summary}; already there", ticket.number));
            return Ok(Outcome::result("unchanged").with_data("queue", hit.rule.queue.clone()));
        }
        log::info(format!("ticket {}: {summary}{}", ticket.number, if context.test_mode { " (test mode)" } else { "" }));
        task::change_all(changes)?;
        task::change(TicketChange::internal_note("Routed by keyword", summary))?;

        let mut outcome =
            Outcome::result("routed").with_data("queue", hit.rule.queue.clone()).with_data("keywords", hit.keywords.join(","));
        if let Some(p) = hit.rule.priority {
            outcome = outcome.with_data("priority", p.to_string());
        }
        Ok(outcome)
    }
}

switchboard_sdk::script_task!(KeywordRouter);
