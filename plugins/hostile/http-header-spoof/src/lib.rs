//! Hostile test guest (service invoker): sends a GET to `params["url"]` (a
//! granted origin) with the header `Host: <params["host"]>` (default
//! `127.0.0.1:22`), trying to reach another virtual host than the grant
//! names.
//!
//! * The host refuses the header or the request: `error-code` is the SDK's
//!   code (`invalid-header` when the header list is refused,
//!   `http-request-denied`, …) and data `error` the message.
//! * Answered: data `status` and `body_prefix` (the server can then tell which
//!   Host it saw).

use switchboard_sdk::http::Request;
use switchboard_sdk::prelude::*;

/// The exported invoker.
pub struct HttpHeaderSpoof;

impl ServiceInvoker for HttpHeaderSpoof {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        let url = request.params.require_param("url")?;
        let host = request.param("host").unwrap_or("127.0.0.1:22");
        match Request::get(url).header("host", host).max_response_bytes(64 * 1024).send() {
            Ok(response) => {
                let prefix = String::from_utf8_lossy(&response.body[..response.body.len().min(200)]).into_owned();
                Ok(InvokeResponse::ok().with_data("status", response.status.to_string()).with_data("body_prefix", prefix))
            }
            Err(e) => Ok(InvokeResponse::error(e.code()).with_data("error", e.message())),
        }
    }
}

switchboard_sdk::service_invoker!(HttpHeaderSpoof);
