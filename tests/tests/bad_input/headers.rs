//! Paging limits, the Idempotency-Key header, control characters in
//! header-like article fields, and non-ASCII attachment names on download.

use switchboard_e2e::{base64, json, Backend, Server};

use crate::support::id_of;

pub(crate) async fn list_limits_are_one_rule(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    server.create_ticket("Limit target", json!({})).await;
    let mut failures = Vec::new();
    // Every list route with a page size: (path, largest limit).
    let routes = [
        ("/api/v1/tickets", 500),
        ("/api/v1/jobs", 1000),
        ("/api/v1/plugin-http-audit", 1000),
        ("/api/v1/plugins/keyword-router/invocations", 1000),
    ];
    for (path, max) in routes {
        for bad in ["-1".to_string(), "0".to_string(), (max + 1).to_string(), "abc".to_string(), String::new(), "1.5".to_string()] {
            let r = server.admin_get(&format!("{path}?limit={bad}")).await;
            if let Err(why) = r.check_problem(&[400], Some("limit")) {
                failures.push(format!("GET {path}?limit={bad}: {why}"));
            }
        }
        for good in ["1".to_string(), max.to_string()] {
            let r = server.admin_get(&format!("{path}?limit={good}")).await;
            if r.status != 200 {
                failures.push(format!("GET {path}?limit={good}: expected 200, got {} {}", r.status, r.text()));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

pub(crate) async fn idempotency_key_and_header_fields(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let ticket = server.create_ticket("Header target", json!({})).await;
    let t = format!("/api/v1/tickets/{}", id_of(&ticket));
    let before = server.ticket_count().await;
    let mut failures = Vec::new();

    // An empty (or blank, or empty-quoted) Idempotency-Key is refused, not
    // ignored; so is a repeated one (which of them would count?).
    let body = json!({"title": "keyed", "queue": "Raw", "article": {"body": "x"}});
    for keys in [&[""][..], &["   "], &["\"\""], &["one", "two"], &["one", ""]] {
        let mut req = server.client().post(server.url("/api/v1/tickets")).bearer_auth(server.admin_token()).json(&body);
        for key in keys {
            req = req.header("Idempotency-Key", *key);
        }
        let r = server.send(req, "POST /api/v1/tickets with a bad Idempotency-Key").await;
        if let Err(why) = r.check_problem(&[400], Some("Idempotency-Key")) {
            failures.push(format!("Idempotency-Key {keys:?}: {why}"));
        }
    }
    if server.ticket_count().await != before {
        failures.push("a create with a bad Idempotency-Key stored a ticket".to_string());
    }

    // Control characters in header-like fields.
    let attachment = |content_type: &str| json!([{"filename": "a.txt", "content_type": content_type, "content_base64": base64(b"x")}]);
    for (article, field) in [
        (json!({"body": "x", "to": "a@example.com\r\nBcc: victim@example.com"}), "to"),
        (json!({"body": "x", "subject": "hello\nX-Injected: 1"}), "subject"),
        (json!({"body": "x", "cc": "a@example.com\u{7}"}), "cc"),
        (json!({"body": "x", "from": "\u{1b}[31mred"}), "from"),
        (json!({"body": "x", "attachments": attachment("text/plain\r\nX-Evil: 1")}), "attachments[0].content_type"),
        (json!({"body": "x", "attachments": [{"filename": "a\nb.txt", "content_base64": base64(b"x")}]}), "attachments[0].filename"),
    ] {
        let r = server.admin_post(&format!("{t}/articles"), &article).await;
        if let Err(why) = r.check_problem(&[422], Some(field)) {
            failures.push(format!("POST {t}/articles {article}: {why}"));
        }
    }
    // A body keeps its lines.
    server.admin_post(&format!("{t}/articles"), &json!({"body": "line one\r\nline two\tend"})).await.expect(201);
    if server.admin_get(&format!("{t}/articles")).await.items().len() != 2 {
        failures.push("a refused article was stored".to_string());
    }

    // A non-ASCII name survives the download (RFC 6266), with an ASCII fallback.
    let name = "Ünicode résumé 日本.txt";
    let article = server
        .admin_post(
            &format!("{t}/articles"),
            &json!({"body": "with file", "attachments": [{"filename": name, "content_type": "text/plain", "content_base64": base64(b"hi")}]}),
        )
        .await
        .expect(201);
    let attachment_id = article["attachments"][0]["id"].as_i64().expect("attachment id");
    let r = server.admin_get(&format!("{t}/articles/{}/attachments/{attachment_id}", id_of(&article))).await;
    let disposition = r.headers.get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let encoded = disposition.split("filename*=UTF-8''").nth(1).unwrap_or_default();
    if percent_decode(encoded).as_deref() != Some(name) {
        failures.push(format!("Content-Disposition must carry filename*=UTF-8''{{{name} percent-encoded}}: {disposition:?}"));
    }
    if !disposition.contains("filename=\"") || !disposition.is_ascii() {
        failures.push(format!("Content-Disposition needs an ASCII filename= fallback: {disposition:?}"));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Decodes RFC 8187 percent-encoding; None when malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}
