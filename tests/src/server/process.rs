//! Starting the server process and waiting for health, signals, stop, kill and restart.

use std::fs;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::Server;
use crate::system::{binary_path, free_port, parse_admin_token};

/// How long to wait for `/healthz` after spawning the server.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a graceful stop (SIGTERM) may take before the test fails.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

impl Server {
    /// Base command for the binary with the backend selected (data dir and
    /// database URL via environment; flags are appended by callers).
    pub(super) fn base_command(&self) -> Command {
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
    pub(super) fn storage_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_string(), self.data_dir().display().to_string()];
        if let Some(url) = self.database_url() {
            args.push("--database-url".to_string());
            args.push(url.to_string());
        }
        args
    }

    pub(super) async fn spawn_and_wait(&mut self) {
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
                .args(if self.options.args.iter().any(|a| a == "--job-poll-interval-ms") {
                    &[][..]
                } else {
                    &["--job-poll-interval-ms", "200"][..]
                })
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

    /// Resident memory of the server process in bytes (Linux `/proc`), or
    /// `None` when it runs in this process or is not running.
    pub fn server_rss(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let statm = fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
        statm.split_whitespace().nth(1)?.parse::<u64>().ok().map(|pages| pages * 4096)
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
}
