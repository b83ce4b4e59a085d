//! What the OpenAPI document forbids, the server refuses: `null` in a change
//! (PATCH) for a field null does not clear, where "no change" and "clear"
//! would look alike (naming the field, and changing nothing; in a create,
//! null is "not given", as the document says), a body that is not a JSON object (serde would read a struct
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
    let company =
        server.admin_post("/api/v1/customer-companies", &json!({"customer_id": "C1", "name": "C", "city": "Bern"})).await.expect(201)["id"]
            .clone();
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
        (Method::PATCH, t.clone(), json!({"priority": null}), "priority"),
        (Method::PATCH, q.clone(), json!({"name": null}), "name"),
        (Method::PATCH, q.clone(), json!({"valid": null}), "valid"),
        (Method::PATCH, format!("/api/v1/plugins/{plugin}"), json!({"enabled": null}), "enabled"),
        (Method::PATCH, format!("/api/v1/customer-companies/{company}"), json!({"city": null}), "city"),
        (Method::PATCH, "/api/v1/agents/1".to_string(), json!({"role": null}), "role"),
    ] {
        let r = server.request(method.clone(), &path, Some(&server.admin_token()), Some(&body)).await;
        expect(format!("{method} {path} {body}"), r, field);
    }
    // The fields that null clears still take it, and in a create null is "not given".
    server.admin_patch(&t, &json!({"owner": null, "pending_until": null})).await.expect(200);
    let created = server
        .admin_post("/api/v1/tickets", &json!({"title": "x", "queue": "Raw", "owner": null, "article": {"body": "b", "subject": null}}))
        .await
        .expect(201);
    assert_eq!(created["owner"], json!(null));
    assert_eq!(created["article"]["subject"], "");

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
    assert!(!server.admin_get("/api/v1/queues").await.items().iter().any(|q| q["name"] == "with-type"));
    assert_eq!(server.admin_get(&format!("/api/v1/customer-companies/{company}")).await.expect(200)["city"], "Bern");
    assert_eq!(server.admin_get("/api/v1/agents/1").await.expect(200)["role"], "admin");
    let states = server.admin_get("/api/v1/states").await.items();
    assert!(states.iter().all(|s| s["name"] != "spelled"), "a state with a misspelt type was created");
    assert!(states.iter().all(|s| s["state_type"].is_string()), "every state has its type: {states:?}");
    assert!(server.admin_get("/api/v1/queues").await.items().iter().all(|q| q.get("state_type").is_none()), "queues have no state_type");
    assert!(failures.is_empty(), "{} requests were not refused as the document says:\n{}", failures.len(), failures.join("\n"));
}
