//! Small helpers for test bodies: JSON merging, query encoding, polling, timestamps, hashes, base64.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Recursively merges `extra` into `base` (objects merge key-wise, anything
/// else replaces).
pub fn merge_json(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// Percent-encodes a query-string value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Polls `check` every `interval` until it returns `Some`, or panics with
/// `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, interval: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {}s waiting for {what}", timeout.as_secs_f32());
        }
        tokio::time::sleep(interval).await;
    }
}

/// RFC 3339 UTC timestamp `secs` seconds from now (may be negative).
pub fn rfc3339_from_now(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Standard base64 of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
