//! Ticket links and merging.

use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::{id_of, parse_time};

pub(crate) async fn links_and_merge(backend: Backend) {
    let server = Server::start(backend).await;
    let a_ticket = server.create_ticket("Link A", json!({})).await;
    let (a, a_number, a_article) = (id_of(&a_ticket), a_ticket["number"].clone(), id_of(&a_ticket["article"]));
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
    // History: a `merged` event on both tickets naming the other, and the state change.
    let by = |h: &Value| (h["event"].clone(), h["field"].clone(), h["old_value"].clone(), h["new_value"].clone());
    let history: Vec<_> = server.admin_get(&format!("/api/v1/tickets/{did}/history")).await.items().iter().map(by).collect();
    assert!(
        history.contains(&(json!("merged"), json!("merged_into"), Value::Null, a_number.clone())),
        "the merged ticket's history must record `merged` into {a_number}: {history:?}"
    );
    assert!(
        history.contains(&(json!("field_changed"), json!("state"), json!("new"), json!("merged"))),
        "the merged ticket's history must record its state new → merged: {history:?}"
    );
    let history: Vec<_> = server.admin_get(&format!("/api/v1/tickets/{a}/history")).await.items().iter().map(by).collect();
    assert!(
        history.contains(&(json!("merged"), json!("merged_from"), Value::Null, d["number"].clone())),
        "the target's history must record `merged` from {}: {history:?}",
        d["number"]
    );
    // Articles move to the target (A had one, D had one); none is lost or copied.
    let on_d = server.admin_get(&format!("/api/v1/tickets/{did}/articles")).await.items();
    let on_a = server.admin_get(&format!("/api/v1/tickets/{a}/articles")).await.items();
    assert!(on_d.is_empty(), "the merged ticket keeps no articles: {on_d:?}");
    let mut ids: Vec<i64> = on_a.iter().map(id_of).collect();
    ids.sort_unstable();
    let mut want = vec![a_article, id_of(&d["article"])];
    want.sort_unstable();
    assert_eq!(ids, want, "the target must hold its own article and the merged ticket's: {on_a:?}");
    let d = server.create_ticket("Duplicate of A", json!({"article": {"body": "a wombat chewed the cable"}})).await;
    let did2 = id_of(&d);
    server.admin_post(&format!("/api/v1/tickets/{did2}/merge"), &json!({"into": c})).await.expect(200);
    let found: Vec<i64> = server.list_all_tickets("q=wombat").await.iter().map(id_of).collect();
    assert!(found.contains(&c), "full-text search finds a merged article on its new ticket: {found:?}");

    // Merging into itself is rejected and changes nothing.
    let r = server.admin_post(&format!("/api/v1/tickets/{b}/merge"), &json!({"into": b})).await;
    r.expect_problem(&[400, 409, 422]);
    let bt = server.admin_get(&format!("/api/v1/tickets/{b}")).await.expect(200);
    assert_eq!(bt["state"], "new");
    assert!(bt["merged_into"].is_null());
}
