//! Invalid dynamic field values.

use switchboard_e2e::{json, Backend, Server, Value};

use crate::support::id_of;

pub(crate) async fn dynamic_field_values(backend: Backend) {
    let server = Server::start_in_process(backend).await;
    let fields = [
        json!({"name": "Region", "object_type": "ticket", "field_type": "dropdown",
               "config": {"possible_values": ["north", "south"]}}),
        json!({"name": "Count", "object_type": "ticket", "field_type": "integer",
               "config": {"min": 0, "max": 100}}),
        json!({"name": "Due", "object_type": "ticket", "field_type": "date"}),
        json!({"name": "Seen", "object_type": "ticket", "field_type": "datetime"}),
        json!({"name": "Flag", "object_type": "ticket", "field_type": "checkbox"}),
        json!({"name": "Tags", "object_type": "ticket", "field_type": "multiselect",
               "config": {"possible_values": ["a", "b", "c"]}}),
        json!({"name": "Code", "object_type": "ticket", "field_type": "text",
               "config": {"max_length": 5}}),
        json!({"name": "Mood", "object_type": "article", "field_type": "dropdown",
               "config": {"possible_values": ["happy", "angry"]}}),
    ];
    for f in &fields {
        server.admin_post("/api/v1/dynamic-fields", f).await.expect(201);
    }

    let valid = json!({"Region": "north", "Count": 42, "Due": "2026-11-29",
                       "Seen": "2026-11-29T10:00:00Z", "Flag": true, "Tags": ["a", "b"],
                       "Code": "AB12"});
    let ok = server
        .create_ticket(
            "DF ok",
            json!({"dynamic_fields": valid.clone(),
                                       "article": {"dynamic_fields": {"Mood": "happy"}}}),
        )
        .await;
    let tid = id_of(&ok);
    let df = &ok["dynamic_fields"];
    assert_eq!(df["Region"], "north", "dynamic_fields echo: {df}");
    assert_eq!(df["Count"], json!(42), "an integer field is a JSON number: {df}");
    assert_eq!(df["Flag"], json!(true), "a checkbox is a JSON boolean: {df}");
    assert_eq!(df["Tags"], json!(["a", "b"]), "multiselect echo: {df}");
    assert_eq!(df["Due"], json!("2026-11-29"), "a date field is the date alone: {df}");
    assert_eq!(df["Seen"], json!("2026-11-29T10:00:00Z"), "a date-time is RFC 3339 in UTC: {df}");

    let before = server.ticket_count().await;
    let invalid: Vec<(&str, Value)> = vec![
        ("Region", json!("west")),
        ("Region", json!(3)),
        ("Count", json!("abc")),
        ("Count", json!(1.5)),
        ("Count", json!(1000)),
        ("Count", json!(-1)),
        ("Due", json!("2026-13-45")),
        ("Due", json!("yesterday")),
        ("Seen", json!("2026-11-29 25:61")),
        ("Flag", json!("maybe")),
        ("Tags", json!(["a", "z"])),
        ("Tags", json!("a")),
        ("Code", json!("TOO-LONG-VALUE")),
        ("NoSuchField", json!("x")),
        ("Mood", json!("happy")),
    ];
    let mut failures = Vec::new();
    for (name, value) in &invalid {
        let r = server
            .admin_post(
                "/api/v1/tickets",
                &json!({"title": "DF bad", "queue": "Raw", "article": {"body": "x"},
                        "dynamic_fields": {*name: value}}),
            )
            .await;
        if let Err(why) = r.check_problem(&[422], Some(name)) {
            failures.push(format!("create with {name}={value}: {why}"));
        }
        let r = server
            .admin_patch(&format!("/api/v1/tickets/{tid}"), &json!({"title": "should not change", "dynamic_fields": {*name: value}}))
            .await;
        if let Err(why) = r.check_problem(&[422], Some(name)) {
            failures.push(format!("PATCH with {name}={value}: {why}"));
        }
    }
    // Article dynamic fields on a new article.
    for value in [json!("sad"), json!(5)] {
        let r =
            server.admin_post(&format!("/api/v1/tickets/{tid}/articles"), &json!({"body": "x", "dynamic_fields": {"Mood": value}})).await;
        if let Err(why) = r.check_problem(&[422], Some("Mood")) {
            failures.push(format!("article with Mood={value}: {why}"));
        }
    }
    assert_eq!(server.ticket_count().await, before, "rejected creates wrote tickets");
    let after = server.admin_get(&format!("/api/v1/tickets/{tid}")).await.expect(200);
    assert_eq!(after["title"], "DF ok", "a rejected PATCH changed the title");
    assert_eq!(after["dynamic_fields"], ok["dynamic_fields"], "a rejected PATCH changed dynamic fields");
    let articles = server.admin_get(&format!("/api/v1/tickets/{tid}/articles")).await.items();
    assert_eq!(articles.len(), 1, "rejected articles were stored");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));

    // A valid PATCH changes exactly the given field; null clears it.
    let patched = server
        .admin_patch(&format!("/api/v1/tickets/{tid}"), &json!({"dynamic_fields": {"Region": "south", "Code": null}}))
        .await
        .expect(200);
    assert_eq!(patched["dynamic_fields"]["Region"], "south");
    assert!(patched["dynamic_fields"]["Code"].is_null(), "null must clear a dynamic field: {}", patched["dynamic_fields"]);
    assert_eq!(patched["dynamic_fields"]["Tags"], json!(["a", "b"]));
}
