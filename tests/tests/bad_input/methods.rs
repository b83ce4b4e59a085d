//! HTTP methods a route does not support.

use reqwest::Method;
use switchboard_e2e::{json, Backend, Server};

use crate::support::id_of;

pub(crate) async fn unsupported_methods(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let t = id_of(&server.create_ticket("Method target", json!({})).await);
    let mut failures = Vec::new();
    for (method, path) in [
        (Method::PUT, "/api/v1/queues".to_string()),
        (Method::DELETE, "/api/v1/queues".to_string()),
        (Method::PUT, "/api/v1/queues/1".to_string()),
        (Method::DELETE, format!("/api/v1/tickets/{t}")),
        (Method::PUT, format!("/api/v1/tickets/{t}")),
        (Method::PATCH, "/api/v1/jobs".to_string()),
    ] {
        let r = server.request(method.clone(), &path, Some(&server.admin_token()), None).await;
        if let Err(why) = r.check_problem(&[405], None) {
            failures.push(format!("{method} {path}: {why}"));
        }
    }
    // Nothing was deleted by the refused DELETE.
    server.admin_get(&format!("/api/v1/tickets/{t}")).await.expect(200);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
