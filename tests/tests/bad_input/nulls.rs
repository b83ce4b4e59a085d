//! What the OpenAPI document forbids, the server refuses: `null` for a field
//! the document does not declare nullable (naming the field, and changing
//! nothing), a body that is not a JSON object (serde would read a struct
//! from an array of its fields), a `state_type` on a queue, priority or type,
//! and state types spelled other than the document's enum.

use reqwest::Method;
use switchboard_e2e::{json, Backend, Server};

pub(crate) async fn nulls_arrays_and_closed_words(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let ticket = server.create_ticket("Nulls", json!({})).await;
    let t = format!("/api/v1/tickets/{}", ticket["id"]);
    let queue = server.admin_get("/api/v1/queues").await.items()[0].clone();
    let q = format!("/api/v1/queues/{}", queue["id"]);
    let plugin = server.admin_get("/api/v1/plugins").await.items()[0]["name"].as_str().unwrap_or("").to_string();
    let mut failures = Vec::new();
    let mut expect = |what: String, r: switchboard_e2e::Resp, field: &str| {
        if let Err(why) = r.check_problem(&[422], Some(field)) {
            failures.push(format!("{what}: {why}"));
        }
    };

    // null where the document says "leave it out".
    for (method, path, body, field) in [
        (Method::PATCH, t.clone(), json!({"title": null}), "title"),
        (Method::PATCH, t.clone(), json!({"queue": null}), "queue"),
        (Method::PATCH, t.clone(), json!({"dynamic_fields": null}), "dynamic_fields"),
        (Method::POST, "/api/v1/tickets".to_string(), json!({"title": "x", "queue": null, "article": {"body": "b"}}), "queue"),
        (Method::POST, "/api/v1/tickets".to_string(), json!({"title": "x", "queue": "Raw", "article": {"body": "b", "subject": null}}), "article.subject"),
        (Method::PATCH, q.clone(), json!({"name": null}), "name"),
        (Method::POST, "/api/v1/queues".to_string(), json!({"name": "n1", "valid": null}), "valid"),
        (Method::PATCH, format!("/api/v1/plugins/{plugin}"), json!({"enabled": null}), "enabled"),
        (Method::POST, "/api/v1/customer-companies".to_string(), json!({"customer_id": "C1", "name": "C", "city": null}), "city"),
    ] {
        let r = server.request(method.clone(), &path, Some(&server.admin_token()), Some(&body)).await;
        expect(format!("{method} {path} {body}"), r, field);
    }
    // The fields that null clears still take it.
    server.admin_patch(&t, &json!({"owner": null, "pending_until": null})).await.expect(200);

    // A body that is an array of the fields, or a bare value, is not an object.
    for body in [json!([false, null]), json!([true, "1.0.0"]), json!(null), json!("x")] {
        let r = server.admin_patch(&format!("/api/v1/plugins/{plugin}"), &body).await;
        expect(format!("PATCH /api/v1/plugins/{plugin} {body}"), r, "body");
    }
    let r = server.admin_patch(&q, &json!(["renamed", "c", true])).await;
    expect(format!("PATCH {q} as an array"), r, "body");

    // Queues, priorities and types have no state type; states spell theirs as the enum does.
    let r = server.admin_post("/api/v1/queues", &json!({"name": "with-type", "state_type": "open"})).await;
    expect("POST /api/v1/queues with a state_type".into(), r, "state_type");
    let r = server.admin_patch(&q, &json!({"state_type": "open"})).await;
    expect(format!("PATCH {q} with a state_type"), r, "state_type");
    let r = server.admin_post("/api/v1/states", &json!({"name": "spelled", "state_type": "Pending Reminder"})).await;
    expect("POST /api/v1/states with state_type \"Pending Reminder\"".into(), r, "state_type");
    let r = server.admin_get("/api/v1/tickets?state_type=Open").await;
    expect("GET /api/v1/tickets?state_type=Open".into(), r, "state_type");
    let r = server.admin_post("/api/v1/dynamic-fields", &json!({"name": " Spaced ", "object_type": "ticket", "field_type": "text"})).await;
    expect("POST /api/v1/dynamic-fields with a name in spaces".into(), r, "name");

    // Nothing was changed by the refused requests.
    assert_eq!(server.admin_get(&q).await.expect(200)["name"], queue["name"], "the queue kept its name");
    assert_eq!(server.admin_get(&t).await.expect(200)["title"], "Nulls", "the ticket kept its title");
    assert!(!server.admin_get("/api/v1/queues").await.items().iter().any(|q| q["name"] == "with-type" || q["name"] == "n1"));
    let states = server.admin_get("/api/v1/states").await.items();
    assert!(states.iter().all(|s| s["name"] != "spelled"), "a state with a misspelt type was created");
    assert!(states.iter().all(|s| s["state_type"].is_string()), "every state has its type: {states:?}");
    assert!(server.admin_get("/api/v1/queues").await.items().iter().all(|q| q.get("state_type").is_none()), "queues have no state_type");
    assert!(failures.is_empty(), "{} requests were not refused as the document says:\n{}", failures.len(), failures.join("\n"));
}
