//! U+0000 in any text: bodies, path and query parameters. PostgreSQL cannot
//! store it and FTS5 cannot parse it, so both backends refuse it alike with a
//! problem naming the field, never a 500; odd search text degrades gracefully.

use reqwest::Method;
use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::id_of;

pub(crate) async fn nul_characters_are_refused_by_field(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    server.admin_post("/api/v1/dynamic-fields", &json!({"name": "Note", "object_type": "ticket", "field_type": "text"})).await.expect(201);
    let ticket = server.create_ticket("NUL target", json!({})).await;
    let tid = id_of(&ticket);
    let t = format!("/api/v1/tickets/{tid}");
    let queue = id_of(&server.admin_get("/api/v1/queues").await.items()[0]);
    let before = server.ticket_count().await;
    let mut failures = Vec::new();

    let new_ticket = |extra: Value| {
        let mut body = json!({"title": "nul", "queue": "Raw", "article": {"body": "x"}});
        switchboard_e2e::merge_json(&mut body, extra);
        body
    };
    let bodies: Vec<(Method, String, Value, &str)> = vec![
        (Method::POST, "/api/v1/tickets".into(), new_ticket(json!({"title": "a\u{0}b"})), "title"),
        (Method::POST, "/api/v1/tickets".into(), new_ticket(json!({"queue": "Raw\u{0}"})), "queue"),
        (Method::POST, "/api/v1/tickets".into(), new_ticket(json!({"owner": "\u{0}"})), "owner"),
        (Method::POST, "/api/v1/tickets".into(), new_ticket(json!({"article": {"body": "x\u{0}y"}})), "article.body"),
        (Method::POST, "/api/v1/tickets".into(), new_ticket(json!({"article": {"subject": "\u{0}"}})), "article.subject"),
        (Method::POST, "/api/v1/tickets".into(), new_ticket(json!({"dynamic_fields": {"Note": "n\u{0}"}})), "dynamic_fields.Note"),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            new_ticket(json!({"article": {"body": "x", "attachments": [{"filename": "a\u{0}.txt", "content_base64": "eA=="}]}})),
            "article.attachments[0].filename",
        ),
        (Method::PATCH, t.clone(), json!({"title": "\u{0}"}), "title"),
        (Method::PATCH, t.clone(), json!({"state": "open\u{0}"}), "state"),
        (Method::POST, format!("{t}/articles"), json!({"body": "\u{0}"}), "body"),
        (Method::POST, "/api/v1/queues".into(), json!({"name": "Q\u{0}"}), "name"),
        (Method::PATCH, format!("/api/v1/queues/{queue}"), json!({"comment": "c\u{0}"}), "comment"),
        (Method::POST, "/api/v1/customer-users".into(), json!({"login": "n\u{0}@example.com", "email": "n@example.com"}), "login"),
        (Method::POST, "/api/v1/agents".into(), json!({"login": "agent\u{0}", "role": "agent"}), "login"),
        (
            Method::POST,
            "/api/v1/dynamic-fields".into(),
            json!({"name": "F", "label": "\u{0}", "object_type": "ticket", "field_type": "text"}),
            "label",
        ),
    ];
    for (method, path, body, field) in &bodies {
        let r = server.request(method.clone(), path, Some(&server.admin_token()), Some(body)).await;
        if let Err(why) = r.check_problem(&[422], Some(field)) {
            failures.push(format!("{method} {path} with U+0000 in {field}: {why}"));
        }
    }

    // Query and path parameters, percent-encoded as %00.
    for (query, field) in [
        ("q=needle%00", "q"),
        ("q=%00", "q"),
        ("queue=Raw%00", "queue"),
        ("owner=%00", "owner"),
        ("customer_user=a%00", "customer_user"),
        ("priority=%00", "priority"),
        ("df.Note=%00", "df.Note"),
        ("cursor=%00", "cursor"),
    ] {
        let r = server.admin_get(&format!("/api/v1/tickets?{query}")).await;
        if let Err(why) = r.check_problem(&[400], Some(field)) {
            failures.push(format!("GET /api/v1/tickets?{query}: {why}"));
        }
    }
    for (path, field) in [
        ("/api/v1/tickets/by-number/2026%00".to_string(), "number"),
        ("/api/v1/plugins/spam%00/invocations".to_string(), "name"),
        ("/api/v1/plugin-http-audit?plugin=spam%00".to_string(), "plugin"),
        ("/api/v1/jobs?status=done%00".to_string(), "status"),
    ] {
        let r = server.admin_get(&path).await;
        if let Err(why) = r.check_problem(&[400], Some(field)) {
            failures.push(format!("GET {path}: {why}"));
        }
    }

    // Search text that is not a word still answers, on both backends alike.
    for q in ["%22", "*", "-", "NEAR(", "%01", "a%22b", "%E2%9C%93", "AND%20OR%20NOT", "title:x", "%5C"] {
        let r = server.admin_get(&format!("/api/v1/tickets?q={q}")).await;
        if r.status != 200 {
            failures.push(format!("GET /api/v1/tickets?q={q}: expected 200, got {} {}", r.status, r.text()));
        }
    }

    let count = server.ticket_count().await;
    if count != before {
        failures.push(format!("refused requests changed the ticket count {before} → {count}"));
    }
    let after = server.admin_get(&t).await.expect(200);
    if after["title"] != ticket["title"] || after["state"] != ticket["state"] {
        failures.push(format!("refused PATCHes changed the ticket: {after}"));
    }
    if server.admin_get(&format!("{t}/articles")).await.items().len() != 1 {
        failures.push("a refused article was stored".to_string());
    }
    if server.logs().contains("database error") {
        failures.push(format!("the server logged a database error:\n{}", server.logs()));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
