//! Signed installs (one signature over the component and its manifest, keys
//! and signatures made with `plugin keygen` / `plugin sign`) and what an
//! install grants: every limit asked for and granted under the server's
//! `[plugin_ceilings]`, memory beyond the pool and directory grants of the data
//! directory refused, and the y/N question of an install on a terminal.

use std::process::{Command, Stdio};

use crate::support::*;
use crate::versions_of;
use switchboard_e2e::{backend_tests, binary_path, json, Backend, Server, ServerOptions, Value};

backend_tests!(signed_installs);

async fn signed_installs(backend: Backend) {
    let server = Server::start(backend).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    // An author's key and signatures, made with the CLI (no server needed).
    let key_file = tmp.path().join("release.key");
    let key_path = key_file.display().to_string();
    let made = local_ok(&["plugin", "keygen", "--out", &key_path]);
    let public = made.lines().find_map(|l| l.strip_prefix("public key: ")).unwrap_or_else(|| panic!("no public key:\n{made}")).to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).expect("key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is readable by its owner only");
    }
    let again = local(&["plugin", "keygen", "--out", &key_path], None);
    assert!(!again.status.success(), "keygen never overwrites a key");
    let bytes = wasm_bytes("spam_filter");
    let spam = wasm("spam_filter").display().to_string();
    let m = |v: &str| write(tmp.path(), &format!("spam-{v}.toml"), with_version(&manifest("spam-filter"), v));
    let sign = |manifest: &str, out: &str| {
        let sig = tmp.path().join(out).display().to_string();
        local_ok(&["plugin", "sign", "--key", &key_path, &spam, "--manifest", manifest, "--out", &sig]);
        sig
    };
    let good = sign(&m("0.2.0"), "good.sig");
    let signature_of = |path: &str| std::fs::read_to_string(path).expect("signature").trim().to_string();
    let printed = local_ok(&["plugin", "sign", "--key", &key_path, &spam, "--manifest", &m("0.2.0")]);
    assert_eq!(printed.trim(), signature_of(&good), "without --out the signature goes to stdout");
    let bad = write(tmp.path(), "bad.sig", signature_of(&sign(&m("0.9.0"), "other.sig")));
    let garbage = write(tmp.path(), "garbage.sig", "not a signature");

    let err = cli_fails(&server, &["plugin", "install", &spam, "--manifest", &m("0.2.0"), "--signature", &good]);
    assert!(err.contains("signature"), "a signature from an untrusted key must be refused:\n{err}");
    let err = cli_fails(&server, &["plugin", "trust-key", "release", "abc123"]);
    assert!(err.contains("64 hex digits"), "{err}");
    assert!(server.run_cli_ok(&["plugin", "trust-key", "release", &public]).contains("trusting key 'release'"));

    let out = server.run_cli_ok(&["plugin", "install", &spam, "--manifest", &m("0.2.0"), "--signature", &good]);
    assert!(out.contains("installed spam-filter 0.2.0"), "{out}");
    let versions = server.run_cli_ok(&["plugin", "versions", "spam-filter"]);
    assert!(versions.lines().any(|l| l.contains("0.2.0") && l.contains("signed by release")), "{versions}");
    assert!(versions.lines().any(|l| l.contains("0.1.0") && !l.contains("signed by")), "{versions}");
    for sig in [&bad, &garbage] {
        let err = cli_fails(&server, &["plugin", "install", &spam, "--manifest", &m("0.3.0"), "--signature", sig]);
        assert!(err.contains("signature"), "a wrong signature must be refused with a message about it:\n{err}");
    }

    // Over the API: the `signature` part.
    let admin = server.admin_token();
    let m3 = with_version(&manifest("spam-filter"), "0.3.0");
    let m3_sig = signature_of(&sign(&m("0.3.0"), "m3.sig"));
    install_api(&server, Some(&admin), &bytes, &m3, Some(&signature_of(&bad))).await.expect_field_error(&[422], "signature");
    let done = install_api(&server, Some(&admin), &bytes, &m3, Some(&m3_sig)).await.expect(201);
    assert_eq!(done["plugin"]["version"], "0.3.0");
    let items = server.admin_get("/api/v1/plugins/spam-filter/versions").await.items();
    assert_eq!(versions_of(&items), ["0.3.0", "0.2.0", "0.1.0"]);
    let signers: Vec<&Value> = items.iter().map(|v| &v["signed_by"]).collect();
    assert_eq!(signers, [&json!("release"), &json!("release"), &Value::Null], "{items:?}");

    // With --require-signed-plugins an unsigned install is refused, a signed one accepted.
    let out = server.run_cli(&["plugin", "install", "--require-signed-plugins", &spam, "--manifest", &m("0.4.0")]);
    let (stdout, stderr) = texts(&out);
    assert!(!out.status.success() && stderr.contains("signature"), "unsigned install under --require-signed-plugins:\n{stdout}\n{stderr}");
    let m4_sig = sign(&m("0.4.0"), "m4.sig");
    let out =
        server.run_cli_ok(&["plugin", "install", "--require-signed-plugins", &spam, "--manifest", &m("0.4.0"), "--signature", &m4_sig]);
    assert!(out.contains("installed spam-filter 0.4.0"), "{out}");

    // The signature covers the manifest: a signed plugin.toml edited after
    // signing (a raised limit, a new capability) no longer installs as signed.
    let m5 = with_version(&manifest("spam-filter"), "0.5.0");
    let m5_file = write(tmp.path(), "spam-0.5.0.toml", &m5);
    let m5_sig = sign(&m5_file, "m5.sig");
    let edits = [m5.replace("timeout_ms = 500", "timeout_ms = 5000"), m5.replace("[capabilities]", "[capabilities]\nkv = true")];
    for edited in edits {
        assert_ne!(edited, m5, "the edit must change the manifest");
        let file = write(tmp.path(), "edited.toml", &edited);
        let err =
            cli_fails(&server, &["plugin", "install", "--require-signed-plugins", &spam, "--manifest", &file, "--signature", &m5_sig]);
        assert!(err.contains("signature") && err.contains("plugin.toml"), "an edited signed manifest must be refused:\n{err}");
        install_api(&server, Some(&admin), &bytes, &edited, Some(&signature_of(&m5_sig))).await.expect_field_error(&[422], "signature");
    }
    let out = server.run_cli_ok(&["plugin", "install", "--require-signed-plugins", &spam, "--manifest", &m5_file, "--signature", &m5_sig]);
    assert!(out.contains("installed spam-filter 0.5.0"), "the unedited manifest still installs:\n{out}");
}

/// The server's config file: ceilings well below what the test manifests ask.
const CEILINGS: &str = "[plugin_ceilings]\ntimeout_ms = 1000\nbreaker_threshold = 5\n";

/// Runs `switchboard ARGS` on a pseudo-terminal (util-linux `script`), typing `answer`.
fn on_a_terminal(server: &Server, args: &[String], answer: &str) -> (bool, String) {
    let mut line = vec![binary_path().display().to_string()];
    line.extend(args.iter().cloned());
    line.extend(["--data-dir".to_string(), server.data_dir().display().to_string()]);
    if let Some(url) = server.database_url() {
        line.extend(["--database-url".to_string(), url.to_string()]);
    }
    let quoted: Vec<String> = line.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
    let mut child = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().expect("stdin");
        // Give the command time to reach its question before the answer arrives.
        std::thread::sleep(std::time::Duration::from_secs(2));
        stdin.write_all(answer.as_bytes()).expect("type the answer");
    }
    let out = child.wait_with_output().expect("script ran");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_show_what_they_grant_and_ask_on_a_terminal() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = write(tmp.path(), "switchboard.toml", CEILINGS);
    let server = Server::start_with(Backend::Sqlite, ServerOptions::default().args(&["--config", &config])).await;
    let admin = server.admin_token();
    let bytes = wasm_bytes("spam_filter");
    let spam = wasm("spam_filter").display().to_string();
    let greedy = with_version(&manifest("spam-filter"), "0.2.0")
        .replace("timeout_ms = 500", "timeout_ms = 600000")
        .replace("breaker_threshold = 10", "breaker_threshold = 1000000");

    // The API answer: every limit as asked for and granted, and what the upgrade raises.
    let done = install_api(&server, Some(&admin), &bytes, &greedy, None).await.expect(201);
    assert_eq!(done["previous_version"], "0.1.0");
    let limits = done["limits"].as_array().cloned().unwrap_or_default();
    assert_eq!(limits.len(), 13, "{done}");
    let timeout = limits.iter().find(|l| l["key"] == "limits.timeout_ms").expect("timeout");
    assert_eq!(timeout, &json!({"key": "limits.timeout_ms", "requested": 600000, "granted": 1000, "clamped": true}));
    let memory = limits.iter().find(|l| l["key"] == "limits.memory_mib").expect("memory");
    assert_eq!(memory, &json!({"key": "limits.memory_mib", "requested": 16, "granted": 16, "clamped": false}));
    let added: Vec<&str> = done["added_capabilities"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert_eq!(added, ["limits.timeout_ms raised from 500 to 1000"], "the breaker stays at the ceiling: {done}");

    // Memory beyond the pool and a grant of the data directory are refused, naming the key.
    let huge = with_version(&manifest("spam-filter"), "0.3.0").replace("memory_mib = 16", "memory_mib = 4096");
    let err = install_api(&server, Some(&admin), &bytes, &huge, None).await;
    err.expect_field_error(&[422], "manifest.limits.memory_mib");
    let grant = format!("[capabilities]\ndirectories = [{{ host = \"{}\", guest = \"/data\" }}]", server.data_dir().display());
    let nosy = with_version(&manifest("spam-filter"), "0.3.0").replace("[capabilities]", &grant);
    install_api(&server, Some(&admin), &bytes, &nosy, None).await.expect_field_error(&[422], "manifest.capabilities.directories[0]");
    let huge_file = write(tmp.path(), "huge.toml", &huge);
    let err = cli_fails(&server, &["plugin", "install", "--config", &config, &spam, "--manifest", &huge_file]);
    assert!(err.contains("limits.memory_mib") && err.contains("512 MiB"), "{err}");

    // `plugin info` shows the effective limits.
    let info = server.run_cli_ok(&["plugin", "info", "--config", &config, "spam-filter"]);
    assert!(info.contains("limits.timeout_ms = 1000 (asked for 600000; clamped to the host ceiling)"), "{info}");
    assert!(info.contains("policy.breaker_threshold = 5 (asked for 1000000"), "{info}");

    // Without a terminal the CLI installs as before and prints the grants.
    let v3 = write(tmp.path(), "v3.toml", with_version(&manifest("spam-filter"), "0.3.0"));
    let out = server.run_cli_ok(&["plugin", "install", "--config", &config, &spam, "--manifest", &v3]);
    assert!(out.contains("installed spam-filter 0.3.0") && out.contains("limits.timeout_ms = 500"), "{out}");
    assert!(out.contains("nothing new compared with 0.2.0"), "{out}");

    // On a terminal it shows what will be granted and asks; only yes installs.
    let kv = write(
        tmp.path(),
        "v4.toml",
        with_version(&manifest("spam-filter"), "0.4.0").replace("[capabilities]", "[capabilities]\nkv = true"),
    );
    let args: Vec<String> = ["plugin", "install", "--config", &config, &spam, "--manifest", &kv].iter().map(|a| a.to_string()).collect();
    let (ok, screen) = on_a_terminal(&server, &args, "n\n");
    assert!(!ok && screen.contains("will be granted:") && screen.contains("Install it? [y/N]"), "{screen}");
    assert!(screen.contains("NEW compared with 0.3.0: its key-value store") && screen.contains("not installed"), "{screen}");
    assert_eq!(server.admin_get("/api/v1/plugins/spam-filter").await.expect(200)["version"], "0.3.0", "a no installs nothing");
    let (ok, screen) = on_a_terminal(&server, &args, "y\n");
    assert!(ok && screen.contains("installed spam-filter 0.4.0"), "{screen}");
}
