//! [`Resp`]: a fully read HTTP response with status, JSON and problem-detail assertions.

use serde_json::Value;

/// A parsed HTTP response (body fully read).
#[derive(Clone, Debug)]
pub struct Resp {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header (empty when missing).
    pub content_type: String,
    /// All response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Raw body bytes.
    pub bytes: Vec<u8>,
}

impl Resp {
    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The body parsed as JSON; panics with the body text when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("response (status {}) is not JSON: {e}\nbody: {}", self.status, self.text()))
    }

    /// Asserts the status code and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "expected HTTP {status}, got {}; body: {}", self.status, self.text());
        if self.bytes.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts the status code is one of `codes` and returns the JSON body (or
    /// `Null` for an empty body).
    #[track_caller]
    pub fn expect_one_of(&self, codes: &[u16]) -> Value {
        assert!(codes.contains(&self.status), "expected HTTP one of {codes:?}, got {}; body: {}", self.status, self.text());
        if self.bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
        }
    }

    /// `items` of a list response.
    #[track_caller]
    pub fn items(&self) -> Vec<Value> {
        let v = self.expect(200);
        v["items"].as_array().unwrap_or_else(|| panic!("list response without items array: {v}")).clone()
    }

    /// Checks that this is an RFC 7807 problem response with one of `codes`,
    /// served as `application/problem+json` with a matching `status` member
    /// and a `title`; with `field`, additionally requires an entry in
    /// `errors[]` whose `field` mentions it (exact match, or a path such as
    /// `article.body` / `dynamic_fields.Region` containing it). Returns the
    /// problem body, or a description of what is wrong (including the body).
    pub fn check_problem(&self, codes: &[u16], field: Option<&str>) -> Result<Value, String> {
        let body: String = self.text().chars().take(300).collect();
        if !codes.contains(&self.status) {
            return Err(format!("expected HTTP {codes:?}, got {}; body: {body}", self.status));
        }
        if !self.content_type.starts_with("application/problem+json") {
            return Err(format!(
                "HTTP {} error must have Content-Type application/problem+json, got {:?}; body: {body}",
                self.status, self.content_type
            ));
        }
        let v: Value = serde_json::from_slice(&self.bytes).map_err(|e| format!("problem body is not JSON ({e}): {body}"))?;
        if v["status"].as_u64() != Some(u64::from(self.status)) {
            return Err(format!("problem body `status` must equal the HTTP status: {v}"));
        }
        if !v["title"].is_string() {
            return Err(format!("problem body needs a `title`: {v}"));
        }
        if let Some(field) = field {
            let fields: Vec<String> = v["errors"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            if !fields.iter().any(|f| f == field || f.contains(field)) {
                return Err(format!("HTTP {}: expected errors[].field naming {field:?}, got fields {fields:?}; body: {v}", self.status));
            }
        }
        Ok(v)
    }

    /// Panicking form of [`Resp::check_problem`] without a field.
    #[track_caller]
    pub fn expect_problem(&self, codes: &[u16]) -> Value {
        self.check_problem(codes, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Panicking form of [`Resp::check_problem`] with a field.
    #[track_caller]
    pub fn expect_field_error(&self, codes: &[u16], field: &str) -> Value {
        self.check_problem(codes, Some(field)).unwrap_or_else(|e| panic!("{e}"))
    }
}
