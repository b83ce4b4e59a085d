//! Hostile test guest: opens the path in the mail header `X-Hostile-Path`
//! (default `/data/fifo`) for reading, or for writing when `X-Hostile-Mode`
//! is `write`. Opening a FIFO that nobody writes blocks in the host unless the
//! host refuses non-regular files.
//!
//! * Refused (the expected case for a FIFO): the plugin error `denied` with
//!   the I/O error as message. It does not trap.
//! * Opened: a verdict titled `opened <path>`.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct OpenFifo;

impl PostmasterFilter for OpenFifo {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        let path = mail.header("X-Hostile-Path").unwrap_or("/data/fifo").trim().to_owned();
        let write = mail.header("X-Hostile-Mode").is_some_and(|m| m.trim() == "write");
        let opened = if write { std::fs::OpenOptions::new().write(true).open(&path) } else { std::fs::File::open(&path) };
        match opened {
            Ok(_) => Ok(Verdict::default().with_title(format!("opened {path}"))),
            Err(e) => Err(PluginError::new("denied", format!("opening {path}: {e} ({:?})", e.kind()))),
        }
    }
}

switchboard_sdk::postmaster_filter!(OpenFifo);
