//! The sandbox under load, against the real binary: many calls of a plugin
//! that each stay within their own limits (busy loops, waits inside a host
//! call, big allocations) while ordinary API requests and a well-behaved
//! plugin run beside them. Their latency is compared with a run without the
//! attacker measured in the same test; the victim is never suspended and
//! the server's memory stays within its plugin budget and returns after.

use std::time::{Duration, Instant};

use super::support::{install_api, manifest, wasm_bytes};
use switchboard_e2e::reqwest::{Client, StatusCode};
use switchboard_e2e::{json, Backend, Server, ServerOptions, Value};

/// What the attacker's calls answered.
#[derive(Debug, Default)]
struct Answers {
    ok: usize,
    busy: usize,
    other: Vec<String>,
}

/// Installs the load-hog guest with `edit` applied to its manifest.
async fn install_hog(server: &Server, edit: impl Fn(String) -> String) {
    let resp =
        install_api(server, Some(&server.admin_token()), &wasm_bytes("hostile_load_hog"), &edit(manifest("hostile/load-hog")), None).await;
    resp.expect(201);
}

/// A ticket the plugins work on, and the queues keyword-router routes to.
async fn ticket(server: &Server) -> i64 {
    for q in ["Hardware", "Billing"] {
        server.admin_post("/api/v1/queues", &json!({"name": q})).await.expect(201);
    }
    server.create_ticket("Printer out of toner", json!({})).await["id"].as_i64().expect("ticket id")
}

/// Latencies of `rounds` ticket reads and well-behaved plugin calls (keyword-router in test mode).
async fn sample(server: &Server, id: i64, rounds: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut reads, mut calls) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
        reads.push(started.elapsed());
        let started = Instant::now();
        let run = server.admin_post("/api/v1/plugins/keyword-router/apply", &json!({"ticket": id, "test": true})).await.expect(200);
        calls.push(started.elapsed());
        assert_eq!(run["result"], "routed", "{run}");
    }
    (reads, calls)
}

/// The 90th percentile.
fn p90(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)]
}

/// Checks a latency under attack against the same measurement without it:
/// five times the quiet figure plus 100 ms absorbs a busy test machine, and
/// is still far below the tens of seconds a stalled runtime takes.
fn assert_within(what: &str, quiet: &[Duration], attacked: &[Duration]) {
    let (quiet, attacked) = (p90(quiet), p90(attacked));
    let bound = quiet * 5 + Duration::from_millis(100);
    assert!(attacked <= bound, "{what}: p90 {attacked:?} under attack, {quiet:?} without; the bound is {bound:?}");
    eprintln!("{what}: p90 {quiet:?} without the attacker, {attacked:?} with it");
}

/// Starts `calls` concurrent applies of the load-hog guest with `params`.
fn attack(server: &Server, id: i64, calls: usize, params: Value) -> Vec<tokio::task::JoinHandle<(u16, Option<String>)>> {
    let client = Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
    let url = server.url("/api/v1/plugins/hostile-load-hog/apply");
    let token = server.admin_token();
    (0..calls)
        .map(|_| {
            let (client, url, token, params) = (client.clone(), url.clone(), token.clone(), params.clone());
            tokio::spawn(async move {
                let body = json!({"ticket": id, "test": true, "params": params});
                match client.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                        (status, retry)
                    }
                    Err(err) => (0, Some(err.to_string())),
                }
            })
        })
        .collect()
}

async fn answers(tasks: Vec<tokio::task::JoinHandle<(u16, Option<String>)>>) -> Answers {
    let mut answers = Answers::default();
    for task in tasks {
        match task.await.expect("attacker task") {
            (200, _) => answers.ok += 1,
            (503, Some(retry)) if retry.parse::<u64>().is_ok_and(|s| s >= 1) => answers.busy += 1,
            (status, detail) => answers.other.push(format!("{status} {detail:?}")),
        }
    }
    answers
}

/// The registry row of `name`: enabled, never suspended, no failures counted.
async fn assert_healthy(server: &Server, name: &str) {
    let p = server.admin_get(&format!("/api/v1/plugins/{name}")).await.expect(200);
    assert!(p["enabled"] == true && p["suspended_reason"].is_null() && p["consecutive_failures"] == 0, "{name} must stay healthy: {p}");
}

/// Many busy-looping calls, each under its timeout, leave ticket reads and a
/// well-behaved plugin within their quiet latency bound.
pub(crate) async fn busy_guests_leave_the_api_alone(backend: Backend) {
    let server = Server::start(backend).await;
    // 32 MiB each: sixteen calls fit the plugin's share of the memory budget.
    install_hog(&server, |m| m.replace("memory_mib = 128", "memory_mib = 32")).await;
    let id = ticket(&server).await;
    sample(&server, id, 5).await; // warm up: compiled code, connections
    let (quiet_reads, quiet_calls) = sample(&server, id, 30).await;

    let attack_started = Instant::now();
    let tasks = attack(&server, id, 48, json!({"spin_ms": "1900"}));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (reads, calls) = sample(&server, id, 30).await;
    let measured = attack_started.elapsed();
    let still_attacking = tasks.iter().filter(|t| !t.is_finished()).count();
    let answers = answers(tasks).await;
    eprintln!("48 busy calls took {:?} (measured for {measured:?}): {answers:?}", attack_started.elapsed());
    assert!(still_attacking > 0, "the attack ended before the measurement did; nothing was measured under load: {answers:?}");
    assert!(answers.other.is_empty(), "every attacker call succeeds or is refused as busy: {answers:?}");
    assert!(answers.ok > 0, "{answers:?}");
    assert_within("ticket read", &quiet_reads, &reads);
    assert_within("well-behaved plugin call", &quiet_calls, &calls);
    assert_healthy(&server, "keyword-router").await;
    assert_healthy(&server, "hostile-load-hog").await;
}

/// Calls that wait inside a host call hold their plugin's slots, not
/// everyone's: callers past the plugin's deadline get a 503 with
/// `Retry-After`, nobody's breaker counts it, other plugins run.
pub(crate) async fn slot_holders_get_busy_and_nobody_is_suspended(backend: Backend) {
    let options = ServerOptions::default().args(&["--plugin-concurrency-per-plugin", "4"]);
    let server = Server::start_with(backend, options).await;
    install_hog(&server, |m| m.replace("timeout_ms = 20000", "timeout_ms = 4000")).await;
    let id = ticket(&server).await;
    sample(&server, id, 5).await;
    let (quiet_reads, quiet_calls) = sample(&server, id, 20).await;

    let tasks = attack(&server, id, 16, json!({"sleep_ms": "3000"}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (reads, calls) = sample(&server, id, 20).await;
    let answers = answers(tasks).await;
    assert!(answers.other.is_empty(), "{answers:?}");
    // 4 run at once for 3 s each, a caller waits at most 4 s: the first two
    // rounds run, the rest are refused as busy.
    assert!(answers.ok >= 4 && answers.busy >= 4, "some calls run, the rest are refused as busy: {answers:?}");
    assert_within("ticket read", &quiet_reads, &reads);
    assert_within("well-behaved plugin call", &quiet_calls, &calls);
    assert_healthy(&server, "keyword-router").await;
    assert_healthy(&server, "hostile-load-hog").await;
    let metrics = server.get("/metrics", &server.admin_token()).await.text();
    assert!(
        metrics.lines().any(|l| l.starts_with("plugin_refusals_total{kind=\"busy\",plugin=\"hostile-load-hog\"}")),
        "refusals are counted in /metrics:\n{}",
        metrics.lines().filter(|l| l.contains("plugin_")).collect::<Vec<_>>().join("\n")
    );
    let records = server.admin_get("/api/v1/plugins/hostile-load-hog/invocations").await.items();
    assert_eq!(records.len(), answers.ok, "busy refusals ran nothing and are not recorded as invocations: {records:?}");
}

/// Many calls that each allocate most of their memory limit never take the
/// server past its plugin memory budget, and the memory is given back.
pub(crate) async fn the_memory_budget_holds_and_memory_returns(backend: Backend) {
    let options = ServerOptions::default().args(&["--plugin-memory-budget-mib", "1024"]);
    let server = Server::start_with(backend, options).await;
    install_hog(&server, |m| m).await;
    let id = ticket(&server).await;
    // One call first, so the pool and compiled code are part of the baseline.
    answers(attack(&server, id, 1, json!({"alloc_mib": "100"}))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.server_rss().expect("server RSS");

    let tasks = attack(&server, id, 24, json!({"alloc_mib": "100", "sleep_ms": "400"}));
    let mut peak = before;
    while tasks.iter().any(|t| !t.is_finished()) {
        peak = peak.max(server.server_rss().unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answers = answers(tasks).await;
    assert!(answers.other.is_empty() && answers.ok == 24, "each call fits its limit and gets its turn: {answers:?}");
    const MIB: u64 = 1024 * 1024;
    // One plugin holds at most a quarter of the 1024 MiB budget: two 128 MiB
    // reservations. Without a budget 24 × 100 MiB would be live at once.
    let grown = peak.saturating_sub(before) / MIB;
    assert!(grown <= 256 + 128, "the server grew {grown} MiB beyond {} MiB; the plugin's share is 256 MiB", before / MIB);
    assert!(grown >= 100, "the guests allocated nothing measurable ({grown} MiB); the test measures nothing");
    let settled = wait_for_rss(&server, before + 64 * MIB).await;
    assert!(settled <= before + 64 * MIB, "memory returns after the calls: {} MiB before, {} MiB after", before / MIB, settled / MIB);
    assert_eq!(server.admin_get(&format!("/api/v1/tickets/{id}")).await.status, StatusCode::OK.as_u16());
}

/// Waits up to 5 s for the server's RSS to fall to `target`; returns the last reading.
async fn wait_for_rss(server: &Server, target: u64) -> u64 {
    let mut rss = u64::MAX;
    for _ in 0..50 {
        rss = server.server_rss().unwrap_or(u64::MAX);
        if rss <= target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rss
}
