//! Hostile test guest (service invoker): sends `params["count"]` (default
//! 50) GETs to `params["url"]` one after the other, stopping at the first
//! failure, to check the host's `max_http_requests` cap.
//!
//! Returns data `attempted`, `succeeded` and, after a failure, `error`; the
//! `error-code` is the first failure's code (e.g. `http-request-denied`
//! once the cap is reached).

use switchboard_sdk::http::Request;
use switchboard_sdk::prelude::*;

/// The exported invoker.
pub struct HttpFlood;

impl ServiceInvoker for HttpFlood {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        let url = request.params.require_param("url")?;
        let count: u32 = match request.param("count") {
            Some(c) => c.trim().parse().map_err(|_| PluginError::bad_param(format!("count {c:?} is not a number")))?,
            None => 50,
        };
        let mut succeeded = 0u32;
        let mut attempted = 0u32;
        let mut failure = None;
        for _ in 0..count {
            attempted += 1;
            match Request::get(url).max_response_bytes(64 * 1024).send() {
                Ok(_) => succeeded += 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut response = match &failure {
            Some(e) => InvokeResponse::error(e.code()).with_data("error", e.message()),
            None => InvokeResponse::ok(),
        };
        response = response.with_data("attempted", attempted.to_string()).with_data("succeeded", succeeded.to_string());
        Ok(response)
    }
}

switchboard_sdk::service_invoker!(HttpFlood);
