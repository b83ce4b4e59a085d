//! Helpers shared by the ticket tests: ids, timestamps, customers, history entries, downloads.

use switchboard_e2e::{json, Server, Value};

pub(crate) fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

pub(crate) fn parse_time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let s = v.as_str().unwrap_or_else(|| panic!("expected an RFC 3339 string, got {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("not an RFC 3339 time {s:?}: {e}"))
}

pub(crate) async fn create_customer(server: &Server, login: &str) {
    server
        .admin_post("/api/v1/customer-users", &json!({"login": login, "email": login, "first_name": "Jane", "last_name": "Doe"}))
        .await
        .expect(201);
}

pub(crate) fn history_has(history: &[Value], field: &str, old: &str, new: &str) -> bool {
    history.iter().any(|h| {
        h["field"] == field
            && h["old_value"].as_str().is_some_and(|o| o.contains(old))
            && h["new_value"].as_str().is_some_and(|n| n.contains(new))
    })
}

pub(crate) async fn download(server: &Server, tid: i64, aid: i64, att: &Value) -> (Vec<u8>, String) {
    let r = server.admin_get(&format!("/api/v1/tickets/{tid}/articles/{aid}/attachments/{}", id_of(att))).await;
    assert_eq!(r.status, 200, "download attachment {att}: {}", r.text());
    (r.bytes.clone(), r.content_type.clone())
}
