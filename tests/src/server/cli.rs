//! Running `switchboard` commands (such as `token create`) against the server's storage.

use std::process::Output;

use super::Server;

impl Server {
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
