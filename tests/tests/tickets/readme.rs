//! The README flow and the "A first ticket" walkthrough, request by request.

use switchboard_e2e::{encode_query, json, sha256_hex, Backend, Server, Value};

use crate::support::{create_customer, download, history_has, id_of, parse_time};

fn readme_ticket() -> Value {
    json!({
        "title": "Printer on fire", "queue": "Raw", "priority": 3, "state": "new",
        "type": "Unclassified", "owner": "admin", "responsible": null,
        "customer_user": "jane@example.com", "customer_company": null, "pending_until": null,
        "dynamic_fields": {},
        "article": {"subject": "Printer on fire", "body": "It smokes.", "body_html": null,
                    "channel": "phone", "sender_type": "customer", "visible_for_customer": true,
                    "from": "jane@example.com", "to": "", "cc": "", "message_id": null,
                    "in_reply_to": null, "references": null, "dynamic_fields": {},
                    "attachments": []}
    })
}

pub(crate) async fn readme_flow(backend: Backend) {
    let server = Server::start(backend).await;
    create_customer(&server, "jane@example.com").await;

    let t = server.admin_post("/api/v1/tickets", &readme_ticket()).await.expect(201);
    let id = id_of(&t);
    assert_eq!(t["title"], "Printer on fire");
    assert_eq!(t["queue"], "Raw");
    assert_eq!(t["state"], "new");
    assert_eq!(t["state_type"], "new");
    assert_eq!(t["priority"], 3);
    assert_eq!(t["priority_name"], "3 normal");
    assert_eq!(t["type"], "Unclassified");
    assert_eq!(t["owner"], "admin");
    assert!(t["responsible"].is_null());
    assert_eq!(t["customer_user"], "jane@example.com");
    assert!(t["merged_into"].is_null());
    assert!(t["pending_until"].is_null());
    assert!(t["dynamic_fields"].is_object(), "dynamic_fields must be an object: {t}");
    let created = parse_time(&t["created_at"]);
    parse_time(&t["changed_at"]);

    // Ticket number: YYYYMMDD + system id (default 10) + counter, digits only.
    let number = t["number"].as_str().expect("number is a string").to_string();
    assert!(number.len() >= 12 && number.chars().all(|c| c.is_ascii_digit()), "ticket number must be digits: {number:?}");
    let day = created.with_timezone(&chrono::Utc).format("%Y%m%d").to_string();
    let local_day = created.format("%Y%m%d").to_string();
    assert!(number.starts_with(&day) || number.starts_with(&local_day), "ticket number {number} must start with the creation date {day}");
    assert_eq!(&number[8..10], "10", "ticket number {number} must carry system id 10");

    let a = &t["article"];
    assert_eq!(a["body"], "It smokes.");
    assert_eq!(a["subject"], "Printer on fire");
    assert_eq!(a["channel"], "phone");
    assert_eq!(a["sender_type"], "customer");
    assert_eq!(a["visible_for_customer"], true);
    assert_eq!(a["ticket_id"], id);
    assert_eq!(a["attachments"], json!([]));

    // Read it back by id and by number.
    let got = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    for key in [
        "id",
        "number",
        "title",
        "queue",
        "state",
        "state_type",
        "priority",
        "priority_name",
        "type",
        "owner",
        "customer_user",
        "created_at",
    ] {
        assert_eq!(got[key], t[key], "GET /tickets/{id}: {key} differs");
    }
    let by_number = server.admin_get(&format!("/api/v1/tickets/by-number/{number}")).await.expect(200);
    assert_eq!(by_number["id"], id);

    // Update fields; history shows old → new.
    let patched = server
        .admin_patch(
            &format!("/api/v1/tickets/{id}"),
            &json!({"title": "Printer on fire (extinguished)", "priority": 4, "state": "open",
                    "type": "Incident", "queue": "Misc"}),
        )
        .await
        .expect(200);
    assert_eq!(patched["title"], "Printer on fire (extinguished)");
    assert_eq!(patched["priority"], 4);
    assert_eq!(patched["priority_name"], "4 high");
    assert_eq!(patched["state"], "open");
    assert_eq!(patched["state_type"], "open");
    assert_eq!(patched["type"], "Incident");
    assert_eq!(patched["queue"], "Misc");
    assert_eq!(patched["number"], number, "PATCH must not change the number");
    assert!(parse_time(&patched["changed_at"]) >= parse_time(&t["changed_at"]), "changed_at must not go backwards");
    // Priority by name works too.
    let by_name = server.admin_patch(&format!("/api/v1/tickets/{id}"), &json!({"priority": "5 very high"})).await.expect(200);
    assert_eq!(by_name["priority"], 5);

    let history = server.admin_get(&format!("/api/v1/tickets/{id}/history")).await.items();
    let shown = serde_json_pretty(&history);
    assert!(
        history_has(&history, "title", "Printer on fire", "Printer on fire (extinguished)"),
        "history must record title old→new:\n{shown}"
    );
    assert!(history_has(&history, "priority", "3", "4"), "history must record priority 3→4:\n{shown}");
    assert!(history_has(&history, "priority", "4", "5"), "history must record priority 4→5:\n{shown}");
    assert!(history_has(&history, "state", "new", "open"), "history must record state new→open:\n{shown}");
    assert!(history_has(&history, "type", "Unclassified", "Incident"), "history must record type old→new:\n{shown}");
    assert!(history_has(&history, "queue", "Raw", "Misc"), "history must record queue Raw→Misc:\n{shown}");
    for h in &history {
        assert!(h["event"].as_str().is_some_and(|e| !e.is_empty()), "history entry without event: {h}");
        parse_time(&h["created_at"]);
    }
    let ids: Vec<i64> = history.iter().map(id_of).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "history must be in chronological (id) order");

    // Add an article; it is listed after the first one.
    let reply = server
        .admin_post(
            &format!("/api/v1/tickets/{id}/articles"),
            &json!({"subject": "Re: Printer on fire", "body": "Extinguisher deployed.",
                    "channel": "email", "sender_type": "agent", "visible_for_customer": true,
                    "from": "helpdesk@example.com", "to": "jane@example.com", "cc": "boss@example.com"}),
        )
        .await
        .expect(201);
    assert_eq!(reply["ticket_id"], id);
    assert_eq!(reply["cc"], "boss@example.com");
    let articles = server.admin_get(&format!("/api/v1/tickets/{id}/articles")).await.items();
    assert_eq!(articles.len(), 2);
    assert_eq!(id_of(&articles[0]), id_of(a));
    assert_eq!(id_of(&articles[1]), id_of(&reply));
    let one = server.admin_get(&format!("/api/v1/tickets/{id}/articles/{}", id_of(&reply))).await.expect(200);
    assert_eq!(one["body"], "Extinguisher deployed.");

    // Unicode survives storage and is searchable.
    let title = "Drucker brennt — Ünïcødé 🔥 日本語";
    let u = server.create_ticket(title, json!({"article": {"body": "Ärger mit dem Gerät: naïve café"}})).await;
    let back = server.admin_get(&format!("/api/v1/tickets/{}", id_of(&u))).await.expect(200);
    assert_eq!(back["title"], title);
    let hits = server.admin_get(&format!("/api/v1/tickets?q={}", encode_query("Ünïcødé"))).await.items();
    assert_eq!(hits.iter().map(id_of).collect::<Vec<_>>(), vec![id_of(&u)], "unicode title search");
    let hits = server.admin_get(&format!("/api/v1/tickets?q={}", encode_query("café"))).await.items();
    assert_eq!(hits.iter().map(id_of).collect::<Vec<_>>(), vec![id_of(&u)], "unicode body search");
}

/// The "A first ticket" section of README.md, request by request.
pub(crate) async fn readme_walkthrough(backend: Backend) {
    let server = Server::start(backend).await;
    create_customer(&server, "jane@example.com").await;
    let body = json!({"title":"Printer on fire","queue":"Raw","priority":3,"customer_user":"jane@example.com",
                      "article":{"subject":"Printer on fire","body":"It smokes.","channel":"phone"}});
    let post = || {
        server
            .client()
            .post(server.url("/api/v1/tickets"))
            .bearer_auth(server.admin_token())
            .header("Idempotency-Key", "7d1c6a0e")
            .json(&body)
    };
    let t = server.send(post(), "README create").await.expect(201);
    let id = id_of(&t);
    assert!(t["number"].as_str().is_some_and(|n| n.len() >= 12), "number: {t}");
    assert_eq!(t["article"]["body"], "It smokes.");
    let again = server.send(post(), "README create again").await.expect_one_of(&[200, 201]);
    assert_eq!(again["id"], id, "same Idempotency-Key must return the same ticket");

    let hits = server.admin_get("/api/v1/tickets?queue=Raw&state_type=new&q=smokes").await.items();
    assert_eq!(hits.iter().map(id_of).collect::<Vec<_>>(), vec![id], "README search must find exactly the ticket");

    let p = server
        .admin_patch(&format!("/api/v1/tickets/{id}"), &json!({"state":"pending auto close+","pending_until":"2099-12-01T09:00:00Z"}))
        .await
        .expect(200);
    assert_eq!(p["state"], "pending auto close+");
    assert_eq!(parse_time(&p["pending_until"]), parse_time(&json!("2099-12-01T09:00:00Z")));

    let history = server.admin_get(&format!("/api/v1/tickets/{id}/history")).await.items();
    assert!(history_has(&history, "state", "new", "pending auto close+"), "history: {}", serde_json_pretty(&history));

    // -F 'article={...};type=application/json' -F 'file=@photo.jpg'
    let photo: Vec<u8> = [&[0xFFu8, 0xD8, 0xFF, 0xE0][..], &[0u8; 2000], &[0xFF, 0xD9]].concat();
    let form = reqwest::multipart::Form::new()
        .part(
            "article",
            reqwest::multipart::Part::text(r#"{"subject":"Photo","body":"See attached."}"#).mime_str("application/json").expect("mime"),
        )
        .part("file", reqwest::multipart::Part::bytes(photo.clone()).file_name("photo.jpg").mime_str("image/jpeg").expect("mime"));
    let req = server.client().post(server.url(&format!("/api/v1/tickets/{id}/articles"))).bearer_auth(server.admin_token()).multipart(form);
    let a = server.send(req, "README multipart").await.expect(201);
    assert_eq!(a["subject"], "Photo");
    let att = &a["attachments"][0];
    assert_eq!(att["filename"], "photo.jpg");
    assert_eq!(att["content_type"], "image/jpeg");
    assert_eq!(att["sha256"], sha256_hex(&photo));
    let (bytes, ct) = download(&server, id, id_of(&a), att).await;
    assert_eq!(bytes, photo);
    assert!(ct.starts_with("image/jpeg"), "got {ct:?}");

    // The README's error example.
    let r = server.admin_post("/api/v1/tickets", &json!({"title":"x","queue":"Nope","article":{"body":"x"}})).await;
    let v = r.expect_field_error(&[422], "queue");
    assert_eq!(v["type"], "about:blank");
    assert_eq!(v["title"], "Unprocessable Entity");
    let err = v["errors"].as_array().and_then(|e| e.iter().find(|e| e["field"] == "queue")).cloned().unwrap_or_default();
    assert!(err["message"].as_str().is_some_and(|m| m.contains("Nope")), "error message must name the value: {v}");
}

fn serde_json_pretty(v: &[Value]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n")
}
