//! Unknown names (queue, state, type, owner, …) and out-of-range values.

use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::id_of;

pub(crate) async fn unknown_names_and_ranges(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let ticket = server.create_ticket("Range target", json!({})).await;
    let tid = id_of(&ticket);
    let before = server.ticket_count().await;

    let base = json!({"title": "bad", "queue": "Raw", "article": {"body": "x"}});
    let bad_creates: Vec<(Value, &str)> = vec![
        (json!({"queue": "Nope"}), "queue"),
        (json!({"state": "Nope"}), "state"),
        (json!({"type": "Nope"}), "type"),
        (json!({"owner": "nobody"}), "owner"),
        (json!({"responsible": "nobody"}), "responsible"),
        (json!({"priority": "Nope"}), "priority"),
        (json!({"priority": 99}), "priority"),
        (json!({"priority": 0}), "priority"),
        (json!({"priority": -1}), "priority"),
        (json!({"title": ""}), "title"),
        (
            json!({"article": {"body": "x", "channel": "email", "sender_type": "agent",
                            "dynamic_fields": {"NoSuchArticleField": "x"}}}),
            "NoSuchArticleField",
        ),
        (json!({"dynamic_fields": {"NoSuchField": "x"}}), "NoSuchField"),
    ];
    let mut failures = Vec::new();
    for (extra, field) in &bad_creates {
        let mut body = base.clone();
        switchboard_e2e::merge_json(&mut body, extra.clone());
        let r = server.admin_post("/api/v1/tickets", &body).await;
        // Unknown names and out-of-range values are validation errors (422).
        if let Err(why) = r.check_problem(&[422], Some(field)) {
            failures.push(format!("POST /api/v1/tickets {extra}: {why}"));
        }
        let count = server.ticket_count().await;
        if count != before {
            failures.push(format!("POST /api/v1/tickets {extra} was rejected but the ticket count went {before} → {count}"));
        }
    }

    // The same on PATCH; the ticket stays as it was.
    for (patch, field) in [
        (json!({"queue": "Nope"}), "queue"),
        (json!({"state": "Nope"}), "state"),
        (json!({"type": "Nope"}), "type"),
        (json!({"owner": "nobody"}), "owner"),
        (json!({"priority": 6}), "priority"),
        (json!({"priority": "Nope"}), "priority"),
        (json!({"title": "changed", "queue": "Nope"}), "queue"),
    ] {
        let r = server.admin_patch(&format!("/api/v1/tickets/{tid}"), &patch).await;
        if let Err(why) = r.check_problem(&[422], Some(field)) {
            failures.push(format!("PATCH /api/v1/tickets/{tid} {patch}: {why}"));
        }
    }
    let after = server.admin_get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    for key in ["title", "queue", "state", "type", "owner", "priority"] {
        if after[key] != ticket[key] {
            failures.push(format!("rejected PATCHes changed {key}: {} → {}", ticket[key], after[key]));
        }
    }

    // Catalogue references and enums.
    let catalogue_cases: Vec<(&str, Value, &[u16], &str)> = vec![
        (
            "/api/v1/agents",
            json!({"login": "permless", "role": "agent", "permissions": [{"queue": "Nope", "permission": "rw"}]}),
            &[422],
            "queue",
        ),
        (
            "/api/v1/agents",
            json!({"login": "badperm", "role": "agent", "permissions": [{"queue": "Raw", "permission": "admin"}]}),
            &[400, 422],
            "permission",
        ),
        ("/api/v1/agents", json!({"login": "superuser", "role": "superuser"}), &[400, 422], "role"),
        (
            "/api/v1/customer-users",
            json!({"login": "nocompany@example.com", "email": "nocompany@example.com", "customer_company": "NOPE"}),
            &[422],
            "customer_company",
        ),
        ("/api/v1/states", json!({"name": "weird", "state_type": "bogus"}), &[400, 422], "state_type"),
        ("/api/v1/dynamic-fields", json!({"name": "Weird", "object_type": "ticket", "field_type": "bogus"}), &[400, 422], "field_type"),
        ("/api/v1/dynamic-fields", json!({"name": "Weird2", "object_type": "invoice", "field_type": "text"}), &[400, 422], "object_type"),
        ("/api/v1/queues", json!({"name": ""}), &[422], "name"),
    ];
    for (path, body, codes, field) in &catalogue_cases {
        let before_items = server.admin_get(path).await.items().len();
        let r = server.admin_post(path, body).await;
        if let Err(why) = r.check_problem(codes, Some(field)) {
            failures.push(format!("POST {path} {body}: {why}"));
        }
        let after_items = server.admin_get(path).await.items().len();
        if after_items != before_items {
            failures.push(format!("POST {path} {body} was rejected but created an object"));
        }
    }

    // Query-string validation on the ticket search.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("sort=bogus", "sort"),
        ("created_after=yesterday", "created_after"),
        ("cursor=%21%21garbage%21%21", "cursor"),
    ] {
        let r = server.admin_get(&format!("/api/v1/tickets?{query}")).await;
        if let Err(why) = r.check_problem(&[400, 422], Some(field)) {
            failures.push(format!("GET /api/v1/tickets?{query}: {why}"));
        }
    }

    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
