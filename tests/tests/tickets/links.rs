//! Ticket links and merging.

use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::{id_of, parse_time};

pub(crate) async fn links_and_merge(backend: Backend) {
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
