//! Plugin routes in the matrix, and the rule behind them: a plugin run has
//! exactly the rights of whoever set it off. An ro agent, an agent whose
//! plugin would move a ticket to a queue it cannot write, a caller overriding
//! the admin's configuration, customers and integration tokens are refused
//! with a 403 naming what was refused, and the ticket stays as it was.

use reqwest::Method;
use switchboard_e2e::{json, Actors, Backend, Server, Value};

use crate::{case, customer_ticket, id_of, Access, Case};

/// What the plugin cases run against.
pub(crate) struct PluginFixture {
    /// A Raw ticket escalation changes within Raw (priority, a field, a note).
    escalate: i64,
    /// A Raw ticket keyword-router moves to Hardware (agent rw has only ro there).
    printer: i64,
}

impl PluginFixture {
    /// Creates the Hardware queue, the Escalated field and the two tickets.
    pub(crate) async fn create(server: &Server) -> PluginFixture {
        server.admin_post("/api/v1/queues", &json!({"name": "Hardware"})).await.expect(201);
        server
            .admin_post("/api/v1/dynamic-fields", &json!({"name": "Escalated", "object_type": "ticket", "field_type": "checkbox"}))
            .await
            .expect(201);
        let escalate = id_of(&customer_ticket(server, "Escalate me").await);
        let printer = id_of(&customer_ticket(server, "Printer out of toner").await);
        PluginFixture { escalate, printer }
    }
}

/// A ticket and everything a refused plugin run must leave alone.
fn ticket_probes(c: Case, id: i64) -> Case {
    let t = format!("/api/v1/tickets/{id}");
    c.probe(t.clone()).probe(format!("{t}/history")).probe(format!("{t}/articles"))
}

/// Every plugin route for one role; `admin` picks a harmless delete target
/// for the admin (whose delete would succeed) and a real one for the others.
pub(crate) fn plugin_cases(f: &PluginFixture, admin: bool) -> Vec<Case> {
    let p = "/api/v1/plugins";
    let victim = if admin { "no-such-plugin" } else { "webhook-invoker" };
    let apply = |plugin: &str, body: Value, access: Access, ticket: i64| {
        ticket_probes(case(Method::POST, format!("{p}/{plugin}/apply"), Some(body), access), ticket)
    };
    vec![
        case(Method::GET, p, None, Access::AdminOnly(200)),
        case(Method::POST, p, Some(json!({"component": "not multipart"})), Access::AdminUpload).probe(p),
        case(Method::GET, format!("{p}/spam-filter"), None, Access::AdminOnly(200)),
        case(Method::PATCH, format!("{p}/spam-filter"), Some(json!({"enabled": true})), Access::AdminOnly(200))
            .probe(format!("{p}/spam-filter")),
        case(Method::DELETE, format!("{p}/{victim}"), None, Access::AdminOnly(404)).probe(format!("{p}/webhook-invoker")),
        case(Method::GET, format!("{p}/keyword-router/versions"), None, Access::AdminOnly(200)),
        case(Method::PUT, format!("{p}/spam-filter/config"), Some(json!({"threshold": "7"})), Access::AdminOnly(204))
            .probe(format!("{p}/spam-filter/config")),
        case(Method::GET, format!("{p}/spam-filter/config"), None, Access::AdminOnly(200)),
        case(Method::GET, format!("{p}/keyword-router/invocations"), None, Access::AdminOnly(200)),
        case(Method::GET, "/api/v1/plugin-http-audit", None, Access::AdminOnly(200)),
        apply("escalation", json!({"ticket": f.escalate, "test": true}), Access::PluginRun(200), f.escalate),
        apply("escalation", json!({"ticket": f.escalate}), Access::PluginRun(200), f.escalate),
        apply("keyword-router", json!({"ticket": f.printer, "test": true}), Access::PluginRunAdmin, f.printer),
        apply(
            "keyword-router",
            json!({"ticket": f.escalate, "test": true, "params": {"rules": "escalate=>Raw:1"}}),
            Access::PluginRunAdmin,
            f.escalate,
        ),
    ]
}

/// The admin's view of a ticket, its history and its articles.
async fn state(server: &Server, id: i64) -> (Value, Vec<Value>, Vec<Value>) {
    let t = format!("/api/v1/tickets/{id}");
    (
        server.admin_get(&t).await.expect(200),
        server.admin_get(&format!("{t}/history")).await.items(),
        server.admin_get(&format!("{t}/articles")).await.items(),
    )
}

/// Expects a 403 problem whose detail names `needle`, and the ticket unchanged.
async fn refused(server: &Server, token: &str, body: Value, needle: &str, what: &str) {
    let id = body["ticket"].as_i64().unwrap_or_default();
    let before = state(server, id).await;
    let r = server.post("/api/v1/plugins/keyword-router/apply", token, &body).await;
    let problem = r.expect_problem(&[403]);
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains(needle)), "{what}: the 403 must name {needle}: {problem}");
    assert_eq!(state(server, id).await, before, "{what}: a refused run changed the ticket, its history or its articles");
}

pub(crate) async fn plugin_rights(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let a = Actors::create(&server).await;
    server.admin_post("/api/v1/queues", &json!({"name": "Hardware"})).await.expect(201);
    // agent_rw may read Hardware but not write it.
    let agents = server.admin_get("/api/v1/agents").await.items();
    let rw_id = id_of(agents.iter().find(|x| x["login"] == "agent_rw").expect("agent_rw"));
    let grants =
        |hardware: &str| json!({"permissions": [{"queue": "Raw", "permission": "rw"}, {"queue": "Hardware", "permission": hardware}]});
    server.admin_patch(&format!("/api/v1/agents/{rw_id}"), &grants("ro")).await.expect(200);
    let id = id_of(&customer_ticket(&server, "Printer out of toner").await);

    // ro on the ticket's queue: refused before the plugin runs, naming the queue.
    for test in [false, true] {
        refused(&server, &a.agent_ro, json!({"ticket": id, "test": test}), "queue 'Raw'", &format!("ro agent (test: {test})")).await;
    }
    // rw on Raw, ro on Hardware, where the plugin moves the ticket: refused naming Hardware.
    for test in [false, true] {
        refused(&server, &a.agent_rw, json!({"ticket": id, "test": test}), "queue 'Hardware'", &format!("move (test: {test})")).await;
    }
    // The caller's parameters may not override the admin's configuration.
    let params = json!({"ticket": id, "params": {"rules": "printer=>Junk:1"}});
    refused(&server, &a.agent_rw, params, "params.rules", "overriding rules").await;
    // Customers and integration tokens run no plugins, in test mode or not.
    for (token, who) in [(&a.customer, "customer"), (&a.integration, "integration")] {
        for test in [false, true] {
            refused(&server, token, json!({"ticket": id, "test": test}), "", &format!("{who} (test: {test})")).await;
        }
    }

    // Only admins see plugins, their versions, invocations and the HTTP audit.
    for path in [
        "/api/v1/plugins",
        "/api/v1/plugins/keyword-router",
        "/api/v1/plugins/keyword-router/versions",
        "/api/v1/plugins/keyword-router/invocations",
        "/api/v1/plugins/keyword-router/config",
        "/api/v1/plugin-http-audit",
    ] {
        for token in [&a.agent_rw, &a.agent_ro, &a.agent_none, &a.customer, &a.integration] {
            server.get(path, token).await.expect_problem(&[403]);
        }
    }

    // With rw on Hardware the same run applies; the answer is snake_case JSON
    // tagged by kind, and history names the plugin, version, caller and trigger.
    server.admin_patch(&format!("/api/v1/agents/{rw_id}"), &grants("rw")).await.expect(200);
    let run = server.post("/api/v1/plugins/keyword-router/apply", &a.agent_rw, &json!({"ticket": id})).await.expect(200);
    let changes = run["changes"].as_array().cloned().unwrap_or_default();
    assert!(
        changes.contains(&json!({"kind": "queue", "value": "Hardware"})) && changes.contains(&json!({"kind": "priority", "value": 4})),
        "{run}"
    );
    assert!(
        changes.iter().all(|c| c["kind"].as_str().is_some_and(|k| k.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))),
        "every change is tagged by a snake_case kind: {run}"
    );
    let (t, history, _) = state(&server, id).await;
    assert_eq!(t["queue"], "Hardware", "{t}");
    let label = "plugin:keyword-router@0.1.0 by agent:agent_rw (apply)";
    assert!(history.iter().any(|h| h["field"] == "queue" && h["actor"] == label), "history must say {label}: {history:?}");

    // The OpenAPI document describes the change shape like every other one.
    let doc = server.get("/api/v1/openapi.json", &a.admin).await.expect(200);
    let schema = &doc["components"]["schemas"]["TicketChangeDto"];
    let kinds: Vec<&str> = schema["oneOf"]
        .as_array()
        .map(|v| v.iter().filter_map(|s| s["properties"]["kind"]["enum"][0].as_str()).collect())
        .unwrap_or_default();
    for kind in ["queue", "priority", "type", "dynamic_field", "add_note"] {
        assert!(kinds.contains(&kind), "TicketChangeDto in the OpenAPI document lacks kind {kind}: {schema}");
    }
}
