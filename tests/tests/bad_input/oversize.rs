//! Request bodies over the configured size limit.

use switchboard_e2e::{base64, json, Backend, Server, ServerOptions};

use crate::support::id_of;

pub(crate) async fn oversize_body(backend: Backend) {
    let limit = 16 * 1024;
    let server = Server::start_with(backend, ServerOptions::default().env("SWITCHBOARD_MAX_REQUEST_BYTES", &limit.to_string())).await;
    let t = server.create_ticket("small enough", json!({})).await;
    let tid = id_of(&t);
    let before = server.ticket_count().await;
    let mut failures = Vec::new();

    let big_text = "x".repeat(limit * 2);
    let r = server.admin_post("/api/v1/tickets", &json!({"title": "too big", "queue": "Raw", "article": {"body": big_text}})).await;
    if let Err(why) = r.check_problem(&[413], None) {
        failures.push(format!("POST /api/v1/tickets with a {} byte body: {why}", limit * 2));
    }

    let big_attachment = base64(&vec![7u8; limit * 2]);
    let r = server
        .admin_post(
            &format!("/api/v1/tickets/{tid}/articles"),
            &json!({"body": "x", "attachments": [{"filename": "big.bin",
                "content_type": "application/octet-stream", "content_base64": big_attachment}]}),
        )
        .await;
    if let Err(why) = r.check_problem(&[413], None) {
        failures.push(format!("POST articles with a big base64 attachment: {why}"));
    }

    let form = reqwest::multipart::Form::new()
        .part(
            "article",
            reqwest::multipart::Part::text(json!({"body": "multipart too big"}).to_string()).mime_str("application/json").expect("mime"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![1u8; limit * 2]).file_name("big.bin").mime_str("application/octet-stream").expect("mime"),
        );
    let req =
        server.client().post(server.url(&format!("/api/v1/tickets/{tid}/articles"))).bearer_auth(server.admin_token()).multipart(form);
    let r = server.send(req, "multipart POST articles").await;
    if let Err(why) = r.check_problem(&[413], None) {
        failures.push(format!("multipart POST articles with a big file part: {why}"));
    }

    let count = server.ticket_count().await;
    if count != before {
        failures.push(format!("an oversize request created a ticket ({before} → {count})"));
    }
    let articles = server.admin_get(&format!("/api/v1/tickets/{tid}/articles")).await.items();
    if articles.len() != 1 {
        failures.push(format!("an oversize request stored an article ({} articles)", articles.len()));
    }

    // Every other JSON route is limited the same way.
    let huge = "z".repeat(limit * 2);
    for (method, path, body) in [
        (reqwest::Method::POST, "/api/v1/queues".to_string(), json!({"name": "Huge", "comment": huge})),
        (reqwest::Method::PATCH, format!("/api/v1/tickets/{tid}"), json!({"title": huge})),
        (reqwest::Method::POST, format!("/api/v1/tickets/{tid}/articles"), json!({"body": huge})),
    ] {
        let r = server.request(method.clone(), &path, Some(&server.admin_token()), Some(&body)).await;
        if let Err(why) = r.check_problem(&[413], None) {
            failures.push(format!("{method} {path} with a {} byte body: {why}", limit * 2));
        }
    }
    let t_now = server.admin_get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    if t_now["title"] != t["title"] {
        failures.push("an oversize PATCH changed the ticket".to_string());
    }

    // Just under the limit still works.
    let fits = "y".repeat(limit / 2);
    let r = server.admin_post("/api/v1/tickets", &json!({"title": "fits", "queue": "Raw", "article": {"body": fits}})).await;
    if r.status != 201 {
        failures.push(format!("a body under the limit: expected 201, got {} {}", r.status, r.text()));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
