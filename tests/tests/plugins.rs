//! Plugins end to end against the real binary: the bundled plugins after the
//! first start, the `/api/v1/plugins` lifecycle (install, versions, rollback,
//! enable/disable, configuration and secrets, removal), applying a script task
//! to a ticket with its history and invocation records, the `switchboard
//! plugin …` commands against the same storage, signed installs and what an
//! install grants (`grants`), and the
//! author tools that need no server (`plugin run`, `plugin new`).

#[path = "plugins/grants.rs"]
mod grants;
#[path = "plugins/load.rs"]
mod load;
#[path = "plugins/manifest_search.rs"]
mod manifest_search;
#[path = "plugins/support.rs"]
mod support;

use std::time::Duration;

use support::*;
use switchboard_e2e::{backend_tests, json, sha256_hex, unique_suffix, wait_for, Backend, Server, Value};

backend_tests!(bundled_plugins_apply_and_metrics, api_lifecycle, secrets_never_leak, cli_management);
use load::{busy_guests_leave_the_api_alone, slot_holders_get_busy_and_nobody_is_suspended, the_memory_budget_holds_and_memory_returns};
backend_tests!(busy_guests_leave_the_api_alone, slot_holders_get_busy_and_nobody_is_suspended, the_memory_budget_holds_and_memory_returns);

const BUNDLED: [(&str, &str); 4] = [
    ("escalation", "transition-action"),
    ("keyword-router", "script-task"),
    ("spam-filter", "postmaster-filter"),
    ("webhook-invoker", "service-invoker"),
];

const SPAM_MAIL: &str = "From: Winner <winner@lottery.example>\r\nTo: support@example.com\r\n\
Subject: YOU HAVE WON THE LOTTERY!!!\r\nX-Spam-Flag: YES\r\nMessage-ID: <spam1@lottery.example>\r\n\r\n\
Click here to claim your prize: a wire transfer of a million dollars.\r\n";

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

fn find<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("plugin {name} not listed: {items:?}"))
}

fn versions_of(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| v["version"].as_str().unwrap_or_default().to_string()).collect()
}

/// The JSON printed between `result:` and `log:` by `plugin run`.
fn run_result(stdout: &str) -> Value {
    let body = stdout.split("result:\n").nth(1).and_then(|r| r.split("\nlog:").next()).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("`plugin run` must print the result as JSON ({e}):\n{stdout}"))
}

async fn bundled_plugins_apply_and_metrics(backend: Backend) {
    let mut server = Server::start(backend).await;
    let items = server.admin_get("/api/v1/plugins").await.items();
    for (name, world) in BUNDLED {
        let p = find(&items, name);
        assert_eq!((p["world"].as_str(), p["version"].as_str(), &p["enabled"]), (Some(world), Some("0.1.0"), &json!(true)), "{p}");
        assert!(p["suspended_reason"].is_null() && p["consecutive_failures"] == 0, "{p}");
        assert!(p["manifest"].as_str().unwrap_or_default().contains(&format!("name = \"{name}\"")), "manifest of {name}: {p}");
        assert!(server.stdout().contains(&format!("installed bundled plugin {name} 0.1.0")), "stdout:\n{}", server.stdout());
    }

    for q in ["Hardware", "Billing"] {
        server.admin_post("/api/v1/queues", &json!({"name": q})).await.expect(201);
    }
    let id = id_of(&server.create_ticket("Printer out of toner", json!({})).await);
    let ticket_path = format!("/api/v1/tickets/{id}");
    let history_before = server.admin_get(&format!("{ticket_path}/history")).await.items().len();
    let apply = "/api/v1/plugins/keyword-router/apply";

    // Test mode reports the changes and leaves the ticket alone.
    let dry = server.admin_post(apply, &json!({"ticket": id, "test": true})).await.expect(200);
    assert_eq!((&dry["applied"], &dry["result"]), (&json!(false), &json!("routed")), "{dry}");
    let changes = dry["changes"].as_array().cloned().unwrap_or_default();
    assert!(
        changes.contains(&json!({"kind": "queue", "value": "Hardware"})) && changes.contains(&json!({"kind": "priority", "value": 4})),
        "changes are snake_case JSON tagged by kind: {dry}"
    );
    assert!(
        changes.iter().any(|c| c["kind"] == "add_note" && c["subject"] == "Routed by keyword" && c["visible_for_customer"] == false),
        "{dry}"
    );
    let t = server.admin_get(&ticket_path).await.expect(200);
    assert_eq!((t["queue"].as_str(), t["priority"].as_i64()), (Some("Raw"), Some(3)), "test mode changed the ticket: {t}");
    assert_eq!(server.admin_get(&format!("{ticket_path}/history")).await.items().len(), history_before, "test mode wrote history");

    // For real: moved, with history naming the plugin and version.
    let run = server.admin_post(apply, &json!({"ticket": id})).await.expect(200);
    assert_eq!((&run["applied"], &run["result"]), (&json!(true), &json!("routed")), "{run}");
    // No fuel limit: fuel is not counted (it would cost about a third of the call).
    assert!(run["fuel_used"].is_null() && run["logs"].as_str().unwrap_or_default().contains("Hardware"), "{run}");
    let t = server.admin_get(&ticket_path).await.expect(200);
    assert_eq!((t["queue"].as_str(), t["priority"].as_i64()), (Some("Hardware"), Some(4)), "{t}");
    let history = server.admin_get(&format!("{ticket_path}/history")).await.items();
    let by_plugin: Vec<&Value> = history.iter().filter(|h| h["actor"] == "plugin:keyword-router@0.1.0 by agent:admin (apply)").collect();
    for field in ["queue", "priority"] {
        assert!(
            by_plugin.iter().any(|h| h["field"].as_str().is_some_and(|f| f.contains(field))),
            "no {field} change by the plugin: {history:?}"
        );
    }
    let articles = server.admin_get(&format!("{ticket_path}/articles")).await.items();
    assert!(
        articles.iter().any(|a| a["subject"] == "Routed by keyword" && a["visible_for_customer"] == false),
        "the internal note is missing: {articles:?}"
    );

    // Both calls are recorded, newest first.
    let calls = server.admin_get("/api/v1/plugins/keyword-router/invocations").await.items();
    assert!(calls.len() == 2 && id_of(&calls[0]) > id_of(&calls[1]), "two records, newest first: {calls:?}");
    for c in &calls {
        assert_eq!((c["outcome"].as_str(), c["version"].as_str(), c["function"].as_str()), (Some("ok"), Some("0.1.0"), Some("run")), "{c}");
        assert!(c["fuel_used"].is_null() && c["duration_us"].as_i64().is_some(), "{c}");
    }

    // Refusals: an unknown ticket, a plugin that cannot change tickets, an unknown plugin.
    server.admin_post(apply, &json!({"ticket": 999_999})).await.expect_problem(&[404]);
    server.admin_post("/api/v1/plugins/spam-filter/apply", &json!({"ticket": id})).await.expect_problem(&[422]);
    server.admin_post("/api/v1/plugins/no-such-plugin/apply", &json!({"ticket": id})).await.expect_problem(&[404]);

    let metrics = server.send(server.client().get(server.url("/metrics")), "GET /metrics").await.text();
    let ok = metric(&metrics, "plugin_invocations_total", &[("plugin", "keyword-router"), ("outcome", "ok")]);
    assert!(ok.is_some_and(|n| n >= 2.0), "plugin_invocations_total for keyword-router/ok must count 2 calls, got {ok:?}:\n{metrics}");

    // A restart neither reinstalls the bundled plugins nor loses the records.
    server.restart().await;
    assert!(!server.stdout().contains("installed bundled plugin"), "bundled plugins reinstalled on restart:\n{}", server.stdout());
    assert_eq!(server.admin_get("/api/v1/plugins").await.items().len(), 4);
    assert_eq!(versions_of(&server.admin_get("/api/v1/plugins/keyword-router/versions").await.items()), ["0.1.0"]);
    assert_eq!(server.admin_get("/api/v1/plugins/keyword-router/invocations").await.items().len(), 2);
}

async fn api_lifecycle(backend: Backend) {
    let server = Server::start(backend).await;
    let (admin, agent) = (server.admin_token(), agent_token(&server).await);
    let spam = wasm_bytes("spam_filter");
    let v2 = with_version(&manifest("spam-filter"), "0.2.0");

    install_api(&server, None, &spam, &v2, None).await.expect_problem(&[401]);
    install_api(&server, Some(&agent), &spam, &v2, None).await.expect_problem(&[403]);
    // Manifest mistakes name the key; a component of another world is refused.
    for (bad, field) in [
        (v2.replace("version = \"0.2.0\"", "version = \"two\""), "manifest.version"),
        (v2.replace("memory_mib = 16", "memory_mib = 0"), "manifest.limits.memory_mib"),
        (v2.replace("wit = \"0.1.0\"", "wit = \"9.0.0\""), "manifest.wit"),
        (v2.replace("[capabilities]", "[capabilities]\nhttp = [\"https://x.example\"]"), "manifest.capabilities.http"),
        (v2.replace("[policy]", "[policy]\non_falure = \"skip\""), "manifest.plugin.toml"),
    ] {
        let p = install_api(&server, Some(&admin), &spam, &bad, None).await.expect_field_error(&[422], field);
        if field == "manifest.plugin.toml" {
            assert!(p.to_string().contains("line "), "a TOML error must give the line: {p}");
        }
    }
    let wrong = with_version(&manifest("spam-filter"), "0.3.0");
    install_api(&server, Some(&admin), &wasm_bytes("keyword_router"), &wrong, None).await.expect_field_error(&[422], "component");
    assert_eq!(versions_of(&server.admin_get("/api/v1/plugins/spam-filter/versions").await.items()), ["0.1.0"], "refused installs stored");

    let done = install_api(&server, Some(&admin), &spam, &v2, None).await.expect(201);
    assert_eq!((done["plugin"]["name"].as_str(), done["plugin"]["version"].as_str()), (Some("spam-filter"), Some("0.2.0")), "{done}");
    assert_eq!(done["plugin"]["sha256"], sha256_hex(&spam));
    assert_eq!(server.admin_get("/api/v1/plugins/spam-filter").await.expect(200)["version"], "0.2.0");
    assert_eq!(versions_of(&server.admin_get("/api/v1/plugins/spam-filter/versions").await.items()), ["0.2.0", "0.1.0"]);

    // Roll back, and refuse unknown versions and non-admins.
    let path = "/api/v1/plugins/spam-filter";
    server.patch(path, &agent, &json!({"version": "0.1.0"})).await.expect_problem(&[403]);
    assert_eq!(server.admin_patch(path, &json!({"version": "0.1.0"})).await.expect(200)["version"], "0.1.0");
    assert_eq!(server.admin_get(path).await.expect(200)["version"], "0.1.0");
    server.admin_patch(path, &json!({"version": "9.9.9"})).await.expect_field_error(&[422], "version");
    assert_eq!(server.admin_get(path).await.expect(200)["version"], "0.1.0");

    // Disabled plugins are skipped: applying one is refused until it is enabled again.
    // (A test run checks its changes as applying would, so the queue it routes to must exist.)
    server.admin_post("/api/v1/queues", &json!({"name": "Hardware"})).await.expect(201);
    let id = id_of(&server.create_ticket("Printer out of toner", json!({})).await);
    let router = "/api/v1/plugins/keyword-router";
    assert_eq!(server.admin_patch(router, &json!({"enabled": false})).await.expect(200)["enabled"], false);
    assert_eq!(server.admin_get(router).await.expect(200)["enabled"], false);
    server.admin_post(&format!("{router}/apply"), &json!({"ticket": id, "test": true})).await.expect_problem(&[409]);
    assert_eq!(server.admin_patch(router, &json!({"enabled": true})).await.expect(200)["enabled"], true);
    server.admin_post(&format!("{router}/apply"), &json!({"ticket": id, "test": true})).await.expect(200);

    // The active version is the one that runs: upgrade, then roll back.
    let router_v2 = with_version(&manifest("keyword-router"), "0.2.0");
    install_api(&server, Some(&admin), &wasm_bytes("keyword_router"), &router_v2, None).await.expect(201);
    for version in ["0.2.0", "0.1.0"] {
        server.admin_patch(router, &json!({"version": version})).await.expect(200);
        server.admin_post(&format!("{router}/apply"), &json!({"ticket": id, "test": true})).await.expect(200);
        let calls = server.admin_get(&format!("{router}/invocations?limit=1")).await.items();
        assert_eq!(calls[0]["version"], version, "after switching to {version} the newest call ran {}", calls[0]["version"]);
    }

    // An admin's parameters override the configured rules (an agent's may not: auth_matrix).
    server.admin_post("/api/v1/queues", &json!({"name": "Billing"})).await.expect(201);
    let r =
        server.admin_post(&format!("{router}/apply"), &json!({"ticket": id, "test": true, "params": {"rules": "toner=>Billing:2"}})).await;
    let r = r.expect(200);
    assert!(r["changes"].as_array().is_some_and(|c| c.contains(&json!({"kind": "queue", "value": "Billing"}))), "{r}");

    // A version that runs out of fuel fails, is recorded as failed and trips the circuit breaker.
    let starved = router_v2
        .replace("0.2.0", "0.3.0")
        .replace("[limits]", "[limits]\nfuel = 1000")
        .replace("breaker_threshold = 10", "breaker_threshold = 2");
    install_api(&server, Some(&admin), &wasm_bytes("keyword_router"), &starved, None).await.expect(201);
    for _ in 0..2 {
        server.admin_post(&format!("{router}/apply"), &json!({"ticket": id, "test": true})).await.expect_problem(&[409]);
    }
    let p = server.admin_get(router).await.expect(200);
    assert!(p["enabled"] == false && p["suspended_reason"].as_str().is_some_and(|r| r.contains("2 consecutive failures")), "{p}");
    for c in server.admin_get(&format!("{router}/invocations?limit=2")).await.items() {
        assert!(c["outcome"] == "failed" && c["error_kind"] == "fuel" && c["version"] == "0.3.0", "{c}");
        assert!(c["fuel_used"].as_i64().is_some_and(|f| f >= 1000), "a plugin with a fuel limit has its fuel counted: {c}");
    }
    let p = server.admin_patch(router, &json!({"version": "0.1.0", "enabled": true})).await.expect(200);
    assert!(p["enabled"] == true && p["suspended_reason"].is_null() && p["consecutive_failures"] == 0, "enabling lifts a suspension: {p}");
    server.admin_post(&format!("{router}/apply"), &json!({"ticket": id, "test": true})).await.expect(200);

    // Configuration is checked against the manifest schema.
    let config = "/api/v1/plugins/spam-filter/config";
    put_config(&server, "spam-filter", &admin, json!({"threshold": "7"})).await.expect(204);
    assert_eq!(server.admin_get(config).await.expect(200)["threshold"], "7");
    put_config(&server, "spam-filter", &agent, json!({"threshold": "9"})).await.expect_problem(&[403]);
    server.get(config, &agent).await.expect_problem(&[403]);
    put_config(&server, "spam-filter", &admin, json!({"no_such_key": "1"})).await.expect_field_error(&[422], "no_such_key");
    put_config(&server, "spam-filter", &admin, json!({"threshold": "abc"})).await.expect_field_error(&[422], "threshold");
    assert_eq!(server.admin_get(config).await.expect(200)["threshold"], "7", "a refused value was stored");
    let missing = "/api/v1/plugins/no-such-plugin";
    server.admin_get(missing).await.expect_problem(&[404]);
    server.admin_get(&format!("{missing}/versions")).await.expect_problem(&[404]);
    server.admin_patch(missing, &json!({"enabled": false})).await.expect_problem(&[404]);
    put_config(&server, "no-such-plugin", &admin, json!({"a": "1"})).await.expect_problem(&[404]);

    // Another plugin, with a capability.
    let fetch =
        install_api(&server, Some(&admin), &wasm_bytes("hostile_http_fetch"), &manifest("hostile/http-fetch"), None).await.expect(201);
    assert_eq!(fetch["plugin"]["world"], "service-invoker");
    assert!(fetch["capabilities"].to_string().contains("outbound HTTP to http://127.0.0.1:8080"), "{fetch}");
    assert_eq!(server.admin_get("/api/v1/plugins").await.items().len(), 5);

    // The same version with other bytes is refused: versions are immutable.
    let flood = install_api(&server, Some(&admin), &wasm_bytes("hostile_http_flood"), &manifest("hostile/http-fetch"), None).await;
    assert!(flood.expect_problem(&[409]).to_string().contains("bump the version"), "{}", flood.text());

    // Removal takes versions and configuration with it.
    server.delete(path, &agent).await.expect_problem(&[403]);
    server.admin_delete(path).await.expect(204);
    server.admin_get(path).await.expect_problem(&[404]);
    server.admin_get(&format!("{path}/versions")).await.expect_problem(&[404]);
    server.admin_delete(path).await.expect_problem(&[404]);
    assert!(server.admin_get("/api/v1/plugins").await.items().iter().all(|p| p["name"] != "spam-filter"));
    install_api(&server, Some(&admin), &spam, &v2, None).await.expect(201);
    assert_eq!(versions_of(&server.admin_get(&format!("{path}/versions")).await.items()), ["0.2.0"]);
    assert!(server.admin_get(config).await.expect(200).get("threshold").is_none_or(Value::is_null), "old configuration survived removal");

    // Last, two checks reported together so that one failing does not hide the other.
    let mut wrong = Vec::new();
    // A refused request changes nothing, even when only one of its keys is wrong.
    put_config(&server, "spam-filter", &admin, json!({"threshold": "7"})).await.expect(204);
    put_config(&server, "spam-filter", &admin, json!({"threshold": "9", "zzz": "1"})).await.expect_field_error(&[422], "zzz");
    let threshold = server.admin_get(config).await.expect(200)["threshold"].clone();
    if threshold != "7" {
        wrong.push(format!("PUT config {{threshold: 9, zzz: 1}} was refused with 422 but stored threshold = {threshold}"));
    }
    // A refused upload (its body never read) must not leave a dead keep-alive connection behind.
    let (first, second) = refused_upload_then_reuse(server.port(), &spam);
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    if let Some(second) = second.filter(|s| !s.starts_with("HTTP/1.1 200")) {
        wrong.push(format!(
            "after a 401 to an upload the server closed the connection without `Connection: close`; the next request on it got {second:?}"
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

async fn secrets_never_leak(backend: Backend) {
    let server = Server::start(backend).await;
    let admin = server.admin_token();
    let (token, signing, cli_secret) =
        (format!("tok-{}", unique_suffix()), format!("sig-{}", unique_suffix()), format!("cli-{}", unique_suffix()));
    let m = with_version(&manifest("webhook-invoker"), "0.2.0")
        + "\n[config.signing_key]\ntype = \"string\"\nsecret = true\ndescription = \"HMAC key\"\n";
    let mut seen = install_api(&server, Some(&admin), &wasm_bytes("webhook_invoker"), &m, None).await.expect(201).to_string();
    let values = json!({"url": "https://hooks.example.com/t", "token": token, "signing_key": signing});
    seen += &put_config(&server, "webhook-invoker", &admin, values).await.expect(204).to_string();

    let config = server.admin_get("/api/v1/plugins/webhook-invoker/config").await.expect(200);
    assert_eq!(config["url"], "https://hooks.example.com/t", "{config}");
    for key in ["token", "signing_key"] {
        assert!(config.get(key).is_some_and(Value::is_null), "a set secret must show as null: {config}");
    }
    // The CLI sets and shows secrets without printing them.
    let set = server.run_cli_ok(&["plugin", "config", "webhook-invoker", &format!("token={cli_secret}")]);
    let info = server.run_cli_ok(&["plugin", "info", "webhook-invoker"]);
    assert!(info.contains("token = (secret)") && info.contains("signing_key = (secret)"), "plugin info must mark secrets:\n{info}");
    seen += &(set + &info);
    for path in [
        "/api/v1/plugins",
        "/api/v1/plugins/webhook-invoker",
        "/api/v1/plugins/webhook-invoker/versions",
        "/api/v1/plugins/webhook-invoker/config",
        "/api/v1/plugins/webhook-invoker/invocations",
        "/api/v1/plugin-http-audit",
    ] {
        seen += &server.admin_get(path).await.expect(200).to_string();
    }
    seen += &server.send(server.client().get(server.url("/metrics")), "GET /metrics").await.text();
    seen += &server.stdout();
    seen += &server.stderr();
    for secret in [&token, &signing, &cli_secret] {
        assert!(!seen.contains(secret.as_str()), "secret {secret} leaked into an API response, CLI output or the server log");
    }
    // Stored encrypted: the plain value is nowhere in the database.
    match server.database_url() {
        None => {
            for entry in std::fs::read_dir(server.data_dir()).expect("data dir").flatten() {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                for secret in [&token, &signing, &cli_secret] {
                    let plain = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                    assert!(!plain, "{} holds the secret {secret} in plain text", entry.path().display());
                }
            }
        }
        Some(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to the test database");
            let stored: Vec<String> =
                sqlx::query_scalar("SELECT value FROM plugin_config WHERE secret").fetch_all(&mut conn).await.expect("query");
            assert!(
                stored.len() == 2 && stored.iter().all(|v| [&token, &signing, &cli_secret].iter().all(|s| !v.contains(s.as_str()))),
                "secrets stored in plain text: {stored:?}"
            );
        }
    }
}

async fn cli_management(backend: Backend) {
    let server = Server::start(backend).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let list = server.run_cli_ok(&["plugin", "list"]);
    for (name, world) in BUNDLED {
        assert!(
            list.lines().any(|l| l.contains(name) && l.contains("0.1.0") && l.contains(world) && l.contains("enabled")),
            "{name}:\n{list}"
        );
    }

    // Install a new version from files, then roll back.
    let spam = wasm("spam_filter").display().to_string();
    let m2 = write(tmp.path(), "spam-0.2.0.toml", with_version(&manifest("spam-filter"), "0.2.0"));
    let out = server.run_cli_ok(&["plugin", "install", &spam, "--manifest", &m2]);
    assert!(out.contains("installed spam-filter 0.2.0 (postmaster-filter"), "{out}");
    let versions = server.run_cli_ok(&["plugin", "versions", "spam-filter"]);
    assert!(versions.lines().any(|l| l.starts_with("* 0.2.0")) && versions.lines().any(|l| l.starts_with("  0.1.0")), "{versions}");
    let out = server.run_cli_ok(&["plugin", "activate", "spam-filter", "0.1.0"]);
    assert!(out.contains("spam-filter now runs 0.1.0"), "{out}");
    assert_eq!(server.admin_get("/api/v1/plugins/spam-filter").await.expect(200)["version"], "0.1.0");
    let err = cli_fails(&server, &["plugin", "activate", "spam-filter", "9.9.9"]);
    assert!(err.contains("9.9.9") && err.contains("0.2.0"), "an unknown version must be named, with the installed ones:\n{err}");

    // Configuration.
    let out = server.run_cli_ok(&["plugin", "config", "spam-filter", "threshold=8", "junk_queue=Spam"]);
    assert!(out.contains("set spam-filter.threshold") && out.contains("set spam-filter.junk_queue"), "{out}");
    let config = server.admin_get("/api/v1/plugins/spam-filter/config").await.expect(200);
    assert_eq!((config["threshold"].as_str(), config["junk_queue"].as_str()), (Some("8"), Some("Spam")), "{config}");
    for (arg, words) in
        [("threshold=abc", ["threshold", "abc"]), ("nope=1", ["nope", "threshold"]), ("threshold", ["threshold", "KEY=VALUE"])]
    {
        let err = cli_fails(&server, &["plugin", "config", "spam-filter", arg]);
        assert!(words.iter().all(|w| err.contains(w)), "`plugin config spam-filter {arg}` must say {words:?}:\n{err}");
    }

    // Apply (test, then for real), with a disable/enable round trip first.
    server.admin_post("/api/v1/queues", &json!({"name": "Hardware"})).await.expect(201);
    let t = server.create_ticket("Printer out of toner", json!({})).await;
    let (id, number) = (id_of(&t), t["number"].as_str().expect("ticket number").to_string());
    assert!(server.run_cli_ok(&["plugin", "disable", "keyword-router"]).contains("keyword-router disabled"));
    assert_eq!(server.admin_get("/api/v1/plugins/keyword-router").await.expect(200)["enabled"], false);
    assert!(server.run_cli_ok(&["plugin", "list"]).lines().any(|l| l.starts_with("keyword-router") && l.contains("disabled")));
    let err = cli_fails(&server, &["plugin", "apply", "keyword-router", "--ticket", &number]);
    assert!(err.contains("disabled"), "{err}");
    // The running server notices the CLI's change (it rechecks the registry every few seconds).
    let api_apply = |body: Value| {
        let server = &server;
        async move { server.admin_post("/api/v1/plugins/keyword-router/apply", &body).await }
    };
    let wait = |what: &'static str, status: u16| {
        let api_apply = &api_apply;
        wait_for(what, Duration::from_secs(10), Duration::from_millis(200), move || async move {
            (api_apply(json!({"ticket": id, "test": true})).await.status == status).then_some(())
        })
    };
    wait("the server to refuse a plugin disabled by the CLI", 409).await;
    assert!(server.run_cli_ok(&["plugin", "enable", "keyword-router"]).contains("keyword-router enabled"));
    wait("the server to run a plugin enabled by the CLI", 200).await;
    let out = server.run_cli_ok(&["plugin", "apply", "keyword-router", "--ticket", &number, "--test"]);
    assert!(out.contains("test mode: nothing changed") && out.contains("change: {\"kind\":\"queue\",\"value\":\"Hardware\"}"), "{out}");
    assert_eq!(server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200)["queue"], "Raw");
    let out = server.run_cli_ok(&["plugin", "apply", "keyword-router", "--ticket", &number]);
    assert!(out.contains("changes applied") && out.contains(&format!("on ticket {number}: routed")), "{out}");
    let t = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!((t["queue"].as_str(), t["priority"].as_i64()), (Some("Hardware"), Some(4)), "{t}");
    let history = server.admin_get(&format!("/api/v1/tickets/{id}/history")).await.items();
    assert!(history.iter().any(|h| h["actor"] == "plugin:keyword-router@0.1.0 by system (apply)"), "{history:?}");
    server
        .admin_post("/api/v1/dynamic-fields", &json!({"name": "Escalated", "object_type": "ticket", "field_type": "checkbox"}))
        .await
        .expect(201);
    let out = server.run_cli_ok(&["plugin", "apply", "escalation", "--ticket", &number, "--test", "--param", "min_priority=5"]);
    assert!(out.contains("change: {\"kind\":\"priority\",\"value\":5}") && out.contains("test mode: nothing changed"), "{out}");
    // --as runs with exactly that agent's rights: an agent with ro on Hardware is refused, naming the queue.
    server
        .admin_post(
            "/api/v1/agents",
            &json!({"login": "cli_ro", "role": "agent", "permissions": [{"queue": "Hardware", "permission": "ro"}]}),
        )
        .await
        .expect(201);
    let err = cli_fails(&server, &["plugin", "apply", "escalation", "--ticket", &number, "--as", "cli_ro"]);
    assert!(err.contains("queue 'Hardware'") && err.contains("agent:cli_ro"), "{err}");

    // Info: manifest and recent invocations.
    let info = server.run_cli_ok(&["plugin", "info", "keyword-router"]);
    assert!(
        info.contains("keyword-router 0.1.0") && info.contains("world = \"script-task\"") && info.contains("status: enabled"),
        "{info}"
    );
    let recent = info.split("recent invocations:").nth(1).unwrap_or_default();
    assert!(recent.lines().filter(|l| l.contains("0.1.0") && l.trim_end().ends_with("ok")).count() >= 2, "{info}");
    server.admin_post("/api/v1/queues", &json!({"name": "Billing"})).await.expect(201);
    server.run_cli_ok(&["plugin", "config", "keyword-router", "rules=toner=>Billing:2"]);
    wait_for("the server to use configuration set by the CLI", Duration::from_secs(10), Duration::from_millis(200), || async {
        let r = api_apply(json!({"ticket": id, "test": true, "params": {}})).await.expect(200);
        r["changes"].as_array().is_some_and(|c| c.contains(&json!({"kind": "queue", "value": "Billing"}))).then_some(())
    })
    .await;

    // Errors name what is wrong.
    for args in [
        &["info", "no-such-plugin"][..],
        &["enable", "no-such-plugin"],
        &["versions", "no-such-plugin"],
        &["remove", "no-such-plugin"],
        &["config", "no-such-plugin", "a=1"],
        &["apply", "no-such-plugin", "--ticket", number.as_str()],
    ] {
        let err = cli_fails(&server, &[&["plugin"][..], args].concat());
        assert!(err.contains("no-such-plugin"), "`plugin {args:?}` must name the unknown plugin:\n{err}");
    }
    let bad = write(tmp.path(), "bad-version.toml", with_version(&manifest("spam-filter"), "two"));
    let err = cli_fails(&server, &["plugin", "install", &spam, "--manifest", &bad]);
    assert!(err.contains(&bad) && err.contains("version"), "a manifest error must name the file and the key:\n{err}");
    let typo = write(tmp.path(), "typo.toml", manifest("spam-filter").replace("[policy]", "[policy]\non_falure = \"skip\""));
    let err = cli_fails(&server, &["plugin", "install", &spam, "--manifest", &typo]);
    assert!(err.contains(&typo) && err.contains("line ") && err.contains("on_falure"), "a TOML error must name file, line and key:\n{err}");
    let other = write(tmp.path(), "world.toml", with_version(&manifest("spam-filter"), "0.3.0"));
    let err = cli_fails(&server, &["plugin", "install", &wasm("keyword_router").display().to_string(), "--manifest", &other]);
    assert!(err.contains("postmaster-filter"), "a component of another world must be refused naming the world:\n{err}");

    // Remove, and install with the manifest beside the component.
    assert!(server.run_cli_ok(&["plugin", "remove", "spam-filter"]).contains("removed spam-filter"));
    assert!(!server.run_cli_ok(&["plugin", "list"]).contains("spam-filter"));
    server.admin_get("/api/v1/plugins/spam-filter").await.expect_problem(&[404]);
    let dir = tmp.path().join("fetch");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(wasm("hostile_http_fetch"), dir.join("fetch.wasm")).expect("copy");
    write(&dir, "plugin.toml", manifest("hostile/http-fetch"));
    let out = server.run_cli_ok(&["plugin", "install", &dir.join("fetch.wasm").display().to_string()]);
    assert!(out.contains("installed hostile-http-fetch 0.1.0") && out.contains("outbound HTTP to http://127.0.0.1:8080"), "{out}");
    assert_eq!(server.admin_get("/api/v1/plugins/hostile-http-fetch").await.expect(200)["world"], "service-invoker");
}

#[test]
fn run_filter_on_a_mail() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (spam, mp) = (wasm("spam_filter").display().to_string(), manifest_path("spam-filter").display().to_string());
    let mail = write(tmp.path(), "spam.eml", SPAM_MAIL);
    let out = local_ok(&["plugin", "run", &spam, "--manifest", &mp, "--mail", &mail]);
    let result = run_result(&out);
    assert_eq!(result["queue"], "Junk", "{out}");
    assert!(result["dynamic_fields"].to_string().contains("SpamScore"), "{out}");
    let log = out.split("log:\n").nth(1).unwrap_or_default();
    assert!(log.contains("score") && log.contains("lottery"), "the plugin's log must be printed:\n{out}");
    let stats = out.lines().find(|l| l.starts_with("duration: ")).unwrap_or_else(|| panic!("no duration line:\n{out}"));
    assert!(stats.contains(" µs, fuel: ") && stats.contains(", peak memory: ") && stats.ends_with(" KiB"), "{stats}");
    let fuel: u64 = stats.split("fuel: ").nth(1).and_then(|f| f.split(',').next()).and_then(|f| f.parse().ok()).unwrap_or(0);
    assert!(fuel > 0, "{stats}");
    // Configuration on the command line.
    let out = local_ok(&["plugin", "run", &spam, "--manifest", &mp, "--mail", &mail, "--set", "threshold=100"]);
    assert!(run_result(&out)["queue"].is_null(), "{out}");
}

#[test]
fn run_task_on_ticket_json() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (router, mp) = (wasm("keyword_router").display().to_string(), manifest_path("keyword-router").display().to_string());
    let ticket = json!({"id": 7, "number": "2024010100007", "title": "Printer out of toner", "queue": "Raw", "priority": 3});
    let file = write(tmp.path(), "ticket.json", ticket.to_string());
    let result = run_result(&local_ok(&["plugin", "run", &router, "--manifest", &mp, "--ticket-json", &file]));
    let changes = result["changes"].as_array().cloned().unwrap_or_default();
    assert!(
        changes.contains(&json!({"kind": "queue", "value": "Hardware"})) && changes.contains(&json!({"kind": "priority", "value": 4})),
        "{result}"
    );
    assert_eq!(result["result"], "routed");
    // Parameters ride along in the ticket JSON.
    let mut with_params = ticket.clone();
    with_params["params"] = json!({"rules": "toner=>Billing:2"});
    let file = write(tmp.path(), "params.json", with_params.to_string());
    let result = run_result(&local_ok(&["plugin", "run", &router, "--manifest", &mp, "--ticket-json", &file]));
    assert!(result["changes"].as_array().is_some_and(|c| c.contains(&json!({"kind": "queue", "value": "Billing"}))), "{result}");
    // The wrong kind of input says what to give.
    let out = local(&["plugin", "run", &router, "--manifest", &mp, "--mail", &file], None);
    let (stdout, stderr) = texts(&out);
    assert!(!out.status.success() && stderr.contains("--ticket-json"), "{stdout}\n{stderr}");
}

#[test]
fn run_invoker_with_recorded_http() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let fetch = wasm("hostile_http_fetch").display().to_string();
    // Grant a host that does not resolve: only a replayed answer can succeed.
    let m = manifest("hostile/http-fetch").replace("http = [\"http://127.0.0.1:8080\"]", "http = [\"http://recorded.invalid\"]");
    let mp = write(tmp.path(), "plugin.toml", m);
    let url = "http://recorded.invalid/status";
    let request = json!({"operation": "fetch", "params": [{"key": "url", "value": url}], "ticket": null});
    let recorded = json!({"request": request, "http": [{"url": url, "status": 418, "body": "recorded teapot"}]});
    let input = write(tmp.path(), "recorded.json", recorded.to_string());
    let result = run_result(&local_ok(&["plugin", "run", &fetch, "--manifest", &mp, "--input", &input]));
    let data = result["data"].to_string();
    assert!(data.contains(r#"{"key":"status","value":"418"}"#) && data.contains("recorded teapot"), "{result}");
    assert!(result["error_code"].is_null(), "{result}");
    // No recording and no --allow-http: denied.
    let input = write(tmp.path(), "live.json", json!({"request": request}).to_string());
    let result = run_result(&local_ok(&["plugin", "run", &fetch, "--manifest", &mp, "--input", &input]));
    assert_eq!(result["error_code"], "http-request-denied", "{result}");
    // Input of the wrong shape names the world.
    let input = write(tmp.path(), "bad.json", r#"{"request": {"operation": 5}}"#);
    let out = local(&["plugin", "run", &fetch, "--manifest", &mp, "--input", &input], None);
    assert!(!out.status.success() && texts(&out).1.contains("input for service-invoker"), "{:?}", texts(&out));
}

#[test]
fn new_project_builds_and_runs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().display().to_string();
    let out = local_ok(&["plugin", "new", "--world", "postmaster-filter", "my-filter", "--dir", &dir]);
    assert!(out.contains("created"), "{out}");
    let root = tmp.path().join("my-filter");
    for file in ["Cargo.toml", "plugin.toml", "src/lib.rs", ".cargo/config.toml", "wit/worlds.wit", "wit/types.wit"] {
        assert!(root.join(file).exists(), "plugin new did not create {file}");
    }
    assert!(std::fs::read_to_string(root.join("plugin.toml")).unwrap_or_default().contains("world = \"postmaster-filter\""));
    let again = local(&["plugin", "new", "--world", "postmaster-filter", "my-filter", "--dir", &dir], None);
    assert!(!again.status.success() && texts(&again).1.contains("already exists"), "{:?}", texts(&again));
    let unknown = local(&["plugin", "new", "--world", "mail-eater", "x", "--dir", &dir], None);
    assert!(!unknown.status.success() && texts(&unknown).1.contains("unknown world 'mail-eater'"), "{:?}", texts(&unknown));

    let build_dir = target_dir().join("plugin-new-test");
    let mut cargo = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        cargo.env_remove(var);
    }
    let out = cargo.args(["build", "--release", "--target-dir"]).arg(&build_dir).current_dir(&root).output().expect("run cargo");
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "building the new project failed (a crate missing from the local registry?):\n{stderr}");
    let component = build_dir.join("wasm32-wasip2/release/my_filter.wasm").display().to_string();
    let mail = write(
        tmp.path(),
        "urgent.eml",
        "From: a@example.com\r\nTo: s@example.com\r\nSubject: URGENT: printer\r\nMessage-ID: <u1@example.com>\r\n\r\nhelp\r\n",
    );
    let manifest = root.join("plugin.toml").display().to_string();
    let out = local_ok(&["plugin", "run", &component, "--manifest", &manifest, "--mail", &mail]);
    assert_eq!(run_result(&out)["priority"], 4, "{out}");
    assert!(out.contains("filtered 'URGENT: printer'"), "{out}");

    // A name the manifest would refuse is refused up front.
    let bad = local(&["plugin", "new", "--world", "script-task", "Bad Name", "--dir", &dir], None);
    assert!(!bad.status.success(), "`plugin new \"Bad Name\"` must refuse a name plugin.toml cannot hold:\n{:?}", texts(&bad));
}
