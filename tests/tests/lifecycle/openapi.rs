//! The OpenAPI document: exactly the routes of the contract (plugin routes
//! included), bearer authentication declared as a security scheme and
//! required by every operation, and every documented operation a real route
//! that refuses a request without a token.

use std::collections::BTreeSet;

use switchboard_e2e::{json, Backend, Server};

/// Every method and path of the contract, with path parameters as `{}`.
fn contract_operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    let mut add = |method: &str, path: &str| ops.insert((method.to_string(), path.to_string()));
    for c in ["queues", "states", "priorities", "types", "agents", "customer-companies", "customer-users", "dynamic-fields"] {
        for method in ["get", "post"] {
            add(method, &format!("/api/v1/{c}"));
        }
        for method in ["get", "patch", "delete"] {
            add(method, &format!("/api/v1/{c}/{{}}"));
        }
    }
    for (method, path) in [
        ("post", "/api/v1/tickets"),
        ("get", "/api/v1/tickets"),
        ("get", "/api/v1/tickets/{}"),
        ("patch", "/api/v1/tickets/{}"),
        ("get", "/api/v1/tickets/by-number/{}"),
        ("post", "/api/v1/tickets/{}/articles"),
        ("get", "/api/v1/tickets/{}/articles"),
        ("get", "/api/v1/tickets/{}/articles/{}"),
        ("get", "/api/v1/tickets/{}/articles/{}/attachments/{}"),
        ("post", "/api/v1/tickets/{}/links"),
        ("get", "/api/v1/tickets/{}/links"),
        ("delete", "/api/v1/tickets/{}/links/{}"),
        ("post", "/api/v1/tickets/{}/merge"),
        ("get", "/api/v1/tickets/{}/history"),
        ("get", "/api/v1/jobs"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{}"),
        ("get", "/api/v1/plugins"),
        ("post", "/api/v1/plugins"),
        ("get", "/api/v1/plugins/{}"),
        ("patch", "/api/v1/plugins/{}"),
        ("delete", "/api/v1/plugins/{}"),
        ("get", "/api/v1/plugins/{}/versions"),
        ("put", "/api/v1/plugins/{}/config"),
        ("get", "/api/v1/plugins/{}/config"),
        ("get", "/api/v1/plugins/{}/invocations"),
        ("post", "/api/v1/plugins/{}/apply"),
        ("get", "/api/v1/plugin-http-audit"),
    ] {
        add(method, path);
    }
    ops
}

/// `/a/{id}/b` → `/a/{}/b`.
fn normalize_path(p: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in p.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

pub(crate) async fn openapi_lists_contract(backend: Backend) {
    let server = Server::start(backend).await;
    let r = server.send(server.client().get(server.url("/api/v1/openapi.json")), "openapi.json").await;
    assert_eq!(r.status, 200, "GET /api/v1/openapi.json without auth: {}", r.text());
    assert!(r.content_type.starts_with("application/json"), "got {:?}", r.content_type);
    let doc = r.json();
    let version = doc["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3.1"), "OpenAPI version must be 3.1.x, got {version:?}");
    assert!(doc["info"]["title"].is_string(), "info.title missing");

    // Bearer authentication is a declared scheme, not a word in a description.
    let schemes = doc["components"]["securitySchemes"].as_object().cloned().unwrap_or_default();
    assert_eq!(schemes.len(), 1, "exactly one security scheme: {schemes:?}");
    assert_eq!(schemes.get("bearer"), Some(&json!({"type": "http", "scheme": "bearer"})), "the bearer scheme: {schemes:?}");

    let paths = doc["paths"].as_object().expect("paths object");
    let mut have = BTreeSet::new();
    let mut unprotected = Vec::new();
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, op) in item.iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            have.insert((method.clone(), normalize_path(path)));
            if op["security"] != json!([{"bearer": []}]) {
                unprotected.push(format!("{} {path}: security = {}", method.to_uppercase(), op["security"]));
            }
        }
    }
    let contract = contract_operations();
    let show = |ops: Vec<&(String, String)>| ops.iter().map(|(m, p)| format!("{} {p}", m.to_uppercase())).collect::<Vec<_>>().join("\n");
    let missing: Vec<_> = contract.difference(&have).collect();
    assert!(missing.is_empty(), "openapi.json lacks {} contract operations:\n{}", missing.len(), show(missing));
    let unknown: Vec<_> = have.difference(&contract).collect();
    assert!(unknown.is_empty(), "openapi.json documents operations the contract does not list (add them here):\n{}", show(unknown));
    assert!(unprotected.is_empty(), "every operation must require the bearer scheme:\n{}", unprotected.join("\n"));

    // Each documented operation is a route that wants a token.
    let mut wrong = Vec::new();
    for (method, path) in &contract {
        let url = server.url(&path.replace("{}", "1"));
        let method = switchboard_e2e::reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let r = server.send(server.client().request(method.clone(), url), &format!("{method} {path}")).await;
        if let Err(why) = r.check_problem(&[401], None) {
            wrong.push(format!("{method} {path} without a token: {why}"));
        }
    }
    assert!(wrong.is_empty(), "documented operations must exist and refuse a request without a token with 401:\n{}", wrong.join("\n"));
}
