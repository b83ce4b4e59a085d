//! Helpers of the plugin end-to-end tests: where the built components and
//! manifests are, manifest editing, multipart installs, CLI runs and metrics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use switchboard_e2e::reqwest::multipart::{Form, Part};
use switchboard_e2e::{binary_path, json, Resp, Server, Value};

/// The workspace root (`tests/..`).
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace target directory (honouring `CARGO_TARGET_DIR` like the host's build script).
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(t) if t.is_absolute() => t,
        Some(t) => workspace().join(t),
        None => workspace().join("target"),
    }
}

/// A component built by the host's build script, e.g. `spam_filter`.
pub(crate) fn wasm(crate_name: &str) -> PathBuf {
    let path = target_dir().join("wasm-plugins/wasm32-wasip2/release").join(format!("{crate_name}.wasm"));
    assert!(path.exists(), "{} is missing; `cargo build --workspace --bins` builds the plugins", path.display());
    path
}

/// The bytes of a built component.
pub(crate) fn wasm_bytes(crate_name: &str) -> Vec<u8> {
    std::fs::read(wasm(crate_name)).expect("read component")
}

/// `plugins/<dir>/plugin.toml`.
pub(crate) fn manifest_path(dir: &str) -> PathBuf {
    workspace().join("plugins").join(dir).join("plugin.toml")
}

/// The text of `plugins/<dir>/plugin.toml`.
pub(crate) fn manifest(dir: &str) -> String {
    std::fs::read_to_string(manifest_path(dir)).expect("read manifest")
}

/// `text` with its top-level `version = …` line replaced by `version`.
pub(crate) fn with_version(text: &str, version: &str) -> String {
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.trim_start().starts_with("version") && l.contains('=') {
                done = true;
                format!("version = \"{version}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "manifest without a version line:\n{text}");
    lines.join("\n") + "\n"
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub(crate) fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path.display().to_string()
}

/// `POST /api/v1/plugins` as multipart (`component`, `manifest`, optional `signature`).
pub(crate) async fn install_api(server: &Server, token: Option<&str>, component: &[u8], manifest: &str, signature: Option<&str>) -> Resp {
    let part = Part::bytes(component.to_vec()).file_name("plugin.wasm").mime_str("application/wasm").expect("mime");
    let mut form = Form::new().part("component", part).text("manifest", manifest.to_string());
    if let Some(sig) = signature {
        form = form.text("signature", sig.to_string());
    }
    // A fresh client per upload: see `refused_upload_then_reuse` for why pooled connections are not reused here.
    let client = switchboard_e2e::reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().expect("client");
    let mut req = client.post(server.url("/api/v1/plugins")).multipart(form);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    server.send(req, "POST /api/v1/plugins (multipart)").await
}

/// Sends an unauthenticated multipart upload of `component` on one raw
/// connection, then `GET /healthz` on the same connection unless the first
/// answer said `Connection: close`. Returns the first answer and the second
/// (`None` when the first closed the connection properly).
pub(crate) fn refused_upload_then_reuse(port: u16, component: &[u8]) -> (String, Option<String>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
    let b = "sbE2eBoundary";
    let mut body = format!("--{b}\r\nContent-Disposition: form-data; name=\"component\"; filename=\"p.wasm\"\r\n\r\n").into_bytes();
    body.extend_from_slice(component);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let head = format!(
        "POST /api/v1/plugins HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let sent = s.write_all(head.as_bytes()).and_then(|()| s.write_all(&body));
    let read_answer = |s: &mut std::net::TcpStream| {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)));
                if rest.len() >= len.unwrap_or(0) {
                    return text;
                }
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return text,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let first = read_answer(&mut s);
    assert!(sent.is_ok() || !first.is_empty(), "the server reset the upload without answering: {sent:?}");
    if first.to_ascii_lowercase().contains("\r\nconnection: close") {
        return (first, None);
    }
    let second = s
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .map(|()| read_answer(&mut s))
        .unwrap_or_else(|e| format!("write failed: {e}"));
    (first, Some(second))
}

/// Creates an agent (rw on Raw) and returns a token acting as it.
pub(crate) async fn agent_token(server: &Server) -> String {
    server
        .admin_post(
            "/api/v1/agents",
            &json!({"login": "plugin_agent", "first_name": "Plug", "last_name": "In", "email": "plugin_agent@example.com",
                    "role": "agent", "permissions": [{"queue": "Raw", "permission": "rw"}]}),
        )
        .await
        .expect(201);
    server.create_token("t_plugin_agent", "agent", Some("plugin_agent"))
}

/// stdout and stderr of a finished command.
pub(crate) fn texts(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs a CLI command against `server`'s storage that must fail; returns
/// stdout + stderr for message checks.
#[track_caller]
pub(crate) fn cli_fails(server: &Server, args: &[&str]) -> String {
    let out = server.run_cli(args);
    let (stdout, stderr) = texts(&out);
    assert!(!out.status.success(), "switchboard {args:?} must fail\nstdout:\n{stdout}\nstderr:\n{stderr}");
    format!("{stdout}\n{stderr}")
}

/// Runs the binary without storage flags (author tools); returns the output.
pub(crate) fn local(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(binary_path());
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHBOARD_") && key != "SWITCHBOARD_LOG" {
            cmd.env_remove(key);
        }
    }
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd.args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run switchboard {args:?}: {e}"))
}

/// Like [`local`] but requires success; returns stdout.
#[track_caller]
pub(crate) fn local_ok(args: &[&str]) -> String {
    let out = local(args, None);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "switchboard {args:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout
}

/// The value of a Prometheus sample `name{…}` whose labels include every `labels` pair.
pub(crate) fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let rest = line.strip_prefix(name)?;
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            return None;
        }
        let (label_part, value) = rest.rsplit_once(' ')?;
        labels.iter().all(|(k, v)| label_part.contains(&format!("{k}=\"{v}\""))).then(|| value.trim().parse().ok())?
    })
}

/// `PUT /api/v1/plugins/{name}/config` with `token`.
pub(crate) async fn put_config(server: &Server, name: &str, token: &str, body: Value) -> Resp {
    let path = format!("/api/v1/plugins/{name}/config");
    server.request(switchboard_e2e::reqwest::Method::PUT, &path, Some(token), Some(&body)).await
}
