//! The data the generated requests refer to: a few tickets with articles, an
//! attachment and a link, people, a dynamic field and a token, gathered into
//! [`Pools`] so valid requests name things that exist.

use std::collections::HashMap;

use switchboard_e2e::{base64, json, Server, Value};

use crate::generate::Pools;

/// Known values, consistent path tuples and URLs never to change.
pub(crate) struct Fixture {
    /// Known values by property or parameter name.
    pub(crate) pools: Pools,
    /// For a nested path, parameter tuples that exist together (ticket, article, attachment).
    pub(crate) nested: HashMap<&'static str, Vec<HashMap<String, String>>>,
    /// Paths no generated write may touch: the admin's agent and token.
    pub(crate) protected: Vec<String>,
}

fn strings(items: &[Value], key: &str) -> Vec<String> {
    items.iter().filter_map(|i| i[key].as_str().map(str::to_string)).collect()
}

fn ints(items: &[Value], key: &str) -> Vec<i64> {
    items.iter().filter_map(|i| i[key].as_i64()).collect()
}

pub(crate) async fn fixture(server: &Server) -> Fixture {
    server.admin_post("/api/v1/customer-companies", &json!({"customer_id": "ACME", "name": "Acme"})).await.expect(201);
    server
        .admin_post("/api/v1/customer-users", &json!({"login": "jane", "email": "jane@example.com", "customer_company": "ACME"}))
        .await
        .expect(201);
    server
        .admin_post(
            "/api/v1/agents",
            &json!({"login": "fuzz-agent", "role": "agent", "permissions": [{"queue": "Raw", "permission": "rw"}]}),
        )
        .await
        .expect(201);
    server
        .admin_post("/api/v1/dynamic-fields", &json!({"name": "Region", "object_type": "ticket", "field_type": "text"}))
        .await
        .expect(201);
    server.admin_post("/api/v1/tokens", &json!({"name": "fuzz-integration", "role": "integration"})).await.expect(201);
    let first = server
        .create_ticket(
            "Fuzz one",
            json!({"customer_user": "jane", "article": {"attachments": [{"filename": "a.txt", "content_base64": base64(b"hello")}]}}),
        )
        .await;
    let second = server.create_ticket("Fuzz two", json!({})).await;
    let (t1, t2) = (first["id"].as_i64().unwrap_or(1), second["id"].as_i64().unwrap_or(2));
    server.admin_post(&format!("/api/v1/tickets/{t1}/links"), &json!({"target": t2, "kind": "related"})).await.expect(201);

    let mut pools = Pools::default();
    let list = |path: &'static str| async move { server.admin_get(path).await.items() };
    for (segment, path) in [
        ("queues", "/api/v1/queues"),
        ("states", "/api/v1/states"),
        ("priorities", "/api/v1/priorities"),
        ("types", "/api/v1/types"),
        ("agents", "/api/v1/agents"),
        ("customer-companies", "/api/v1/customer-companies"),
        ("customer-users", "/api/v1/customer-users"),
        ("dynamic-fields", "/api/v1/dynamic-fields"),
    ] {
        pools.add_ints(&format!("{segment}.id"), ints(&list(path).await, "id"));
    }
    let queues = list("/api/v1/queues").await;
    let states = list("/api/v1/states").await;
    let agents = list("/api/v1/agents").await;
    let plugins = list("/api/v1/plugins").await;
    let tokens = list("/api/v1/tokens").await;
    let tickets = list("/api/v1/tickets").await;
    pools.add_strings("queue", strings(&queues, "name"));
    pools.add_strings("state", strings(&states.iter().filter(|s| s["state_type"] != "merged").cloned().collect::<Vec<_>>(), "name"));
    pools.add_strings("type", strings(&list("/api/v1/types").await, "name"));
    let priorities = list("/api/v1/priorities").await;
    pools.add_strings("priority", strings(&priorities, "name"));
    pools.add_ints("priority", ints(&priorities, "id"));
    for key in ["owner", "responsible", "user"] {
        pools.add_strings(key, strings(&agents, "login"));
    }
    pools.add_strings("customer_user", ["jane".to_string()]);
    pools.add_strings("customer_company", ["ACME".to_string()]);
    pools.add_strings("plugins.name", strings(&plugins, "name"));
    pools.add_strings("version", strings(&plugins, "version"));
    pools.add_strings("tokens.name", strings(&tokens, "name"));
    pools.add_strings("by-number.number", strings(&tickets, "number"));
    let ticket_ids = ints(&tickets, "id");
    for key in ["tickets.id", "ticket", "target", "into"] {
        pools.add_ints(key, ticket_ids.iter().copied());
    }

    let articles = server.admin_get(&format!("/api/v1/tickets/{t1}/articles")).await.items();
    let mut nested: HashMap<&'static str, Vec<HashMap<String, String>>> = HashMap::new();
    for article in &articles {
        let base = HashMap::from([("id".to_string(), t1.to_string()), ("article_id".to_string(), article["id"].to_string())]);
        nested.entry("/api/v1/tickets/{id}/articles/{article_id}").or_default().push(base.clone());
        for attachment in article["attachments"].as_array().into_iter().flatten() {
            let mut full = base.clone();
            full.insert("attachment_id".into(), attachment["id"].to_string());
            nested.entry("/api/v1/tickets/{id}/articles/{article_id}/attachments/{attachment_id}").or_default().push(full);
        }
    }
    nested
        .entry("/api/v1/tickets/{id}/links/{target}")
        .or_default()
        .push(HashMap::from([("id".to_string(), t1.to_string()), ("target".to_string(), t2.to_string())]));

    let admin_id = agents.iter().find(|a| a["login"] == "admin").map(|a| a["id"].to_string()).unwrap_or_default();
    let protected = vec![format!("/api/v1/agents/{admin_id}"), "/api/v1/tokens/initial-admin".to_string()];
    Fixture { pools, nested, protected }
}
