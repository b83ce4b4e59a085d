//! Process lifecycle and operations: data survives graceful and hard
//! restarts, the admin token is printed once, token CLI, idempotent
//! migrations, `--help` everywhere; signals under load (`signals`), probes
//! and metrics (`probes`) and the OpenAPI document (`openapi`).

#[path = "lifecycle/openapi.rs"]
mod openapi;
#[path = "lifecycle/probes.rs"]
mod probes;
#[path = "lifecycle/signals.rs"]
mod signals;

use std::process::Command;

use openapi::openapi_lists_contract;
use probes::{probes_and_metrics, readyz_follows_the_database};
use signals::acknowledged_writes_survive_signals;
use switchboard_e2e::{backend_tests, binary_path, json, Backend, Server, Value};

backend_tests!(
    restart_keeps_data,
    kill9_keeps_committed_ticket,
    acknowledged_writes_survive_signals,
    token_cli,
    migrate_is_idempotent,
    probes_and_metrics,
    readyz_follows_the_database,
    openapi_lists_contract
);

pub(crate) fn id_of(v: &Value) -> i64 {
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
    const DB: [&str; 3] = ["--data-dir", "--database-url", "--sqlite-synchronous"];
    // (subcommand, flags its --help must show, flags it must not show)
    let expectations: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = vec![
        (vec![], vec!["serve", "migrate", "token", "agent", "plugin"], vec!["--database-url"]),
        (
            vec!["serve"],
            vec!["--listen", "--data-dir", "--database-url", "--job-poll-interval-ms", "--system-id", "--require-signed-plugins"],
            vec![],
        ),
        (vec!["migrate"], DB.to_vec(), vec!["--listen", "--system-id", "--require-signed-plugins"]),
        (vec!["token"], vec!["create", "list", "revoke"], vec![]),
        (vec!["token", "create"], [&["--name", "--role", "--user"][..], &DB].concat(), vec!["--system-id", "--require-signed-plugins"]),
        (vec!["token", "list"], DB.to_vec(), vec!["--listen", "--require-signed-plugins"]),
        (vec!["token", "revoke"], DB.to_vec(), vec!["--system-id"]),
        (vec!["agent", "promote"], DB.to_vec(), vec!["--listen", "--require-signed-plugins"]),
        (
            vec!["plugin", "install"],
            [&["--manifest", "--signature", "--require-signed-plugins", "--yes", "asks y/N"][..], &DB].concat(),
            vec!["--listen"],
        ),
        (vec!["plugin", "keygen"], vec!["--out", "0600", "trust-key"], [&DB[..], &["--config"]].concat()),
        (vec!["plugin", "sign"], vec!["--key", "--manifest", "--out"], [&DB[..], &["--config"]].concat()),
        (vec!["plugin", "apply"], [&["--ticket", "--param", "--as"][..], &DB].concat(), vec!["--require-signed-plugins"]),
        (vec!["plugin", "list"], DB.to_vec(), vec!["--system-id"]),
        // Author tools need no database: none of its flags.
        (vec!["plugin", "run"], vec!["--manifest", "--mail", "--ticket-json", "--set"], [&DB[..], &["--config", "--system-id"]].concat()),
        (vec!["plugin", "new"], vec!["--world", "--dir"], [&DB[..], &["--require-signed-plugins"]].concat()),
    ];
    let mut failures = Vec::new();
    for (args, shown, hidden) in expectations {
        let text = help(&args);
        for flag in shown {
            if !text.contains(flag) {
                failures.push(format!("`switchboard {} --help` does not mention {flag}", args.join(" ")));
            }
        }
        for flag in hidden {
            if text.contains(flag) {
                failures.push(format!("`switchboard {} --help` shows {flag}, which it does not use", args.join(" ")));
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
