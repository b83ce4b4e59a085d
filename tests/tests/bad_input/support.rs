//! Helpers shared by the bad-input tests: raw JSON requests, missing-field checks, catalogue fixtures.

use reqwest::Method;
use switchboard_e2e::{json, Resp, Server, Value};

pub(crate) fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

/// Sends `body` verbatim as `application/json`.
pub(crate) async fn send_raw_json(server: &Server, method: Method, path: &str, body: &str) -> Resp {
    server.raw(method, path, Some(&server.admin_token()), "application/json", body.to_string()).await
}

/// Checks for 400/422 naming `field` either in `errors[].field` or (for
/// missing fields, which serde reports by message) in the detail text.
pub(crate) fn check_missing_field(resp: &Resp, field: &str) -> Result<(), String> {
    let v = resp.check_problem(&[400, 422], None)?;
    let in_errors =
        v["errors"].as_array().map(|a| a.iter().any(|e| e["field"].as_str().is_some_and(|f| f.contains(field)))).unwrap_or(false);
    let in_detail = v["detail"].as_str().is_some_and(|d| d.contains(field));
    if in_errors || in_detail {
        Ok(())
    } else {
        Err(format!("missing field {field:?} must be named in errors[].field or detail: {v}"))
    }
}

/// Catalogue collection paths with a valid create body and one existing id.
pub(crate) async fn catalogue_fixtures(server: &Server) -> Vec<(&'static str, i64)> {
    let created = [
        ("/api/v1/queues", json!({"name": "BadInputQueue"})),
        ("/api/v1/states", json!({"name": "bad input state", "state_type": "open"})),
        ("/api/v1/priorities", json!({"name": "6 bad input"})),
        ("/api/v1/types", json!({"name": "BadInputType"})),
        ("/api/v1/agents", json!({"login": "badinput", "role": "agent"})),
        ("/api/v1/customer-companies", json!({"customer_id": "BADCO", "name": "Bad Input Ltd"})),
        ("/api/v1/customer-users", json!({"login": "bad@example.com", "email": "bad@example.com"})),
        ("/api/v1/dynamic-fields", json!({"name": "BadInputField", "object_type": "ticket", "field_type": "text"})),
    ];
    let mut out = Vec::new();
    for (path, body) in created {
        let v = server.admin_post(path, &body).await.expect(201);
        out.push((path, id_of(&v)));
    }
    out
}
