//! Malformed JSON, wrong types and missing fields on every write route.

use reqwest::Method;
use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::{catalogue_fixtures, check_missing_field, id_of, send_raw_json};

pub(crate) async fn malformed_json_and_wrong_types(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let cats = catalogue_fixtures(&server).await;
    let ticket = server.create_ticket("Bad input target", json!({})).await;
    let tid = id_of(&ticket);
    let other = id_of(&server.create_ticket("Other", json!({})).await);
    let t = format!("/api/v1/tickets/{tid}");

    // 1. Malformed JSON on every write route → 400 problem+json.
    let mut write_routes: Vec<(Method, String)> = Vec::new();
    for (path, id) in &cats {
        write_routes.push((Method::POST, path.to_string()));
        write_routes.push((Method::PATCH, format!("{path}/{id}")));
    }
    write_routes.push((Method::POST, "/api/v1/tickets".into()));
    write_routes.push((Method::PATCH, t.clone()));
    write_routes.push((Method::POST, format!("{t}/articles")));
    write_routes.push((Method::POST, format!("{t}/links")));
    write_routes.push((Method::POST, format!("{t}/merge")));
    let before = server.ticket_count().await;
    let mut failures = Vec::new();
    for (method, path) in &write_routes {
        // Pure syntax errors (no field names, so no other error can come first).
        for body in ["{", "not json at all", "{,}", "", "{\""] {
            let r = send_raw_json(&server, method.clone(), path, body).await;
            let ok = r.status == 400 && r.content_type.starts_with("application/problem+json");
            if !ok {
                failures.push(format!(
                    "{method} {path} body {body:?}: expected 400 problem+json, got {} ({:?}) {}",
                    r.status,
                    r.content_type,
                    r.text().chars().take(160).collect::<String>()
                ));
            }
        }
    }

    // 2. Wrong JSON types → 400/422 naming the field.
    let wrong_types: Vec<(Method, String, Value, &str)> = vec![
        (Method::POST, "/api/v1/queues".into(), json!({"name": 123}), "name"),
        (Method::PATCH, format!("/api/v1/queues/{}", cats[0].1), json!({"valid": "yes"}), "valid"),
        (Method::POST, "/api/v1/states".into(), json!({"name": "s", "state_type": 42}), "state_type"),
        (Method::PATCH, format!("/api/v1/states/{}", cats[1].1), json!({"comment": 5}), "comment"),
        (Method::POST, "/api/v1/priorities".into(), json!({"name": true}), "name"),
        (Method::PATCH, format!("/api/v1/priorities/{}", cats[2].1), json!({"name": []}), "name"),
        (Method::POST, "/api/v1/types".into(), json!({"name": {}}), "name"),
        (Method::PATCH, format!("/api/v1/types/{}", cats[3].1), json!({"valid": 1}), "valid"),
        (Method::POST, "/api/v1/agents".into(), json!({"login": 5, "role": "agent"}), "login"),
        (Method::PATCH, format!("/api/v1/agents/{}", cats[4].1), json!({"permissions": "all"}), "permissions"),
        (Method::POST, "/api/v1/customer-companies".into(), json!({"customer_id": 7, "name": "x"}), "customer_id"),
        (Method::PATCH, format!("/api/v1/customer-companies/{}", cats[5].1), json!({"name": 7}), "name"),
        (Method::POST, "/api/v1/customer-users".into(), json!({"login": "t@example.com", "email": 9}), "email"),
        (Method::PATCH, format!("/api/v1/customer-users/{}", cats[6].1), json!({"email": false}), "email"),
        (
            Method::POST,
            "/api/v1/dynamic-fields".into(),
            json!({"name": "X", "object_type": "ticket", "field_type": "dropdown", "config": {"possible_values": "a"}}),
            "possible_values",
        ),
        (Method::PATCH, format!("/api/v1/dynamic-fields/{}", cats[7].1), json!({"label": 5}), "label"),
        (Method::POST, "/api/v1/tickets".into(), json!({"title": 5, "queue": "Raw", "article": {"body": "x"}}), "title"),
        (Method::POST, "/api/v1/tickets".into(), json!({"title": "x", "queue": "Raw", "article": {"body": 7}}), "body"),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "x", "queue": "Raw", "priority": true, "article": {"body": "x"}}),
            "priority",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "x", "queue": "Raw", "article": {"body": "x", "attachments": "none"}}),
            "attachments",
        ),
        (Method::POST, "/api/v1/tickets".into(), json!({"title": "x", "queue": "Raw", "article": "just text"}), "article"),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "x", "queue": "Raw", "pending_until": "tomorrow", "article": {"body": "x"}}),
            "pending_until",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({"title": "x", "queue": "Raw", "dynamic_fields": [1, 2], "article": {"body": "x"}}),
            "dynamic_fields",
        ),
        (Method::PATCH, t.clone(), json!({"title": 5}), "title"),
        (Method::PATCH, t.clone(), json!({"pending_until": "not a date"}), "pending_until"),
        (Method::PATCH, t.clone(), json!({"priority": [3]}), "priority"),
        (Method::POST, format!("{t}/articles"), json!({"body": 5}), "body"),
        (Method::POST, format!("{t}/articles"), json!({"body": "x", "visible_for_customer": "yes"}), "visible_for_customer"),
        (Method::POST, format!("{t}/articles"), json!({"body": "x", "channel": "pigeon"}), "channel"),
        (Method::POST, format!("{t}/articles"), json!({"body": "x", "sender_type": "robot"}), "sender_type"),
        (Method::POST, format!("{t}/links"), json!({"target": "abc", "kind": "related"}), "target"),
        (Method::POST, format!("{t}/links"), json!({"target": other, "kind": "sibling"}), "kind"),
        (Method::POST, format!("{t}/merge"), json!({"into": "abc"}), "into"),
    ];
    for (method, path, body, field) in &wrong_types {
        let r = server.request(method.clone(), path, Some(&server.admin_token()), Some(body)).await;
        if let Err(why) = r.check_problem(&[400, 422], Some(field)) {
            failures.push(format!("{method} {path} {body}: {why}"));
        }
    }

    // 3. Missing required fields.
    let r = server.admin_post("/api/v1/tickets", &json!({"queue": "Raw", "article": {"body": "x"}})).await;
    if let Err(why) = check_missing_field(&r, "title") {
        failures.push(format!("missing title: {why}"));
    }
    let r = server.admin_post("/api/v1/tickets", &json!({"title": "x", "article": {"body": "x"}})).await;
    if let Err(why) = check_missing_field(&r, "queue") {
        failures.push(format!("missing queue: {why}"));
    }
    let r = server.admin_post("/api/v1/tickets", &json!({"title": "x", "queue": "Raw"})).await;
    if let Err(why) = check_missing_field(&r, "article") {
        failures.push(format!("missing article: {why}"));
    }
    let r = server.admin_post("/api/v1/tickets", &json!({"title": "x", "queue": "Raw", "article": {"subject": "s"}})).await;
    if let Err(why) = check_missing_field(&r, "body") {
        failures.push(format!("missing body: {why}"));
    }
    let r = server.admin_post("/api/v1/queues", &json!({"comment": "no name"})).await;
    if let Err(why) = check_missing_field(&r, "name") {
        failures.push(format!("missing name: {why}"));
    }
    let r = server.admin_post(&format!("{t}/articles"), &json!({"subject": "no body"})).await;
    if let Err(why) = check_missing_field(&r, "body") {
        failures.push(format!("missing body: {why}"));
    }
    let r = server.admin_post(&format!("{t}/links"), &json!({"kind": "related"})).await;
    if let Err(why) = check_missing_field(&r, "target") {
        failures.push(format!("missing target: {why}"));
    }
    let r = server.admin_post(&format!("{t}/merge"), &json!({})).await;
    if let Err(why) = check_missing_field(&r, "into") {
        failures.push(format!("missing into: {why}"));
    }

    // 4. Invalid attachment payload.
    let r = server
        .admin_post(
            "/api/v1/tickets",
            &json!({"title": "bad attachment", "queue": "Raw", "article": {"body": "x",
                "attachments": [{"filename": "a.bin", "content_type": "application/octet-stream",
                                 "content_base64": "***not base64***"}]}}),
        )
        .await;
    if let Err(why) = r.check_problem(&[400, 422], Some("content_base64")) {
        failures.push(format!("invalid base64 attachment: {why}"));
    }

    // Nothing half-written by any of the above.
    let count = server.ticket_count().await;
    if count != before {
        failures.push(format!("rejected requests changed the ticket count {before} → {count}"));
    }
    let after = server.admin_get(&t).await.expect(200);
    for key in ["title", "priority", "state", "pending_until", "merged_into"] {
        if after[key] != ticket[key] {
            failures.push(format!("rejected requests changed ticket {key}: {} → {}", ticket[key], after[key]));
        }
    }
    let articles = server.admin_get(&format!("{t}/articles")).await.items();
    if articles.len() != 1 {
        failures.push(format!("rejected article requests stored articles: {}", articles.len()));
    }
    let links = server.admin_get(&format!("{t}/links")).await.items();
    if !links.is_empty() {
        failures.push(format!("rejected link requests stored links: {links:?}"));
    }
    // Catalogue objects untouched by the rejected PATCHes.
    let q = server.admin_get(&format!("/api/v1/queues/{}", cats[0].1)).await.expect(200);
    if q["valid"] != true || q["name"] != "BadInputQueue" {
        failures.push(format!("rejected PATCH changed the queue: {q}"));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
