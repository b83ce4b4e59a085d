//! The `service-invoker` world: call external web services over outbound
//! HTTP (see [`crate::http`]), limited to the hosts the admin granted in
//! `plugin.toml` (`[capabilities] http = [...]`).
//!
//! ```no_run
//! use switchboard_sdk::prelude::*;
//! use switchboard_sdk::http;
//!
//! /// Looks up a customer's credit status in the ERP.
//! struct CreditCheck;
//!
//! impl ServiceInvoker for CreditCheck {
//!     fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
//!         let base = config::require("url")?;
//!         let customer = request.params.require_param("customer")?;
//!         let response = http::Request::get(format!("{base}/credit/{customer}"))
//!             .header("accept", "application/json")
//!             .max_response_bytes(64 * 1024)
//!             .send()?;
//!         if !response.is_success() {
//!             return Ok(InvokeResponse::error(format!("http-{}", response.status)));
//!         }
//!         Ok(InvokeResponse::ok().with_data("CreditStatus", response.text()))
//!     }
//! }
//!
//! switchboard_sdk::service_invoker!(CreditCheck);
//! ```

use crate::types::{Param, Params, PluginError};

pub use crate::wit::service_invoker::switchboard::plugin::invoker_types::{InvokeRequest, InvokeResponse};

/// A service invoker. Implement it on a unit struct and export it with
/// [`service_invoker!`](crate::service_invoker).
pub trait ServiceInvoker {
    /// Performs the call. Return `Ok` with an `error_code` when the remote
    /// side refused (the caller can branch on it), `Err` when the plugin
    /// itself failed.
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError>;
}

impl InvokeRequest {
    /// The value of the parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.param(key)
    }
}

impl Default for InvokeResponse {
    /// Success without data.
    fn default() -> Self {
        Self { data: Vec::new(), error_code: None }
    }
}

impl InvokeResponse {
    /// Success without data (add some with [`with_data`](Self::with_data)).
    pub fn ok() -> Self {
        Self::default()
    }

    /// The remote side refused; `code` is what the caller branches on
    /// (e.g. `http-404`).
    pub fn error(code: impl Into<String>) -> Self {
        Self { data: Vec::new(), error_code: Some(code.into()) }
    }

    /// Adds a data entry for the caller.
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.push(Param::new(key, value));
        self
    }
}

/// Exports a [`ServiceInvoker`] as the component's `invoke` function.
///
/// Call it once, at the top level of the plugin crate:
/// `switchboard_sdk::service_invoker!(MyInvoker);`
#[macro_export]
macro_rules! service_invoker {
    ($ty:ty) => {
        const _: () = {
            struct __SwitchboardExport;
            impl $crate::wit::service_invoker::Guest for __SwitchboardExport {
                fn invoke(
                    request: $crate::invoker::InvokeRequest,
                ) -> ::core::result::Result<$crate::invoker::InvokeResponse, $crate::types::PluginError> {
                    <$ty as $crate::invoker::ServiceInvoker>::invoke(request)
                }
            }
            #[cfg(target_arch = "wasm32")]
    $crate::wit::service_invoker::export_service_invoker!(__SwitchboardExport with_types_in $crate::wit::service_invoker);
        };
    };
}
