//! Hostile test guest (service invoker): sends `params["method"]` (default
//! `GET`) to `params["url"]` and reports what happened, for the granted,
//! non-granted, redirect and DNS-to-loopback cases.
//!
//! * Answered: data `status`, `body_length`, `location` (the `Location`
//!   header, for redirects; never followed) and `body_prefix` (up to 200
//!   bytes as text); no error code, whatever the status.
//! * Refused or failed: `error-code` is the SDK's `HttpError` code — the
//!   `wasi:http` error-code case in kebab case (`http-request-denied`,
//!   `destination-ip-prohibited`, `dns-error`, `connection-refused`, …) or
//!   `invalid-url`, `too-large` — and data `error` holds the message.
//!
//! The body is read without a guest-side cap, so the host's
//! `max_http_response_bytes` is what limits it.

use switchboard_sdk::http::Request;
use switchboard_sdk::prelude::*;

/// The exported invoker.
pub struct HttpFetch;

impl ServiceInvoker for HttpFetch {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        let url = request.params.require_param("url")?;
        let method = request.param("method").unwrap_or("GET");
        match Request::new(method, url).max_response_bytes(usize::MAX).send() {
            Ok(response) => {
                let prefix = String::from_utf8_lossy(&response.body[..response.body.len().min(200)]).into_owned();
                Ok(InvokeResponse::ok()
                    .with_data("status", response.status.to_string())
                    .with_data("body_length", response.body.len().to_string())
                    .with_data("location", response.header("location").unwrap_or(""))
                    .with_data("body_prefix", prefix))
            }
            Err(e) => {
                log::info(format!("http-fetch {method} {url}: {e}"));
                Ok(InvokeResponse::error(e.code()).with_data("error", e.message()))
            }
        }
    }
}

switchboard_sdk::service_invoker!(HttpFetch);
