//! The generated data set: deterministic ~1 KB tickets and what the bench knows about those it created.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::http::{snippet, Api};

/// The queues the data set is spread over (`Misc` is a default queue, the others are created).
const QUEUES: [&str; 3] = ["Misc", "Sales", "Support"];
/// Queues created through the API at setup.
pub(crate) const EXTRA_QUEUES: [&str; 2] = ["Sales", "Support"];
/// Customer users created through the API at setup and used on tickets.
pub(crate) const CUSTOMERS: [&str; 3] = ["alice@customer.example", "bob@customer.example", "carol@customer.example"];
/// Ticket topics: one per ticket, in the title and a few times in the body.
const TOPICS: [&str; 8] = ["printer", "network", "password", "invoice", "laptop", "mailbox", "backup", "license"];
/// The "common word" full-text query (one topic, so it matches ~1/8 of all tickets).
pub(crate) const COMMON_WORD: &str = "printer";
/// The rare word, in the article body of every 1000th ticket (~0.1%).
pub(crate) const RARE_WORD: &str = "zugzwang";
/// How often the rare word occurs: ticket sequence numbers divisible by this.
const RARE_EVERY: u64 = 1000;
/// Filler vocabulary for titles and bodies.
const FILLER: [&str; 48] = [
    "please",
    "help",
    "urgent",
    "since",
    "yesterday",
    "morning",
    "again",
    "error",
    "message",
    "screen",
    "office",
    "colleague",
    "working",
    "broken",
    "slow",
    "cannot",
    "access",
    "update",
    "after",
    "restart",
    "still",
    "same",
    "problem",
    "customer",
    "order",
    "delivery",
    "account",
    "login",
    "settings",
    "window",
    "report",
    "attached",
    "thanks",
    "regards",
    "team",
    "meeting",
    "monday",
    "friday",
    "week",
    "quick",
    "question",
    "about",
    "status",
    "request",
    "change",
    "floor",
    "building",
    "phone",
];
/// States tickets are created in, with relative weights.
const STATES: [(&str, u32); 4] = [("new", 30), ("open", 40), ("pending reminder", 10), ("closed successful", 20)];

/// What the bench knows about the tickets it created (acknowledged with 201).
#[derive(Default)]
pub(crate) struct Dataset {
    /// Sequence number of the next generated ticket (drives the deterministic generator).
    seq: AtomicU64,
    /// Ids of all acknowledged tickets.
    pub(crate) ids: Mutex<Vec<i64>>,
    pub(crate) rare: AtomicU64,
    pub(crate) common: AtomicU64,
    pub(crate) misc_open: AtomicU64,
}

impl Dataset {
    pub(crate) fn ids_snapshot(&self) -> Vec<i64> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A generated ticket-create request.
struct TicketSpec {
    body: Value,
    title: String,
    topic: &'static str,
    queue: &'static str,
    state: &'static str,
    rare: bool,
}

fn pick<'a>(rng: &mut StdRng, words: &[&'a str]) -> &'a str {
    words[rng.gen_range(0..words.len())]
}

/// Deterministic ticket `seq`: ~1 KB article body from a small vocabulary, one topic word in
/// title and body, queue/state/priority/customer spread, the rare word in every 1000th body.
fn ticket_spec(seq: u64) -> TicketSpec {
    let mut rng = StdRng::seed_from_u64(seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5eed);
    let topic = pick(&mut rng, &TOPICS);
    let queue = pick(&mut rng, &QUEUES);
    let total: u32 = STATES.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    let mut state = STATES[0].0;
    for (name, weight) in STATES {
        if roll < weight {
            state = name;
            break;
        }
        roll -= weight;
    }
    let rare = seq % RARE_EVERY == 0;
    let title = format!("{} {} {} {} (#{seq})", pick(&mut rng, &FILLER), topic, pick(&mut rng, &FILLER), pick(&mut rng, &FILLER));
    let mut body = String::with_capacity(1100);
    body.push_str("Hello support team,\n\n");
    let mut words = 0;
    while body.len() < 1000 {
        let word = if words % 37 == 5 { topic } else { pick(&mut rng, &FILLER) };
        body.push_str(word);
        words += 1;
        if rare && words == 40 {
            body.push(' ');
            body.push_str(RARE_WORD);
        }
        body.push_str(if words % 12 == 0 { ".\n" } else { " " });
    }
    body.push_str("\n\nBest regards\n");
    let customer = pick(&mut rng, &CUSTOMERS);
    let mut ticket = json!({
        "title": title,
        "queue": queue,
        "state": state,
        "priority": rng.gen_range(1..=5),
        "type": "Incident",
        "owner": "admin",
        "customer_user": customer,
        "article": {
            "subject": title,
            "body": body,
            "channel": "email",
            "sender_type": "customer",
            "visible_for_customer": true,
            "from": format!("<{customer}>"),
            "to": "support@switchboard.example",
        }
    });
    if state == "pending reminder" {
        let until = chrono::Utc::now() + chrono::Duration::days(2);
        ticket["pending_until"] = json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    TicketSpec { body: ticket, title, topic, queue, state, rare }
}

/// POST one generated ticket; on 201 records it in `data` and returns (id, title).
pub(crate) async fn create_ticket(api: &Api, data: &Dataset) -> Result<(i64, String), String> {
    let seq = data.seq.fetch_add(1, Ordering::Relaxed);
    let spec = ticket_spec(seq);
    let (status, body) = api.post("/api/v1/tickets", &spec.body).await?;
    if status != StatusCode::CREATED {
        return Err(format!("POST /api/v1/tickets: expected 201, got {status}: {}", snippet(&body)));
    }
    let ticket: Value =
        serde_json::from_slice(&body).map_err(|e| format!("POST /api/v1/tickets: 201 with invalid JSON ({e}): {}", snippet(&body)))?;
    let id = ticket["id"].as_i64().ok_or_else(|| format!("POST /api/v1/tickets: 201 without an integer id: {}", snippet(&body)))?;
    if spec.rare {
        data.rare.fetch_add(1, Ordering::Relaxed);
    }
    if spec.topic == COMMON_WORD {
        data.common.fetch_add(1, Ordering::Relaxed);
    }
    if spec.queue == "Misc" && spec.state == "open" {
        data.misc_open.fetch_add(1, Ordering::Relaxed);
    }
    data.ids.lock().unwrap_or_else(|p| p.into_inner()).push(id);
    Ok((id, spec.title))
}
