//! Configuration against the real binary: a `--config` file fills what flags
//! and `SWITCHBOARD_*` variables leave open (flag > environment > file),
//! `--system-id` in every ticket number, `--default-queue` for customers'
//! tickets, a bad file or key refused at start, secrets readable after a
//! restart, and nodes sharing a database reading each other's secrets only
//! when they share `SWITCHBOARD_SECRET_KEY`.

use std::path::Path;
use std::process::Command;

use switchboard_e2e::{backend_tests, binary_path, json, Backend, Server, ServerOptions, Value};

backend_tests!(file_environment_and_flags, secrets_survive_a_restart, nodes_share_secrets_with_one_key);

/// Two 64-hex-digit secret keys.
const KEY_A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY_B: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// The system id inside a ticket number (`YYYYMMDD` + two digits + counter).
fn system_id_of(ticket: &Value) -> String {
    let number = ticket["number"].as_str().unwrap_or_else(|| panic!("ticket without a number: {ticket}"));
    assert_eq!(number.len(), 16, "ticket number {number:?} is date, system id and a six-digit counter");
    number[8..10].to_string()
}

/// A customer user and its token (created over the API and the CLI).
async fn customer_token(server: &Server) -> String {
    let login = "config-customer@example.com";
    server
        .admin_post("/api/v1/customer-users", &json!({"login": login, "email": login, "first_name": "Con", "last_name": "Fig"}))
        .await
        .expect(201);
    server.create_token("t_config_customer", "customer", Some(login))
}

/// The queue a ticket created by the customer without naming one lands in.
async fn customer_ticket_queue(server: &Server, token: &str) -> String {
    let body = json!({"title": "No queue named", "article": {"body": "hello"}});
    let t = server.post("/api/v1/tickets", token, &body).await.expect(201);
    t["queue"].as_str().unwrap_or_else(|| panic!("ticket without a queue name: {t}")).to_string()
}

async fn file_environment_and_flags(backend: Backend) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let elsewhere = tmp.path().join("data-from-the-file");
    let file = tmp.path().join("switchboard.toml");
    // The harness passes --listen and --data-dir: the file's values must lose to them.
    std::fs::write(
        &file,
        format!("system_id = 42\ndefault_queue = \"FromFile\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"{}\"\n", elsewhere.display()),
    )
    .expect("write the config file");
    let config = file.display().to_string();
    let mut server = Server::start_with(backend, ServerOptions::default().args(&["--config", &config])).await;
    assert!(!elsewhere.exists(), "--data-dir must beat the file's data_dir, yet {} was created", elsewhere.display());
    for q in ["FromFile", "FromEnv", "FromFlag"] {
        server.admin_post("/api/v1/queues", &json!({"name": q})).await.expect(201);
    }
    let customer = customer_token(&server).await;

    let mut seen = Vec::new();
    for (env, args, want) in [
        (vec![], vec![], ("42", "FromFile")),
        (vec![("SWITCHBOARD_SYSTEM_ID", "43"), ("SWITCHBOARD_DEFAULT_QUEUE", "FromEnv")], vec![], ("43", "FromEnv")),
        (
            vec![("SWITCHBOARD_SYSTEM_ID", "43"), ("SWITCHBOARD_DEFAULT_QUEUE", "FromEnv")],
            vec!["--system-id", "44", "--default-queue", "FromFlag"],
            ("44", "FromFlag"),
        ),
        // SWITCHBOARD_CONFIG names the file as well as --config does.
        (vec![("SWITCHBOARD_CONFIG", config.as_str())], vec![], ("42", "FromFile")),
    ] {
        let options = server.options_mut();
        options.env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        options.args = if env.iter().any(|(k, _)| *k == "SWITCHBOARD_CONFIG") { vec![] } else { vec!["--config".into(), config.clone()] };
        options.args.extend(args.iter().map(|a| a.to_string()));
        if !seen.is_empty() {
            server.restart().await;
        }
        let agent_ticket = server.create_ticket("System id", json!({})).await;
        let got = (system_id_of(&agent_ticket), customer_ticket_queue(&server, &customer).await);
        assert_eq!((got.0.as_str(), got.1.as_str()), want, "env {env:?}, flags {args:?}: (system id, default queue)");
        seen.push(agent_ticket["number"].clone());
    }
    // Numbers from different system ids never collide.
    let mut unique = seen.clone();
    unique.sort_by_key(Value::to_string);
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "ticket numbers repeat: {seen:?}");
}

/// Runs `switchboard serve` on `data_dir` with `args` and `env`, expecting it
/// to refuse to start; returns its stderr.
fn serve_fails(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(binary_path());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD_") && k != "SWITCHBOARD_BIN") {
        cmd.env_remove(key);
    }
    cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(data_dir).args(args).envs(env.iter().copied());
    let out = cmd.output().expect("run switchboard serve");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "switchboard serve {args:?} {env:?} must refuse to start; it exited with {}", out.status);
    stderr
}

#[test]
fn bad_configuration_is_refused_at_start() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("switchboard.toml");
    let config = file.display().to_string();
    for (text, names) in [("lisen = \"127.0.0.1:9000\"\n", "lisen"), ("system_id = 100\n", "system_id")] {
        std::fs::write(&file, text).expect("write the config file");
        let stderr = serve_fails(tmp.path(), &["--config", &config], &[]);
        assert!(stderr.contains(names), "a refused {text:?} must name {names}: {stderr}");
    }
    let stderr = serve_fails(tmp.path(), &["--config", &tmp.path().join("missing.toml").display().to_string()], &[]);
    assert!(stderr.contains("missing.toml"), "a missing config file must be named: {stderr}");
    let stderr = serve_fails(tmp.path(), &["--system-id", "123"], &[]);
    assert!(stderr.contains("system_id") || stderr.contains("system-id"), "an out-of-range --system-id must be named: {stderr}");
    let stderr = serve_fails(tmp.path(), &[], &[("SWITCHBOARD_SECRET_KEY", "not-hex")]);
    assert!(stderr.contains("SWITCHBOARD_SECRET_KEY") && stderr.contains("64 hex"), "a bad secret key must be named: {stderr}");
}

/// Sets the webhook-invoker's `url` and secret `token` on `server`.
async fn set_secret(server: &Server, token: &str) {
    let body = json!({"url": "https://hooks.example.com/t", "token": token});
    server
        .send(
            server.client().put(server.url("/api/v1/plugins/webhook-invoker/config")).bearer_auth(server.admin_token()).json(&body),
            "PUT webhook-invoker config",
        )
        .await
        .expect(204);
}

/// `GET` of the webhook-invoker's configuration, which decrypts every stored
/// secret: `Ok` (the secret shown as null) when this server's key opens it,
/// `Err(detail)` for the 409 that says it cannot; anything else fails.
async fn secrets_readable(server: &Server) -> Result<(), String> {
    let r = server.admin_get("/api/v1/plugins/webhook-invoker/config").await;
    if r.status == 200 {
        let config = r.json();
        assert_eq!(config["url"], "https://hooks.example.com/t", "{config}");
        assert!(config.get("token").is_some_and(Value::is_null), "a secret shows as null: {config}");
        return Ok(());
    }
    let problem = r.expect_problem(&[409]);
    let detail = problem["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains("secret key"), "an undecryptable secret says why: {problem}");
    Err(detail)
}

async fn secrets_survive_a_restart(backend: Backend) {
    let mut server = Server::start(backend).await;
    set_secret(&server, "hunter2-restart").await;
    secrets_readable(&server).await.expect("readable before the restart");
    let key_file = server.data_dir().join("secret.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key_file).expect("secret.key in the data dir").permissions());
    assert_eq!(mode & 0o777, 0o600, "secret.key is readable by its owner only");
    let key = std::fs::read(&key_file).expect("read secret.key");

    server.restart().await;
    secrets_readable(&server).await.expect("the same secret.key opens the secret after a restart");
    assert_eq!(std::fs::read(&key_file).expect("read secret.key"), key, "a restart keeps secret.key");

    // Another key cannot: the check above would notice a key made afresh at start.
    server.options_mut().env = vec![("SWITCHBOARD_SECRET_KEY".into(), KEY_B.into())];
    server.restart().await;
    assert!(secrets_readable(&server).await.is_err(), "a different key must not open the secret");
    server.options_mut().env.clear();
    server.restart().await;
    secrets_readable(&server).await.expect("secret.key opens it again");
}

async fn nodes_share_secrets_with_one_key(backend: Backend) {
    let shared = ServerOptions::default().env("SWITCHBOARD_SECRET_KEY", KEY_A);
    let first = Server::start_with(backend, shared.clone()).await;
    set_secret(&first, "hunter2-cluster").await;
    assert!(!first.data_dir().join("secret.key").exists(), "with SWITCHBOARD_SECRET_KEY no secret.key is written");

    let second = first.start_node(shared).await;
    secrets_readable(&second).await.expect("a node with the same SWITCHBOARD_SECRET_KEY reads the first node's secret");
    set_secret(&second, "hunter2-cluster-2").await;
    secrets_readable(&first).await.expect("and the first reads the second's");

    // A node with its own key (secret.key made in its own data dir) cannot.
    let stranger = first.start_node(ServerOptions::default()).await;
    assert!(stranger.data_dir().join("secret.key").exists(), "a node without the variable makes its own secret.key");
    assert!(secrets_readable(&stranger).await.is_err(), "a node with another key must not open the secret");
    drop(stranger);
    drop(second);
}
