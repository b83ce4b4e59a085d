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
//!
//! * `params["body_bytes"]`: sends that many bytes of `x` as the request body
//!   (the host counts request bodies against `max_output_bytes`).
//! * `params["authority"]`: sends the GET with raw `wasi:http` calls and this
//!   authority, e.g. `user:pw@127.0.0.1:8080`, which the SDK itself refuses
//!   (the host must refuse user info too); data `status`, or `error-code`
//!   `http-request-denied` / `other` with data `error`.

use switchboard_sdk::http::Request;
use switchboard_sdk::prelude::*;
use switchboard_sdk::wit::service_invoker::wasi::http::outgoing_handler;
use switchboard_sdk::wit::service_invoker::wasi::http::types::{ErrorCode, Fields, Method, OutgoingRequest, Scheme};

/// Sends `GET http://{authority}/` without the SDK's URL checks.
fn raw_get(authority: &str) -> Result<u16, (String, String)> {
    let other = |why: String| ("other".to_string(), why);
    let request = OutgoingRequest::new(Fields::new());
    request.set_method(&Method::Get).map_err(|()| other("method refused".into()))?;
    request.set_scheme(Some(&Scheme::Http)).map_err(|()| other("scheme refused".into()))?;
    request.set_authority(Some(authority)).map_err(|()| other(format!("authority {authority:?} refused by wasi:http")))?;
    request.set_path_with_query(Some("/")).map_err(|()| other("path refused".into()))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| other(format!("{e:?}")))?;
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(response))) => Ok(response.status()),
        Some(Ok(Err(ErrorCode::HttpRequestDenied))) => Err(("http-request-denied".into(), "denied".into())),
        Some(Ok(Err(e))) => Err(other(format!("{e:?}"))),
        _ => Err(other("no response".into())),
    }
}

/// The exported invoker.
pub struct HttpFetch;

impl ServiceInvoker for HttpFetch {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        if let Some(authority) = request.param("authority") {
            return Ok(match raw_get(authority) {
                Ok(status) => InvokeResponse::ok().with_data("status", status.to_string()),
                Err((code, why)) => InvokeResponse::error(code).with_data("error", why),
            });
        }
        let url = request.params.require_param("url")?;
        let method = request.param("method").unwrap_or("GET");
        let mut outgoing = Request::new(method, url).max_response_bytes(usize::MAX);
        if let Some(size) = request.param("body_bytes") {
            let n: usize = size.trim().parse().map_err(|_| PluginError::bad_param(format!("body_bytes {size:?} is not a number")))?;
            outgoing = outgoing.body(vec![b'x'; n]);
        }
        match outgoing.send() {
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
