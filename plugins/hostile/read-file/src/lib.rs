//! Hostile test guest: tries `std::fs::read("/etc/passwd")` (or the path in
//! the mail header `X-Hostile-Path`, to test granted directories).
//!
//! * Denied (the expected case): returns the plugin error with code `denied`
//!   and the I/O error as message. It does not trap.
//! * Allowed: returns a verdict with the dynamic field `FileBytes` (the size
//!   read) and the title `read <n> bytes of <path>`.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct ReadFile;

impl PostmasterFilter for ReadFile {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        let path = mail.header("X-Hostile-Path").unwrap_or("/etc/passwd").trim().to_owned();
        match std::fs::read(&path) {
            Ok(bytes) => {
                log::warn(format!("read-file: read {} bytes of {path}", bytes.len()));
                Ok(Verdict::default()
                    .with_title(format!("read {} bytes of {path}", bytes.len()))
                    .with_dynamic_field("FileBytes", bytes.len().to_string()))
            }
            Err(e) => Err(PluginError::new("denied", format!("reading {path}: {e} ({:?})", e.kind()))),
        }
    }
}

switchboard_sdk::postmaster_filter!(ReadFile);
