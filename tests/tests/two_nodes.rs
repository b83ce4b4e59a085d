//! Two `switchboard serve` nodes on one PostgreSQL database, as users run
//! them once one machine is not enough: concurrent creates on both never
//! share a ticket number, every job runs exactly once with both nodes
//! working, a plugin installed, upgraded, configured, disabled or removed
//! through one node takes effect on the other within the registry's re-check
//! period, killing a node mid-load loses no acknowledged write and its leased
//! jobs are taken over after the lease, and two nodes started at once on an
//! empty database both come up.
//!
//! PostgreSQL only: it is the database several nodes share (see
//! `ARCHITECTURE.md`, "Shared and per node"). The tests run one at a time:
//! each starts two servers, and they measure leases and re-check periods.

#[path = "two_nodes/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "plugins/support.rs"]
mod plugin_support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;
use switchboard_e2e::{json, rfc3339_from_now, wait_for, Backend, Server, Value};

/// The registry re-check period of the plugin host (`REGISTRY_RECHECK`).
const REGISTRY_RECHECK: Duration = Duration::from_secs(2);

/// One test at a time: two servers each, and timing-sensitive waits.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

macro_rules! postgres_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let _one_at_a_time = SERIAL.lock().await;
                if let Some(backend) = Backend::postgres_or_skip(concat!("two_nodes::", stringify!($name))) {
                    self::scenarios::$name(backend).await;
                }
            }
        )+
    };
}

postgres_tests!(
    creates_and_jobs_on_both_nodes,
    plugin_changes_reach_the_other_node,
    a_killed_node_loses_nothing,
    nodes_started_at_once,
    a_job_scheduled_on_one_node_wakes_the_other
);

mod scenarios {
    use super::*;

    /// 200 tickets created concurrently through both nodes, each pending
    /// auto-close two seconds later: distinct numbers, every one closed exactly
    /// once, every job done on its first attempt, by both nodes.
    pub(super) async fn creates_and_jobs_on_both_nodes(backend: Backend) {
        const TICKETS: usize = 200;
        const PER_NODE: usize = 8;
        let a = Server::start_with(backend, node_options(&[])).await;
        let b = a.start_node(node_options(&[])).await;
        let workers = [worker_of(&a).await, worker_of(&b).await];
        assert_ne!(workers[0], workers[1], "two nodes must have distinct worker ids");

        let endpoints = [Endpoint::of(&a), Endpoint::of(&b)];
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for endpoint in &endpoints {
            for _ in 0..PER_NODE {
                let (endpoint, next) = (endpoint.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    let mut made = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= TICKETS {
                            return made;
                        }
                        let body = ticket_body(
                            &format!("Cluster ticket {i}"),
                            json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(2)}),
                        );
                        made.push(endpoint.create(&body).await.unwrap_or_else(|e| panic!("create {i}: {e}")));
                    }
                }));
            }
        }
        let mut created = Vec::new();
        for task in tasks {
            created.extend(task.await.expect("create task"));
        }
        assert_eq!(created.len(), TICKETS);
        let numbers: HashSet<&str> = created.iter().map(|t| t["number"].as_str().unwrap_or_default()).collect();
        assert_eq!(numbers.len(), TICKETS, "concurrent creates on two nodes shared a ticket number");
        assert_eq!(a.sql_i64("SELECT COUNT(DISTINCT number) FROM tickets").await, TICKETS as i64, "stored numbers repeat");
        let ids: Vec<i64> = created.iter().map(id_of).collect();

        let jobs = wait_for("every pending job to be done", Duration::from_secs(45), Duration::from_millis(250), || async {
            let jobs = pending_jobs(&a).await;
            (jobs.len() == TICKETS && jobs.iter().all(|j| j["status"] == "done")).then_some(jobs)
        })
        .await;
        let mut ran_by: HashMap<String, usize> = HashMap::new();
        for job in &jobs {
            assert_eq!(job["attempts"], 1, "a job was claimed more than once: {job}");
            let worker = job["worker"].as_str().unwrap_or_else(|| panic!("a done job names the worker that ran it: {job}"));
            assert!(workers.iter().any(|w| w == worker), "job run by {worker}, which is neither node ({workers:?}): {job}");
            *ran_by.entry(worker.to_string()).or_default() += 1;
        }
        let job_tickets: HashSet<i64> = jobs.iter().map(job_ticket).collect();
        assert_eq!(job_tickets, ids.iter().copied().collect(), "one pending job per created ticket");
        for w in &workers {
            assert!(ran_by.get(w).copied().unwrap_or(0) > 0, "both nodes run jobs; {w} ran none: {ran_by:?}");
        }
        assert_eq!(auto_closes(&a, &ids).await, (TICKETS as i64, TICKETS as i64), "every ticket is closed exactly once");
        let sample: Vec<i64> = ids.iter().step_by(20).copied().collect();
        assert!(states(&b, &sample).await.iter().all(|s| s == "closed successful"), "closed tickets read as closed on the other node");
        drop(b);
    }

    /// `POST /api/v1/plugins/{name}/apply` in test mode on `server`.
    async fn try_plugin(server: &Server, name: &str, ticket: i64) -> switchboard_e2e::Resp {
        server.admin_post(&format!("/api/v1/plugins/{name}/apply"), &json!({"ticket": ticket, "test": true})).await
    }

    /// The version the newest recorded call of `name` on `server` ran.
    async fn last_version(server: &Server, name: &str) -> String {
        let calls = server.admin_get(&format!("/api/v1/plugins/{name}/invocations?limit=1")).await.items();
        calls.first().and_then(|c| c["version"].as_str()).unwrap_or_default().to_string()
    }

    /// Polls `seen` (an observation on the other node) until it holds, within
    /// a deadline a little above the re-check period; returns how long it took.
    async fn reaches<F, Fut>(what: &str, mut seen: F) -> Duration
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        let deadline = REGISTRY_RECHECK + Duration::from_secs(4);
        loop {
            if seen().await {
                let took = start.elapsed();
                eprintln!("{what}: seen on the other node after {took:?}");
                return took;
            }
            assert!(start.elapsed() < deadline, "{what} did not reach the other node within {deadline:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Changes made through node A, observed by calls on node B whose cache
    /// was warmed right before each change: only B's re-check of the registry
    /// can make B see them.
    pub(super) async fn plugin_changes_reach_the_other_node(backend: Backend) {
        use plugin_support::{install_api, manifest, wasm_bytes, with_version};
        let a = Server::start_with(backend, node_options(&[])).await;
        let b = a.start_node(node_options(&[])).await;
        for q in ["Hardware", "Billing"] {
            a.admin_post("/api/v1/queues", &json!({"name": q})).await.expect(201);
        }
        let ticket = id_of(&a.create_ticket("Printer out of toner", json!({})).await);
        let router = "keyword-router";
        let routes_to = |resp: &switchboard_e2e::Resp, queue: &str| {
            resp.status == 200 && resp.json()["changes"].as_array().is_some_and(|c| c.contains(&json!({"kind": "queue", "value": queue})))
        };
        let token = a.admin_token();

        // Configure.
        assert!(routes_to(&try_plugin(&b, router, ticket).await, "Hardware"), "the bundled rules route toner to Hardware");
        plugin_support::put_config(&a, router, &token, json!({"rules": "toner=>Billing:2"})).await.expect(204);
        reaches("a configuration change", || async { routes_to(&try_plugin(&b, router, ticket).await, "Billing") }).await;

        // Upgrade: the new version is the one that runs on B.
        try_plugin(&b, router, ticket).await.expect(200);
        assert_eq!(last_version(&b, router).await, "0.1.0");
        let v2 = with_version(&manifest(router), "0.2.0");
        install_api(&a, Some(&token), &wasm_bytes("keyword_router"), &v2, None).await.expect(201);
        reaches("an upgrade to 0.2.0", || async {
            try_plugin(&b, router, ticket).await.expect(200);
            last_version(&b, router).await == "0.2.0"
        })
        .await;

        // Roll back to 0.1.0.
        a.admin_patch(&format!("/api/v1/plugins/{router}"), &json!({"version": "0.1.0"})).await.expect(200);
        reaches("a rollback to 0.1.0", || async {
            try_plugin(&b, router, ticket).await.expect(200);
            last_version(&b, router).await == "0.1.0"
        })
        .await;

        // Disable, then enable again.
        try_plugin(&b, router, ticket).await.expect(200);
        a.admin_patch(&format!("/api/v1/plugins/{router}"), &json!({"enabled": false})).await.expect(200);
        reaches("disabling", || async { try_plugin(&b, router, ticket).await.status == 409 }).await;
        a.admin_patch(&format!("/api/v1/plugins/{router}"), &json!({"enabled": true})).await.expect(200);
        reaches("enabling", || async { try_plugin(&b, router, ticket).await.status == 200 }).await;

        // A change from a node whose clock is behind: its change time is older
        // than the one B loaded. B must still notice that the registry changed.
        try_plugin(&b, router, ticket).await.expect(200);
        let before = a.sql_i64("SELECT changed_at FROM plugins WHERE name = 'keyword-router'").await;
        plugin_support::put_config(&a, router, &token, json!({"rules": "toner=>Hardware:1"})).await.expect(204);
        a.sql_execute(&format!("UPDATE plugins SET changed_at = {} WHERE name = 'keyword-router'", before - 5_000_000)).await;
        reaches("a change stamped by a clock 5 s behind", || async { routes_to(&try_plugin(&b, router, ticket).await, "Hardware") }).await;

        // Install a new plugin, then remove it.
        let other = "router-two";
        try_plugin(&b, other, ticket).await.expect_problem(&[404]);
        let m = with_version(&manifest(router), "1.0.0").replace("name = \"keyword-router\"", &format!("name = \"{other}\""));
        install_api(&a, Some(&token), &wasm_bytes("keyword_router"), &m, None).await.expect(201);
        reaches("installing a new plugin", || async { try_plugin(&b, other, ticket).await.status == 200 }).await;
        a.admin_delete(&format!("/api/v1/plugins/{other}")).await.expect(204);
        reaches("removing it", || async { try_plugin(&b, other, ticket).await.status == 404 }).await;
        drop(b);
    }

    /// Node A claims the jobs of ten due tickets (whose rows the test holds, so
    /// A cannot finish them) and is killed with SIGKILL in the middle of a
    /// create load: every create A acknowledged is there, read through B by
    /// number, and B runs A's jobs once their lease has run out.
    pub(super) async fn a_killed_node_loses_nothing(backend: Backend) {
        use sqlx::Connection;
        const LEASE_SECS: i64 = 4;
        let lease = LEASE_SECS.to_string();
        // A lane wide enough for all ten, so A claims them in one batch.
        let options = node_options(&["--job-lease-secs", &lease, "--job-kind-concurrency", "ticket.pending_due=16"]);
        let mut a = Server::start_with(backend, options.clone()).await;
        let a_worker = worker_of(&a).await;
        // One due time for all ten, so A claims them in one batch (each then
        // blocks on its ticket's lock).
        let due = rfc3339_from_now(3);
        let mut ids = Vec::new();
        for i in 0..10 {
            let extra = json!({"state": "pending auto close+", "pending_until": due});
            ids.push(id_of(&a.create_ticket(&format!("Leased {i}"), extra).await));
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let url = a.database_url().expect("a PostgreSQL database").to_string();
        let mut hold = sqlx::PgConnection::connect(&url).await.expect("connect to the test database");
        sqlx::query("BEGIN").execute(&mut hold).await.expect("begin");
        sqlx::query(&format!("SELECT id FROM tickets WHERE id IN ({list}) FOR UPDATE")).execute(&mut hold).await.expect("lock the tickets");

        let claimed = format!("SELECT COUNT(*) FROM jobs WHERE status = 'running' AND locked_by = '{a_worker}'");
        wait_for("node A to claim the ten jobs", Duration::from_secs(20), Duration::from_millis(100), || async {
            (a.sql_i64(&claimed).await == 10).then_some(())
        })
        .await;
        let lease_end = a.sql_i64(&format!("SELECT MAX(locked_until) FROM jobs WHERE locked_by = '{a_worker}'")).await;

        let b = a.start_node(options).await;
        let b_worker = worker_of(&b).await;
        let endpoint = Endpoint::of(&a);
        let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..8 {
            let (endpoint, acked, stop) = (endpoint.clone(), acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let title = format!("Load {t}-{n}");
                    n += 1;
                    match endpoint.create(&ticket_body(&title, json!({}))).await {
                        Ok(ticket) => {
                            let number = ticket["number"].as_str().unwrap_or_default().to_string();
                            acked.lock().expect("acked list").push((number, title));
                        }
                        // The node died under this request: not acknowledged, nothing promised.
                        Err(_) => return,
                    }
                }
            }));
        }
        wait_for("40 acknowledged creates on node A", Duration::from_secs(30), Duration::from_millis(10), || async {
            (acked.lock().expect("acked list").len() >= 40).then_some(())
        })
        .await;
        a.kill9();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in tasks {
            task.await.expect("load task");
        }
        sqlx::query("ROLLBACK").execute(&mut hold).await.expect("release the tickets");
        drop(hold);

        let acked = acked.lock().expect("acked list").clone();
        for (number, title) in &acked {
            let t = b.admin_get(&format!("/api/v1/tickets/by-number/{number}")).await;
            assert_eq!(
                t.expect(200)["title"],
                title.as_str(),
                "ticket {number}, acknowledged by the killed node, reads back through the other"
            );
        }
        let numbers: HashSet<&String> = acked.iter().map(|(n, _)| n).collect();
        assert_eq!(numbers.len(), acked.len(), "acknowledged creates shared a number");

        let deadline = Duration::from_secs(LEASE_SECS as u64 + 30);
        let jobs = wait_for("node B to finish node A's jobs", deadline, Duration::from_millis(200), || async {
            let jobs: Vec<Value> = pending_jobs(&b).await.into_iter().filter(|j| ids.contains(&job_ticket(j))).collect();
            (jobs.len() == ids.len() && jobs.iter().all(|j| j["status"] == "done")).then_some(jobs)
        })
        .await;
        for job in &jobs {
            assert_eq!(job["worker"], b_worker.as_str(), "the dead node's job is run by the living one: {job}");
            assert_eq!(job["attempts"], 2, "claimed by A, then once by B: {job}");
            let done = chrono::DateTime::parse_from_rfc3339(job["updated_at"].as_str().unwrap_or_default()).expect("updated_at");
            assert!(done.timestamp_micros() >= lease_end, "B took the job over only after A's lease ran out: {job}");
        }
        assert_eq!(auto_closes(&b, &ids).await, (10, 10), "each taken-over ticket is closed exactly once");
        drop(b);
    }

    /// A cluster brought up at once: two nodes started together on an empty
    /// database both come up, one of them seeds it (one admin token, the
    /// bundled plugins once), and both serve it.
    pub(super) async fn nodes_started_at_once(backend: Backend) {
        let (a, b) = Server::start_pair(backend, node_options(&[])).await;
        let printed = [&a, &b].iter().filter(|s| s.stdout().contains("ADMIN TOKEN (shown once)")).count();
        assert_eq!(printed, 1, "exactly one node seeds the database and prints the admin token");
        assert_eq!(a.sql_i64("SELECT COUNT(*) FROM agents").await, 1, "one admin agent");
        assert_eq!(a.sql_i64("SELECT COUNT(*) FROM plugins").await, 4, "the bundled plugins, installed once");
        for node in [&a, &b] {
            let t = node.create_ticket("Both nodes serve", json!({})).await;
            node.admin_get(&format!("/api/v1/tickets/{}", id_of(&t))).await.expect(200);
        }
        drop(b);
    }

    /// Both nodes poll once a minute. A pending job scheduled through node A,
    /// which then stops, is run by node B when it is due: A's commit notified
    /// B (LISTEN/NOTIFY), and B slept only until the due time.
    pub(super) async fn a_job_scheduled_on_one_node_wakes_the_other(backend: Backend) {
        let slow_poll = ["--job-poll-interval-ms", "60000"];
        let mut a = Server::start_with(backend, node_options(&slow_poll)).await;
        let b = a.start_node(node_options(&slow_poll)).await;
        let id = id_of(&a.create_ticket("Close me on the other node", json!({})).await);
        let body = json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(3)});
        a.admin_patch(&format!("/api/v1/tickets/{id}"), &body).await.expect(200);
        a.stop();
        let closed = wait_for("node B to close the ticket", Duration::from_secs(25), Duration::from_millis(200), || async {
            let t = b.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
            (t["state"] == "closed successful").then_some(t)
        })
        .await;
        assert!(closed["pending_until"].is_null(), "{closed}");
        let jobs = b.admin_get("/api/v1/jobs?kind=ticket.pending_due&status=done").await.items();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert!(jobs[0]["worker"] != json!(null), "{jobs:?}");
    }
}
