//! What starting a server needs: the binary's path, a free port, unique names and the admin-token line.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
