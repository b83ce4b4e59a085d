//! End-to-end HTTP API benchmark for Switchboard: starts the real `switchboard` server binary and
//! measures ticket create / get throughput and latency, crash durability (`kill -9` under load) and
//! ticket-search latency on a large data set, for SQLite and (optionally) PostgreSQL.
//!
//! Run (release build of the server and of this bench):
//!
//! ```text
//! cargo bench -p switchboard --bench api                              # defaults
//! cargo bench -p switchboard --bench api -- --duration 3 --tickets 3000 --backend sqlite
//! SWITCHBOARD_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p switchboard --bench api -- --backend all
//! ```
//!
//! Flags (after `--`; each has an environment variable equivalent, the flag wins):
//!
//! | flag                   | env var                              | default | meaning |
//! |------------------------|--------------------------------------|---------|---------|
//! | `--backend B`          | `SWITCHBOARD_BENCH_BACKEND`          | `all`   | `sqlite`, `postgres` or `all` (= SQLite, plus PostgreSQL when a URL is set) |
//! | `--duration SECS`      | `SWITCHBOARD_BENCH_DURATION`         | `10`    | length of the create phase and of the get phase |
//! | `--creates N`          | `SWITCHBOARD_BENCH_CREATES`          | –       | run the create phase for N requests instead of `--duration` |
//! | `--gets N`             | `SWITCHBOARD_BENCH_GETS`             | –       | run the get phase for N requests instead of `--duration` |
//! | `--concurrency N`      | `SWITCHBOARD_BENCH_CONCURRENCY`      | `32`    | parallel clients for create / get / fill / durability |
//! | `--tickets N`          | `SWITCHBOARD_BENCH_TICKETS`          | `100000`| fill the database up to N tickets before the search phase (0 = no fill) |
//! | `--search-requests N`  | `SWITCHBOARD_BENCH_SEARCH_REQUESTS`  | `200`   | requests per search query and concurrency level (1 and `--concurrency`) |
//! | `--kill-after SECS`    | `SWITCHBOARD_BENCH_KILL_AFTER`       | `3`     | durability phase: seconds of create load before `kill -9` |
//! | `--fill-timeout SECS`  | `SWITCHBOARD_BENCH_FILL_TIMEOUT`     | `3600`  | upper bound on the fill phase |
//! | `--postgres-url URL`   | `SWITCHBOARD_BENCH_POSTGRES_URL`, then `SWITCHBOARD_TEST_POSTGRES_URL` | – | PostgreSQL server; a fresh database `sb_bench_<random>` is created on it and dropped at the end |
//! | `--server-bin PATH`    | `SWITCHBOARD_BENCH_SERVER_BIN`       | the `switchboard` binary cargo built for this bench | server executable to benchmark |
//!
//! Per backend it: starts `switchboard serve --listen 127.0.0.1:<free port> --data-dir <tmp>`
//! (plus `--database-url` for PostgreSQL), reads the admin token from the server's stdout, waits for
//! `/healthz`, then runs the scenarios create → get → durability (kill -9, restart, verify every
//! acknowledged ticket) → fill → search, and finally stops the server with SIGTERM. Servers are
//! killed by a drop guard on any error. Server stdout/stderr go to files in the temp directory,
//! which is kept (and printed) when a backend fails.
//!
//! Exit status is non-zero when any request of a measured phase failed, when the durability check
//! finds a missing ticket, or when a backend could not be benchmarked.

use std::collections::BTreeMap;
use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Path of the server binary built by cargo for this bench (release profile under `cargo bench`).
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_switchboard");
/// Prefix of the admin-token line the server prints on its first start.
const TOKEN_PREFIX: &str = "ADMIN TOKEN (shown once): ";
/// The queues the data set is spread over (`Misc` is a default queue, the others are created).
const QUEUES: [&str; 3] = ["Misc", "Sales", "Support"];
/// Queues created through the API at setup.
const EXTRA_QUEUES: [&str; 2] = ["Sales", "Support"];
/// Customer users created through the API at setup and used on tickets.
const CUSTOMERS: [&str; 3] = ["alice@customer.example", "bob@customer.example", "carol@customer.example"];
/// Ticket topics: one per ticket, in the title and a few times in the body.
const TOPICS: [&str; 8] = ["printer", "network", "password", "invoice", "laptop", "mailbox", "backup", "license"];
/// The "common word" full-text query (one topic, so it matches ~1/8 of all tickets).
const COMMON_WORD: &str = "printer";
/// The rare word, in the article body of every 1000th ticket (~0.1%).
const RARE_WORD: &str = "zugzwang";
/// How often the rare word occurs: ticket sequence numbers divisible by this.
const RARE_EVERY: u64 = 1000;
/// Filler vocabulary for titles and bodies.
const FILLER: [&str; 48] = [
    "please",
    "help",
    "urgent",
    "since",
    "yesterday",
    "morning",
    "again",
    "error",
    "message",
    "screen",
    "office",
    "colleague",
    "working",
    "broken",
    "slow",
    "cannot",
    "access",
    "update",
    "after",
    "restart",
    "still",
    "same",
    "problem",
    "customer",
    "order",
    "delivery",
    "account",
    "login",
    "settings",
    "window",
    "report",
    "attached",
    "thanks",
    "regards",
    "team",
    "meeting",
    "monday",
    "friday",
    "week",
    "quick",
    "question",
    "about",
    "status",
    "request",
    "change",
    "floor",
    "building",
    "phone",
];
/// States tickets are created in, with relative weights.
const STATES: [(&str, u32); 4] = [("new", 30), ("open", 40), ("pending reminder", 10), ("closed successful", 20)];

const HELP: &str = "\
Switchboard API benchmark (see the //! header of host/benches/api.rs).

cargo bench -p switchboard --bench api -- [flags]
  --backend sqlite|postgres|all   (SWITCHBOARD_BENCH_BACKEND, default all)
  --duration SECS                 (SWITCHBOARD_BENCH_DURATION, default 10)
  --creates N                     (SWITCHBOARD_BENCH_CREATES, count instead of duration)
  --gets N                        (SWITCHBOARD_BENCH_GETS, count instead of duration)
  --concurrency N                 (SWITCHBOARD_BENCH_CONCURRENCY, default 32)
  --tickets N                     (SWITCHBOARD_BENCH_TICKETS, default 100000)
  --search-requests N             (SWITCHBOARD_BENCH_SEARCH_REQUESTS, default 200)
  --kill-after SECS               (SWITCHBOARD_BENCH_KILL_AFTER, default 3)
  --fill-timeout SECS             (SWITCHBOARD_BENCH_FILL_TIMEOUT, default 3600)
  --postgres-url URL              (SWITCHBOARD_BENCH_POSTGRES_URL / SWITCHBOARD_TEST_POSTGRES_URL)
  --server-bin PATH               (SWITCHBOARD_BENCH_SERVER_BIN, default: the binary cargo built)
";

/// Flags and the environment variables that provide their defaults.
const FLAGS: [(&str, &[&str]); 11] = [
    ("backend", &["SWITCHBOARD_BENCH_BACKEND"]),
    ("duration", &["SWITCHBOARD_BENCH_DURATION"]),
    ("creates", &["SWITCHBOARD_BENCH_CREATES"]),
    ("gets", &["SWITCHBOARD_BENCH_GETS"]),
    ("concurrency", &["SWITCHBOARD_BENCH_CONCURRENCY"]),
    ("tickets", &["SWITCHBOARD_BENCH_TICKETS"]),
    ("search-requests", &["SWITCHBOARD_BENCH_SEARCH_REQUESTS"]),
    ("kill-after", &["SWITCHBOARD_BENCH_KILL_AFTER"]),
    ("fill-timeout", &["SWITCHBOARD_BENCH_FILL_TIMEOUT"]),
    ("server-bin", &["SWITCHBOARD_BENCH_SERVER_BIN"]),
    ("postgres-url", &["SWITCHBOARD_BENCH_POSTGRES_URL", "SWITCHBOARD_TEST_POSTGRES_URL"]),
];

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
struct Config {
    backends: Vec<Backend>,
    duration: Duration,
    creates: Option<u64>,
    gets: Option<u64>,
    concurrency: usize,
    tickets: u64,
    search_requests: u64,
    kill_after: Duration,
    fill_timeout: Duration,
    postgres_url: Option<String>,
    server_bin: PathBuf,
}

fn parse_config() -> Result<Config> {
    let mut opts: BTreeMap<String, String> = BTreeMap::new();
    for (flag, vars) in FLAGS {
        if let Some(v) = vars.iter().find_map(|var| std::env::var(var).ok()) {
            if !v.trim().is_empty() {
                opts.insert(flag.to_string(), v);
            }
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--bench" {
            continue; // `cargo bench` passes this to every bench binary
        }
        if arg == "-h" || arg == "--help" {
            print!("{HELP}");
            std::process::exit(0);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            eprintln!("note: ignoring positional argument {arg:?} (filters are not supported)");
            continue;
        };
        let (key, value) = match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (flag.to_string(), args.next().with_context(|| format!("--{flag} needs a value"))?),
        };
        if !FLAGS.iter().any(|(f, _)| *f == key) {
            bail!("unknown flag --{key}\n{HELP}");
        }
        opts.insert(key, value);
    }

    fn num(opts: &BTreeMap<String, String>, key: &str) -> Result<Option<u64>> {
        opts.get(key).map(|v| v.trim().parse::<u64>().with_context(|| format!("--{key}: not a number: {v:?}"))).transpose()
    }
    fn secs(opts: &BTreeMap<String, String>, key: &str, default: f64) -> Result<Duration> {
        let v = match opts.get(key) {
            Some(v) => v.trim().parse::<f64>().with_context(|| format!("--{key}: not a number: {v:?}"))?,
            None => default,
        };
        if !(v.is_finite() && v >= 0.0) {
            bail!("--{key} must be a non-negative number of seconds");
        }
        Ok(Duration::from_secs_f64(v))
    }

    let postgres_url = opts.get("postgres-url").cloned();
    let backends = match opts.get("backend").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("all") => {
            let mut b = vec![Backend::Sqlite];
            if postgres_url.is_some() {
                b.push(Backend::Postgres);
            }
            b
        }
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") | Some("postgresql") | Some("pg") => {
            if postgres_url.is_none() {
                bail!("--backend postgres needs --postgres-url or SWITCHBOARD_BENCH_POSTGRES_URL / SWITCHBOARD_TEST_POSTGRES_URL");
            }
            vec![Backend::Postgres]
        }
        Some(other) => bail!("--backend: expected sqlite, postgres or all, got {other:?}"),
    };
    let concurrency = num(&opts, "concurrency")?.unwrap_or(32).clamp(1, 1024) as usize;
    Ok(Config {
        backends,
        duration: secs(&opts, "duration", 10.0)?,
        creates: num(&opts, "creates")?,
        gets: num(&opts, "gets")?,
        concurrency,
        tickets: num(&opts, "tickets")?.unwrap_or(100_000),
        search_requests: num(&opts, "search-requests")?.unwrap_or(200).max(1),
        kill_after: secs(&opts, "kill-after", 3.0)?.max(Duration::from_millis(200)),
        fill_timeout: secs(&opts, "fill-timeout", 3600.0)?,
        postgres_url,
        server_bin: opts.get("server-bin").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(SERVER_BIN)),
    })
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

/// One line of the final table.
struct Row {
    backend: &'static str,
    scenario: String,
    concurrency: usize,
    ok: u64,
    errors: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    /// Failures that make the exit status non-zero.
    failures: Vec<String>,
    /// Observations about the server that do not fail the run (possible bugs).
    notes: Vec<String>,
}

type SharedReport = Arc<Mutex<Report>>;

fn with_report<T>(report: &SharedReport, f: impl FnOnce(&mut Report) -> T) -> T {
    let mut guard = report.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

fn fail(report: &SharedReport, backend: Backend, msg: impl Into<String>) {
    let msg = format!("[{}] {}", backend.name(), msg.into());
    println!("  !! FAIL: {msg}");
    with_report(report, |r| r.failures.push(msg));
}

fn note(report: &SharedReport, backend: Backend, msg: impl Into<String>) {
    let msg = format!("[{}] {}", backend.name(), msg.into());
    println!("  ?? NOTE: {msg}");
    with_report(report, |r| r.notes.push(msg));
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn print_row(row: &Row) {
    let rate = row.ok as f64 / row.elapsed.as_secs_f64().max(1e-9);
    println!(
        "  {:<8} {:<38} conc={:<3} ok={:<7} errors={:<4} {:>6.1}s {:>9.1} req/s  p50={:>8} ms  p99={:>8} ms  max={:>8} ms",
        row.backend,
        row.scenario,
        row.concurrency,
        row.ok,
        row.errors,
        row.elapsed.as_secs_f64(),
        rate,
        ms(row.p50),
        ms(row.p99),
        ms(row.max),
    );
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<9} {:<38} {:>5} {:>8} {:>7} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "backend", "scenario", "conc", "ok", "errors", "secs", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(134));
    for row in rows {
        let rate = row.ok as f64 / row.elapsed.as_secs_f64().max(1e-9);
        println!(
            "{:<9} {:<38} {:>5} {:>8} {:>7} {:>8.1} {:>10.1} {:>10} {:>10} {:>10}",
            row.backend,
            row.scenario,
            row.concurrency,
            row.ok,
            row.errors,
            row.elapsed.as_secs_f64(),
            rate,
            ms(row.p50),
            ms(row.p99),
            ms(row.max),
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).saturating_sub(1);
    sorted[idx.min(sorted.len() - 1)]
}

// ---------------------------------------------------------------------------------------------
// Temp dir, server process, PostgreSQL database
// ---------------------------------------------------------------------------------------------

/// A temp directory removed on drop unless `keep` is set.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(tag: &str) -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("sb-bench-{tag}-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(path.join("data")).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir { path, keep: false })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            println!("  (kept temp dir with server logs: {})", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// How to start the server for one backend (same data dir / database on every start).
struct ServerSpec {
    bin: PathBuf,
    data_dir: PathBuf,
    log_dir: PathBuf,
    database_url: Option<String>,
}

/// A running server process. Dropping it kills the process (SIGKILL) and reaps it.
struct Server {
    child: Option<Child>,
    base: String,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(listener.local_addr().context("probe socket address")?.port())
}

impl ServerSpec {
    fn spawn(&self, start_no: u32) -> Result<Server> {
        let port = free_port()?;
        let stdout_path = self.log_dir.join(format!("server-{start_no}.stdout"));
        let stderr_path = self.log_dir.join(format!("server-{start_no}.stderr"));
        let stdout = File::create(&stdout_path).context("creating server stdout file")?;
        let stderr = File::create(&stderr_path).context("creating server stderr file")?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve").arg("--listen").arg(format!("127.0.0.1:{port}")).arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        for var in ["SWITCHBOARD_LISTEN", "SWITCHBOARD_DATA_DIR", "SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_CONFIG"] {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = cmd.spawn().with_context(|| format!("starting {}", self.bin.display()))?;
        Ok(Server { child: Some(child), base: format!("http://127.0.0.1:{port}"), stdout_path, stderr_path })
    }
}

impl Server {
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The admin token line from the server's stdout, if printed yet.
    fn admin_token(&self) -> Option<String> {
        let out = std::fs::read_to_string(&self.stdout_path).ok()?;
        out.lines().find_map(|line| line.find(TOKEN_PREFIX).map(|at| line[at + TOKEN_PREFIX.len()..].trim().to_string()))
    }

    fn log_tail(&self) -> String {
        let tail = |p: &Path| {
            let s = std::fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n    ")
        };
        format!(
            "--- stdout ({}):\n    {}\n--- stderr ({}):\n    {}",
            self.stdout_path.display(),
            tail(&self.stdout_path),
            self.stderr_path.display(),
            tail(&self.stderr_path)
        )
    }

    /// Waits until `/healthz` answers 200 (and, when `need_token`, the admin token is printed).
    async fn wait_ready(&mut self, client: &reqwest::Client, need_token: bool) -> Result<Option<String>> {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(90);
        let mut healthy = false;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("polling the server process")? {
                    bail!("server exited during startup with {status}\n{}", self.log_tail());
                }
            }
            if !healthy {
                let resp = client.get(format!("{}/healthz", self.base)).timeout(Duration::from_secs(2)).send().await;
                healthy = matches!(resp, Ok(r) if r.status() == StatusCode::OK);
            }
            let token = self.admin_token();
            if healthy && (token.is_some() || !need_token) {
                println!("  server pid {} ready at {} after {:.2}s", self.pid().unwrap_or(0), self.base, started.elapsed().as_secs_f64());
                return Ok(token);
            }
            if Instant::now() >= deadline {
                bail!("server not ready after 90s (healthz ok: {healthy}, token seen: {})\n{}", token.is_some(), self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9` and reap.
    fn kill_hard(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("SIGKILL to the server")?;
            child.wait().context("reaping the killed server")?;
        }
        Ok(())
    }

    /// SIGTERM, wait up to 20 s for exit; returns the exit status description.
    fn stop_gracefully(&mut self) -> Result<String> {
        let Some(mut child) = self.child.take() else {
            return Ok("not running".into());
        };
        let sent = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        if !matches!(sent, Ok(s) if s.success()) {
            let _ = child.kill();
            let _ = child.wait();
            bail!("could not send SIGTERM (kill command: {sent:?}); killed instead");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().context("polling the server process")? {
                return Ok(status.to_string());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("server did not exit within 20s of SIGTERM; killed");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A throw-away PostgreSQL database on the server given by the admin URL.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Result<PgDatabase> {
        use sqlx::Connection;
        let name = format!("sb_bench_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(admin_url).await.with_context(|| format!("connecting to {admin_url}"))?;
        sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let _ = conn.close().await;
        let mut url = reqwest::Url::parse(admin_url).context("parsing the PostgreSQL URL")?;
        url.set_path(&format!("/{name}"));
        Ok(PgDatabase { admin_url: admin_url.to_string(), name, url: url.to_string() })
    }

    async fn drop_database(&self) -> Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await.with_context(|| format!("connecting to {}", self.admin_url))?;
        let forced = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut conn).await;
        if forced.is_err() {
            // PostgreSQL < 13 has no WITH (FORCE).
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{}\"", self.name))
                .execute(&mut conn)
                .await
                .with_context(|| format!("DROP DATABASE {}", self.name))?;
        }
        let _ = conn.close().await;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------------------------

/// Authenticated API client for one server instance.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s: String = s.chars().take(300).collect();
    s.replace('\n', " ")
}

impl Api {
    async fn get(&self, path: &str) -> Result<(StatusCode, Vec<u8>), String> {
        let resp = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("GET {path}: reading body: {e}"))?;
        Ok((status, body.to_vec()))
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(StatusCode, Vec<u8>), String> {
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("POST {path}: reading body: {e}"))?;
        Ok((status, body.to_vec()))
    }

    /// GET expecting 200 and a JSON body.
    async fn get_json(&self, path: &str) -> Result<Value, String> {
        let (status, body) = self.get(path).await?;
        if status != StatusCode::OK {
            return Err(format!("GET {path}: expected 200, got {status}: {}", snippet(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {path}: invalid JSON ({e}): {}", snippet(&body)))
    }
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")
}

// ---------------------------------------------------------------------------------------------
// Data set
// ---------------------------------------------------------------------------------------------

/// What the bench knows about the tickets it created (acknowledged with 201).
#[derive(Default)]
struct Dataset {
    /// Sequence number of the next generated ticket (drives the deterministic generator).
    seq: AtomicU64,
    /// Ids of all acknowledged tickets.
    ids: Mutex<Vec<i64>>,
    rare: AtomicU64,
    common: AtomicU64,
    misc_open: AtomicU64,
}

impl Dataset {
    fn ids_snapshot(&self) -> Vec<i64> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A generated ticket-create request.
struct TicketSpec {
    body: Value,
    title: String,
    topic: &'static str,
    queue: &'static str,
    state: &'static str,
    rare: bool,
}

fn pick<'a>(rng: &mut StdRng, words: &[&'a str]) -> &'a str {
    words[rng.gen_range(0..words.len())]
}

/// Deterministic ticket `seq`: ~1 KB article body from a small vocabulary, one topic word in
/// title and body, queue/state/priority/customer spread, the rare word in every 1000th body.
fn ticket_spec(seq: u64) -> TicketSpec {
    let mut rng = StdRng::seed_from_u64(seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5eed);
    let topic = pick(&mut rng, &TOPICS);
    let queue = pick(&mut rng, &QUEUES);
    let total: u32 = STATES.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total);
    let mut state = STATES[0].0;
    for (name, weight) in STATES {
        if roll < weight {
            state = name;
            break;
        }
        roll -= weight;
    }
    let rare = seq % RARE_EVERY == 0;
    let title = format!("{} {} {} {} (#{seq})", pick(&mut rng, &FILLER), topic, pick(&mut rng, &FILLER), pick(&mut rng, &FILLER));
    let mut body = String::with_capacity(1100);
    body.push_str("Hello support team,\n\n");
    let mut words = 0;
    while body.len() < 1000 {
        let word = if words % 37 == 5 { topic } else { pick(&mut rng, &FILLER) };
        body.push_str(word);
        words += 1;
        if rare && words == 40 {
            body.push(' ');
            body.push_str(RARE_WORD);
        }
        body.push_str(if words % 12 == 0 { ".\n" } else { " " });
    }
    body.push_str("\n\nBest regards\n");
    let customer = pick(&mut rng, &CUSTOMERS);
    let mut ticket = json!({
        "title": title,
        "queue": queue,
        "state": state,
        "priority": rng.gen_range(1..=5),
        "type": "Incident",
        "owner": "admin",
        "customer_user": customer,
        "article": {
            "subject": title,
            "body": body,
            "channel": "email",
            "sender_type": "customer",
            "visible_for_customer": true,
            "from": format!("<{customer}>"),
            "to": "support@switchboard.example",
        }
    });
    if state == "pending reminder" {
        let until = chrono::Utc::now() + chrono::Duration::days(2);
        ticket["pending_until"] = json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    TicketSpec { body: ticket, title, topic, queue, state, rare }
}

/// POST one generated ticket; on 201 records it in `data` and returns (id, title).
async fn create_ticket(api: &Api, data: &Dataset) -> Result<(i64, String), String> {
    let seq = data.seq.fetch_add(1, Ordering::Relaxed);
    let spec = ticket_spec(seq);
    let (status, body) = api.post("/api/v1/tickets", &spec.body).await?;
    if status != StatusCode::CREATED {
        return Err(format!("POST /api/v1/tickets: expected 201, got {status}: {}", snippet(&body)));
    }
    let ticket: Value =
        serde_json::from_slice(&body).map_err(|e| format!("POST /api/v1/tickets: 201 with invalid JSON ({e}): {}", snippet(&body)))?;
    let id = ticket["id"].as_i64().ok_or_else(|| format!("POST /api/v1/tickets: 201 without an integer id: {}", snippet(&body)))?;
    if spec.rare {
        data.rare.fetch_add(1, Ordering::Relaxed);
    }
    if spec.topic == COMMON_WORD {
        data.common.fetch_add(1, Ordering::Relaxed);
    }
    if spec.queue == "Misc" && spec.state == "open" {
        data.misc_open.fetch_add(1, Ordering::Relaxed);
    }
    data.ids.lock().unwrap_or_else(|p| p.into_inner()).push(id);
    Ok((id, spec.title))
}

// ---------------------------------------------------------------------------------------------
// Load generator
// ---------------------------------------------------------------------------------------------

struct LoadSpec {
    concurrency: usize,
    /// Stop starting new requests after this long.
    duration: Option<Duration>,
    /// Stop after this many requests.
    count: Option<u64>,
    /// External stop signal.
    stop: Arc<AtomicBool>,
    /// Stop once this many requests failed.
    max_errors: u64,
    /// Print progress every `step` finished requests, with this label.
    progress: Option<(String, u64)>,
}

impl LoadSpec {
    fn new(concurrency: usize) -> LoadSpec {
        LoadSpec { concurrency, duration: None, count: None, stop: Arc::new(AtomicBool::new(false)), max_errors: 1000, progress: None }
    }
}

struct LoadResult {
    latencies: Vec<Duration>,
    errors: u64,
    error_samples: Vec<String>,
    elapsed: Duration,
}

impl LoadResult {
    fn row(&self, backend: Backend, scenario: impl Into<String>, concurrency: usize) -> Row {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        Row {
            backend: backend.name(),
            scenario: scenario.into(),
            concurrency,
            ok: sorted.len() as u64,
            errors: self.errors,
            elapsed: self.elapsed,
            p50: percentile(&sorted, 0.50),
            p99: percentile(&sorted, 0.99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }

    fn print_errors(&self) {
        if self.errors > 0 {
            println!("    {} request(s) failed; first errors:", self.errors);
            for e in self.error_samples.iter().take(8) {
                println!("      - {e}");
            }
        }
    }
}

/// Runs `op(i)` for i = 0, 1, … from `concurrency` workers until the duration, count or stop
/// signal ends it. Only successful requests contribute latencies.
async fn run_load<F, Fut>(spec: LoadSpec, op: F) -> LoadResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = spec.duration.map(|d| start + d);
    let mut workers = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency {
        let (op, next, done, failed, stop) = (op.clone(), next.clone(), done.clone(), failed.clone(), spec.stop.clone());
        let (count, max_errors) = (spec.count, spec.max_errors);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut samples = Vec::new();
            let mut errors = 0u64;
            loop {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| i >= c) {
                    break;
                }
                let t = Instant::now();
                let result = op(i).await;
                let took = t.elapsed();
                match result {
                    Ok(()) => latencies.push(took),
                    Err(e) => {
                        errors += 1;
                        if samples.len() < 4 {
                            samples.push(e);
                        }
                        if failed.fetch_add(1, Ordering::Relaxed) + 1 >= max_errors {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            (latencies, samples, errors)
        }));
    }

    let progress = spec.progress.map(|(label, step)| {
        let (done, failed, stop, total) = (done.clone(), failed.clone(), spec.stop.clone(), spec.count);
        tokio::spawn(async move {
            let step = step.max(1);
            let mut next_mark = step;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let n = done.load(Ordering::Relaxed);
                if n >= next_mark {
                    let secs = start.elapsed().as_secs_f64();
                    println!(
                        "    {label}: {n}{} done, {:.0}/s, {} errors, {:.0}s elapsed",
                        total.map(|t| format!("/{t}")).unwrap_or_default(),
                        n as f64 / secs.max(1e-9),
                        failed.load(Ordering::Relaxed),
                        secs
                    );
                    next_mark = (n / step + 1) * step;
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        })
    });

    let mut result = LoadResult { latencies: Vec::new(), errors: 0, error_samples: Vec::new(), elapsed: Duration::ZERO };
    for worker in workers {
        match worker.await {
            Ok((latencies, samples, errors)) => {
                result.latencies.extend(latencies);
                result.errors += errors;
                result.error_samples.extend(samples);
            }
            Err(e) => {
                result.errors += 1;
                result.error_samples.push(format!("load worker panicked: {e}"));
            }
        }
    }
    result.elapsed = start.elapsed();
    if let Some(p) = progress {
        p.abort();
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Everything a scenario needs.
struct Ctx {
    cfg: Config,
    backend: Backend,
    report: SharedReport,
    data: Arc<Dataset>,
    client: reqwest::Client,
    spec: ServerSpec,
    token: String,
    server: Server,
    starts: u32,
}

impl Ctx {
    fn api(&self) -> Api {
        Api { client: self.client.clone(), base: self.server.base.clone(), token: self.token.clone() }
    }

    fn record(&self, row: Row) {
        print_row(&row);
        with_report(&self.report, |r| r.rows.push(row));
    }

    fn fail(&self, msg: impl Into<String>) {
        fail(&self.report, self.backend, msg);
    }

    fn note(&self, msg: impl Into<String>) {
        note(&self.report, self.backend, msg);
    }
}

/// Creates the extra queues and customer users the data set uses (409 = already there).
async fn setup_catalogue(ctx: &Ctx) -> Result<()> {
    let api = ctx.api();
    let mut posts: Vec<(&str, Value)> =
        EXTRA_QUEUES.iter().map(|q| ("/api/v1/queues", json!({"name": q, "comment": "benchmark queue"}))).collect();
    for login in CUSTOMERS {
        let first = login.split('@').next().unwrap_or(login);
        posts.push(("/api/v1/customer-users", json!({"login": login, "email": login, "first_name": first, "last_name": "Bench"})));
    }
    for (path, body) in posts {
        let (status, resp) = api.post(path, &body).await.map_err(|e| anyhow!(e))?;
        if status != StatusCode::CREATED && status != StatusCode::CONFLICT {
            bail!("setup: POST {path} {body}: expected 201, got {status}: {}", snippet(&resp));
        }
    }
    println!("  setup: queues {:?} and customer users {:?} created", EXTRA_QUEUES, CUSTOMERS);
    Ok(())
}

/// Scenario 1: ticket create with a ~1 KB first article, at the configured concurrency.
async fn bench_create(ctx: &Ctx) {
    let conc = ctx.cfg.concurrency;
    let mut spec = LoadSpec::new(conc);
    match ctx.cfg.creates {
        Some(n) => spec.count = Some(n),
        None => spec.duration = Some(ctx.cfg.duration),
    }
    let (api, data) = (ctx.api(), ctx.data.clone());
    let result = run_load(spec, move |_| {
        let (api, data) = (api.clone(), data.clone());
        async move { create_ticket(&api, &data).await.map(|_| ()) }
    })
    .await;
    ctx.record(result.row(ctx.backend, "ticket create (1 KB article)", conc));
    result.print_errors();
    if result.errors > 0 {
        ctx.fail(format!("ticket create: {} request(s) failed", result.errors));
    }
}

/// Scenario 2: GET /api/v1/tickets/{id} on random acknowledged ids.
async fn bench_get(ctx: &Ctx) {
    let ids = Arc::new(ctx.data.ids_snapshot());
    if ids.is_empty() {
        ctx.fail("ticket get: no tickets were created, nothing to get");
        return;
    }
    let conc = ctx.cfg.concurrency;
    let mut spec = LoadSpec::new(conc);
    match ctx.cfg.gets {
        Some(n) => spec.count = Some(n),
        None => spec.duration = Some(ctx.cfg.duration),
    }
    let api = ctx.api();
    let result = run_load(spec, move |_| {
        let api = api.clone();
        let id = ids[rand::thread_rng().gen_range(0..ids.len())];
        async move {
            let path = format!("/api/v1/tickets/{id}");
            let ticket = api.get_json(&path).await?;
            if ticket["id"].as_i64() != Some(id) {
                return Err(format!("GET {path}: response has id {}", ticket["id"]));
            }
            Ok(())
        }
    })
    .await;
    ctx.record(result.row(ctx.backend, "ticket get by id", conc));
    result.print_errors();
    if result.errors > 0 {
        ctx.fail(format!("ticket get: {} request(s) failed", result.errors));
    }
}

/// Scenario 3: create load, `kill -9` the server, restart it on the same data, and check that
/// every ticket acknowledged with 201 before the kill is there.
async fn bench_durability(ctx: &mut Ctx) -> Result<()> {
    let conc = ctx.cfg.concurrency;
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let pre_kill_errors = Arc::new(AtomicU64::new(0));
    let mut spec = LoadSpec::new(conc);
    spec.duration = Some(ctx.cfg.kill_after + Duration::from_secs(30)); // bound only; we stop it
    spec.max_errors = u64::MAX;
    let stop = spec.stop.clone();
    let load = {
        let (api, data) = (ctx.api(), ctx.data.clone());
        let (acked, killed, pre_kill_errors) = (acked.clone(), killed.clone(), pre_kill_errors.clone());
        tokio::spawn(run_load(spec, move |_| {
            let (api, data) = (api.clone(), data.clone());
            let (acked, killed, pre_kill_errors) = (acked.clone(), killed.clone(), pre_kill_errors.clone());
            async move {
                match create_ticket(&api, &data).await {
                    Ok(ticket) => {
                        acked.lock().unwrap_or_else(|p| p.into_inner()).push(ticket);
                        Ok(())
                    }
                    Err(e) => {
                        if !killed.load(Ordering::SeqCst) {
                            pre_kill_errors.fetch_add(1, Ordering::Relaxed);
                            Err(format!("before kill: {e}"))
                        } else {
                            Err(e)
                        }
                    }
                }
            }
        }))
    };

    tokio::time::sleep(ctx.cfg.kill_after).await;
    killed.store(true, Ordering::SeqCst);
    let pid = ctx.server.pid().unwrap_or(0);
    ctx.server.kill_hard().context("kill -9 of the server")?;
    let acked_at_kill = acked.lock().unwrap_or_else(|p| p.into_inner()).len();
    // No new requests; the in-flight ones fail (connection reset) and end the workers.
    stop.store(true, Ordering::Relaxed);
    println!(
        "  kill -9 of server pid {pid} after {:.1}s of create load ({acked_at_kill} acknowledged so far)",
        ctx.cfg.kill_after.as_secs_f64()
    );
    let result = load.await.context("durability load task panicked")?;
    let pre = pre_kill_errors.load(Ordering::Relaxed);
    if pre > 0 {
        result.print_errors();
        ctx.fail(format!("durability: {pre} create(s) failed before the kill"));
    }
    let acked = Arc::new(std::mem::take(&mut *acked.lock().unwrap_or_else(|p| p.into_inner())));
    println!(
        "  {} create(s) acknowledged with 201 before the kill, {} failed around the kill (expected)",
        acked.len(),
        result.errors - pre
    );

    // Restart on the same data dir / database.
    ctx.starts += 1;
    let mut server = ctx.spec.spawn(ctx.starts)?;
    let restart_begin = Instant::now();
    let token = server.wait_ready(&ctx.client, false).await.context("restart after kill -9")?;
    ctx.server = server;
    if token.is_some() {
        ctx.note("restart on an existing database printed a new ADMIN TOKEN line (contract: only on first start on an empty database)");
    }
    println!("  restarted in {:.2}s; verifying {} acknowledged tickets", restart_begin.elapsed().as_secs_f64(), acked.len());

    // Verify every acknowledged ticket: GET by id → 200 with the same title.
    let missing = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut spec = LoadSpec::new(conc);
    spec.count = Some(acked.len() as u64);
    spec.max_errors = u64::MAX;
    let verify = {
        let (api, acked, missing) = (ctx.api(), acked.clone(), missing.clone());
        run_load(spec, move |i| {
            let (api, acked, missing) = (api.clone(), acked.clone(), missing.clone());
            async move {
                let (id, title) = &acked[i as usize];
                let path = format!("/api/v1/tickets/{id}");
                let mut last = String::new();
                for _attempt in 0..3 {
                    match api.get(&path).await {
                        Ok((StatusCode::OK, body)) => {
                            let t: Value = serde_json::from_slice(&body).map_err(|e| format!("GET {path}: invalid JSON ({e})"))?;
                            if t["title"].as_str() != Some(title.as_str()) {
                                return Err(format!("GET {path}: title {} != {title:?}", t["title"]));
                            }
                            return Ok(());
                        }
                        Ok((StatusCode::NOT_FOUND, _)) => {
                            missing.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{id}"));
                            return Ok(());
                        }
                        Ok((status, body)) => last = format!("GET {path}: {status}: {}", snippet(&body)),
                        Err(e) => last = e,
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(last)
            }
        })
        .await
    };
    let missing = missing.lock().unwrap_or_else(|p| p.into_inner()).clone();
    println!(
        "  DURABILITY [{}]: acknowledged {}, missing {}{}",
        ctx.backend.name(),
        acked.len(),
        missing.len(),
        if verify.errors > 0 { format!(", unverifiable {}", verify.errors) } else { String::new() }
    );
    ctx.record(verify.row(ctx.backend, "durability verify GET after restart", conc));
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(20).map(String::as_str).collect();
        ctx.fail(format!(
            "durability: {} acknowledged ticket(s) missing after kill -9 + restart (ids {})",
            missing.len(),
            shown.join(", ")
        ));
    }
    if verify.errors > 0 {
        verify.print_errors();
        ctx.fail(format!("durability: {} acknowledged ticket(s) could not be verified", verify.errors));
    }
    if acked.is_empty() {
        ctx.fail("durability: no create was acknowledged before the kill; nothing verified");
    }
    Ok(())
}

/// Highest ticket id (≈ number of tickets, ids are sequential), via the list endpoint.
async fn max_ticket_id(api: &Api) -> Result<i64, String> {
    let list = api.get_json("/api/v1/tickets?sort=-id&limit=1").await?;
    let items = list["items"].as_array().ok_or("GET /api/v1/tickets: no items array")?;
    Ok(items.first().and_then(|t| t["id"].as_i64()).unwrap_or(0))
}

/// Scenario 4a: fill the database up to `--tickets` tickets through the API.
async fn fill(ctx: &Ctx) {
    let target = ctx.cfg.tickets;
    let api = ctx.api();
    let known = ctx.data.ids.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
    let current = match max_ticket_id(&api).await {
        Ok(max) => (max.max(0) as u64).max(known),
        Err(e) => {
            ctx.note(format!("could not read the highest ticket id ({e}); using the bench's own count"));
            known
        }
    };
    if current >= target {
        println!("  fill: database already has ~{current} tickets (target {target})");
        return;
    }
    let need = target - current;
    println!("  fill: ~{current} tickets present, creating {need} more (target {target}) at concurrency {}", ctx.cfg.concurrency);
    let mut spec = LoadSpec::new(ctx.cfg.concurrency);
    spec.count = Some(need);
    spec.duration = Some(ctx.cfg.fill_timeout);
    spec.progress = Some((format!("[{}] fill", ctx.backend.name()), 10_000));
    let data = ctx.data.clone();
    let result = run_load(spec, move |_| {
        let (api, data) = (api.clone(), data.clone());
        async move { create_ticket(&api, &data).await.map(|_| ()) }
    })
    .await;
    ctx.record(result.row(ctx.backend, "fill: ticket create", ctx.cfg.concurrency));
    result.print_errors();
    if result.errors > 0 {
        ctx.fail(format!("fill: {} create(s) failed", result.errors));
    }
    if (result.latencies.len() as u64) < need {
        ctx.fail(format!(
            "fill: only {} of {need} tickets created (timeout {:?} or too many errors)",
            result.latencies.len(),
            ctx.cfg.fill_timeout
        ));
    }
}

/// One search query and how to check a response.
struct SearchQuery {
    name: String,
    path: String,
    /// Every returned ticket must have this (queue, state).
    queue_state: Option<(&'static str, &'static str)>,
    /// At least this many items expected (min(known matches, limit)).
    min_items: u64,
}

/// Scenario 4b: search latency (list filter, rare word, common word) at concurrency 1 and N.
async fn bench_search(ctx: &Ctx) {
    let limit = 50u64;
    let d = &ctx.data;
    let (misc_open, rare, common) = (d.misc_open.load(Ordering::Relaxed), d.rare.load(Ordering::Relaxed), d.common.load(Ordering::Relaxed));
    println!(
        "  search: data set known to the bench: {} tickets, {misc_open} in Misc/open, {rare} with {RARE_WORD:?} (in the article body), {common} with {COMMON_WORD:?}",
        d.ids.lock().unwrap_or_else(|p| p.into_inner()).len()
    );
    let queries = [
        SearchQuery {
            name: "list queue=Misc&state=open".into(),
            path: format!("/api/v1/tickets?queue=Misc&state=open&limit={limit}"),
            queue_state: Some(("Misc", "open")),
            min_items: misc_open.min(limit),
        },
        SearchQuery {
            name: format!("fulltext rare q={RARE_WORD}"),
            path: format!("/api/v1/tickets?q={RARE_WORD}&limit={limit}"),
            queue_state: None,
            min_items: rare.min(limit),
        },
        SearchQuery {
            name: format!("fulltext common q={COMMON_WORD}"),
            path: format!("/api/v1/tickets?q={COMMON_WORD}&limit={limit}"),
            queue_state: None,
            min_items: common.min(limit),
        },
    ];
    for query in queries {
        let query = Arc::new(query);
        let items_seen = Arc::new(AtomicU64::new(u64::MAX));
        for conc in [1, ctx.cfg.concurrency] {
            let mut spec = LoadSpec::new(conc);
            spec.count = Some(ctx.cfg.search_requests);
            spec.duration = Some(Duration::from_secs(600));
            let (api, q, seen) = (ctx.api(), query.clone(), items_seen.clone());
            let result = run_load(spec, move |_| {
                let (api, q, seen) = (api.clone(), q.clone(), seen.clone());
                async move {
                    let list = api.get_json(&q.path).await?;
                    let items = list["items"].as_array().ok_or_else(|| format!("GET {}: no items array", q.path))?;
                    seen.store(items.len() as u64, Ordering::Relaxed);
                    if let Some((queue, state)) = q.queue_state {
                        if let Some(bad) = items.iter().find(|t| t["queue"] != queue || t["state"] != state) {
                            return Err(format!("GET {}: item {} has queue {} state {}", q.path, bad["id"], bad["queue"], bad["state"]));
                        }
                    }
                    Ok(())
                }
            })
            .await;
            ctx.record(result.row(ctx.backend, format!("search {}", query.name), conc));
            result.print_errors();
            if result.errors > 0 {
                ctx.fail(format!("search {}: {} request(s) failed", query.name, result.errors));
            }
        }
        let seen = items_seen.load(Ordering::Relaxed);
        if seen != u64::MAX {
            println!("    -> {} returned {seen} item(s) (at least {} expected)", query.path, query.min_items);
            if seen < query.min_items {
                ctx.note(format!(
                    "GET {} returned {seen} items, expected at least {} (the bench created that many matching tickets)",
                    query.path, query.min_items
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------------

/// All scenarios against one already-provisioned backend.
async fn bench_backend(cfg: Config, backend: Backend, report: SharedReport, spec: ServerSpec) -> Result<()> {
    let client = http_client()?;
    let mut server = spec.spawn(1)?;
    let token = server.wait_ready(&client, true).await?.context("server ready but no admin token line")?;
    if !token.starts_with("sb_") || token.len() < 43 || !token[3..].chars().all(|c| c.is_ascii_alphanumeric()) {
        note(&report, backend, format!("admin token {token:?} does not match sb_[A-Za-z0-9]{{40,}}"));
    }
    let mut ctx = Ctx { cfg, backend, report, data: Arc::new(Dataset::default()), client, spec, token, server, starts: 1 };
    setup_catalogue(&ctx).await?;

    let header = |name: &str| println!("\n-- [{}] {name}", backend.name());
    header("ticket create");
    bench_create(&ctx).await;
    header("ticket get");
    bench_get(&ctx).await;
    header("durability (kill -9 during create load)");
    bench_durability(&mut ctx).await?;
    header(&format!("fill to {} tickets", ctx.cfg.tickets));
    fill(&ctx).await;
    header("search");
    bench_search(&ctx).await;

    header("shutdown (SIGTERM)");
    match ctx.server.stop_gracefully() {
        Ok(status) if status.contains("exit status: 0") => println!("  server exited: {status}"),
        Ok(status) => ctx.note(format!("SIGTERM: server exited with {status} (contract: exit code 0)")),
        Err(e) => ctx.note(format!("SIGTERM: {e:#}")),
    }
    Ok(())
}

/// Provisions (temp dir, PostgreSQL database), runs, and cleans up one backend.
async fn run_backend(cfg: &Config, backend: Backend, report: &SharedReport) {
    println!("\n==================== backend: {} ====================", backend.name());
    let mut tmp = match TempDir::new(backend.name()) {
        Ok(t) => t,
        Err(e) => return fail(report, backend, format!("{e:#}")),
    };
    let pg = match (backend, &cfg.postgres_url) {
        (Backend::Postgres, Some(url)) => match PgDatabase::create(url).await {
            Ok(db) => {
                println!("  created database {} on {}", db.name, redact(url));
                Some(db)
            }
            Err(e) => return fail(report, backend, format!("creating the database: {e:#}")),
        },
        (Backend::Postgres, None) => return fail(report, backend, "no PostgreSQL URL"),
        (Backend::Sqlite, _) => None,
    };
    println!("  data dir {}", tmp.path.join("data").display());
    let spec = ServerSpec {
        bin: cfg.server_bin.clone(),
        data_dir: tmp.path.join("data"),
        log_dir: tmp.path.clone(),
        database_url: pg.as_ref().map(|db| db.url.clone()),
    };
    let failures_before = with_report(report, |r| r.failures.len());
    // Spawned so that a panic is contained; the Server drop guard kills the process either way.
    let outcome = tokio::spawn(bench_backend(cfg.clone(), backend, report.clone(), spec)).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail(report, backend, format!("aborted: {e:#}")),
        Err(e) => fail(report, backend, format!("panicked: {e}")),
    }
    if let Some(db) = pg {
        match db.drop_database().await {
            Ok(()) => println!("  dropped database {}", db.name),
            Err(e) => println!("  !! could not drop database {}: {e:#}", db.name),
        }
    }
    tmp.keep = with_report(report, |r| r.failures.len()) > failures_before;
}

/// Hides a password in a database URL for printing.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn machine_facts() {
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "machine: nproc={nproc}, cpu={model}, mem={mem}, kernel={}, os={}/{}",
        kernel.trim(),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    println!("note: the load generator runs on the same machine and competes with the server for CPU");
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    println!("Switchboard API benchmark");
    println!("command: {}", args.join(" "));
    machine_facts();
    let cfg = match parse_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    println!("server binary: {}", cfg.server_bin.display());
    println!(
        "config: backends={:?} duration={:?} creates={:?} gets={:?} concurrency={} tickets={} search-requests={} kill-after={:?} postgres-url={}",
        cfg.backends.iter().map(|b| b.name()).collect::<Vec<_>>(),
        cfg.duration,
        cfg.creates,
        cfg.gets,
        cfg.concurrency,
        cfg.tickets,
        cfg.search_requests,
        cfg.kill_after,
        cfg.postgres_url.as_deref().map(redact).unwrap_or_else(|| "(not set: PostgreSQL skipped)".into()),
    );

    let server_env: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SWITCHBOARD_") && !k.contains("_BENCH_") && !k.contains("_TEST_"))
        .filter(|(k, _)| {
            !["SWITCHBOARD_LISTEN", "SWITCHBOARD_DATA_DIR", "SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_CONFIG"].contains(&k.as_str())
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!("server environment passed through: {}", if server_env.is_empty() { "(none)".to_string() } else { server_env.join(" ") });

    let report: SharedReport = Arc::default();
    let started = Instant::now();
    for backend in cfg.backends.clone() {
        run_backend(&cfg, backend, &report).await;
    }

    let report = with_report(&report, std::mem::take);
    println!("\n==================== summary ({:.0}s) ====================", started.elapsed().as_secs_f64());
    print_table(&report.rows);
    if !report.notes.is_empty() {
        println!("\nnotes (possible server issues):");
        for n in &report.notes {
            println!("  - {n}");
        }
    }
    if report.failures.is_empty() {
        println!("\nRESULT: OK");
        ExitCode::SUCCESS
    } else {
        println!("\nRESULT: FAILED");
        for f in &report.failures {
            println!("  - {f}");
        }
        ExitCode::FAILURE
    }
}
