//! The visibility rules agents and customers depend on: queue permissions,
//! own tickets, customer-visible articles, idempotency keys per caller.

use switchboard_e2e::{base64, json, Actors, Backend, Server, Value};

use crate::{customer_ticket, id_of};

fn ids(items: &[Value]) -> Vec<i64> {
    let mut v: Vec<i64> = items.iter().map(id_of).collect();
    v.sort_unstable();
    v
}

async fn list_as(server: &Server, token: &str, query: &str) -> Vec<Value> {
    server.get(&format!("/api/v1/tickets?limit=500{query}"), token).await.items()
}

pub(crate) async fn visibility_rules(backend: Backend) {
    let server = Server::start(backend).await;
    let a = Actors::create(&server).await;

    let own = customer_ticket(&server, "Own ticket").await;
    let own_id = id_of(&own);
    let internal = server
        .admin_post(
            &format!("/api/v1/tickets/{own_id}/articles"),
            &json!({"subject": "internal", "body": "agents only: secret-internal-note",
                    "channel": "note", "sender_type": "agent", "visible_for_customer": false,
                    "attachments": [{"filename": "secret.txt", "content_type": "text/plain",
                                     "content_base64": base64(b"secret")}]}),
        )
        .await
        .expect(201);
    let internal_id = id_of(&internal);
    let internal_att = id_of(&internal["attachments"][0]);
    let other = server.create_ticket("Other customer's ticket", json!({"customer_user": Actors::OTHER_CUSTOMER_LOGIN})).await;
    let other_id = id_of(&other);
    let junk = server.create_ticket("Junk ticket", json!({"queue": "Junk", "customer_user": Actors::CUSTOMER_LOGIN})).await;
    let junk_id = id_of(&junk);

    // Ticket lists are filtered by queue permission / customer login.
    let all = ids(&list_as(&server, &a.admin, "").await);
    assert_eq!(all, {
        let mut v = vec![own_id, other_id, junk_id];
        v.sort_unstable();
        v
    });
    let rw = ids(&list_as(&server, &a.agent_rw, "").await);
    assert_eq!(
        rw,
        {
            let mut v = vec![own_id, other_id];
            v.sort_unstable();
            v
        },
        "agent with rw on Raw must see exactly the Raw tickets"
    );
    let ro = ids(&list_as(&server, &a.agent_ro, "").await);
    assert_eq!(ro, rw, "agent with ro on Raw must see exactly the Raw tickets");
    let none = ids(&list_as(&server, &a.agent_none, "").await);
    assert!(none.is_empty(), "agent without permissions must see no tickets, saw {none:?}");
    let cust = ids(&list_as(&server, &a.customer, "").await);
    assert_eq!(
        cust,
        {
            let mut v = vec![own_id, junk_id];
            v.sort_unstable();
            v
        },
        "customer must see exactly the tickets whose customer_user is its login"
    );
    // Even with an explicit filter for someone else.
    let cust_other =
        list_as(&server, &a.customer, &format!("&customer_user={}", switchboard_e2e::encode_query(Actors::OTHER_CUSTOMER_LOGIN))).await;
    assert!(cust_other.is_empty(), "customer filtering by another customer_user must get nothing, got {cust_other:?}");

    // Agents: nothing outside their queues.
    for token in [&a.agent_rw, &a.agent_ro, &a.agent_none] {
        server.get(&format!("/api/v1/tickets/{junk_id}"), token).await.expect_one_of(&[403, 404]);
        server.patch(&format!("/api/v1/tickets/{junk_id}"), token, &json!({"title": "x"})).await.expect_one_of(&[403, 404]);
    }

    // Writing a ticket into a queue without rw → 403 and nothing created.
    let before = server.ticket_count().await;
    for (token, queue, who) in [
        (&a.agent_ro, "Raw", "agent with ro on Raw"),
        (&a.agent_none, "Raw", "agent without permission"),
        (&a.agent_rw, "Junk", "agent with rw on Raw only"),
    ] {
        let r = server.post("/api/v1/tickets", token, &json!({"title": "nope", "queue": queue, "article": {"body": "nope"}})).await;
        assert_eq!(r.status, 403, "{who} creating a ticket in {queue}: {}", r.text());
        r.expect_problem(&[403]);
    }
    assert_eq!(server.ticket_count().await, before, "a forbidden create wrote a ticket");

    // ro agent cannot write to a Raw ticket it can read.
    server.patch(&format!("/api/v1/tickets/{own_id}"), &a.agent_ro, &json!({"title": "ro edit"})).await.expect_problem(&[403]);
    server.post(&format!("/api/v1/tickets/{own_id}/articles"), &a.agent_ro, &json!({"body": "ro reply"})).await.expect_problem(&[403]);

    // rw on Raw does not allow moving a ticket into Junk.
    let r = server.patch(&format!("/api/v1/tickets/{own_id}"), &a.agent_rw, &json!({"queue": "Junk"})).await;
    assert_eq!(r.status, 403, "agent moving a ticket into a queue without rw: {}", r.text());
    let now = server.admin_get(&format!("/api/v1/tickets/{own_id}")).await.expect(200);
    assert_eq!(now["queue"], "Raw", "forbidden move changed the queue");
    assert_eq!(now["title"], own["title"], "forbidden writes changed the title");

    // rw agent may write in Raw.
    let r = server.patch(&format!("/api/v1/tickets/{own_id}"), &a.agent_rw, &json!({"priority": 4})).await.expect(200);
    assert_eq!(r["priority"], 4);
    // History names the acting agent.
    let history = server.admin_get(&format!("/api/v1/tickets/{own_id}/history")).await.items();
    assert!(
        history.iter().any(|h| h["field"] == "priority" && h["actor"].as_str().is_some_and(|x| x.contains("agent_rw"))),
        "history must name agent_rw as the actor of its priority change: {history:?}"
    );

    // Permission changes take effect for existing tokens.
    let agents = server.admin_get("/api/v1/agents").await.items();
    let none_id = id_of(agents.iter().find(|x| x["login"] == "agent_none").expect("agent_none"));
    server
        .admin_patch(&format!("/api/v1/agents/{none_id}"), &json!({"permissions": [{"queue": "Junk", "permission": "ro"}]}))
        .await
        .expect(200);
    server.get(&format!("/api/v1/tickets/{junk_id}"), &a.agent_none).await.expect(200);
    let seen = ids(&list_as(&server, &a.agent_none, "").await);
    assert_eq!(seen, vec![junk_id], "agent_none with ro on Junk must see exactly the Junk ticket");
    server.patch(&format!("/api/v1/tickets/{junk_id}"), &a.agent_none, &json!({"title": "ro cannot"})).await.expect_problem(&[403]);

    // Customer: other people's tickets are invisible.
    server.get(&format!("/api/v1/tickets/{other_id}"), &a.customer).await.expect_one_of(&[403, 404]);
    server
        .get(&format!("/api/v1/tickets/by-number/{}", other["number"].as_str().unwrap_or("0")), &a.customer)
        .await
        .expect_one_of(&[403, 404]);
    server.get(&format!("/api/v1/tickets/{other_id}/articles"), &a.customer).await.expect_one_of(&[403, 404]);
    let r = server.post(&format!("/api/v1/tickets/{other_id}/articles"), &a.customer, &json!({"body": "let me in"})).await;
    r.expect_one_of(&[403, 404]);
    let other_articles = server.admin_get(&format!("/api/v1/tickets/{other_id}/articles")).await.items();
    assert_eq!(other_articles.len(), 1, "rejected customer article was stored");

    // Customer: only customer-visible articles of its own ticket.
    let visible = server.get(&format!("/api/v1/tickets/{own_id}/articles"), &a.customer).await.items();
    assert!(visible.iter().all(|x| x["visible_for_customer"] == true), "customer got an internal article: {visible:?}");
    assert!(!visible.iter().any(|x| id_of(x) == internal_id), "customer article list contains the internal article");
    assert!(visible.iter().any(|x| id_of(x) == id_of(&own["article"])), "customer article list misses the visible first article");
    let as_admin = server.admin_get(&format!("/api/v1/tickets/{own_id}/articles")).await.items();
    assert!(as_admin.iter().any(|x| id_of(x) == internal_id), "admin must see internal articles");
    server.get(&format!("/api/v1/tickets/{own_id}/articles/{internal_id}"), &a.customer).await.expect_one_of(&[403, 404]);
    let r = server.get(&format!("/api/v1/tickets/{own_id}/articles/{internal_id}/attachments/{internal_att}"), &a.customer).await;
    assert!(matches!(r.status, 403 | 404), "customer downloading an internal article's attachment: expected 403/404, got {}", r.status);
    // Customer creates a ticket: it becomes its own.
    let created = server
        .post(
            "/api/v1/tickets",
            &a.customer,
            &json!({"title": "Customer created", "queue": "Raw",
                    "article": {"subject": "Help", "body": "please"}}),
        )
        .await
        .expect(201);
    assert_eq!(created["customer_user"], Actors::CUSTOMER_LOGIN, "ticket created by a customer must belong to that customer");
    server.get(&format!("/api/v1/tickets/{}", id_of(&created)), &a.customer).await.expect(200);

    // Customer adds an article to its own ticket; history/links stay closed.
    server
        .post(&format!("/api/v1/tickets/{own_id}/articles"), &a.customer, &json!({"subject": "more", "body": "more info"}))
        .await
        .expect(201);
    let mine = server.get(&format!("/api/v1/tickets/{own_id}/articles"), &a.customer).await.items();
    assert!(mine.iter().any(|x| x["body"] == "more info"), "a customer must see its own reply: {mine:?}");

    // A customer cannot create tickets for somebody else.
    let r = server
        .post(
            "/api/v1/tickets",
            &a.customer,
            &json!({"title": "for someone else", "queue": "Raw", "customer_user": Actors::OTHER_CUSTOMER_LOGIN,
                    "article": {"body": "spoof"}}),
        )
        .await;
    match r.status {
        201 => assert_eq!(
            r.json()["customer_user"],
            Actors::CUSTOMER_LOGIN,
            "a customer-created ticket must belong to the customer, not to the named customer_user"
        ),
        403 | 422 => {}
        other => panic!("customer creating a ticket for another customer: unexpected {other}: {}", r.text()),
    }

    // Idempotency keys are not shared across callers: reusing a key the admin
    // used must never hand the admin's ticket to the customer.
    let admin_req = server
        .client()
        .post(server.url("/api/v1/tickets"))
        .bearer_auth(&a.admin)
        .header("Idempotency-Key", "shared-key-1")
        .json(&json!({"title": "admin's private ticket", "queue": "Raw", "customer_user": Actors::OTHER_CUSTOMER_LOGIN,
                      "article": {"body": "private"}}));
    let admins = server.send(admin_req, "admin POST with key").await.expect(201);
    let cust_req = server
        .client()
        .post(server.url("/api/v1/tickets"))
        .bearer_auth(&a.customer)
        .header("Idempotency-Key", "shared-key-1")
        .json(&json!({"title": "customer's ticket", "queue": "Raw", "article": {"body": "mine"}}));
    let r = server.send(cust_req, "customer POST with the same key").await;
    if matches!(r.status, 200 | 201) {
        let v = r.json();
        assert_ne!(v["id"], admins["id"], "idempotency key reuse leaked another caller's ticket to a customer: {v}");
    } else {
        assert!(matches!(r.status, 409 | 422), "unexpected {} {}", r.status, r.text());
    }

    server.get(&format!("/api/v1/tickets/{own_id}/history"), &a.customer).await.expect_problem(&[403]);
    server.get(&format!("/api/v1/tickets/{own_id}/links"), &a.customer).await.expect_problem(&[403]);

    // Malformed Authorization headers.
    for header in ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "sb_nonsense", "Bearer sb_"] {
        let req = server.client().get(server.url("/api/v1/queues")).header("Authorization", header);
        let r = server.send(req, "GET /api/v1/queues").await;
        assert_eq!(r.status, 401, "Authorization: {header:?} must give 401");
        r.expect_problem(&[401]);
    }

    // (Checked last so the rules above are verified even if this fails.)
    // Full-text search must not leak internal article bodies to customers.
    let hits = list_as(&server, &a.customer, "&q=secret-internal-note").await;
    assert!(hits.is_empty(), "customer found a ticket via an internal article body: {hits:?}");
}
