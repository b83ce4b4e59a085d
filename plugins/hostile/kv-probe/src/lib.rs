//! Test guest (service invoker) for the plugin key-value store: each call runs
//! the operation in `params["op"]` on `params["key"]` through the `kv` import.
//!
//! * `incr`: adds one to the decimal counter under `key` with a
//!   compare-and-swap loop (safe across concurrent calls); data `count` (the
//!   new value) and `attempts` (swaps tried).
//! * `set`: stores `params["value"]`, or `params["size"]` bytes of `x`.
//! * `get`: data `found` (`true`/`false`) and `value`.
//! * `delete`: data `existed`.
//! * `keys`: data `keys`, the keys starting with `key` joined by `,`.
//! * `fill`: sets `key` to `params["size"]` bytes of `x`, `params["count"]`
//!   times over (the store holds one value; the call writes them all); stops
//!   at the first refusal and reports data `written` and `error` instead of
//!   failing, so the host alone must end the call.
//!
//! A refused operation is the plugin error the host gave (code `denied`
//! without `capabilities.kv`, `too-large` over the quota).

use switchboard_sdk::prelude::*;

/// The exported invoker.
pub struct KvProbe;

/// Adds one to the counter under `key`; returns the new value and the swaps tried.
fn increment(key: &str) -> Result<(u64, u32), PluginError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let old = kv::get(key)?;
        let n: u64 = match old.as_deref() {
            None => 0,
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| PluginError::new("corrupt", format!("{key} does not hold a counter")))?,
        };
        if kv::compare_and_swap(key, old.as_deref(), Some((n + 1).to_string().as_bytes()))? {
            return Ok((n + 1, attempts));
        }
    }
}

impl ServiceInvoker for KvProbe {
    fn invoke(request: InvokeRequest) -> Result<InvokeResponse, PluginError> {
        let op = request.params.require_param("op")?;
        let key = request.params.require_param("key")?;
        let response = InvokeResponse::ok();
        Ok(match op {
            "incr" => {
                let (count, attempts) = increment(key)?;
                response.with_data("count", count.to_string()).with_data("attempts", attempts.to_string())
            }
            "set" => {
                let value = match (request.param("value"), request.param("size")) {
                    (Some(v), _) => v.to_string(),
                    (None, Some(size)) => {
                        let n: usize = size.trim().parse().map_err(|_| PluginError::bad_param(format!("size {size:?} is not a number")))?;
                        "x".repeat(n)
                    }
                    (None, None) => return Err(PluginError::bad_param("set needs `value` or `size`")),
                };
                kv::set(key, value)?;
                response
            }
            "get" => match kv::get_string(key)? {
                Some(value) => response.with_data("found", "true").with_data("value", value),
                None => response.with_data("found", "false"),
            },
            "delete" => response.with_data("existed", kv::delete(key)?.to_string()),
            "keys" => response.with_data("keys", kv::keys(key)?.join(",")),
            "fill" => {
                let number = |name: &str| -> Result<usize, PluginError> {
                    let v = request.params.require_param(name)?;
                    v.trim().parse().map_err(|_| PluginError::bad_param(format!("{name} {v:?} is not a number")))
                };
                let (size, count) = (number("size")?, number("count")?);
                let value = "x".repeat(size);
                let mut written = 0;
                let mut error = String::new();
                for _ in 0..count {
                    match kv::set(key, value.as_str()) {
                        Ok(()) => written += 1,
                        Err(e) => {
                            error = format!("{}: {}", e.code, e.message);
                            break;
                        }
                    }
                }
                response.with_data("written", written.to_string()).with_data("error", error)
            }
            other => return Err(PluginError::bad_param(format!("unknown op {other:?}"))),
        })
    }
}

switchboard_sdk::service_invoker!(KvProbe);
