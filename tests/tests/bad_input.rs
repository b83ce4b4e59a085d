//! Bad input on every write route: malformed JSON, wrong types, unknown
//! names, out-of-range values, invalid dynamic field values, oversize bodies,
//! duplicates and unknown ids. Errors must be `application/problem+json`,
//! name the offending field, and leave nothing half-written.

use reqwest::Method;
use switchboard_e2e::{backend_tests, base64, json, Backend, Resp, Server, ServerOptions, Value};

backend_tests!(
    malformed_json_and_wrong_types,
    unknown_names_and_ranges,
    dynamic_field_values,
    duplicates_references_and_unknown_ids,
    oversize_body,
    unsupported_methods
);

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

/// Sends `body` verbatim as `application/json`.
async fn send_raw_json(server: &Server, method: Method, path: &str, body: &str) -> Resp {
    server.raw(method, path, Some(&server.admin_token()), "application/json", body.to_string()).await
}

/// Checks for 400/422 naming `field` either in `errors[].field` or (for
/// missing fields, which serde reports by message) in the detail text.
fn check_missing_field(resp: &Resp, field: &str) -> Result<(), String> {
    let v = resp.check_problem(&[400, 422], None)?;
    let in_errors =
        v["errors"].as_array().map(|a| a.iter().any(|e| e["field"].as_str().is_some_and(|f| f.contains(field)))).unwrap_or(false);
    let in_detail = v["detail"].as_str().is_some_and(|d| d.contains(field));
    if in_errors || in_detail {
        Ok(())
    } else {
        Err(format!("missing field {field:?} must be named in errors[].field or detail: {v}"))
    }
}

/// Catalogue collection paths with a valid create body and one existing id.
async fn catalogue_fixtures(server: &Server) -> Vec<(&'static str, i64)> {
    let created = [
        ("/api/v1/queues", json!({"name": "BadInputQueue"})),
        ("/api/v1/states", json!({"name": "bad input state", "state_type": "open"})),
        ("/api/v1/priorities", json!({"name": "6 bad input"})),
        ("/api/v1/types", json!({"name": "BadInputType"})),
        ("/api/v1/agents", json!({"login": "badinput", "role": "agent"})),
        ("/api/v1/customer-companies", json!({"customer_id": "BADCO", "name": "Bad Input Ltd"})),
        ("/api/v1/customer-users", json!({"login": "bad@example.com", "email": "bad@example.com"})),
        ("/api/v1/dynamic-fields", json!({"name": "BadInputField", "object_type": "ticket", "field_type": "text"})),
    ];
    let mut out = Vec::new();
    for (path, body) in created {
        let v = server.admin_post(path, &body).await.expect(201);
        out.push((path, id_of(&v)));
    }
    out
}

async fn malformed_json_and_wrong_types(backend: Backend) {
    let server = Server::start(backend).await;
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

async fn unknown_names_and_ranges(backend: Backend) {
    let server = Server::start(backend).await;
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

async fn dynamic_field_values(backend: Backend) {
    let server = Server::start(backend).await;
    let fields = [
        json!({"name": "Region", "object_type": "ticket", "field_type": "dropdown",
               "config": {"possible_values": ["north", "south"]}}),
        json!({"name": "Count", "object_type": "ticket", "field_type": "integer",
               "config": {"min": 0, "max": 100}}),
        json!({"name": "Due", "object_type": "ticket", "field_type": "date"}),
        json!({"name": "Seen", "object_type": "ticket", "field_type": "datetime"}),
        json!({"name": "Flag", "object_type": "ticket", "field_type": "checkbox"}),
        json!({"name": "Tags", "object_type": "ticket", "field_type": "multiselect",
               "config": {"possible_values": ["a", "b", "c"]}}),
        json!({"name": "Code", "object_type": "ticket", "field_type": "text",
               "config": {"max_length": 5}}),
        json!({"name": "Mood", "object_type": "article", "field_type": "dropdown",
               "config": {"possible_values": ["happy", "angry"]}}),
    ];
    for f in &fields {
        server.admin_post("/api/v1/dynamic-fields", f).await.expect(201);
    }

    let valid = json!({"Region": "north", "Count": 42, "Due": "2026-11-29",
                       "Seen": "2026-11-29T10:00:00Z", "Flag": true, "Tags": ["a", "b"],
                       "Code": "AB12"});
    let ok = server
        .create_ticket(
            "DF ok",
            json!({"dynamic_fields": valid.clone(),
                                       "article": {"dynamic_fields": {"Mood": "happy"}}}),
        )
        .await;
    let tid = id_of(&ok);
    let df = &ok["dynamic_fields"];
    assert_eq!(df["Region"], "north", "dynamic_fields echo: {df}");
    assert!(df["Count"] == 42 || df["Count"] == "42", "integer field echo: {df}");
    assert!(df["Flag"] == true || df["Flag"] == 1 || df["Flag"] == "1", "checkbox echo: {df}");
    assert_eq!(df["Tags"], json!(["a", "b"]), "multiselect echo: {df}");
    assert!(df["Due"].as_str().is_some_and(|d| d.starts_with("2026-11-29")), "date echo: {df}");

    let before = server.ticket_count().await;
    let invalid: Vec<(&str, Value)> = vec![
        ("Region", json!("west")),
        ("Region", json!(3)),
        ("Count", json!("abc")),
        ("Count", json!(1.5)),
        ("Count", json!(1000)),
        ("Count", json!(-1)),
        ("Due", json!("2026-13-45")),
        ("Due", json!("yesterday")),
        ("Seen", json!("2026-11-29 25:61")),
        ("Flag", json!("maybe")),
        ("Tags", json!(["a", "z"])),
        ("Tags", json!("a")),
        ("Code", json!("TOO-LONG-VALUE")),
        ("NoSuchField", json!("x")),
        ("Mood", json!("happy")),
    ];
    let mut failures = Vec::new();
    for (name, value) in &invalid {
        let r = server
            .admin_post(
                "/api/v1/tickets",
                &json!({"title": "DF bad", "queue": "Raw", "article": {"body": "x"},
                        "dynamic_fields": {*name: value}}),
            )
            .await;
        if let Err(why) = r.check_problem(&[422], Some(name)) {
            failures.push(format!("create with {name}={value}: {why}"));
        }
        let r = server
            .admin_patch(&format!("/api/v1/tickets/{tid}"), &json!({"title": "should not change", "dynamic_fields": {*name: value}}))
            .await;
        if let Err(why) = r.check_problem(&[422], Some(name)) {
            failures.push(format!("PATCH with {name}={value}: {why}"));
        }
    }
    // Article dynamic fields on a new article.
    for value in [json!("sad"), json!(5)] {
        let r =
            server.admin_post(&format!("/api/v1/tickets/{tid}/articles"), &json!({"body": "x", "dynamic_fields": {"Mood": value}})).await;
        if let Err(why) = r.check_problem(&[422], Some("Mood")) {
            failures.push(format!("article with Mood={value}: {why}"));
        }
    }
    assert_eq!(server.ticket_count().await, before, "rejected creates wrote tickets");
    let after = server.admin_get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(after["title"], "DF ok", "a rejected PATCH changed the title");
    assert_eq!(after["dynamic_fields"], ok["dynamic_fields"], "a rejected PATCH changed dynamic fields");
    let articles = server.admin_get(&format!("/api/v1/tickets/{tid}/articles")).await.items();
    assert_eq!(articles.len(), 1, "rejected articles were stored");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));

    // A valid PATCH changes exactly the given field; null clears it.
    let patched = server
        .admin_patch(&format!("/api/v1/tickets/{tid}"), &json!({"dynamic_fields": {"Region": "south", "Code": null}}))
        .await
        .expect(200);
    assert_eq!(patched["dynamic_fields"]["Region"], "south");
    assert!(patched["dynamic_fields"]["Code"].is_null(), "null must clear a dynamic field: {}", patched["dynamic_fields"]);
    assert_eq!(patched["dynamic_fields"]["Tags"], json!(["a", "b"]));
}

async fn duplicates_references_and_unknown_ids(backend: Backend) {
    let server = Server::start(backend).await;
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

async fn oversize_body(backend: Backend) {
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

async fn unsupported_methods(backend: Backend) {
    let server = Server::start(backend).await;
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
