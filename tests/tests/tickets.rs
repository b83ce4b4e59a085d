//! Ticket behaviour users rely on: the README flow (create, read, update with
//! history, articles with attachments in JSON and multipart), search filters
//! and cursor pagination, links and merge, idempotent and concurrent creates,
//! and the pending-state background jobs.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use switchboard_e2e::{backend_tests, base64, encode_query, json, rfc3339_from_now, sha256_hex, wait_for, Backend, Server, Value};

backend_tests!(
    readme_walkthrough,
    readme_flow,
    attachments,
    search_filters,
    cursor_pagination,
    links_and_merge,
    idempotency_and_concurrency,
    pending_jobs
);

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

fn parse_time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let s = v.as_str().unwrap_or_else(|| panic!("expected an RFC 3339 string, got {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("not an RFC 3339 time {s:?}: {e}"))
}

async fn create_customer(server: &Server, login: &str) {
    server
        .admin_post("/api/v1/customer-users", &json!({"login": login, "email": login, "first_name": "Jane", "last_name": "Doe"}))
        .await
        .expect(201);
}

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

fn history_has(history: &[Value], field: &str, old: &str, new: &str) -> bool {
    history.iter().any(|h| {
        h["field"] == field
            && h["old_value"].as_str().is_some_and(|o| o.contains(old))
            && h["new_value"].as_str().is_some_and(|n| n.contains(new))
    })
}

async fn readme_flow(backend: Backend) {
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
async fn readme_walkthrough(backend: Backend) {
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

/// Files under `dir` whose content equals `bytes`.
fn files_with_content(dir: &std::path::Path, bytes: &[u8]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.metadata().map(|m| m.len() as usize == bytes.len()).unwrap_or(false)
                && std::fs::read(&p).map(|c| c == bytes).unwrap_or(false)
            {
                out.push(p);
            }
        }
    }
    out
}

async fn download(server: &Server, tid: i64, aid: i64, att: &Value) -> (Vec<u8>, String) {
    let r = server.admin_get(&format!("/api/v1/tickets/{tid}/articles/{aid}/attachments/{}", id_of(att))).await;
    assert_eq!(r.status, 200, "download attachment {att}: {}", r.text());
    (r.bytes.clone(), r.content_type.clone())
}

async fn attachments(backend: Backend) {
    let server = Server::start(backend).await;
    let t = server.create_ticket("Attachment ticket", json!({})).await;
    let tid = id_of(&t);

    // JSON with base64.
    let text = b"Hello attachment\nsecond line\n".to_vec();
    let a1 = server
        .admin_post(
            &format!("/api/v1/tickets/{tid}/articles"),
            &json!({"subject": "log", "body": "see attached", "channel": "email",
                    "sender_type": "agent", "visible_for_customer": false,
                    "attachments": [{"filename": "hello.txt", "content_type": "text/plain",
                                     "content_base64": base64(&text)}]}),
        )
        .await
        .expect(201);
    let att1 = &a1["attachments"][0];
    assert_eq!(att1["filename"], "hello.txt");
    assert_eq!(att1["content_type"], "text/plain");
    assert_eq!(att1["size"], text.len());
    assert_eq!(att1["sha256"], sha256_hex(&text));
    let (bytes, ct) = download(&server, tid, id_of(&a1), att1).await;
    assert_eq!(bytes, text, "downloaded bytes differ from the upload");
    assert!(ct.starts_with("text/plain"), "Content-Type as stored, got {ct:?}");

    // Multipart: JSON part "article" plus two file parts (binary and text).
    let blob: Vec<u8> = (0..10_240u32).map(|i| (i * 7 % 256) as u8).collect();
    let notes = "Ünïcødé notes ✓\n".as_bytes().to_vec();
    let form = reqwest::multipart::Form::new()
        .part(
            "article",
            reqwest::multipart::Part::text(
                json!({"subject": "multipart", "body": "two files", "channel": "note",
                       "sender_type": "agent", "visible_for_customer": false})
                .to_string(),
            )
            .mime_str("application/json")
            .expect("mime"),
        )
        .part(
            "file1",
            reqwest::multipart::Part::bytes(blob.clone()).file_name("blob.bin").mime_str("application/octet-stream").expect("mime"),
        )
        .part(
            "file2",
            reqwest::multipart::Part::bytes(notes.clone()).file_name("notes.txt").mime_str("text/plain; charset=utf-8").expect("mime"),
        );
    let req =
        server.client().post(server.url(&format!("/api/v1/tickets/{tid}/articles"))).bearer_auth(server.admin_token()).multipart(form);
    let a2 = server.send(req, "multipart POST articles").await.expect(201);
    assert_eq!(a2["subject"], "multipart");
    assert_eq!(a2["body"], "two files");
    let atts = a2["attachments"].as_array().expect("attachments array").clone();
    assert_eq!(atts.len(), 2, "multipart with two file parts: {a2}");
    let blob_att = atts.iter().find(|x| x["filename"] == "blob.bin").expect("blob.bin attachment");
    let notes_att = atts.iter().find(|x| x["filename"] == "notes.txt").expect("notes.txt attachment");
    assert_eq!(blob_att["size"], blob.len());
    assert_eq!(blob_att["sha256"], sha256_hex(&blob));
    assert_eq!(blob_att["content_type"], "application/octet-stream");
    assert_eq!(notes_att["sha256"], sha256_hex(&notes));
    let (bytes, ct) = download(&server, tid, id_of(&a2), blob_att).await;
    assert_eq!(bytes, blob, "multipart binary attachment corrupted");
    assert!(ct.starts_with("application/octet-stream"), "got {ct:?}");
    let (bytes, ct) = download(&server, tid, id_of(&a2), notes_att).await;
    assert_eq!(bytes, notes, "multipart text attachment corrupted");
    assert!(ct.starts_with("text/plain"), "got {ct:?}");

    // The same bytes again (JSON this time, on another ticket): same hash,
    // stored once, both downloads identical.
    let t2 = server.create_ticket("Second attachment ticket", json!({})).await;
    let tid2 = id_of(&t2);
    let a3 = server
        .admin_post(
            &format!("/api/v1/tickets/{tid2}/articles"),
            &json!({"body": "same blob again",
                    "attachments": [{"filename": "copy.bin", "content_type": "application/x-thing",
                                     "content_base64": base64(&blob)}]}),
        )
        .await
        .expect(201);
    let copy = &a3["attachments"][0];
    assert_eq!(copy["sha256"], blob_att["sha256"], "same bytes must give the same sha256");
    assert_eq!(copy["filename"], "copy.bin");
    let (bytes, ct) = download(&server, tid2, id_of(&a3), copy).await;
    assert_eq!(bytes, blob);
    assert!(ct.starts_with("application/x-thing"), "per-attachment content type, got {ct:?}");
    let (bytes, _) = download(&server, tid, id_of(&a2), blob_att).await;
    assert_eq!(bytes, blob, "first copy changed after the second upload");
    let copies = files_with_content(&server.data_dir(), &blob);
    assert!(copies.len() <= 1, "identical attachment content must be stored once, found {copies:?}");

    // Articles list carries attachment metadata.
    let list = server.admin_get(&format!("/api/v1/tickets/{tid}/articles")).await.items();
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["attachments"].as_array().map(Vec::len), Some(2));

    // A few megabytes of pseudo-random binary data round-trip unchanged.
    let mut x: u32 = 0x1234_5678;
    let big: Vec<u8> = (0..3 * 1024 * 1024)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect();
    let form = reqwest::multipart::Form::new()
        .part("article", reqwest::multipart::Part::text(r#"{"body":"big one"}"#).mime_str("application/json").expect("mime"))
        .part(
            "file",
            reqwest::multipart::Part::bytes(big.clone()).file_name("big.bin").mime_str("application/octet-stream").expect("mime"),
        );
    let req =
        server.client().post(server.url(&format!("/api/v1/tickets/{tid2}/articles"))).bearer_auth(server.admin_token()).multipart(form);
    let a4 = server.send(req, "multipart 3 MiB").await.expect(201);
    assert_eq!(a4["attachments"][0]["size"], big.len());
    assert_eq!(a4["attachments"][0]["sha256"], sha256_hex(&big));
    let (bytes, _) = download(&server, tid2, id_of(&a4), &a4["attachments"][0]).await;
    assert!(bytes == big, "3 MiB attachment corrupted (got {} bytes)", bytes.len());

    // An attachment id from another article is not served under this one.
    let r = server.admin_get(&format!("/api/v1/tickets/{tid}/articles/{}/attachments/{}", id_of(&a1), id_of(blob_att))).await;
    assert_eq!(r.status, 404, "attachment of another article must be 404");
}

/// Expected search results are computed from this description of 23 tickets.
struct Spec {
    i: usize,
    queue: &'static str,
    priority: i64,
    state: &'static str,
    region: &'static str,
    owned: bool,
}

fn spec(i: usize) -> Spec {
    Spec {
        i,
        queue: if i % 3 == 0 { "Misc" } else { "Raw" },
        priority: (i % 5) as i64 + 1,
        state: ["new", "open", "closed successful", "new"][i % 4],
        region: if i % 2 == 0 { "north" } else { "south" },
        owned: i % 4 == 1 || i == 0,
    }
}

const N: usize = 23;

/// Creates the 23 search tickets; returns (spec index → ticket).
async fn seed(server: &Server) -> Vec<Value> {
    server
        .admin_post(
            "/api/v1/dynamic-fields",
            &json!({"name": "Region", "object_type": "ticket", "field_type": "dropdown",
                    "config": {"possible_values": ["north", "south", "east"]}}),
        )
        .await
        .expect(201);
    create_customer(server, "jane@example.com").await;
    server.admin_post("/api/v1/customer-companies", &json!({"customer_id": "ACME", "name": "Acme"})).await.expect(201);
    let mut out = Vec::new();
    for i in 0..N {
        let s = spec(i);
        let title = if i == 7 { format!("Search ticket {i} about zanzibar") } else { format!("Search ticket {i}") };
        let body = if i == 11 { "the quokka jumped over the printer" } else { "plain body" };
        let mut t = json!({
            "title": title, "queue": s.queue, "priority": s.priority, "state": s.state,
            "dynamic_fields": {"Region": s.region},
            "article": {"subject": "search", "body": body}
        });
        if i == 5 {
            t["customer_user"] = json!("jane@example.com");
        }
        if i == 9 {
            t["customer_company"] = json!("ACME");
        }
        if s.owned {
            t["owner"] = json!("admin");
        }
        out.push(server.admin_post("/api/v1/tickets", &t).await.expect(201));
        assert_eq!(s.i, i);
    }
    out
}

async fn search_ids(server: &Server, query: &str) -> BTreeSet<i64> {
    let items = server.list_all_tickets(query).await;
    let ids: Vec<i64> = items.iter().map(id_of).collect();
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "duplicate tickets in result for {query:?}");
    set
}

async fn search_filters(backend: Backend) {
    let server = Server::start(backend).await;
    let tickets = seed(&server).await;
    let ids_where = |f: &dyn Fn(&Spec) -> bool| -> BTreeSet<i64> { (0..N).filter(|&i| f(&spec(i))).map(|i| id_of(&tickets[i])).collect() };
    let all = ids_where(&|_| true);

    let mut failures = Vec::new();
    let cases: Vec<(String, BTreeSet<i64>)> = vec![
        ("".into(), all.clone()),
        ("queue=Misc".into(), ids_where(&|s| s.queue == "Misc")),
        ("queue=Raw".into(), ids_where(&|s| s.queue == "Raw")),
        ("state=open".into(), ids_where(&|s| s.state == "open")),
        (format!("state={}", encode_query("closed successful")), ids_where(&|s| s.state == "closed successful")),
        ("state_type=open".into(), ids_where(&|s| s.state == "open")),
        ("state_type=new".into(), ids_where(&|s| s.state == "new")),
        ("state_type=closed_successful".into(), ids_where(&|s| s.state == "closed successful")),
        ("priority=5".into(), ids_where(&|s| s.priority == 5)),
        ("priority=1".into(), ids_where(&|s| s.priority == 1)),
        ("queue=Raw&priority=2".into(), ids_where(&|s| s.queue == "Raw" && s.priority == 2)),
        ("q=zanzibar".into(), ids_where(&|s| s.i == 7)),
        ("q=quokka".into(), ids_where(&|s| s.i == 11)),
        ("q=nothing-matches-this".into(), BTreeSet::new()),
        ("df.Region=north".into(), ids_where(&|s| s.region == "north")),
        ("df.Region=south&queue=Misc".into(), ids_where(&|s| s.region == "south" && s.queue == "Misc")),
        ("df.Region=east".into(), BTreeSet::new()),
        (format!("customer_user={}", encode_query("jane@example.com")), ids_where(&|s| s.i == 5)),
        ("owner=admin".into(), ids_where(&|s| s.owned)),
        ("customer_company=ACME".into(), ids_where(&|s| s.i == 9)),
    ];
    for (query, want) in &cases {
        let got = search_ids(&server, query).await;
        if &got != want {
            failures.push(format!("GET /api/v1/tickets?{query}: expected ids {want:?}, got {got:?}"));
        }
    }

    // Time filters: strictly earlier tickets are excluded, strictly later
    // ones included (the boundary ticket itself may go either way).
    let pivot = &tickets[10];
    let pivot_time = parse_time(&pivot["created_at"]);
    let after = search_ids(&server, &format!("created_after={}", encode_query(pivot["created_at"].as_str().unwrap_or("")))).await;
    let before = search_ids(&server, &format!("created_before={}", encode_query(pivot["created_at"].as_str().unwrap_or("")))).await;
    for t in &tickets {
        let ct = parse_time(&t["created_at"]);
        let id = id_of(t);
        if ct > pivot_time && (!after.contains(&id) || before.contains(&id)) {
            failures.push(format!("ticket {id} created after the pivot: created_after/created_before wrong"));
        }
        if ct < pivot_time && (after.contains(&id) || !before.contains(&id)) {
            failures.push(format!("ticket {id} created before the pivot: created_after/created_before wrong"));
        }
    }

    // changed_after: change one old ticket, it shows up.
    let last_changed = tickets.iter().map(|t| parse_time(&t["changed_at"])).max().expect("tickets");
    let fractional = tickets.iter().all(|t| t["changed_at"].as_str().is_some_and(|s| s.contains('.')));
    if !fractional {
        // Timestamps with 1 s resolution: make sure the change is later.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let old = id_of(&tickets[2]);
    server.admin_patch(&format!("/api/v1/tickets/{old}"), &json!({"title": "changed later"})).await.expect(200);
    let changed =
        search_ids(&server, &format!("changed_after={}", encode_query(&last_changed.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))))
            .await;
    if !changed.contains(&old) {
        failures.push(format!("changed_after must include the ticket changed later ({old}), got {changed:?}"));
    }
    let early = id_of(&tickets[0]);
    if changed.contains(&early) {
        failures.push(format!("changed_after must exclude ticket {early} unchanged since creation"));
    }

    // Sorting over the full list.
    type InOrder = Box<dyn Fn(&Value, &Value) -> bool>;
    let sort_checks: Vec<(&str, InOrder)> = vec![
        ("", Box::new(|a, b| id_of(a) > id_of(b))),
        ("sort=-id", Box::new(|a, b| id_of(a) > id_of(b))),
        ("sort=id", Box::new(|a, b| id_of(a) < id_of(b))),
        ("sort=priority", Box::new(|a, b| a["priority"].as_i64() <= b["priority"].as_i64())),
        ("sort=-priority", Box::new(|a, b| a["priority"].as_i64() >= b["priority"].as_i64())),
        ("sort=created_at", Box::new(|a, b| parse_time(&a["created_at"]) <= parse_time(&b["created_at"]))),
        ("sort=-created_at", Box::new(|a, b| parse_time(&a["created_at"]) >= parse_time(&b["created_at"]))),
        ("sort=changed_at", Box::new(|a, b| parse_time(&a["changed_at"]) <= parse_time(&b["changed_at"]))),
        ("sort=-changed_at", Box::new(|a, b| parse_time(&a["changed_at"]) >= parse_time(&b["changed_at"]))),
    ];
    for (query, ordered) in &sort_checks {
        let items = server.list_all_tickets(query).await;
        if items.len() != N {
            failures.push(format!("GET ?{query}: expected {N} tickets, got {}", items.len()));
        }
        for w in items.windows(2) {
            if !ordered(&w[0], &w[1]) {
                failures.push(format!("GET ?{query}: order violated between ticket {} and {}", id_of(&w[0]), id_of(&w[1])));
                break;
            }
        }
    }
    // Default limit is 50 and the list shape is {items, next_cursor}.
    let page = server.admin_get("/api/v1/tickets").await.expect(200);
    assert!(page["items"].is_array() && page.get("next_cursor").is_some(), "list shape: {page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(N));
    assert!(page["next_cursor"].is_null(), "everything fits in one page: next_cursor must be null");

    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Walks pages of `limit` for `query`, returning ids in order.
async fn walk(server: &Server, query: &str, limit: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let mut path = format!("/api/v1/tickets?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", encode_query(c)));
        }
        let page = server.admin_get(&path).await.expect(200);
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= limit, "page larger than limit={limit}: {}", items.len());
        out.extend(items.iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("pagination for {query:?} did not terminate");
}

async fn cursor_pagination(backend: Backend) {
    let server = Server::start(backend).await;
    let tickets = seed(&server).await;
    let all: BTreeSet<i64> = tickets.iter().map(id_of).collect();
    let mut failures = Vec::new();

    for (query, limit) in [
        ("", 5),
        ("sort=-id", 4),
        ("sort=id", 7),
        ("sort=priority", 3),
        ("sort=-priority", 4),
        ("sort=created_at", 6),
        ("sort=-changed_at", 5),
        ("sort=changed_at", 1),
        ("sort=id", 23),
        ("sort=id", 500),
    ] {
        let ids = walk(&server, query, limit).await;
        let set: BTreeSet<i64> = ids.iter().copied().collect();
        if set.len() != ids.len() || set != all {
            let dup: Vec<i64> = {
                let mut seen = HashSet::new();
                ids.iter().copied().filter(|i| !seen.insert(*i)).collect()
            };
            let missing: Vec<i64> = all.difference(&set).copied().collect();
            failures.push(format!("?{query}&limit={limit}: every ticket exactly once expected; duplicates {dup:?}, missing {missing:?}"));
        }
        // The paged order equals the unpaged order.
        let full: Vec<i64> = server.list_all_tickets(query).await.iter().map(id_of).collect();
        if ids != full {
            failures.push(format!("?{query}&limit={limit}: paged order {ids:?} != unpaged order {full:?}"));
        }
    }

    // Filters combine with pagination.
    let raw: BTreeSet<i64> = tickets.iter().filter(|t| t["queue"] == "Raw").map(id_of).collect();
    let ids = walk(&server, "queue=Raw&sort=priority", 3).await;
    if ids.iter().copied().collect::<BTreeSet<_>>() != raw || ids.len() != raw.len() {
        failures.push(format!("queue=Raw paged: expected {raw:?} once each, got {ids:?}"));
    }

    // Tickets created while paging (newest first) do not cause duplicates or
    // gaps among the existing ones.
    let first = server.admin_get("/api/v1/tickets?limit=5&sort=-id").await.expect(200);
    let mut seen: Vec<i64> = first["items"].as_array().cloned().unwrap_or_default().iter().map(id_of).collect();
    server.create_ticket("created during paging", json!({})).await;
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page = server.admin_get(&format!("/api/v1/tickets?limit=5&sort=-id&cursor={}", encode_query(&c))).await.expect(200);
        seen.extend(page["items"].as_array().cloned().unwrap_or_default().iter().map(id_of));
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    let set: BTreeSet<i64> = seen.iter().copied().collect();
    if set.len() != seen.len() || set != all {
        failures.push(format!("paging while creating: expected exactly the original tickets, got {seen:?}"));
    }

    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

async fn links_and_merge(backend: Backend) {
    let server = Server::start(backend).await;
    let a = id_of(&server.create_ticket("Link A", json!({})).await);
    let b = id_of(&server.create_ticket("Link B", json!({})).await);
    let c = id_of(&server.create_ticket("Link C", json!({})).await);
    let d = server.create_ticket("Duplicate of A", json!({})).await;
    let did = id_of(&d);

    server.admin_post(&format!("/api/v1/tickets/{a}/links"), &json!({"target": b, "kind": "related"})).await.expect(201);
    server.admin_post(&format!("/api/v1/tickets/{a}/links"), &json!({"target": c, "kind": "parent_child"})).await.expect(201);
    let links = server.admin_get(&format!("/api/v1/tickets/{a}/links")).await.items();
    let has = |links: &[Value], s: i64, t: i64, kind: &str| links.iter().any(|l| l["source"] == s && l["target"] == t && l["kind"] == kind);
    assert!(has(&links, a, b, "related"), "related link missing: {links:?}");
    assert!(has(&links, a, c, "parent_child"), "parent_child link missing: {links:?}");
    assert_eq!(links.len(), 2, "exactly two links expected: {links:?}");
    for l in &links {
        parse_time(&l["created_at"]);
    }

    // Duplicate and self links never produce a second row or a 5xx.
    let r = server.admin_post(&format!("/api/v1/tickets/{a}/links"), &json!({"target": b, "kind": "related"})).await;
    assert!(matches!(r.status, 200 | 201 | 409), "duplicate link: {} {}", r.status, r.text());
    let r = server.admin_post(&format!("/api/v1/tickets/{a}/links"), &json!({"target": a, "kind": "related"})).await;
    r.expect_problem(&[400, 409, 422]);
    let links = server.admin_get(&format!("/api/v1/tickets/{a}/links")).await.items();
    assert_eq!(links.len(), 2, "duplicate/self links were stored: {links:?}");

    // Delete the related link only.
    let r = server.admin_delete(&format!("/api/v1/tickets/{a}/links/{b}?kind=related")).await;
    assert_eq!(r.status, 204, "DELETE link: {}", r.text());
    let links = server.admin_get(&format!("/api/v1/tickets/{a}/links")).await.items();
    assert!(!has(&links, a, b, "related"), "deleted link still listed: {links:?}");
    assert!(has(&links, a, c, "parent_child"), "unrelated link vanished: {links:?}");
    let r = server.admin_delete(&format!("/api/v1/tickets/{a}/links/{b}?kind=related")).await;
    r.expect_problem(&[404]);

    // Merge D into A.
    let merged = server.admin_post(&format!("/api/v1/tickets/{did}/merge"), &json!({"into": a})).await.expect(200);
    assert_eq!(merged["id"], did, "merge returns the merged ticket");
    assert_eq!(merged["state"], "merged");
    assert_eq!(merged["state_type"], "merged");
    assert_eq!(merged["merged_into"], a);
    let again = server.admin_get(&format!("/api/v1/tickets/{did}")).await.expect(200);
    assert_eq!(again["state"], "merged");
    assert_eq!(again["merged_into"], a);
    let target = server.admin_get(&format!("/api/v1/tickets/{a}")).await.expect(200);
    assert!(target["merged_into"].is_null(), "the target is not merged");
    assert_ne!(target["state"], "merged");
    let history = server.admin_get(&format!("/api/v1/tickets/{did}/history")).await.items();
    assert!(
        history.iter().any(|h| { h.to_string().to_lowercase().contains("merge") }),
        "history of the merged ticket must record the merge: {history:?}"
    );
    // Articles are not lost: they stay on the merged ticket or move to the
    // target (A had one article, D had one).
    let on_d = server.admin_get(&format!("/api/v1/tickets/{did}/articles")).await.items();
    let on_a = server.admin_get(&format!("/api/v1/tickets/{a}/articles")).await.items();
    assert_eq!(on_d.len() + on_a.len(), 2, "merge lost articles: merged ticket has {on_d:?}, target has {on_a:?}");
    let d_article = id_of(&d["article"]);
    assert!(on_d.iter().chain(on_a.iter()).any(|x| id_of(x) == d_article), "the merged ticket's article {d_article} must still exist");

    // Merging into itself is rejected and changes nothing.
    let r = server.admin_post(&format!("/api/v1/tickets/{b}/merge"), &json!({"into": b})).await;
    r.expect_problem(&[400, 409, 422]);
    let bt = server.admin_get(&format!("/api/v1/tickets/{b}")).await.expect(200);
    assert_eq!(bt["state"], "new");
    assert!(bt["merged_into"].is_null());
}

async fn idempotency_and_concurrency(backend: Backend) {
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

async fn pending_jobs(backend: Backend) {
    let server = Server::start(backend).await;
    let close = id_of(&server.create_ticket("Auto close me", json!({})).await);
    let remind = id_of(&server.create_ticket("Remind me", json!({})).await);
    let later = id_of(&server.create_ticket("Not yet", json!({})).await);

    let p = server
        .admin_patch(&format!("/api/v1/tickets/{close}"), &json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(1)}))
        .await
        .expect(200);
    assert_eq!(p["state"], "pending auto close+");
    assert_eq!(p["state_type"], "pending_auto_close");
    assert!(p["pending_until"].is_string(), "pending_until must be set: {p}");
    let r = server
        .admin_patch(&format!("/api/v1/tickets/{remind}"), &json!({"state": "pending reminder", "pending_until": rfc3339_from_now(1)}))
        .await
        .expect(200);
    assert_eq!(r["state_type"], "pending_reminder");
    server
        .admin_patch(&format!("/api/v1/tickets/{later}"), &json!({"state": "pending auto close+", "pending_until": rfc3339_from_now(3600)}))
        .await
        .expect(200);
    let remind_history_len = server.admin_get(&format!("/api/v1/tickets/{remind}/history")).await.items().len();

    let closed =
        wait_for("pending auto close+ ticket to become closed successful", Duration::from_secs(15), Duration::from_millis(200), || async {
            let t = server.admin_get(&format!("/api/v1/tickets/{close}")).await.expect(200);
            (t["state"] == "closed successful").then_some(t)
        })
        .await;
    assert_eq!(closed["state_type"], "closed_successful");
    let history = server.admin_get(&format!("/api/v1/tickets/{close}/history")).await.items();
    assert!(
        history_has(&history, "state", "pending auto close+", "closed successful"),
        "history must record the automatic close: {history:?}"
    );

    let new_entries = wait_for("pending reminder to add a history entry", Duration::from_secs(15), Duration::from_millis(200), || async {
        let h = server.admin_get(&format!("/api/v1/tickets/{remind}/history")).await.items();
        (h.len() > remind_history_len).then(|| h[remind_history_len..].to_vec())
    })
    .await;
    assert!(!new_entries.is_empty());

    // The far-future ticket is untouched.
    let l = server.admin_get(&format!("/api/v1/tickets/{later}")).await.expect(200);
    assert_eq!(l["state"], "pending auto close+", "a ticket pending for an hour was closed");

    // No job failed; status filter works.
    let failed = server.admin_get("/api/v1/jobs?status=failed").await.items();
    assert!(failed.is_empty(), "failed jobs: {failed:?}");
    let mut seen = 0;
    for status in ["queued", "running", "done"] {
        for j in server.admin_get(&format!("/api/v1/jobs?status={status}")).await.items() {
            seen += 1;
            assert_eq!(j["status"], status, "jobs?status={status} returned {j}");
            for key in ["id", "kind", "status", "attempts", "max_attempts", "run_at", "last_error"] {
                assert!(j.get(key).is_some(), "job without {key}: {j}");
            }
        }
    }
    let all = server.admin_get("/api/v1/jobs").await.items();
    assert!(all.len() >= seen, "unfiltered job list shorter than the filtered ones");
    assert!(!all.is_empty(), "the pending tickets must have produced jobs");
}
