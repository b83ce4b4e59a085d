//! Hostile test guest: panics in `filter`. Plugins are built with
//! `panic = "abort"`, so the panic message goes to stderr and the instance
//! traps; the host must report the call as failed.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct Panic;

impl PostmasterFilter for Panic {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        panic!("hostile-panic: deliberate panic while filtering {:?}", mail.subject);
    }
}

switchboard_sdk::postmaster_filter!(Panic);
