//! `webhook-invoker`: a service invoker that POSTs a JSON document built from
//! the call (operation, params, ticket) to the configured `url`, with an
//! optional `token` sent as `Authorization: Bearer`, and maps fields of the
//! JSON answer to the response's data through `mapping`
//! (`id=>ExternalId,status=>ExternalStatus`, dotted paths such as
//! `result.items.0.id` allowed).
//!
//! A non-2xx answer becomes `error-code = "http-<status>"` (with the status
//! in the data as `HttpStatus`); a request the host refuses or that fails in
//! transit is a plugin error with the `wasi:http` error code.

pub mod doc;

use switchboard_sdk::http::{HttpError, Request};
use switchboard_sdk::prelude::*;

use doc::{apply_mapping, parse_mapping, request_document};

/// Largest answer read (the host's `max_http_response_bytes` may be lower).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The exported invoker.
pub struct WebhookInvoker;

impl ServiceInvoker for WebhookInvoker {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        let url = config::require("url")?;
        let mapping = parse_mapping(&config::get_or("mapping", "")).map_err(PluginError::bad_config)?;
        let timeout_ms = config::get_int("timeout_ms", 0)?;

        let document = request_document(&request, &clock::now_rfc3339());
        let mut http = Request::post(&url)
            .header("accept", "application/json")
            .header("user-agent", "switchboard-webhook-invoker/0.1")
            .json(&document)?
            .max_response_bytes(MAX_RESPONSE_BYTES);
        if let Some(token) = config::get("token").filter(|t| !t.trim().is_empty()) {
            http = http.bearer_auth(token.trim());
        }
        if timeout_ms > 0 {
            http = http.timeout_ms(timeout_ms as u64);
        }

        log::debug(format!("operation {:?}: POST {url}", request.operation));
        let response = http.send().inspect_err(|e: &HttpError| log::warn(format!("POST {url} failed: {e}")))?;
        let status = response.status.to_string();
        if !response.is_success() {
            log::warn(format!("POST {url} answered {status}"));
            return Ok(InvokeResponse::error(format!("http-{status}")).with_data("HttpStatus", status));
        }

        let mut out = InvokeResponse::ok().with_data("HttpStatus", status);
        if mapping.is_empty() || response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(out);
        }
        let answer: serde_json::Value = response.json()?;
        for (key, value) in apply_mapping(&mapping, &answer) {
            out = out.with_data(key, value);
        }
        Ok(out)
    }
}

switchboard_sdk::service_invoker!(WebhookInvoker);
