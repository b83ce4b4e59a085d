//! Idempotent creates (`Idempotency-Key`) and concurrent creates.

use std::collections::HashSet;

use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::id_of;

pub(crate) async fn idempotency_and_concurrency(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.admin_token();
    let body = json!({"title": "Idempotent", "queue": "Raw", "article": {"body": "once"}});
    let post = |key: &str, body: &Value| {
        server.client().post(server.url("/api/v1/tickets")).bearer_auth(&token).header("Idempotency-Key", key).json(body)
    };
    let before = server.ticket_count().await;
    let first = server.send(post("key-1", &body), "POST idempotent").await.expect(201);
    let second = server.send(post("key-1", &body), "POST idempotent again").await;
    let second = second.expect_one_of(&[200, 201]);
    assert_eq!(second["id"], first["id"], "same Idempotency-Key must return the same ticket");
    assert_eq!(second["number"], first["number"]);
    assert_eq!(server.ticket_count().await, before + 1, "replay created a second ticket");

    let other_body = json!({"title": "Different", "queue": "Raw", "article": {"body": "twice"}});
    let r = server.send(post("key-1", &other_body), "POST key reuse").await;
    r.expect_problem(&[409, 422]);
    assert_eq!(server.ticket_count().await, before + 1, "key reuse created a ticket");

    let third = server.send(post("key-2", &body), "POST new key").await.expect(201);
    assert_ne!(third["id"], first["id"], "a new key must create a new ticket");

    // Same key sent concurrently: exactly one ticket.
    let before = server.ticket_count().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let req = post("key-concurrent", &body);
        set.spawn(async move {
            let r = req.send().await.expect("send");
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            (status, v)
        });
    }
    let mut ids = HashSet::new();
    while let Some(res) = set.join_next().await {
        let (status, v) = res.expect("task");
        assert!(matches!(status, 200 | 201 | 409), "concurrent replay: {status} {v}");
        if status != 409 {
            ids.insert(id_of(&v));
        }
    }
    assert_eq!(ids.len(), 1, "concurrent same-key requests returned different tickets: {ids:?}");
    assert_eq!(server.ticket_count().await, before + 1, "concurrent same-key requests created several tickets");

    // 50 concurrent creates → 50 distinct ids and numbers.
    let before = server.ticket_count().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let req = server
            .client()
            .post(server.url("/api/v1/tickets"))
            .bearer_auth(&token)
            .json(&json!({"title": format!("Concurrent {i}"), "queue": "Raw",
                          "article": {"body": format!("body {i}")}}));
        set.spawn(async move {
            let r = req.send().await.expect("send");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            (status, text)
        });
    }
    let mut ids = HashSet::new();
    let mut numbers = HashSet::new();
    let mut errors = Vec::new();
    while let Some(res) = set.join_next().await {
        let (status, text) = res.expect("task");
        if status != 201 {
            errors.push(format!("{status}: {text}"));
            continue;
        }
        let v: Value = serde_json::from_str(&text).expect("json");
        ids.insert(id_of(&v));
        numbers.insert(v["number"].as_str().unwrap_or("").to_string());
    }
    assert!(errors.is_empty(), "concurrent creates failed:\n{}", errors.join("\n"));
    assert_eq!(ids.len(), 50, "50 creates must give 50 distinct ids");
    assert_eq!(numbers.len(), 50, "50 creates must give 50 distinct numbers");
    assert_eq!(server.ticket_count().await, before + 50);
}
