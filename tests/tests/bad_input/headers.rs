//! Paging limits: one rule on every list route.

use switchboard_e2e::{json, Backend, Server};

pub(crate) async fn list_limits_are_one_rule(backend: Backend) {
    let server = Server::start(backend).await;
    server.create_ticket("Limit target", json!({})).await;
    let mut failures = Vec::new();
    // Every list route with a page size: (path, largest limit).
    let routes = [
        ("/api/v1/tickets", 500),
        ("/api/v1/jobs", 1000),
        ("/api/v1/plugin-http-audit", 1000),
        ("/api/v1/plugins/keyword-router/invocations", 1000),
    ];
    for (path, max) in routes {
        for bad in ["-1".to_string(), "0".to_string(), (max + 1).to_string(), "abc".to_string(), String::new(), "1.5".to_string()] {
            let r = server.admin_get(&format!("{path}?limit={bad}")).await;
            if let Err(why) = r.check_problem(&[400], Some("limit")) {
                failures.push(format!("GET {path}?limit={bad}: {why}"));
            }
        }
        for good in ["1".to_string(), max.to_string()] {
            let r = server.admin_get(&format!("{path}?limit={good}")).await;
            if r.status != 200 {
                failures.push(format!("GET {path}?limit={good}: expected 200, got {} {}", r.status, r.text()));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
