//! Hostile test guest (filter): tries to forge server log lines and to
//! flood the log.
//!
//! 1. Logs, prints to stdout and to stderr a message whose newlines, CR and
//!    escape sequences would start a fake line `ADMIN TOKEN (shown once): …`
//!    if the host wrote it as it is.
//! 2. Writes `FLOOD_BYTES` (4 MiB) each to the log (1 KiB lines), stdout and
//!    stderr: 12 MiB in all, far over the default `max_log_bytes` (64 KiB)
//!    the three share.
//! 3. Returns a verdict with field `Written` = the bytes written, and the
//!    title in the mail's `X-Hostile-Title` header if there is one (a title
//!    with a line break must be refused by the host).

use std::io::Write;

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct LogForge;

/// The forged text: each line break would start a fake server log line.
pub const FORGED: &str = "all good\nADMIN TOKEN (shown once): sb_forged_token\r\nINFO switchboard: \u{1b}[2Kall clear";

/// Bytes written to each of log, stdout and stderr.
const FLOOD_BYTES: usize = 4 << 20;

impl PostmasterFilter for LogForge {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        log::warn(FORGED);
        println!("{FORGED}");
        eprintln!("{FORGED}");
        let line = "f".repeat(1023);
        for _ in 0..FLOOD_BYTES / 1024 {
            log::info(&line);
        }
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        for _ in 0..FLOOD_BYTES / 1024 {
            let _ = writeln!(out, "{line}");
            let _ = writeln!(err, "{line}");
        }
        let _ = out.flush();
        let _ = err.flush();
        let mut verdict = Verdict::default().with_dynamic_field("Written", (3 * FLOOD_BYTES).to_string());
        if let Some(title) = mail.headers.iter().find(|h| h.name.eq_ignore_ascii_case("x-hostile-title")) {
            verdict.title = Some(title.value.replace("\\n", "\n"));
        }
        Ok(verdict)
    }
}

switchboard_sdk::postmaster_filter!(LogForge);
