//! Hostile test guest: writes 10 MiB of log in 10 240 lines of 1 KiB at
//! `info`, then returns a verdict with the dynamic field `LinesWritten`. The
//! host must cap what it keeps (`limits.max_log_bytes`) without failing.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct HugeLog;

/// Lines written.
const LINES: usize = 10 * 1024;
/// Bytes per line (including the line number prefix).
const LINE_BYTES: usize = 1024;

impl PostmasterFilter for HugeLog {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        let filler = "x".repeat(LINE_BYTES);
        for i in 0..LINES {
            let prefix = format!("huge-log line {i:05} ");
            log::info(format!("{prefix}{}", &filler[prefix.len()..]));
        }
        Ok(Verdict::default().with_dynamic_field("LinesWritten", LINES.to_string()))
    }
}

switchboard_sdk::postmaster_filter!(HugeLog);
