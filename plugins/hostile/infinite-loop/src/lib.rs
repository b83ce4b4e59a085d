//! Hostile test guest: `filter` never returns. The host must interrupt it
//! (epoch deadline or fuel) and report the call as timed out.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct InfiniteLoop;

impl PostmasterFilter for InfiniteLoop {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        let mut n: u64 = 0;
        loop {
            // black_box keeps the loop (and its back-edge checks) from being optimised away.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

switchboard_sdk::postmaster_filter!(InfiniteLoop);
