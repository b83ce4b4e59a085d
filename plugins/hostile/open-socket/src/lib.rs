//! Hostile test guest: tries `std::net::TcpStream::connect` to
//! `127.0.0.1:22` (or the `host:port` in the mail header
//! `X-Hostile-Address`).
//!
//! * Denied (the expected case): the plugin error with code `denied` and the
//!   I/O error as message. It does not trap.
//! * Connected: a verdict with the dynamic field `Connected=1`.
//!
//! Note that the component then imports `wasi:sockets/*` (Rust's std uses
//! them for `std::net`), so the host has to link them, denying everything.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use switchboard_sdk::prelude::*;

/// The exported filter.
pub struct OpenSocket;

impl PostmasterFilter for OpenSocket {
    fn filter(mail: Mail) -> Result<Verdict, PluginError> {
        let address = mail.header("X-Hostile-Address").unwrap_or("127.0.0.1:22").trim().to_owned();
        let addr: SocketAddr = address.parse().map_err(|e| PluginError::bad_param(format!("{address:?}: {e}")))?;
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(stream) => {
                drop(stream);
                log::warn(format!("open-socket: connected to {address}"));
                Ok(Verdict::default().with_title(format!("connected to {address}")).with_dynamic_field("Connected", "1"))
            }
            Err(e) => Err(PluginError::new("denied", format!("connecting to {address}: {e} ({:?})", e.kind()))),
        }
    }
}

switchboard_sdk::postmaster_filter!(OpenSocket);
