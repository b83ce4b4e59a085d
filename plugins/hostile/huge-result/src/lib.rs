//! Hostile test guest: returns a verdict whose title is 8 MiB of `x`, eight
//! times the default `max_output_bytes` (1 MiB) and well inside its memory
//! limit, so the only thing wrong is the size of the result: the host must
//! refuse it as too large rather than store or pass it on.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct HugeResult;

/// Title size.
const TITLE_BYTES: usize = 8 << 20;

impl PostmasterFilter for HugeResult {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        Ok(Verdict::default().with_title("x".repeat(TITLE_BYTES)))
    }
}

switchboard_sdk::postmaster_filter!(HugeResult);
