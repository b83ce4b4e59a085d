//! Harness for end-to-end tests: starts the real `switchboard` binary against a
//! throw-away data directory (SQLite) or a throw-away PostgreSQL database and
//! talks to it over HTTP.
//!
//! Every test runs once per backend; use [`backend_tests!`] to generate one
//! `#[tokio::test]` per backend so a failing test name says which backend broke
//! (`tickets::readme_flow::postgres`).

use std::fmt;
use std::fs;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use reqwest;
pub use serde_json;
pub use serde_json::{json, Value};

/// Environment variable naming a PostgreSQL URL; when set, every test also runs
/// against PostgreSQL (each server gets its own freshly created database).
pub const POSTGRES_URL_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

/// How long to wait for `/healthz` after spawning the server.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a graceful stop (SIGTERM) may take before the test fails.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the server stores its data.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite inside the data directory (no `--database-url`).
    Sqlite,
    /// PostgreSQL; the URL points at a server where the harness may create
    /// databases (each [`Server`] gets its own database).
    Postgres(String),
}

impl Backend {
    /// Short name used in messages: `sqlite` or `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The PostgreSQL backend if [`POSTGRES_URL_ENV`] is set and non-empty.
    pub fn postgres_from_env() -> Option<Backend> {
        match std::env::var(POSTGRES_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Some(Backend::Postgres(url.trim().to_string())),
            _ => None,
        }
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print credentials that might be part of the URL.
        f.write_str(self.name())
    }
}

/// All backends to test: SQLite always, PostgreSQL when [`POSTGRES_URL_ENV`] is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    v.extend(Backend::postgres_from_env());
    v
}

/// Runs `f` once for every backend from [`backends()`], in sequence, printing
/// which backend is being exercised (the panic message of a failure is preceded
/// by that line in the captured output).
pub async fn for_each_backend<F, Fut>(mut f: F)
where
    F: FnMut(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("=== backend: {}", backend.name());
        f(backend).await;
    }
}

/// Generates, for each listed `async fn name(backend: Backend)`, a module
/// `name` with one test per backend: `name::sqlite` and `name::postgres`.
/// The PostgreSQL variant passes trivially (with a note on stderr) when
/// [`POSTGRES_URL_ENV`] is not set.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await;
                }

                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::Backend::postgres_from_env() {
                        Some(backend) => super::$name(backend).await,
                        None => eprintln!(
                            "skipped: set {} to run this test against PostgreSQL",
                            $crate::POSTGRES_URL_ENV
                        ),
                    }
                }
            }
        )+
    };
}

/// Path of the `switchboard` binary: `$SWITCHBOARD_BIN`, else
/// `<workspace>/target/debug/switchboard` (honouring `CARGO_TARGET_DIR`).
pub fn binary_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SWITCHBOARD_BIN") {
        return PathBuf::from(p);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => {
            let t = PathBuf::from(t);
            if t.is_absolute() {
                t
            } else {
                workspace.join(t)
            }
        }
        None => workspace.join("target"),
    };
    let bin = target.join("debug").join("switchboard");
    assert!(
        bin.exists(),
        "switchboard binary not found at {}; run `cargo build --workspace --bins` first \
         (or set SWITCHBOARD_BIN)",
        bin.display()
    );
    bin
}

/// A unique-enough suffix for names: time, process id and a counter.
pub fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{}", nanos % 0xffff_ffff_ffff, std::process::id(), n)
}

/// Picks a free TCP port on 127.0.0.1 (bind to port 0, read it, release it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Extracts the admin token from server stdout (`ADMIN TOKEN (shown once): sb_...`).
pub fn parse_admin_token(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let rest = line.split("ADMIN TOKEN (shown once):").nth(1)?;
        let token = rest.trim();
        let valid = token.len() >= 43 && token.starts_with("sb_") && token[3..].chars().all(|c| c.is_ascii_alphanumeric());
        valid.then(|| token.to_string())
    })
}

/// A PostgreSQL database created for one server and dropped afterwards.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// Replaces the database name in a `postgres://` URL.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// Runs one SQL statement on `url` on a dedicated thread with its own runtime
/// (usable from `Drop` and from inside any async context).
fn run_pg_statement(url: &str, sql: &str) -> Result<(), String> {
    let url = url.to_string();
    let sql = sql.to_string();
    std::thread::spawn(move || -> Result<(), String> {
        use sqlx::{Connection, Executor};
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.map_err(|e| format!("connect to PostgreSQL: {e}"))?;
            conn.execute(sql.as_str()).await.map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())?;
            Ok(())
        })
    })
    .join()
    .map_err(|_| "PostgreSQL helper thread panicked".to_string())?
}

impl PgDatabase {
    fn create(admin_url: &str) -> PgDatabase {
        let name = format!("sb_e2e_{}", unique_suffix());
        run_pg_statement(admin_url, &format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("could not create test database {name}: {e}"));
        PgDatabase { admin_url: admin_url.to_string(), url: with_database(admin_url, &name), name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = run_pg_statement(&self.admin_url, &sql) {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// Extra settings for [`Server::start_with`].
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Extra environment variables for the server process (e.g.
    /// `SWITCHBOARD_MAX_REQUEST_BYTES`).
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments appended to `switchboard serve ...`.
    pub args: Vec<String>,
}

impl ServerOptions {
    /// Adds an environment variable for the server process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// A parsed HTTP response (body fully read).
#[derive(Clone, Debug)]
pub struct Resp {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header (empty when missing).
    pub content_type: String,
    /// All response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Raw body bytes.
    pub bytes: Vec<u8>,
}

impl Resp {
    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The body parsed as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("response (status {}) is not JSON: {e}\nbody: {}", self.status, self.text()))
    }

    /// Asserts the status code and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "expected HTTP {status}, got {}; body: {}", self.status, self.text());
        if self.bytes.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts the status code is one of `codes` and returns the JSON body (or
    /// `Null` for an empty body).
    #[track_caller]
    pub fn expect_one_of(&self, codes: &[u16]) -> Value {
        assert!(codes.contains(&self.status), "expected HTTP one of {codes:?}, got {}; body: {}", self.status, self.text());
        if self.bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
        }
    }

    /// `items` of a list response.
    #[track_caller]
    pub fn items(&self) -> Vec<Value> {
        let v = self.expect(200);
        v["items"].as_array().unwrap_or_else(|| panic!("list response without items array: {v}")).clone()
    }

    /// Checks that this is an RFC 7807 problem response with one of `codes`,
    /// served as `application/problem+json` with a matching `status` member
    /// and a `title`; with `field`, additionally requires an entry in
    /// `errors[]` whose `field` mentions it (exact match, or a path such as
    /// `article.body` / `dynamic_fields.Region` containing it). Returns the
    /// problem body, or a description of what is wrong (including the body).
    pub fn check_problem(&self, codes: &[u16], field: Option<&str>) -> Result<Value, String> {
        let body: String = self.text().chars().take(300).collect();
        if !codes.contains(&self.status) {
            return Err(format!("expected HTTP {codes:?}, got {}; body: {body}", self.status));
        }
        if !self.content_type.starts_with("application/problem+json") {
            return Err(format!(
                "HTTP {} error must have Content-Type application/problem+json, got {:?}; body: {body}",
                self.status, self.content_type
            ));
        }
        let v: Value = serde_json::from_slice(&self.bytes).map_err(|e| format!("problem body is not JSON ({e}): {body}"))?;
        if v["status"].as_u64() != Some(u64::from(self.status)) {
            return Err(format!("problem body `status` must equal the HTTP status: {v}"));
        }
        if !v["title"].is_string() {
            return Err(format!("problem body needs a `title`: {v}"));
        }
        if let Some(field) = field {
            let fields: Vec<String> = v["errors"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            if !fields.iter().any(|f| f == field || f.contains(field)) {
                return Err(format!("HTTP {}: expected errors[].field naming {field:?}, got fields {fields:?}; body: {v}", self.status));
            }
        }
        Ok(v)
    }

    /// Panicking form of [`Resp::check_problem`] without a field.
    #[track_caller]
    pub fn expect_problem(&self, codes: &[u16]) -> Value {
        self.check_problem(codes, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Panicking form of [`Resp::check_problem`] with a field.
    #[track_caller]
    pub fn expect_field_error(&self, codes: &[u16], field: &str) -> Value {
        self.check_problem(codes, Some(field)).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A running (or stopped) `switchboard serve` process with its own data
/// directory and, for PostgreSQL, its own database.
pub struct Server {
    backend: Backend,
    tmp: tempfile::TempDir,
    pg: Option<PgDatabase>,
    options: ServerOptions,
    port: u16,
    child: Option<Child>,
    starts: u32,
    admin_token: Option<String>,
    client: reqwest::Client,
}

impl Server {
    /// Starts a server on a fresh data directory / database and waits until it
    /// is healthy.
    pub async fn start(backend: Backend) -> Server {
        Server::start_with(backend, ServerOptions::default()).await
    }

    /// Like [`Server::start`] with extra environment / arguments.
    pub async fn start_with(backend: Backend, options: ServerOptions) -> Server {
        let tmp = tempfile::Builder::new().prefix("switchboard-e2e-").tempdir().expect("create temp dir");
        fs::create_dir_all(tmp.path().join("data")).expect("create data dir");
        fs::create_dir_all(tmp.path().join("logs")).expect("create log dir");
        let pg = match &backend {
            Backend::Sqlite => None,
            Backend::Postgres(url) => Some(PgDatabase::create(url)),
        };
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(8).build().expect("build HTTP client");
        let mut server = Server { backend, tmp, pg, options, port: 0, child: None, starts: 0, admin_token: None, client };
        server.spawn_and_wait().await;
        server
    }

    /// The backend this server runs on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The data directory passed as `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// The `--database-url` passed to the server (PostgreSQL only).
    pub fn database_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.url.as_str())
    }

    /// The port of the current (or last) server process.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many times the server process has been started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    fn log_path(&self, stream: &str, start: u32) -> PathBuf {
        self.tmp.path().join("logs").join(format!("{stream}.{start}.log"))
    }

    /// Stdout of the current (most recent) server process.
    pub fn stdout(&self) -> String {
        fs::read_to_string(self.log_path("stdout", self.starts)).unwrap_or_default()
    }

    /// Stderr of the current (most recent) server process.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.log_path("stderr", self.starts)).unwrap_or_default()
    }

    /// Stdout and stderr of every start so far, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.starts {
            for stream in ["stdout", "stderr"] {
                let text = fs::read_to_string(self.log_path(stream, n)).unwrap_or_default();
                let tail: String = {
                    let lines: Vec<&str> = text.lines().collect();
                    let from = lines.len().saturating_sub(80);
                    lines[from..].join("\n")
                };
                out.push_str(&format!("----- start #{n} {stream} (last 80 lines) -----\n{tail}\n"));
            }
        }
        out
    }

    /// Base command for the binary with the backend selected (data dir and
    /// database URL via environment; flags are appended by callers).
    fn base_command(&self) -> Command {
        let mut cmd = Command::new(binary_path());
        for (key, _) in std::env::vars_os()
            .filter_map(|(k, v)| k.into_string().ok().map(|k| (k, v)))
            .filter(|(k, _)| k.starts_with("SWITCHBOARD_") && k != "SWITCHBOARD_BIN" && k != "SWITCHBOARD_LOG")
        {
            cmd.env_remove(key);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `--data-dir ... [--database-url ...]` flags for this server.
    fn storage_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_string(), self.data_dir().display().to_string()];
        if let Some(url) = self.database_url() {
            args.push("--database-url".to_string());
            args.push(url.to_string());
        }
        args
    }

    async fn spawn_and_wait(&mut self) {
        assert!(self.child.is_none(), "server already running");
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.starts += 1;
            self.port = free_port();
            let stdout = fs::File::create(self.log_path("stdout", self.starts)).expect("stdout log");
            let stderr = fs::File::create(self.log_path("stderr", self.starts)).expect("stderr log");
            let mut cmd = self.base_command();
            cmd.arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{}", self.port))
                .args(self.storage_args())
                .arg("--job-poll-interval-ms")
                .arg("200")
                .args(&self.options.args)
                .stdout(Stdio::from(stdout))
                .stderr(Stdio::from(stderr));
            if std::env::var_os("RUST_LOG").is_none() {
                cmd.env("RUST_LOG", "info");
            }
            for (k, v) in &self.options.env {
                cmd.env(k, v);
            }
            let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", binary_path().display()));
            self.child = Some(child);
            match self.wait_healthy().await {
                Ok(()) => break,
                Err(msg) => {
                    let log = self.stderr();
                    let port_taken = log.contains("in use") || log.contains("AddrInUse");
                    if port_taken && attempt < 3 {
                        self.child = None;
                        continue;
                    }
                    if let Some(mut c) = self.child.take() {
                        let _ = c.kill();
                        let _ = c.wait();
                    }
                    panic!("switchboard ({} backend) did not become healthy: {msg}\n{}", self.backend.name(), self.logs());
                }
            }
        }
        // The token line is printed before the server listens; pick it up from
        // this start (first start only) and remember it across restarts.
        if self.admin_token.is_none() {
            self.admin_token = parse_admin_token(&self.stdout());
        }
    }

    async fn wait_healthy(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = self.url("/healthz");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("process exited early with {status}"));
                }
            }
            if let Ok(resp) = self.client.get(&url).timeout(Duration::from_secs(2)).send().await {
                if resp.status().as_u16() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("GET /healthz did not return 200 within {}s", STARTUP_TIMEOUT.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The admin token printed on the first start; panics (with the server
    /// log) when none was printed.
    pub fn admin_token(&self) -> String {
        self.admin_token
            .clone()
            .unwrap_or_else(|| panic!("no `ADMIN TOKEN (shown once): sb_...` line found in server stdout\n{}", self.logs()))
    }

    /// The shared HTTP client.
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Absolute URL for `path` (e.g. `/api/v1/tickets`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Sends a request with optional bearer token and optional JSON body.
    pub async fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req, &format!("{method} {path}")).await
    }

    /// Sends a prepared request builder and reads the whole response.
    pub async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Resp {
        let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: request failed: {e}\n{}", self.logs()));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("{what}: reading body failed: {e}")).to_vec();
        if status >= 500 {
            eprintln!("note: {what} returned HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Resp { status, content_type, headers, bytes }
    }

    /// Sends a raw body with the given content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let mut req = self.client.request(method.clone(), self.url(path)).header(reqwest::header::CONTENT_TYPE, content_type).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req, &format!("{method} {path}")).await
    }

    /// `GET path` with `token`.
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(reqwest::Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request(reqwest::Method::POST, path, Some(token), Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.request(reqwest::Method::PATCH, path, Some(token), Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.request(reqwest::Method::DELETE, path, Some(token), None).await
    }

    /// Admin `GET`.
    pub async fn admin_get(&self, path: &str) -> Resp {
        self.get(path, &self.admin_token()).await
    }

    /// Admin `POST` with a JSON body.
    pub async fn admin_post(&self, path: &str, body: &Value) -> Resp {
        self.post(path, &self.admin_token(), body).await
    }

    /// Admin `PATCH` with a JSON body.
    pub async fn admin_patch(&self, path: &str, body: &Value) -> Resp {
        self.patch(path, &self.admin_token(), body).await
    }

    /// Admin `DELETE`.
    pub async fn admin_delete(&self, path: &str) -> Resp {
        self.delete(path, &self.admin_token()).await
    }

    /// Creates a ticket as admin (minimal body plus `extra` merged in) and
    /// returns its JSON; panics unless the server answers 201.
    pub async fn create_ticket(&self, title: &str, extra: Value) -> Value {
        let mut body = json!({
            "title": title,
            "queue": "Raw",
            "article": {"subject": title, "body": format!("Body of {title}")}
        });
        merge_json(&mut body, extra);
        self.admin_post("/api/v1/tickets", &body).await.expect(201)
    }

    /// Number of tickets visible to the admin (walks all pages).
    pub async fn ticket_count(&self) -> usize {
        self.list_all_tickets("").await.len()
    }

    /// All tickets matching `query` (e.g. `queue=Raw&sort=id`) as admin,
    /// following `next_cursor` until exhausted.
    pub async fn list_all_tickets(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut path = String::from("/api/v1/tickets?limit=500");
            if !query.is_empty() {
                path.push('&');
                path.push_str(query);
            }
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.push_str(&encode_query(c));
            }
            let page = self.admin_get(&path).await.expect(200);
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return out,
            }
        }
        panic!("ticket pagination never ended for query {query:?}");
    }

    /// Sends SIGTERM and waits (up to 30 s) for the process to exit; returns
    /// its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.stop_with("TERM")
    }

    /// Sends `kill -<signal>` (e.g. `"INT"`) and waits (up to 30 s) for the
    /// process to exit; returns its exit status.
    pub fn stop_with(&mut self, signal: &str) -> ExitStatus {
        self.signal(signal);
        let mut child = self.child.take().expect("server is not running");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("switchboard did not exit within {}s after SIG{signal}\n{}", STOP_TIMEOUT.as_secs(), self.logs());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Sends `kill -<signal>` to the running server without waiting.
    pub fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("server is not running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("run kill -{signal}: {e}"));
        assert!(status.success(), "kill -{signal} failed: {status}");
    }

    /// Waits asynchronously (up to 30 s) for the server process to exit after
    /// a [`Server::signal`]; returns its exit status.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is not running");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("switchboard did not exit within {}s\n{}", STOP_TIMEOUT.as_secs(), self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the process with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("server is not running");
        child.kill().expect("SIGKILL server");
        let _ = child.wait();
    }

    /// Whether the server process is running (started and not yet exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts the server again on the same data directory / database (stopping
    /// it gracefully first if it is still running). The port may change.
    pub async fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.stop();
            assert!(status.success(), "graceful stop exited with {status}\n{}", self.logs());
        }
        self.spawn_and_wait().await;
    }

    /// Runs `switchboard <args> --data-dir ... [--database-url ...]` to
    /// completion against this server's storage and returns its output.
    pub fn run_cli(&self, args: &[&str]) -> Output {
        let mut cmd = self.base_command();
        cmd.args(args).args(self.storage_args());
        cmd.output().unwrap_or_else(|e| panic!("run switchboard {args:?}: {e}"))
    }

    /// Like [`Server::run_cli`], but panics (with stdout/stderr) unless the
    /// command succeeds; returns stdout.
    pub fn run_cli_ok(&self, args: &[&str]) -> String {
        let out = self.run_cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "switchboard {args:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// `switchboard token create --name NAME --role ROLE [--user LOGIN]`;
    /// returns the token (last non-empty stdout line).
    pub fn create_token(&self, name: &str, role: &str, user: Option<&str>) -> String {
        let mut args = vec!["token", "create", "--name", name, "--role", role];
        if let Some(u) = user {
            args.push("--user");
            args.push(u);
        }
        let stdout = self.run_cli_ok(&args);
        let token = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default().to_string();
        assert!(
            token.starts_with("sb_") && token.len() >= 43,
            "token create must print the token alone on the last stdout line, got: {stdout:?}"
        );
        token
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "switchboard server logs ({} backend, temp dir {}):\n{}",
                self.backend.name(),
                self.tmp.path().display(),
                self.logs()
            );
        }
        // `pg` (database) and `tmp` (directory) are dropped after this.
    }
}

/// Recursively merges `extra` into `base` (objects merge key-wise, anything
/// else replaces).
pub fn merge_json(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// Percent-encodes a query-string value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Polls `check` every `interval` until it returns `Some`, or panics with
/// `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, interval: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {}s waiting for {what}", timeout.as_secs_f32());
        }
        tokio::time::sleep(interval).await;
    }
}

/// RFC 3339 UTC timestamp `secs` seconds from now (may be negative).
pub fn rfc3339_from_now(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Standard base64 of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Tokens and users for every role, created on a running server: agents with
/// rw / ro / no permission on `Raw`, a customer user and an integration token.
#[derive(Clone, Debug)]
pub struct Actors {
    /// Admin token printed at first start.
    pub admin: String,
    /// Agent `agent_rw` with rw on Raw.
    pub agent_rw: String,
    /// Agent `agent_ro` with ro on Raw.
    pub agent_ro: String,
    /// Agent `agent_none` without any queue permission.
    pub agent_none: String,
    /// Customer user (login [`Actors::CUSTOMER_LOGIN`]).
    pub customer: String,
    /// Integration token.
    pub integration: String,
}

impl Actors {
    /// Login of the customer user the customer token belongs to.
    pub const CUSTOMER_LOGIN: &'static str = "cust1@example.com";
    /// Login of a second customer user (no token) owning other tickets.
    pub const OTHER_CUSTOMER_LOGIN: &'static str = "cust2@example.com";

    /// Creates the users over the API (as admin) and their tokens via the CLI.
    pub async fn create(server: &Server) -> Actors {
        for (login, perms) in [
            ("agent_rw", json!([{"queue": "Raw", "permission": "rw"}])),
            ("agent_ro", json!([{"queue": "Raw", "permission": "ro"}])),
            ("agent_none", json!([])),
        ] {
            server
                .admin_post(
                    "/api/v1/agents",
                    &json!({"login": login, "first_name": login, "last_name": "Test",
                            "email": format!("{login}@example.com"), "role": "agent",
                            "permissions": perms}),
                )
                .await
                .expect(201);
        }
        for login in [Actors::CUSTOMER_LOGIN, Actors::OTHER_CUSTOMER_LOGIN] {
            server
                .admin_post("/api/v1/customer-users", &json!({"login": login, "email": login, "first_name": "Cust", "last_name": "Omer"}))
                .await
                .expect(201);
        }
        Actors {
            admin: server.admin_token(),
            agent_rw: server.create_token("t_agent_rw", "agent", Some("agent_rw")),
            agent_ro: server.create_token("t_agent_ro", "agent", Some("agent_ro")),
            agent_none: server.create_token("t_agent_none", "agent", Some("agent_none")),
            customer: server.create_token("t_customer", "customer", Some(Actors::CUSTOMER_LOGIN)),
            integration: server.create_token("t_integration", "integration", None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_admin_token() {
        let tok = format!("sb_{}", "a1".repeat(20));
        let out = format!("starting\nADMIN TOKEN (shown once): {tok}\nswitchboard listening on http://x\n");
        assert_eq!(parse_admin_token(&out), Some(tok));
        assert_eq!(parse_admin_token("ADMIN TOKEN (shown once): sb_short"), None);
        assert_eq!(parse_admin_token("nothing"), None);
    }

    #[test]
    fn replaces_database_in_url() {
        assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/x", "y"), "postgres://postgres@127.0.0.1:5432/y");
        assert_eq!(with_database("postgres://u:p@h/x?sslmode=disable", "y"), "postgres://u:p@h/y?sslmode=disable");
        assert_eq!(with_database("postgres://h:1", "y"), "postgres://h:1/y");
    }

    #[test]
    fn merges_json() {
        let mut a = json!({"a": 1, "o": {"x": 1, "y": 2}});
        merge_json(&mut a, json!({"b": 2, "o": {"y": 3}}));
        assert_eq!(a, json!({"a": 1, "b": 2, "o": {"x": 1, "y": 3}}));
    }
}
