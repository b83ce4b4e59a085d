//! Process lifecycle and operations: data survives graceful and hard
//! restarts, the admin token is printed once, token CLI, idempotent
//! migrations, `--help` everywhere, probes, metrics and the OpenAPI document.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_e2e::{backend_tests, binary_path, json, Backend, Server, Value};

backend_tests!(
    restart_keeps_data,
    kill9_keeps_committed_ticket,
    acknowledged_writes_survive_signals,
    token_cli,
    migrate_is_idempotent,
    probes_and_metrics,
    openapi_lists_contract
);

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

fn count_admin_token_lines(stdout: &str) -> usize {
    stdout.lines().filter(|l| l.contains("ADMIN TOKEN")).count()
}

async fn restart_keeps_data(backend: Backend) {
    let mut server = Server::start(backend).await;
    let first_stdout = server.stdout();
    assert_eq!(count_admin_token_lines(&first_stdout), 1, "first start must print exactly one admin token line:\n{first_stdout}");
    assert!(
        first_stdout.contains(&format!("switchboard listening on http://127.0.0.1:{}", server.port())),
        "stdout must announce `switchboard listening on http://127.0.0.1:PORT`:\n{first_stdout}"
    );
    let token = server.admin_token();
    assert!(
        token.len() >= 43 && token[3..].chars().all(|c| c.is_ascii_alphanumeric()),
        "admin token format sb_[A-Za-z0-9]{{40,}}: {token}"
    );

    server.admin_post("/api/v1/queues", &json!({"name": "Persistent"})).await.expect(201);
    let t = server.create_ticket("Survives restart", json!({"queue": "Persistent", "priority": 4})).await;
    let id = id_of(&t);
    server.admin_post(&format!("/api/v1/tickets/{id}/articles"), &json!({"body": "second article"})).await.expect(201);

    let status = server.stop();
    assert!(status.success(), "SIGTERM must exit 0, got {status}\n{}", server.logs());
    server.restart().await;

    let again = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(again["number"], t["number"]);
    assert_eq!(again["queue"], "Persistent");
    assert_eq!(again["priority"], 4);
    let articles = server.admin_get(&format!("/api/v1/tickets/{id}/articles")).await.items();
    assert_eq!(articles.len(), 2);
    assert_eq!(count_admin_token_lines(&server.stdout()), 0, "the admin token must be shown only on the first start:\n{}", server.stdout());
    // Numbers keep increasing after a restart (no reuse).
    let t2 = server.create_ticket("After restart", json!({})).await;
    assert_ne!(t2["number"], t["number"]);
    assert!(id_of(&t2) > id, "ids must not be reused after restart");

    // A third start, still no token, old token still valid.
    server.restart().await;
    assert_eq!(count_admin_token_lines(&server.stdout()), 0);
    server.admin_get("/api/v1/queues").await.expect(200);
    let status = server.stop_with("INT");
    assert!(status.success(), "SIGINT must exit 0, got {status}\n{}", server.logs());
}

async fn kill9_keeps_committed_ticket(backend: Backend) {
    let mut server = Server::start(backend).await;
    let t = server
        .create_ticket(
            "Survives kill -9",
            json!({"article": {"attachments": [{"filename": "k.txt", "content_type": "text/plain",
                                                "content_base64": switchboard_e2e::base64(b"kill nine")}]}}),
        )
        .await;
    let id = id_of(&t);
    server.kill9();
    server.restart().await;
    let again = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(again["number"], t["number"]);
    let articles = server.admin_get(&format!("/api/v1/tickets/{id}/articles")).await.items();
    assert_eq!(articles.len(), 1, "the first article must survive kill -9");
    let att = &articles[0]["attachments"][0];
    let r = server.admin_get(&format!("/api/v1/tickets/{id}/articles/{}/attachments/{}", id_of(&articles[0]), id_of(att))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.bytes, b"kill nine", "attachment bytes must survive kill -9");

    // Several quick writes then kill -9: every acknowledged write survives.
    let mut acked = Vec::new();
    for i in 0..5 {
        acked.push(id_of(&server.create_ticket(&format!("burst {i}"), json!({})).await));
    }
    let patched = server.admin_patch(&format!("/api/v1/tickets/{id}"), &json!({"title": "patched before kill"})).await.expect(200);
    assert_eq!(patched["title"], "patched before kill");
    server.kill9();
    server.restart().await;
    for a in acked {
        server.admin_get(&format!("/api/v1/tickets/{a}")).await.expect(200);
    }
    let again = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!(again["title"], "patched before kill", "acknowledged PATCH lost after kill -9");
}

/// Runs 6 writers creating tickets in a loop, sends `signal` once 20 creates
/// were acknowledged, and returns the ids of every acknowledged (201 with a
/// readable body) create.
async fn hammer_then_signal(server: &Server, signal: &str) -> Vec<i64> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let url = server.url("/api/v1/tickets");
    let token = server.admin_token();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..6 {
        let (client, url, token, acked, count) = (server.client(), url.clone(), token.clone(), acked.clone(), count.clone());
        set.spawn(async move {
            for i in 0..10_000 {
                let req = client
                    .post(&url)
                    .bearer_auth(&token)
                    .timeout(Duration::from_secs(20))
                    .json(&json!({"title": format!("writer {w} #{i}"), "queue": "Raw", "article": {"body": "load"}}));
                let Ok(resp) = req.send().await else { return };
                if resp.status().as_u16() != 201 {
                    // Shutting down (e.g. 503): not acknowledged; keep trying until the socket closes.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let Ok(v) = resp.json::<Value>().await else { return };
                acked.lock().expect("lock").push(id_of(&v));
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "writers did not get 20 creates acknowledged within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.signal(signal);
    while let Some(r) = set.join_next().await {
        r.expect("writer task");
    }
    let ids = acked.lock().expect("lock").clone();
    eprintln!("SIG{signal} under load: {} creates acknowledged", ids.len());
    ids
}

async fn acknowledged_writes_survive_signals(backend: Backend) {
    let mut server = Server::start(backend).await;

    // Graceful: SIGTERM under write load exits 0 and keeps every acknowledged create.
    let acked_term = hammer_then_signal(&server, "TERM").await;
    let status = server.wait_exit().await;
    assert!(status.success(), "SIGTERM under load must exit 0, got {status}\n{}", server.logs());
    server.restart().await;
    let mut lost = Vec::new();
    for id in &acked_term {
        if server.admin_get(&format!("/api/v1/tickets/{id}")).await.status != 200 {
            lost.push(*id);
        }
    }
    assert!(lost.is_empty(), "{} of {} acknowledged creates lost after SIGTERM: {lost:?}", lost.len(), acked_term.len());

    // Crash: SIGKILL under write load keeps every acknowledged create.
    let acked_kill = hammer_then_signal(&server, "KILL").await;
    let _ = server.wait_exit().await;
    server.restart().await;
    for id in &acked_kill {
        if server.admin_get(&format!("/api/v1/tickets/{id}")).await.status != 200 {
            lost.push(*id);
        }
    }
    assert!(lost.is_empty(), "{} of {} acknowledged creates lost after kill -9: {lost:?}", lost.len(), acked_kill.len());
    // Numbers stay unique across the crash.
    let all = server.list_all_tickets("").await;
    let numbers: BTreeSet<&str> = all.iter().filter_map(|t| t["number"].as_str()).collect();
    assert_eq!(numbers.len(), all.len(), "duplicate ticket numbers after restarts");
}

async fn token_cli(backend: Backend) {
    let server = Server::start(backend).await;
    server
        .admin_post(
            "/api/v1/agents",
            &json!({"login": "cli_agent", "role": "agent",
                                            "permissions": [{"queue": "Raw", "permission": "rw"}]}),
        )
        .await
        .expect(201);

    let admin2 = server.create_token("ci-admin", "admin", None);
    assert_ne!(admin2, server.admin_token());
    server.get("/api/v1/queues", &admin2).await.expect(200);
    server.post("/api/v1/queues", &admin2, &json!({"name": "ByCliToken"})).await.expect(201);

    let agent = server.create_token("ci-agent", "agent", Some("cli_agent"));
    server.get("/api/v1/queues", &agent).await.expect(200);
    server.post("/api/v1/queues", &agent, &json!({"name": "AgentMayNot"})).await.expect_problem(&[403]);
    let t = server
        .post("/api/v1/tickets", &agent, &json!({"title": "by agent token", "queue": "Raw", "article": {"body": "x"}}))
        .await
        .expect(201);
    assert_eq!(t["title"], "by agent token");

    let list = server.run_cli_ok(&["token", "list"]);
    for name in ["ci-admin", "ci-agent"] {
        assert!(list.contains(name), "token list must show {name}:\n{list}");
    }

    server.run_cli_ok(&["token", "revoke", "ci-admin"]);
    let r = server.get("/api/v1/queues", &admin2).await;
    assert_eq!(r.status, 401, "a revoked token must be rejected with 401: {}", r.text());
    r.expect_problem(&[401]);
    // Other tokens are unaffected.
    server.get("/api/v1/queues", &agent).await.expect(200);
    server.admin_get("/api/v1/queues").await.expect(200);

    // Two tokens never share a value.
    let again = server.create_token("ci-admin-2", "admin", None);
    assert_ne!(again, admin2);
    server.get("/api/v1/queues", &again).await.expect(200);
    let integration = server.create_token("ci-integration", "integration", None);
    server.get("/api/v1/queues", &integration).await.expect_problem(&[403]);
}

async fn migrate_is_idempotent(backend: Backend) {
    let mut server = Server::start(backend).await;
    let t = server.create_ticket("Before migrate", json!({})).await;
    // While running.
    server.run_cli_ok(&["migrate"]);
    server.admin_get(&format!("/api/v1/tickets/{}", id_of(&t))).await.expect(200);
    let status = server.stop();
    assert!(status.success(), "SIGTERM must exit 0, got {status}");
    // While stopped, twice.
    server.run_cli_ok(&["migrate"]);
    server.run_cli_ok(&["migrate"]);
    server.restart().await;
    let again = server.admin_get(&format!("/api/v1/tickets/{}", id_of(&t))).await.expect(200);
    assert_eq!(again["number"], t["number"]);
    assert_eq!(count_admin_token_lines(&server.stdout()), 0, "migrate must not make the server think the database is empty");
    let queues = server.admin_get("/api/v1/queues").await.items();
    let names: Vec<&str> = queues.iter().filter_map(|q| q["name"].as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "Raw").count(), 1, "migrate twice must not duplicate default data: {names:?}");
    let priorities = server.admin_get("/api/v1/priorities").await.items();
    assert_eq!(priorities.len(), 5, "default priorities duplicated: {priorities:?}");
}

async fn probes_and_metrics(backend: Backend) {
    let server = Server::start(backend).await;
    let client = server.client();
    for probe in ["/healthz", "/readyz"] {
        let r = server.send(client.get(server.url(probe)), probe).await;
        assert_eq!(r.status, 200, "GET {probe} without auth: {}", r.text());
    }
    // Generate traffic, including an error.
    server.admin_get("/api/v1/queues").await.expect(200);
    server.admin_get("/api/v1/queues").await.expect(200);
    server.admin_get("/api/v1/tickets/424242").await.expect_problem(&[404]);

    let r = server.send(client.get(server.url("/metrics")), "/metrics").await;
    assert_eq!(r.status, 200, "GET /metrics: {}", r.text());
    assert!(r.content_type.starts_with("text/plain"), "metrics Content-Type must be Prometheus text, got {:?}", r.content_type);
    let text = r.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("http_requests_total{")).collect();
    assert!(!lines.is_empty(), "no http_requests_total samples:\n{text}");
    let queues_ok = lines.iter().find(|l| l.contains("method=\"GET\"") && l.contains("status=\"200\"") && l.contains("/api/v1/queues"));
    let sample = queues_ok.unwrap_or_else(|| {
        panic!("no http_requests_total sample with method=GET, route /api/v1/queues, status=200:\n{}", lines.join("\n"))
    });
    let value: f64 = sample.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("unparsable sample {sample:?}"));
    assert!(value >= 2.0, "two GET /api/v1/queues requests were made, counter says {value}");
    assert!(lines.iter().any(|l| l.contains("status=\"404\"")), "the 404 must be counted:\n{}", lines.join("\n"));
    assert!(
        !lines.iter().any(|l| l.contains("424242")),
        "route label must be the route template, not the raw path (cardinality):\n{}",
        lines.join("\n")
    );
    assert!(text.contains("http_request_duration_seconds"), "http_request_duration_seconds missing:\n{text}");
    // Unknown routes must not create one label value per raw path either.
    server.admin_get("/api/v1/no-such-thing/98765").await;
    let text = server.send(client.get(server.url("/metrics")), "/metrics").await.text();
    assert!(
        !text.lines().any(|l| l.starts_with("http_requests_total{") && l.contains("98765")),
        "unmatched paths must not become route labels:\n{text}"
    );
}

/// Every path and method of the contract, with path parameters as `{}`.
fn contract_operations() -> Vec<(&'static str, &'static str)> {
    let mut ops = Vec::new();
    for c in ["queues", "states", "priorities", "types", "agents", "customer-companies", "customer-users", "dynamic-fields"] {
        let coll: &'static str = Box::leak(format!("/api/v1/{c}").into_boxed_str());
        let item: &'static str = Box::leak(format!("/api/v1/{c}/{{}}").into_boxed_str());
        ops.push(("get", coll));
        ops.push(("post", coll));
        ops.push(("get", item));
        ops.push(("patch", item));
        ops.push(("delete", item));
    }
    ops.extend([
        ("post", "/api/v1/tickets"),
        ("get", "/api/v1/tickets"),
        ("get", "/api/v1/tickets/{}"),
        ("patch", "/api/v1/tickets/{}"),
        ("get", "/api/v1/tickets/by-number/{}"),
        ("post", "/api/v1/tickets/{}/articles"),
        ("get", "/api/v1/tickets/{}/articles"),
        ("get", "/api/v1/tickets/{}/articles/{}"),
        ("get", "/api/v1/tickets/{}/articles/{}/attachments/{}"),
        ("post", "/api/v1/tickets/{}/links"),
        ("get", "/api/v1/tickets/{}/links"),
        ("delete", "/api/v1/tickets/{}/links/{}"),
        ("post", "/api/v1/tickets/{}/merge"),
        ("get", "/api/v1/tickets/{}/history"),
        ("get", "/api/v1/jobs"),
    ]);
    ops
}

fn normalize_path(p: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in p.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

async fn openapi_lists_contract(backend: Backend) {
    let server = Server::start(backend).await;
    let r = server.send(server.client().get(server.url("/api/v1/openapi.json")), "openapi.json").await;
    assert_eq!(r.status, 200, "GET /api/v1/openapi.json without auth: {}", r.text());
    assert!(r.content_type.starts_with("application/json"), "got {:?}", r.content_type);
    let doc = r.json();
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3.1"), "OpenAPI version must be 3.1.x, got {version:?}");
    assert!(doc["info"]["title"].is_string(), "info.title missing");
    let paths = doc["paths"].as_object().expect("paths object");
    let have: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            let norm = normalize_path(p);
            item.as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(move |m| (m.to_lowercase(), norm.clone()))
        })
        .collect();
    let missing: Vec<String> = contract_operations()
        .into_iter()
        .filter(|(m, p)| !have.contains(&(m.to_string(), p.to_string())))
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "openapi.json lacks {} contract operations:\n{}\npaths present: {:?}",
        missing.len(),
        missing.join("\n"),
        paths.keys().collect::<Vec<_>>()
    );
    // Protected operations declare bearer auth somewhere.
    let text = doc.to_string().to_lowercase();
    assert!(text.contains("bearer"), "openapi.json must describe bearer authentication");
}

fn help(args: &[&str]) -> String {
    let out =
        Command::new(binary_path()).args(args).arg("--help").output().unwrap_or_else(|e| panic!("run switchboard {args:?} --help: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "switchboard {args:?} --help exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn help_for_every_subcommand() {
    let expectations: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec![], vec!["serve", "migrate", "token"]),
        (vec!["serve"], vec!["--listen", "--data-dir", "--database-url", "--job-poll-interval-ms"]),
        (vec!["migrate"], vec!["--data-dir", "--database-url"]),
        (vec!["token"], vec!["create", "list", "revoke"]),
        (vec!["token", "create"], vec!["--name", "--role", "--user", "--data-dir", "--database-url"]),
        (vec!["token", "list"], vec!["--data-dir", "--database-url"]),
        (vec!["token", "revoke"], vec!["--data-dir", "--database-url"]),
    ];
    let mut failures = Vec::new();
    for (args, flags) in expectations {
        let text = help(&args);
        for flag in flags {
            if !text.contains(flag) {
                failures.push(format!("`switchboard {} --help` does not mention {flag}", args.join(" ")));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unknown_subcommand_fails() {
    let out = Command::new(binary_path()).arg("frobnicate").output().expect("run switchboard");
    assert!(!out.status.success(), "an unknown subcommand must exit non-zero");
}
