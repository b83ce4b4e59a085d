//! Hostile test guest: returns a verdict whose title is 50 MiB of `x`. The
//! host must refuse the oversized result (or the title) rather than store it
//! or run out of memory. The manifest grants 128 MiB so the guest can build
//! the value; the point is the host's handling of the result.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct HugeResult;

/// Title size.
const TITLE_BYTES: usize = 50 << 20;

impl PostmasterFilter for HugeResult {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        Ok(Verdict::default().with_title("x".repeat(TITLE_BYTES)))
    }
}

switchboard_sdk::postmaster_filter!(HugeResult);
