//! Limits every writer meets in the core, so no adapter can bypass them: an
//! article body over `max_article_bytes` (here set to 4096 through the
//! environment) and a title, queue name or subject with a line break or
//! another control character are refused with 422 naming the field, and
//! nothing is written.

use switchboard_e2e::{json, Backend, Server, ServerOptions};

use crate::support::id_of;

pub(crate) async fn bodies_and_single_line_fields(backend: Backend) {
    let limit = 4096;
    let server = Server::start_with(backend, ServerOptions::default().env("SWITCHBOARD_MAX_ARTICLE_BYTES", &limit.to_string())).await;
    let t = server.create_ticket("fine", json!({})).await;
    let tid = id_of(&t);
    let before = server.ticket_count().await;
    let mut failures = Vec::new();
    let mut check = |what: &str, r: switchboard_e2e::Resp, field: &str| {
        if let Err(why) = r.check_problem(&[422], Some(field)) {
            failures.push(format!("{what}: {why}"));
        }
    };

    let big = "b".repeat(limit + 1);
    let r = server.admin_post("/api/v1/tickets", &json!({"title": "big", "queue": "Raw", "article": {"body": big}})).await;
    check("a ticket whose article is over max_article_bytes", r, "article.body");
    let r = server.admin_post(&format!("/api/v1/tickets/{tid}/articles"), &json!({"body": big})).await;
    check("an article over max_article_bytes", r, "body");
    let r = server.admin_post(&format!("/api/v1/tickets/{tid}/articles"), &json!({"body": "x", "body_html": big})).await;
    check("an HTML body over max_article_bytes", r, "body_html");

    for title in ["two\nlines", "ADMIN TOKEN\r\n(shown once)", "tab\there", "escape \u{1b}[31m"] {
        let r = server.admin_post("/api/v1/tickets", &json!({"title": title, "queue": "Raw", "article": {"body": "x"}})).await;
        check(&format!("a new ticket titled {title:?}"), r, "title");
        let r = server.admin_patch(&format!("/api/v1/tickets/{tid}"), &json!({"title": title})).await;
        check(&format!("a title changed to {title:?}"), r, "title");
    }
    let r = server.admin_post("/api/v1/queues", &json!({"name": "Evil\nQueue"})).await;
    check("a queue name with a line break", r, "name");
    let r = server.admin_post(&format!("/api/v1/tickets/{tid}/articles"), &json!({"body": "x", "subject": "a\nb"})).await;
    check("a subject with a line break", r, "subject");

    let count = server.ticket_count().await;
    if count != before {
        failures.push(format!("a refused request created a ticket ({before} → {count})"));
    }
    let articles = server.admin_get(&format!("/api/v1/tickets/{tid}/articles")).await.items();
    if articles.len() != 1 {
        failures.push(format!("a refused request stored an article ({} articles)", articles.len()));
    }
    let fits = "y".repeat(limit);
    let r = server.admin_post(&format!("/api/v1/tickets/{tid}/articles"), &json!({"body": fits})).await;
    if r.status != 201 {
        failures.push(format!("a body of exactly max_article_bytes: expected 201, got {} {}", r.status, r.text()));
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
