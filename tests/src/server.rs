//! [`Server`]: one `switchboard serve` process with its own data directory (and database), its
//! logs and admin token; starting and stopping, HTTP requests and CLI runs are in submodules.

mod cli;
mod http;
mod in_process;
mod process;
mod sql;

use std::fs;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use crate::backend::Backend;
use crate::pg::PgDatabase;

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

    /// Adds command-line arguments for `switchboard serve`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }
}

/// A running (or stopped) `switchboard serve` process with its own data
/// directory and, for PostgreSQL, its own database.
pub struct Server {
    backend: Backend,
    tmp: tempfile::TempDir,
    pg: Option<PgDatabase>,
    /// The database of another server this one shares (a second node).
    shared_database: Option<String>,
    options: ServerOptions,
    port: u16,
    child: Option<Child>,
    starts: u32,
    admin_token: Option<String>,
    client: reqwest::Client,
    /// Set for [`Server::start_in_process`]: the node runs in this process, not as `child`.
    in_process: Option<in_process::InProcess>,
}

impl Server {
    /// Starts a server on a fresh data directory / database and waits until it
    /// is healthy.
    pub async fn start(backend: Backend) -> Server {
        Server::start_with(backend, ServerOptions::default()).await
    }

    /// Like [`Server::start`] with extra environment / arguments.
    pub async fn start_with(backend: Backend, options: ServerOptions) -> Server {
        let mut server = Server::prepare(backend, options, None);
        server.spawn_and_wait().await;
        server
    }

    /// Starts a second node on this server's database: its own process, data
    /// directory (so its own `secret.key` unless `SWITCHBOARD_SECRET_KEY` is
    /// given) and port, the same tickets, plugins and tokens. Drop it before
    /// this server.
    pub async fn start_node(&self, options: ServerOptions) -> Server {
        let url = match self.database_url() {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", self.sqlite_path().display()),
        };
        let mut node = Server::prepare(self.backend.clone(), options, Some(url));
        node.admin_token = self.admin_token.clone();
        node.spawn_and_wait().await;
        node
    }

    /// Starts two nodes on one fresh database at the same moment (both
    /// processes spawned before either is healthy), as a cluster brought up
    /// at once starts. Both get `options`; the admin token is the one the
    /// node that seeded the database printed. Drop the second before the first.
    pub async fn start_pair(backend: Backend, options: ServerOptions) -> (Server, Server) {
        let mut first = Server::prepare(backend.clone(), options.clone(), None);
        let url = match first.database_url() {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", first.sqlite_path().display()),
        };
        let mut second = Server::prepare(backend, options, Some(url));
        tokio::join!(first.spawn_and_wait(), second.spawn_and_wait());
        let token = first.admin_token.clone().or_else(|| second.admin_token.clone());
        first.admin_token = token.clone();
        second.admin_token = token;
        (first, second)
    }

    /// A fresh data directory (and, for PostgreSQL, database, unless the
    /// server is a node on `shared_database`); nothing started yet.
    fn prepare(backend: Backend, options: ServerOptions, shared_database: Option<String>) -> Server {
        let tmp = tempfile::Builder::new().prefix("switchboard-e2e-").tempdir().expect("create temp dir");
        fs::create_dir_all(tmp.path().join("data")).expect("create data dir");
        fs::create_dir_all(tmp.path().join("logs")).expect("create log dir");
        let pg = match (&backend, &shared_database) {
            (Backend::Postgres(url), None) => Some(PgDatabase::create(url)),
            _ => None,
        };
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(8).build().expect("build HTTP client");
        Server { backend, tmp, pg, shared_database, options, port: 0, child: None, starts: 0, admin_token: None, client, in_process: None }
    }

    /// The settings the next (re)start uses: change them, then [`Server::restart`].
    pub fn options_mut(&mut self) -> &mut ServerOptions {
        &mut self.options
    }

    /// The backend this server runs on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The data directory passed as `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// The `--database-url` passed to the server (PostgreSQL, or a second
    /// node's shared database).
    pub fn database_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.url.as_str()).or(self.shared_database.as_deref())
    }

    /// The name of the PostgreSQL database this server created (not a node's).
    pub fn postgres_database(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.name.as_str())
    }

    /// The SQLite database file (SQLite backend only).
    pub fn sqlite_path(&self) -> PathBuf {
        match self.shared_database.as_deref().and_then(|u| u.strip_prefix("sqlite://")) {
            Some(path) => PathBuf::from(path),
            None => self.data_dir().join("switchboard.db"),
        }
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

    /// The admin token printed on the first start; panics (with the server
    /// log) when none was printed.
    pub fn admin_token(&self) -> String {
        self.admin_token
            .clone()
            .unwrap_or_else(|| panic!("no `ADMIN TOKEN (shown once): sb_...` line found in server stdout\n{}", self.logs()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.in_process = None;
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
