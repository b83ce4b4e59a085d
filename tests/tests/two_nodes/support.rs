//! Helpers of the two-node tests: the shared secret key, a node's worker id
//! from its log, cheap cloneable endpoints for concurrent load, and reads of
//! the job queue.

use std::time::Duration;

use switchboard_e2e::{json, Server, ServerOptions, Value};

/// The `SWITCHBOARD_SECRET_KEY` every node of a cluster shares.
pub(crate) const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Options for a node of the test cluster: the shared key plus `args`.
pub(crate) fn node_options(args: &[&str]) -> ServerOptions {
    ServerOptions::default().env("SWITCHBOARD_SECRET_KEY", KEY).args(args)
}

/// `text` without ANSI colour sequences (the log may be coloured).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The id a node's job worker writes into `jobs.locked_by` (and the jobs
/// API's `worker`), read from the `job worker started worker=…` log line.
pub(crate) async fn worker_of(server: &Server) -> String {
    switchboard_e2e::wait_for("the `job worker started` log line", Duration::from_secs(10), Duration::from_millis(50), || async {
        let log = strip_ansi(&server.stderr());
        let line = log.lines().find(|l| l.contains("job worker started"))?.to_string();
        let id = line.split("worker=").nth(1)?.split_whitespace().next()?.trim_matches('"').to_string();
        (!id.is_empty()).then_some(id)
    })
    .await
}

/// What concurrent load needs of a node: its client, base URL and admin token.
#[derive(Clone)]
pub(crate) struct Endpoint {
    client: switchboard_e2e::reqwest::Client,
    base: String,
    token: String,
}

impl Endpoint {
    /// The endpoint of `server` (short timeouts: a killed node must not hang the load).
    pub(crate) fn of(server: &Server) -> Endpoint {
        let client = switchboard_e2e::reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("HTTP client");
        Endpoint { client, base: server.url(""), token: server.admin_token() }
    }

    /// `POST /api/v1/tickets`: the created ticket when the node acknowledged
    /// it with 201, else what it said (or why there was no answer).
    pub(crate) async fn create(&self, body: &Value) -> Result<Value, String> {
        let sent = self.client.post(format!("{}/api/v1/tickets", self.base)).bearer_auth(&self.token).json(body).send().await;
        let resp = sent.map_err(|e| format!("no answer: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| format!("HTTP {status}, body cut off: {e}"))?;
        if status != 201 {
            return Err(format!("HTTP {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("201 without a JSON ticket ({e}): {text}"))
    }
}

/// A ticket body for the load: title `title`, in Raw, with `extra` merged in.
pub(crate) fn ticket_body(title: &str, extra: Value) -> Value {
    let mut body = json!({"title": title, "queue": "Raw", "article": {"subject": title, "body": format!("Body of {title}")}});
    switchboard_e2e::merge_json(&mut body, extra);
    body
}

/// Every `ticket.pending_due` job, from the jobs API of `server`.
pub(crate) async fn pending_jobs(server: &Server) -> Vec<Value> {
    let jobs = server.admin_get("/api/v1/jobs?limit=1000").await.items();
    jobs.into_iter().filter(|j| j["kind"] == "ticket.pending_due").collect()
}

/// The ticket id a pending job is for.
pub(crate) fn job_ticket(job: &Value) -> i64 {
    job["payload"]["ticket_id"].as_i64().unwrap_or_else(|| panic!("pending job without payload.ticket_id: {job}"))
}

/// The integer `id` of a JSON object.
pub(crate) fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

/// How many tickets among `ids` have exactly one automatic-close history
/// entry, and how many such entries there are in all.
pub(crate) async fn auto_closes(server: &Server, ids: &[i64]) -> (i64, i64) {
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let once = server
        .sql_i64(&format!(
            "SELECT COUNT(*) FROM (SELECT ticket_id FROM ticket_history WHERE actor = 'system:pending-auto-close' \
             AND field = 'state' AND ticket_id IN ({list}) GROUP BY ticket_id HAVING COUNT(*) = 1) AS once"
        ))
        .await;
    let all = server
        .sql_i64(&format!("SELECT COUNT(*) FROM ticket_history WHERE actor = 'system:pending-auto-close' AND ticket_id IN ({list})"))
        .await;
    (once, all)
}

/// The state names of the tickets `ids` as read through `server`.
pub(crate) async fn states(server: &Server, ids: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let t = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        out.push(t["state"].as_str().unwrap_or_default().to_string());
    }
    out
}
