//! Search filters and cursor pagination over a seeded set of 23 tickets.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use switchboard_e2e::{encode_query, json, Backend, Server, Value};

use crate::support::{create_customer, id_of, parse_time};

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

pub(crate) async fn search_filters(backend: Backend) {
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

pub(crate) async fn cursor_pagination(backend: Backend) {
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
