//! A customer creates tickets with only what the admin allows and reads a view
//! without agent logins and with only customer-visible dynamic fields.

use switchboard_e2e::{json, Actors, Backend, Server, ServerOptions, Value};

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("object without integer id: {v}"))
}

fn create(title: &str, extra: Value) -> Value {
    let mut body = json!({"title": title, "article": {"subject": title, "body": "please help"}});
    switchboard_e2e::merge_json(&mut body, extra);
    body
}

async fn text_field(server: &Server, name: &str, customer_visible: Option<bool>) -> Value {
    let mut body = json!({"name": name, "object_type": "ticket", "field_type": "text"});
    if let Some(v) = customer_visible {
        body["customer_visible"] = json!(v);
    }
    server.admin_post("/api/v1/dynamic-fields", &body).await.expect(201)
}

pub(crate) async fn customer_create_policy(backend: Backend) {
    let server = Server::start(backend).await;
    let a = Actors::create(&server).await;
    let region = text_field(&server, "Region", Some(true)).await;
    assert_eq!(region["customer_visible"], true);
    let margin = text_field(&server, "Margin", None).await;
    assert_eq!(margin["customer_visible"], false, "dynamic fields are hidden from customers by default: {margin}");

    for (field, extra) in [
        ("owner", json!({"owner": "admin"})),
        ("state", json!({"state": "open"})),
        ("priority", json!({"priority": 5})),
        ("type", json!({"type": "Incident"})),
        ("queue", json!({"queue": "Junk"})),
        ("responsible", json!({"responsible": "admin"})),
        ("dynamic_fields.Region", json!({"dynamic_fields": {"Region": "EU"}})),
    ] {
        let r = server.post("/api/v1/tickets", &a.customer, &create(&format!("sets {field}"), extra)).await;
        r.expect_field_error(&[403], field);
    }
    assert_eq!(server.ticket_count().await, 0, "a refused customer create leaves no ticket");

    let ok = server.post("/api/v1/tickets", &a.customer, &create("allowed", json!({"queue": "Raw"}))).await.expect(201);
    assert_eq!(
        (&ok["queue"], &ok["state"], &ok["priority"], &ok["type"], &ok["customer_user"]),
        (&json!("Raw"), &json!("new"), &json!(3), &json!("Unclassified"), &json!(Actors::CUSTOMER_LOGIN)),
        "the core applies the defaults: {ok}"
    );
    assert!(ok.get("owner").is_none() && ok.get("responsible").is_none(), "a customer's create answer has no agent fields: {ok}");
    let agent_view = server.admin_get(&format!("/api/v1/tickets/{}", id_of(&ok))).await.expect(200);
    assert_eq!(agent_view["owner"], Value::Null, "staff still get owner (null when unset): {agent_view}");
    assert!(agent_view.as_object().is_some_and(|o| o.contains_key("owner")), "{agent_view}");
}

pub(crate) async fn widened_customer_policy(backend: Backend) {
    let options = ServerOptions::default().args(&["--customer-queues", "Raw,Misc", "--customer-fields", "priority"]);
    let server = Server::start_with(backend, options).await;
    let a = Actors::create(&server).await;
    let t = server.post("/api/v1/tickets", &a.customer, &create("misc", json!({"queue": "Misc", "priority": 5}))).await.expect(201);
    assert_eq!((&t["queue"], &t["priority"]), (&json!("Misc"), &json!(5)), "queue and priority honoured: {t}");
    let r = server.post("/api/v1/tickets", &a.customer, &create("junk", json!({"queue": "Junk"}))).await;
    r.expect_field_error(&[403], "queue");
    let r = server.post("/api/v1/tickets", &a.customer, &create("owner", json!({"owner": "admin"}))).await;
    r.expect_field_error(&[403], "owner");
}

pub(crate) async fn customer_view(backend: Backend) {
    let server = Server::start(backend).await;
    let a = Actors::create(&server).await;
    text_field(&server, "Region", Some(true)).await;
    text_field(&server, "Margin", Some(false)).await;
    let ticket = server
        .create_ticket(
            "Seen by the customer",
            json!({"owner": "admin", "responsible": "admin", "customer_user": Actors::CUSTOMER_LOGIN,
                   "dynamic_fields": {"Region": "EU", "Margin": "40%"}}),
        )
        .await;
    let id = id_of(&ticket);
    let staff = server.admin_get(&format!("/api/v1/tickets/{id}")).await.expect(200);
    assert_eq!((&staff["owner"], &staff["dynamic_fields"]["Margin"]), (&json!("admin"), &json!("40%")), "{staff}");

    let seen = server.get(&format!("/api/v1/tickets/{id}"), &a.customer).await.expect(200);
    assert!(seen.get("owner").is_none() && seen.get("responsible").is_none(), "a customer sees no agent logins: {seen}");
    assert_eq!(seen["dynamic_fields"], json!({"Region": "EU"}), "a customer sees only customer-visible fields: {seen}");
    let number = seen["number"].as_str().expect("number");
    let by_number = server.get(&format!("/api/v1/tickets/by-number/{number}"), &a.customer).await.expect(200);
    assert!(by_number.get("owner").is_none(), "{by_number}");
    let listed = server.get("/api/v1/tickets", &a.customer).await.items();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("owner").is_none() && listed[0]["dynamic_fields"] == json!({"Region": "EU"}), "{listed:?}");
    server.get("/api/v1/tickets?owner=admin", &a.customer).await.expect_field_error(&[403], "owner");
    server.get("/api/v1/tickets?df.Margin=40%25", &a.customer).await.expect_field_error(&[422], "df.Margin");

    // Making the field visible shows it at once.
    let fields = server.admin_get("/api/v1/dynamic-fields").await.items();
    let margin = fields.iter().find(|f| f["name"] == "Margin").expect("Margin");
    server.admin_patch(&format!("/api/v1/dynamic-fields/{}", id_of(margin)), &json!({"customer_visible": true})).await.expect(200);
    let seen = server.get(&format!("/api/v1/tickets/{id}"), &a.customer).await.expect(200);
    assert_eq!(seen["dynamic_fields"]["Margin"], "40%", "{seen}");
}
