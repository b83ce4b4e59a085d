//! Duplicates, dangling references and unknown ids.

use reqwest::Method;
use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::id_of;

pub(crate) async fn duplicates_references_and_unknown_ids(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    server.admin_post("/api/v1/customer-companies", &json!({"customer_id": "ACME", "name": "Acme"})).await.expect(201);
    server.admin_post("/api/v1/customer-users", &json!({"login": "dup@example.com", "email": "dup@example.com"})).await.expect(201);
    server.admin_post("/api/v1/dynamic-fields", &json!({"name": "Dup", "object_type": "ticket", "field_type": "text"})).await.expect(201);
    let t = server.create_ticket("Referencing ticket", json!({})).await;
    let tid = id_of(&t);

    let mut failures = Vec::new();
    for (path, body) in [
        ("/api/v1/queues", json!({"name": "Raw"})),
        ("/api/v1/states", json!({"name": "new", "state_type": "new"})),
        ("/api/v1/priorities", json!({"name": "3 normal"})),
        ("/api/v1/types", json!({"name": "Incident"})),
        ("/api/v1/agents", json!({"login": "admin", "role": "agent"})),
        ("/api/v1/customer-companies", json!({"customer_id": "ACME", "name": "Acme again"})),
        ("/api/v1/customer-users", json!({"login": "dup@example.com", "email": "other@example.com"})),
        ("/api/v1/dynamic-fields", json!({"name": "Dup", "object_type": "ticket", "field_type": "text"})),
    ] {
        let before = server.admin_get(path).await.items().len();
        let r = server.admin_post(path, &body).await;
        if let Err(why) = r.check_problem(&[409], None) {
            failures.push(format!("duplicate POST {path} {body}: {why}"));
        }
        let after = server.admin_get(path).await.items().len();
        if after != before {
            failures.push(format!("duplicate POST {path} created an object"));
        }
    }

    // Renaming onto an existing name is a duplicate too.
    let misc = server.admin_get("/api/v1/queues").await.items().into_iter().find(|q| q["name"] == "Misc").expect("default queue Misc");
    let r = server.admin_patch(&format!("/api/v1/queues/{}", id_of(&misc)), &json!({"name": "Raw"})).await;
    if r.status != 409 {
        failures.push(format!("PATCH queue Misc name→Raw: expected 409, got {} {}", r.status, r.text()));
    }

    // Deleting something a ticket still references → 409, nothing deleted.
    let find = |items: Vec<Value>, name: &str| -> i64 {
        id_of(items.iter().find(|x| x["name"] == name).unwrap_or_else(|| panic!("{name} not in {items:?}")))
    };
    let state_new = find(server.admin_get("/api/v1/states").await.items(), "new");
    let type_unc = find(server.admin_get("/api/v1/types").await.items(), "Unclassified");
    let admin_agent =
        id_of(server.admin_get("/api/v1/agents").await.items().iter().find(|a| a["login"] == "admin").expect("default agent admin"));
    for path in [
        "/api/v1/queues/1".to_string(),
        format!("/api/v1/states/{state_new}"),
        "/api/v1/priorities/3".to_string(),
        format!("/api/v1/types/{type_unc}"),
        format!("/api/v1/agents/{admin_agent}"),
    ] {
        let r = server.admin_delete(&path).await;
        if let Err(why) = r.check_problem(&[409], None) {
            failures.push(format!("DELETE {path} (still referenced): {why}"));
        }
        let still = server.admin_get(&path).await;
        if still.status != 200 {
            failures.push(format!("DELETE {path} was refused but GET now gives {}", still.status));
        }
    }

    // Unknown ids → 404 problem.
    let t = format!("/api/v1/tickets/{tid}");
    let first_article = id_of(&server.admin_get(&format!("{t}/articles")).await.items()[0]);
    let not_found: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/tickets/999999".into(), None),
        (Method::PATCH, "/api/v1/tickets/999999".into(), Some(json!({"title": "x"}))),
        (Method::GET, "/api/v1/tickets/by-number/1999010110999999".into(), None),
        (Method::GET, "/api/v1/tickets/999999/articles".into(), None),
        (Method::POST, "/api/v1/tickets/999999/articles".into(), Some(json!({"body": "x"}))),
        (Method::GET, format!("{t}/articles/999999"), None),
        (Method::GET, format!("{t}/articles/{first_article}/attachments/999999"), None),
        (Method::GET, "/api/v1/tickets/999999/history".into(), None),
        (Method::GET, "/api/v1/tickets/999999/links".into(), None),
        (Method::POST, "/api/v1/tickets/999999/merge".into(), Some(json!({"into": tid}))),
        (Method::GET, "/api/v1/queues/999999".into(), None),
        (Method::PATCH, "/api/v1/queues/999999".into(), Some(json!({"comment": "x"}))),
        (Method::DELETE, "/api/v1/queues/999999".into(), None),
        (Method::GET, "/api/v1/states/999999".into(), None),
        (Method::DELETE, "/api/v1/priorities/999999".into(), None),
        (Method::PATCH, "/api/v1/types/999999".into(), Some(json!({"comment": "x"}))),
        (Method::GET, "/api/v1/agents/999999".into(), None),
        (Method::GET, "/api/v1/customer-companies/999999".into(), None),
        (Method::DELETE, "/api/v1/customer-users/999999".into(), None),
        (Method::GET, "/api/v1/dynamic-fields/999999".into(), None),
    ];
    for (method, path, body) in &not_found {
        let r = server.request(method.clone(), path, Some(&server.admin_token()), body.as_ref()).await;
        if let Err(why) = r.check_problem(&[404], None) {
            failures.push(format!("{method} {path}: {why}"));
        }
    }
    // Linking / merging to a ticket that does not exist.
    for (path, body) in
        [(format!("{t}/links"), json!({"target": 999999, "kind": "related"})), (format!("{t}/merge"), json!({"into": 999999}))]
    {
        let r = server.admin_post(&path, &body).await;
        if !matches!(r.status, 404 | 422) {
            failures.push(format!("POST {path} {body}: expected 404/422, got {} {}", r.status, r.text()));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
