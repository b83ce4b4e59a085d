//! The `switchboard serve` process under test: start, readiness, `kill -9` and graceful stop.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::StatusCode;

/// Prefix of the admin-token line the server prints on its first start.
const TOKEN_PREFIX: &str = "ADMIN TOKEN (shown once): ";

/// How to start the server for one backend (same data dir / database on every start).
pub(crate) struct ServerSpec {
    pub(crate) bin: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) log_dir: PathBuf,
    pub(crate) database_url: Option<String>,
}

/// A running server process. Dropping it kills the process (SIGKILL) and reaps it.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) base: String,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(listener.local_addr().context("probe socket address")?.port())
}

impl ServerSpec {
    pub(crate) fn spawn(&self, start_no: u32) -> Result<Server> {
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
    pub(crate) fn pid(&self) -> Option<u32> {
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
    pub(crate) async fn wait_ready(&mut self, client: &reqwest::Client, need_token: bool) -> Result<Option<String>> {
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
    pub(crate) fn kill_hard(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("SIGKILL to the server")?;
            child.wait().context("reaping the killed server")?;
        }
        Ok(())
    }

    /// SIGTERM, wait up to 20 s for exit; returns the exit status description.
    pub(crate) fn stop_gracefully(&mut self) -> Result<String> {
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
