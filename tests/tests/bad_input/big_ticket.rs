//! A ticket whose articles hold far more than 1 MiB of distinct words: every
//! article is still taken (PostgreSQL's tsvector holds at most 1 MiB) and the
//! ticket stays searchable.

use switchboard_e2e::{json, Backend, Server};

use crate::support::id_of;

/// About `bytes` of text made of distinct words `w<tag>x<n>` (n in hex).
fn distinct_words(tag: &str, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 32);
    let mut n = 0u32;
    while text.len() < bytes {
        text.push_str(&format!("w{tag}x{n:x} "));
        n += 1;
    }
    text
}

pub(crate) async fn big_tickets_stay_searchable(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let first = format!("needle {}", distinct_words("a", 1_000_000));
    let ticket = server.create_ticket("Huge haystack", json!({"article": {"body": first}})).await;
    let t = format!("/api/v1/tickets/{}", id_of(&ticket));
    let mut failures = Vec::new();
    for (i, tag) in ["b", "c", "d", "e", "f", "g"].iter().enumerate() {
        let body = distinct_words(tag, 250_000);
        let r = server.admin_post(&format!("{t}/articles"), &json!({"body": body, "visible_for_customer": true})).await;
        if r.status != 201 {
            failures.push(format!("big article {i}: expected 201, got {} {}", r.status, r.text().chars().take(200).collect::<String>()));
        }
    }
    // Past the index's bound a small article is still taken.
    let r = server.admin_post(&format!("{t}/articles"), &json!({"body": "a last short reply"})).await;
    if r.status != 201 {
        failures.push(format!("short article after the big ones: expected 201, got {} {}", r.status, r.text()));
    }
    for q in ["needle", "haystack", "wax0", "needle%20wax1f"] {
        let hits = server.admin_get(&format!("/api/v1/tickets?q={q}")).await.items();
        if !hits.iter().any(|h| h["id"] == ticket["id"]) {
            failures.push(format!("q={q} no longer finds the big ticket"));
        }
    }
    // Other tickets are searched as before.
    let other = server.create_ticket("Small one", json!({"article": {"body": "pineapple"}})).await;
    let hits = server.admin_get("/api/v1/tickets?q=pineapple").await.items();
    if hits.len() != 1 || hits[0]["id"] != other["id"] {
        failures.push(format!("q=pineapple must find only the small ticket: {hits:?}"));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
