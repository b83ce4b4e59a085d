//! Hostile test guest: reads `std::env::vars_os()` and `args_os()`, which
//! the host should leave empty. Returns a verdict with the dynamic fields
//! `EnvCount` (number of variables), `EnvNames` (their names, not values)
//! and `ArgCount`.

use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct ReadEnv;

impl PostmasterFilter for ReadEnv {
    fn filter(_mail: Mail) -> Result<Verdict, PluginError> {
        let names: Vec<String> = std::env::vars_os().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
        let args = std::env::args_os().count();
        Ok(Verdict::default()
            .with_dynamic_field("EnvCount", names.len().to_string())
            .with_field(DynamicField::multi("EnvNames", names))
            .with_dynamic_field("ArgCount", args.to_string()))
    }
}

switchboard_sdk::postmaster_filter!(ReadEnv);
